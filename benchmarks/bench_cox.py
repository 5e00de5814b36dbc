"""The report's five Cox models next to a minimal NumPy yardstick, same data, same run.

    python benchmarks/bench_cox.py [--sizes 4188 100000 1000000] [--seed 1] [--scenario S]
                                   [--statsmodels]

For each size: a generated register extract → validation → study population, then

- ``report``: the report's own computation of its five models (``rehabstats.stats.cox.cox_models``),
  everything included (model frames, checks, design matrices, lifelines, result tables);
  the report fits B3–B6 and derives Tabell 7 from B6's fit;
- ``lifelines``: ``CoxPHFitter.fit`` alone on the design matrices the report built;
- ``yardstick``: :func:`yardstick_fit` below on the same design matrices.

The totals compare the report with the four fits it makes (B3–B6). Tabell 7 is fitted on
its own design by lifelines and the yardstick too, and checked against the report's
derived table, but kept out of the totals: the report does not fit it.
- with ``--statsmodels``, also ``statsmodels``: ``PHReg(ties="efron").fit`` on the same
  matrices, the other Cox regression among the project's dependencies (slow at large
  sizes, so not measured by default).

The yardstick is a BENCHMARK YARDSTICK, not part of rehabstats: a plain Newton–Raphson
on the partial likelihood with Efron's handling of tied days (the report's method, so its
estimates must match lifelines'), summing over the distinct days rather than over people.
Its coefficients and standard errors are checked against the report's to ``TOLERANCE``
standard errors: lifelines stops, as R's ``coxph`` does, when the log-likelihood changes
by less than one part in 10⁹, which can leave the coefficient of a small category (a flat
likelihood) about 10⁻⁴ from the exact maximum, a few ten-thousandths of its standard error;
the script exits 1 if they disagree, so the timing comparison is between equal answers.
lifelines and the yardstick run on one BLAS thread, as the report's fits do.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from common import print_header, table
from lifelines import CoxPHFitter
from scipy import sparse
from statsmodels.duration.hazard_regression import PHReg
from threadpoolctl import threadpool_limits

from rehabstats.data.population import derive_cohort
from rehabstats.data.synth import generate
from rehabstats.data.validation import validate
from rehabstats.stats import cox


def timing_fitted(cases: pd.DataFrame) -> cox.CoxResult:
    """Tabell 7 fitted on its own terms, which the report derives from B6 instead."""
    return cox._measure_fit(cox._measure_frame(cases), cox.TIMING_TERMS)[0]


# How each model's design is made, to record it: Tabell 7 by its own (unused) fit.
MODELS: dict[str, Callable[[pd.DataFrame], cox.CoxResult]] = {
    "B3": cox.cox_meeting,
    "B4": cox.cox_plan,
    "B5": cox.cox_measure_model1,
    "B6": cox.cox_measure_model2,
    "T7": timing_fitted,
}
DERIVED = ("T7",)
TOLERANCE = 1e-3  # in standard errors
TARGET = 5.0


def _efron(
    beta: np.ndarray,
    x: np.ndarray,
    event: np.ndarray,
    position: np.ndarray,
    days: sparse.csr_array,
    tied_days: sparse.csr_array,
    at: np.ndarray,
    fraction: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Efron's partial log-likelihood, its gradient and the information matrix at ``beta``.

    ``x`` has one row per case, centred; ``position`` is each case's distinct time and
    ``days`` the 0/1 matrix of distinct times × cases (``tied_days``: only the cases with
    the event), so sums over the cases are taken once per time. There is one entry per
    event in ``at`` (its distinct time) and ``fraction`` (k/d: the share of the d tied
    events already removed, k = 0…d−1); only scalars are kept per event.
    """
    score = x @ beta
    weight = np.exp(score)
    weighted = x * weight[:, None]
    risk0 = (days @ weight)[::-1].cumsum()[::-1]
    risk1 = (days @ weighted)[::-1].cumsum(axis=0)[::-1]
    tied0, tied1 = tied_days @ weight, tied_days @ weighted
    denominator = risk0[at] - fraction * tied0[at]
    inverse = 1.0 / denominator

    def per_time(values: np.ndarray) -> np.ndarray:
        return np.bincount(at, values, minlength=len(risk0))

    c0, c1 = per_time(inverse), per_time(fraction * inverse)
    q0, q1 = per_time(inverse**2), per_time(fraction * inverse**2)
    q2 = per_time((fraction * inverse) ** 2)
    loglik = score @ event - np.log(denominator).sum()
    gradient = event @ x - c0 @ risk1 + c1 @ tied1
    # Σ over events of the risk set's weighted x xᵀ as one product: each case's weight
    # times 1/denominator summed over the event times it was at risk at.
    case_weight = weight * (c0.cumsum()[position] - event * c1[position])
    cross = risk1.T @ (q1[:, None] * tied1)
    information = (
        (x * case_weight[:, None]).T @ x
        - risk1.T @ (q0[:, None] * risk1)
        + cross
        + cross.T
        - tied1.T @ (q2[:, None] * tied1)
    )
    return loglik, gradient, information


