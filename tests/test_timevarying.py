"""B5 and B6 with time-varying meeting and plan: the (start, stop] rows, statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg

from rehabstats.data.population import derive_cohort
from rehabstats.data.synth import generate
from rehabstats.data.validation import read_dataset, validate
from rehabstats.stats import timevarying
from rehabstats.stats.cox import (
    GROUP,
    MODEL1_TERMS,
    TABLE_COLUMNS,
    TIMING_TERMS,
    WINDOW_TERMS,
    CoxResult,
    covariate_terms,
    fit_cox,
)
from rehabstats.stats.timevarying import (
    counting_process,
    fit_time_varying,
    known_at_measure,
    measure_frame,
    tv_cox_models,
)
from tests.conftest import DEFAULT_DATA
from tests.test_cox import FIT_FAILURES, _same_model

# Hand-made cases: day of the meeting, the plan and the measure (None: none), last day.
TINY = {
    "meeting 80, measure 100": (80, None, 100, 100),
    "meeting and measure on day 100": (100, None, 100, 100),
    "plan after the measure": (20, 120, 100, 100),
    "meeting on day 0, censored": (0, 50, None, 150),
    "measure on day 0": (None, None, 0, 0),
    "meeting, plan, measure": (30, 60, 90, 90),
}


@pytest.fixture(scope="module")
def tiny() -> pd.DataFrame:
    """The hand-made cases as the measure models' frame has them (censored dates: the
    last day)."""
    columns = {}
    for event, position in (("meeting", 0), ("plan", 1), ("measure", 2)):
        days = [case[position] for case in TINY.values()]
        columns[f"{event}_observed"] = [day is not None for day in days]
        columns[f"{event}_days"] = [
            float(case[3] if day is None else day)
            for case, day in zip(TINY.values(), days, strict=True)
        ]
    return known_at_measure(pd.DataFrame(columns, index=list(TINY)))


def _rows(rows: pd.DataFrame, case: str, columns: list[str]) -> list[tuple]:
    part = rows.loc[rows["case"].eq(case), ["start", "stop", "measure_observed", *columns]]
    return [tuple(float(v) for v in row) for row in part.itertuples(index=False)]


def test_meeting_and_plan_switch_on_on_their_day(tiny: pd.DataFrame) -> None:
    rows = counting_process(tiny, MODEL1_TERMS)
    columns = ["meeting:yes", "plan:yes"]
    assert _rows(rows, "meeting 80, measure 100", columns) == [
        (-1, 79, 0, 0, 0),  # days 0–79 without the meeting
        (79, 100, 1, 1, 0),  # from day 80 with it; the measure on day 100
    ]
    assert _rows(rows, "meeting and measure on day 100", columns) == [
        (-1, 99, 0, 0, 0),
        (99, 100, 1, 1, 0),  # the meeting comes first on the measure's day
    ]
    assert _rows(rows, "plan after the measure", columns) == [(-1, 19, 0, 0, 0), (19, 100, 1, 1, 0)]
    assert _rows(rows, "meeting on day 0, censored", columns) == [
        (-1, 49, 0, 1, 0),
        (49, 150, 0, 1, 1),
    ]
    assert _rows(rows, "measure on day 0", columns) == [(-1, 0, 1, 0, 0)]
    assert _rows(rows, "meeting, plan, measure", columns) == [
        (-1, 29, 0, 0, 0),
        (29, 59, 0, 1, 0),
        (59, 90, 1, 1, 1),
    ]


def test_a_plan_after_the_measure_is_not_before_it(tiny: pd.DataFrame) -> None:
    states = tiny.loc["plan after the measure", ["meeting", "plan", "plan_window"]]
    assert list(states) == ["yes", "no", "none"]


def test_a_window_is_on_from_the_day_of_its_meeting(tiny: pd.DataFrame) -> None:
    rows = counting_process(tiny, WINDOW_TERMS)
    columns = ["meeting_window:0-30", "meeting_window:61-90", "plan_window:31-60"]
    assert _rows(rows, "meeting 80, measure 100", columns) == [
        (-1, 79, 0, 0, 0, 0),
        (79, 100, 1, 0, 1, 0),
    ]
    assert _rows(rows, "meeting, plan, measure", columns) == [
        (-1, 29, 0, 0, 0, 0),
        (29, 59, 0, 1, 0, 0),
        (59, 90, 1, 1, 0, 1),
    ]
    assert _rows(rows, "meeting on day 0, censored", columns) == [
        (-1, 49, 0, 1, 0, 0),
        (49, 150, 0, 1, 0, 1),
    ]
    assert rows["meeting_window:91+"].sum() == 1  # day 100's meeting, on its own day


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    """The studied cases of the shipped default dataset."""
    return derive_cohort(read_dataset(DEFAULT_DATA)).cases


@pytest.fixture(scope="module")
def frame(cases: pd.DataFrame) -> pd.DataFrame:
    return measure_frame(cases)


@pytest.fixture(scope="module")
def models(cases: pd.DataFrame) -> dict[str, CoxResult]:
    return tv_cox_models(cases)


def test_the_layout_and_sample_are_b5s_b6s_and_tabell_7s(models, default_results) -> None:
    assert list(models) == ["TV_B5", "TV_B6", "TV_T7"]
    for key in ("B5", "B6", "T7"):
        ours, fixed = models[f"TV_{key}"], default_results.cox[key]
        assert ours.converged and ours.notes == ()
        assert list(ours.table.columns) == TABLE_COLUMNS
        assert list(ours.table["term"]) == list(fixed.table["term"])
        assert (ours.n, ours.events) == (fixed.n, fixed.events)
        same = ~ours.table["variable"].str.startswith(("meeting", "plan"))
        assert ours.table.loc[same, "n"].tolist() == fixed.table.loc[same, "n"].tolist()


def test_without_time_varying_terms_it_is_the_fixed_model(frame: pd.DataFrame) -> None:
    """Entry at −1 and stops at the measure's day give the fixed model's risk sets."""
    terms = (GROUP, *covariate_terms())
    ours = fit_time_varying(frame, terms).table.set_index("term")["hazard_ratio"]
    fixed = fit_cox(frame, "measure_days", "measure_observed", terms)
    assert ours.to_numpy() == pytest.approx(fixed.table["hazard_ratio"].to_numpy(), rel=1e-5)


def _window(day: float) -> str:
    return "0-30" if day <= 30 else "31-60" if day <= 60 else "61-90" if day <= 90 else "91+"


def _day_ranges(case: pd.Series) -> list[dict[str, object]]:
    """One case's days 0 … last cut into ranges of constant meeting and plan, each the
    interval (first − 1, last]: written here day by day, not as cox.py's code does it."""
    last = int(case["measure_days"])
    on = {
        e: int(case[f"{e}_days"])
        for e in ("meeting", "plan")
        if case[f"{e}_observed"] and case[f"{e}_days"] <= last
    }
    firsts = sorted({0, *(day for day in on.values() if day > 0)})
    lasts = [first - 1 for first in firsts[1:]] + [last]
    ranges = []
    for first, final in zip(firsts, lasts, strict=True):
        row = {
            "entry": first - 1,
            "exit": final,
            "event": case["measure_observed"] * (final == last),
        }
        for e in ("meeting", "plan"):
            happened = e in on and on[e] <= first
            row[e] = "yes" if happened else "no"
            row[f"{e}_window"] = _window(on[e]) if happened else "none"
        ranges.append(row)
    return ranges


