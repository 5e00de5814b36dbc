"""Cox models (B3–B6, Tabell 7): a known answer, a second library, edge cases."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi
from lifelines.exceptions import ConvergenceError
from statsmodels.duration.hazard_regression import PHReg
from threadpoolctl import threadpool_info, threadpool_limits

from rehabstats.data.dictionary import load_dictionary
from rehabstats.data.loading import load
from rehabstats.data.population import GROUPS, STATUSES, USABLE, derive_cohort
from rehabstats.data.synth import generate
from rehabstats.data.validation import validate
from rehabstats.stats.cox import (
    COVARIATES,
    GROUP,
    MEASURE_EVENTS,
    STEP_SIZES,
    WINDOW_TERMS,
    WINDOWS,
    CoxRefusal,
    CoxResult,
    Term,
    _design,
    _sample,
    _timing_fitted,
    covariate_terms,
    cox_measure_model1,
    cox_measure_model2,
    cox_meeting,
    cox_models,
    cox_plan,
    cox_timing,
    fit_cox,
    model_frame,
    stars,
)
from tests.conftest import DEFAULT_DATA

MODELS = {
    "B3": cox_meeting,
    "B4": cox_plan,
    "B5": cox_measure_model1,
    "B6": cox_measure_model2,
    "T7": cox_timing,
}


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    """The studied cases of a generated register extract of the report's size."""
    return derive_cohort(validate(generate(4188, seed=4))[1]).cases


@pytest.fixture(scope="module")
def models(cases: pd.DataFrame) -> dict[str, CoxResult]:
    """The report's fitted models, as the results compute them (T7 from B6's fit)."""
    return cox_models(cases)


@pytest.fixture(scope="module")
def default_cases() -> pd.DataFrame:
    """The studied cases of the shipped default dataset."""
    return derive_cohort(validate(load(DEFAULT_DATA))[1]).cases


def _ratios(result: CoxResult) -> pd.Series:
    return result.table.set_index("term")["hazard_ratio"]


def test_rossi_known_answer() -> None:
    """Fox's published coefficients for the recidivism data (Efron ties)."""
    published = {
        "fin": -0.379,
        "age": -0.0574,
        "race": 0.314,
        "wexp": -0.150,
        "mar": -0.434,
        "paro": -0.0849,
        "prio": 0.0915,
    }
    result = fit_cox(load_rossi(), "week", "arrest", [Term(name) for name in published])
    assert result.converged and result.problem is None
    assert (result.n, result.events) == (432, 114)
    coef = result.table.set_index("term")["coef"]
    for name, value in published.items():
        assert coef[name] == pytest.approx(value, abs=0.001), name
    np.testing.assert_allclose(np.log(_ratios(result)), coef)


def _references() -> dict[str, str]:
    dictionary = load_dictionary()
    covariates = {c: dictionary[c].reference for c in COVARIATES if c != "age_group"}
    return {"group": "control", "age_group": dictionary.age_reference, **covariates}


def _statsmodels(frame: pd.DataFrame, event: str, references: dict[str, str]) -> pd.DataFrame:
    """Hazard ratios and standard errors from statsmodels' PHReg on dummies made here."""
    dummies = [
        pd.get_dummies(frame[col].astype(str), prefix=col, prefix_sep=":", dtype=float).drop(
            columns=f"{col}:{ref}"
        )
        for col, ref in references.items()
    ]
    exog = pd.concat(dummies, axis=1)
    status = frame[f"{event}_observed"].astype(int)
    fit = PHReg(frame[f"{event}_days"], exog, status=status, ties="efron").fit()
    return pd.DataFrame({"hazard_ratio": np.exp(fit.params), "se": fit.bse}, index=exog.columns)


