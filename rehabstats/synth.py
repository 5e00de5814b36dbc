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
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.special import ndtri

PACKAGE = Path(__file__).parent
SCENARIOS = PACKAGE / "scenarios"
GROUPS = ("control", "treatment", "declined")
EVENTS = ("meeting", "plan", "measure")
COVARIATES = (
    "sex",
    "birth_country",
    "education",
    "employment",
    "county",
    "diagnosis",
    "benefit",
    "extent",
)
# Rows in the order they are built: the studied population first, then the cases that
# drop out of Tabell 1 at each step.
KINDS = ("studied", "not_reviewed", "duplicate", "not_randomised")


def load_scenario(name_or_path: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Read a scenario by name (`scenarios/NAME.yaml`) or path; a `base:` key names a scenario
    whose values this one overrides, so a variant states only what it changes."""
    if isinstance(name_or_path, Mapping):
        return dict(name_or_path)
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = SCENARIOS / f"{name_or_path}.yaml"
    scenario = _read_yaml(path)
    base = scenario.pop("base", None)
    return _merge(load_scenario(base), scenario) if base else scenario


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
    return _read_yaml(PACKAGE / "dictionary.yaml")


def _read_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML file with the C loader where available (the dictionary is large)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


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
    """Uniforms stratified within each stratum (one draw in each 1/m slice, in random order),
    so each group's event times follow its model closely instead of depending on luck."""
    u = np.empty(len(strata))
    for value in np.unique(strata):
        rows = np.flatnonzero(strata == value)
        u[rows] = (rng.permutation(len(rows)) + rng.random(len(rows))) / len(rows)
    return u


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


def _event_days(
    rng: np.random.Generator, sc: dict[str, Any], group: np.ndarray, x: np.ndarray
) -> dict[str, np.ndarray]:
    """Latent days from case start to each event (inf = never), by the handling model.

    Meeting: a share never has one; the rest after a fixed offset (the declined spend days
    deciding on the offer) and a lognormal wait, shorter with a higher covariate hazard.
    Plan: after the meeting, with a delay that grows with a late meeting; without a
    meeting a smaller share gets one directly. Measure: a case is on track — a measure
    starts promptly after the meeting — with a probability that falls when the meeting
    and the plan come late; otherwise it stalls and the measure comes after a long
    lognormal wait (or, without a meeting, at a slower direct pace).
    """
    m, p, s = sc["meeting"], sc["plan"], sc["measure"]

    def value(spec: Any) -> Any:
        """A parameter given per group (mapping) or for all groups (number)."""
        return np.array([spec[g] for g in GROUPS])[group] if isinstance(spec, Mapping) else spec

    def timing(days: np.ndarray, spec: Mapping[str, Any]) -> np.ndarray:
        """How much an early step helps: about 1 for an early one, falling past `half_days`
        (with `steepness`) towards `late` (a late meeting marks a case that has stalled)."""
        late, half = value(spec["late"]), value(spec["half_days"])
        return late + (1.0 - late) / (1.0 + (days / half) ** value(spec["steepness"]))

    speed = np.exp(x)
    has_meeting, u = _mixture(value(m["never"]), _stratified(rng, group))
    wait = _lognormal(value(m["median"]), value(m["sigma"]), u) / speed
    meeting = np.where(has_meeting, value(m["offset"]) + wait, np.inf)

    u = _stratified(rng, group)
    ever, u_after = _mixture(value(p["never"]), u)
    delay = _lognormal(value(p["median_delay"]), value(p["sigma"]), u_after) / speed
    delay *= (np.where(has_meeting, meeting, 30.0) / 30.0) ** value(p["lag_elasticity"])
    ever_direct, u_direct = _mixture(value(p["never_without_meeting"]), u)
    direct = _lognormal(value(p["median_without_meeting"]), value(p["sigma"]), u_direct) / speed
    plan = np.where(has_meeting, np.where(ever, meeting + delay, np.inf), direct)
    plan[~has_meeting & ~ever_direct] = np.inf

    has_plan = np.isfinite(plan)
    planned = value(s["plan_factor"]) * timing(plan, s["early_plan"])
    on_track = value(s["on_track"]) * timing(meeting, s["early_meeting"])
    on_track = np.minimum(on_track * np.where(has_plan, planned, 1.0), 1.0)
    on_track = has_meeting & (_stratified(rng, group) < on_track)
    u = _stratified(rng, group)
    prompt = meeting + value(s["lag_days"]) - np.log1p(-u) / (value(s["rate"]) * speed)
    stalled = _lognormal(value(s["stall_median"]), value(s["stall_sigma"]), u) / speed
    stalled *= np.where(has_meeting, 1.0, value(s["direct_factor"]))
    measure = np.where(on_track, prompt, np.where(has_meeting, meeting, 0.0) + stalled)
    return {"meeting": meeting, "plan": plan, "measure": measure}


def generate(
    n: int, seed: int, scenario: str | Path | Mapping[str, Any] = "default"
) -> pd.DataFrame:
    """Make n register rows with the dictionary's columns, in order, values as codes.

    Same n, seed and scenario give an identical frame. Everything is vectorised and kept
    as integer codes until the end, so a million rows take seconds."""
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
    rand_day = np.rint(rng.beta(t["beta_a"], t["beta_b"], n) * span).astype(np.int64)
    review_day = rng.integers(day("review_first"), day("review_last") + 1, n)

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
    start_day = rand_day + rng.integers(0, t["start_delay_max"] + 1, n)

    # Events of the studied cases, censored at the file review, then data-entry damage:
    # the worst-kept files lose dates first, so the same cases tend to lose several.
    followup = (review_day - start_day)[studied]
    latent = _event_days(rng, sc, group[studied], _log_hazard(sc, codes, cov)[studied])
    worst_kept = rng.permutation(n_studied)
    group_studied = group[studied]
    events: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for event in EVENTS:
        days = np.ceil(np.minimum(latent[event], 1e9)).astype(np.int64)
        seen = days <= followup
        dated = seen.copy()
        for g, name in enumerate(GROUPS):
            k = round(sc["date_missing"][event][name] * np.sum(group_studied == g))
            candidates = worst_kept[seen[worst_kept] & (group_studied[worst_kept] == g)]
            dated[candidates[:k]] = False
        flag, has_date, event_day = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, np.int64)
        flag[studied], has_date[studied] = seen, dated
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


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write the extract as deterministic CSV (UTF-8, comma, ISO dates, yes/no, empty for
    missing, LF endings), so the shipped file is reproduced bit for bit."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_bool_dtype(column):
            out[name] = column.map({True: "yes", False: "no"}).astype(object)
            out.loc[column.isna(), name] = ""
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n", date_format="%Y-%m-%d", na_rep="")
    Path(path).write_bytes(buffer.getvalue().encode("utf-8"))
