"""Fidelity: the default dataset reproduces the published report within DATA.md's tolerances.

Each test prints, table by table, the published value, ours and the difference, and
fails when a figure falls outside the tolerance: exact counts for Tabell 1 and the group
and county sizes; 1 percentage point for Tabell 2, 3, B1 and B2; for Tabell 4–6 2 points
for the share with the event, 10 % for mean and median days and 2 % for the number of
cases; 0.10 for the hazard ratios of B3–B5 with the same significance.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rehabstats.data.population import GROUPS

T4_T6 = {"T4_meeting": "meeting", "T5_plan": "plan", "T6_measure": "measure"}
COX = {"B3_cox_meeting": "B3", "B4_cox_plan": "B4", "B5_cox_measure_model1": "B5"}
COX_TERMS = {
    "control": "group:control",
    "treatment": "group:treatment",
    "declined": "group:declined",
    "meeting_no": "meeting:no",
    "meeting_yes": "meeting:yes",
    "plan_no": "plan:no",
    "plan_yes": "plan:yes",
}


# Figures of the shipped dataset allowed outside DATA.md's tolerance: none. The tests fail
# on any figure outside its tolerance, and on a listed one that is met again, so that a
# miss, if one is ever accepted, is named here and kept honest.
KNOWN_MISSES: dict[str, set[str]] = {}


def _report(title: str, rows: list[tuple[str, float, float, float, bool]]) -> list[str]:
    """Print a fidelity table; return the rows that fall outside the tolerance."""
    print(f"\n{title}")
    print(f"  {'figure':<44} {'published':>10} {'ours':>10} {'diff':>8}")
    failures = []
    for name, published, ours, diff, ok in rows:
        mark = "" if ok else "  <-- outside tolerance"
        print(f"  {name:<44} {published:>10.3f} {ours:>10.3f} {diff:>8.3f}{mark}")
        if not ok:
            failures.append(name)
    return failures


def _assert_only_known(key: str, failures: list[str]) -> None:
    """Nothing outside the tolerance but the listed misses, and every listed miss still one."""
    assert set(failures) == KNOWN_MISSES.get(key, set())


def test_population_flow_and_sizes_are_exact(default_results, reference) -> None:
    flow = default_results.flow.set_index("step")["n"]
    rows = [
        (f"T1 {step}", n, flow[step], flow[step] - n, flow[step] == n)
        for step, n in reference["T1_population"].items()
    ]
    sizes = default_results.balance_by_group.set_index("category").loc["n"]
    arm = default_results.balance_by_arm.set_index("category").loc["n"]
    for group, n in reference["group_sizes"].items():
        ours = arm[group] if group == "treatment_arm" else sizes[group]
        rows.append((f"group {group}", n, ours, ours - n, ours == n))
    counties = default_results.group_by_county.set_index("category")["n"]
    for county, n in reference["region_sizes"].items():
        rows.append(
            (f"county {county}", n, counties[county], counties[county] - n, counties[county] == n)
        )
    assert not _report("Tabell 1 and sizes (exact)", rows)


@pytest.mark.parametrize(
    ("key", "attribute"),
    [("T2_arm_by_region_pct", "arm_by_county"), ("T3_group_by_region_pct", "group_by_county")],
)
def test_county_tables_within_one_point(default_results, reference, key, attribute) -> None:
    ours = getattr(default_results, attribute).set_index("category")
    rows = []
    for group, by_county in reference[key].items():
        for county, published in by_county.items():
            value = ours.loc[county, group]
            diff = value - published
            rows.append((f"{group} {county}", published, value, diff, abs(diff) <= 1))
    assert not _report(key, rows)


def _balance_rows(published: dict, ours: pd.DataFrame, columns: list[str]) -> list[tuple]:
    ours = ours.set_index(["variable", "category"])
    rows = []
    for variable, entry in published.items():
        if variable in ("columns", "n"):
            continue
        if variable.startswith("age_"):
            stat = variable.removeprefix("age_")
            tolerance = 0.5 if stat == "sd" else 1.0
            items = {stat: entry}
            key = "age"
        else:
            items, key, tolerance = entry, variable, 1.0
        for category, values in items.items():
            for column, value in zip(columns, values[-len(columns) :], strict=True):
                if value is None:
                    continue
                mine = ours.loc[(key, category), column]
                diff = mine - value
                rows.append(
                    (f"{key} {category} {column}", value, mine, diff, abs(diff) <= tolerance)
                )
    return rows


def test_b1_within_one_point(default_results, reference) -> None:
    rows = _balance_rows(
        reference["B1_balance_by_arm"],
        default_results.balance_by_arm,
        ["control", "treatment_arm", "total"],
    )
    assert not _report(
        "B1 (percent within 1 point; age mean/median within 1 year, SD within 0.5)", rows
    )


def test_b2_within_one_point(default_results, reference) -> None:
    rows = _balance_rows(
        reference["B2_balance_by_group"], default_results.balance_by_group, [*GROUPS, "total"]
    )
    assert not _report(
        "B2 (percent within 1 point; age mean/median within 1 year, SD within 0.5)", rows
    )


@pytest.mark.parametrize("key", list(T4_T6))
def test_event_tables_within_tolerance(default_results, reference, key) -> None:
    table = default_results.events[T4_T6[key]].table.set_index("group")
    rows = []
    for group in (*GROUPS, "total"):
        mean, median, n, share = reference[key][group]
        for name, published, ours, ok in (
            ("mean_days", mean, table.loc[group, "mean_days"], lambda d, p: abs(d) <= 0.10 * p),
            (
                "median_days",
                median,
                table.loc[group, "median_days"],
                lambda d, p: abs(d) <= 0.10 * p,
            ),
            ("n", n, table.loc[group, "n"], lambda d, p: abs(d) <= 0.02 * p),
            ("share_pct", share, table.loc[group, "share_pct"], lambda d, p: abs(d) <= 2),
        ):
            diff = ours - published
            rows.append((f"{group} {name}", published, ours, diff, ok(diff, published)))
    _assert_only_known(key, _report(key, rows))


@pytest.mark.parametrize("key", list(COX))
def test_cox_hazard_ratios_within_tolerance(default_results, reference, key) -> None:
    table = default_results.cox[COX[key]].table.set_index("term")
    rows = []
    for name, (hr, stars, _n) in reference[key].items():
        if name == "columns":
            continue
        mine = table.loc[COX_TERMS[name]]
        diff = mine["hazard_ratio"] - hr
        ok = abs(diff) <= 0.10 and mine["stars"] == stars
        rows.append((f"{name} ({mine['stars']} vs {stars})", hr, mine["hazard_ratio"], diff, ok))
    _assert_only_known(key, _report(key, rows))


def test_timing_mechanism_of_b6(default_results) -> None:
    """Early meetings/plans raise the hazard most; after day 90 lower than none at all."""
    table = default_results.cox["B6"].table.set_index("term")["hazard_ratio"]
    failures = []
    for event in ("meeting", "plan"):
        windows = [table[f"{event}_window:{w}"] for w in ("0-30", "31-60", "61-90", "91+")]
        print(f"\nB6 {event} windows 0-30, 31-60, 61-90, 91+: {[round(w, 2) for w in windows]}")
        assert not any(math.isnan(w) for w in windows)
        if windows[0] != max(windows):
            failures.append(f"{event} earliest window highest")
        if windows[-1] >= 1:
            failures.append(f"{event} 91+ below none")
    _assert_only_known("B6", failures)
