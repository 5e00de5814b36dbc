"""Disclosure control attacked as a reader would: every count an unknown, every printed
figure an equation, and for each hidden count the least and most it can be.

The attack reads only what is published: tables.json as exported (by a real
``rehabstats render``, or written to disk and read back), the numbers the rendered HTML
prints (its tables, the Kaplan–Meier diagrams' data alternatives, and the curves the
diagrams draw), the numbers the prose and the table notes print (the prose's totals
through the templates' own context, each Cox model's size and events, the reasons cases
were left out), and what a reader knows of the report's structure (a group's categories
add up to its size; its cases analysed plus those left out do; the Cox samples are the
cases of Tabell 4–6; the arm offered an actor is the treatment group and the declined).
It is written from the export's keys and the page, not from
``rehabstats.stats.disclosure``'s model of the report.

A Kaplan–Meier curve of a group with ``a`` cases analysed and ``ev`` events prints, on
a marked day t, the number at risk r_t (cases whose time is t or later) and the
cumulative share F_t = 1 − S(t). With E_t the group's events on or before day t (an
unknown count), a reader knows: r_t ≤ a; r_t falls and E_t grows with t; the events up
to one marked day have left the risk set by the next (E_t ≤ a − r_next); the events
after day t are at risk on it (ev − E_t ≤ r_t); E_t ≤ ev; and, since each event weighs
at least 1/a in F and at most 1/r_t, E_t / a ≤ F_t ≤ E_t / r_t — with F_t printed whole
(an interval), and drawn unrounded where a diagram draws it so. The arm offered an
actor's curve (Diagram B1–B3) is the sum of the treatment group's and the declined's
(numbers at risk and events).
Balance table B1's chi-square p-values, printed unrounded in tables.json, pin each
variable's counts by arm to the tables of counts that give that p-value.

A hidden count of 1 to 4 people is disclosed when the most it can be is below 5. The
true counts, to know which hidden ones are small and to check that every equation
holds, come from the unprotected results and the studied cases.

Not attacked: the figures that are not counts and not linear in them — means, medians,
standard deviations, hazard ratios and their intervals, the Cox, log-rank and age-test
p-values. The prose's counts are read through the templates' context, not parsed from
the page. The county reports are attacked through their export and protected results,
as the rendered report (checked here to print the same) would print them.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from rehabstats.cli import main
from rehabstats.data.loading import write_csv
from rehabstats.data.population import USABLE, derive_cohort
from rehabstats.data.synth import generate
from rehabstats.data.validation import read_dataset, validate
from rehabstats.reporting.export import tables_document, write_exports
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import DatasetInfo, Results, compute_results
from rehabstats.reporting.specification import REPORT
from rehabstats.reporting.text import text_context
from rehabstats.stats.disclosure import left_out_by_reason, protect, protect_tables
from tests import published
from tests.conftest import DEFAULT_DATA, ROOT

LIMIT = 5
GROUPS = ("control", "treatment", "declined")
ARM = "treatment_arm"  # Diagram B1–B3's arm offered an actor: the treatment group and the declined
EVENT_OF = {"T4": "meeting", "T5": "plan", "T6": "measure"}
DIAGRAM_OF = {"D1": "meeting", "D2": "plan", "D3": "measure"}
ARM_DIAGRAM_OF = {"ITT_D1": "meeting", "ITT_D2": "plan", "ITT_D3": "measure"}
MEASURE_MODELS = ("B5", "B6", "T7", "TV_B5", "TV_B6", "TV_T7")
COX_SAMPLE = {"B3": "meeting", "B4": "plan"}  # the event whose cases a model takes
DRAWN = 1e-5  # per cent: a drawn share read back from the SVG's six-decimal coordinates
TOO_MANY = 500_000  # the most tables of counts a reader tries for one p-value
CURVE_COUNTS = ("E:", "gone:")  # a curve's events by a day, cases gone from risk before it

# (event, group) → day → [least share, most share (per cent), number at risk]
Curves = dict[tuple[str, str], dict[int, list]]


class Attack:
    """A reader's linear system: named unknown counts, printed values, sums, bounds."""

    def __init__(self) -> None:
        self.printed: dict[str, float] = {}  # a count printed exactly
        self.ranges: dict[str, list[float]] = {}  # bounds from rounded percentages
        self.sums: list[dict[str, float]] = []  # Σ coef · count = 0
        self.at_most: list[dict[str, float]] = []  # Σ coef · count ≤ 0
        self.read: set[str] = set()  # the keys of tables.json read

    def show(self, name: str, value: float | None) -> None:
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            assert self.printed.setdefault(name, value) == value, name

    def within(self, name: str, low: float, high: float) -> None:
        bounds = self.ranges.setdefault(name, [0, math.inf])
        bounds[0], bounds[1] = max(bounds[0], low), min(bounds[1], high)

    def percent(self, name: str, pct: float | None, of: str) -> None:
        """A whole percentage of a printed count: the counts it can round from."""
        size = self.printed.get(of)
        if pct is None or size is None or size == 0:
            return
        low = math.ceil((pct - 0.5) * size / 100 - 1e-9)
        high = math.ceil((pct + 0.5) * size / 100 - 1e-9) - 1
        self.within(name, low, high)

    def total(self, parts: list[str], whole: str) -> None:
        equation = {p: 1.0 for p in parts}
        equation[whole] = equation.get(whole, 0.0) - 1.0
        self.sums.append(equation)

    def below(self, a: str, b: str) -> None:
        """a ≤ b."""
        self.at_most.append({a: 1.0, b: -1.0})

    def names(self) -> list[str]:
        found = set(self.printed) | set(self.ranges)
        found |= {n for e in (*self.sums, *self.at_most) for n in e}
        return sorted(found)

    def bounds(self, targets: list[str], below: float = math.inf) -> dict[str, tuple[float, float]]:
        """Least and most each target can be (integer programs, HiGHS), over the figures
        that reach it through unknowns; the least only where the most is below ``below``
        (NaN elsewhere)."""
        fixed = dict(self.printed)
        rows = [(e, True) for e in self.sums] + [(e, False) for e in self.at_most]
        out = {}
        for system, reached in _components(rows, fixed):
            chosen = [t for t in targets if t in reached]
            if chosen:
                out |= self._bounds(system, chosen, fixed, below)
        for target in set(targets) - out.keys():  # in no figure with unknowns
            out[target] = tuple(self.ranges.get(target, (0, math.inf)))
        return out

    def _bounds(
        self, system: list[tuple[dict, bool]], targets: list[str], fixed: dict, below: float
    ) -> dict[str, tuple[float, float]]:
        names = sorted({n for e, _ in system for n in e})
        column = {n: i for i, n in enumerate(names)}
        low, high = np.zeros(len(names)), np.full(len(names), np.inf)
        for name, i in column.items():
            if name in fixed:
                low[i] = high[i] = fixed[name]
            elif name in self.ranges:
                low[i], high[i] = self.ranges[name]
        constraints = []
        for is_sum in (True, False):
            part = [e for e, s in system if s is is_sum]
            if part:
                r, c, v = zip(
                    *((i, column[n], k) for i, e in enumerate(part) for n, k in e.items()),
                    strict=True,
                )
                matrix = coo_array((v, (r, c)), shape=(len(part), len(names))).tocsr()
                constraints.append(LinearConstraint(matrix, 0 if is_sum else -np.inf, 0))

        def extreme(target: str, sign: float) -> float:
            c = np.zeros(len(names))
            c[column[target]] = sign
            result = milp(
                c,
                constraints=constraints,
                integrality=np.ones(len(names)),
                bounds=Bounds(low, high),
            )
            assert result.status in (0, 3), (target, result.message)  # 3: unbounded
            return sign * result.fun if result.status == 0 else math.inf

        out = {}
        for target in targets:
            most = extreme(target, -1.0)
            out[target] = (extreme(target, 1.0) if most < below else math.nan, most)
        return out


