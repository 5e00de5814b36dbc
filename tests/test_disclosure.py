"""Disclosure control: no figure from fewer than five people reaches a published table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from rehabstats.data.population import derive_cohort
from rehabstats.data.validation import validate
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import DatasetInfo, Results, compute_results
from rehabstats.reporting.tables import build_table
from rehabstats.reporting.text import text_context
from rehabstats.stats.disclosure import (
    complete_lines,
    curve_hiding,
    disclosed,
    hidden_in,
    left_out_by_reason,
    linked_cells,
    protect,
    protect_tables,
    sensitive,
)
from rehabstats.stats.survival import km_curves
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def tiny_county(small_register: pd.DataFrame):
    """Results of a register where Dalarna has only three studied cases."""
    report, typed = validate(small_register)
    assert report.ok
    studied = typed["file_reviewed"].fillna(False).astype(bool)
    dalarna = typed.index[studied & (typed["arm"] == "actor")][:3]
    typed.loc[typed["county"] == "dalarna", "county"] = "stockholm"
    typed.loc[dalarna, "county"] = "dalarna"
    return compute_results(derive_cohort(typed), DatasetInfo("tiny.csv", len(typed), "x"))


def test_a_tiny_county_is_hidden_in_the_county_tables(tiny_county) -> None:
    protected = protect(tiny_county, 5)
    for table in (protected.arm_by_county, protected.group_by_county):
        row = table.set_index("category").loc["dalarna"]
        assert row.drop("variable").isna().all()
    sv = build_table("T3", protected, Glossary.load(ROOT / "reports" / "glossary", "sv"))
    dalarna = sv.header.index("Dalarna")
    assert all(".." in row[dalarna] for row in sv.rows)
    assert not any(".." in row[1] for row in sv.rows)  # Stockholm is shown
    assert any("röjandekontroll" in note for note in sv.notes)


def test_small_category_percentages_are_hidden_in_the_balance_tables(tiny_county) -> None:
    protected = protect(tiny_county, 5).balance_by_group.set_index(["variable", "category"])
    original = tiny_county.balance_by_group.set_index(["variable", "category"])
    sizes = original.loc[("n", "n")]
    for group in ("control", "treatment", "declined", "total"):
        count = round(original.loc[("county", "dalarna"), group] * sizes[group] / 100)
        if 0 < count < 5:
            assert np.isnan(protected.loc[("county", "dalarna"), group])
    assert (
        protected.loc[("county", "stockholm"), "total"]
        == original.loc[("county", "stockholm"), "total"]
    )


def test_numbers_at_risk_and_curve_points_below_five_are_hidden(tiny_county) -> None:
    protected = protect(tiny_county, 5)
    for event, er in protected.events.items():
        original = tiny_county.events[event].curves
        small = original["at_risk"] < 5
        assert er.curves.loc[small, ["at_risk", "cum_share_pct"]].isna().all().all()
        # day 0 is the group's count of Tabell 4–6, hidden with it
        hidden_groups = er.table.loc[er.table["n"].isna(), "group"]
        day0 = (original["day"] == 0) & original["group"].isin(hidden_groups)
        assert er.curves.loc[day0, "at_risk"].isna().all()
        # what is shown is the truth; a share whole, half up (2.5 → 3)
        shown = er.curves["at_risk"].notna()
        assert (er.curves.loc[shown, "at_risk"] == original.loc[shown, "at_risk"]).all()
        shown = er.curves["cum_share_pct"].notna()
        whole = np.floor(original.loc[shown, "cum_share_pct"] + 0.5)
        assert (er.curves.loc[shown, "cum_share_pct"] == whole).all()


def test_curve_steps_of_one_to_four_cases_gone_or_with_the_event_are_hidden() -> None:
    """Gone from the risk set since day 0: 0, 1, 4, 6, 10, 97 (3 left at risk); events
    so far 0, 0, 2, 5, 6, 7. The numbers at risk of 1 and 4 gone are hidden, and the 3
    at risk; the share of 2 events, and the share over 3 at risk."""
    at_risk, share = curve_hiding(
        [100, 99, 96, 94, 90, 3], [0, 0, 2, 5, 6, 7], [0, 0, 2, 5, 6, 60], None, 5
    )
    assert at_risk.tolist() == [False, True, True, False, False, True]
    assert share.tolist() == [False, False, True, False, False, True]


def test_curve_steps_that_bound_hidden_cases_analysed_are_hidden() -> None:
    """A group of 50 whose cases analysed (48) are hidden. A number at risk plus the
    events before its day is at most the cases analysed: 48 + 0 and 46 + 0 would leave
    at most 2 and 4 cases left out, 40 + 0 and 30 + 5 leave 10 and 15. Events over their
    share as printed are at least the cases analysed: 5 events at 10 % (at most 10.5 %)
    need 48 cases or more (at most 2 left out), 12 at 30 % (30.5 %) 40 or more."""
    at_risk, share = curve_hiding([48, 46, 40, 30], [0, 0, 5, 12], [0, 0, 10, 30], 50, 5)
    assert at_risk.tolist() == [True, True, False, False]
    assert share.tolist() == [False, False, True, False]
    shown, _ = curve_hiding([48, 46, 40, 30], [0, 0, 5, 12], [0, 0, 10, 30], None, 5)
    assert shown.tolist() == [False, True, False, False], "cases analysed shown: 2 gone only"


def test_the_arm_offered_an_actor_and_its_groups_hide_a_day_s_steps_together(
    three_declined,
) -> None:
    """The arm's number at risk (Diagram B1–B3) is the treatment group's plus the
    declined's (Diagram 1–3), and so are its events: where one of the three hides a count
    above zero (here the declined's), the others hide theirs, or a subtraction gives it;
    the control group's curve is the same in both diagrams."""
    protected = protect(three_declined, 5)
    closed = 0
    for event, er in protected.events.items():
        groups = er.curves.set_index(["group", "day"])
        arms = protected.itt.events[event].curves.set_index(["arm", "day"])
        original = three_declined.events[event].curves.set_index(["group", "day"])
        for column in ("at_risk", "cum_share_pct"):
            days = groups.loc["control"].index
            three = pd.DataFrame(
                {
                    "treatment": groups.loc["treatment", column],
                    "declined": groups.loc["declined", column],
                    "arm": arms.loc["actor", column],
                },
                index=days,
            )
            count = "at_risk" if column == "at_risk" else "events"  # a zero may show
            declined = original.loc["declined", count] > 0
            after_day_0 = (days > 0) & declined.to_numpy()
            hidden = three.loc[after_day_0].isna()
            assert (hidden.all(axis=1) | ~hidden.any(axis=1)).all(), (event, column)
            closed += int(hidden["treatment"].sum())
            pd.testing.assert_series_equal(
                groups.loc["control", column], arms.loc["control", column], check_names=False
            )
    assert closed, "the treatment group's steps hidden with the 3 declined's"


def test_the_curves_count_the_events_so_far(small_register) -> None:
    """The curves' events on a day: cases with the event on that day or before."""
    _, typed = validate(small_register)
    cases = derive_cohort(typed).cases
    curves = km_curves(cases, "plan", days=[0, 30, 90])
    analysed = cases[cases["plan_status"].isin(["event", "censored"])]
    for row in curves.to_dict("records"):
        members = analysed[analysed["group"] == row["group"]]
        by_then = members["plan_observed"].astype(bool) & (members["plan_days"] <= row["day"])
        assert row["events"] == by_then.sum(), row


def test_cox_rows_from_fewer_than_five_cases_show_nothing(tiny_county) -> None:
    protected = protect(tiny_county, 5)
    for key, result in protected.cox.items():
        original = tiny_county.cox[key].table
        small = (original["n"] > 0) & (original["n"] < 5)
        assert result.table.loc[small, ["hazard_ratio", "n"]].isna().all().all(), key


def test_min_count_zero_switches_the_rule_off(tiny_county) -> None:
    unprotected = protect(tiny_county, 0)
    pd.testing.assert_frame_equal(unprotected.group_by_county, tiny_county.group_by_county)
    assert unprotected.min_count == 0
    for key, result in unprotected.cox.items():
        pd.testing.assert_frame_equal(result.table, tiny_county.cox[key].table, obj=key)


@pytest.fixture(scope="module")
def dalarna(dalarna_results) -> Results:
    """The protected results of one county of the default register, as `--by county` has it.

    Its Tabell 1 has a step of fewer than five cases (files not reviewed), and a group's
    count of cases without a usable meeting date is below five.
    """
    return protect(dalarna_results, 5)


def test_tabell_1_shows_every_step_and_its_accounting_adds_up(dalarna) -> None:
    flow = dalarna.flow.set_index("step")["n"]
    assert flow.notna().all() and (flow[flow > 0] < 5).any(), "a small step, shown"
    table = build_table("T1", dalarna, Glossary.load(ROOT / "reports" / "glossary", "en"))
    assert not any(".." in cell for row in table.rows for cell in row)
    excluded = int(dalarna.flow.loc[dalarna.flow["excluded"], "n"].sum())
    studied, total = int(flow["studied"]), int(flow["cases_in_register"])
    assert excluded + studied == total
    assert f"{excluded:,} + {studied:,} = {total:,}" in table.notes[0]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_left_out_note_gives_the_total_the_prose_gives(dalarna, lang) -> None:
    accounting = dalarna.accounting.query("event == 'meeting' and status == 'date_missing'")
    assert accounting["n"].isna().any(), "a group's count of missing dates is hidden"
    glossary = Glossary.load(ROOT / "reports" / "glossary", lang)
    prose = text_context(dalarna, glossary, {})["meeting"]["left_out"]
    table = build_table("T4", dalarna, glossary)
    note = table.notes[0]
    assert glossary.fill_count("left_out_note", prose, reasons="").split("(")[0] in note
    # the one reason is the whole total, though a group's count of it is hidden
    assert glossary.fill("reasons.date_missing", n=prose) in note


def test_a_small_reason_for_leaving_cases_out_is_hidden_with_a_second(dalarna_results) -> None:
    """The reasons of the note, where Tabell 4 prints its left-out total (the first pass;
    the report as a whole hides that total in this county, see test_disclosure_attack)."""
    dalarna = protect_tables(dalarna_results, 5)
    total = dalarna.events["meeting"].table.set_index("group").loc["total", "left_out"]

    def reasons(missing: list[float], after: list[float]) -> dict[str, float]:
        accounting = dalarna.accounting.copy()
        meeting = accounting["event"] == "meeting"
        accounting.loc[meeting & (accounting["status"] == "date_missing"), "n"] = missing
        accounting.loc[meeting & (accounting["status"] == "date_after_followup"), "n"] = after
        return left_out_by_reason(dataclasses.replace(dalarna, accounting=accounting), "meeting")

    assert reasons([20, 18, total - 38], [0, 0, 0]) == {"date_missing": total}
    # three cases dated after the review, their group's count hidden: total − 40 = 3
    shown = reasons([20, 15, total - 38], [np.nan, 0, 0])
    assert set(shown) == {"date_missing", "date_after_followup"}
    assert all(np.isnan(n) for n in shown.values()), "hidden, and the other with it"


def test_a_line_with_one_hidden_cell_gets_its_smallest_other_count_hidden() -> None:
    counts = np.array([[3.0, 40.0, 12.0], [50.0, 60.0, 70.0]])
    hidden = counts < 5
    done = complete_lines(hidden, counts, axes=(1,))
    assert done.tolist() == [[True, False, True], [False, False, False]]
    # rows and columns: the 3's column takes the 50, the 3's row the 12, and the 50's
    # row the 70 rather than the smaller 60, because the 70 also completes the 12's column
    done = complete_lines(hidden, counts, axes=(0, 1))
    assert done.tolist() == [[True, False, True], [True, False, True]]


def test_a_zero_is_hidden_only_when_nothing_else_is_left() -> None:
    assert complete_lines(np.array([[True, False, False]]), [[2, 0, 9]], axes=(1,)).tolist() == [
        [True, False, True]
    ]
    assert complete_lines(np.array([[True, False]]), [[2, 0]], axes=(1,)).tolist() == [[True, True]]


def test_lines_with_none_or_two_hidden_cells_are_left_alone() -> None:
    counts = np.array([[2.0, 3.0, 40.0], [50.0, 60.0, 70.0]])
    assert (complete_lines(counts < 5, counts, axes=(1,)) == (counts < 5)).all()


def _single_hidden_lines(original: np.ndarray, protected: np.ndarray, axis: int) -> list[int]:
    """Lines (along ``axis``) with exactly one cell hidden by protection."""
    hidden = np.isnan(np.asarray(protected, float)) & ~np.isnan(np.asarray(original, float))
    per_line = hidden.sum(axis=axis)
    return [i for i, k in enumerate(per_line) if k == 1]


def test_no_hidden_count_can_be_worked_out_by_subtraction(dalarna_results) -> None:
    """The first pass, table by table: every line of every table of a county report has
    none or at least two hidden cells (the whole report: test_disclosure_attack)."""
    protected = protect_tables(dalarna_results, 5)
    for event, er in protected.events.items():
        before = dalarna_results.events[event].table[["n", "events", "left_out"]]
        after = er.table[["n", "events", "left_out"]]
        assert not _single_hidden_lines(before.to_numpy(), after.to_numpy(), axis=0), event
    for key, result in protected.cox.items():
        before = dalarna_results.cox[key].table
        for _, rows in before.groupby("variable").indices.items():
            lines = _single_hidden_lines(
                before["n"].to_numpy()[rows][:, None],
                result.table["n"].to_numpy()[rows][:, None],
                0,
            )
            assert not lines, key
    groups = ["control", "treatment", "declined", "total"]
    before_b2 = dalarna_results.balance_by_group
    for variable, rows in before_b2.groupby("variable").indices.items():
        if variable == "age":
            continue
        b, a = (
            before_b2[groups].to_numpy()[rows],
            protected.balance_by_group[groups].to_numpy()[rows],
        )
        assert not _single_hidden_lines(b, a, axis=0) and not _single_hidden_lines(b, a, axis=1)
    for event in protected.events:  # noqa: B007 (used in the queries)
        b = dalarna_results.accounting.query("event == @event")
        a = protected.accounting.query("event == @event")
        shape = (b["group"].nunique(), b["status"].nunique())
        b_n, a_n = (f["n"].to_numpy(float).reshape(shape) for f in (b, a))
        assert not _single_hidden_lines(b_n, a_n, 0) and not _single_hidden_lines(b_n, a_n, 1)
    hidden_b2 = protected.balance_by_group[groups].isna() & before_b2[groups].notna()
    assert hidden_b2.to_numpy().sum() > 4, "the county report has cells to protect"


@pytest.fixture(scope="module")
def three_declined(small_register: pd.DataFrame) -> Results:
    """Results of a register where only three studied cases declined the actor."""
    _, typed = validate(small_register)
    declined = typed["declined"].fillna(False).astype(bool) & (typed["arm"] == "actor")
    typed = typed.drop(typed.index[declined][3:])
    return compute_results(derive_cohort(typed), DatasetInfo("three.csv", len(typed), "x"))


def test_a_group_hidden_in_tabell_4_is_not_given_by_the_diagram_s_day_0(three_declined) -> None:
    protected = protect(three_declined, 5)
    hidden_whole_groups = 0
    for event, er in protected.events.items():
        table = er.table.set_index("group")
        original = three_declined.events[event].table.set_index("group")
        hidden = table.index[table["n"].isna() & (original["n"] >= 5)]
        hidden_whole_groups += len(hidden)
        for group in hidden:
            day0 = er.curves.query("group == @group and day == 0")["at_risk"]
            assert day0.isna().all(), (event, group)
    assert hidden_whole_groups, "a group of five or more is hidden beside the small one"


@pytest.mark.parametrize("register", ["dalarna_results", "three_declined"])
def test_no_cell_hidden_for_the_report_as_a_whole_could_be_shown_again(register, request) -> None:
    """The second pass hides no cell it can do without: showing any one of those it adds
    to the first pass's again (not a small count itself, nor hidden with a cell it
    needs) lets a reader bound a small count below five. Hiding, for a count given away,
    a cell of each figure that gave it away left such cells in Dalarna's report, whose
    Tabell 4 and 5 it hid whole."""
    results = request.getfixturevalue(register)
    cells = linked_cells(results)
    first = hidden_in(protect_tables(results, 5), cells)
    final = hidden_in(protect(results, 5), cells)
    added = [
        key
        for key in sorted(final - first - set(sensitive(cells, 5)))
        if not set(cells.requires.get(key, ())) & final
    ]
    assert added, "the report as a whole needs more hidden than its tables one by one"
    for key in added:
        assert disclosed(cells, final - {key}, 5), f"{key} is hidden for nothing"
