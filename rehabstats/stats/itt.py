"""Intention to treat: each event by randomised arm, the trial's only causal comparison.

Treatment (offered an alternative actor and accepted) and declined are self-selected
groups; the randomised arms are control and offered (``arm`` = ``actor``: treatment and
declined together). For each event, on the cases of Tabell 4–6 (status event or
censored), this module gives the Kaplan–Meier curves by arm with numbers at risk on the
diagrams' days, the log-rank test, and a Cox model of the arm adjusted for the baseline
covariates only: meeting and plan happen after randomisation, so adjusting for them
would take away part of the arm's effect. The estimators are survival.py's and cox.py's,
so refusals and covariate handling are the same as in Tabell 4–6 and B3–B4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rehabstats.data.population import EVENTS
from rehabstats.stats import survival
from rehabstats.stats.cox import (
    CoxResult,
    Term,
    _recoded,
    covariate_terms,
    fit_cox,
    model_frame,
)

ARMS = ("control", "actor")  # the data dictionary's codes of ``arm``, in its order
ARM = Term("arm", "control")
TABLE_COLUMNS = [
    "event",
    "term",
    "hazard_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "events",
    "reference",
]


@dataclass(frozen=True)
class ArmEvent:
    """One event by randomised arm, in the form of ``results.EventResults``.

    ``curves`` and ``shares`` have columns ``arm``, ``day``, ``cum_share_pct``
    (100·(1 − S(day))) and ``at_risk``: ``curves`` on the diagram's days (every tenth
    day up to 360 or the longest follow-up), ``shares`` on the days the text quotes.
    ``logrank`` compares offered (``actor``) with control; ``cox`` is the adjusted model.
    """

    curves: pd.DataFrame
    shares: pd.DataFrame
    logrank: survival.Comparison
    cox: CoxResult


@dataclass(frozen=True)
class ITTResult:
    """The intention-to-treat analysis: ``table`` (``TABLE_COLUMNS``, one row per event
    for ``arm:actor``, NaN estimates where the model was refused) and each event's
    curves, log-rank test and model in ``events``."""

    table: pd.DataFrame
    events: dict[str, ArmEvent]


def _arm(values: pd.Series) -> pd.Series:
    """The ``arm`` column with the dictionary's codes as its categories (recoded through
    its categories, not through a string per case)."""
    return _recoded(values, pd.CategoricalDtype(ARMS))


def _arm_columns(cases: pd.DataFrame, event: str) -> pd.DataFrame:
    """The cases usable for ``event``, with the arm in ``group``: the column that
    survival.py's log-rank test compares."""
    analysed = survival.usable(cases, event)
    columns = [f"{event}_status", f"{event}_observed", f"{event}_days"]
    return analysed[columns].assign(group=_arm(analysed["arm"]))


def _arm_curves(analysed: pd.DataFrame, event: str, days: Sequence[float]) -> pd.DataFrame:
    """Each arm's Kaplan–Meier curve and number at risk on ``days``."""
    grid = np.asarray(days)
    parts = [
        survival._group_curve(
            analysed.loc[analysed["group"].eq(arm).to_numpy()], event, grid
        ).assign(arm=arm)
        for arm in ARMS
    ]
    curves = pd.concat(parts, ignore_index=True)
    return curves[["arm", "day", "cum_share_pct", "at_risk"]].astype({"at_risk": int})


def arm_cox(cases: pd.DataFrame, event: str) -> CoxResult:
    """The hazard of ``event`` by arm (control = reference), adjusted for the covariates
    of B3–B6 but not for meeting or plan, on the cases usable for ``event``."""
    frame = model_frame(cases, (event,))
    frame["arm"] = _arm(cases.loc[frame.index, "arm"])
    return fit_cox(frame, f"{event}_days", f"{event}_observed", (ARM, *covariate_terms()))


def arm_event(cases: pd.DataFrame, event: str, checkpoints: Sequence[float]) -> ArmEvent:
    """Kaplan–Meier by arm (diagram days and ``checkpoints``), log-rank and Cox."""
    analysed = _arm_columns(cases, event)
    grid, checkpoints = list(survival._default_days(analysed, event)), list(checkpoints)
    both = _arm_curves(analysed, event, sorted({*grid, *checkpoints}))
    return ArmEvent(
        curves=survival._on_days(both, grid),
        shares=survival._on_days(both, checkpoints),
        logrank=survival._compare(analysed, event, tuple(reversed(ARMS))),
        cox=arm_cox(cases, event),
    )


def _table_row(event: str, result: CoxResult) -> dict[str, object]:
    """The arm's row of the table: the offered arm's ratio against the reference."""
    table = result.table.loc[result.table["variable"].eq(ARM.column)]
    row = table.loc[~table["reference"]].iloc[0]
    reference = table.loc[table["reference"], "level"].iloc[0]
    estimates = row[["term", "hazard_ratio", "ci_low", "ci_high", "p_value"]].to_dict()
    return {
        "event": event,
        **estimates,
        "n": result.n,
        "events": result.events,
        "reference": reference,
    }


def itt(cases: pd.DataFrame, checkpoints: Sequence[float] = (60, 100)) -> ITTResult:
    """The intention-to-treat analysis of every event (see the module doc).

    ``cases`` are the studied cases (``Cohort.cases``); ``checkpoints`` the days whose
    shares the text quotes (``results.KM_CHECKPOINTS``).
    """
    return itt_result({event: arm_event(cases, event, checkpoints) for event in EVENTS})


def itt_result(events: dict[str, ArmEvent]) -> ITTResult:
    """The result of the events' analyses, with the table read off their models (so
    that disclosure control, which protects the models, protects the table too)."""
    rows = [_table_row(event, result.cox) for event, result in events.items()]
    return ITTResult(table=pd.DataFrame(rows, columns=TABLE_COLUMNS), events=events)