def _components(
    rows: list[tuple[dict, bool]], fixed: dict
) -> list[tuple[list[tuple[dict, bool]], set[str]]]:
    """The figures in groups that share no unknown, each with its unknowns (a figure
    cannot bound an unknown it does not reach)."""
    touching: dict[str, list[int]] = {}
    for i, (figure, _) in enumerate(rows):
        for name in figure.keys() - fixed.keys():
            touching.setdefault(name, []).append(i)
    seen: set[int] = set()
    out = []
    for start in range(len(rows)):
        if start in seen or not rows[start][0].keys() - fixed.keys():
            continue
        chosen, queue, reached = {start}, [start], set()
        while queue:
            for name in rows[queue.pop()][0].keys() - fixed.keys() - reached:
                reached.add(name)
                for i in touching[name]:
                    if i not in chosen:
                        chosen.add(i)
                        queue.append(i)
        seen |= chosen
        out.append(([rows[i] for i in sorted(chosen)], reached))
    return out


def read_report(
    document: dict, results: Results, lang: str = "en", curves: Curves | None = None
) -> Attack:
    """The system of one report: tables.json, the figures the documents print beside it
    (prose totals, Cox notes, the reasons for leaving cases out), B1's p-values and, with
    ``curves``, every printed step of the Kaplan–Meier curves (else day 0 of Diagram 1–3)."""
    attack = Attack()
    studied = next(r["n"] for r in document["T1"] if r["step"] == "studied")
    attack.show("N:total", studied)
    variables = _read_groups(attack, document)
    for key, event in EVENT_OF.items():
        for row in document[key]:
            g = row["group"]
            attack.show(f"a:{event}:{g}", row["n"])
            attack.show(f"ev:{event}:{g}", row["events"])
            attack.show(f"lo:{event}:{g}", row["left_out"])
            attack.percent(f"ev:{event}:{g}", row["share_pct"], f"a:{event}:{g}")
            attack.total([f"a:{event}:{g}", f"lo:{event}:{g}"], f"N:{g}")
            attack.total([f"ev:{event}:{g}", f"without:{event}:{g}"], f"a:{event}:{g}")
        for kind in ("a", "ev", "lo", "without"):
            attack.total([f"{kind}:{event}:{g}" for g in GROUPS], f"{kind}:{event}:total")
        reasons = left_out_by_reason(results, event)  # as the table's note prints them
        for reason, n in reasons.items():
            attack.show(f"reason:{event}:{reason}", n)
        attack.total([f"reason:{event}:{r}" for r in reasons], f"lo:{event}:total")
    attack.read |= {"T1", *EVENT_OF}
    for key, event in DIAGRAM_OF.items():
        for row in document[key]:
            if row["day"] == 0:
                attack.show(f"a:{event}:{row['group']}", row["at_risk"])
    attack.read |= set(DIAGRAM_OF)
    for row in document["ITT"]:  # the randomised comparison's models, part of Tabell 4–6's
        attack.show(f"itt_n:{row['event']}", row["n"])
        attack.show(f"itt_ev:{row['event']}", row["events"])
        attack.below(f"itt_n:{row['event']}", f"a:{row['event']}:total")
        attack.below(f"itt_ev:{row['event']}", f"ev:{row['event']}:total")
    attack.read.add("ITT")
    _read_cox(attack, document, results, variables)
    _read_prose(attack, results, lang)
    _read_p_values(attack, document)
    if curves is not None:
        _read_curves(attack, curves)
    return attack


def _read_groups(attack: Attack, document: dict) -> dict[str, list[str]]:
    """Tabell 2–3 and B1–B2: group sizes, and the categories' counts as percentages of
    them; returns each variable's categories."""
    for key, groups in (("B2", (*GROUPS, "total")), ("B1", ("control", ARM, "total"))):
        size_row = next(r for r in document[key] if r["variable"] == "n")
        for g in groups:
            attack.show(f"N:{g}", size_row[g])
        for row in document[key]:
            if row["variable"] in ("age", "n"):
                continue
            for g in groups:
                attack.percent(f"cell:{row['variable']}:{row['category']}:{g}", row[g], f"N:{g}")
    attack.total([f"N:{g}" for g in GROUPS], "N:total")
    attack.total(["N:treatment", "N:declined"], f"N:{ARM}")
    variables: dict[str, list[str]] = {}
    for row in document["B2"]:
        if row["variable"] not in ("age", "n"):
            variables.setdefault(row["variable"], []).append(row["category"])
    for variable, categories in variables.items():
        for g in (*GROUPS, ARM, "total"):
            attack.total([f"cell:{variable}:{c}:{g}" for c in categories], f"N:{g}")
        for c in categories:
            cell = f"cell:{variable}:{c}"
            attack.total([f"{cell}:{g}" for g in GROUPS], f"{cell}:total")
            attack.total([f"{cell}:treatment", f"{cell}:declined"], f"{cell}:{ARM}")
    for key in ("T2", "T3"):
        for row in document[key]:
            if row["category"] == "total":
                for g in (*GROUPS, ARM):
                    attack.percent(f"N:{g}", row.get(g), "N:total")
                continue
            county = f"cell:county:{row['category']}"
            attack.show(f"{county}:total", row["n"])
            for g in (*GROUPS, ARM):
                attack.percent(f"{county}:{g}", row.get(g), f"{county}:total")
    attack.read |= {"T2", "T3", "B1", "B2"}
    return variables


