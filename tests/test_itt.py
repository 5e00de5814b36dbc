"""Intention to treat: the sample of Tabell 4–6, and every estimate against statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from rehabstats.data.dictionary import load_dictionary
from rehabstats.data.population import EVENTS, derive_cohort
from rehabstats.data.validation import read_dataset
from rehabstats.stats.cox import covariate_terms, model_frame
from rehabstats.stats.itt import ARMS, TABLE_COLUMNS, ITTResult, arm_cox, itt
from rehabstats.stats.survival import usable
from tests.conftest import DEFAULT_DATA


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    """The studied cases of the shipped default dataset."""
    return derive_cohort(read_dataset(DEFAULT_DATA)).cases


@pytest.fixture(scope="module")
def result(cases: pd.DataFrame) -> ITTResult:
    return itt(cases)


def test_the_arms_are_the_dictionarys() -> None:
    assert load_dictionary()["arm"].codes == ARMS


def test_one_row_per_event_for_the_offered_arm(result: ITTResult) -> None:
    table = result.table
    assert list(table.columns) == TABLE_COLUMNS
    assert list(table["event"]) == list(EVENTS)
    assert set(table["term"]) == {"arm:actor"} and set(table["reference"]) == {"control"}
    assert table[["hazard_ratio", "ci_low", "ci_high", "p_value"]].notna().all().all()
    assert (table["ci_low"] < table["hazard_ratio"]).all()
    assert (table["hazard_ratio"] < table["ci_high"]).all()
    for event in EVENTS:
        model = result.events[event].cox
        assert model.converged and model.notes == ()
        covariates = model.table.loc[~model.table["variable"].eq("arm"), "variable"]
        assert set(covariates) == {t.column for t in covariate_terms()}  # no meeting, plan


def test_the_sample_is_tabell_4_to_6s(result: ITTResult, default_results) -> None:
    for row in result.table.itertuples():
        total = default_results.events[row.event].table.set_index("group").loc["total"]
        assert (row.n, row.events) == (total["n"], total["events"])
        curves = result.events[row.event].curves
        assert curves.loc[curves["day"].eq(0), "at_risk"].sum() == row.n
        assert list(curves["day"].unique()) == list(
            default_results.events[row.event].curves["day"].unique()
        )
        assert list(result.events[row.event].shares["day"].unique()) == [60, 100]


def test_the_offered_arm_is_treatment_and_declined(cases: pd.DataFrame, result) -> None:
    for event in EVENTS:
        groups = usable(cases, event)["group"].value_counts()
        curves = result.events[event].curves
        at_start = curves.loc[curves["day"].eq(0)].set_index("arm")["at_risk"]
        assert at_start["control"] == groups["control"]
        assert at_start["actor"] == groups["treatment"] + groups["declined"]


def _exog(frame: pd.DataFrame, references: dict[str, str]) -> pd.DataFrame:
    """One dummy per level but the reference, made here rather than by cox.py."""
    dummies = [
        pd.get_dummies(frame[col].astype(str), prefix=col, prefix_sep=":", dtype=float).drop(
            columns=f"{col}:{ref}"
        )
        for col, ref in references.items()
    ]
    return pd.concat(dummies, axis=1)


@pytest.mark.parametrize("event", EVENTS)
def test_hazard_ratios_agree_with_statsmodels(
    cases: pd.DataFrame, result: ITTResult, event: str
) -> None:
    frame = model_frame(cases, (event,)).assign(arm=cases["arm"].astype(str))
    references = {"arm": "control", **{t.column: t.reference for t in covariate_terms()}}
    exog = _exog(frame, references)
    status = frame[f"{event}_observed"].astype(int)
    fit = PHReg(frame[f"{event}_days"], exog, status=status, ties="efron").fit()
    ours = result.events[event].cox.table.set_index("term")
    assert sorted(ours.index[~ours["reference"]]) == sorted(exog.columns)
    for term, ratio in zip(exog.columns, np.exp(fit.params), strict=True):
        assert ours.loc[term, "hazard_ratio"] == pytest.approx(ratio, rel=1e-4), term
    row = result.table.set_index("event").loc[event]
    assert row["hazard_ratio"] == ours.loc["arm:actor", "hazard_ratio"]
    low, high = np.exp(fit.conf_int()[list(exog.columns).index("arm:actor")])
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-4)
    p_value = fit.pvalues[list(exog.columns).index("arm:actor")]
    assert row["p_value"] == pytest.approx(p_value, rel=1e-4)


@pytest.mark.parametrize("event", EVENTS)
def test_kaplan_meier_and_logrank_agree_with_statsmodels(
    cases: pd.DataFrame, result: ITTResult, event: str
) -> None:
    analysed = usable(cases, event)
    days, observed = analysed[f"{event}_days"], analysed[f"{event}_observed"].astype(int)
    shares = result.events[event].shares.set_index(["arm", "day"])["cum_share_pct"]
    for arm in ARMS:
        member = analysed["arm"].eq(arm).to_numpy()
        curve = SurvfuncRight(days[member], observed[member])
        for day in (60, 100):
            survival = curve.surv_prob[np.searchsorted(curve.surv_times, day, "right") - 1]
            assert shares[(arm, day)] == pytest.approx(100 * (1 - survival), rel=1e-9)
    statistic, p_value = survdiff(days, observed, analysed["arm"].astype(str))
    logrank = result.events[event].logrank
    assert logrank.groups == ("actor", "control") and logrank.problem is None
    assert (logrank.statistic, logrank.p_value) == pytest.approx((statistic, p_value), rel=1e-6)


def test_an_arm_without_events_is_refused(cases: pd.DataFrame) -> None:
    silent = cases.copy()
    silent.loc[silent["arm"].eq("actor"), "meeting_observed"] = False
    model = arm_cox(silent, "meeting")
    assert not model.converged
    assert (model.refusal.code, model.refusal.column, model.refusal.level) == (
        "level_without_events",
        "arm",
        "actor",
    )
    assert model.table["hazard_ratio"].isna().all()
