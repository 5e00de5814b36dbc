"""Time to event: Tabell 4–6 (days to the meeting, the plan, the measure) and Diagram 1–3.

Every function takes the studied cases (``Cohort.cases``) and one event (``meeting``,
``plan`` or ``measure``). A case takes part in an event's analysis when its status is
``event`` or ``censored``; the other statuses are cases whose dates cannot be used,
counted in ``left_out``. Durations are days from the case's start in the project.
Results are plain numbers, unrounded; an empty group or an event nobody had gives NaN
with a stated reason, never an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rehabstats.data.population import GROUPS, LEFT_OUT, USABLE

DIAGRAM_DAYS = range(0, 361, 10)
TOTAL = "total"


def usable(cases: pd.DataFrame, event: str) -> pd.DataFrame:
    """The cases in the analysis of ``event``: status event or censored."""
    return cases.loc[cases[f"{event}_status"].isin(USABLE).to_numpy()]


def _event_columns(cases: pd.DataFrame, event: str) -> pd.DataFrame:
    """The only columns an event's analysis reads, so that selecting rows copies little."""
    return cases[["group", f"{event}_status", f"{event}_observed", f"{event}_days"]]


def _in_group(cases: pd.DataFrame, group: str) -> pd.DataFrame:
    """The cases of one study group, or all of them for ``total``."""
    if group == TOTAL:
        return cases
    return cases.loc[cases["group"].eq(group).to_numpy()]


def _event_row(cases: pd.DataFrame, event: str, group: str) -> dict[str, object]:
    """One row of Tabell 4–6: days among those with the event, counts and share."""
    members = _in_group(cases, group)
    analysed = usable(members, event)
    observed = analysed.loc[analysed[f"{event}_observed"].to_numpy(), f"{event}_days"]
    n, events = len(analysed), len(observed)
    return {
        "group": group,
        "mean_days": observed.mean() if events else np.nan,
        "median_days": observed.median() if events else np.nan,
        "n": n,
        "events": events,
        "share_pct": 100.0 * events / n if n else np.nan,
        "left_out": int(members[f"{event}_status"].isin(LEFT_OUT).sum()),
    }


def event_table(cases: pd.DataFrame, event: str) -> pd.DataFrame:
    """Tabell 4–6 for ``event``: one row per group and the total.

    Columns: ``group``, ``mean_days`` and ``median_days`` (among cases with the event),
    ``n`` (cases analysed), ``events``, ``share_pct`` (100·events/n) and ``left_out``
    (cases of the group whose dates for the event cannot be used).
    """
    cases = _event_columns(cases, event)
    rows = [_event_row(cases, event, group) for group in (*GROUPS, TOTAL)]
    return pd.DataFrame(rows).astype({"n": int, "events": int, "left_out": int})


@dataclass(frozen=True)
class Comparison:
    """One log-rank test: chi-square statistic, degrees of freedom, p-value.

    ``problem`` says why the test could not be done (then the numbers are NaN).
    """

    groups: tuple[str, ...]
    statistic: float
    df: int
    p_value: float
    problem: str | None = None


@dataclass(frozen=True)
class LogRank:
    """The log-rank tests behind the words "significantly shorter" in Tabell 4–6's text."""

    event: str
    overall: Comparison
    treatment_vs_control: Comparison
    declined_vs_control: Comparison


def _untestable(groups: Sequence[str], analysed: pd.DataFrame, event: str) -> str | None:
    """Why a log-rank test of ``groups`` cannot be done, or None when it can."""
    counts = analysed["group"].value_counts()
    empty = [g for g in groups if counts.get(g, 0) == 0]
    if empty:
        return f"no cases analysed for {event} in group(s): {', '.join(empty)}"
    if not analysed[f"{event}_observed"].any():
        return f"no {event} events among the compared groups"
    return None


def _compare(cases: pd.DataFrame, event: str, groups: Sequence[str]) -> Comparison:
    """Log-rank test of equal event-time distributions across ``groups``."""
    analysed = usable(cases, event)
    analysed = analysed.loc[analysed["group"].isin(groups).to_numpy()]
    from lifelines.statistics import logrank_test, multivariate_logrank_test  # see _group_curve

    problem = _untestable(groups, analysed, event)
    if problem:
        return Comparison(tuple(groups), np.nan, len(groups) - 1, np.nan, problem)
    days, observed = analysed[f"{event}_days"], analysed[f"{event}_observed"]
    if len(groups) == 2:
        first = analysed["group"].eq(groups[0]).to_numpy()
        result = logrank_test(days[first], days[~first], observed[first], observed[~first])
    else:
        result = multivariate_logrank_test(days, analysed["group"].astype(str), observed)
    return Comparison(
        tuple(groups), float(result.test_statistic), len(groups) - 1, float(result.p_value)
    )