def _cox_name(key: str, term: str) -> str:
    """The unknown of a Cox count: each model's sample is its own (part of its event's
    cases in Tabell 4–6); the models of the measure share one, their refits counting
    meeting and plan their own way."""
    variable, _, level = term.partition(":")
    sample = COX_SAMPLE.get(key, "measure")
    if key.startswith("TV_") and variable.removesuffix("_window") in ("meeting", "plan"):
        sample += "_tv"
    if variable.endswith("_window") and level == "none":
        term = variable.removesuffix("_window") + ":no"
    return f"cox:{sample}:{term}"


def _read_cox(attack: Attack, document: dict, results: Results, variables: dict) -> None:
    """The N columns of B3–B6, Tabell 7 and B8–B10, and each model's size in its note."""
    families: dict[tuple[str, str, str], set[str]] = {}
    for key in ("B3", "B4", *MEASURE_MODELS):
        sample = COX_SAMPLE.get(key, "measure")
        size = f"cox_n:{sample}"
        attack.show(size, results.cox[key].n)  # the note: "N = …, of whom … had the event"
        attack.show(f"cox_ev:{sample}", results.cox[key].events)
        for row in document[key]:
            name = _cox_name(key, row["term"])
            attack.show(name, row["n"])
            sample, variable = name.split(":")[1], row["term"].partition(":")[0]
            families.setdefault((size, sample, variable), set()).add(name)
        attack.read.add(key)
    for (size, sample, variable), names in families.items():
        if variable.endswith("_window"):  # the windows and "no meeting" (plan)
            names = names | {f"cox:{sample}:{variable.removesuffix('_window')}:no"}
        attack.sums.append({n: 1.0 for n in names} | {size: -1.0})
    for sample in ("meeting", "plan", "measure"):  # a model's sample is part of its event's cases
        for g in GROUPS:
            attack.below(f"cox:{sample}:group:{g}", f"a:{sample}:{g}")
        attack.below(f"cox_n:{sample}", f"a:{sample}:total")
        attack.below(f"cox_ev:{sample}", f"ev:{sample}:total")
    for term in ("meeting:yes", "plan:yes"):
        attack.below(f"cox:measure_tv:{term}", f"cox:measure:{term}")
    for size, sample in (
        ("cox_n:meeting", "meeting"),
        ("cox_n:plan", "plan"),
        ("cox_n:measure", "measure"),
    ):
        known = set(attack.names())
        for variable, categories in variables.items():  # the sample is part of B2's
            name = {"extent_pct": "extent"}.get(variable, variable)
            if not all(f"cox:{sample}:{name}:{c}" in known for c in categories):
                continue
            left = [f"left:{sample}:{variable}:{c}" for c in categories]
            for c, out in zip(categories, left, strict=True):
                attack.total([f"cox:{sample}:{name}:{c}", out], f"cell:{variable}:{c}:total")
            attack.sums.append({n: 1.0 for n in left} | {size: 1.0, "N:total": -1.0})


def _read_prose(attack: Attack, results: Results, lang: str) -> None:
    """The prose's counts, as its templates are filled."""
    glossary = Glossary.load(ROOT / "reports" / "glossary", lang)
    context = text_context(results, glossary, {})

    def number(text: str) -> float | None:
        return None if text == ".." else float(text.replace(",", ""))

    population = context["population"]
    for g in (*GROUPS, ARM):
        attack.show(f"N:{g}", number(population[f"n_{g}"]))
    attack.percent(f"N:{ARM}", number(population["pct_treatment_arm"]), "N:total")
    attack.percent("N:declined", number(population["pct_declined_of_all"]), "N:total")
    for event in EVENT_OF.values():
        attack.show(f"a:{event}:total", number(context[event]["n"]["total"]))
        attack.show(f"lo:{event}:total", number(context[event]["left_out"]))
    later = number(context["robust"]["plans_after_measure"])
    if later is not None:
        attack.sums.append({"cox:measure:plan:yes": 1.0, "cox:measure_tv:plan:yes": -1.0})
        attack.sums[-1]["plans_after"] = -1.0
        attack.show("plans_after", later)