@pytest.mark.parametrize(
    ("key", "events", "extra"),
    [
        ("B3", ("meeting",), {}),
        ("B6", ("meeting", "plan", "measure"), {"meeting_window": "none", "plan_window": "none"}),
    ],
)
def test_hazard_ratios_agree_with_statsmodels(
    cases: pd.DataFrame, models: dict[str, CoxResult], key: str, events: tuple, extra: dict
) -> None:
    result = models[key]
    assert result.converged and result.notes == ()
    references = {**_references(), **extra}
    theirs = _statsmodels(model_frame(cases, events), events[0 if key == "B3" else 2], references)
    ours = result.table.set_index("term")
    assert sorted(ours.index[~ours["reference"]]) == sorted(theirs.index)
    assert sorted(ours.index[ours["reference"]]) == sorted(
        f"{c}:{r}" for c, r in references.items()
    )
    for term, row in theirs.iterrows():
        assert ours.loc[term, "hazard_ratio"] == pytest.approx(row["hazard_ratio"], abs=5e-4), term
        assert ours.loc[term, "se"] == pytest.approx(row["se"], abs=5e-4), term


def test_timing_table_is_model2_reparametrised(models: dict[str, CoxResult]) -> None:
    b6, t7 = _ratios(models["B6"]), _ratios(models["T7"])
    for event in ("meeting", "plan"):
        late = b6[f"{event}_window:91+"]
        assert t7[f"{event}:yes"] == pytest.approx(late, rel=1e-4)
        for window in WINDOWS:
            ratio = b6[f"{event}_window:{window}"] / late
            assert t7[f"{event}_window:{window}"] == pytest.approx(ratio, rel=1e-4)
    shared = [t for t in b6.index if t.split(":")[0] in ("group", *COVARIATES)]
    np.testing.assert_allclose(t7[shared], b6[shared], rtol=1e-4)
    n6, n7 = (models[k].table.set_index("term")["n"] for k in ("B6", "T7"))
    assert n7["meeting:no"] == n6["meeting_window:none"]
    assert (
        n7.filter(like="_window:")
        == n6.filter(like="_window:").drop(["meeting_window:none", "plan_window:none"])
    ).all()


ESTIMATES = ["coef", "se", "hazard_ratio", "ci_low", "ci_high", "p_value"]


def _same_model(ours: CoxResult, known: CoxResult, rtol: float) -> None:
    """The same rows, counts, notes and problem, estimates equal to ``rtol``."""
    assert (ours.n, ours.events, ours.converged) == (known.n, known.events, known.converged)
    assert (ours.problem, ours.notes) == (known.problem, known.notes)
    exact = ["term", "variable", "level", "reference", "n", "stars"]
    pd.testing.assert_frame_equal(ours.table[exact], known.table[exact])
    np.testing.assert_allclose(ours.table[ESTIMATES], known.table[ESTIMATES], rtol=rtol)


@pytest.mark.parametrize("data", ["default", "generated"])
def test_timing_from_model2_is_the_timing_fit(
    data: str, cases: pd.DataFrame, default_cases: pd.DataFrame
) -> None:
    """Tabell 7 derived from B6's estimates is Tabell 7 fitted on its own terms."""
    some = default_cases if data == "default" else cases
    _same_model(cox_timing(some), _timing_fitted(some), rtol=1e-6)


FIT_FAILURES = ("not_fitted", "not_converged", "non_finite")


def test_timing_refit_when_model2_fails(cases: pd.DataFrame) -> None:
    """B6's fit fails on these 30 cases: T7 is fitted itself, with its own fit's reason."""
    few = cases.sample(30, random_state=27)
    b6 = cox_measure_model2(few)
    assert not b6.converged and b6.refusal.code in FIT_FAILURES
    t7 = cox_models(few)["T7"]
    assert t7.refusal.code in FIT_FAILURES  # by a fit, not before
    _same_model(t7, _timing_fitted(few), rtol=0)


def test_timing_refit_when_model2_needed_a_smaller_step(cases: pd.DataFrame) -> None:
    """B6 converges on these 60 cases only with a smaller step: T7 is fitted itself."""
    few = cases.sample(60, random_state=12)
    b6 = cox_measure_model2(few)
    assert b6.converged and any(note.startswith("fitted with Newton") for note in b6.notes)
    _same_model(cox_models(few)["T7"], _timing_fitted(few), rtol=0)


