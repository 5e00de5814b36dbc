"""B5 and B6 with meeting and plan as time-varying covariates (``TV_B5``, ``TV_B6``).

B5 and B6 enter meeting and plan as fixed covariates known from the whole follow-up, so
a case with a meeting on day 80 counts as "with a meeting" also on days 0–79, when it
could not yet have one (immortal time bias). Here each case is split into (start, stop]
rows, the counting-process form, and meeting(t) and plan(t) switch on on the day they
happen; lifelines fits it (Efron's method for tied times, no penalty), on the sample,
terms and covariates of the fixed models: the likelihood of its
``CoxTimeVaryingFitter``, maximised by its sorted computation (:func:`_sorted_fit`).

Time is in whole days from the case's start, and day d is the interval (d − 1, d]:

* a case enters at −1 (the start of day 0) and leaves at its ``measure_days``, the
  stop of its last row, with the event there when the measure started;
* a meeting (plan) on day d is on from the start of that day: the rows split at d − 1,
  ``(−1, d − 1]`` without it and ``(d − 1, …]`` with it. A measure starting the same day
  sees the meeting on, as in the published analysis (the meeting came first); a meeting
  on day 0 is on from the entry;
* a meeting (plan) after the day the measure started never switches on: the case has
  left the risk set by then. (Censored cases have every meeting and plan within
  follow-up: a later date leaves the case out of the sample.)

In B6 a meeting's window (0–30, 31–60, 61–90, 91+ days, as in B6) is known on its day;
its indicator is on from then, against no meeting yet. With integer event days only the
order within a day matters, so d − 1 is the same split as d − 0.5.

The result tables have B5's and B6's layout (``cox.TABLE_COLUMNS``); a level's ``n``
counts the cases in that state when the measure started or follow-up ended (``yes``: a
meeting on or before that day).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import pandas as pd

from rehabstats.stats.cox import (
    GROUP,
    LOW_VARIANCE,
    MEASURE_EVENTS,
    MODEL1_TERMS,
    TIMED,
    WINDOW_TERMS,
    CoxRefusal,
    CoxResult,
    Term,
    _convergence_messages,
    _design,
    _Estimates,
    _recorded_warnings,
    _refused,
    _rows,
    _sample,
    _timing_from,
    _window,
    _yes_no,
    covariate_terms,
    efron_fit,
    fit_with_retries,
    model_frame,
)

DURATION, EVENT = "measure_days", "measure_observed"
ENTRY = -1.0  # the start of day 0: day d is the interval (d - 1, d]


def known_at_measure(frame: pd.DataFrame) -> pd.DataFrame:
    """The measure models' frame with meeting and plan (yes/no and window) as they were
    when the measure started or follow-up ended: the state of a case's last row."""
    frame = frame.copy()
    for e in TIMED:
        before = frame[f"{e}_observed"] & frame[f"{e}_days"].le(frame[DURATION])
        frame[e] = _yes_no(before)
        frame[f"{e}_window"] = _window(before, frame[f"{e}_days"])
    return frame


def measure_frame(cases: pd.DataFrame) -> pd.DataFrame:
    """The cases of B5 and B6 (usable for all three events), states as of the measure."""
    return known_at_measure(model_frame(cases, MEASURE_EVENTS))


