"""Time to event (Tabell 4–6, Diagram 1–3): known answers, a second library, edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from rehabstats.data.population import EVENTS, GROUPS, STATUSES, derive_cohort
from rehabstats.data.synth import generate
from rehabstats.data.validation import validate
from rehabstats.stats.survival import event_table, km_curves, km_curves_and_shares, logrank


def hand_cases(rows: list[tuple[str, str, float]], event: str = "meeting") -> pd.DataFrame:
    """Studied cases by hand: (group, status, days) per case for one event."""
    group, status, days = zip(*rows, strict=True) if rows else ((), (), ())
    status = pd.Categorical(status, categories=STATUSES)
    return pd.DataFrame(
        {
            "group": pd.Categorical(group, categories=GROUPS),
            f"{event}_status": status,
            f"{event}_observed": np.asarray(status == "event", dtype=bool),
            f"{event}_days": np.asarray(days, dtype=float),
        }
    )


KNOWN = hand_cases(
    [
        ("control", "event", 10),
        ("control", "event", 20),
        ("control", "event", 60),
        ("control", "censored", 100),
        ("control", "date_missing", np.nan),
        ("treatment", "event", 5),
        ("treatment", "censored", 50),
        ("treatment", "date_after_followup", np.nan),
    ]
)


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    """The studied cases of a generated register extract of the report's size."""
    return derive_cohort(validate(generate(4188, seed=3))[1]).cases


def test_event_table_known_answer() -> None:
    table = event_table(KNOWN, "meeting").set_index("group")
    assert table.loc["control"].to_dict() == {
        "mean_days": 30.0,
        "median_days": 20.0,
        "n": 4,
        "events": 3,
        "share_pct": 75.0,
        "left_out": 1,
    }
    assert table.loc["treatment", ["mean_days", "n", "events", "left_out"]].tolist() == [5, 2, 1, 1]
    assert table.loc["total", "mean_days"] == pytest.approx(23.75)
    assert table.loc["total", "median_days"] == 15.0
    assert table.loc["total", "share_pct"] == pytest.approx(100 * 4 / 6)
    assert table.loc["total", "left_out"] == 2
    empty = table.loc["declined"]
    assert (empty["n"], empty["events"], empty["left_out"]) == (0, 0, 0)
    assert np.isnan(empty[["mean_days", "median_days", "share_pct"]].astype(float)).all()


def test_event_table_accounts_for_every_case(cases: pd.DataFrame) -> None:
    sizes = cases["group"].value_counts()
    for event in EVENTS:
        table = event_table(cases, event).set_index("group")
        for group in GROUPS:
            assert table.loc[group, "n"] + table.loc[group, "left_out"] == sizes[group]
        groups = table.loc[list(GROUPS), ["n", "events", "left_out"]].sum()
        assert groups.to_dict() == table.loc["total", ["n", "events", "left_out"]].to_dict()


def test_km_known_answer() -> None:
    curves = km_curves(KNOWN, "meeting", days=[0, 10, 30, 60, 100, 110])
    control = curves[curves["group"] == "control"].set_index("day")
    # Four cases at risk: events on days 10, 20, 60; censored on day 100.
    expected = [0.0, 25.0, 50.0, 75.0, 75.0, np.nan]
    np.testing.assert_allclose(control["cum_share_pct"], expected)
    assert control["at_risk"].tolist() == [4, 4, 2, 2, 1, 0]
    declined = curves[curves["group"] == "declined"]
    assert declined["cum_share_pct"].isna().all()
    assert (declined["at_risk"] == 0).all()


def _statsmodels_share(days: pd.Series, observed: pd.Series, at: np.ndarray) -> np.ndarray:
    """100·(1 − S(t)) from statsmodels' Kaplan–Meier estimate, read as a step function."""
    fit = SurvfuncRight(days.to_numpy(), observed.to_numpy().astype(int))
    index = np.searchsorted(fit.surv_times, at, side="right") - 1
    survival = np.where(index >= 0, fit.surv_prob[np.maximum(index, 0)], 1.0)
    return 100.0 * (1.0 - survival)


@pytest.mark.parametrize("event", EVENTS)
def test_km_agrees_with_statsmodels(cases: pd.DataFrame, event: str) -> None:
    curves = km_curves(cases, event)
    assert curves["day"].tolist() == list(range(0, 361, 10)) * 3
    usable = cases[cases[f"{event}_status"].isin(["event", "censored"])]
    for group in GROUPS:
        members = usable[usable["group"] == group]
        ours = curves[curves["group"] == group]
        days = ours["day"].to_numpy()
        theirs = _statsmodels_share(members[f"{event}_days"], members[f"{event}_observed"], days)
        defined = days <= members[f"{event}_days"].max()
        np.testing.assert_allclose(ours["cum_share_pct"][defined], theirs[defined], atol=1e-9)
        at_risk = [(members[f"{event}_days"] >= day).sum() for day in days]
        assert ours["at_risk"].tolist() == at_risk


