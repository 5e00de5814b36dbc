"""Descriptive tables: who is in which group (Tabell 2, 3) and how alike the groups are (B1, B2).

Each table is a long frame with one row per ``variable``/``category`` and one column per
group code; percentages are of the group's total (the "column" of the printed table).
B1 adds a p-value per test, control against the offered arm: Student's t-test on the row
of mean age, the Mann–Whitney U test (a rank test) on the row of median age, and one
chi-square test (without continuity correction) per categorical variable, of the table
of all its categories × arm, on each of the variable's rows (:func:`balance_tests` reads
one p-value per test off the table).

Every category of the data dictionary has its row, a category no case has too (a
diagnosis nobody has shows as 0), except where the dictionary lists only the categories
the data have (``only_present``): the counties are those of the studied cases, in the
dictionary's order, since an extract covers some of Sweden's 21 counties, not all. A
report of one part of the file (``part``: a column and a code, from ``rehabstats render
--by``) lists only its own category of the column it is split by: the others are outside
the report, not empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rehabstats.data.dictionary import load_dictionary
from rehabstats.data.population import GROUPS

BALANCE_VARIABLES = (
    "sex",
    "birth_country",
    "education",
    "employment",
    "diagnosis",
    "benefit",
    "extent",
    "county",
)
ARMS = ("control", "treatment_arm")
# The published reference names the extent of sick leave ``extent_pct``.
EXPORT_VARIABLE = {"extent": "extent_pct"}


def _columns(cases: pd.DataFrame, by: str, levels: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The cases of each group code, plus ``total``."""
    groups = {level: cases[cases[by] == level] for level in levels}
    return {**groups, "total": cases}


def _codes(variable: str, cases: pd.DataFrame, part: tuple[str, str] | None) -> tuple[str, ...]:
    """The categories of ``variable`` that the tables of ``cases`` list (see the module doc)."""
    if part is not None and part[0] == variable:
        return (part[1],)
    return load_dictionary()[variable].listed(set(cases[variable].dropna().unique()))


def _percent(indicator: pd.Series, whole: int) -> float:
    return 100.0 * indicator.sum() / whole if whole else np.nan


def county_table(cases: pd.DataFrame, by: str, part: tuple[str, str] | None = None) -> pd.DataFrame:
    """Tabell 2 (``by="arm_group"``) and 3 (``by="group"``): each county split by group.

    One row per county and ``total``: the percentage of that county's cases in each
    group, and ``n`` (the county's cases, the printed "Total antal obs."). ``part``: see
    the module doc.
    """
    levels = ARMS if by == "arm_group" else GROUPS
    cases = cases[["county", by]]
    rows = []
    for county in (*_codes("county", cases, part), "total"):
        members = cases if county == "total" else cases[cases["county"] == county]
        row = {"variable": "county", "category": county}
        row |= {g: _percent(members[by] == g, len(members)) for g in levels}
        rows.append(row | {"n": len(members)})
    return pd.DataFrame(rows)


def _age_rows(columns: dict[str, pd.DataFrame]) -> list[dict]:
    ages = {code: members["age"].astype(float) for code, members in columns.items()}
    return [
        {"variable": "age", "category": stat} | {c: getattr(a, stat)() for c, a in ages.items()}
        for stat in ("mean", "median")
    ] + [{"variable": "age", "category": "sd"} | {c: a.std(ddof=1) for c, a in ages.items()}]


def _category_rows(columns: dict[str, pd.DataFrame], part: tuple[str, str] | None) -> list[dict]:
    rows = []
    for variable in BALANCE_VARIABLES:
        for code in _codes(variable, columns["total"], part):
            row = {"variable": EXPORT_VARIABLE.get(variable, variable), "category": code}
            for c, members in columns.items():
                row[c] = _percent(members[variable] == code, len(members))
            rows.append(row)
    return rows


def _balance(
    cases: pd.DataFrame, by: str, levels: tuple[str, ...], part: tuple[str, str] | None
) -> pd.DataFrame:
    columns = _columns(cases[[by, "age", *BALANCE_VARIABLES]], by, levels)
    rows = _age_rows(columns) + _category_rows(columns, part)
    rows.append({"variable": "n", "category": "n"} | {c: len(p) for c, p in columns.items()})
    return pd.DataFrame(rows)