def test_batch_mode_gives_the_per_row_estimates(default_cases: pd.DataFrame) -> None:
    """The fits force lifelines' vectorised Efron path; its per-row loop agrees."""
    frame = model_frame(default_cases, MEASURE_EVENTS)
    terms = (GROUP, *WINDOW_TERMS, *covariate_terms())
    sample, kept, problem, _ = _sample(frame, "measure_days", "measure_observed", terms)
    assert problem is None
    design = _design(sample, "measure_days", "measure_observed", kept)
    single = CoxPHFitter().fit(design, "measure_days", "measure_observed", batch_mode=False)
    ours = cox_measure_model2(default_cases).table.set_index("term")
    estimated = ours.loc[single.summary.index]
    np.testing.assert_allclose(estimated["coef"], single.summary["coef"], rtol=1e-8)
    np.testing.assert_allclose(estimated["se"], single.summary["se(coef)"], rtol=1e-8)
    np.testing.assert_allclose(estimated["p_value"], single.summary["p"], rtol=1e-8)


def test_counts_per_category(cases: pd.DataFrame, models: dict[str, CoxResult]) -> None:
    for key, events in (("B3", ("meeting",)), ("B5", ("meeting", "plan", "measure"))):
        usable = cases[cases[[f"{e}_status" for e in events]].isin(USABLE).all(axis=1)]
        result = models[key]
        table = result.table.set_index("term")
        assert result.n == len(usable)
        assert result.events == usable[f"{events[-1]}_observed"].sum()
        for group in GROUPS:
            assert table.loc[f"group:{group}", "n"] == (usable["group"] == group).sum()
        for variable, rows in result.table.groupby("variable"):
            assert rows["n"].sum() == len(usable), variable
    b5 = models["B5"].table.set_index("term")
    usable = model_frame(cases, ("meeting", "plan", "measure"))
    assert b5.loc["meeting:yes", "n"] == usable["meeting_observed"].sum()
    assert b5.loc[["meeting:no", "plan:no", "group:control"], "stars"].eq("ref").all()
    assert b5.loc[["meeting:no", "plan:no", "group:control"], "hazard_ratio"].eq(1.0).all()


def test_timing_windows_are_whole_day_bins(cases: pd.DataFrame) -> None:
    days = [0, 30, 31, 60, 61, 90, 91, 200, 15]
    observed = [True] * 8 + [False]
    some = cases.head(len(days)).assign(
        meeting_status=pd.Categorical(
            ["event" if o else "censored" for o in observed], categories=STATUSES
        ),
        meeting_observed=observed,
        meeting_days=np.asarray(days, dtype=float),
    )
    frame = model_frame(some, ("meeting",))
    assert frame["meeting_window"].astype(str).tolist() == [
        *("0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "91+", "91+", "none")
    ]
    assert frame["meeting"].astype(str).tolist() == ["yes"] * 8 + ["no"]


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0099, "***"),
        (0.01, "**"),
        (0.0499, "**"),
        (0.05, "*"),
        (0.0999, "*"),
        (0.1, ""),
        (np.nan, ""),
    ],
)
def test_stars(p: float, expected: str) -> None:
    assert stars(p) == expected


def _refused(result: CoxResult, words: str) -> None:
    assert not result.converged
    assert words in result.problem
    assert result.table["hazard_ratio"].isna().all()


def test_an_empty_group_is_refused(cases: pd.DataFrame) -> None:
    result = cox_meeting(cases[cases["group"] != "declined"])
    _refused(result, "no cases with group = declined")
    assert result.table.set_index("term").loc["group:declined", "n"] == 0


def test_an_event_nobody_had_is_refused(cases: pd.DataFrame) -> None:
    censored = cases.assign(
        meeting_status=cases["meeting_status"].where(
            ~cases["meeting_status"].eq("event"), "censored"
        ),
        meeting_observed=False,
    )
    _refused(cox_meeting(censored), "no events in the sample")
    _refused(cox_timing(censored), "no cases with meeting = yes")


