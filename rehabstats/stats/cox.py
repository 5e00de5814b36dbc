"""Cox proportional-hazards models: Bilaga 2 tables B3–B6 and Tabell 7.

:func:`fit_cox` wraps lifelines' Cox fit (``CoxPHFitter``'s estimates, Efron's method for
tied times, no penalty; :func:`efron_fit`) and builds the design matrix itself, so that
every reference category is the data dictionary's and every row of the result is
labelled ``variable:level``. A model
that cannot be estimated comes back with ``converged=False``, a :class:`CoxRefusal`
saying why, and NaN ratios: never an exception, never a number that means nothing.

Two kinds of term: the terms the table is about (group, meeting, plan, their timing)
must be estimable or the model fails; covariates that the model only adjusts for are
simplified with a note instead (a category without cases is left out; a covariate with
one level is dropped; the cases of a category without a single event are left out,
which is where the fit would go anyway, since their hazard ratio tends to zero).

Before fitting, the design matrix itself is checked: a column that is constant or a
linear combination of earlier ones has no estimate, and the model is refused naming it
(:func:`_rank_refusal`), whatever message lifelines would have given. A fit whose
Newton-Raphson steps diverge is tried again with smaller steps (``STEP_SIZES``) before
the model is refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from rehabstats.data.dictionary import load_dictionary
from rehabstats.data.population import EVENTS, GROUPS, USABLE

COVARIATES = (
    "sex",
    "age_group",
    "birth_country",
    "education",
    "employment",
    "county",
    "diagnosis",
    "benefit",
    "extent",
)
WINDOWS = ("0-30", "31-60", "61-90", "91+")
# Right-closed bins on whole days: 0–30, 31–60, 61–90, 91 and later.
WINDOW_EDGES = (-np.inf, 30.0, 60.0, 90.0, np.inf)
NO_EVENT = "none"
STARS = ((0.01, "***"), (0.05, "**"), (0.10, "*"))
TABLE_COLUMNS = [
    "term",
    "variable",
    "level",
    "reference",
    "n",
    "coef",
    "se",
    "hazard_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "stars",
]
# lifelines warns, rather than raises, when Newton-Raphson did not settle; these
# warnings mean the estimates cannot be trusted.
FIT_FAILURE_WARNINGS = ("Newton-Raphson", "The log-likelihood is getting suspiciously")
# Newton-Raphson step sizes tried in turn: lifelines' default (pinned here), then smaller
# ones. A full step from zero can overshoot to where exp(Xb) overflows ("delta contains
# nan value(s)"), e.g. when the few cases of a category all had the event early.
STEP_SIZES = (0.95, 0.5, 0.25, 0.1)
# Rows per block of the rank check's QR decomposition (:func:`_centred_r`).
RANK_BLOCK = 1 << 17
# lifelines warns about a column whose variance is below this (``utils.check_low_var``).
LOW_VARIANCE = 1e-4


@dataclass(frozen=True)
class Term:
    """One term of a Cox model.

    With ``reference`` None the column is numeric and enters as it is; otherwise it is
    categorical, with one dummy per level except the reference. ``adjust`` marks a
    covariate the model only adjusts for (see the module doc). ``absent`` names a level
    coded 0 in every dummy and given no row, because another term carries it: in
    Tabell 7 the timing of a meeting that never happened is carried by meeting yes/no.
    """

    column: str
    reference: str | None = None
    adjust: bool = False
    absent: str | None = None

    @property
    def categorical(self) -> bool:
        return self.reference is not None


# Why a model could not be fitted, in English for the command line and the logs; the
# report words each code in its own language (``cox_refusal`` in the glossaries).
REFUSAL_TEXTS = {
    "no_cases": "no cases in the sample",
    "no_events": "no events in the sample",
    "missing_values": "missing values in {column}",
    "does_not_vary": "{term} does not vary in the sample",
    "collinearity": "collinearity: {term} is a linear combination of {detail}",
    "level_without_cases": "no cases with {column} = {level} in the sample",
    "level_without_events": "no events among the cases with {column} = {level}",
    "not_fitted": "the model could not be fitted: {detail}",
    "not_converged": "the model did not converge: {detail}",
    "non_finite": "the model gave non-finite estimates",
}


@dataclass(frozen=True)
class CoxRefusal:
    """Why a model could not be fitted: a code (``REFUSAL_TEXTS``), the column and level
    it concerns, and a detail: lifelines' own message where the fit itself failed, the
    terms that a collinear term is a combination of."""

    code: str
    column: str | None = None
    level: str | None = None
    detail: str | None = None

    def __str__(self) -> str:
        term = self.column if self.level is None else f"{self.column}:{self.level}"
        return REFUSAL_TEXTS[self.code].format(
            column=self.column, level=self.level, term=term, detail=self.detail
        )


@dataclass(frozen=True)
class CoxResult:
    """A fitted (or refused) Cox model.

    ``table`` has one row per term level (``TABLE_COLUMNS``): ``term`` is
    ``variable:level`` (a numeric term is its column name), ``n`` the cases of that
    level in the model's sample, ``stars`` "***"/"**"/"*" at p < 0.01/0.05/0.10 and
    "ref" on reference rows. ``n`` and ``events`` describe the model's sample.
    """

    table: pd.DataFrame
    n: int
    events: int
    converged: bool
    refusal: CoxRefusal | None = None
    notes: tuple[str, ...] = ()

    @property
    def problem(self) -> str | None:
        """Why the model could not be fitted, in English; None when it was."""
        return None if self.refusal is None else str(self.refusal)


def stars(p_value: float) -> str:
    """The series' significance stars for a p-value ("" when not significant or NaN)."""
    return next((mark for limit, mark in STARS if p_value < limit), "")


