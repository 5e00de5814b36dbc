"""Disclosure control: no published figure may let a reader single out a person.

The rule is the one statistical agencies use for tables from individual data: a count
below ``min_count`` (default 5) is not shown, and neither is any percentage, mean,
median, hazard ratio or curve point computed from such a count (primary suppression).
Where a hidden count could still be worked out by subtraction — it is the only hidden
cell of a row or column whose total is shown — a second count of that line is hidden
too (secondary suppression), until no such line is left. :func:`protect` applies
both to a :class:`~rehabstats.reporting.results.Results` once, before anything is formatted, so
tables, diagrams (numbers at risk and the curves above them), prose and the export all
see the same protected numbers. A protected number is missing, and the formatting
prints it as ".." with a note saying why.

It runs in two passes. The first works table by table: the lines are those within one
table (the groups of Tabell 4–6 and their total, the categories of a variable and the
groups of B1/B2, the counties and groups of Tabell 2/3, the categories of a variable in
a Cox model, the reasons and groups of the accounting; and the number at risk on day 0
of a diagram, which is its group's count in Tabell 4–6).

The second treats the report as linked tables (:func:`linked_cells`): every count it
prints is one cell, whichever tables, diagrams, notes, prose or export print it —
Tabell 2/3 and B1/B2 share the county × group cells, B2's group sizes are each group's
cases analysed plus those left out in Tabell 4–6, a diagram's day 0 is Tabell 4–6's
count, the Cox models' N columns are parts of their event's cases and of B2's
categories, a refit's meeting (plan) count is part of its fixed model's, the reasons
for leaving cases out add up to Tabell 4–6's left-out total. Counts a reader can derive
but no table prints are cells too: a group's cases without the event, the meetings and
plans after the measure started. A percentage prints a count only to within its
rounding (an interval, :func:`percent_interval`). A cell hidden anywhere is hidden
everywhere (and what needs it with it: a group's percentages with its size, its events
with its cases). Then :func:`link` hides more cells until for every count of 1 to
``min_count`` − 1 people the most it can be, given every printed figure, is at least
``min_count`` (:func:`count_bounds`: an integer program per count). For a count a
reader can still bound below that, it hides the cheapest set of cells that lets the
count be ``min_count`` or more, their cost being the people they hide, and one per cell,
with what goes with them (:func:`_cheapest_hiding`: an integer program looking for a
report that agrees with every figure left printed and has the count that large). On
the default data nothing is small enough to need it; in a county's report it can hide
whole groups of Tabell 4–6, and a whole table where every group left out fewer than
``min_count`` cases (its cases analysed are its size less those, its events go with them).

The curves' steps after day 0 come last (:func:`_protect_curves`), once the linked
pass has settled which counts of Tabell 4–6 are hidden. With day 0's number at risk, a
step's number at risk gives the cases gone from the risk set since day 0, and its share
(to within its rounding) the events so far. A step is shown only where each of these is
none or at least ``min_count`` (:func:`curve_hiding`); for a group whose cases analysed
or left out are hidden, only where it does not bound the cases analysed to within
``min_count`` of the group's size (B1/B2), neither by its number at risk plus the
events before its day nor by its events over its share as printed. The arm offered an
actor (Diagram B1–B3) is the treatment group and the declined, its numbers at risk and
events their sums, so on a day after day 0 where one of the three hides a count above
zero, all three hide it (:func:`_curve_steps`); the control group's curve is the same in
both diagrams. Every share is whole per cent, half up, in the protected results
themselves, so the diagrams draw what tables.json carries: an unrounded share is a ratio
of counts and can give its denominator, the cases analysed.

The export then carries only what the documents print (:func:`as_printed`): a
protected table's percentages are whole, as printed, since an unrounded percentage of
a printed n is its count.

Not covered: the balance tests' p-values, the means, medians and hazard ratios (none of
which is a count), and cross-classifications the report neither prints nor implies by
sums (a covariate's categories among the cases a model leaves out are bounded only
through B2's categories and the model's N). B1's chi-square p-values, unrounded in
tables.json, pin each variable's counts by arm among the tables of counts its printed
percentages allow; they are counts B1 prints anyway, and the attack in
tests/test_disclosure_attack.py finds that they give away no hidden one, but nothing here
checks it. The curves' rule is a rule, not an integer program over the report: it
checks the bounds above, and the steps it hides are not cells of the linked pass; the
attack reads every printed and drawn step with all the inequalities of a Kaplan–Meier
curve (events before a day have left the risk set by the next; later events are at
risk; each event weighs between 1/(cases analysed) and 1/(number at risk) in the share)
and finds no count below the limit in the reports it attacks. The events between two
marked days (a difference of the counts since day 0) are not protected counts.

Tabell 1's flow is the exception: its counts are shown whatever their size. Each step
there is the difference of the two totals printed beside it, so hiding a small step
protects nobody, and it would break the table's accounting ("every case in exactly one
row"). The flow counts records of the extract, not people with a characteristic.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rehabstats.data.population import GROUPS, LEFT_OUT
from rehabstats.reporting.results import EventResults, Results
from rehabstats.stats.cox import CoxResult
from rehabstats.stats.itt import ITTResult, itt_result

if TYPE_CHECKING:
    from scipy.optimize import LinearConstraint  # imported where used: a second to import

DEFAULT_MIN_COUNT = 5
GROUP_COLUMNS = ("control", "treatment", "declined", "treatment_arm", "total")
EVENT_COUNTS = ("n", "events", "left_out")
# The randomised comparison's arms (Diagram B1–B3) by the names of their counts' cells.
ARM_CURVES = {"control": "control", "actor": "treatment_arm"}
EVENT_STATISTICS = ("mean_days", "median_days", "share_pct", "events")


def _small(counts: pd.Series | np.ndarray, min_count: int) -> np.ndarray:
    """Counts that must not be shown: present and below the limit (zero is shown)."""
    values = pd.to_numeric(pd.Series(counts), errors="coerce").to_numpy(dtype=float)
    return (values > 0) & (values < min_count)


def _small_cells(counts: np.ndarray, min_count: int) -> np.ndarray:
    """:func:`_small` for every cell of a matrix."""
    counts = np.asarray(counts, dtype=float)
    return _small(counts.ravel(), min_count).reshape(counts.shape)


def complete_lines(
    hidden: np.ndarray,
    counts: np.ndarray,
    axes: Sequence[int],
    implied: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Hide more cells until no line of the matrix has exactly one hidden cell.

    A line is a column (``axes`` holds 0) or a row (1) whose cells add up to a total that
    is shown. Its only hidden cell would be the total minus the others, so a second cell
    of the line is hidden too (see :func:`_complement`). A cell hidden for a row may
    leave a column with one hidden cell: repeat until there is none. ``implied`` gives
    the cells a table hides along with others (a group's events with its cases); it is
    applied after every pass.
    """
    counts = np.asarray(counts, dtype=float)
    hidden = np.array(hidden, dtype=bool) | np.isnan(counts)  # ".." either way
    changed = True
    while changed:
        changed = False
        if implied is not None:
            widened = implied(hidden)
            changed = bool((widened != hidden).any())
            hidden = widened
        for axis in axes:
            lines, values = (hidden.T, counts.T) if axis == 0 else (hidden, counts)
            crossing = (hidden if axis == 0 else hidden.T) if 1 - axis in axes else None
            for line, line_counts in zip(lines, values, strict=True):
                if line.sum() == 1 and not line.all():
                    line[_complement(line, line_counts, crossing)] = True
                    changed = True
    return hidden