def _switch_times(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per event, when its covariates switch on: d − 1 for a meeting (plan) on day d on
    or before the last day, infinity when it never does."""
    last = frame[DURATION].to_numpy(float)
    switches = {}
    for e in TIMED:
        days = frame[f"{e}_days"].to_numpy(float)
        on = frame[f"{e}_observed"].to_numpy(bool) & (days <= last)
        switches[e] = np.where(on, days - 1.0, np.inf)
    return switches


def counting_process(frame: pd.DataFrame, terms: Sequence[Term]) -> pd.DataFrame:
    """Each case's (start, stop] rows: ``case`` (the frame's index), ``start``, ``stop``,
    ``measure_observed`` (1 on the row where the measure started) and one column per
    estimated coefficient of ``terms``, the meeting and plan ones on from their day.

    Each case is cut where its meeting and its plan switch on (see the module doc): at
    most three rows. ``frame`` is :func:`measure_frame`'s, or a part of it.
    """
    design = _design(frame, DURATION, EVENT, terms)
    switches = _switch_times(frame)
    last = design[DURATION].to_numpy(float)
    cuts = [np.where(np.isfinite(s), s, ENTRY) for s in switches.values()]
    bounds = np.sort(np.column_stack([np.full(len(frame), ENTRY), *cuts, last]), axis=1)
    start, stop = bounds[:, :-1].ravel(), bounds[:, 1:].ravel()
    width = bounds.shape[1] - 1
    case = np.repeat(np.arange(len(frame)), width)
    keep = stop > start
    start, stop, case = start[keep], stop[keep], case[keep]
    rows = design.drop(columns=DURATION).iloc[case].reset_index(names="case")
    rows[EVENT] *= stop == last[case]
    for e, switch in switches.items():
        varying = [c for c in rows.columns if c.split(":")[0] in (e, f"{e}_window")]
        rows[varying] = rows[varying].mul(start >= switch[case], axis=0)
    rows.insert(1, "start", start)
    rows.insert(2, "stop", stop)
    return rows


def _fit_rows(rows: pd.DataFrame) -> tuple[_Estimates | None, CoxRefusal | None, list[str]]:
    """The estimates of the counting-process fit (lifelines' ``summary`` and the
    covariance), or None and why; warnings as notes. Fitted by :func:`_sorted_fit`,
    retried and refused exactly as cox.py's fits (:func:`cox.fit_with_retries`)."""
    return fit_with_retries(_sorted_fit(rows))


def _sorted_fit(rows: pd.DataFrame) -> Callable[[float], object]:
    """The likelihood of ``CoxTimeVaryingFitter`` on ``rows``, maximised by lifelines'
    sorted Efron computation (:func:`cox.efron_fit`), as a fit with a given step size.

    ``CoxTimeVaryingFitter`` finds the cases at risk on each event day among all rows:
    its time grows with rows × event days, ten minutes a model for a million cases
    (benchmarks/README.md, session 8), days for ten million, and 0.8 s of the
    default report's analysis where this takes 0.1 (session 10). The sorted
    computation adds up the risk sets from the last day back, which only works for
    rows at risk from the start: a row (start, stop] is the row (−∞, stop] less the row
    (−∞, start], that is, the same covariates at duration ``start`` with case weight
    −1 and no event. In Efron's likelihood the rows enter only through sums of
    weight · exp(xβ) (times x, x xᵀ) over the risk set, and the events, which keep
    weight 1, so the two likelihoods are the same function of β: the same estimates,
    to the convergence criteria, which are ``CoxTimeVaryingFitter``'s. Its warnings
    about columns of low variance are given as it gives them, on ``rows``. The tests
    check the two fits against each other (``tests/test_large_registers.py``) and
    against statsmodels and R's ``coxph``.
    """
    start, stop = rows["start"].to_numpy(), rows["stop"].to_numpy()
    event = rows[EVENT].to_numpy(bool)
    late = np.flatnonzero(start > ENTRY)  # rows at risk from the start need no second row
    durations = np.concatenate([stop, start[late]])
    events = np.concatenate([event, np.zeros(len(late), bool)])
    weights = np.concatenate([np.ones(len(rows)), np.full(len(late), -1.0)])
    names = rows.columns.drop(["case", "start", "stop", EVENT])
    low, separated = _low_variance(rows, names, event)

    def column(name: str) -> np.ndarray:
        values = rows[name].to_numpy()
        return np.concatenate([values, values[late]])

    def fitted(step: float) -> object:
        _warn_low_variance(rows, low, separated, event)
        options = {"precision": 1e-8, "max_steps": 50}  # CoxTimeVaryingFitter's criteria
        return efron_fit(names, column, durations, events, EVENT, step, weights, False, **options)

    return fitted


def _low_variance(
    rows: pd.DataFrame, names: pd.Index, events: np.ndarray
) -> tuple[pd.Index, pd.Index]:
    """The columns ``CoxTimeVaryingFitter`` warns about: those of low variance, and those
    of low variance among the rows with an event or among those without, but not in all
    (lifelines' ``check_low_var`` and ``check_complete_separation_low_variance``),
    found a column at a time rather than on all columns as floats at once."""

    def low(values: np.ndarray) -> bool:
        return pd.Series(values, dtype=float).var() < LOW_VARIANCE

    columns = [rows[name].to_numpy() for name in names]
    overall = names[[low(values) for values in columns]]
    split = names[[low(values[events]) or low(values[~events]) for values in columns]]
    return overall, split.difference(overall)


