"""Disclosure control: no published figure may let a reader single out a person.

The rule is the one statistical agencies use for tables from individual data: a count
below ``min_count`` (default 5) is not shown, and neither is any percentage, mean,
median, hazard ratio or curve point computed from such a count. :func:`protect`
applies it to a :class:`~rehabstats.results.Results` once, before anything is
formatted, so tables, diagrams (numbers at risk and the curves above them), prose and
the export all see the same protected numbers. A protected number is missing, and
the formatting prints it as ".." with a note saying why.

Tabell 1's flow is the exception: its counts are shown whatever their size. Each step
there is the difference of the two totals printed beside it, so hiding a small step
protects nobody, and it would break the table's accounting ("every case in exactly one
row"). The flow counts records of the extract, not people with a characteristic.

The rule hides single cells (primary suppression). It does not hide a second cell so
that a hidden one cannot be worked out from a total and the cells beside it (secondary
suppression).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from rehabstats.results import EventResults, Results

DEFAULT_MIN_COUNT = 5
GROUP_COLUMNS = ("control", "treatment", "declined", "treatment_arm", "total")


def _small(counts: pd.Series | np.ndarray, min_count: int) -> np.ndarray:
    """Counts that must not be shown: present and below the limit (zero is shown)."""
    values = pd.to_numeric(pd.Series(counts), errors="coerce").to_numpy(dtype=float)
    return (values > 0) & (values < min_count)


def _county_table(table: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Tabell 2/3: a percentage of a county is a count of (percentage · n / 100) people."""
    out = table.copy()
    groups = [c for c in GROUP_COLUMNS if c in table.columns]
    for group in groups:
        count = (table[group] * table["n"] / 100).round()
        out[group] = table[group].where(~_small(count, min_count))
    hidden = _small(table["n"], min_count)
    out.loc[hidden, groups] = np.nan
    out["n"] = out["n"].where(~hidden)
    return out


def _balance(table: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """B1/B2: category percentages of small counts; age statistics of small groups."""
    out = table.copy()
    groups = [c for c in GROUP_COLUMNS if c in table.columns]
    sizes = table.loc[table["variable"] == "n", groups].iloc[0]
    categories = ~table["variable"].isin(["age", "n"])
    for group in groups:
        count = (table[group] * sizes[group] / 100).round()
        hide = (categories & _small(count, min_count)) | (
            ~categories & _small(np.repeat(sizes[group], len(table)), min_count)
        )
        out[group] = table[group].where(~hide)
    if "p_value" in out.columns:
        hidden_cell = out[groups].isna() & table[groups].notna()
        out["p_value"] = table["p_value"].where(~hidden_cell.any(axis=1))
    return out


def _event_table(table: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Tabell 4–6: means and shares of fewer than ``min_count`` events are not shown."""
    out = table.copy()
    few_events = _small(table["events"], min_count)
    few_cases = _small(table["n"], min_count)
    for column in ("mean_days", "median_days", "share_pct", "events"):
        out[column] = table[column].where(~(few_events | few_cases))
    out["n"] = table["n"].where(~few_cases)
    out["left_out"] = table["left_out"].where(~_small(table["left_out"], min_count))
    return out


def _curves(curves: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Diagram data: a curve point, and its number at risk, only where enough remain at risk."""
    hide = curves["at_risk"].to_numpy(dtype=float) < min_count
    return curves.assign(
        at_risk=curves["at_risk"].where(~hide),
        cum_share_pct=curves["cum_share_pct"].where(~hide),
    )


def _event(results: EventResults, min_count: int) -> EventResults:
    return dataclasses.replace(
        results,
        table=_event_table(results.table, min_count),
        curves=_curves(results.curves, min_count),
        shares=_curves(results.shares, min_count),
    )


def _cox_table(table: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Cox rows: a category with fewer than ``min_count`` cases shows no ratio and no N."""
    hide = _small(table["n"], min_count)
    out = table.copy()
    for column in ("hazard_ratio", "ci_low", "ci_high", "p_value", "n", "coef", "se"):
        if column in out.columns:
            out[column] = table[column].where(~hide)
    out["stars"] = table["stars"].where(~hide, "")
    return out


def _accounting(accounting: pd.DataFrame, min_count: int) -> pd.DataFrame:
    return accounting.assign(n=accounting["n"].where(~_small(accounting["n"], min_count)))


def protect(results: Results, min_count: int = DEFAULT_MIN_COUNT) -> Results:
    """The results with every figure from fewer than ``min_count`` cases removed.

    ``min_count`` of 0 or 1 switches the rule off (nothing is below it).
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
        cox={
            key: dataclasses.replace(result, table=_cox_table(result.table, min_count))
            for key, result in results.cox.items()
        },
        min_count=min_count,
    )