def test_a_group_without_events_is_refused(cases: pd.DataFrame) -> None:
    declined = cases["group"].eq("declined")
    silent = cases.assign(plan_observed=cases["plan_observed"] & ~declined)
    _refused(cox_plan(silent), "no events among the cases with group = declined")


def test_a_covariate_with_one_level_is_dropped_with_a_note(cases: pd.DataFrame) -> None:
    women = cases.assign(sex=pd.Categorical(["women"] * len(cases), categories=["women", "men"]))
    result = cox_meeting(women)
    assert result.converged
    assert any("sex" in note and "single level" in note for note in result.notes)
    assert not result.table["variable"].eq("sex").any()
    assert np.isfinite(_ratios(result)["group:treatment"])


def test_a_missing_reference_category_is_replaced_with_a_note(cases: pd.DataFrame) -> None:
    result = cox_meeting(cases[cases["diagnosis"] != "mental"])
    assert result.converged
    assert any("reference mental has no cases" in note for note in result.notes)
    table = result.table.set_index("term")
    assert table.loc["diagnosis:mental", "n"] == 0
    assert table.loc[table["variable"] == "diagnosis", "reference"].sum() == 1


def test_a_category_without_events_is_the_limit_of_the_fit(cases: pd.DataFrame) -> None:
    """Its cases are left out: exactly the fit without them, where the estimate tends to."""
    censored = cases.index[cases["meeting_status"].eq("censored")][:4]
    employment = cases["employment"].where(cases["employment"] != "student", "unemployed")
    employment[censored] = "student"
    changed = cases.assign(employment=employment)
    result = cox_meeting(changed)
    assert result.converged
    assert any(note.startswith("employment:student: none of its 4 cases") for note in result.notes)
    assert result.n == (changed["meeting_status"].isin(USABLE)).sum() - 4
    without = cox_meeting(changed.drop(index=censored))
    np.testing.assert_allclose(_ratios(result), _ratios(without), rtol=1e-9)


def test_ten_rows_give_a_clear_answer(cases: pd.DataFrame) -> None:
    few = cases.sample(10, random_state=1)
    for key, model in MODELS.items():
        result = model(few)
        assert result.n <= 10
        if result.converged:
            assert np.isfinite(result.table["hazard_ratio"]).all(), key
        else:
            assert result.problem, key
            assert result.table["hazard_ratio"].isna().all(), key


def test_missing_values_are_refused_not_dropped() -> None:
    rossi = load_rossi().astype({"prio": float})
    rossi.loc[3, "prio"] = np.nan
    result = fit_cox(rossi, "week", "arrest", [Term("fin"), Term("prio")])
    _refused(result, "missing values in prio")


def test_collinear_terms_are_refused() -> None:
    """Found in the design before fitting: the same refusal whatever lifelines says."""
    rossi = load_rossi().assign(age_again=lambda d: 2 * d["age"])
    result = fit_cox(rossi, "week", "arrest", [Term("fin"), Term("age"), Term("age_again")])
    _refused(result, "collinearity: age_again is a linear combination of age")
    assert result.refusal == CoxRefusal("collinearity", "age_again", None, "age")


