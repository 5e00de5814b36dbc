"""The data contract: every rule refuses a broken file with column, rule, count and ids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rehabstats.cli import main
from rehabstats.validation import validate
from tests.conftest import write_rows


def _text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _studied(frame: pd.DataFrame) -> pd.Series:
    return frame["file_reviewed"].eq("yes")


def _run(path: Path, capsys) -> tuple[int, str]:
    status = main(["validate", str(path)])
    out = capsys.readouterr()
    return status, out.out + out.err


def test_the_small_generated_file_is_valid(small_csv: Path, capsys) -> None:
    status, out = _run(small_csv, capsys)
    assert status == 0, out
    assert "follow the contract" in out


def _damage_missing_column(f: pd.DataFrame) -> pd.DataFrame:
    return f.drop(columns=["diagnosis"])


def _damage_unknown_category(f: pd.DataFrame) -> pd.DataFrame:
    f.loc[[3, 5, 8], "county"] = "Gotland"
    return f


def _damage_unparsable_date(f: pd.DataFrame) -> pd.DataFrame:
    rows = f.index[_studied(f)][:4]
    f.loc[rows, "case_start_date"] = "2009-13-45"
    return f


def _damage_event_before_start(f: pd.DataFrame) -> pd.DataFrame:
    rows = f.index[_studied(f) & f["plan_date"].ne("")][:2]
    f.loc[rows, "plan_date"] = "2000-01-01"
    return f


def _damage_duplicate_case_id(f: pd.DataFrame) -> pd.DataFrame:
    f.loc[7, "case_id"] = f.loc[6, "case_id"]
    return f


def _damage_followup_before_start(f: pd.DataFrame) -> pd.DataFrame:
    rows = f.index[_studied(f)][10:13]  # other rows than the unparsable start dates
    f.loc[rows, "followup_end_date"] = "2001-01-01"
    return f


BROKEN = {
    "missing column": (_damage_missing_column, "diagnosis", "missing column", None),
    "unknown category": (_damage_unknown_category, "county", "unknown category", 3),
    "unparsable date": (_damage_unparsable_date, "case_start_date", "unparsable date", 4),
    "event before start": (_damage_event_before_start, "plan_date", "before the case started", 2),
    "duplicate case id": (_damage_duplicate_case_id, "case_id", "duplicate value", 2),
    "follow-up before start": (
        _damage_followup_before_start,
        "followup_end_date",
        "follow-up ends before the case started",
        3,
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_rule_is_refused_with_column_rule_and_count(
    case: str, small_csv: Path, tmp_path: Path, capsys
) -> None:
    damage, column, rule, count = BROKEN[case]
    path = write_rows(tmp_path / "broken.csv", damage(_text(small_csv)))
    status, out = _run(path, capsys)
    assert status == 2
    assert "Traceback" not in out
    line = next(line for line in out.splitlines() if rule in line)
    assert line.strip().startswith(f"problem  {column}:")
    if count is not None:
        assert f"— {count} row" in line


def test_examples_name_case_ids_and_the_value(small_csv: Path, tmp_path: Path) -> None:
    frame = _damage_unknown_category(_text(small_csv))
    report, _ = validate(frame)
    (problem,) = [p for p in report.problems if p.column == "county"]
    assert problem.examples == tuple(f"{frame.at[i, 'case_id']} (Gotland)" for i in (3, 5, 8))


def test_every_problem_is_reported_at_once(small_csv: Path, tmp_path: Path) -> None:
    frame = _text(small_csv)
    for damage, *_ in BROKEN.values():
        frame = damage(frame)
    report, _ = validate(frame)
    rules = {p.rule for p in report.problems}
    for _, _, rule, _ in BROKEN.values():
        assert any(rule in r for r in rules), rule


def test_labels_in_swedish_english_and_codes_are_all_accepted(small_csv: Path) -> None:
    frame = _text(small_csv)
    report, typed = validate(frame)
    sv = frame.replace({"women": "Kvinna", "men": "MAN", "stockholm": "Stockholms län"})
    sv["randomised"] = sv["randomised"].map({"yes": "Ja", "no": "nej"})
    report_sv, typed_sv = validate(sv)
    assert report.ok and report_sv.ok, report_sv
    pd.testing.assert_frame_equal(typed, typed_sv)


def test_an_extra_column_is_a_note_not_a_problem(small_csv: Path) -> None:
    frame = _text(small_csv).assign(kommentar="x")
    report, typed = validate(frame)
    assert report.ok
    assert any("kommentar" in note for note in report.notes)
    assert "kommentar" not in typed.columns


def test_ambiguous_day_month_dates_are_refused(small_csv: Path) -> None:
    frame = _text(small_csv)
    frame.loc[0, "registered_date"] = "01/02/2008"
    report, _ = validate(frame)
    assert [p.column for p in report.problems] == ["registered_date"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\x00\x01\x02binary\x00", "not a text file")],
)
def test_empty_and_binary_files_are_refused(
    content: bytes, message: str, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    status, out = _run(path, capsys)
    assert status == 2
    assert message in out and "Traceback" not in out


def test_a_header_only_file_is_refused(small_csv: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "header.csv"
    path.write_text(small_csv.read_text(encoding="utf-8").splitlines()[0] + "\n")
    status, out = _run(path, capsys)
    assert status == 2
    assert "no data rows" in out


def test_an_unknown_format_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "data.json"
    path.write_text("{}")
    status, out = _run(path, capsys)
    assert status == 2
    assert "unknown file format '.json'" in out