def _warn_low_variance(
    rows: pd.DataFrame, low: pd.Index, separated: pd.Index, events: np.ndarray
) -> None:
    """lifelines' warnings about the columns :func:`_low_variance` found, as
    ``CoxTimeVaryingFitter`` gives them on ``rows``."""
    from lifelines.utils import check_complete_separation_low_variance, check_low_var

    if len(low):
        check_low_var(rows[low].astype(float))
    if len(separated):
        check_complete_separation_low_variance(rows[separated].astype(float), events, EVENT)


def _row_checks(
    frame: pd.DataFrame, sample: pd.DataFrame, terms: Sequence[Term]
) -> tuple[pd.Index, list[str]]:
    """The coefficients of ``terms`` on the counting-process rows of ``sample``'s cases,
    and the notes that lifelines' checks of those rows leave before a fit: the only
    notes a fit that converges can have (its other warnings mean it failed)."""
    rows = counting_process(frame.loc[sample.index], terms)
    names = rows.columns.drop(["case", "start", "stop", EVENT])
    event = rows[EVENT].to_numpy(bool)
    with _recorded_warnings() as caught:
        _warn_low_variance(rows, *_low_variance(rows, names, event), event)
    return names, _convergence_messages(caught)


def fit_time_varying(frame: pd.DataFrame, terms: Sequence[Term]) -> CoxResult:
    """Starting a measure on ``terms`` in counting-process form (see the module doc).

    The sample and terms are prepared exactly as :func:`cox.fit_cox` prepares them, on
    one row per case with meeting and plan as of the last day; ``n`` and ``events`` count
    cases and measures, not rows. ``frame`` is :func:`measure_frame`'s.
    """
    return _fit_time_varying(frame, terms)[0]


def _fit_time_varying(
    frame: pd.DataFrame, terms: Sequence[Term]
) -> tuple[CoxResult, _Estimates | None]:
    """:func:`fit_time_varying` and the fit's estimates (None when the model was refused)."""
    sample, kept, refusal, notes = _sample(frame, DURATION, EVENT, terms)
    if refusal is not None:
        return _refused(sample, EVENT, kept, refusal, notes), None
    estimates, refusal, fit_notes = _fit_rows(counting_process(frame.loc[sample.index], kept))
    if estimates is None:
        return _refused(sample, EVENT, kept, refusal, notes), None
    table = _rows(sample, kept, estimates.summary)
    events = int(sample[EVENT].sum())
    return CoxResult(table, len(sample), events, True, None, (*notes, *fit_notes)), estimates


def tv_cox_models(cases: pd.DataFrame) -> dict[str, CoxResult]:
    """``TV_B5`` (meeting and plan yes/no), ``TV_B6`` (their windows against none yet)
    and ``TV_T7`` (the windows against 91+, as Tabell 7 has them: the test of whether an
    early meeting still beats a late one), time-varying, adjusted for group and the
    covariates as B5, B6 and Tabell 7 are.

    ``TV_T7`` is ``TV_B6`` in other coordinates, as Tabell 7 is B6: every window's
    indicator switches on with meeting (plan) yes/no, which is their sum. So it is
    derived from ``TV_B6``'s fit as Tabell 7 is from B6's (:func:`cox._timing_from`,
    fitted itself when ``TV_B6``'s fit failed or needed a smaller step), with the notes
    of lifelines' checks of its own rows: two time-varying fits for the three models.
    """
    frame = measure_frame(cases)
    covariates = covariate_terms()
    model1 = fit_time_varying(frame, (GROUP, *MODEL1_TERMS, *covariates))
    model2, estimates = _fit_time_varying(frame, (GROUP, *WINDOW_TERMS, *covariates))
    timing = _timing_from(frame, estimates, fit_time_varying, partial(_row_checks, frame))
    return {"TV_B5": model1, "TV_B6": model2, "TV_T7": timing}