def chi_square_p(control: np.ndarray, arm: np.ndarray) -> np.ndarray:
    """The chi-square test's p-value (no continuity correction) of each table of counts
    (rows: the tables; columns: the categories), categories without cases left out."""
    observed = np.stack([control, arm], axis=-1).astype(float)
    rows, columns = observed.sum(axis=2), observed.sum(axis=1)
    expected = rows[:, :, None] * columns[:, None, :] / columns.sum(axis=1)[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(expected > 0, (observed - expected) ** 2 / expected, 0.0)
    freedom = ((rows > 0).sum(axis=1) - 1) * ((columns > 0).sum(axis=1) - 1)
    return np.where(freedom > 0, stats.chi2.sf(terms.sum(axis=(1, 2)), np.maximum(freedom, 1)), 0)


def _column(attack: Attack, cells: list[str], size: float) -> np.ndarray | None:
    """Every column of counts that adds up to ``size`` within each cell's range (None: too
    many to try)."""
    boxes = [attack.ranges.get(c, [0, size]) for c in cells]
    boxes = [(int(low), int(min(high, size))) for low, high in boxes]
    if math.prod(b - a + 1 for a, b in boxes[:-1]) > TOO_MANY:
        return None
    grid = np.array(list(itertools.product(*(range(a, b + 1) for a, b in boxes[:-1]))))
    grid = grid.reshape(-1, len(boxes) - 1)
    last = size - grid.sum(axis=1)
    keep = (last >= boxes[-1][0]) & (last <= boxes[-1][1])
    return np.column_stack([grid[keep], last[keep]])


def _read_p_values(attack: Attack, document: dict) -> None:
    """B1's chi-square p-values (unrounded in tables.json): each variable's counts by arm
    lie among the tables of counts, within the printed percentages, that give its p-value
    to the digits printed."""
    by_variable: dict[str, list[dict]] = {}
    for row in document["B1"]:
        if row["variable"] not in ("age", "n"):
            by_variable.setdefault(row["variable"], []).append(row)
    for variable, rows in by_variable.items():
        p = rows[0]["p_value"]
        if p is None:
            continue
        cells = {
            g: [f"cell:{variable}:{r['category']}:{g}" for r in rows] for g in ("control", ARM)
        }
        control = _column(attack, cells["control"], attack.printed["N:control"])
        arm = _column(attack, cells[ARM], attack.printed[f"N:{ARM}"])
        if control is None or arm is None or len(control) * len(arm) > TOO_MANY:
            continue
        pairs = np.array(list(itertools.product(range(len(control)), range(len(arm)))))
        both = control[pairs[:, 0]], arm[pairs[:, 1]]
        digits = Decimal(repr(p)).as_tuple().exponent  # as precise as it is printed
        within = max(0.5 * 10.0**digits, 1e-9 * p)
        match = np.abs(chi_square_p(*both) - p) <= within
        totals = [attack.ranges.get(f"cell:{variable}:{r['category']}:total") for r in rows]
        for i, bounds in enumerate(totals):
            if bounds is not None:
                total = both[0][:, i] + both[1][:, i]
                match &= (total >= bounds[0]) & (total <= bounds[1])
        assert match.any(), f"no table of counts gives B1's p-value of {variable}"
        for g, counts in zip(("control", ARM), both, strict=True):
            for name, found in zip(cells[g], counts[match].T, strict=True):
                attack.within(name, found.min(), found.max())


def _read_curves(attack: Attack, curves: Curves) -> None:
    """Every printed step of the Kaplan–Meier curves (see the module doc)."""
    for (event, group), points in curves.items():
        a, ev, before = f"a:{event}:{group}", f"ev:{event}:{group}", None
        for day in sorted(points):
            low, high, at_risk = points[day]
            at, events = (a if day == 0 else f"r:{event}:{group}:{day}"), f"E:{event}:{group}:{day}"
            attack.show(at, at_risk)
            if day:
                attack.total([at, f"gone:{event}:{group}:{day}"], a)
            attack.below(events, ev)
            attack.at_most.append({ev: 1.0, events: -1.0, at: -1.0})  # later events are at risk
            if before is not None:
                attack.below(at, before[0])
                attack.below(before[1], events)
                attack.at_most.append({before[1]: 1.0, at: 1.0, a: -1.0})  # gone by now
            if low > 0:
                attack.at_most.append({at: low / 100, events: -1.0})  # F ≤ E / r
            if high < 100:
                attack.at_most.append({events: 1.0, a: -high / 100})  # E / a ≤ F
            before = at, events
    for event in {e for e, _ in curves}:
        if (event, ARM) in curves:  # the arm offered an actor: treatment and declined
            for kind in ("a", "ev"):
                attack.total(
                    [f"{kind}:{event}:treatment", f"{kind}:{event}:declined"],
                    f"{kind}:{event}:{ARM}",
                )
            for day in curves[event, ARM]:
                for kind in ("r", "E"):
                    if day or kind == "E":
                        parts = [f"{kind}:{event}:{g}:{day}" for g in ("treatment", "declined")]
                        attack.total(parts, f"{kind}:{event}:{ARM}:{day}")


# --- the curves as the report prints them --------------------------------------------


def _rounded(share: float | None) -> tuple[float, float]:
    """The shares (per cent) a share printed whole can be; any, where hidden."""
    return (0.0, 100.0) if share is None else (max(share - 0.5, 0.0), min(share + 0.5, 100.0))


def _merged(*sources: Curves) -> Curves:
    """The curves of several sources, each share within all its intervals; the same
    number at risk wherever one is printed."""
    out: Curves = {}
    for source in sources:
        for curve, points in source.items():
            for day, (low, high, at_risk) in points.items():
                point = out.setdefault(curve, {}).setdefault(day, [0.0, 100.0, None])
                point[0], point[1] = max(point[0], low), min(point[1], high)
                if at_risk is not None:
                    assert point[2] in (None, at_risk), (curve, day, point[2], at_risk)
                    point[2] = at_risk
    return out


def export_curves(document: dict) -> Curves:
    """Diagram 1–3 in tables.json: every tenth day, shares whole, numbers at risk."""
    curves: Curves = {}
    for key, event in DIAGRAM_OF.items():
        for row in document[key]:
            point = [*_rounded(row["cum_share_pct"]), row["at_risk"]]
            curves.setdefault((event, row["group"]), {})[row["day"]] = point
    return curves


def _arm(code: str) -> str:
    return ARM if code == "actor" else code


def arm_curves(protected: Results) -> Curves:
    """Diagram B1–B3's data alternatives as the documents print them (checked against
    the rendered page): every 30th day, shares whole, numbers at risk."""
    curves: Curves = {}
    for event, result in protected.itt.events.items():
        for row in result.curves.to_dict("records"):
            if row["day"] % 30 == 0:
                share = _half_up(row["cum_share_pct"])
                at_risk = None if math.isnan(row["at_risk"]) else row["at_risk"]
                curves.setdefault((event, _arm(row["arm"])), {})[row["day"]] = [
                    *_rounded(share),
                    at_risk,
                ]
    return curves


Shares = dict[tuple[str, str], dict[int, float]]  # (event, group) → day → share


def protected_shares(protected: Results) -> Shares:
    """Each shown share of Diagram 1–3 and B1–B3 in the protected results."""
    shares: Shares = {}
    for event in DIAGRAM_OF.values():
        frames = (
            (protected.events[event].curves, "group"),
            (protected.itt.events[event].curves, "arm"),
        )
        for frame, by in frames:
            for row in frame.to_dict("records"):
                if not math.isnan(row["cum_share_pct"]):
                    shares.setdefault((event, _arm(row[by])), {})[row["day"]] = row["cum_share_pct"]
    return shares


def svg_shares(diagrams: dict) -> Shares:
    """Each share the page's SVG diagrams draw, read back (:func:`published.diagrams`)."""
    shares: Shares = {}
    for key, event in (DIAGRAM_OF | ARM_DIAGRAM_OF).items():
        groups = GROUPS if key in DIAGRAM_OF else ("control", ARM)
        for g, curve in zip(groups, diagrams[key].curves, strict=True):
            shares[event, g] = curve
    return shares


def drawn_curves(shares: Shares) -> Curves:
    """The curves as drawn: every tenth day, the share unrounded (± :data:`DRAWN`), or,
    drawn at a whole per cent, as printed (a reader cannot tell it was not rounded)."""
    return {
        curve: {day: [*_as_drawn(share), None] for day, share in points.items()}
        for curve, points in shares.items()
    }


def _as_drawn(share: float) -> tuple[float, float]:
    """The shares (per cent) a drawn share can be (see :func:`drawn_curves`)."""
    if abs(share - round(share)) < DRAWN:
        return _rounded(round(share))
    return share - DRAWN, share + DRAWN


def page_curves(tables: dict, lang: str) -> Curves:
    """The data alternatives of the page's Diagram 1–3 and B1–B3: per group a share
    (whole per cent) and a number at risk on each marked day."""
    curves: Curves = {}
    for exhibit in REPORT:
        if exhibit.show not in ("km", "itt_km"):
            continue
        groups = GROUPS if exhibit.show == "km" else ("control", ARM)
        for row in tables["Diagram", exhibit.number].rows[1:]:
            day = int(published.number(row[0], lang))
            values = [published.number(v, lang) for v in row[1:]]
            for g, share, at_risk in zip(groups, values[::2], values[1::2], strict=True):
                curves.setdefault((exhibit.event, g), {})[day] = [*_rounded(share), at_risk]
    return curves


def _half_up(value: float | None, decimals: int = 0) -> float | None:
    """``value`` as the documents print it, rounded half up."""
    if value is None or value != value:
        return None
    exponent = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(exponent, ROUND_HALF_UP))