def test_the_rank_check_decomposes_on_one_blas_thread(monkeypatch) -> None:
    """As the fits do: OpenBLAS's second thread waits busily through a small
    decomposition, CPU that the kernels starting beside the analysis need."""
    threads = []
    qr = np.linalg.qr

    def counted(*args, **kwargs):
        threads.extend(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
        return qr(*args, **kwargs)

    monkeypatch.setattr(np.linalg, "qr", counted)
    rossi = load_rossi()
    with threadpool_limits(2, "blas"):
        fit_cox(rossi, "week", "arrest", [Term("fin"), Term("age"), Term("prio")])
    assert threads and set(threads) == {1}


def test_the_refusal_names_the_collinear_term_and_what_it_combines() -> None:
    rossi = load_rossi().assign(
        paid=lambda d: d["fin"].map({0: "no", 1: "yes"}), score=lambda d: d["age"] + 2 * d["prio"]
    )
    paid = fit_cox(rossi, "week", "arrest", [Term("fin"), Term("age"), Term("paid", "no")])
    assert paid.refusal == CoxRefusal("collinearity", "paid", "yes", "fin")
    terms = [Term("fin"), Term("age"), Term("prio"), Term("score")]
    score = fit_cox(rossi, "week", "arrest", terms)
    _refused(score, "collinearity: score is a linear combination of age, prio")


def test_a_covariate_that_copies_the_group_is_refused_naming_both(cases: pd.DataFrame) -> None:
    """Collinearity of an adjusting covariate with the group: no ratio would mean anything."""
    copied = (
        cases["group"]
        .eq("treatment")
        .map({True: "activity_compensation", False: "temporary_sickness_compensation"})
    )
    result = cox_meeting(cases.assign(benefit=copied))
    _refused(result, "benefit:activity_compensation is a linear combination of group:treatment")
    assert result.refusal == CoxRefusal(
        "collinearity", "benefit", "activity_compensation", "group:treatment"
    )


def test_a_constant_column_is_refused() -> None:
    rossi = load_rossi().assign(one=1.0)
    result = fit_cox(rossi, "week", "arrest", [Term("fin"), Term("one")])
    _refused(result, "one does not vary in the sample")
    assert result.refusal == CoxRefusal("does_not_vary", "one")


def _steps_tried(text: str) -> set[float]:
    """The step sizes a refusal's or note's "(step size ...)" groups name."""
    groups = re.findall(r"\(step size ([0-9., ]+)\)", text)
    return {float(step) for group in groups for step in group.split(", ")}


# 14 cases; both of the two declined had the event, one of them first of all.
DIVERGING = pd.DataFrame(
    {
        "days": [1.0, 4, 5, 2, 8, 28, 23, 6, 12, 19, 14, 17, 8, 18],
        "observed": [1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1],
        # GROUPS' codes: 0 control, 1 treatment, 2 declined.
        "group": pd.Categorical.from_codes(
            [2, 2, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1], categories=GROUPS
        ),
    }
)


def test_a_diverging_fit_is_retried_with_smaller_steps() -> None:
    """lifelines' default step diverges; a smaller one reaches statsmodels' maximum.

    statsmodels' own Newton steps diverge here too, so it is maximised with BFGS.
    lifelines stops when the Newton decrement is below 1e-7, which leaves each
    coefficient within sqrt(2e-7) < 5e-4 standard errors of the maximum.
    """
    design = pd.get_dummies(DIVERGING["group"], dtype=float).drop(columns="control")
    with pytest.raises(ConvergenceError):
        CoxPHFitter().fit(DIVERGING[["days", "observed"]].join(design), "days", "observed")
    result = fit_cox(DIVERGING, "days", "observed", [Term("group", "control")])
    assert result.converged and result.problem is None
    (note,) = result.notes
    assert note.startswith(f"fitted with Newton-Raphson step size {STEP_SIZES[1]:g}: ")
    assert _steps_tried(note) == {STEP_SIZES[0]}
    theirs = PHReg(DIVERGING["days"], design, status=DIVERGING["observed"], ties="efron")
    fit = theirs.fit(method="bfgs", gtol=1e-10, maxiter=1000, disp=False)
    ours = result.table.set_index("term").loc[[f"group:{g}" for g in design.columns]]
    np.testing.assert_array_less(np.abs(ours["coef"] - fit.params), 5e-4 * fit.bse)
    np.testing.assert_allclose(ours["se"], fit.bse, rtol=1e-4)
    assert ours.loc["group:declined", "hazard_ratio"] > 10


def test_complete_separation_is_refused() -> None:
    rossi = load_rossi().assign(arrested=lambda d: d["arrest"])
    result = fit_cox(rossi, "week", "arrest", [Term("fin"), Term("arrested")])
    _refused(result, "did not converge")
    assert _steps_tried(result.problem) == set(STEP_SIZES)