def test_km_shares_are_the_curves_on_the_quoted_days(cases: pd.DataFrame) -> None:
    joint, shares = km_curves_and_shares(cases, "plan")
    curves = km_curves(cases, "plan")
    pd.testing.assert_frame_equal(joint, curves)
    assert shares["day"].tolist() == [60, 100] * 3
    merged = shares.merge(curves, on=["group", "day"], suffixes=("", "_curve"))
    np.testing.assert_allclose(merged["cum_share_pct"], merged["cum_share_pct_curve"])


def test_curves_and_shares_from_one_estimate_when_follow_up_ends_early() -> None:
    """Days 60 and 100 beyond every follow-up: the shares are still those of km_curves."""
    short = hand_cases(
        [
            ("control", "event", 10),
            ("control", "censored", 45),
            ("treatment", "event", 5),
            ("treatment", "censored", 30),
            ("declined", "event", 20),
        ]
    )
    curves, shares = km_curves_and_shares(short, "meeting")
    pd.testing.assert_frame_equal(curves, km_curves(short, "meeting"))
    pd.testing.assert_frame_equal(shares, km_curves(short, "meeting", days=[60, 100]))
    assert curves["day"].max() == 40 and shares["cum_share_pct"].isna().all()


def test_default_days_stop_at_the_longest_follow_up() -> None:
    curves = km_curves(KNOWN, "meeting")
    assert curves["day"].max() == 100
    assert curves["day"].diff().dropna().isin([10, -100]).all()


@pytest.mark.parametrize("event", EVENTS)
def test_logrank_agrees_with_statsmodels(cases: pd.DataFrame, event: str) -> None:
    tests = logrank(cases, event)
    usable = cases[cases[f"{event}_status"].isin(["event", "censored"])]
    comparisons = {
        tests.overall: GROUPS,
        tests.treatment_vs_control: ("treatment", "control"),
        tests.declined_vs_control: ("declined", "control"),
    }
    for ours, groups in comparisons.items():
        part = usable[usable["group"].isin(groups)]
        chisq, _ = survdiff(
            part[f"{event}_days"].to_numpy(),
            part[f"{event}_observed"].to_numpy().astype(int),
            part["group"].astype(str).to_numpy(),
        )
        assert ours.problem is None
        assert ours.df == len(groups) - 1
        assert ours.statistic == pytest.approx(chisq, rel=1e-6)
        # statsmodels' own p-value underflows to 0 here; the chi-square tail does not.
        assert ours.p_value == pytest.approx(chi2.sf(chisq, len(groups) - 1), rel=1e-5)


def test_an_empty_group_gives_nan_and_a_reason(cases: pd.DataFrame) -> None:
    without = cases[cases["group"] != "declined"]
    table = event_table(without, "measure").set_index("group")
    assert table.loc["declined", "n"] == 0
    assert np.isnan(table.loc["declined", "mean_days"])
    tests = logrank(without, "measure")
    assert np.isnan(tests.overall.p_value) and "declined" in tests.overall.problem
    assert np.isnan(tests.declined_vs_control.p_value)
    assert "declined" in tests.declined_vs_control.problem
    assert tests.treatment_vs_control.p_value < 0.05
    curves = km_curves(without, "measure")
    assert curves.loc[curves["group"] == "declined", "cum_share_pct"].isna().all()
    assert curves.loc[curves["group"] == "control", "cum_share_pct"].notna().all()


def test_an_event_nobody_had(cases: pd.DataFrame) -> None:
    censored = cases.assign(
        plan_status=pd.Categorical(["censored"] * len(cases), categories=STATUSES),
        plan_observed=False,
        plan_days=cases["case_start_date"].rsub(cases["followup_end_date"]).dt.days.astype(float),
    )
    table = event_table(censored, "plan")
    assert (table["events"] == 0).all() and (table["share_pct"] == 0).all()
    assert table["mean_days"].isna().all() and table["median_days"].isna().all()
    tests = logrank(censored, "plan")
    for comparison in (tests.overall, tests.treatment_vs_control, tests.declined_vs_control):
        assert np.isnan(comparison.p_value) and "no plan events" in comparison.problem
    assert (km_curves(censored, "plan")["cum_share_pct"].dropna() == 0).all()


def test_no_cases_at_all() -> None:
    empty = hand_cases([])
    table = event_table(empty, "meeting")
    assert table["n"].tolist() == [0, 0, 0, 0]
    assert "no cases" in logrank(empty, "meeting").overall.problem
    curves = km_curves(empty, "meeting")
    assert curves["cum_share_pct"].isna().all() and (curves["at_risk"] == 0).all()


def test_logrank_p_value_agrees_where_groups_do_not_differ(cases: pd.DataFrame) -> None:
    rng = np.random.default_rng(5)
    shuffled = cases.assign(group=cases["group"].to_numpy()[rng.permutation(len(cases))])
    usable = shuffled[shuffled["meeting_status"].isin(["event", "censored"])]
    _, p = survdiff(
        usable["meeting_days"].to_numpy(),
        usable["meeting_observed"].to_numpy().astype(int),
        usable["group"].astype(str).to_numpy(),
    )
    ours = logrank(shuffled, "meeting").overall.p_value
    assert 0.001 < p < 0.999
    assert ours == pytest.approx(p, rel=1e-6)