# --- the truth ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """A report's unprotected results and its studied cases (the truth)."""

    results: Results
    cases: pd.DataFrame

    @cached_property
    def protected(self) -> Results:
        """The results as published (protected at :data:`LIMIT`)."""
        return protect(self.results, LIMIT)

    @cached_property
    def truth(self) -> dict[str, float]:
        """Every unknown's true value (:func:`true_counts`)."""
        return true_counts(self)


def _report(typed: pd.DataFrame, part: tuple[str, str] | None = None) -> Report:
    cohort = derive_cohort(typed)
    dataset = DatasetInfo("attack.csv", len(typed), "x", part=part)
    return Report(compute_results(cohort, dataset), cohort.cases)


def true_counts(report: Report) -> dict[str, float]:
    """Every unknown's true value: the cells from the unprotected results (read the same
    way), the curves' counts from the studied cases."""
    document = tables_document(report.results)
    attack = read_report(document, report.results)
    values = dict(attack.printed)
    for name, (a, b) in attack.ranges.items():
        if a == b:
            values.setdefault(name, a)
    for key, event in EVENT_OF.items():  # a percentage's count, and the derived counts
        for row in document[key]:
            values[f"without:{event}:{row['group']}"] = row["n"] - row["events"]
    for key in ("B1", "B2"):
        size_row = next(r for r in document[key] if r["variable"] == "n")
        for row in document[key]:
            if row["variable"] not in ("age", "n"):
                for g, size in size_row.items():
                    if g in ("variable", "category", "p_value") or size is None:
                        continue
                    values[f"cell:{row['variable']}:{row['category']}:{g}"] = round(
                        row[g] * size / 100
                    )
    return values | _curve_counts(report)


def _curve_counts(report: Report) -> dict[str, float]:
    """Each curve's true counts on each day of its diagram: cases at risk (time on or
    after the day), gone (before it), events on or before it; each group's and the arm's
    cases analysed and events."""
    values = {}
    for event in DIAGRAM_OF.values():
        days = report.results.events[event].curves["day"].unique()
        analysed = report.cases[report.cases[f"{event}_status"].isin(USABLE)]
        members = {g: analysed[analysed["group"] == g] for g in GROUPS}
        members[ARM] = analysed[analysed["arm_group"] == ARM]
        for g, cases in members.items():
            time = cases[f"{event}_days"].to_numpy()
            observed = cases[f"{event}_observed"].to_numpy(dtype=bool)
            values[f"a:{event}:{g}"], values[f"ev:{event}:{g}"] = len(time), observed.sum()
            for day in days:
                values[f"r:{event}:{g}:{day}"] = (time >= day).sum()
                values[f"gone:{event}:{g}:{day}"] = (time < day).sum()
                values[f"E:{event}:{g}:{day}"] = (observed & (time <= day)).sum()
    return values


def _exported(results: Results, directory: Path | None = None) -> dict:
    """tables.json as written (to ``directory``) and read back, or as exported in memory."""
    if directory is not None:
        json_path, _ = write_exports(results, directory)
        return json.loads(json_path.read_text(encoding="utf-8"))
    return tables_document(results)


def disclosures(
    protected: Results,
    report: Report,
    document: dict | None = None,
    curves: Curves | None = None,
    counts: str = "cells",
) -> dict:
    """The hidden counts of 1–4 people a reader can tell are below 5, with their bounds:
    the tables' cells, or (``counts="curves"``) the curves' own counts (:data:`CURVE_COUNTS`).
    Every figure of the attack is checked to hold in the data first."""
    truth = report.truth
    document = tables_document(protected) if document is None else document
    attack = read_report(document, protected, curves=curves)
    for equation in attack.sums:  # the attack's figures are true
        if all(n in truth for n in equation):
            assert abs(sum(c * truth[n] for n, c in equation.items())) < 1e-6, equation
    for inequality in attack.at_most:
        if all(n in truth for n in inequality):
            assert sum(c * truth[n] for n, c in inequality.items()) < 1e-6, inequality
    for name, (low, high) in attack.ranges.items():
        assert name not in truth or low <= truth[name] <= high, (name, low, high, truth[name])
    for name, value in attack.printed.items():
        assert name not in truth or truth[name] == value, (name, value, truth[name])
    curve_count = tuple(n.startswith(CURVE_COUNTS) for n in truth)
    small = [
        n
        for n, is_curve in zip(truth, curve_count, strict=True)
        if 0 < truth[n] < LIMIT and n not in attack.printed and is_curve == (counts == "curves")
    ]
    small = [n for n in small if n in attack.names()]
    bounds = attack.bounds(small, below=LIMIT)
    return {n: b for n, b in bounds.items() if b[1] < LIMIT}


# --- the reports attacked -------------------------------------------------------------


@pytest.fixture(scope="module")
def counties() -> dict[str, Report]:
    """Each part of ``rehabstats render --by county`` of the default data."""
    typed = read_dataset(DEFAULT_DATA)
    return {
        county: _report(typed[typed["county"] == county], ("county", county))
        for county in typed["county"].dropna().unique()
    }


def _small_register(n: int, seed: int) -> Report:
    report, typed = validate(generate(n, seed=seed))
    assert report.ok
    return _report(typed)


@pytest.fixture(scope="module")
def tiny_dalarna() -> Report:
    """The issue's study of 300 cases: Dalarna has 8 studied cases, 3 of them offered an
    alternative actor."""
    report, typed = validate(generate(300, seed=5))
    assert report.ok
    studied = typed["file_reviewed"].fillna(False).astype(bool)
    typed.loc[typed["county"] == "dalarna", "county"] = "stockholm"
    actor = typed.index[studied & (typed["arm"] == "actor")][:3]
    control = typed.index[studied & (typed["arm"] == "control")][:5]
    typed.loc[actor.union(control), "county"] = "dalarna"
    return _report(typed)