def _complement(line: np.ndarray, counts: np.ndarray, crossing: np.ndarray | None) -> int:
    """The cell to hide beside a line's one hidden cell.

    Preferred: a cell whose crossing line also has one hidden cell (one cell protects
    both), then a count above zero, then the smallest count.
    """
    crossing_single = np.zeros(len(line), bool) if crossing is None else crossing.sum(axis=1) == 1
    candidates = np.flatnonzero(~line)
    return int(min(candidates, key=lambda j: (not crossing_single[j], counts[j] <= 0, counts[j])))


def _county_table(table: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Tabell 2/3: a percentage of a county is a count of (percentage · n / 100) people.

    Rows (a county's groups add up to its n) and columns (the counties add up to the
    total row) are lines; a county whose n is hidden is hidden whole.
    """
    groups = [c for c in GROUP_COLUMNS if c in table.columns]
    columns = [*groups, "n"]
    counts = np.column_stack([(table[g] * table["n"] / 100).round() for g in groups] + [table["n"]])
    hidden = complete_lines(
        _small_cells(counts, min_count),
        counts,
        axes=(0, 1),
        implied=lambda h: h | h[:, [-1]],  # a county without its n is hidden whole
    )
    out = table.copy()
    for i, column in enumerate(columns):
        out[column] = table[column].where(~hidden[:, i])
    return out


def _balance(table: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """B1/B2: category percentages of small counts; age statistics of small groups.

    Within a variable, each group's categories (adding up to 100 per cent) and each
    category's groups (adding up to its total) are lines; so are the group sizes. A
    group whose size is hidden is hidden whole.
    """
    groups = [c for c in GROUP_COLUMNS if c in table.columns]
    size_row = table["variable"] == "n"
    sizes = table.loc[size_row, groups].iloc[0].to_numpy(dtype=float)
    hidden_size = complete_lines(_small(sizes, min_count)[None, :], sizes[None, :], axes=(1,))[0]
    hidden = pd.DataFrame(False, index=table.index, columns=groups)
    for variable, rows in table.groupby("variable", sort=False).groups.items():
        if variable in ("age", "n"):
            continue
        counts = (table.loc[rows, groups].to_numpy(dtype=float) * sizes / 100).round()
        hidden.loc[rows] = complete_lines(_small_cells(counts, min_count), counts, axes=(0, 1))
    hidden.loc[:, hidden_size] = True
    out = table.copy()
    for group in groups:
        out[group] = table[group].where(~hidden[group])
    if "p_value" in out.columns:  # one test per variable: hidden on all its rows, or none
        hidden_cell = (out[groups].isna() & table[groups].notna()).any(axis=1)
        hidden_test = hidden_cell.groupby(table["variable"]).transform("any")
        out["p_value"] = table["p_value"].where(~hidden_test)
    return out


def _event_table(table: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Tabell 4–6: means and shares of fewer than ``min_count`` events are not shown.

    The groups and the total are a line for each count (cases, events, left out); a
    group whose count of cases is hidden is hidden whole.
    """
    counts = table[list(EVENT_COUNTS)].to_numpy(dtype=float)

    def events_with_cases(hidden: np.ndarray) -> np.ndarray:
        """No cases shown, no events shown."""
        return hidden | (np.arange(hidden.shape[1]) == 1) & hidden[:, [0]]

    hidden = complete_lines(
        _small_cells(counts, min_count), counts, axes=(0,), implied=events_with_cases
    )
    out = table.copy()
    without_events = hidden[:, 1]
    for column in EVENT_STATISTICS:
        out[column] = table[column].where(~without_events)
    out["n"] = table["n"].where(~hidden[:, 0])
    out["left_out"] = table["left_out"].where(~hidden[:, 2])
    return out


def _curves(
    curves: pd.DataFrame, min_count: int, hidden_groups: Sequence[str] = (), by: str = "group"
) -> pd.DataFrame:
    """Diagram data, day 0: everyone analysed is at risk, the group's count in Tabell
    4–6, hidden where that count is or is below ``min_count`` (a cell of the linked
    pass). The steps after day 0 are :func:`curve_hiding`'s, once the linked pass is
    done (:func:`_protect_curves`)."""
    day0 = (curves["day"] == 0).to_numpy()
    small = day0 & (curves["at_risk"].to_numpy(dtype=float) < min_count)
    return curves.assign(
        at_risk=curves["at_risk"].where(~(small | (day0 & curves[by].isin(hidden_groups)))),
        cum_share_pct=curves["cum_share_pct"].where(~small),
    )


def _event(results: EventResults, min_count: int) -> EventResults:
    table = _event_table(results.table, min_count)
    hidden_groups = table.loc[table["n"].isna() & results.table["n"].notna(), "group"].tolist()
    return dataclasses.replace(
        results,
        table=table,
        curves=_curves(results.curves, min_count, hidden_groups),
        shares=_curves(results.shares, min_count),
    )


def _cox_table(table: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Cox rows: a category with fewer than ``min_count`` cases shows no ratio and no N.

    The categories of a variable are a line: a second category's N is hidden where one
    is, so that the model's N does not give it away.
    """
    small = _small(table["n"], min_count)
    hidden_n = small.copy()
    for rows in table.groupby("variable", sort=False).indices.values():
        counts = table["n"].to_numpy(dtype=float)[rows][:, None]
        hidden_n[rows] = complete_lines(small[rows][:, None], counts, axes=(0,))[:, 0]
    out = table.copy()
    for column in ("hazard_ratio", "ci_low", "ci_high", "p_value", "coef", "se"):
        if column in out.columns:
            out[column] = table[column].where(~small)
    out["n"] = table["n"].where(~hidden_n)
    out["stars"] = table["stars"].where(~small, "")
    return out


def _cox(result: CoxResult, min_count: int) -> CoxResult:
    """A Cox model with its table protected (:func:`_cox_table`)."""
    return dataclasses.replace(result, table=_cox_table(result.table, min_count))


def _itt(result: ITTResult, min_count: int) -> ITTResult:
    """The intention-to-treat analysis: each arm's curves as a diagram's groups', each
    model as a Cox table, and the summary table read off the protected models."""
    events = {
        event: dataclasses.replace(
            arm_event,
            cox=_cox(arm_event.cox, min_count),
            curves=_curves(arm_event.curves, min_count, by="arm"),
            shares=_curves(arm_event.shares, min_count, by="arm"),
        )
        for event, arm_event in result.events.items()
    }
    return itt_result(events)


def _accounting(accounting: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Each event's cases by group and status: a group's statuses and a status's groups
    are lines."""
    hidden = pd.Series(_small(accounting["n"], min_count), index=accounting.index)
    for _, frame in accounting.groupby("event", sort=False, observed=True):
        keys = pd.MultiIndex.from_arrays([frame["group"].astype(str), frame["status"].astype(str)])
        counts = pd.Series(frame["n"].to_numpy(dtype=float), index=keys).unstack()
        primary = hidden.loc[frame.index].set_axis(keys).unstack().to_numpy(dtype=bool)
        done = pd.DataFrame(
            complete_lines(primary, counts.to_numpy(), axes=(0, 1)),
            index=counts.index,
            columns=counts.columns,
        )
        hidden.loc[frame.index] = done.stack().reindex(keys).to_numpy()
    return accounting.assign(n=accounting["n"].where(~hidden))


def left_out_by_reason(results: Results, event: str) -> dict[str, float]:
    """The cases an event's analysis leaves out, per reason (summed over the groups).

    NaN where the sum must not be shown. A reason whose group counts are all shown is
    their sum; if exactly one reason has a hidden group count, its sum is the event's
    left-out total (Tabell 4–6) less the others. The reasons are a line with that total:
    a sum below ``min_count`` is hidden, with a second one where needed. Reasons that
    left out nobody are not listed.
    """
    accounting = results.accounting.query("event == @event")
    total = results.events[event].table.set_index("group").loc["total", "left_out"]
    sums = {}
    for reason in LEFT_OUT:
        counts = accounting.loc[accounting["status"] == reason, "n"]
        sums[reason] = counts.sum() if counts.notna().all() else np.nan
    missing = [reason for reason, n in sums.items() if np.isnan(n)]
    if len(missing) == 1 and not np.isnan(total):
        sums[missing[0]] = total - np.nansum(list(sums.values()))
    values = np.array(list(sums.values()), dtype=float)
    hidden = _small(values, results.min_count)[None, :]
    hidden = complete_lines(hidden, values[None, :], axes=(1,))[0]
    return {
        reason: np.nan if hide else value
        for (reason, value), hide in zip(sums.items(), hidden, strict=True)
        if hide or value > 0
    }


def protect(results: Results, min_count: int = DEFAULT_MIN_COUNT) -> Results:
    """The results with every figure from fewer than ``min_count`` cases removed, and
    every figure that would give one away (see the module's doc).

    Parameters
    ----------
    results : Results
        What :func:`rehabstats.analyse` returned.
    min_count : int, default 5
        The smallest number of people a published figure may rest on; 0 or 1 switches
        the rule off (nothing is below it).

    Returns
    -------
    Results
        The same results, hidden figures as NaN, with ``min_count`` recorded.

    Examples
    --------
    >>> import rehabstats as rs
    >>> safe = rs.protect(rs.analyse("data/register.csv"), min_count=5)
    >>> safe.min_count
    5
    """
    if min_count <= 1:
        return dataclasses.replace(results, min_count=0)
    by_table = protect_tables(results, min_count)
    cells = linked_cells(results)
    hidden = link(cells, set(hidden_in(by_table, cells)), min_count)
    return _protect_curves(_hide_linked(by_table, hidden), results, hidden, min_count)


# The fields of Results that :func:`protect_tables` leaves as they are, and why; every
# other field holds figures and is protected there (tests/test_specification.py checks it).
NOT_PROTECTED = {
    "dataset": "the data file's name, size and hash: no figures of people",
    "flow": "Tabell 1 counts records of the extract, shown whatever their size (module doc)",
    "timeline": "the experiment's first and last dates",
    "specification": "the list of tables and diagrams",
    "min_count": "the rule itself",
    "comparison": "the figures of two editions' protected results",
    "run_time": "when the render ran",
}


def protect_tables(results: Results, min_count: int) -> Results:
    """The first pass of :func:`protect`: each table on its own (primary suppression,
    and secondary suppression within the table's lines); a table of the specification
    that computes its own figures by the protection it brings."""
    return dataclasses.replace(
        results,
        accounting=_accounting(results.accounting, min_count),
        arm_by_county=_county_table(results.arm_by_county, min_count),
        group_by_county=_county_table(results.group_by_county, min_count),
        balance_by_arm=_balance(results.balance_by_arm, min_count),
        balance_by_group=_balance(results.balance_by_group, min_count),
        events={event: _event(er, min_count) for event, er in results.events.items()},
        cox={key: _cox(result, min_count) for key, result in results.cox.items()},
        itt=_itt(results.itt, min_count),
        tables={
            exhibit.key: exhibit.protect(results.tables[exhibit.key], min_count)
            for exhibit in results.specification
            if exhibit.compute is not None
        },
        min_count=min_count,
    )


# --- the report as linked tables ----------------------------------------------------------

Key = tuple[str, ...]
FAMILY_NO = {"meeting_window": "meeting:no", "plan_window": "plan:no"}  # the window "none"
TIME_VARYING = ("meeting", "plan", "meeting_window", "plan_window")


@dataclass(frozen=True)
class LinkedCells:
    """Every count the report prints, once, and how the printed figures tie them together.

    ``values`` holds each cell's true count. A cell is printed as a count (``exact``),
    or only as percentages of the denominators in ``percent_of`` (printed whole, half up,
    so each gives an interval), or never (``latent``: a count that follows from others,
    such as a group's cases without the event). ``requires`` lists the cells without
    which a cell cannot be shown (a percentage's denominator, a group's cases for its
    events). ``equations`` are sums of coefficient · cell that are zero, ``at_most``
    pairs (a, b) with a ≤ b. ``fixed`` cells are shown whatever their size (Tabell 1).
    """

    values: dict[Key, float]
    exact: frozenset[Key]
    percent_of: dict[Key, tuple[Key, ...]]
    latent: frozenset[Key]
    requires: dict[Key, tuple[Key, ...]]
    equations: tuple[dict[Key, float], ...]
    at_most: tuple[tuple[Key, Key], ...]
    fixed: frozenset[Key]


def _round_half_up(value: float) -> float:
    """A percentage as the documents print it: whole, half up (48.5 → 49)."""
    return float(Decimal(repr(float(value))).quantize(Decimal(1), ROUND_HALF_UP))


def percent_interval(printed: float, denominator: float) -> tuple[float, float]:
    """The counts whose percentage of ``denominator`` prints as ``printed`` (whole per cent)."""
    low = math.ceil((printed - 0.5) * denominator / 100 - 1e-9)
    high = math.ceil((printed + 0.5) * denominator / 100 - 1e-9) - 1
    return max(low, 0), high


SAMPLE_EVENT = {"meeting_model": "meeting", "plan_model": "plan", "measure_models": "measure"}


def _cox_sample(key: str, variable: str) -> str:
    """The sample a Cox model's counts are of: B3's (part of Tabell 4's cases), B4's (of
    Tabell 5's), one for the models of the measure (B5, B6, Tabell 7 and their refits;
    part of Tabell 6's), whose refits count meeting and plan by their state when the
    measure started."""
    sample = {"B3": "meeting_model", "B4": "plan_model"}.get(key, "measure_models")
    return sample + "_tv" if key.startswith("TV_") and variable in TIME_VARYING else sample


def _cox_key(key: str, term: str, variable: str) -> Key:
    """The cell of a Cox model's count; a timing window "none" is the category "no
    meeting" (plan) of the same sample."""
    sample = _cox_sample(key, variable)
    level = term.partition(":")[2]
    if variable in FAMILY_NO and level == "none":
        term = FAMILY_NO[variable]
    return ("cox", sample, term)


def _slots(results: Results) -> dict[Key, list[float]]:
    """Every printed count of ``results``, per cell: each place it is printed, NaN where
    it is hidden there. A percentage is read back as its count (percentage · n / 100)."""
    slots: dict[Key, list[float]] = {}

    def put(key: Key, value: float) -> None:
        slots.setdefault(key, []).append(float(value))

    b2 = results.balance_by_group.set_index(["variable", "category"])
    b1 = results.balance_by_arm.set_index(["variable", "category"])
    sizes = {**b2.loc[("n", "n")].to_dict(), "treatment_arm": b1.loc[("n", "n"), "treatment_arm"]}
    for g in (*GROUPS, "treatment_arm"):
        put(("N", g), sizes[g])
    put(("N", "total"), results.flow.set_index("step").loc["studied", "n"])
    for frame, groups in ((b2, (*GROUPS, "total")), (b1, ("control", "treatment_arm", "total"))):
        for (variable, category), row in frame.iterrows():
            if variable in ("age", "n"):
                continue
            for g in groups:
                put(("cat", variable, category, g), np.round(row[g] * sizes[g] / 100))
    for frame in (results.arm_by_county, results.group_by_county):
        for row in frame.to_dict("records"):
            if row["category"] == "total":
                continue
            county = ("cat", "county", row["category"])
            put((*county, "total"), row["n"])
            for g in GROUP_COLUMNS:
                if g in row:
                    put((*county, g), np.round(row[g] * row["n"] / 100))
    for event, er in results.events.items():
        for row in er.table.to_dict("records"):
            for kind, column in (("a", "n"), ("ev", "events"), ("lo", "left_out")):
                put((kind, event, row["group"]), row[column])
        for frame, by, names in (
            (er.curves, "group", {g: g for g in GROUPS}),
            (results.itt.events[event].curves, "arm", ARM_CURVES),
        ):
            for row in frame[frame["day"] == 0].to_dict("records"):
                put(("a", event, names[row[by]]), row["at_risk"])
        reasons = left_out_by_reason(results, event)
        for reason in LEFT_OUT:
            put(("reason", event, reason), reasons.get(reason, 0.0))
    for row in results.itt.table.to_dict("records"):
        put(("cox_n", f"itt_{row['event']}"), row["n"])
        put(("cox_ev", f"itt_{row['event']}"), row["events"])
    for key, result in results.cox.items():
        put(("cox_n", _cox_sample(key, "")), result.n)
        put(("cox_ev", _cox_sample(key, "")), result.events)
        for row in result.table.to_dict("records"):
            put(_cox_key(key, row["term"], row["variable"]), row["n"])
    return slots


def _sum_equations(results: Results, values: dict[Key, float]) -> list[dict[Key, float]]:
    """The sums the report's tables show: parts and their total, each as part − total = 0."""
    equations: list[dict[Key, float]] = []

    def total(parts: list[Key], whole: Key) -> None:
        equation: dict[Key, float] = {}
        for part in parts:
            equation[part] = equation.get(part, 0.0) + 1.0
        equation[whole] = equation.get(whole, 0.0) - 1.0
        equations.append(equation)

    total([("N", g) for g in GROUPS], ("N", "total"))
    total([("N", "treatment"), ("N", "declined")], ("N", "treatment_arm"))
    variables: dict[str, list[str]] = {}
    for key in values:
        if key[0] == "cat" and key[3] == "total":
            variables.setdefault(key[1], []).append(key[2])
    for variable, categories in variables.items():
        for g in (*GROUPS, "treatment_arm", "total"):
            total([("cat", variable, c, g) for c in categories], ("N", g))
        for c in categories:
            total([("cat", variable, c, g) for g in GROUPS], ("cat", variable, c, "total"))
            arm = [("cat", variable, c, g) for g in ("treatment", "declined")]
            total(arm, ("cat", variable, c, "treatment_arm"))
    for event in results.events:
        for g in (*GROUPS, "total"):
            total([("a", event, g), ("lo", event, g)], ("N", g))
            total([("ev", event, g), ("ne", event, g)], ("a", event, g))
        for kind in ("a", "ev", "lo", "ne"):
            total([(kind, event, g) for g in GROUPS], (kind, event, "total"))
        total([("a", event, "treatment"), ("a", event, "declined")], ("a", event, "treatment_arm"))
        total([("reason", event, r) for r in LEFT_OUT], ("lo", event, "total"))
    return equations


def _cox_equations(results: Results, values: dict[Key, float]) -> tuple[list, list]:
    """Each Cox sample's categories of a variable add up to its cases; a covariate's
    category in a sample is at most its count among everyone studied (B2), and what the
    sample leaves out adds up to the studied cases it leaves out; a refit's meeting
    (plan) is one of the fixed model's, and the difference is a count of its own."""
    equations, at_most = [], []
    samples: dict[str, dict[str, set[str]]] = {}
    for key, result in results.cox.items():
        for row in result.table.to_dict("records"):
            cell = _cox_key(key, row["term"], row["variable"])
            family = row["variable"].removesuffix("_window")
            samples.setdefault(cell[1], {}).setdefault(
                family + ("_window" in row["variable"]) * "_w", set()
            ).add(cell)
    for sample, families in samples.items():
        whole = ("cox_n", sample.removesuffix("_tv"))
        for family, cells in families.items():
            if family.endswith("_w"):
                cells = cells | {("cox", sample, FAMILY_NO[family[:-2] + "_window"])}
            equation = {cell: 1.0 for cell in sorted(cells)} | {whole: -1.0}
            equations.append(equation)
        if sample in SAMPLE_EVENT:  # a model's sample is part of its event's cases
            event = SAMPLE_EVENT[sample]
            for g in GROUPS:
                at_most.append((("cox", sample, f"group:{g}"), ("a", event, g)))
        if sample.endswith("_tv"):
            continue
        # in order, so that every run has the same figures in the same order (the cells
        # link chooses to hide, where several cost the same, depend on it)
        for variable in dict.fromkeys(k[1] for k in values if k[0] == "cat"):
            name = {"extent_pct": "extent"}.get(variable, variable)
            categories = [k[2] for k in values if k[:2] == ("cat", variable) and k[3] == "total"]
            if {("cox", sample, f"{name}:{c}") for c in categories} != families.get(name):
                continue
            left = {("left", sample, variable, c): 1.0 for c in categories}
            for c in categories:
                equations.append(
                    {("cat", variable, c, "total"): 1.0, ("cox", sample, f"{name}:{c}"): -1.0}
                    | {("left", sample, variable, c): -1.0}
                )
            equations.append(left | {("N", "total"): -1.0, whole: 1.0})
    for sample, event in [*SAMPLE_EVENT.items(), *((f"itt_{e}", e) for e in results.events)]:
        at_most.append((("cox_n", sample), ("a", event, "total")))
        at_most.append((("cox_ev", sample), ("ev", event, "total")))
    for term in ("meeting:yes", "plan:yes"):
        fixed, varying = ("cox", "measure_models", term), ("cox", "measure_models_tv", term)
        if fixed in values and varying in values:
            equations.append({fixed: 1.0, varying: -1.0, ("after", term): -1.0})
    return equations, at_most


def linked_cells(results: Results) -> LinkedCells:
    """The cells of the unprotected ``results`` and the figures that tie them (see
    :class:`LinkedCells`). An equation that does not hold in the data (a category a model
    left out) is not one a reader could use, and is dropped."""
    slots = _slots(results)
    values = {
        key: next((v for v in found if not np.isnan(v)), np.nan) for key, found in slots.items()
    }
    values = {key: value for key, value in values.items() if not np.isnan(value)}
    equations = _sum_equations(results, values)
    cox_equations, at_most = _cox_equations(results, values)
    equations += cox_equations
    latent = set()
    for equation in equations:  # each latent count is defined by one equation
        unknown = [key for key in equation if key not in values]
        if len(unknown) == 1 and unknown[0][0] in ("ne", "left", "after"):
            key = unknown[0]
            values[key] = (
                -sum(c * values[k] for k, c in equation.items() if k != key) / equation[key]
            )
            latent.add(key)
    equations = [
        e
        for e in equations
        if all(k in values for k in e) and abs(sum(c * values[k] for k, c in e.items())) < 1e-6
    ]
    percent_of = {}
    for key in values:
        if key[0] != "cat" or (key[1] == "county" and key[3] == "total"):
            continue
        percent_of[key] = (("N", key[3]),) + (
            (("cat", "county", key[2], "total"),)
            if key[1] == "county" and key[3] != "total"
            else ()
        )
    requires = dict(percent_of)
    for key in values:
        if key[0] == "ev":
            requires[key] = (("a", *key[1:]),)
    exact = frozenset(k for k in values if k not in percent_of and k not in latent)
    return LinkedCells(
        values=values,
        exact=exact,
        percent_of=percent_of,
        latent=frozenset(latent),
        requires=requires,
        equations=tuple(equations),
        at_most=tuple((a, b) for a, b in at_most if a in values and b in values),
        fixed=frozenset({("N", "total")}),
    )


def hidden_in(results: Results, cells: LinkedCells) -> frozenset[Key]:
    """The cells ``results`` hide in at least one of the places they are printed."""
    hidden = set()
    for key, found in _slots(results).items():
        if key in cells.values and key not in cells.fixed and np.isnan(found).any():
            hidden.add(key)
    return frozenset(hidden)


def _closure(cells: LinkedCells, hidden: set[Key]) -> set[Key]:
    """``hidden`` with every cell that cannot be shown without one of them."""
    hidden = set(hidden)
    changed = True
    while changed:
        changed = False
        for key, needed in cells.requires.items():
            if key not in hidden and any(n in hidden for n in needed):
                hidden.add(key)
                changed = True
    return hidden


def _printed(
    cells: LinkedCells, hidden: set[Key]
) -> tuple[dict[Key, float], dict[Key, tuple[float, float]]]:
    """What the report prints of its cells when ``hidden`` are not: the counts printed
    exactly, and for each count printed only as percentages the interval their rounding
    leaves (:func:`percent_interval`)."""
    known = {k: v for k, v in cells.values.items() if k in cells.exact and k not in hidden}
    ranges: dict[Key, tuple[float, float]] = {}
    for key, denominators in cells.percent_of.items():
        if key in hidden:
            continue
        low, high = 0.0, np.inf
        for denominator in denominators:
            size = cells.values[denominator]
            if size > 0:
                a, b = percent_interval(_round_half_up(100 * cells.values[key] / size), size)
                low, high = max(low, a), min(high, b)
        ranges[key] = (low, high)
    return known, ranges


def count_bounds(cells: LinkedCells, hidden: set[Key], targets: Sequence[Key]) -> dict[Key, float]:
    """What a reader can work out about each target count from the printed figures: the
    most it can be (a whole number; infinite where nothing printed limits it), which is
    what the rule needs.

    Printed counts are known; a count printed only as percentages lies in the interval
    their rounding leaves (:func:`percent_interval`); hidden and latent counts are
    unknowns, whole numbers ≥ 0. Each bound is a mixed-integer program (HiGHS, through
    scipy) over the figures that reach the target through unknowns.
    """
    known, ranges = _printed(cells, hidden)
    rows = []  # (coefficients of unknowns, constant, is an equation)
    for equation in cells.equations:
        rows.append((*_split(equation, known), True))
    for a, b in cells.at_most:
        rows.append((*_split({a: 1.0, b: -1.0}, known), False))
    rows = [row for row in rows if row[0]]
    out = {}
    for key in targets:
        out[key] = known[key] if key in known else _most(_component(rows, key), ranges, key)
    return out


def _split(equation: dict[Key, float], known: dict[Key, float]) -> tuple[dict, float]:
    """A figure's unknown coefficients and the constant its known counts add."""
    unknown = {k: c for k, c in equation.items() if k not in known}
    return unknown, sum(c * known[k] for k, c in equation.items() if k in known)


def _component(rows: list[tuple[dict, float, bool]], key: Key) -> list[tuple[dict, float, bool]]:
    """The figures that reach ``key`` through unknowns (the others cannot bound it)."""
    reached, chosen, grew = {key}, [], True
    remaining = list(rows)
    while grew:
        grew = False
        rest = []
        for row in remaining:
            if reached & row[0].keys():
                chosen.append(row)
                reached |= row[0].keys()
                grew = True
            else:
                rest.append(row)
        remaining = rest
    return chosen


def _most(
    system: list[tuple[dict, float, bool]], ranges: dict[Key, tuple[float, float]], key: Key
) -> float:
    """The most ``key`` can be under ``system``."""
    from scipy.optimize import Bounds, LinearConstraint, milp  # a second to import
    from scipy.sparse import coo_array

    names = sorted({k for row in system for k in row[0]} | {key})
    column = {k: i for i, k in enumerate(names)}
    low = np.array([ranges.get(k, (0.0, np.inf))[0] for k in names])
    high = np.array([ranges.get(k, (0.0, np.inf))[1] for k in names])
    constraints = []
    for is_equation in (True, False):
        part = [row for row in system if row[2] is is_equation]
        if not part:
            continue
        entries = [(i, column[k], c) for i, row in enumerate(part) for k, c in row[0].items()]
        r, c, v = zip(*entries, strict=True)
        matrix = coo_array((v, (r, c)), shape=(len(part), len(names))).tocsr()
        constant = -np.array([row[1] for row in part])
        constraints.append(LinearConstraint(matrix, constant if is_equation else -np.inf, constant))
    objective = np.zeros(len(names))
    objective[column[key]] = -1.0
    result = milp(
        objective,
        constraints=constraints,
        integrality=np.ones(len(names)),
        bounds=Bounds(low, high),
    )
    if result.status == 0:
        return -result.fun
    if result.status == 3:  # unbounded: nothing printed limits it
        return np.inf
    raise RuntimeError(f"the report's figures as modelled do not hold: {result.message}")  # a bug


def sensitive(cells: LinkedCells, min_count: int) -> list[Key]:
    """The cells the rule protects: counts of 1 to ``min_count`` − 1 people (not what
    follows between a covariate's counts in B2 and a Cox sample, nor Tabell 1)."""
    return [
        k
        for k, v in cells.values.items()
        if 0 < v < min_count and k[0] != "left" and k not in cells.fixed
    ]


def disclosed(
    cells: LinkedCells, hidden: set[Key], min_count: int, keys: Sequence[Key] | None = None
) -> list[Key]:
    """The protected counts (of ``keys``) a reader can tell are below ``min_count``."""
    keys = sensitive(cells, min_count) if keys is None else keys
    unseen = [k for k in keys if k in hidden or k in cells.latent]
    shown = [k for k in keys if k not in unseen]
    bounds = count_bounds(cells, hidden, unseen)
    return shown + [k for k in unseen if bounds[k] < min_count]


def _unknown(cells: LinkedCells, hidden: set[Key], key: Key) -> bool:
    """Whether a reader is not given the count ``key`` (hidden, or never printed)."""
    return key in hidden or key in cells.latent


def _cheapest_hiding(cells: LinkedCells, key: Key, hidden: set[Key], min_count: int) -> set[Key]:
    """The cells to hide so that a reader can no longer tell ``key`` is below
    ``min_count``, at the least cost: a cell costs the people it counts, and one (the
    fewest people hidden, then the fewest cells), and takes with it what cannot be shown
    without it (:func:`_closure`).

    A reader cannot tell once a report in which ``key`` is ``min_count`` or more agrees
    with every figure left printed; the cells to hide are those where that report has to
    differ from this one. An integer program (HiGHS, through scipy) looks for it: a whole
    number for each cell, held by :func:`count_bounds`' figures, and for each printed
    cell whether it is hidden (its printed count, or interval, holding unless it is).
    """
    from scipy.optimize import Bounds, milp

    known, ranges = _printed(cells, hidden)
    shown = {k: (v, v) for k, v in known.items() if k not in cells.fixed} | ranges
    names = sorted(cells.values)
    column = {k: i for i, k in enumerate(names)}
    choice = {k: len(names) + j for j, k in enumerate(sorted(shown))}
    top = max(*cells.values.values(), min_count)  # none above the studied cases
    size = len(names) + len(choice)
    low = np.zeros(size)
    high = np.concatenate([np.full(len(names), float(top)), np.ones(len(choice))])
    for k in cells.fixed & known.keys():
        low[column[k]] = high[column[k]] = known[k]
    low[column[key]] = min_count
    cost = np.zeros(size)
    for k, j in choice.items():
        cost[j] = cells.values[k] + 1
    result = milp(
        cost,
        constraints=_hiding_figures(cells, shown, column, choice, top),
        integrality=np.ones(size),
        bounds=Bounds(low, high),
    )
    if result.status != 0:
        raise RuntimeError(f"disclosure control cannot protect {key}: {result.message}")  # a bug
    return {k for k, j in choice.items() if result.x[j] > 0.5}


def _hiding_figures(
    cells: LinkedCells,
    shown: dict[Key, tuple[float, float]],
    column: dict[Key, int],
    choice: dict[Key, int],
    top: float,
) -> LinearConstraint:
    """The figures :func:`_cheapest_hiding`'s report must agree with, over each cell's
    count (``column``) and whether a printed cell is hidden (``choice``, 1 if it is):
    the sums and bounds, each printed count or interval (``shown``) unless its cell is
    hidden, and a cell hidden where one it needs is."""
    from scipy.optimize import LinearConstraint
    from scipy.sparse import coo_array

    entries: list[tuple[int, int, float]] = []
    lows: list[float] = []
    highs: list[float] = []

    def figure(coefficients: dict[int, float], low: float, high: float) -> None:
        entries.extend((len(lows), j, c) for j, c in coefficients.items())
        lows.append(low)
        highs.append(high)

    for equation in cells.equations:
        figure({column[k]: c for k, c in equation.items()}, 0.0, 0.0)
    for a, b in cells.at_most:
        figure({column[a]: 1.0, column[b]: -1.0}, -np.inf, 0.0)
    for k, (low, high) in shown.items():  # x ≥ low·(1 − y), …
        figure({column[k]: 1.0, choice[k]: low}, low, np.inf)
        if high < top:  # … x ≤ high + (top − high)·y
            figure({column[k]: 1.0, choice[k]: high - top}, -np.inf, high)
    for k, needed in cells.requires.items():
        for n in needed:
            if k in choice and n in choice:
                figure({choice[k]: 1.0, choice[n]: -1.0}, 0.0, np.inf)
    r, c, v = zip(*entries, strict=True)
    shape = (len(lows), len(column) + len(choice))
    return LinearConstraint(coo_array((v, (r, c)), shape=shape), lows, highs)


def link(cells: LinkedCells, hidden: set[Key], min_count: int) -> set[Key]:
    """Secondary suppression over the whole report: hide more cells until no protected
    count can be told to be below ``min_count`` from what is printed (for each count
    that can, in turn, the cheapest cells that stop it: :func:`_cheapest_hiding`).
    Hiding only ever widens what a reader can tell, so a count found safe stays safe and
    only the others are looked at again.
    """
    hidden = _closure(cells, hidden)
    exposed = disclosed(cells, hidden, min_count)
    while exposed:
        for key in exposed:
            if not _unknown(cells, hidden, key):  # a small count printed
                hidden = _closure(cells, hidden | {key})
            elif key in disclosed(cells, hidden, min_count, [key]):
                more = _cheapest_hiding(cells, key, hidden, min_count)
                hidden = _closure(cells, hidden | more)
        exposed = disclosed(cells, hidden, min_count, exposed)
    return hidden


def _without(values: pd.Series, hidden: Sequence[bool]) -> pd.Series:
    """``values`` with the ``hidden`` ones missing (unchanged, counts stay whole numbers,
    where none is)."""
    hidden = np.asarray(hidden, dtype=bool)
    return values.where(~hidden) if hidden.any() else values


def _hide_balance(table: pd.DataFrame, hidden: set[Key], sizes: dict[str, Key]) -> pd.DataFrame:
    """B1/B2 with the hidden cells' percentages removed, a hidden group whole, and a
    variable's test wherever one of its cells is hidden."""
    out = table.copy()
    for g, size in sizes.items():
        if size in hidden:
            out[g] = np.nan
            continue
        cells = [
            ("cat", v, c, g) for v, c in zip(table["variable"], table["category"], strict=True)
        ]
        out[g] = _without(out[g], [cell in hidden for cell in cells])
    if "p_value" in out.columns:
        groups = list(sizes)
        hidden_cell = (out[groups].isna() & table[groups].notna()).any(axis=1)
        out["p_value"] = out["p_value"].where(
            ~hidden_cell.groupby(table["variable"]).transform("any")
        )
    return out


def _hide_counties(table: pd.DataFrame, hidden: set[Key]) -> pd.DataFrame:
    """Tabell 2/3 with the hidden cells removed; a county whose count is hidden, whole."""
    out = table.copy()
    for g in [c for c in GROUP_COLUMNS if c in table.columns]:
        keys = [
            ("N", g) if county == "total" else ("cat", "county", county, g)
            for county in table["category"]
        ]
        out[g] = _without(out[g], [k in hidden for k in keys])
    whole = [("cat", "county", county, "total") in hidden for county in table["category"]]
    if any(whole):
        out.loc[whole, [c for c in out.columns if c not in ("variable", "category")]] = np.nan
    return out


def _hide_event(
    event: str, results: EventResults, arms: pd.DataFrame, hidden: set[Key]
) -> tuple[EventResults, pd.DataFrame]:
    """Tabell 4–6 and the diagrams' day 0 (by group, and by arm) without the hidden counts."""
    table = results.table.copy()
    groups = table["group"]
    for kind, columns in (("a", ["n"]), ("ev", list(EVENT_STATISTICS)), ("lo", ["left_out"])):
        gone = groups.map(lambda g, kind=kind: (kind, event, g) in hidden).to_numpy(dtype=bool)
        if gone.any():
            table.loc[gone, columns] = np.nan

    def day0(curves: pd.DataFrame, by: str, names: dict[str, str]) -> pd.DataFrame:
        gone = (curves["day"] == 0) & curves[by].map(
            lambda g: ("a", event, names.get(g, g)) in hidden
        )
        return curves.assign(at_risk=_without(curves["at_risk"], gone))

    curves = day0(results.curves, "group", {})
    arms = day0(arms, "arm", ARM_CURVES)
    return dataclasses.replace(results, table=table, curves=curves), arms


def _hide_cox(key: str, result: CoxResult, hidden: set[Key]) -> CoxResult:
    """A Cox model without its hidden counts; its sample's size and events where hidden."""
    table = result.table.copy()
    gone = [
        _cox_key(key, term, variable) in hidden
        for term, variable in zip(table["term"], table["variable"], strict=True)
    ]
    table["n"] = _without(table["n"], gone)
    sample = _cox_sample(key, "")
    size, events = ("cox_n", sample), ("cox_ev", sample)
    return dataclasses.replace(
        result,
        table=table,
        n=np.nan if size in hidden else result.n,
        events=np.nan if events in hidden else result.events,
    )


def _hide_linked(results: Results, hidden: set[Key]) -> Results:
    """``results`` with every cell of ``hidden`` removed wherever it is printed."""
    events, itt_events = {}, {}
    for event, er in results.events.items():
        arm = results.itt.events[event]
        events[event], curves = _hide_event(event, er, arm.curves, hidden)
        size, events_of = ("cox_n", f"itt_{event}"), ("cox_ev", f"itt_{event}")
        cox_result = dataclasses.replace(
            arm.cox,
            n=np.nan if size in hidden else arm.cox.n,
            events=np.nan if events_of in hidden else arm.cox.events,
        )
        itt_events[event] = dataclasses.replace(arm, curves=curves, cox=cox_result)
    accounting = results.accounting
    reasons = [
        ("reason", e, s) in hidden
        for e, s in zip(accounting["event"], accounting["status"], strict=True)
    ]
    group_sizes = {g: ("N", g) for g in (*GROUPS, "total")}
    return dataclasses.replace(
        results,
        accounting=accounting.assign(n=_without(accounting["n"], reasons)),
        arm_by_county=_hide_counties(results.arm_by_county, hidden),
        group_by_county=_hide_counties(results.group_by_county, hidden),
        balance_by_group=_hide_balance(results.balance_by_group, hidden, group_sizes),
        balance_by_arm=_hide_balance(
            results.balance_by_arm,
            hidden,
            {g: ("N", g) for g in ("control", "treatment_arm", "total")},
        ),
        events=events,
        cox={key: _hide_cox(key, result, hidden) for key, result in results.cox.items()},
        itt=itt_result(itt_events),
    )


# --- the curves' steps after day 0 ---------------------------------------------------------

OFFERED = ("treatment", "declined", "treatment_arm")  # the arm is the other two's sum


def curve_hiding(
    at_risk: Sequence[float],
    events: Sequence[float],
    shares: Sequence[float],
    bound: float | None,
    min_count: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Which steps of one curve (its days in order, day 0 first) not to show: the number
    at risk, and the share (per cent, unrounded).

    A step gives two counts since day 0: the cases gone from the risk set (the number
    at risk on day 0 less the day's) and the events so far. Each must be none or at
    least ``min_count``, as must the number at risk. Where the curve's cases analysed
    are not shown, a reader bounds them by ``bound`` (the group's size, from B1/B2) and
    from below: by a day's number at risk plus the events before it (which have left
    the risk set, and which the shares give), and by a day's events over its share (as
    printed, at most half a per cent more; an event weighs at least one in the cases
    analysed). A step whose lower bound is less than ``min_count`` below ``bound`` would
    bound the hidden count of cases left out below ``min_count``: it is not shown.
    """
    at_risk, events = np.asarray(at_risk, dtype=float), np.asarray(events, dtype=float)
    hide_at_risk = (at_risk < min_count) | _small(at_risk[0] - at_risk, min_count)
    hide_share = (at_risk < min_count) | _small(events, min_count)
    if bound is not None:
        before = np.concatenate([[0.0], events[:-1]])  # on the day before, on the grid
        hide_at_risk |= bound - at_risk - before < min_count
        most = np.array([np.nan if np.isnan(v) else _round_half_up(v) + 0.5 for v in shares])
        with np.errstate(invalid="ignore", divide="ignore"):
            least = np.ceil(100 * events / most - 1e-9)  # of the cases analysed
        hide_share |= (events > 0) & (bound - least < min_count)
    return hide_at_risk, hide_share


def _curve_steps(results: Results, event: str, hidden: set[Key], min_count: int) -> pd.DataFrame:
    """Each curve's steps not to show (columns ``at_risk`` and ``share``, indexed by
    curve and day): :func:`curve_hiding`, then closed over the arm offered an actor. The
    arm's numbers at risk and events are the treatment group's plus the declined's, so
    on a day after day 0 where one of the three hides a count above zero, all three hide
    it (day 0's are cells of the linked pass). The control group is the same curve in
    both diagrams."""
    columns = ["at_risk", "events", "cum_share_pct"]
    curves = results.events[event].curves.set_index(["group", "day"])[columns]
    counts = {g: curves.loc[g] for g in GROUPS}
    arm = results.itt.events[event].curves.query("arm == 'actor'").set_index("day")
    counts["treatment_arm"] = (counts["treatment"] + counts["declined"]).assign(
        cum_share_pct=arm["cum_share_pct"]
    )
    b2 = results.balance_by_group.set_index(["variable", "category"]).loc[("n", "n")]
    sizes = {**b2.to_dict(), "treatment_arm": b2["treatment"] + b2["declined"]}
    unknown = {g: bool({("a", event, g), ("lo", event, g)} & hidden) for g in GROUPS}
    unknown["treatment_arm"] = ("a", event, "treatment_arm") in hidden or any(
        unknown[g] for g in OFFERED[:2]
    )
    steps = {}
    for g, frame in counts.items():
        bound = sizes[g] if unknown[g] else None
        at_risk, share = curve_hiding(*(frame[c] for c in columns), bound, min_count)
        steps[g] = pd.DataFrame({"at_risk": at_risk, "share": share}, index=frame.index)
    for column, count in (("at_risk", "at_risk"), ("share", "events")):
        closing = np.logical_or.reduce(
            [steps[g][column] & (counts[g][count] > 0) for g in OFFERED]
        ) & (counts["control"].index > 0)
        for g in OFFERED:
            steps[g][column] |= closing
    return pd.concat(steps, names=["curve", "day"])


def _hide_steps(frame: pd.DataFrame, by: str, names: dict, steps: pd.DataFrame) -> pd.DataFrame:
    """A protected frame of curves (or of the shares the text quotes) without the
    ``steps`` (:func:`_curve_steps`), its shares whole, as the documents print them."""
    where = pd.MultiIndex.from_arrays([frame[by].map(names).astype(str), frame["day"]])
    hide = steps.reindex(where).fillna(True).astype(bool)  # a day off the grid: no share
    shares = frame["cum_share_pct"].where(~hide["share"].to_numpy())
    return frame.assign(
        at_risk=_without(frame["at_risk"], hide["at_risk"].to_numpy()),
        cum_share_pct=shares.map(lambda v: v if np.isnan(v) else _round_half_up(v)),
    )


def _protect_curves(
    protected: Results, results: Results, hidden: set[Key], min_count: int
) -> Results:
    """``protected`` with Diagram 1–3's and B1–B3's steps after day 0 hidden where they
    would give a count away (:func:`_curve_steps`), and every share whole, half up, as
    tables.json prints it: the diagrams draw what the export carries (an unrounded share
    is a ratio of counts)."""
    events, itt_events = {}, {}
    for event, er in protected.events.items():
        steps = _curve_steps(results, event, hidden, min_count)
        groups = {g: g for g in GROUPS}
        events[event] = dataclasses.replace(
            er,
            curves=_hide_steps(er.curves, "group", groups, steps),
            shares=_hide_steps(er.shares, "group", groups, steps),
        )
        arm = protected.itt.events[event]
        itt_events[event] = dataclasses.replace(
            arm,
            curves=_hide_steps(arm.curves, "arm", ARM_CURVES, steps),
            shares=_hide_steps(arm.shares, "arm", ARM_CURVES, steps),
        )
    return dataclasses.replace(protected, events=events, itt=itt_result(itt_events))


def as_printed(table: pd.DataFrame, percent_columns: Sequence[str]) -> pd.DataFrame:
    """An exported table of protected results as the documents print it: each percentage
    of a count (``percent_columns``, as the report's specification lists them) whole,
    rounded half up, so that the export gives a reader no count the documents do not
    (an unrounded percentage of a printed n is its count). B1/B2's age rows, days,
    hazard ratios and p-values are not percentages of counts and stay unrounded."""
    columns = [c for c in percent_columns if c in table.columns]
    if not columns:
        return table
    rows = ~table["variable"].isin(["age", "n"]) if "variable" in table.columns else slice(None)
    out = table.copy()
    out.loc[rows, columns] = out.loc[rows, columns].map(
        lambda v: v if pd.isna(v) else _round_half_up(v)
    )
    return out