def _age_p_values(cases: pd.DataFrame) -> dict[str, float]:
    """Mean and median age by arm: the t-test (equal variances) and the Mann–Whitney U test.

    The U test is two-sided, exact for small samples without ties and otherwise normal
    with scipy's tie and continuity corrections. NaN where an arm has fewer than 2 cases.
    """
    # scipy.stats takes a second to import: only when testing, not to read results.
    from scipy import stats

    control = cases.loc[cases["arm_group"] == "control", "age"].astype(float)
    offered = cases.loc[cases["arm_group"] == "treatment_arm", "age"].astype(float)
    if min(len(control), len(offered)) < 2:
        return {"mean": np.nan, "median": np.nan}
    return {
        "mean": float(stats.ttest_ind(control, offered).pvalue),
        "median": float(stats.mannwhitneyu(control, offered, alternative="two-sided").pvalue),
    }


def _contingency_p_value(table: np.ndarray) -> float:
    """Chi-square test (no continuity correction) of independence in a table of counts.

    Rows (categories) and columns (arms) without cases are left out; NaN when fewer than
    two of either are left.
    """
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return np.nan
    from scipy import stats  # see _age_p_values

    return float(stats.chi2_contingency(table, correction=False).pvalue)


def _variable_p_value(values: pd.Series, codes: tuple[str, ...], arm: np.ndarray) -> float:
    """The chi-square test of one categorical variable's categories ``codes`` by arm.

    ``arm`` is each case's position in ``ARMS`` (-1: neither, left out).
    """
    category = pd.Categorical(values, categories=codes).codes.astype(np.int64)
    counted = (arm >= 0) & (category >= 0)
    cells = len(ARMS) * category[counted] + arm[counted]
    table = np.bincount(cells, minlength=len(codes) * len(ARMS)).reshape(-1, len(ARMS))
    return _contingency_p_value(table)


def balance_by_arm(cases: pd.DataFrame, part: tuple[str, str] | None = None) -> pd.DataFrame:
    """B1: the covariates of control vs all offered an actor vs all, with p-values.

    ``p_value`` is the t-test on the ``age``/``mean`` row, the Mann–Whitney U test on the
    ``age``/``median`` row, and on every row of a categorical variable the chi-square
    test of that variable (the same p-value on each of its rows); NaN elsewhere.
    ``part``: see the module doc.
    """
    table = _balance(cases, "arm_group", ARMS, part)
    arm = pd.Categorical(cases["arm_group"], categories=ARMS).codes.astype(np.int64)
    age = _age_p_values(cases)
    by_variable = {
        EXPORT_VARIABLE.get(v, v): _variable_p_value(cases[v], _codes(v, cases, part), arm)
        for v in BALANCE_VARIABLES
    }
    rows = table[["variable", "category"]].itertuples(index=False, name=None)
    p_values = [age.get(c, np.nan) if v == "age" else by_variable.get(v, np.nan) for v, c in rows]
    return table.assign(p_value=p_values)


def balance_tests(table: pd.DataFrame) -> pd.Series:
    """B1's p-values, one per test: ``age:mean``, ``age:median``, then each variable.

    A variable's p-value counts only where each of its rows carries it: disclosure
    control removes it from a row with a hidden cell, and the test rests on every cell.
    NaN where a test could not be done or is hidden.
    """
    tests = {}
    for variable, rows in table.groupby("variable", sort=False):
        p_values = rows["p_value"]
        if variable == "age":
            tests |= {
                f"age:{stat}": p_values[rows["category"] == stat].iloc[0]
                for stat in ("mean", "median")
            }
        elif variable != "n":
            tests[variable] = p_values.iloc[0] if p_values.notna().all() else np.nan
    return pd.Series(tests, dtype=float)


def balance_by_group(cases: pd.DataFrame, part: tuple[str, str] | None = None) -> pd.DataFrame:
    """B2: the covariates of control, treatment, declined and all (no tests).

    ``part``: see the module doc.
    """
    return _balance(cases, "group", GROUPS, part)
