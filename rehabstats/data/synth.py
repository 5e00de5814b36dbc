"""Seeded generator of the synthetic register extract that stands in for the secret microdata.

One row is one case in the register, before any cleaning, with the columns of
`dictionary.yaml`. Counts and category shares are allocated by exact quotas (largest
remainder), so the published population figures hold exactly at n = 4,188 and as shares at
any n. Event times come from a small model of how cases were handled, not from the tables:
covariates → coordination meeting → rehabilitation plan → start of a measure, censored at
the file review, followed by data-entry damage (an event ticked but its date left empty).
The parameters live in `scenarios/*.yaml`; `default.yaml` is calibrated to the report.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaincinv, ndtri

from rehabstats._yamlfile import read_yaml
from rehabstats.data.population import EVENTS, GROUPS
from rehabstats.errors import OptionError

PACKAGE = Path(__file__).parent
SCENARIOS = PACKAGE / "scenarios"
# The sections of a scenario that model how cases are handled, one step each.
HANDLING = EVENTS
# Rows in the order they are built: the studied population first, then the cases that
# drop out of Tabell 1 at each step.
KINDS = ("studied", "not_reviewed", "duplicate", "not_randomised")


def load_scenario(name_or_path: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Read a scenario by name (`scenarios/NAME.yaml`) or path. A `base:` key names a
    scenario whose values this one overrides, so a variant states only what it changes; a
    `swap:` key names two groups whose handling (meeting, plan, measure) trade places."""
    if isinstance(name_or_path, Mapping):
        return dict(name_or_path)
    scenario = read_yaml(_scenario_path(name_or_path))
    base = scenario.pop("base", None)
    swap = scenario.pop("swap", None)
    scenario = _merge(load_scenario(base), scenario) if base else scenario
    if swap:
        scenario.update({key: _swapped(scenario[key], *swap) for key in HANDLING})
    return scenario


def _scenario_path(name_or_path: str | Path) -> Path:
    """The file of a scenario: a YAML path as given, else a name in `scenarios/`.

    OptionError when there is no such file, naming the scenarios that exist."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = SCENARIOS / f"{name_or_path}.yaml"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
        raise OptionError(f"no scenario {str(name_or_path)!r}: use one of {names} or a YAML file")
    return path


def _check_arguments(n: int, seed: int) -> None:
    """Refuse a size or seed that numpy would refuse later in words about its own
    internals (no rows at all would only warn of a division by zero)."""
    if n < 1:
        raise OptionError(f"the number of rows must be 1 or more, not {n}")
    if seed < 0:
        raise OptionError(f"the seed must be 0 or more, not {seed}")


def _swapped(spec: Any, first: str, second: str) -> Any:
    """`spec` with the values of two groups exchanged wherever it gives one per group."""
    if not isinstance(spec, Mapping):
        return spec
    if first in spec and second in spec:
        return {**spec, first: spec[second], second: spec[first]}
    return {key: _swapped(value, first, second) for key, value in spec.items()}


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into a copy of `base` (mappings merge, other values replace)."""
    out = dict(base)
    for key, value in override.items():
        nested = isinstance(value, Mapping) and isinstance(out.get(key), Mapping)
        out[key] = _merge(out[key], value) if nested else value
    return out


@functools.cache
def dictionary() -> dict[str, Any]:
    """The data contract, read here for the column order and the age groups."""
    return read_yaml(PACKAGE / "dictionary.yaml")


