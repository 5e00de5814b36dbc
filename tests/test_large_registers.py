"""What makes a national register fit in memory and time gives the same answers.

The Cox fits hand lifelines one design of floats instead of letting ``CoxPHFitter.fit``
copy it five times: the estimates must be ``fit``'s to the last bit. The time-varying
models go through lifelines' sorted Efron computation with rows of weight -1: it must
be the same likelihood as ``CoxTimeVaryingFitter``'s. The rank check works
in blocks of rows; text is read compactly (categoricals, Arrow strings); validation no
longer copies the frame it checks. Each is compared here with the plain way.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, CoxTimeVaryingFitter
from lifelines.datasets import load_rossi
from lifelines.fitters.coxph_fitter import SemiParametricPHFitter

from rehabstats.data import loading
from rehabstats.data.loading import TEXT, load, write_csv
from rehabstats.data.population import derive_cohort
from rehabstats.data.validation import read_dataset, validate
from rehabstats.stats import cox, timevarying
from rehabstats.stats.cox import (
    GROUP,
    MEASURE_EVENTS,
    MODEL1_TERMS,
    TIMING_TERMS,
    WINDOW_TERMS,
    CoxRefusal,
    Term,
    covariate_terms,
    fit_cox,
    fit_with_retries,
    model_frame,
)
from rehabstats.stats.timevarying import (
    DURATION,
    ENTRY,
    EVENT,
    counting_process,
    fit_time_varying,
    measure_frame,
)
from tests.conftest import DEFAULT_DATA


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    """The studied cases of the shipped default dataset."""
    return derive_cohort(read_dataset(DEFAULT_DATA)).cases


def _designs(cases: pd.DataFrame) -> list[tuple[pd.DataFrame, str, str]]:
    """The designs of B3–B6 and Tabell 7 that the report hands to lifelines."""
    jobs = [
        (model_frame(cases, (e,)), f"{e}_days", f"{e}_observed", (GROUP, *covariate_terms()))
        for e in ("meeting", "plan")
    ]
    frame = model_frame(cases, MEASURE_EVENTS)
    for terms in (MODEL1_TERMS, WINDOW_TERMS, TIMING_TERMS):
        terms = (GROUP, *terms, *covariate_terms())
        jobs.append((frame, "measure_days", "measure_observed", terms))
    designs = []
    for frame, duration, event, terms in jobs:
        sample, kept, refusal, _ = cox._sample(frame, duration, event, terms)
        if refusal is None:
            designs.append((cox._design(sample, duration, event, kept), duration, event))
    return designs


def _lifelines_fit(design: pd.DataFrame, duration: str, event: str):
    """The fit as ``CoxPHFitter.fit`` makes it, retried and refused as the report's."""

    def fitted(step: float) -> object:
        fitter = CoxPHFitter(penalizer=0.0)
        options = {"step_size": step}
        return fitter.fit(design, duration, event, batch_mode=True, fit_options=options)

    return fit_with_retries(fitted)


@pytest.mark.parametrize("sample", [None, (60, 12), (30, 27), (200, 3)])
def test_the_fit_is_coxphfitters_to_the_last_bit(cases: pd.DataFrame, sample) -> None:
    """Estimates, covariance, step size, notes and refusals: identical, not just close.

    The samples of 60 and 30 cases need a smaller step or fail, with lifelines' warnings.
    """
    some = cases if sample is None else cases.sample(sample[0], random_state=sample[1])
    designs = _designs(some)
    assert designs
    for design, duration, event in designs:
        ours, refusal, notes = cox._fit(design, duration, event)
        theirs, their_refusal, their_notes = _lifelines_fit(design, duration, event)
        assert (refusal, notes) == (their_refusal, their_notes)
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert ours.summary.equals(theirs.summary)
            assert ours.covariance.equals(theirs.covariance)
            assert ours.step_size == theirs.step_size


def test_a_low_variance_warning_is_lifelines_own() -> None:
    """A covariate with one case in 20,000 (variance below 1e-4): the same note."""
    rng = np.random.default_rng(3)
    n = 20_000
    data = pd.DataFrame(
        {
            "days": rng.integers(1, 300, n).astype(float),
            "observed": rng.random(n) < 0.7,
            "x": rng.random(n) < 0.4,
            "rare": np.arange(n) == 7,
        }
    )
    design = cox._design(data, "days", "observed", [Term("x"), Term("rare")])
    ours = cox._fit(design, "days", "observed")
    theirs = _lifelines_fit(design, "days", "observed")
    assert any("have very low variance" in note for note in ours[2])
    assert ours[2] == theirs[2]
    assert ours[0].summary.equals(theirs[0].summary)


