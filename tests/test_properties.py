"""Property-based tests: any generated dataset, and any damage to one, is handled.

Either the data are refused cleanly (ContractError with problems that name columns) or
the whole analysis runs and its invariants hold: shares between 0 and 100, Kaplan–Meier
curves that never fall, every row counted, and the same numbers in both languages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rehabstats.data.dictionary import load_dictionary
from rehabstats.data.loading import write_csv
from rehabstats.data.population import derive_cohort
from rehabstats.data.synth import generate
from rehabstats.data.validation import ContractError, validate
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import DatasetInfo, Results, compute_results
from rehabstats.reporting.tables import build_table
from rehabstats.stats.disclosure import protect
from tests.conftest import ROOT
from tests.test_tables import cell_numbers

GLOSSARIES = {lang: Glossary.load(ROOT / "reports" / "glossary", lang) for lang in ("sv", "en")}
PROPERTY_SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _analyse(frame: pd.DataFrame) -> Results | None:
    """Results of a frame, or None when it is refused cleanly."""
    report, typed = validate(frame)
    if not report.ok:
        assert all(p.column and p.rule for p in report.problems)
        return None
    try:
        cohort = derive_cohort(typed)
    except ContractError as refusal:
        assert refusal.report.problems
        return None
    return compute_results(cohort, DatasetInfo("data.csv", len(frame), "x"))


def _check_invariants(results: Results, n_rows: int) -> None:
    flow = results.flow.set_index("step")["n"]
    assert flow["cases_in_register"] == n_rows
    assert results.flow.query("excluded")["n"].sum() + flow["studied"] == n_rows
    for event, er in results.events.items():
        shares = er.table["share_pct"].dropna()
        assert ((shares >= 0) & (shares <= 100)).all(), event
        accounted = results.accounting.query("event == @event")["n"].sum()
        assert accounted == flow["studied"]
        for _, curve in er.curves.groupby("group", observed=True):
            values = curve.sort_values("day")["cum_share_pct"].dropna().to_numpy()
            assert (np.diff(values) >= -1e-9).all(), event
            assert ((values >= 0) & (values <= 100)).all()
    for result in results.cox.values():
        ratios = result.table["hazard_ratio"].dropna()
        assert (ratios > 0).all()
        assert result.converged or result.problem


def _same_numbers_in_both_languages(results: Results) -> None:
    protected = protect(results)
    for key in (e.key for e in protected.specification if e.show == "table"):
        if not protected.exhibit(key).present(protected):
            continue
        sv = build_table(key, protected, GLOSSARIES["sv"])
        en = build_table(key, protected, GLOSSARIES["en"])
        for row_sv, row_en in zip(sv.rows, en.rows, strict=True):
            assert cell_numbers(row_sv, "sv") == cell_numbers(row_en, "en")


@PROPERTY_SETTINGS
@given(
    n=st.integers(min_value=30, max_value=700),
    seed=st.integers(min_value=0, max_value=2**31),
    scenario=st.sampled_from(["default", "reversed"]),
)
def test_any_generated_dataset_is_analysed_with_its_invariants(n, seed, scenario) -> None:
    frame = generate(n, seed=seed, scenario=scenario)
    results = _analyse(frame)
    if results is not None:
        _check_invariants(results, n)
        _same_numbers_in_both_languages(results)


COLUMNS = list(load_dictionary().columns)
JUNK = st.one_of(
    st.just(""),
    st.just("okänd"),
    st.just("2009-02-30"),
    st.just("1999-01-01"),
    st.just("-5"),
    st.text(max_size=6),
)


@PROPERTY_SETTINGS
@given(
    damage=st.lists(
        st.tuples(st.integers(0, 299), st.sampled_from(COLUMNS), JUNK), min_size=1, max_size=25
    ),
    dropped=st.lists(st.sampled_from(COLUMNS), max_size=2),
)
def test_random_damage_is_refused_cleanly_or_analysed(tmp_path_factory, damage, dropped) -> None:
    path = tmp_path_factory.mktemp("damage") / "register.csv"
    write_csv(generate(300, seed=7), path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for row, column, value in damage:
        frame.loc[row, column] = value
    frame = frame.drop(columns=sorted(set(dropped)))
    results = _analyse(frame)
    if dropped:
        assert results is None
    if results is not None:
        _check_invariants(results, len(frame))
        _same_numbers_in_both_languages(results)