@pytest.fixture(scope="module")
def day_ranges(frame: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for _, case in frame.iterrows():
        fixed = case[["group", *(t.column for t in covariate_terms())]].to_dict()
        parts += [{**fixed, **r} for r in _day_ranges(case)]
    return pd.DataFrame(parts)


def test_the_rows_are_the_day_ranges(frame: pd.DataFrame, day_ranges: pd.DataFrame) -> None:
    rows = counting_process(frame, (GROUP, *MODEL1_TERMS, *covariate_terms()))
    assert rows["start"].tolist() == day_ranges["entry"].tolist()
    assert rows["stop"].tolist() == day_ranges["exit"].tolist()
    assert rows["measure_observed"].tolist() == day_ranges["event"].astype(int).tolist()
    for e in ("meeting", "plan"):
        assert rows[f"{e}:yes"].tolist() == day_ranges[e].eq("yes").astype(float).tolist()


@pytest.mark.parametrize(("key", "timed"), [("TV_B5", ""), ("TV_B6", "_window")])
def test_hazard_ratios_agree_with_statsmodels(
    models: dict[str, CoxResult], day_ranges: pd.DataFrame, key: str, timed: str
) -> None:
    references = {
        "group": "control",
        f"meeting{timed}": "none" if timed else "no",
        f"plan{timed}": "none" if timed else "no",
        **{t.column: t.reference for t in covariate_terms()},
    }
    dummies = [
        pd.get_dummies(day_ranges[col].astype(str), prefix=col, prefix_sep=":", dtype=float).drop(
            columns=f"{col}:{ref}"
        )
        for col, ref in references.items()
    ]
    exog = pd.concat(dummies, axis=1)
    # statsmodels counts a row at risk at its entry time too, [entry, exit]: entering half
    # a day later makes it (entry, exit] on whole days. It wants entry times of 0 or more:
    # every time one day later, the same fit.
    fit = PHReg(
        day_ranges["exit"] + 1,
        exog,
        status=day_ranges["event"].astype(int),
        entry=day_ranges["entry"] + 1.5,
        ties="efron",
    ).fit()
    ours = models[key].table.set_index("term")
    assert sorted(ours.index[~ours["reference"]]) == sorted(exog.columns)
    for term, ratio in zip(exog.columns, np.exp(fit.params), strict=True):
        assert ours.loc[term, "hazard_ratio"] == pytest.approx(ratio, rel=1e-4), term
    for term, (low, high) in zip(exog.columns, np.exp(fit.conf_int()), strict=True):
        assert (ours.loc[term, "ci_low"], ours.loc[term, "ci_high"]) == pytest.approx(
            (low, high), rel=1e-4
        ), term


def test_tv_t7_is_tv_b6_against_the_last_window(models: dict[str, CoxResult]) -> None:
    """As Tabell 7 is B6 in other coordinates: a window's ratio against 91+ is TV_B6's
    ratio for it over TV_B6's for 91+, and yes/no carries TV_B6's 91+ ratio."""
    b6 = models["TV_B6"].table.set_index("term")["hazard_ratio"]
    t7 = models["TV_T7"].table.set_index("term")["hazard_ratio"]
    for e in ("meeting", "plan"):
        late = b6[f"{e}_window:91+"]
        assert t7[f"{e}:yes"] == pytest.approx(late, rel=1e-5)
        for window in ("0-30", "31-60", "61-90"):
            term = f"{e}_window:{window}"
            assert t7[term] == pytest.approx(b6[term] / late, rel=1e-5), term


def _timing_fitted(cases: pd.DataFrame) -> CoxResult:
    """TV_T7 fitted on its own terms by the time-varying fitter: what
    :func:`tv_cox_models` gives without a fit."""
    return fit_time_varying(measure_frame(cases), (GROUP, *TIMING_TERMS, *covariate_terms()))


def _cases(rows: int, seed: int) -> pd.DataFrame:
    """The studied cases of a generated register extract."""
    return derive_cohort(validate(generate(rows, seed=seed))[1]).cases


@pytest.mark.parametrize("data", ["default", "generated"])
def test_tv_t7_from_tv_b6_is_the_timing_fit(
    data: str, cases: pd.DataFrame, models: dict[str, CoxResult]
) -> None:
    """TV_T7 derived from TV_B6's estimates is TV_T7 fitted on its own terms."""
    some = cases if data == "default" else _cases(700, seed=8)
    derived = models["TV_T7"] if data == "default" else tv_cox_models(some)["TV_T7"]
    _same_model(derived, _timing_fitted(some), rtol=1e-6)


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    """The studied cases of a generated register of 9,000 rows (about 15,000
    counting-process rows)."""
    return _cases(9000, seed=5)


def test_tv_t7_is_derived_with_two_time_varying_fits_for_the_three_models(
    large: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same on more rows; and it is derived: two time-varying fits for the three
    models."""
    fits = []
    fit_rows = timevarying._fit_rows
    monkeypatch.setattr(timevarying, "_fit_rows", lambda rows: fits.append(1) or fit_rows(rows))
    derived = tv_cox_models(large)["TV_T7"]
    assert len(fits) == 2
    _same_model(derived, _timing_fitted(large), rtol=1e-6)


def test_tv_t7_has_the_notes_of_its_own_rows(large: pd.DataFrame) -> None:
    """One meeting after day 90, on one row of about 15,000: TV_B6 warns that its 91+
    column has low variance and converges at the default step. TV_T7 has no such
    column (91+ is its reference) and its own fit no note: the derived model neither."""
    frame = measure_frame(large)
    late = frame["meeting_window"].eq("91+")
    one_row = late & frame["measure_observed"] & frame["plan_window"].eq("none")
    kept = frame.index[one_row][2]  # with the first two, TV_B6 needs a smaller step
    few = large.drop(frame.index[late].drop(kept))
    models = tv_cox_models(few)
    b6 = models["TV_B6"].notes
    assert any("['meeting_window:91+'] have very low variance" in note for note in b6)
    assert not any(note.startswith("fitted with Newton") for note in b6)
    _same_model(models["TV_T7"], _timing_fitted(few), rtol=1e-6)
    assert models["TV_T7"].notes == ()


@pytest.fixture(scope="module")
def generated() -> pd.DataFrame:
    """The studied cases of a generated register extract of the report's size."""
    return _cases(4188, seed=4)


def test_tv_t7_keeps_the_note_of_its_own_fit(generated: pd.DataFrame) -> None:
    """On these 60 cases TV_T7's own fit warns that a window is nearly constant among
    the rows with (or without) a measure: the derived model gives the same note. (So
    near separation the likelihood is flat, and the two fits stop within lifelines'
    criteria of its maximum: estimates to 1e-4.)"""
    few = generated.sample(60, random_state=0)
    models = tv_cox_models(few)
    assert not any(note.startswith("fitted with Newton") for note in models["TV_B6"].notes)
    assert any("have very low variance" in note for note in models["TV_T7"].notes)
    _same_model(models["TV_T7"], _timing_fitted(few), rtol=1e-4)


def test_tv_t7_refit_when_tv_b6_fails(generated: pd.DataFrame) -> None:
    """TV_B6's fit fails on these 30 cases: TV_T7 is fitted itself, with its own reason."""
    few = generated.sample(30, random_state=27)
    models = tv_cox_models(few)
    assert not models["TV_B6"].converged and models["TV_B6"].refusal.code in FIT_FAILURES
    assert models["TV_T7"].refusal.code in FIT_FAILURES  # by a fit, not before
    _same_model(models["TV_T7"], _timing_fitted(few), rtol=0)


def test_tv_t7_refit_when_tv_b6_needed_a_smaller_step(generated: pd.DataFrame) -> None:
    """TV_B6 converges on these 60 cases only with a smaller step: TV_T7 is fitted itself."""
    few = generated.sample(60, random_state=38)
    models = tv_cox_models(few)
    assert any(note.startswith("fitted with Newton") for note in models["TV_B6"].notes)
    _same_model(models["TV_T7"], _timing_fitted(few), rtol=0)


def test_no_measure_before_a_meeting_is_refused(frame: pd.DataFrame) -> None:
    early = frame["measure_observed"] & frame["meeting"].eq("no")
    result = fit_time_varying(frame.loc[~early], (GROUP, *MODEL1_TERMS, *covariate_terms()))
    assert not result.converged
    refusal = result.refusal
    assert (refusal.code, refusal.column, refusal.level) == (
        "level_without_events",
        "meeting",
        "no",
    )
    assert result.table["hazard_ratio"].isna().all()