SMALL_REGISTERS = {"500 cases": (500, 2), "800 cases": (800, 3)}


@pytest.fixture(scope="module")
def small_registers() -> dict[str, Report]:
    """Generated registers of 500 and 800 cases; the first is the issue's, whose Tabell 5
    was hidden whole for one group's 4 cases left out."""
    return {name: _small_register(n, seed) for name, (n, seed) in SMALL_REGISTERS.items()}


@dataclass(frozen=True)
class Rendered:
    """A report as published: its folder, tables.json, and each language's page (its
    tables by caption, its Kaplan–Meier diagrams by key)."""

    folder: Path
    document: dict
    pages: dict[str, tuple[dict, dict]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Rendered:
    """The issue's register of 500 cases, rendered once as a user would:
    ``rehabstats render DATA --lang sv en --format html --out DIR``."""
    folder = tmp_path_factory.mktemp("rendered")
    data, out = folder / "register.csv", folder / "report"
    n, seed = SMALL_REGISTERS["500 cases"]
    write_csv(generate(n, seed=seed), data)
    argv = ["render", str(data), "--lang", "sv", "en", "--format", "html", "--out", str(out)]
    assert main(argv) == 0
    pages = {}
    for lang in ("sv", "en"):
        html = (out / lang / "report.html").read_text(encoding="utf-8")
        pages[lang] = (published.tables(html), published.diagrams(html))
    return Rendered(out, json.loads((out / "tables.json").read_text(encoding="utf-8")), pages)


def rendered_curves(rendered: Rendered, drawn: bool) -> Curves:
    """The curves a reader of the rendered report has: tables.json's Diagram 1–3, the
    page's data alternatives (with Diagram B1–B3's), and, if ``drawn``, the SVG's."""
    tables, diagrams = rendered.pages["en"]
    sources = [export_curves(rendered.document), page_curves(tables, "en")]
    return _merged(*sources, *([drawn_curves(svg_shares(diagrams))] if drawn else []))


def report_curves(protected: Results, drawn: bool) -> Curves:
    """The same for a report not rendered, from its protected results."""
    sources = [export_curves(tables_document(protected)), arm_curves(protected)]
    return _merged(*sources, *([drawn_curves(protected_shares(protected))] if drawn else []))


class Disclosed(Exception):
    """Counts below the limit that a reader of the published report can work out."""


def nothing_disclosed(found: dict) -> None:
    """Raise :class:`Disclosed` with what a reader can work out, if anything."""
    if found:
        raise Disclosed(found)


# --- the tables, and each diagram's day 0 (what protect's linked cells model) ----------


def test_the_attack_finds_what_protection_table_by_table_gives_away(tiny_dalarna, counties) -> None:
    """The check can fail: on the previous, per-table protection it finds the issue's
    cases — Dalarna's arm of 3 as 8 less the 5 that Tabell 3's "63 %" gives, and a
    county's group's cases left out as its size less its cases analysed."""
    found = disclosures(protect_tables(tiny_dalarna.results, LIMIT), tiny_dalarna)
    assert found.get("cell:county:dalarna:treatment_arm") == (3, 3)
    dalarna = counties["dalarna"]
    assert "lo:meeting:declined" in disclosures(protect_tables(dalarna.results, LIMIT), dalarna)
    unprotected = disclosures(protect(tiny_dalarna.results, 0), tiny_dalarna)  # its percentages
    assert unprotected["cell:county:dalarna:treatment_arm"] == (3, 3)


@pytest.mark.parametrize("county", ["stockholm", "vastra_gotaland", "dalarna", "vasterbotten"])
def test_no_hidden_small_count_follows_from_a_county_report_s_tables(counties, county) -> None:
    """The tables, notes, prose and B1's p-values, with each diagram's day 0 only (the
    curves' later steps: below)."""
    report = counties[county]
    protected = report.protected
    hidden = sum(
        v is None for rows in _exported(protected).values() for r in rows for v in r.values()
    )
    assert disclosures(protected, report) == {}
    if county in ("dalarna", "vasterbotten"):
        assert hidden > 20, "the county report has small counts to protect"


@pytest.mark.parametrize("register", list(SMALL_REGISTERS))
def test_no_hidden_small_count_follows_from_a_small_register_s_tables(
    small_registers, register
) -> None:
    report = small_registers[register]
    assert disclosures(report.protected, report) == {}


def hidden_whole(protected: Results, unprotected: Results) -> list[str]:
    """The tables of Tabell 4–6 that print none of their figures (as exported)."""
    before, after = _exported(unprotected), _exported(protected)
    return [
        key
        for key in EVENT_OF
        if all(
            shown[column] is None
            for row, shown in zip(before[key], after[key], strict=True)
            for column, value in row.items()
            if value is not None and column != "group"
        )
    ]


@pytest.mark.parametrize("report", [*SMALL_REGISTERS, "dalarna", "vasterbotten"])
def test_a_table_of_tabell_4_6_with_a_large_group_is_not_hidden_whole(
    small_registers, counties, report
) -> None:
    """A table of Tabell 4–6 with a group whose cases, events and cases left out are all
    at least twice the limit keeps some of its figures: the issue's 500 cases had Tabell 5
    hidden whole for one group's 4 cases left out. (A table can need hiding whole where
    every group left out 1 to 4 cases: each group's cases analysed are its size less
    those, and its events go with them.)"""
    published_report = (small_registers | counties)[report]
    results = published_report.results
    large = [
        key
        for key, event in EVENT_OF.items()
        if results.events[event]
        .table.query("group != 'total'")[["n", "events", "left_out"]]
        .ge(2 * LIMIT)
        .all(axis=1)
        .any()
    ]
    assert large
    whole = hidden_whole(published_report.protected, results)
    assert not set(large) & set(whole), whole


def test_the_issue_s_300_case_study_written_to_disk(tiny_dalarna, tmp_path) -> None:
    """tables.json as written and read back, of the study where Dalarna has 8 cases."""
    protected = tiny_dalarna.protected
    assert disclosures(protected, tiny_dalarna, _exported(protected, tmp_path)) == {}
    document = json.loads((tmp_path / "tables.json").read_text(encoding="utf-8"))
    for key in ("T2", "T3", "B1", "B2"):  # whole per cent, as printed
        for row in document[key]:
            if row["variable"] not in ("age", "n"):
                shown = [row[g] for g in (*GROUPS, ARM, "total") if row.get(g) is not None]
                assert all(float(v).is_integer() for v in shown), (key, row)


# --- the rendered report: what it prints, and what a reader works out of it -------------


def _same(exported: object, written: object) -> bool:
    """A tables.json value and the workbook's cell (numbers as floats, codes as text)."""
    if written != written:  # NaN: an empty cell
        return exported is None or exported == ""
    if isinstance(exported, (bool, str)):
        return str(exported) == str(written)
    return math.isclose(float(exported), float(written), rel_tol=1e-12)


def test_the_render_publishes_the_protected_results(rendered, small_registers) -> None:
    """tables.json and tables.xlsx of ``rehabstats render`` are the export of the
    protected results the attack's truth is computed beside; the workbook carries what
    tables.json does."""
    document = dict(rendered.document)
    assert document.pop("about")["min_count"] == LIMIT
    assert document == tables_document(small_registers["500 cases"].protected)
    workbook = pd.read_excel(rendered.folder / "tables.xlsx", sheet_name=None)
    assert list(workbook) == list(document)
    for key, frame in workbook.items():
        assert list(frame.columns) == list(document[key][0]), key
        for row, written in zip(document[key], frame.to_dict("records"), strict=True):
            assert all(_same(row[c], written[c]) for c in row), (key, row, written)


def _cell(text: str, lang: str) -> float | str | None:
    """A table cell as printed: a number, None for "..", or the text ("", "ref")."""
    try:
        return published.number(text, lang)
    except ValueError:
        return text


def _p(text: str, p: float | None, lang: str) -> bool:
    """A printed p-value ("0.720", "< 0,001", "..") against tables.json's."""
    if text.startswith("<"):
        return p is not None and p < published.number(text[1:], lang)
    return _cell(text, lang) == _half_up(p, 3)


def _check_table(exhibit, table: published.Table, document: dict, lang: str) -> None:
    """A table's printed numbers against tables.json's (means and medians whole, standard
    deviations to one decimal, hazard ratios to two, p-values to three)."""
    rows = [[_cell(c, lang) for c in row] for row in table.rows[1:]]
    exported = document[exhibit.key]
    key = exhibit.key
    if key == "T1":
        assert [r[1] for r in rows] == [r["n"] for r in exported]
    elif key in ("T2", "T3"):
        groups = [c for c in exported[0] if c in (*GROUPS, ARM)]
        for i, g in enumerate(groups):
            assert rows[i][1:] == [r[g] for r in exported], (key, g)
        sizes = [re.search(r"\((.*)\)", c) for c in table.rows[-1][1:]]
        assert [_cell(m[1], lang) if m else None for m in sizes] == [r["n"] for r in exported]
    elif key in EVENT_OF:
        for row, r in zip(rows, exported, strict=True):
            counted = [_half_up(r["mean_days"]), _half_up(r["median_days"]), r["n"]]
            assert row[1:] == [*counted, r["share_pct"]], (key, row, r)
    elif key in ("B1", "B2"):
        groups = [c for c in exported[0] if c in (*GROUPS, ARM, "total")]
        data = iter(exported)
        tests = {r["variable"]: r.get("p_value") for r in exported[3:-1]}  # after age
        variables = iter(tests.items())
        for row, text in zip(rows, table.rows[1:], strict=True):
            if row[1] == "":  # a variable's heading, with B1's test of it
                assert key == "B2" or _p(text[-1], next(variables)[1], lang), text
                continue
            r = next(data)
            decimals = 1 if r["category"] == "sd" else 0
            assert row[1 : 1 + len(groups)] == [_half_up(r[g], decimals) for g in groups], row
            if key == "B1" and r["variable"] == "age" and r["category"] != "sd":
                assert _p(text[-1], r["p_value"], lang), text
        assert next(data, None) is None
    elif key == "ITT":
        for row, r in zip(rows, exported, strict=True):
            assert [row[1], row[3], row[4]] == [_half_up(r["hazard_ratio"], 2), r["n"], r["events"]]
    else:  # a table of hazard ratios: the terms its headings list
        variables = {v for _, listed in exhibit.terms for v in listed}
        terms = [r for r in exported if r["term"].partition(":")[0] in variables]
        data = [row for row in rows if any(c != "" for c in row[1:])]
        for row, r in zip(data, terms, strict=True):
            ratio = "ref" if r["stars"] == "ref" else _half_up(r["hazard_ratio"], 2)
            assert [row[1], row[3]] == [ratio, r["n"]], (key, row, r)


def _check_diagram(exhibit, table: published.Table, document: dict, arms: Curves, lang) -> None:
    """A diagram's data alternative: Diagram 1–3 against tables.json's D1–D3, Diagram
    B1–B3 (not in tables.json) against the curves the attack reads for reports not
    rendered (:func:`arm_curves`), its control group also against D1–D3's."""
    exported = {(r["group"], r["day"]): r for r in document[exhibit.key.removeprefix("ITT_")]}
    groups = GROUPS if exhibit.show == "km" else ("control", ARM)
    for row in table.rows[1:]:
        day, *values = (_cell(c, lang) for c in row)
        for g, share, at_risk in zip(groups, values[::2], values[1::2], strict=True):
            if g == ARM:
                expected = arms[exhibit.event, ARM][day]
                assert [_rounded(share), at_risk] == [tuple(expected[:2]), expected[2]]
            else:
                r = exported[g, day]
                assert [share, at_risk] == [r["cum_share_pct"], r["at_risk"]], (exhibit.key, row)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_page_prints_what_tables_json_carries(rendered, small_registers, lang) -> None:
    """Every number of every table and diagram data alternative of the page is
    tables.json's as printed, or (Diagram B1–B3) one the attack reads; the notes print
    the reasons for leaving cases out and each Cox model's size and events that the
    attack reads from the protected results. What the page prints and tables.json does
    not: means, medians, standard deviations, confidence intervals and the log-rank
    p-values — none of them a count."""
    protected = small_registers["500 cases"].protected
    tables, _ = rendered.pages[lang]
    glossary = Glossary.load(ROOT / "reports" / "glossary", lang)
    word = {"table": glossary["table_word"], "km": glossary["diagram_word"]}
    word["itt_km"] = word["km"]
    arms = arm_curves(protected)
    checked = set()
    for exhibit in REPORT:
        if exhibit.show not in word or not exhibit.present(protected):
            continue
        table = tables[word[exhibit.show], exhibit.number]
        if exhibit.show == "table":
            _check_table(exhibit, table, rendered.document, lang)
        else:
            _check_diagram(exhibit, table, rendered.document, arms, lang)
        checked.add(exhibit.key)
        note = set(published.numbers(table.note, lang))
        if exhibit.key in EVENT_OF:
            reasons = left_out_by_reason(protected, EVENT_OF[exhibit.key]).values()
            assert {n for n in reasons if n == n} <= note, (exhibit.key, table.note)
        if exhibit.key in ("B3", "B4", *MEASURE_MODELS):
            model = protected.cox[exhibit.key]
            assert {model.n, model.events} <= note, (exhibit.key, table.note)
    assert checked == {e.key for e in REPORT if e.show in word and e.key != "comparison"}
    assert len(tables) == len(checked)  # no table the attack does not know


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_diagrams_draw_the_protected_curves(rendered, small_registers, lang) -> None:
    """Each diagram draws its curves from the protected shares, whole per cent as
    tables.json and the data alternatives print them: read back from the SVG's
    coordinates, every share drawn is the protected results' to within :data:`DRAWN`,
    and a whole number (an unrounded share is a ratio of counts); a hidden share is not
    drawn; the alternative text quotes day 100's, whole; the numbers at
    risk below it are the data alternative's."""
    protected = small_registers["500 cases"].protected
    tables, diagrams = rendered.pages[lang]
    number = {e.key: e.number for e in REPORT}
    assert set(diagrams) == set(DIAGRAM_OF) | set(ARM_DIAGRAM_OF)
    drawn, expected = svg_shares(diagrams), protected_shares(protected)
    assert set(drawn) == set(expected)
    for curve, shares in expected.items():
        last = protected.events[curve[0]].curves["day"].max()  # no step drawn after it
        assert set(drawn[curve]) == set(shares) - {last}, curve
        assert all(abs(drawn[curve][day] - shares[day]) < DRAWN / 2 for day in drawn[curve])
        assert all(float(share).is_integer() for share in shares.values()), curve
    for key, event in (DIAGRAM_OF | ARM_DIAGRAM_OF).items():
        groups = GROUPS if key in DIAGRAM_OF else ("control", ARM)
        quoted = [_cell(t, lang) for t in re.findall(r"(\S+) %", diagrams[key].alt)]
        assert quoted == [_half_up(expected[event, g].get(100)) for g in groups], key
        rows = [[_cell(c, lang) for c in r] for r in tables["Diagram", number[key]].rows[1:]]
        at_risk = [row[2 + 2 * j] for j in range(len(groups)) for row in rows]  # group by group
        assert diagrams[key].at_risk == at_risk, key


def test_the_attack_reads_everything_the_report_prints(rendered, small_registers) -> None:
    """Every table of tables.json, and every curve's printed steps: each group's and
    each arm's, on every day tables.json or the page gives one."""
    report = small_registers["500 cases"]
    curves = rendered_curves(rendered, drawn=True)
    attack = read_report(rendered.document, report.protected, curves=curves)
    assert attack.read == set(rendered.document) - {"about"}
    assert set(curves) == {(e, g) for e in DIAGRAM_OF.values() for g in (*GROUPS, ARM)}
    for key, event in DIAGRAM_OF.items():
        for row in rendered.document[key]:
            at = "a" if row["day"] == 0 else "r"
            name = f"{at}:{event}:{row['group']}" + (f":{row['day']}" if row["day"] else "")
            assert attack.printed.get(name) == row["at_risk"] or row["at_risk"] is None, name
    names = set(attack.names())
    for event in DIAGRAM_OF.values():  # the arm's steps, from Diagram B1–B3 (every 30th day)
        assert any(f"r:{event}:{ARM}:{day}" in attack.printed for day in range(30, 361, 30))
    assert all(f"E:{e}:{g}:{d}" in names for (e, g), points in curves.items() for d in points)


def test_b1_s_p_values_give_its_counts_by_arm(small_registers) -> None:
    """The chi-square p-values tables.json prints unrounded pin B1's counts: a reader
    trying every table of counts within the printed percentages finds each tested
    variable's counts by arm exactly (the attack takes them; none is below the limit
    here)."""
    report = small_registers["500 cases"]
    attack = read_report(tables_document(report.protected), report.protected)
    tested = {r["variable"] for r in tables_document(report.protected)["B1"] if r["p_value"]}
    for variable in tested - {"age"}:
        for g in ("control", ARM):
            cells = [n for n in attack.ranges if n.startswith(f"cell:{variable}:")]
            for name in (n for n in cells if n.endswith(f":{g}")):
                assert attack.ranges[name] == [report.truth[name]] * 2, name


@pytest.mark.parametrize("drawn", [False, True], ids=["tables", "drawn"])
def test_no_hidden_count_follows_from_the_rendered_report(rendered, small_registers, drawn) -> None:
    """The issue's 500 cases as published: tables.json, the page's tables and data
    alternatives, the notes and the prose, every step of the curves; with ``drawn``,
    also the curves the SVG diagrams draw."""
    report = small_registers["500 cases"]
    protected = report.protected
    curves = rendered_curves(rendered, drawn)
    nothing_disclosed(disclosures(protected, report, rendered.document, curves))


def test_no_count_of_a_curve_follows_from_the_rendered_report(rendered, small_registers) -> None:
    """The curves' own counts: a group's events on or before a marked day, its cases gone
    from the risk set before it (tables.json, the page and the drawn curves)."""
    report = small_registers["500 cases"]
    protected = report.protected
    curves = rendered_curves(rendered, drawn=True)
    nothing_disclosed(disclosures(protected, report, rendered.document, curves, "curves"))


@pytest.mark.parametrize("part", ["stockholm", "vastra_gotaland", "dalarna", "vasterbotten"])
def test_no_hidden_count_follows_from_a_county_report(counties, part) -> None:
    """Each part of ``--by county`` of the default data, attacked through its export
    (:func:`tables_document` of its protected results), the data alternatives of Diagram
    B1–B3 and the curves the diagrams draw, as the rendered report above prints them
    (rendering every part would take minutes): the tables' counts and the curves' own."""
    report = counties[part]
    protected = report.protected
    curves = report_curves(protected, drawn=True)
    nothing_disclosed(disclosures(protected, report, curves=curves))
    nothing_disclosed(disclosures(protected, report, curves=curves, counts="curves"))


def test_no_hidden_count_follows_from_the_800_case_register(small_registers) -> None:
    """The held-out register of 800 cases, as the county reports."""
    report = small_registers["800 cases"]
    protected = report.protected
    curves = report_curves(protected, drawn=True)
    nothing_disclosed(disclosures(protected, report, curves=curves))
    nothing_disclosed(disclosures(protected, report, curves=curves, counts="curves"))