def largest_remainder(n: int, weights: Any) -> np.ndarray:
    """Split n into integer counts proportional to `weights` (Hamilton's method), so that
    shares stay exact at any n and the calibrated counts come back at the reference n."""
    w = np.asarray(weights, dtype=float)
    quota = n * w / w.sum()
    counts = np.floor(quota).astype(np.int64)
    short = n - counts.sum()
    order = np.argsort(-(quota - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def _allocate(rng: np.random.Generator, n: int, weights: Any) -> np.ndarray:
    """Category indices for n rows: exact largest-remainder quotas in random order."""
    counts = largest_remainder(n, weights)
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def _stratified(rng: np.random.Generator, strata: np.ndarray) -> np.ndarray:
    """Uniforms stratified within each stratum: of a stratum's m rows, one falls in each
    slice 1/m wide, in random order. Event times drawn from them follow the model within
    every stratum closely instead of depending on luck (the declined are only 390 cases)."""
    order = np.lexsort((rng.random(len(strata)), strata))
    rank, size = _ranks(strata[order])
    u = np.empty(len(strata))
    u[order] = (rank + rng.random(len(strata))) / size
    return u


def _ranks(sorted_strata: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's position within its stratum and the stratum's size, for rows sorted by
    stratum."""
    _, first, inverse, counts = np.unique(
        sorted_strata, return_index=True, return_inverse=True, return_counts=True
    )
    return np.arange(len(sorted_strata)) - first[inverse], counts[inverse]


def _quantile_bins(
    rng: np.random.Generator, group: np.ndarray, value: np.ndarray, bins: int
) -> np.ndarray:
    """Which of `bins` equal-sized slices of its group, by `value`, each row falls in
    (ties in random order)."""
    order = np.lexsort((rng.random(len(value)), value, group))
    rank, size = _ranks(group[order])
    out = np.empty(len(value), dtype=np.int64)
    out[order] = rank * bins // size
    return out


def _systematic(
    rng: np.random.Generator, p: np.ndarray, strata: np.ndarray, key: np.ndarray
) -> np.ndarray:
    """True with probability p for each row, by systematic sampling: within each stratum,
    rows in order of `key`, true wherever the running sum of p from a random start passes
    a whole number. Every row keeps its probability, and the number of trues in any run of
    rows is within one of its expectation (so it barely depends on the seed)."""
    order = np.lexsort((key, strata))
    _, first, inverse = np.unique(strata[order], return_index=True, return_inverse=True)
    total = np.cumsum(p[order])
    before = (total[first] - p[order][first])[inverse]
    passed = rng.random(len(first))[inverse] + total - before
    chosen = np.empty(len(p), dtype=bool)
    chosen[order] = np.floor(passed) > np.floor(passed - p[order])
    return chosen


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Fixed-width ids such as C0000001, built from digit arithmetic (fast for millions)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (numbers[:, None] // powers % 10 + ord("0")).astype(np.uint8)
    head = np.full((len(numbers), 1), ord(prefix), dtype=np.uint8)
    raw = np.ascontiguousarray(np.hstack([head, digits])).view(f"S{width + 1}").ravel()
    return raw.astype(str).astype(object)


def _lognormal(median: np.ndarray, sigma: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Lognormal times by inverse CDF of u (keeps draws stratified)."""
    return median * np.exp(sigma * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))


def _mixture(never: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split one uniform into 'never has the event' (u < never) and a fresh uniform for
    its timing, so a share of cases never has the event without an extra draw."""
    ever = u >= never
    return ever, np.where(ever, (u - never) / np.maximum(1 - never, 1e-12), 0.5)


def _covariates(
    rng: np.random.Generator, sc: dict[str, Any], group: np.ndarray
) -> dict[str, np.ndarray]:
    """Category indices (into the scenario's codes) and ages by exact per-group quotas of
    the calibrated shares; group -1 marks rows outside the studied population, which get
    the all-groups shares."""
    sizes = np.array([sum(sc["cells"][g].values()) for g in GROUPS], dtype=float)
    strata = [(g, np.flatnonzero(group == g)) for g in (-1, 0, 1, 2)]
    out: dict[str, np.ndarray] = {}
    for name, shares in sc["covariates"].items():
        by_group = np.array(list(shares.values()), dtype=float)  # category x group
        index = np.empty(len(group), dtype=np.int64)
        for g, rows in strata:
            weights = by_group @ sizes if g < 0 else by_group[:, g]
            index[rows] = _allocate(rng, len(rows), weights)
        out[name] = index
    age = np.empty(len(group), dtype=np.int64)
    for g, rows in strata:
        spec = sc["age"]["total" if g < 0 else GROUPS[g]]
        q = (np.arange(len(rows)) + 0.5) / max(len(rows), 1)
        years = np.clip(np.rint(spec["mean"] + spec["sd"] * ndtri(q)), 16, 67)
        age[rows] = rng.permutation(years.astype(np.int64))
    out["age"] = age
    return out


def _log_hazard(
    sc: dict[str, Any], codes: dict[str, list[str]], cov: dict[str, np.ndarray]
) -> np.ndarray:
    """Covariate part of every event's log hazard (reference categories are 0)."""
    bins = dictionary()["derived"]["age_group"]["bins"]
    edges = np.array([b["max"] for b in bins.values()])
    index = {**cov, "age_group": np.searchsorted(edges, cov["age"])}
    labels = {**codes, "age_group": list(bins)}
    x = np.zeros(len(cov["age"]))
    for name, effects in sc["effects"].items():
        beta = np.array([effects.get(code, 0.0) for code in labels[name]])
        x += beta[index[name]]
    return x


def _per_group(spec: Any, group: np.ndarray) -> Any:
    """A parameter given per group (a mapping: its value for each row) or for all (a number)."""
    if isinstance(spec, Mapping):
        return np.array([spec[g] for g in GROUPS], dtype=float)[group]
    return spec


def _timing(days: np.ndarray, spec: Mapping[str, Any], group: np.ndarray) -> np.ndarray:
    """How much an early step helps: about 1 for an early one, falling past `half_days`
    (with `steepness`) towards `late` (a late meeting or plan marks a case that has
    stalled)."""
    late, half = _per_group(spec["late"], group), _per_group(spec["half_days"], group)
    steepness = _per_group(spec["steepness"], group)
    return late + (1.0 - late) / (1.0 + (days / half) ** steepness)


def _meeting_days(
    spec: Mapping[str, Any], group: np.ndarray, speed: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Days to the coordination meeting (inf = never): a share never has one; the others
    after a fixed offset (the declined first spend days deciding on the offer) and a
    lognormal wait, shorter for faster cases."""
    has_meeting, u = _mixture(_per_group(spec["never"], group), u)
    wait = _lognormal(_per_group(spec["median"], group), _per_group(spec["sigma"], group), u)
    return np.where(has_meeting, _per_group(spec["offset"], group) + wait / speed, np.inf)


def _plan_days(
    spec: Mapping[str, Any],
    group: np.ndarray,
    speed: np.ndarray,
    meeting: np.ndarray,
    u: np.ndarray,
) -> np.ndarray:
    """Days to the rehabilitation plan (inf = never). After a meeting a share never gets
    one; the others after a lognormal delay that grows with a late meeting, as
    (day/30)^lag_elasticity. Without a meeting a case may get a plan from the start."""
    value = functools.partial(_per_group, group=group)
    has_meeting = np.isfinite(meeting)
    sigma = value(spec["sigma"])
    ever, u_after = _mixture(value(spec["never"]), u)
    delay = _lognormal(value(spec["median_delay"]), sigma, u_after) / speed
    delay *= (np.where(has_meeting, meeting, 30.0) / 30.0) ** value(spec["lag_elasticity"])
    ever_direct, u_direct = _mixture(value(spec["never_without_meeting"]), u)
    direct = _lognormal(value(spec["median_without_meeting"]), sigma, u_direct) / speed
    after_meeting = np.where(ever, meeting + delay, np.inf)
    return np.where(has_meeting, after_meeting, np.where(ever_direct, direct, np.inf))


def _on_track(
    spec: Mapping[str, Any], group: np.ndarray, meeting: np.ndarray, plan: np.ndarray
) -> np.ndarray:
    """Probability that a case with a meeting is on track for a prompt measure: `on_track`
    for an early meeting and plan, less the later either comes; 0 without a meeting."""
    p = _per_group(spec["on_track"], group) * _timing(meeting, spec["early_meeting"], group)
    p *= np.where(np.isfinite(plan), _timing(plan, spec["early_plan"], group), 1.0)
    return np.where(np.isfinite(meeting), p, 0.0)


def _measure_days(
    spec: Mapping[str, Any],
    group: np.ndarray,
    speed: np.ndarray,
    meeting: np.ndarray,
    on_track: np.ndarray,
    u: np.ndarray,
) -> np.ndarray:
    """Days to the start of a measure. On track it starts `lag_days` plus an exponential
    wait after the meeting; a stalled case waits a long lognormal time after the meeting;
    a case without a meeting starts, if at all, after a lognormal time from the start
    (`direct_median`)."""
    value = functools.partial(_per_group, group=group)
    has_meeting = np.isfinite(meeting)
    prompt = meeting + value(spec["lag_days"]) - np.log1p(-u) / (value(spec["rate"]) * speed)
    median = np.where(has_meeting, value(spec["stall_median"]), value(spec["direct_median"]))
    stalled = _lognormal(median, value(spec["stall_sigma"]), u) / speed
    return np.where(on_track, prompt, np.where(has_meeting, meeting, 0.0) + stalled)


def _event_days(
    rng: np.random.Generator,
    sc: dict[str, Any],
    group: np.ndarray,
    x: np.ndarray,
    followup: np.ndarray,
) -> dict[str, np.ndarray]:
    """Latent days from case start to each event (inf = never) of the studied cases, by
    the handling model: meeting -> plan -> measure, each step faster for a case with a
    higher covariate log hazard `x`.

    An early meeting (and plan) usually puts a case on track and the measure starts within
    days; a late one marks a stalled case whose measure comes months later if at all, so
    that a late meeting goes with a lower hazard than none. To keep the group results from
    depending on the seed, every draw is stratified within the group x thirds of the pace
    `x` x thirds of the follow-up (and by the earlier steps' outcome), and whether a case is
    on track is drawn by systematic sampling in order of the meeting day.
    """
    speed = np.exp(x)
    strata = (group * 3 + _quantile_bins(rng, group, x, 3)) * 3
    strata += _quantile_bins(rng, group, followup.astype(float), 3)
    meeting = _meeting_days(sc["meeting"], group, speed, _stratified(rng, strata))
    has_meeting = np.isfinite(meeting)
    strata = strata * 2 + has_meeting
    plan = _plan_days(sc["plan"], group, speed, meeting, _stratified(rng, strata))
    p = _on_track(sc["measure"], group, meeting, plan)
    on_track = _systematic(rng, p, strata, meeting)
    u = _stratified(rng, strata * 2 + on_track)
    measure = _measure_days(sc["measure"], group, speed, meeting, on_track, u)
    return {"meeting": meeting, "plan": plan, "measure": measure}


def _undated(
    care: np.ndarray,
    seen: np.ndarray,
    group: np.ndarray,
    days: np.ndarray,
    rates: Mapping[str, float],
) -> np.ndarray:
    """Which seen events lose their date: in each group its share `rates[group]` of the
    cases, in equal parts from each quarter of the group's event days (so the dated events
    keep the shape of all), the worst-kept files (lowest `care`) first, so that the same
    cases tend to lose several dates."""
    lost = np.zeros(len(seen), dtype=bool)
    for g, name in enumerate(GROUPS):
        rows = np.flatnonzero(seen & (group == g))
        rows = rows[np.lexsort((care[rows], days[rows]))]
        quarter = np.arange(len(rows)) * 4 // max(len(rows), 1)
        k = min(round(rates[name] * np.sum(group == g)), len(rows))
        for q, count in enumerate(largest_remainder(k, np.bincount(quarter, minlength=4))):
            in_quarter = rows[quarter == q]
            lost[in_quarter[np.argsort(care[in_quarter], kind="stable")[:count]]] = True
    return lost


def generate(
    n: int, seed: int, scenario: str | Path | Mapping[str, Any] = "default"
) -> pd.DataFrame:
    """Make n register rows with the dictionary's columns, in order, values as codes.

    Same n, seed and scenario give an identical frame. Everything is vectorised and kept
    as integer codes until the end, so a million rows take seconds. An n below 1, a
    negative seed or an unknown scenario is an OptionError."""
    _check_arguments(n, seed)
    sc = load_scenario(scenario)
    rng = np.random.default_rng(seed)
    kinds = largest_remainder(n, [sc["population"][k] for k in KINDS])
    kind = np.repeat(np.arange(len(KINDS)), kinds)
    n_studied, n_randomised = kinds[0], kinds[:3].sum()
    studied = np.flatnonzero(kind == 0)

    # Group and county: exact Tabell 2/3 cells for the studied, marginal shares elsewhere.
    counties = list(sc["cells"]["control"])
    cells = np.array([[sc["cells"][g][c] for c in counties] for g in GROUPS], dtype=float)
    cell = _allocate(rng, n_studied, cells.ravel())
    group = np.full(n, -1)
    group[studied] = cell // len(counties)
    group[n_studied:n_randomised] = _allocate(rng, n_randomised - n_studied, cells.sum(axis=1))
    county = np.empty(n, dtype=np.int64)
    county[studied] = cell % len(counties)
    county[n_studied:] = _allocate(rng, n - n_studied, cells.sum(axis=0))
    cov = {"county": county, **_covariates(rng, sc, np.where(kind == 0, group, -1))}
    codes = {
        "county": counties,
        **{name: list(map(str, v)) for name, v in sc["covariates"].items()},
    }

    # Dates as days after the first randomisation day: randomisation busiest mid-period,
    # registration shortly before, case start shortly after, file review in the autumn.
    t = sc["timeline"]
    origin = np.datetime64(t["randomisation_first"], "D")

    def day(key: str) -> int:
        return int((np.datetime64(t[key], "D") - origin) / np.timedelta64(1, "D"))

    span = day("randomisation_last")
    # Stratified within each group (the review also within tenths of the randomisation
    # dates), so that every group's follow-up is spread the same whatever the seed.
    strata = np.where(kind == 0, group, -1)
    u = _stratified(rng, strata)
    rand_day = np.rint(betaincinv(t["beta_a"], t["beta_b"], u) * span).astype(np.int64)
    first, last = day("review_first"), day("review_last")
    u = _stratified(rng, strata * 10 + _quantile_bins(rng, strata, rand_day, 10))
    review_day = first + np.floor(u * (last - first + 1)).astype(np.int64)

    # Duplicates: a later randomisation of a person already randomised (a studied case).
    person = rng.choice(10 ** max(8, len(str(n))), n, replace=False)
    dup = np.flatnonzero(kind == KINDS.index("duplicate"))
    original = rng.choice(studied[rand_day[studied] < span], len(dup), replace=False)
    person[dup] = person[original]
    later = np.floor(rng.random(len(dup)) * (span - rand_day[original])).astype(np.int64)
    rand_day[dup] = rand_day[original] + 1 + later
    for name in ("sex", "birth_country", "education", "age"):
        cov[name][dup] = cov[name][original]
    registered_day = rand_day - rng.integers(0, t["registration_lag_max"] + 1, n)
    delay = np.floor(_stratified(rng, strata) * (t["start_delay_max"] + 1)).astype(np.int64)
    start_day = rand_day + delay

    # Events of the studied cases, censored at the file review, then data-entry damage.
    followup = (review_day - start_day)[studied]
    x = _log_hazard(sc, codes, cov)[studied]
    latent = _event_days(rng, sc, group[studied], x, followup)
    care = rng.permutation(n_studied)  # how well each file is kept: 0 = worst
    events: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for event in EVENTS:
        days = np.ceil(np.minimum(latent[event], 1e9)).astype(np.int64)
        seen = days <= followup
        lost = _undated(care, seen, group[studied], days, sc["date_missing"][event])
        flag, has_date, event_day = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, np.int64)
        flag[studied], has_date[studied] = seen, seen & ~lost
        event_day[studied] = start_day[studied] + days
        events[event] = (flag, has_date, event_day)

    # Serial case ids in the order cases entered the register, as in a register extract.
    order = np.argsort(registered_day + rng.random(n))
    kind, group, person = kind[order], group[order], person[order]
    reviewed = kind == 0
    offered = (kind < 3) & (group > 0)

    def dates(days: np.ndarray, keep: np.ndarray) -> np.ndarray:
        out = (origin + days[order].astype("timedelta64[D]")).astype("datetime64[ns]")
        out[~keep] = np.datetime64("NaT")
        return out

    columns: dict[str, Any] = {
        "case_id": _ids("C", np.arange(1, n + 1), max(7, len(str(n)))),
        "person_id": _ids("P", person, max(8, len(str(n)))),
        "registered_date": dates(registered_day, np.ones(n, bool)),
        "randomised": kind < 3,
        "randomisation_date": dates(rand_day, kind < 3),
        "arm": np.array([None, "control", "actor", "actor"], dtype=object)[group + 1],
        "declined": pd.arrays.BooleanArray(group == 2, ~offered),
        "file_reviewed": reviewed,
        "case_start_date": dates(start_day, kind < 3),
        "followup_end_date": dates(review_day, reviewed),
        "age": cov.pop("age")[order],
    }
    for event, (flag, has_date, event_day) in events.items():
        columns[event] = pd.arrays.BooleanArray(flag[order], ~reviewed)
        columns[f"{event}_date"] = dates(event_day, has_date[order])
    for name, index in cov.items():
        columns[name] = np.array(codes[name], dtype=object)[index[order]]
    return pd.DataFrame({name: columns[name] for name in dictionary()["columns"]})
