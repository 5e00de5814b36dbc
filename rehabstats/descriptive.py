"""Descriptive tables: who is in which group (Tabell 2, 3) and how alike the groups are (B1, B2).

Each table is a long frame with one row per ``variable``/``category`` and one column per
group code; percentages are of the group's total (the "column" of the printed table).
B1 adds a p-value per row: Student's t-test for age, and for each category a chi-square
test (without continuity correction) of the 2×2 table category × arm.

Every category of the data dictionary has its row, a category no case has too: a county
missing from the register extract shows as 0. A report of one part of the file
(``part``: a column and a code, from ``rehabstats render --by``) is the exception: the
other categories of the column it is split by are outside the report, not empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rehabstats.dictionary import load_dictionary

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
GROUPS = ("control", "treatment", "declined")
# The published reference names the extent of sick leave ``extent_pct``.
EXPORT_VARIABLE = {"extent": "extent_pct"}


def _columns(cases: pd.DataFrame, by: str, levels: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The cases of each group code, plus ``total``."""
    groups = {level: cases[cases[by] == level] for level in levels}
    return {**groups, "total": cases}


def _codes(variable: str, part: tuple[str, str] | None) -> tuple[str, ...]:
    """The categories of ``variable`` that the tables list (see the module doc)."""
    if part is not None and part[0] == variable:
        return (part[1],)
    return load_dictionary()[variable].codes


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
    for county in (*_codes("county", part), "total"):
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
        for code in _codes(variable, part):
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


def _age_p_value(cases: pd.DataFrame) -> float:
    # scipy.stats takes a second to import: only when testing, not to read results.
    from scipy import stats

    control = cases.loc[cases["arm_group"] == "control", "age"].astype(float)
    offered = cases.loc[cases["arm_group"] == "treatment_arm", "age"].astype(float)
    if min(len(control), len(offered)) < 2:
        return np.nan
    return float(stats.ttest_ind(control, offered).pvalue)


def _indicator_p_value(indicator: np.ndarray, arm: np.ndarray) -> float:
    """Chi-square test (no continuity correction) of a category indicator by arm.

    ``arm`` is each case's position in ``ARMS`` (-1: neither); the 2×2 table has the
    indicator's False and True as rows and ``ARMS`` as columns.
    """
    counted = arm >= 0
    cells = 2 * indicator[counted].astype(np.int64) + arm[counted]
    table = np.bincount(cells, minlength=4).reshape(2, 2)
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        return np.nan
    from scipy import stats  # see _age_p_value

    return float(stats.chi2_contingency(table, correction=False).pvalue)


def balance_by_arm(cases: pd.DataFrame, part: tuple[str, str] | None = None) -> pd.DataFrame:
    """B1: the covariates of control vs all offered an actor vs all, with p-values.

    ``part``: see the module doc.
    """
    table = _balance(cases, "arm_group", ARMS, part)
    source = {EXPORT_VARIABLE.get(v, v): v for v in BALANCE_VARIABLES}
    arm = pd.Categorical(cases["arm_group"], categories=ARMS).codes.astype(np.int64)
    p_values = []
    for variable, category in table[["variable", "category"]].itertuples(index=False):
        if variable == "age" and category != "sd":
            p_values.append(_age_p_value(cases))
        elif variable in source:
            indicator = (cases[source[variable]] == category).to_numpy()
            p_values.append(_indicator_p_value(indicator, arm))
        else:
            p_values.append(np.nan)
    return table.assign(p_value=p_values)


def balance_by_group(cases: pd.DataFrame, part: tuple[str, str] | None = None) -> pd.DataFrame:
    """B2: the covariates of control, treatment, declined and all (no tests).

    ``part``: see the module doc.
    """
    return _balance(cases, "group", GROUPS, part)
