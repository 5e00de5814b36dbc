"""The data contract: every rule refuses a broken file with column, rule, count and ids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rehabstats.cli import main
from rehabstats.data import contract
from rehabstats.data.contract import RowRule
from rehabstats.data.dictionary import dictionary_markdown, load_dictionary
from rehabstats.data.loading import load
from rehabstats.data.population import EVENTS, derive_cohort
from rehabstats.data.validation import MAX_VALUES, typed_schema, validate
from rehabstats.stats.cox import cox_models
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
    f.loc[[3, 5, 8], "county"] = "Atlantis"
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


def test_examples_name_the_value_and_its_case_ids(small_csv: Path, tmp_path: Path) -> None:
    frame = _damage_unknown_category(_text(small_csv))
    report, _ = validate(frame)
    (problem,) = [p for p in report.problems if p.column == "county"]
    (value,) = problem.values
    assert (value.value, value.count) == ("Atlantis", 3)
    assert value.examples == tuple(frame.at[i, "case_id"] for i in (3, 5, 8))


def test_a_refused_category_lists_each_distinct_bad_value_with_its_count(
    small_csv: Path,
) -> None:
    """Not 40 examples of one value hiding the others: each value once, most rows first."""
    frame = _text(small_csv)
    frame.loc[10:49, "county"] = "Gotlands kommun"
    frame.loc[[60, 61], "county"] = "99"
    frame.loc[70, "county"] = " Atlantis "
    report, _ = validate(frame)
    (problem,) = report.problems
    ids = frame["case_id"]
    assert (problem.column, problem.count) == ("county", 43)
    assert str(problem) == (
        "county: unknown category (allowed: the 21 codes of 'rehabstats dictionary' or their "
        "Swedish/English labels) — 43 rows, 3 distinct values: "
        f"'Gotlands kommun' (40 rows, e.g. {ids[10]}, {ids[11]}, {ids[12]}), "
        f"'99' (2 rows, e.g. {ids[60]}, {ids[61]}), 'Atlantis' (1 row, e.g. {ids[70]})"
    )


def test_the_distinct_bad_values_are_capped(small_csv: Path) -> None:
    frame = _text(small_csv)
    frame.loc[0, "sex"] = "x0"
    for i in range(MAX_VALUES + 3):
        frame.loc[2 + i, "sex"] = f"x{i}"
    report, _ = validate(frame)
    (problem,) = report.problems
    assert len(problem.values) == MAX_VALUES and problem.more_values == 3
    text = str(problem)
    assert f"— {MAX_VALUES + 4} rows, {MAX_VALUES + 3} distinct values: 'x0' (2 rows" in text
    last = f"'x{MAX_VALUES - 1}' (1 row, e.g. {frame.at[MAX_VALUES + 1, 'case_id']})"
    assert text.endswith(f"{last}, and 3 more (3 rows)")


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


# --- counties -----------------------------------------------------------------------------

# Sweden's 21 counties (län): SCB county code, the dictionary's code, the name, the name
# with "län" (in the genitive where Swedish has one).
COUNTIES = {
    "01": ("stockholm", "Stockholm", "Stockholms län"),
    "03": ("uppsala", "Uppsala", "Uppsala län"),
    "04": ("sodermanland", "Södermanland", "Södermanlands län"),
    "05": ("ostergotland", "Östergötland", "Östergötlands län"),
    "06": ("jonkoping", "Jönköping", "Jönköpings län"),
    "07": ("kronoberg", "Kronoberg", "Kronobergs län"),
    "08": ("kalmar", "Kalmar", "Kalmar län"),
    "09": ("gotland", "Gotland", "Gotlands län"),
    "10": ("blekinge", "Blekinge", "Blekinge län"),
    "12": ("skane", "Skåne", "Skåne län"),
    "13": ("halland", "Halland", "Hallands län"),
    "14": ("vastra_gotaland", "Västra Götaland", "Västra Götalands län"),
    "17": ("varmland", "Värmland", "Värmlands län"),
    "18": ("orebro", "Örebro", "Örebro län"),
    "19": ("vastmanland", "Västmanland", "Västmanlands län"),
    "20": ("dalarna", "Dalarna", "Dalarnas län"),
    "21": ("gavleborg", "Gävleborg", "Gävleborgs län"),
    "22": ("vasternorrland", "Västernorrland", "Västernorrlands län"),
    "23": ("jamtland", "Jämtland", "Jämtlands län"),
    "24": ("vasterbotten", "Västerbotten", "Västerbottens län"),
    "25": ("norrbotten", "Norrbotten", "Norrbottens län"),
}


def _spellings(scb: str) -> list[object]:
    """Ways a register writes one county: SCB code as text (with and without its leading
    zero) and as a number, the Swedish name with and without "län" in any case, the
    English name with and without "County"."""
    _, name, with_lan = COUNTIES[scb]
    return [
        scb,
        scb.lstrip("0"),
        int(scb),
        with_lan,
        with_lan.upper(),
        name.lower(),
        f"{name} County",
        name,
    ]


def test_the_dictionary_has_every_county_in_scb_order() -> None:
    spec = load_dictionary()["county"]
    assert spec.codes == tuple(code for code, _, _ in COUNTIES.values())
    assert [spec.label(code, "sv") for code in spec.codes] == [n for _, n, _ in COUNTIES.values()]
    assert spec.reference == "stockholm"


def test_no_spelling_means_two_categories() -> None:
    for spec in load_dictionary().columns.values():
        spellings = [s for c in spec.categories for s in c.spellings()]
        assert len(spellings) == len(set(spellings)), spec.name


def test_every_county_is_read_from_its_code_or_its_name(small_csv: Path, tmp_path: Path) -> None:
    frame = _text(small_csv)
    written = [(s, code) for scb, (code, _, _) in COUNTIES.items() for s in _spellings(scb)]
    rows = frame.index[: len(written)]
    frame["county"] = frame["county"].astype(object)
    frame.loc[rows, "county"] = pd.Series([s for s, _ in written], index=rows, dtype=object)
    report, typed = validate(frame)
    assert report.ok, report
    assert list(typed.loc[rows, "county"]) == [code for _, code in written]
    path = tmp_path / "counties.xlsx"
    frame.to_excel(path, index=False)  # the codes written as numbers stay numbers
    report, from_excel = validate(load(path))
    assert report.ok, report
    assert list(from_excel.loc[rows, "county"]) == [code for _, code in written]


def test_the_models_fit_without_stockholm(small_register: pd.DataFrame) -> None:
    """A follow-up in Skåne, Östergötland and Norrbotten: county's reference category
    (Stockholm) has no cases, so the largest county takes its place."""
    counties = {
        "stockholm": "skane",
        "vastra_gotaland": "ostergotland",
        "dalarna": "norrbotten",
        "vasterbotten": "norrbotten",
    }
    register = small_register.assign(county=small_register["county"].map(counties))
    models = cox_models(derive_cohort(register).cases)
    for key, model in models.items():
        assert model.converged, (key, model.problem)
        county = model.table[model.table["variable"] == "county"].set_index("level")
        assert set(county.index[county["n"] > 0]) == {"ostergotland", "skane", "norrbotten"}
        assert county.loc["skane", "reference"] and county.loc["skane", "hazard_ratio"] == 1
        assert "county: reference stockholm has no cases; skane used instead" in model.notes


# --- the rules across columns: one list, checked by validation and stated on the page ---


def _page_rules() -> list[str]:
    """The list items of the dictionary page's section on the rules across columns,
    without the list marker and the closing ";" or "."."""
    section = dictionary_markdown().split("## Rules across columns", 1)[1]
    return [line[2:].rstrip(";.") for line in section.splitlines() if line.startswith("- ")]


def test_every_rule_validation_checks_is_on_the_dictionary_page() -> None:
    """Each rule is a line of the page, naming every column whose rows it refuses."""
    lines = _page_rules()
    for rule in contract.ROW_RULES:
        assert rule.wording in lines, rule.code
        for column, _ in rule.broken:
            assert f"`{column}`" in rule.wording, (rule.code, column)


def test_validation_checks_the_listed_rules_and_no_others(
    small_register: pd.DataFrame,
) -> None:
    """With every column present, the rules across columns are one check per column a
    listed rule judges, and each gives its listed text."""
    _, typed = validate(small_register)
    checks = [check.error for check in typed_schema(typed, load_dictionary()).checks]
    assert checks == [
        f"{column}: {text}" for rule in contract.ROW_RULES for column, text in rule.broken
    ]


def test_every_event_date_and_the_followup_end_are_after_the_case_start() -> None:
    """The date rule judges each event's date (``EVENTS``, and the dictionary's event
    dates) and the end of follow-up, against the case start."""
    (rule,) = [r for r in contract.ROW_RULES if "case_start_date" in r.reads]
    events = [f"{e}_date" for e in EVENTS]
    assert events == [n for n, c in load_dictionary().columns.items() if c.event_of]
    assert [column for column, _ in rule.broken] == [*events, "followup_end_date"]


def test_a_rule_added_to_the_list_is_checked_and_on_the_page(
    small_register: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's rules and validation's come from one list: a rule added to it is both."""
    added = RowRule(
        code="sixty_at_most",
        wording="`age` is at most 60 (a rule of this test)",
        broken=(("age", "over 60 (a rule of this test)"),),
        reads=(),
        keeps=lambda d, column: ~(d[column] > 60).fillna(False),
    )
    monkeypatch.setattr(contract, "ROW_RULES", (*contract.ROW_RULES, added))
    assert "`age` is at most 60 (a rule of this test)" in _page_rules()
    over = int((small_register["age"] > 60).sum())
    assert over > 0
    report, _ = validate(small_register)
    problems = [(p.column, p.rule, p.count) for p in report.problems]
    assert problems == [("age", "over 60 (a rule of this test)", over)]