def yardstick_fit(
    durations: np.ndarray, observed: np.ndarray, x: np.ndarray, max_steps: int = 50
) -> tuple[np.ndarray, np.ndarray, int]:
    """YARDSTICK: Cox coefficients and standard errors by Newton–Raphson (Efron ties).

    ``x`` has one row per case. Halves a step that lowers the likelihood; stops when the
    largest step is below 1e-9 or the log-likelihood changes by less than 1e-13 of
    itself. Returns the coefficients, their standard errors and the number of steps.
    """
    n = len(durations)
    _, position = np.unique(durations, return_inverse=True)
    event = observed.astype(float)
    days = sparse.csr_array((np.ones(n), (position, np.arange(n))))
    tied_days = sparse.csr_array((event, (position, np.arange(n))), shape=days.shape)
    deaths = np.bincount(position, weights=event).astype(int)
    at = np.repeat(np.arange(len(deaths)), deaths)
    fraction = (np.arange(len(at)) - np.repeat(np.cumsum(deaths) - deaths, deaths)) / deaths[at]
    centred = np.ascontiguousarray(x - x.mean(axis=0))
    data = (centred, event, position, days, tied_days, at, fraction)
    beta = np.zeros(x.shape[1])
    loglik, gradient, information = _efron(beta, *data)
    steps = 0
    while steps < max_steps:
        steps += 1
        step = np.linalg.solve(information, gradient)
        while True:
            new = _efron(beta + step, *data)
            if new[0] >= loglik or np.abs(step).max() < 1e-12:
                break
            step /= 2
        beta, previous = beta + step, loglik
        loglik, gradient, information = new
        if np.abs(step).max() < 1e-9 or abs(loglik - previous) < 1e-13 * abs(loglik):
            break
    se = np.sqrt(np.diag(np.linalg.inv(information)))
    return beta, se, steps


def report_designs(cases: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, str, str]]:
    """The design matrices the report's models hand to lifelines, recorded in one run.

    ``rehabstats.stats.cox._fit`` is wrapped for the duration of the call and restored.
    """
    designs: dict[str, tuple[pd.DataFrame, str, str]] = {}
    fit = cox._fit
    for key, model in MODELS.items():

        def record(design: pd.DataFrame, duration: str, event: str, key: str = key):
            designs[key] = (design, duration, event)
            return fit(design, duration, event)

        cox._fit = record
        try:
            model(cases)
        finally:
            cox._fit = fit
    return designs


def _timed(function: Callable, *args: object) -> tuple[object, float]:
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def statsmodels_fit(durations: np.ndarray, events: np.ndarray, x: np.ndarray) -> np.ndarray:
    """statsmodels' Cox fit with Efron ties: its coefficients."""
    return PHReg(durations, x, status=events.astype(int), ties="efron").fit().params