def _levels(values: pd.Series) -> list:
    """A categorical column's levels: its declared categories, else the values seen."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    return sorted(values.dropna().unique())


def _label(term: Term, level: object) -> str:
    return f"{term.column}:{level}" if term.categorical else term.column


def _estimated(sample: pd.DataFrame, term: Term) -> list:
    """The levels of a categorical term that get a dummy: present, not reference/absent."""
    counts = sample[term.column].value_counts()
    skip = (term.reference, term.absent)
    return [lv for lv in _levels(sample[term.column]) if counts.get(lv, 0) > 0 and lv not in skip]


def _columns(
    sample: pd.DataFrame, terms: Sequence[Term]
) -> Iterator[tuple[Term, object, pd.Series]]:
    """Each estimated coefficient's term, level (None for a numeric term) and column.

    A level's dummy is boolean (a byte per case, not the eight of a float): the fit
    turns it into numbers one column at a time (:func:`efron_fit`).
    """
    for term in terms:
        values = sample[term.column]
        if not term.categorical:
            yield term, None, values.astype(float)
            continue
        for level in _estimated(sample, term):
            yield term, level, values.eq(level)


def _design(sample: pd.DataFrame, duration: str, event: str, terms: Sequence[Term]) -> pd.DataFrame:
    """Durations, event indicator and one column per estimated coefficient."""
    columns = {duration: sample[duration].astype(float), event: sample[event].astype(int)}
    columns |= {_label(term, level): x for term, level, x in _columns(sample, terms)}
    return pd.DataFrame(columns, index=sample.index)


def _rank_refusal(sample: pd.DataFrame, terms: Sequence[Term]) -> CoxRefusal | None:
    """The first design column that is constant or a combination of earlier ones, or None.

    Such a coefficient has no estimate, and lifelines' way of failing on it changes
    between versions, so it is found here: in the QR decomposition of the centred
    columns, each scaled to length 1, a diagonal element is the length of what its
    column adds to the earlier ones, and one below ``max(rows, columns)`` times the
    machine epsilon (as in numpy's ``matrix_rank``) adds nothing. The earlier columns named are
    those with a weight in the combination.

    The design is taken once per distinct combination of the terms' values, with the
    square root of its number of cases as the weight of its row: R is the same, and a
    register of millions of cases has a few hundred thousand combinations.
    """
    names = list(dict.fromkeys(term.column for term in terms))
    counts = sample.groupby(names, observed=True, sort=False).size()
    distinct = counts.index.to_frame(index=False)
    columns = list(_columns(distinct, terms))
    for term, level, x in columns:
        if x.min() == x.max():
            return CoxRefusal("does_not_vary", term.column, _level_text(level))
    if not columns:
        return None
    r = _centred_r([x.to_numpy() for _, _, x in columns], counts.to_numpy(float))
    eps = np.finfo(float).eps
    dependent = np.flatnonzero(np.abs(np.diag(r)) <= eps * max(len(sample), len(columns)))
    if dependent.size == 0:
        return None
    j = dependent[0]
    weights = np.linalg.solve(r[:j, :j], r[:j, j])
    involved = np.flatnonzero(np.abs(weights) > np.sqrt(eps) * np.abs(weights).max())
    detail = ", ".join(_label(*columns[i][:2]) for i in involved)
    term, level, _ = columns[j]
    return CoxRefusal("collinearity", term.column, _level_text(level), detail)


def _centred_r(columns: Sequence[np.ndarray], counts: np.ndarray) -> np.ndarray:
    """R of the QR decomposition of the columns of distinct rows, each row standing for
    ``counts`` cases: the columns centred and scaled to length 1 over the cases.

    Taken ``RANK_BLOCK`` rows at a time (R of the rows so far stacked on the next
    block's is R of all of them), so that only one block is ever held as floats. On
    one BLAS thread, as the fits (:func:`_fit_with_step`): with two, OpenBLAS's second
    thread waited busily through every decomposition, a second of CPU in the default
    report's analysis of 2.8 (taken from the kernels starting beside it), for no gain
    in time (benchmarks/README.md, session 11).
    """
    means = [counts @ values / counts.sum() for values in columns]
    centred = zip(columns, means, strict=True)
    lengths = [np.sqrt(counts @ (values - mean) ** 2) for values, mean in centred]
    roots = np.sqrt(counts)
    r = np.empty((0, len(columns)))
    with threadpool_limits(1, "blas"):
        for start in range(0, len(counts), RANK_BLOCK):
            rows = slice(start, start + RANK_BLOCK)
            block = [
                (values[rows] - mean) * roots[rows] / length
                for values, mean, length in zip(columns, means, lengths, strict=True)
            ]
            r = np.linalg.qr(np.vstack([r, np.column_stack(block)]), mode="r")
    return r


def _level_text(level: object) -> str | None:
    """A level as a refusal names it: its text, None for a numeric term."""
    return None if level is None else str(level)


def _without_silent_levels(
    sample: pd.DataFrame, event: str, terms: Sequence[Term]
) -> tuple[pd.DataFrame, list[str]]:
    """Leave out the cases of covariate categories that have cases but no events.

    Such a category's hazard ratio tends to zero and the fit then behaves as if its
    cases were not there; leaving them out gives that limit without a diverging fit.
    Repeated, because leaving cases out can silence another category.
    """
    notes: list[str] = []
    covariates = [t for t in terms if t.adjust and t.categorical]
    while True:
        silent = []
        for term in covariates:
            events = sample.groupby(term.column, observed=True)[event].sum()
            silent += [(term, lv) for lv, k in events.items() if k == 0]
        if not silent:
            return sample, notes
        for term, level in silent:
            drop = sample[term.column].eq(level).to_numpy()
            notes.append(
                f"{_label(term, level)}: none of its {int(drop.sum())} cases had the event; "
                "they are left out of the model (the hazard ratio would tend to 0)"
            )
            sample = sample.loc[~drop]


def _simplified_covariate(sample: pd.DataFrame, term: Term) -> tuple[Term | None, list[str]]:
    """A covariate fit for estimation: None when it does not vary, with notes."""
    values = sample[term.column]
    if not term.categorical:
        if values.nunique() < 2:
            return None, [f"{term.column}: does not vary in the sample; dropped from the model"]
        return term, []
    counts = values.value_counts()
    empty = [lv for lv in _levels(values) if counts.get(lv, 0) == 0 and lv != term.absent]
    notes = [f"{_label(term, lv)}: no cases in the sample" for lv in empty]
    present = [lv for lv in _levels(values) if counts.get(lv, 0) > 0]
    if len(present) < 2:
        return None, [
            *notes,
            f"{term.column}: a single level in the sample; dropped from the model",
        ]
    if term.reference not in present:
        largest = counts.idxmax()
        notes.append(
            f"{term.column}: reference {term.reference} has no cases; {largest} used instead"
        )
        term = replace(term, reference=largest)
    return term, notes


def _not_estimable(sample: pd.DataFrame, event: str, term: Term) -> CoxRefusal | None:
    """Why a categorical term the table is about cannot be estimated, or None when it can.

    (A numeric term that does not vary is found by :func:`_rank_refusal`.)
    """
    values = sample[term.column]
    counts = sample.groupby(term.column, observed=False)[event].agg(["size", "sum"])
    for level in _levels(values):
        if level == term.absent:
            continue
        if counts.loc[level, "size"] == 0:
            return CoxRefusal("level_without_cases", term.column, str(level))
        if counts.loc[level, "sum"] == 0:
            return CoxRefusal("level_without_events", term.column, str(level))
    return None


def _prepared(
    sample: pd.DataFrame, event: str, terms: Sequence[Term]
) -> tuple[pd.DataFrame, list[Term], CoxRefusal | None, list[str]]:
    """The sample and terms to estimate, the reason the model cannot be fitted, notes."""
    if len(sample) == 0:
        return sample, list(terms), CoxRefusal("no_cases"), []
    if not sample[event].any():
        return sample, list(terms), CoxRefusal("no_events"), []
    sample, notes = _without_silent_levels(sample, event, terms)
    kept: list[Term] = []
    for term in terms:
        simplified, term_notes = _simplified_covariate(sample, term) if term.adjust else (term, [])
        notes += term_notes
        if simplified is not None:
            kept.append(simplified)
    refusals = (_not_estimable(sample, event, t) for t in kept if t.categorical and not t.adjust)
    refusal = next((r for r in refusals if r is not None), None) or _rank_refusal(sample, kept)
    return sample, kept, refusal, notes


def _plain(message: object) -> str:
    """lifelines' message on one line, without its pointer to the documentation."""
    return " ".join(str(message).split()).split(" Please see")[0]


@dataclass(frozen=True)
class _Estimates:
    """A fit's estimates: lifelines' ``summary`` columns and the coefficients' covariance.

    Kept apart from :class:`CoxResult`, which goes into the saved and protected results:
    the variance of a category's coefficient betrays roughly how many events it has.
    """

    summary: pd.DataFrame
    covariance: pd.DataFrame
    step_size: float


def _fit(
    design: pd.DataFrame, duration: str, event: str
) -> tuple[_Estimates | None, CoxRefusal | None, list[str]]:
    """lifelines' estimates of ``design``, or None and why; other warnings as notes.

    The fit is ``CoxPHFitter().fit(design, duration, event, batch_mode=True)``, bit for
    bit, done by :func:`efron_fit` (see there why not by ``fit`` itself).
    ``batch_mode=True`` takes lifelines' vectorised Efron computation also for the
    small samples where its size heuristic would loop over the rows: the same estimates
    to round-off, a third less time at the report's size.
    """
    names = design.columns.drop([duration, event])
    durations = design[duration].to_numpy(float)
    events = design[event].to_numpy()

    def column(name: str) -> np.ndarray:
        return design[name].to_numpy()

    def fitted(step: float) -> object:
        return efron_fit(names, column, durations, events, event, step)

    return fit_with_retries(fitted)


def efron_fit(
    names: Sequence[str],
    column: Callable[[str], np.ndarray],
    durations: np.ndarray,
    events: np.ndarray,
    event: str,
    step: float,
    weights: np.ndarray | None = None,
    warn_low_variance: bool = True,
    **options: float,
) -> object:
    """lifelines' Cox fit (Efron's ties, no penalty) of the columns ``names``, each given
    by ``column(name)``: a fitted lifelines model with ``summary`` and
    ``variance_matrix_``.

    These are the steps of ``CoxPHFitter.fit`` that give its estimates, in its order and
    with its arithmetic, so that they are its estimates to the last bit: the rows sorted
    by duration and event, lifelines' warning about columns of low variance (unless
    ``warn_low_variance`` is False), each column centred and scaled by its mean and
    standard deviation, lifelines' Newton-Raphson (its vectorised Efron computation,
    with step size ``step`` and the other ``options`` of its ``fit_options``), and its
    own formulas for standard errors, intervals and p-values. ``event`` names the event
    column in lifelines' warnings; ``weights`` are lifelines' case weights (1 when None;
    :mod:`rehabstats.stats.timevarying` says why they may be -1 there).

    What ``fit`` does besides, and the report never reads (predictions for every row,
    baseline hazards, a summary of the data), is left out, and so are its copies of the
    design: ``fit`` holds five or six of them as floats (a model of 0.9 million cases
    took 1.1 GB above the data, 10 GB at 10 million), here one is built, a column at a
    time (0.2 GB).
    """
    # lifelines takes a second to import: only when fitting, not to read results.
    from lifelines.fitters.coxph_fitter import SemiParametricPHFitter
    from lifelines.utils import check_low_var
    from scipy.linalg import inv

    order = np.lexsort((events, durations))
    names = pd.Index(names, name="covariate")
    x = np.empty((len(names), len(order)))  # lifelines' layout: a column is a row here
    means, variances = np.empty(len(names)), np.empty(len(names))
    for j, name in enumerate(names):
        x[j] = column(name)[order]
        values = pd.Series(x[j], copy=False)
        means[j], variances[j] = values.mean(), values.var()
    low = variances < LOW_VARIANCE
    if warn_low_variance and low.any():
        check_low_var(pd.DataFrame(x[low].T, columns=names[low]))
    deviations = np.sqrt(variances)
    x -= means[:, None]
    x /= deviations[:, None]
    index = pd.RangeIndex(len(order))
    fitter = SemiParametricPHFitter(penalizer=0.0)
    fitter.event_col, fitter._batch_mode = event, True
    fitter.robust, fitter.cluster_col = False, None
    beta, _, hessian = fitter._newton_raphson_for_efron_model(
        pd.DataFrame(x.T, index=index, columns=names),
        pd.Series(durations[order], index=index, dtype=float),
        pd.Series(events[order], index=index).astype(bool),
        pd.Series(np.ones(len(order)) if weights is None else weights[order], index=index),
        None,
        show_progress=False,
        step_size=step,
        **options,
    )
    fitter.params_ = pd.Series(beta / deviations, index=names, name="coef")
    if hessian.size > 0:
        covariance = -inv(hessian) / np.outer(deviations, deviations)
        fitter.variance_matrix_ = pd.DataFrame(covariance, index=names, columns=names)
    else:
        fitter.variance_matrix_ = pd.DataFrame(index=names, columns=names)
    fitter.standard_errors_ = fitter._compute_standard_errors(None, None, None, None)
    fitter.confidence_intervals_ = fitter._compute_confidence_intervals()
    return fitter


def fit_with_retries(
    fitted: Callable[[float], object],
) -> tuple[_Estimates | None, CoxRefusal | None, list[str]]:
    """The estimates of a lifelines fit, ``fitted(step)``, or None and why; other
    warnings as notes.

    Tried with each of ``STEP_SIZES`` until a fit converges, with a note saying which
    step it took and why the larger ones failed. Refused when none converges, with the
    last failure's code and every step's message. Shared by every Cox fit of the report,
    with fixed and with time-varying covariates.
    """
    failures: list[tuple[float, CoxRefusal]] = []
    for step in STEP_SIZES:
        estimates, failure, notes = _fit_with_step(fitted, step)
        if estimates is not None:
            return estimates, None, [*_retry_notes(failures, step), *notes]
        failures.append((step, failure))
    return None, replace(failures[-1][1], detail=_failure_text(failures)), []


def _retry_notes(failures: Sequence[tuple[float, CoxRefusal]], step: float) -> list[str]:
    """The note of a fit that took a smaller step than lifelines' default, if it did."""
    if not failures:
        return []
    return [f"fitted with Newton-Raphson step size {step:g}: {_failure_text(failures)}"]


def _failure_text(failures: Sequence[tuple[float, CoxRefusal]]) -> str:
    """Each failed fit's message once, with the step sizes that gave it."""
    steps: dict[str, list[str]] = {}
    for step, failure in failures:
        steps.setdefault(failure.detail or str(failure), []).append(f"{step:g}")
    return "; ".join(f"{message} (step size {', '.join(s)})" for message, s in steps.items())


def _fit_with_step(
    fitted: Callable[[float], object], step: float
) -> tuple[_Estimates | None, CoxRefusal | None, list[str]]:
    """One lifelines fit with Newton-Raphson step size ``step``: as :func:`_fit` returns.

    The fit runs on one BLAS thread: on large samples lifelines makes one small matrix
    product per distinct day, and threaded BLAS then spends its time waking threads;
    with another busy process on the machine a fit took 17 times as long
    (benchmarks/README.md).
    """
    from lifelines.exceptions import ConvergenceError

    with _recorded_warnings() as caught, threadpool_limits(1, "blas"):
        try:
            fitter = fitted(step)
        except (ConvergenceError, np.linalg.LinAlgError, ValueError) as error:
            return None, CoxRefusal("not_fitted", detail=_plain(error)), []
    messages = _convergence_messages(caught)
    failures = [m for m in messages if m.startswith(FIT_FAILURE_WARNINGS)]
    if failures:
        return None, CoxRefusal("not_converged", detail=failures[0]), []
    summary = fitter.summary
    if not np.isfinite(summary[["coef", "se(coef)"]].to_numpy()).all():
        return None, CoxRefusal("non_finite"), []
    return _Estimates(summary, fitter.variance_matrix_, step), None, messages


@contextmanager
def _recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning raised inside the block, repeated ones too."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _convergence_messages(caught: Iterable[warnings.WarningMessage]) -> list[str]:
    """lifelines' convergence warnings among ``caught``, each on one line."""
    from lifelines.exceptions import ConvergenceWarning

    return [_plain(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


def _rows(
    sample: pd.DataFrame, terms: Sequence[Term], summary: pd.DataFrame | None
) -> pd.DataFrame:
    """The result table: every level of every term, with estimates where there are any."""
    rows = []
    for term in terms:
        values = sample[term.column]
        levels = [lv for lv in _levels(values) if lv != term.absent] if term.categorical else [None]
        for level in levels:
            label = _label(term, level)
            is_reference = term.categorical and level == term.reference
            n = int(values.eq(level).sum()) if term.categorical else len(sample)
            rows.append(_row(term.column, level, label, is_reference, n, summary))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _row(
    variable: str,
    level: object,
    label: str,
    is_reference: bool,
    n: int,
    summary: pd.DataFrame | None,
) -> dict[str, object]:
    """One row of the result table; NaN estimates when the model or the level has none."""
    row = {"term": label, "variable": variable, "level": level, "reference": is_reference, "n": n}
    estimate = dict.fromkeys(("coef", "se", "hazard_ratio", "ci_low", "ci_high", "p_value"), np.nan)
    if summary is not None and is_reference:
        estimate.update(coef=0.0, hazard_ratio=1.0)
    elif summary is not None and label in summary.index:
        s = summary.loc[label]
        estimate.update(
            coef=s["coef"],
            se=s["se(coef)"],
            hazard_ratio=s["exp(coef)"],
            ci_low=s["exp(coef) lower 95%"],
            ci_high=s["exp(coef) upper 95%"],
            p_value=s["p"],
        )
    return {**row, **estimate, "stars": "ref" if is_reference else stars(estimate["p_value"])}


def fit_cox(data: pd.DataFrame, duration: str, event: str, terms: Iterable[Term]) -> CoxResult:
    """Fit a Cox model of ``duration``/``event`` on ``terms`` (Efron ties, no penalty).

    Rows with a missing value in any model column make the model fail rather than being
    dropped unseen. See :class:`CoxResult` for what comes back.
    """
    return _fit_cox(data, duration, event, terms)[0]


def _fit_cox(
    data: pd.DataFrame, duration: str, event: str, terms: Iterable[Term]
) -> tuple[CoxResult, _Estimates | None]:
    """:func:`fit_cox` and the fit's estimates (None when the model was refused)."""
    sample, kept, refusal, notes = _sample(data, duration, event, terms)
    if refusal is not None:
        return _refused(sample, event, kept, refusal, notes), None
    estimates, refusal, fit_notes = _fit(_design(sample, duration, event, kept), duration, event)
    if estimates is None:
        return _refused(sample, event, kept, refusal, notes), None
    table = _rows(sample, kept, estimates.summary)
    events = int(sample[event].sum())
    return CoxResult(table, len(sample), events, True, None, (*notes, *fit_notes)), estimates


def _sample(
    data: pd.DataFrame, duration: str, event: str, terms: Iterable[Term]
) -> tuple[pd.DataFrame, list[Term], CoxRefusal | None, list[str]]:
    """The model's sample and terms, the reason it cannot be fitted (or None), notes."""
    terms = tuple(terms)
    sample = data[[duration, event, *(t.column for t in terms)]]
    missing = sample.columns[sample.isna().any()].tolist()
    if missing:
        refusal = CoxRefusal("missing_values", ", ".join(missing))
        return sample.dropna(), list(terms), refusal, []
    return _prepared(sample, event, terms)


def _refused(
    sample: pd.DataFrame,
    event: str,
    terms: Sequence[Term],
    refusal: CoxRefusal | None,
    notes: list[str],
) -> CoxResult:
    """A model that could not be fitted: the rows and counts, NaN estimates, the reason."""
    table = _rows(sample, terms, None)
    return CoxResult(table, len(sample), int(sample[event].sum()), False, refusal, tuple(notes))


# The report's models ---------------------------------------------------------------


def covariate_terms() -> tuple[Term, ...]:
    """The covariates of every model, with the data dictionary's reference categories."""
    dictionary = load_dictionary()
    return tuple(
        Term(
            name,
            dictionary.age_reference if name == "age_group" else dictionary[name].reference,
            adjust=True,
        )
        for name in COVARIATES
    )


def adjusted_covariates(result: CoxResult) -> list[str]:
    """The covariates a fitted model controls for, in ``COVARIATES`` order: those that
    varied in its sample (a one-county report cannot control for county)."""
    shown = set(result.table["variable"])
    return [name for name in COVARIATES if name in shown]


def _covariate_dtypes(cases: pd.DataFrame) -> dict[str, pd.CategoricalDtype]:
    """Each covariate's categories in the dictionary's order: those the tables of
    ``cases`` list (of the counties, only those the cases have)."""
    dictionary = load_dictionary()
    age_groups = tuple(b.code for b in dictionary.age_bins)
    return {
        name: pd.CategoricalDtype(
            age_groups
            if name == "age_group"
            else dictionary[name].listed(set(cases[name].dropna().unique()))
        )
        for name in COVARIATES
    }


def _yes_no(observed: pd.Series) -> pd.Categorical:
    return pd.Categorical.from_codes(observed.to_numpy(np.int8), categories=("no", "yes"))


def _window(observed: pd.Series, days: pd.Series) -> pd.Categorical:
    """When the event happened (``WINDOWS``), or ``none`` for cases without it."""
    window = pd.cut(days, WINDOW_EDGES, labels=WINDOWS).cat.codes.to_numpy()
    codes = np.where(observed, np.where(window < 0, -1, window + 1), 0)
    return pd.Categorical.from_codes(codes, categories=(NO_EVENT, *WINDOWS))


def _recoded(values: pd.Series, dtype: pd.CategoricalDtype) -> pd.Series:
    """``values`` in ``dtype``, each value matched by its text (NaN where none matches).

    The same as ``values.astype(str).astype(dtype)``; a categorical column is recoded
    through its categories instead of through a string per row.
    """
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype(str).astype(dtype)
    texts = [str(c) for c in values.cat.categories] + ["nan"]  # [-1]: a missing value
    codes = dtype.categories.get_indexer(texts)[values.cat.codes.to_numpy()]
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=values.index)


def model_frame(cases: pd.DataFrame, events: Sequence[str]) -> pd.DataFrame:
    """The cases usable for every one of ``events``, with the models' columns.

    Columns: ``group`` and the covariates with their declared categories; per event
    ``{event}_days`` and ``{event}_observed``, and for meeting and plan also ``{event}``
    (yes/no) and ``{event}_window`` (``none`` or one of ``WINDOWS``).
    """
    usable = np.logical_and.reduce([cases[f"{e}_status"].isin(USABLE) for e in events])
    needed = [f"{e}_{part}" for e in events for part in ("days", "observed")]
    sample = cases.loc[usable, ["group", *COVARIATES, *needed]]
    frame = pd.DataFrame({"group": sample["group"].astype(pd.CategoricalDtype(GROUPS))})
    for name, dtype in _covariate_dtypes(cases).items():
        frame[name] = _recoded(sample[name], dtype)
    for e in events:
        frame[f"{e}_days"] = sample[f"{e}_days"].astype(float)
        frame[f"{e}_observed"] = sample[f"{e}_observed"].astype(bool)
        if e != "measure":
            frame[e] = _yes_no(frame[f"{e}_observed"])
            frame[f"{e}_window"] = _window(frame[f"{e}_observed"], frame[f"{e}_days"])
    return frame


GROUP = Term("group", "control")


def _event_model(cases: pd.DataFrame, event: str) -> CoxResult:
    """Group hazard ratios for one event, adjusted for the covariates."""
    frame = model_frame(cases, (event,))
    return fit_cox(frame, f"{event}_days", f"{event}_observed", (GROUP, *covariate_terms()))


MEASURE_EVENTS = EVENTS  # the measure model sees all three events
TIMED = ("meeting", "plan")
LATE = WINDOWS[-1]
# Model 1 (B5): whether a meeting (plan) happened at all.
MODEL1_TERMS = (Term("meeting", "no"), Term("plan", "no"))
# Model 2 (B6): each window against no meeting (plan) at all.
WINDOW_TERMS = tuple(Term(f"{e}_window", NO_EVENT) for e in TIMED)
# Tabell 7: yes/no, and each window against the last one among those with the event.
TIMING_TERMS = tuple(
    term for e in TIMED for term in (Term(e, "no"), Term(f"{e}_window", LATE, absent=NO_EVENT))
)


def _measure_frame(cases: pd.DataFrame) -> pd.DataFrame:
    """The model frame of B5, B6 and Tabell 7: cases usable for all three events."""
    return model_frame(cases, MEASURE_EVENTS)


def _measure_fit(frame: pd.DataFrame, terms: Sequence[Term]) -> tuple[CoxResult, _Estimates | None]:
    """Starting a measure by group, ``terms`` and the covariates, and the fit's estimates."""
    terms = (GROUP, *terms, *covariate_terms())
    return _fit_cox(frame, "measure_days", "measure_observed", terms)


def cox_meeting(cases: pd.DataFrame) -> CoxResult:
    """B3: the hazard of a coordination meeting by group (control = reference)."""
    return _event_model(cases, "meeting")


def cox_plan(cases: pd.DataFrame) -> CoxResult:
    """B4: the hazard of a rehabilitation plan by group (control = reference)."""
    return _event_model(cases, "plan")


def cox_measure_model1(cases: pd.DataFrame) -> CoxResult:
    """B5: starting a measure by group and whether a meeting and a plan happened."""
    return _measure_fit(_measure_frame(cases), MODEL1_TERMS)[0]


def cox_measure_model2(cases: pd.DataFrame) -> CoxResult:
    """B6: starting a measure by group and when the meeting and the plan happened.

    One indicator per window (0–30, 31–60, 61–90, 91+ days), each against no meeting
    (no plan) at all.
    """
    return _measure_fit(_measure_frame(cases), WINDOW_TERMS)[0]


def cox_timing(cases: pd.DataFrame) -> CoxResult:
    """Tabell 7: model 2 reparametrised, the windows against a meeting (plan) after day 90.

    Meeting yes/no carries the cases without a meeting; among those with one, each
    window is compared with 91+. A window's ratio here is B6's ratio for the window
    divided by B6's ratio for 91+. Computed from model 2's fit (:func:`_timing_from`).
    """
    frame = _measure_frame(cases)
    return _timing_from(frame, _measure_fit(frame, WINDOW_TERMS)[1])


def cox_models(cases: pd.DataFrame) -> dict[str, CoxResult]:
    """The report's models by table (B3–B6, T7), Tabell 7 from model 2's fit.

    B5, B6 and Tabell 7 share one model frame.
    """
    frame = _measure_frame(cases)
    model2, estimates = _measure_fit(frame, WINDOW_TERMS)
    return {
        "B3": cox_meeting(cases),
        "B4": cox_plan(cases),
        "B5": _measure_fit(frame, MODEL1_TERMS)[0],
        "B6": model2,
        "T7": _timing_from(frame, estimates),
    }


def _timing_fitted(cases: pd.DataFrame) -> CoxResult:
    """Tabell 7 fitted on its own terms: what :func:`_timing_from` gives without a fit."""
    return _measure_fit(_measure_frame(cases), TIMING_TERMS)[0]


def _measure_cox(frame: pd.DataFrame, terms: Sequence[Term]) -> CoxResult:
    """Starting a measure on ``terms``, all of them, in the measure models' ``frame``."""
    return fit_cox(frame, "measure_days", "measure_observed", terms)


def _design_checks(sample: pd.DataFrame, terms: Sequence[Term]) -> tuple[pd.Index, list[str]]:
    """The coefficients of the design of ``terms`` on the measure models' ``sample``,
    and the notes lifelines' checks of that design leave (:func:`_low_variance_notes`)."""
    duration, event = "measure_days", "measure_observed"
    design = _design(sample, duration, event, terms).drop(columns=[duration, event])
    return design.columns, _low_variance_notes(design)


def _timing_from(
    frame: pd.DataFrame,
    model2: _Estimates | None,
    fit: Callable[[pd.DataFrame, Sequence[Term]], CoxResult] = _measure_cox,
    checks: Callable[[pd.DataFrame, Sequence[Term]], tuple[pd.Index, list[str]]] = _design_checks,
) -> CoxResult:
    """Tabell 7 from model 2's estimates, which are the same model's in other coordinates.

    Tabell 7's coefficients are a linear map of model 2's (:func:`_timing_contrasts`),
    so the maximum of the likelihood is the same point and its covariance is
    ``A V Aᵀ``. The sample, counts, notes and any reason not to fit are Tabell 7's
    own, exactly as its own fit would have them. When model 2's fit failed, or needed
    a smaller Newton-Raphson step (which Tabell 7's own fit may not), Tabell 7 is fitted
    itself, so that its reason or note is that of a fit of Tabell 7's terms.
    ``frame`` is the measure models' frame (:func:`_measure_frame`).

    The same for either kind of covariate: ``fit(frame, terms)`` is Tabell 7's own fit,
    ``checks(sample, terms)`` its coefficients and the notes of lifelines' checks before
    its fit; by default those of the fixed-covariate model (the time-varying model's:
    :func:`rehabstats.stats.timevarying.tv_cox_models`).
    """
    duration, event = "measure_days", "measure_observed"
    terms = (GROUP, *TIMING_TERMS, *covariate_terms())
    sample, kept, refusal, notes = _sample(frame, duration, event, terms)
    if refusal is not None:
        return _refused(sample, event, kept, refusal, notes)
    if model2 is None or model2.step_size != STEP_SIZES[0]:
        return fit(frame, terms)
    names, check_notes = checks(sample, kept)
    contrasts = _timing_contrasts(names, model2.covariance.index).to_numpy()
    coef = contrasts @ model2.summary["coef"].reindex(model2.covariance.index).to_numpy()
    covariance = contrasts @ model2.covariance.to_numpy() @ contrasts.T
    summary = _wald_summary(pd.Series(coef, index=names), covariance)
    notes += check_notes
    table = _rows(sample, kept, summary)
    return CoxResult(table, len(sample), int(sample[event].sum()), True, None, tuple(notes))


def _timing_contrasts(timing: pd.Index, windows: pd.Index) -> pd.DataFrame:
    """The matrix taking model 2's coefficients (columns) to Tabell 7's (rows).

    Group and covariates are the same coefficient in both; ``{event}:yes`` is model 2's
    coefficient for 91+, and a window's is model 2's for it minus that for 91+.
    """
    identity = pd.DataFrame(np.eye(len(windows)), index=windows, columns=windows)
    matrix = identity.reindex(timing, fill_value=0.0)
    for e in TIMED:
        late = f"{e}_window:{LATE}"
        matrix.loc[f"{e}:yes", late] = 1.0
        matrix.loc[[f"{e}_window:{w}" for w in WINDOWS if w != LATE], late] = -1.0
    return matrix


def _wald_summary(coef: pd.Series, covariance: np.ndarray) -> pd.DataFrame:
    """The ``summary`` columns that :func:`_row` reads, by lifelines' own formulas.

    Ratio exp(coef); 95 % interval ratio·exp(∓z·se), z the normal 97.5 % quantile;
    p from the Wald chi-square with one degree of freedom, (coef/se)².
    """
    from scipy import stats

    se = np.sqrt(np.diag(covariance))
    z = stats.norm.ppf(0.975)
    ratio = np.exp(coef)
    columns = {
        "coef": coef,
        "exp(coef)": ratio,
        "se(coef)": se,
        "exp(coef) lower 95%": ratio * np.exp(-z * se),
        "exp(coef) upper 95%": ratio * np.exp(z * se),
        "p": stats.chi2.sf((coef / se) ** 2, 1),
    }
    return pd.DataFrame(columns, index=coef.index)


def _low_variance_notes(design: pd.DataFrame) -> list[str]:
    """The warning lifelines gives before a fit of ``design``: columns of low variance.

    It is the only warning that a fit which converges can leave (the others come with a
    failed fit), so with it a derived model has the notes its own fit would have.
    """
    from lifelines.utils import check_low_var

    low = [name for name in design.columns if design[name].astype(float).var() < LOW_VARIANCE]
    with _recorded_warnings() as caught:
        if low:
            check_low_var(design[low].astype(float))
    return _convergence_messages(caught)