def logrank(cases: pd.DataFrame, event: str) -> LogRank:
    """Log-rank tests for ``event``: all three groups, and each offered group vs control."""
    cases = _event_columns(cases, event)
    return LogRank(
        event=event,
        overall=_compare(cases, event, GROUPS),
        treatment_vs_control=_compare(cases, event, ("treatment", "control")),
        declined_vs_control=_compare(cases, event, ("declined", "control")),
    )


def _default_days(analysed: pd.DataFrame, event: str) -> range:
    """Every tenth day up to day 360, or up to the longest follow-up if that is shorter."""
    longest = analysed[f"{event}_days"].max()
    last = DIAGRAM_DAYS.stop - 1 if np.isnan(longest) else min(DIAGRAM_DAYS.stop - 1, longest)
    return range(0, int(last) + 1, DIAGRAM_DAYS.step)


def _group_curve(members: pd.DataFrame, event: str, days: np.ndarray) -> pd.DataFrame:
    """Cumulative share with the event (100·(1 − S)), number at risk and events so far on
    each day.

    The Kaplan–Meier estimate is defined up to the group's longest follow-up; later
    days get NaN. At risk on day t: cases whose time is t or later; events on day t:
    cases with the event on day t or before (what disclosure control needs of a curve).
    """
    # lifelines takes a second to import: only when estimating, not to read results.
    from lifelines import KaplanMeierFitter

    durations = np.sort(members[f"{event}_days"].to_numpy(dtype=float))
    at_risk = len(durations) - np.searchsorted(durations, days, side="left")
    observed = members[f"{event}_observed"].to_numpy(dtype=bool)
    event_days = np.sort(members[f"{event}_days"].to_numpy(dtype=float)[observed])
    events = np.searchsorted(event_days, days, side="right")
    share = np.full(len(days), np.nan)
    if len(durations):
        fitter = KaplanMeierFitter().fit(members[f"{event}_days"], observed)
        survival = fitter.survival_function_at_times(days).to_numpy()
        share = np.where(days <= durations.max(), 100.0 * (1.0 - survival), np.nan)
    return pd.DataFrame({"day": days, "cum_share_pct": share, "at_risk": at_risk, "events": events})


def km_curves(cases: pd.DataFrame, event: str, days: Iterable[float] | None = None) -> pd.DataFrame:
    """Diagram 1–3: Kaplan–Meier curves by group, long format.

    Columns: ``group``, ``day``, ``cum_share_pct`` (100·(1 − S(day))), ``at_risk`` and
    ``events`` (cases with the event on the day or before; not published).
    ``days`` defaults to every tenth day up to 360 (or the longest follow-up).
    """
    analysed = usable(_event_columns(cases, event), event)
    grid = _default_days(analysed, event) if days is None else days
    return _curves(analysed, event, grid)


def km_curves_and_shares(
    cases: pd.DataFrame, event: str, checkpoints: Iterable[float] = (60, 100)
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The diagram's curves and the shares the text quotes, from one estimate per group.

    The curves are :func:`km_curves` on its default days; the shares are the same
    estimates on the ``checkpoints`` (day 60 and day 100), with the same columns.
    """
    analysed = usable(_event_columns(cases, event), event)
    grid, checkpoints = list(_default_days(analysed, event)), list(checkpoints)
    both = _curves(analysed, event, sorted({*grid, *checkpoints}))
    return _on_days(both, grid), _on_days(both, checkpoints)


def _curves(analysed: pd.DataFrame, event: str, days: Iterable[float]) -> pd.DataFrame:
    """Each group's curve on ``days`` (see :func:`km_curves`)."""
    grid = np.asarray(list(days))
    parts = [
        _group_curve(_in_group(analysed, group), event, grid).assign(group=group)
        for group in GROUPS
    ]
    curves = pd.concat(parts, ignore_index=True)
    columns = ["group", "day", "cum_share_pct", "at_risk", "events"]
    return curves[columns].astype({"at_risk": int, "events": int})


def _on_days(curves: pd.DataFrame, days: list[float]) -> pd.DataFrame:
    """The rows of ``curves`` on ``days``, in the same order."""
    return curves.loc[curves["day"].isin(days).to_numpy()].reset_index(drop=True)
