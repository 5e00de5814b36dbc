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

The lines are those within one table: the groups of Tabell 4–6 and their total, the
categories of a variable and the groups of B1/B2, the counties and groups of Tabell
2/3, the categories of a variable in a Cox model, the reasons and groups of the
accounting; and the number at risk on day 0 of a diagram, which is its group's count
in Tabell 4–6. Not followed, so that a small part of a register (``--by county``) can
still give a hidden count away:

- sums that run across tables: a group's size in B2 is its cases analysed plus its
  cases left out in Tabell 4–6, so a hidden left-out count is the difference;
- a group's cases without the event (cases analysed less events), which can be small
  when the events are not;
- the unrounded percentages of the export, whose denominators are counts.

Closing these needs the linked-table methods of τ-ARGUS and would hide much of
Tabell 4–6 in a small county; the README asks for such reports to be read before they
are published.

Tabell 1's flow is the exception: its counts are shown whatever their size. Each step
there is the difference of the two totals printed beside it, so hiding a small step
protects nobody, and it would break the table's accounting ("every case in exactly one
row"). The flow counts records of the extract, not people with a characteristic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from rehabstats.data.population import LEFT_OUT
from rehabstats.reporting.results import EventResults, Results
from rehabstats.stats.cox import CoxResult
from rehabstats.stats.itt import ITTResult, itt_result

DEFAULT_MIN_COUNT = 5
GROUP_COLUMNS = ("control", "treatment", "declined", "treatment_arm", "total")
EVENT_COUNTS = ("n", "events", "left_out")
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
    """Diagram data: a curve point, and its number at risk, only where enough remain at risk.

    On day 0 everyone analysed is at risk: that number is the group's count in Tabell
    4–6, and is hidden where that count is.
    """
    hide = curves["at_risk"].to_numpy(dtype=float) < min_count
    at_risk = hide | (curves[by].isin(hidden_groups) & (curves["day"] == 0)).to_numpy()
    return curves.assign(
        at_risk=curves["at_risk"].where(~at_risk),
        cum_share_pct=curves["cum_share_pct"].where(~hide),
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
        min_count=min_count,
    )
