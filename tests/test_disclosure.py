"""Disclosure control: no figure from fewer than five people reaches a published table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rehabstats.disclosure import protect
from rehabstats.glossary import Glossary
from rehabstats.population import derive_cohort
from rehabstats.results import DatasetInfo, Results, compute_results
from rehabstats.tables import build_table
from rehabstats.text import text_context
from rehabstats.validation import read_dataset, validate
from tests.conftest import DEFAULT_DATA, ROOT


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
        assert (er.curves.loc[~small, "at_risk"] == original.loc[~small, "at_risk"]).all()


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
def dalarna() -> Results:
    """The protected results of one county of the default register, as `--by county` has it.

    Its Tabell 1 has a step of fewer than five cases (files not reviewed), and a group's
    count of cases without a usable meeting date is below five.
    """
    typed = read_dataset(DEFAULT_DATA)
    part = typed[typed["county"] == "dalarna"]
    results = compute_results(derive_cohort(part), DatasetInfo("dalarna", len(part), "x"))
    return protect(results, 5)


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
    assert glossary.fill("left_out_note", n=prose, reasons="").split("(")[0] in note
    assert glossary.fill("reasons.date_missing", n="..") in note
    assert glossary.fill("suppressed_note", min_count=5) in table.notes
