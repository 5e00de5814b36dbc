"""The export: tables.json keeps its documented shape and is byte-stable; tables.xlsx opens."""

from __future__ import annotations

import json
import math
from pathlib import Path

import openpyxl
import pytest

from rehabstats.cli import main
from rehabstats.reporting.export import write_exports
from tests.conftest import DEFAULT_DATA

GROUP_CODES = {"control", "treatment", "declined", "treatment_arm", "total"}
COX_KEYS = ("B3", "B4", "B5", "B6", "T7", "TV_B5", "TV_B6")


@pytest.fixture(scope="module")
def exported(default_results, tmp_path_factory) -> tuple[dict, Path, Path]:
    directory = tmp_path_factory.mktemp("export")
    json_path, xlsx_path = write_exports(default_results, directory)
    return json.loads(json_path.read_text(encoding="utf-8")), json_path, xlsx_path


# tables.json's keys, as docs/tables-json.md documents them for users.
KEY_ORDER = (
    *("T1", "T2", "T3", "T4", "T5", "T6", "T7"),
    *("B1", "B2", "B3", "B4", "B5", "B6"),
    *("D1", "D2", "D3"),
    *("ITT", "TV_B5", "TV_B6", "TV_T7"),
)


def test_top_level_keys_in_report_order(exported) -> None:
    document, _, _ = exported
    assert tuple(document) == ("about", *KEY_ORDER)  # without --previous: no comparison
    assert all(isinstance(document[key], list) and document[key] for key in KEY_ORDER)


def test_t1_rows_use_the_reference_codes(exported, reference) -> None:
    steps = {row["step"]: row["n"] for row in exported[0]["T1"]}
    for step, n in reference["T1_population"].items():
        assert steps[step] == n


def test_event_tables_have_the_agreed_fields(exported) -> None:
    for key in ("T4", "T5", "T6"):
        rows = exported[0][key]
        assert [r["group"] for r in rows] == ["control", "treatment", "declined", "total"]
        for row in rows:
            assert {"group", "mean_days", "median_days", "n", "events", "share_pct"} <= set(row)
            assert row["share_pct"] == pytest.approx(100 * row["events"] / row["n"])


def test_cox_rows_have_the_agreed_fields(exported) -> None:
    for key in COX_KEYS:
        for row in exported[0][key]:
            assert {
                "term",
                "hazard_ratio",
                "ci_low",
                "ci_high",
                "p_value",
                "stars",
                "n",
                "reference",
            } <= set(row)
            if row["reference"]:
                assert row["stars"] == "ref" and row["hazard_ratio"] == 1
            else:
                assert row["ci_low"] <= row["hazard_ratio"] <= row["ci_high"]
    terms = {row["term"] for row in exported[0]["B5"]}
    assert {"group:treatment", "group:control", "meeting:yes", "plan:yes"} <= terms
    terms = {row["term"] for row in exported[0]["T7"]}
    assert {"meeting_window:0-30", "plan_window:91+"} <= terms


def test_the_randomised_comparison_has_one_row_per_event(exported) -> None:
    """ITT: the offered arm against control, on the cases of Tabell 4–6."""
    document = exported[0]
    rows = document["ITT"]
    assert [r["event"] for r in rows] == ["meeting", "plan", "measure"]
    for row, key in zip(rows, ("T4", "T5", "T6"), strict=True):
        assert row["term"] == "arm:actor" and row["reference"] == "control"
        assert row["ci_low"] < row["hazard_ratio"] < row["ci_high"]
        assert 0 <= row["p_value"] <= 1
        total = next(r for r in document[key] if r["group"] == "total")
        assert (row["n"], row["events"]) == (total["n"], total["events"])


def test_time_varying_models_have_the_terms_of_b5_b6_and_t7(exported) -> None:
    document = exported[0]
    for key in ("B5", "B6", "T7"):
        assert [r["term"] for r in document[f"TV_{key}"]] == [r["term"] for r in document[key]]


def test_curves_and_descriptive_rows_use_group_codes(exported) -> None:
    for key in ("D1", "D2", "D3"):
        rows = exported[0][key]
        assert {r["group"] for r in rows} <= GROUP_CODES
        assert {"group", "day", "cum_share_pct", "at_risk"} <= set(rows[0])
    for key in ("T2", "T3", "B1", "B2"):
        for row in exported[0][key]:
            assert {"variable", "category"} <= set(row)
            assert set(row) - {"variable", "category", "n", "p_value"} <= GROUP_CODES
    b1 = {(r["variable"], r["category"]) for r in exported[0]["B1"]}
    assert {("sex", "women"), ("county", "stockholm"), ("age", "mean"), ("extent_pct", "100")} <= b1
    assert all("p_value" in r for r in exported[0]["B1"])


def test_numbers_are_unrounded_and_nan_is_null(exported) -> None:
    _, json_path, _ = exported
    text = json_path.read_text(encoding="utf-8")
    assert "NaN" not in text
    shares = [r["share_pct"] for r in exported[0]["T4"]]
    assert any(not float(s).is_integer() for s in shares)
    for rows in (exported[0][key] for key in KEY_ORDER):
        for row in rows:
            assert all(not (isinstance(v, float) and math.isnan(v)) for v in row.values())


def test_the_json_is_byte_identical_across_runs(default_results, exported, tmp_path: Path) -> None:
    _, first, _ = exported
    second, _ = write_exports(default_results, tmp_path)
    assert second.read_bytes() == first.read_bytes()


def test_the_workbook_has_one_sheet_per_table(exported) -> None:
    workbook = openpyxl.load_workbook(exported[2])
    assert tuple(workbook.sheetnames) == KEY_ORDER
    sheet = workbook["T4"]
    assert [c.value for c in sheet[1]][:2] == ["group", "mean_days"]


def test_the_tables_command_writes_both_files(tmp_path: Path, capsys) -> None:
    assert main(["tables", str(DEFAULT_DATA), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "tables.json").is_file() and (tmp_path / "tables.xlsx").is_file()


def test_a_protected_export_prints_percentages_as_the_documents_do(
    default_results, tmp_path: Path
) -> None:
    """With disclosure control on, a percentage is whole, as printed (half up), and the
    counts are exact: the file gives no count the documents do not."""
    from rehabstats.reporting.formatting import percent
    from rehabstats.stats.disclosure import protect

    json_path, _ = write_exports(protect(default_results), tmp_path)
    document = json.loads(json_path.read_text(encoding="utf-8"))
    original = default_results.events["meeting"].table
    assert [r["share_pct"] for r in document["T4"]] == [
        float(percent(v, "en")) for v in original["share_pct"]
    ]
    assert [r["n"] for r in document["T4"]] == original["n"].tolist()
    for row in document["B2"]:
        if row["variable"] not in ("age", "n"):
            shown = [v for v in row.values() if v is not None and not isinstance(v, str)]
            assert all(float(v).is_integer() for v in shown), row