def compare(
    cases: pd.DataFrame, with_statsmodels: bool = False
) -> tuple[list[list[object]], float]:
    """Per model: size, times of the fits, disagreement; and the largest disagreement.

    With ``with_statsmodels`` each row ends with statsmodels' time and its largest
    coefficient difference from the report's.
    """
    designs = report_designs(cases)
    results, report_s = _timed(cox.cox_models, cases)
    rows, worst = [], 0.0
    for key in MODELS:
        result = results[key]
        design, duration, event = designs[key]
        covariates = design.drop(columns=[duration, event])
        with threadpool_limits(1, "blas"):
            _, lifelines_s = _timed(CoxPHFitter(penalizer=0.0).fit, design, duration, event)
            (beta, se, steps), yardstick_s = _timed(
                yardstick_fit,
                design[duration].to_numpy(float),
                design[event].to_numpy(bool),
                covariates.to_numpy(float),
            )
        estimates = result.table.set_index("term").loc[covariates.columns]
        coef_diff = (np.abs(estimates["coef"].to_numpy() - beta) / se).max()
        se_diff = (np.abs(estimates["se"].to_numpy() - se) / se).max()
        worst = max(worst, coef_diff, se_diff)
        size = [key, result.n, result.events, covariates.shape[1], steps]
        diffs = [f"{coef_diff:.1e}", f"{se_diff:.1e}"]
        rows.append([*size, lifelines_s, yardstick_s, *diffs])
        if with_statsmodels:
            with threadpool_limits(1, "blas"):
                params, statsmodels_s = _timed(
                    statsmodels_fit,
                    design[duration].to_numpy(float),
                    design[event].to_numpy(bool),
                    covariates.to_numpy(float),
                )
            statsmodels_diff = (np.abs(estimates["coef"].to_numpy() - params) / se).max()
            rows[-1] += [statsmodels_s, f"{statsmodels_diff:.1e}"]
    return rows, report_s, worst


def main(argv: list[str] | None = None) -> int:
    """Run the comparison for each size and print the tables; 1 if the fits disagree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4188, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", default="default", help="synth scenario name or file")
    parser.add_argument("--statsmodels", action="store_true", help="time statsmodels' PHReg too")
    args = parser.parse_args(argv)
    print_header("Cox models: the report's fits vs a NumPy yardstick (Efron ties)")
    headers = ["model", "n", "events", "coefs", "NR steps", "report s", "lifelines s"]
    headers += ["yardstick s", "max |Δcoef|/se", "max |Δse|/se"]
    headers += ["statsmodels s", "statsmodels |Δcoef|/se"] if args.statsmodels else []
    summary, worst = [], 0.0
    for size in args.sizes:
        register = generate(size, seed=args.seed, scenario=args.scenario)
        cases = derive_cohort(validate(register)[1]).cases
        rows, report_s, disagreement = compare(cases, args.statsmodels)
        worst = max(worst, disagreement)
        fitted = [row for row in rows if row[0] not in DERIVED]
        columns = (5, 6, 9) if args.statsmodels else (5, 6)
        totals = [report_s, *(sum(row[i] for row in fitted) for i in columns)]
        total_row = ["all (B3–B6 fitted, T7 derived)", "", "", "", "", *totals[:3], "", ""]
        total_row += [totals[3], ""] if args.statsmodels else []
        rows = [[*row[:5], "", *row[5:]] for row in rows]
        print(f"## {size:,} register rows ({len(cases):,} studied cases)")
        print(table(headers, [*rows, total_row]))
        print()
        yardstick_s, others = totals[2], totals[:2] + totals[3:]
        summary.append([size, *totals, *(t / yardstick_s for t in others)])
    print("## summary")
    times = ["report s", "lifelines s", "yardstick s"]
    times += ["statsmodels s"] if args.statsmodels else []
    ratios = ["report/yardstick", "lifelines/yardstick"]
    ratios += ["statsmodels/yardstick"] if args.statsmodels else []
    print(table(["rows", *times, *ratios], summary))
    print(f"target: report within {TARGET:g}x the yardstick")
    verdict = "OK" if worst < TOLERANCE else "FAILED"
    print(
        f"agreement with lifelines: {verdict} "
        f"(largest difference {worst:.1e} standard errors, tolerance {TOLERANCE:g})"
    )
    return 0 if worst < TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