def test_the_rank_check_in_blocks_finds_what_one_block_finds(
    cases: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of 50 rows: the same collinear terms are named, and a full-rank design
    passes."""
    rossi = load_rossi().assign(
        paid=lambda d: d["fin"].map({0: "no", 1: "yes"}), score=lambda d: d["age"] + 2 * d["prio"]
    )
    copied = (
        cases["group"]
        .eq("treatment")
        .map({True: "activity_compensation", False: "temporary_sickness_compensation"})
    )

    def rossi_fit(*terms: Term) -> cox.CoxResult:
        return fit_cox(rossi, "week", "arrest", [Term("fin"), Term("age"), *terms])

    checks = [
        lambda: rossi_fit(Term("paid", "no")),
        lambda: rossi_fit(Term("prio"), Term("score")),
        lambda: rossi_fit(Term("prio")),
        lambda: cox.cox_meeting(cases.assign(benefit=copied)),
    ]
    whole = [check().refusal for check in checks]
    monkeypatch.setattr(cox, "RANK_BLOCK", 50)
    assert [check().refusal for check in checks] == whole
    assert whole[:2] == [
        CoxRefusal("collinearity", "paid", "yes", "fin"),
        CoxRefusal("collinearity", "score", None, "age, prio"),
    ]
    assert whole[2] is None
    assert whole[3] == CoxRefusal(
        "collinearity", "benefit", "activity_compensation", "group:treatment"
    )


@pytest.fixture(scope="module")
def rows(cases: pd.DataFrame) -> pd.DataFrame:
    """The counting-process rows of TV_B6 on the default data."""
    frame = measure_frame(cases)
    terms = (GROUP, *WINDOW_TERMS, *covariate_terms())
    sample, kept, refusal, _ = cox._sample(frame, DURATION, EVENT, terms)
    assert refusal is None
    return counting_process(frame.loc[sample.index], kept)


def test_rows_with_weight_minus_one_give_the_counting_process_likelihood(
    rows: pd.DataFrame,
) -> None:
    """At any β, lifelines' sorted Efron computation on the rows and, for each row that
    starts late, its copy at its start with weight -1 gives ``CoxTimeVaryingFitter``'s
    log-likelihood, gradient and information: the two fits maximise one function."""
    names = rows.columns.drop(["case", "start", "stop", EVENT])
    x = rows[names].to_numpy(float)
    start, stop, event = (rows[c].to_numpy() for c in ("start", "stop", EVENT))
    beta = np.random.default_rng(5).normal(0, 0.3, len(names))
    looped = CoxTimeVaryingFitter._get_gradients(
        x, event.astype(bool), start, stop, np.ones(len(rows)), beta
    )
    late = start > ENTRY
    durations = np.concatenate([stop, start[late]])
    events = np.concatenate([event, np.zeros(late.sum(), int)])
    weights = np.concatenate([np.ones(len(rows)), -np.ones(late.sum())])
    order = np.lexsort((events, durations))
    sorted_ = SemiParametricPHFitter()._get_efron_values_batch(
        pd.DataFrame(np.concatenate([x, x[late]])[order]),
        pd.Series(durations[order]),
        pd.Series(events[order].astype(bool)),
        pd.Series(weights[order]),
        None,
        beta,
    )
    for ours, theirs in zip(sorted_, looped, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def _looped_fit(rows: pd.DataFrame):
    """lifelines' ``CoxTimeVaryingFitter`` on ``rows``, retried and refused as the report's
    fits: the second implementation of the time-varying models (its time grows with rows
    × event days, so the report takes the sorted computation of the same likelihood)."""
    data = rows.drop(columns="case")

    def fitted(step: float) -> object:
        fitter = CoxTimeVaryingFitter(penalizer=0.0)
        return fitter.fit(data, EVENT, "start", "stop", fit_options={"step_size": step})

    return fit_with_retries(fitted)


def test_the_sorted_fit_is_the_looped_fit(rows: pd.DataFrame) -> None:
    """The same estimates to the convergence criteria, the same notes."""
    sorted_, looped = fit_with_retries(timevarying._sorted_fit(rows)), _looped_fit(rows)
    assert sorted_[1:] == looped[1:]
    ours, theirs = sorted_[0].summary, looped[0].summary
    se = theirs["se(coef)"]
    assert ((ours["coef"] - theirs["coef"]).abs() / se).max() < 1e-4
    assert ((ours["se(coef)"] - se).abs() / se).max() < 1e-4


@pytest.mark.parametrize("terms", [MODEL1_TERMS, WINDOW_TERMS, TIMING_TERMS])
def test_the_reports_time_varying_tables_are_coxtimevaryingfitters(
    cases: pd.DataFrame, terms: tuple[Term, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """TV_B5, TV_B6 and TV_T7's terms on the default data: the report's tables, fitted
    by the sorted computation, and the same tables fitted by ``CoxTimeVaryingFitter``
    (the report's own table-making around it): the same cells, notes and counts, the
    coefficients within 1e-4 standard errors."""
    frame = measure_frame(cases)
    terms = (GROUP, *terms, *covariate_terms())
    ours = fit_time_varying(frame, terms)
    monkeypatch.setattr(timevarying, "_fit_rows", _looped_fit)
    looped = fit_time_varying(frame, terms)
    exact = ["term", "variable", "level", "reference", "n", "stars"]
    pd.testing.assert_frame_equal(ours.table[exact], looped.table[exact])
    assert (ours.n, ours.events, ours.notes) == (looped.n, looped.events, looped.notes)
    estimated = looped.table["se"].notna()
    assert estimated.sum() > 10
    difference = (ours.table["coef"] - looped.table["coef"]).abs() / looped.table["se"]
    assert difference[estimated].max() < 1e-4


def test_low_variance_columns_are_found_as_lifelines_finds_them() -> None:
    """``_low_variance`` against lifelines' own test on the whole frame of floats."""
    n = 30_000
    events = np.arange(n) % 3 == 0
    rows = pd.DataFrame(
        {
            "common": np.arange(n) % 2 == 0,
            "rare": np.arange(n) == 11,  # low variance everywhere
            "only_without": ~events & (np.arange(n) % 5 == 0),  # constant among events
        }
    )
    low, separated = timevarying._low_variance(rows, rows.columns, events)
    floats = rows.astype(float)
    assert list(low) == list(rows.columns[floats.var() < 1e-4]) == ["rare"]
    expected = floats.columns[(floats[events].var() < 1e-4) | (floats[~events].var() < 1e-4)]
    assert list(separated) == list(expected.difference(low)) == ["only_without"]


def test_parquet_text_is_read_compactly_and_validates_as_the_csv(
    small_register: pd.DataFrame, tmp_path: Path
) -> None:
    """Codes as categoricals, ids as Arrow text; the typed data are the CSV's, dtypes too."""
    parquet, csv = tmp_path / "register.parquet", tmp_path / "register.csv"
    small_register.to_parquet(parquet)
    write_csv(small_register, csv)
    raw = load(parquet)
    assert isinstance(raw["county"].dtype, pd.CategoricalDtype)
    assert raw["case_id"].dtype == TEXT
    assert raw["case_id"].tolist() == small_register["case_id"].tolist()
    pd.testing.assert_frame_equal(read_dataset(parquet), read_dataset(csv))


def test_a_bad_code_in_parquet_is_reported_as_in_the_csv(
    small_register: pd.DataFrame, tmp_path: Path
) -> None:
    damaged = small_register.copy()
    damaged.loc[[0, 5], "county"] = "Atlantis"
    damaged.loc[3, "sex"] = " unknown "
    parquet, csv = tmp_path / "register.parquet", tmp_path / "register.csv"
    damaged.to_parquet(parquet)
    write_csv(damaged, csv)
    report = validate(load(parquet))[0]
    assert not report.ok
    assert report == validate(load(csv))[0]


def test_validation_leaves_the_frame_it_checks_as_it_was(
    small_register: pd.DataFrame, tmp_path: Path
) -> None:
    """pandera checks in place now: the raw frame must come back unchanged."""
    damaged = small_register.copy()
    damaged.loc[2, "age"] = 200
    damaged.loc[4, "meeting_date"] = pd.NaT
    path = tmp_path / "register.csv"
    write_csv(damaged, path)
    raw = load(path)
    before = raw.copy(deep=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        report, _ = validate(raw)
    assert not report.ok
    pd.testing.assert_frame_equal(raw, before)


def test_labelled_categories_become_text_categories() -> None:
    """A statistics package's categorical keeps its codes, its categories as text; when
    two categories read the same, the column becomes text."""
    frame = pd.DataFrame(
        {
            "labelled": pd.Categorical(["a ", None, "b", "a "]),
            "numbered": pd.Categorical([1.0, 2.0, 1.0, np.nan]),
            "clashing": pd.Categorical([1, "1", "x", 1], categories=[1, "1", "x"]),
        }
    )
    out = loading._typed_text(frame)
    for name in ("labelled", "numbered"):
        assert isinstance(out[name].dtype, pd.CategoricalDtype)
        assert out[name].astype("string").equals(frame[name].astype("string"))
    assert out["clashing"].equals(frame["clashing"].astype("string"))
    assert isinstance(frame["labelled"].dtype, pd.CategoricalDtype)  # the input as it was
