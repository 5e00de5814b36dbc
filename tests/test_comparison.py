"""What changed since the previous edition: ``rehabstats render --previous``.

The default register is rendered once as a "previous" edition with an edition file of
its own; a follow-up register in which the control and treatment groups' handling is
swapped (scenario ``reversed``, which turns the groups' conclusions) is rendered with
``--previous`` and another edition file. The section and Tabell 8 are read from the
HTML in both languages and checked against the two tables.json files, read here
independently of rehabstats; the conclusion marks against their p-values. Bad
``--previous`` folders are refused before any work, naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest

from rehabstats.cli import main
from rehabstats.data.loading import write_csv
from rehabstats.data.synth import generate
from rehabstats.engine.pipeline import render_report
from rehabstats.reporting.comparison import compare
from rehabstats.reporting.document import ReportDocument
from rehabstats.reporting.edition import edition_for, load_edition
from rehabstats.reporting.export import tables_document, write_exports
from rehabstats.reporting.formatting import hazard_ratio, integer
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.tables import build_table
from rehabstats.stats.cox import stars
from rehabstats.stats.disclosure import protect
from tests.conftest import DEFAULT_DATA, ROOT

pytestmark = pytest.mark.render

EDITION = """\
series:
  sv: Socialförsäkringsrapport
  en: Social Insurance Report
number: "{number}"
title: Uppföljning av handläggningsprocessen
subtitle: En försöksverksamhet med alternativa aktörer
publisher: Inspektionen för socialförsäkringen (ISF)
date: "{date}"
"""
PREVIOUS = {"number": "2012:3", "date": "2012-05-04"}
CURRENT = {"number": "2013:9", "date": "2013-10-01"}
# How each table compared names its rows in tables.json (docs/tables-json.md).
ROW_KEYS = {"B2": "variable", "T4": "group", "T5": "group", "T6": "group", "ITT": "event"}
ROW_KEYS |= {"B3": "term", "B4": "term", "B5": "term"}
SECTION = {
    "sv": "Vad har ändrats sedan förra utgåvan",
    "en": "What changed since the previous edition",
}
PREVIOUS_NAME = {
    "sv": "Socialförsäkringsrapport 2012:3, 4 maj 2012",
    "en": "Social Insurance Report 2012:3, 4 May 2012",
}
CAPTION = {"sv": "Tabell 8", "en": "Table 8"}
TURNED = {"sv": "Riktningen har vänt", "en": "Direction turned"}


def _edition(folder: Path, values: dict) -> Path:
    path = folder / f"edition-{values['number'].replace(':', '-')}.yaml"
    path.write_text(EDITION.format(**values), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("comparison")


@pytest.fixture(scope="module")
def previous_report(work: Path) -> Path:
    """The default register rendered as the previous edition (Swedish HTML only)."""
    out = work / "previous"
    render_report(
        DEFAULT_DATA, out, langs=["sv"], formats=["html"], edition_path=_edition(work, PREVIOUS)
    )
    return out


@pytest.fixture(scope="module")
def followup_data(work: Path) -> Path:
    path = work / "followup.csv"
    write_csv(generate(4188, seed=1, scenario="reversed"), path)
    return path


@pytest.fixture(scope="module")
def followup(work: Path, previous_report: Path, followup_data: Path):
    """The follow-up register rendered with --previous, in both languages."""
    return render_report(
        followup_data,
        work / "current",
        langs=["sv", "en"],
        formats=["html"],
        edition_path=_edition(work, CURRENT),
        previous=previous_report,
    )


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _value(document: dict, figure: str) -> tuple[float | None, float | None]:
    """A figure (``TABLE/ROW/FIELD``) and its row's p-value, looked up as a reader of
    tables.json would."""
    table, row, field = figure.split("/", 2)
    (found,) = [r for r in document[table] if r[ROW_KEYS[table]] == row]
    return found[field], found.get("p_value") if field == "hazard_ratio" else None


def _expected_conclusion(before: float, p_before: float, now: float, p_now: float) -> str:
    """The conclusion mark as the report defines it, at 5 %, directions as printed."""
    sig_before, sig_now = p_before < 0.05, p_now < 0.05
    if sig_before and sig_now:
        turned = (round(before, 2) > 1) != (round(now, 2) > 1)
        return "turned" if turned else "same"
    if sig_before != sig_now:
        return "lost" if sig_before else "gained"
    return "same"


class _Tables(HTMLParser):
    """The text of an HTML page and each table's caption and rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._caption: list[str] | None = None
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "table":
            self._rows = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._key = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self.tables[self._key] = self._rows
            self._rows = None

    def handle_data(self, data: str) -> None:
        data = data.replace("\u00a0", " ").replace("\u202f", " ")
        self.text.append(data)
        for part in (self._caption, self._cell):
            if part is not None:
                part.append(data)


@pytest.fixture(scope="module")
def pages(followup) -> dict[str, _Tables]:
    parsed = {}
    for lang, files in followup.documents.items():
        parsed[lang] = _Tables()
        parsed[lang].feed(files["html"].read_text(encoding="utf-8"))
    return parsed


def _comparison_table(page: _Tables, lang: str) -> list[list[str]]:
    (caption,) = [c for c in page.tables if c.startswith(CAPTION[lang] + " ")]
    return page.tables[caption]


# --- tables.json records itself, and the comparison ------------------------------------


def test_tables_json_records_its_edition_data_and_version(previous_report: Path) -> None:
    document = _json(previous_report / "tables.json")
    assert next(iter(document)) == "about"
    about = document["about"]
    assert about["edition"] == {
        "series": {"sv": "Socialförsäkringsrapport", "en": "Social Insurance Report"},
        **PREVIOUS,
    }
    assert about["data_sha256"] == hashlib.sha256(DEFAULT_DATA.read_bytes()).hexdigest()
    assert about["data_file"] == DEFAULT_DATA.name
    assert about["rehabstats_version"] == metadata.version("rehabstats")
    assert about["min_count"] == 5 and about["part"] is None
    assert "comparison" not in document


def test_comparison_sets_both_files_figures_side_by_side(previous_report, followup) -> None:
    before = _json(previous_report / "tables.json")
    now = _json(followup.tables_json)
    assert now["about"]["edition"]["number"] == CURRENT["number"]
    assert list(now)[-1] == "comparison"
    rows = now["comparison"]
    assert len(rows) >= 20
    kinds = {row["figure"].split("/")[2] for row in rows}
    assert {"control", "share_pct", "median_days", "hazard_ratio"} <= kinds
    for row in rows:
        assert row["previous"] == _value(before, row["figure"])[0]
        assert row["current"] == _value(now, row["figure"])[0]
        assert row["change"] == pytest.approx(row["current"] - row["previous"])


def test_the_excel_export_has_the_comparison_too(followup) -> None:
    """tables.xlsx carries what tables.json does: a sheet with the same rows."""
    sheet = pd.read_excel(followup.tables_json.with_name("tables.xlsx"), sheet_name="comparison")
    rows = _json(followup.tables_json)["comparison"]
    assert list(sheet["figure"]) == [row["figure"] for row in rows]
    assert list(sheet.columns) == list(rows[0])


def test_conclusion_marks_follow_the_p_values(previous_report, followup) -> None:
    before = _json(previous_report / "tables.json")
    now = _json(followup.tables_json)
    marks = {}
    for row in now["comparison"]:
        hr_before, p_before = _value(before, row["figure"])
        hr_now, p_now = _value(now, row["figure"])
        if p_before is None:  # not a hazard ratio: no test, no conclusion
            assert row["conclusion"] is None and row["p_current"] is None
            continue
        assert (row["p_previous"], row["p_current"]) == (p_before, p_now)
        marks[row["figure"]] = row["conclusion"]
        assert row["conclusion"] == _expected_conclusion(hr_before, p_before, hr_now, p_now)
    assert len(marks) == 9
    # the scenario swaps the control and treatment groups' handling: their ratios turn
    assert marks["ITT/measure/hazard_ratio"] == "turned"
    assert marks["B3/group:treatment/hazard_ratio"] == "turned"


def test_lost_and_gained_significance_are_marked(previous_report) -> None:
    """The same file against itself changes nothing; with p-values moved across 5 %,
    the figures whose test changed are marked, in both directions."""
    before = _json(previous_report / "tables.json")
    unchanged = compare(before, before).figures
    assert set(unchanged["conclusion"].dropna()) == {"same"}
    assert (unchanged["change"] == 0).all()
    now = json.loads(json.dumps(before))
    moved = {"ITT/plan/hazard_ratio": 0.2, "B4/group:declined/hazard_ratio": 0.3}
    for figure, p_value in moved.items():
        table, row, _ = figure.split("/")
        next(r for r in now[table] if r[ROW_KEYS[table]] == row)["p_value"] = p_value
    figures = compare(before, now).figures.set_index("figure")
    for figure in moved:
        assert _value(before, figure)[1] < 0.05
        assert figures.loc[figure, "conclusion"] == "lost"
    reversed_figures = compare(now, before).figures.set_index("figure")
    assert {reversed_figures.loc[f, "conclusion"] for f in moved} == {"gained"}


def _hide_declined(document: dict) -> dict:
    """``document`` with the declined group's figures null, as disclosure control writes
    hidden cells into tables.json."""
    for table in ("T4", "T5", "T6", "B3", "B4", "B5"):
        for row in document[table]:
            if "declined" in (row.get("group"), row.get("term", "").removeprefix("group:")):
                row.update({k: None for k in row if k not in ("group", "term", "reference")})
    next(r for r in document["B2"] if r["variable"] == "n")["declined"] = None
    return document


def test_hidden_figures_stay_hidden(previous_report) -> None:
    """A figure that one edition does not show (null in its tables.json, as disclosure
    control writes a hidden cell) has no change and no conclusion, in either direction."""
    before = _json(previous_report / "tables.json")
    now = _hide_declined(_json(previous_report / "tables.json"))
    for previous, current, hidden in ((before, now, "current"), (now, before, "previous")):
        figures = compare(previous, current).figures
        declined = figures[figures["figure"].str.contains("declined")]
        assert len(declined) == 10  # B2, T4–T6 twice, B3–B5 once each
        for row in declined.itertuples(index=False):
            assert math.isnan(getattr(row, hidden)) and math.isnan(row.change)
            assert row.conclusion is None
        assert figures.loc[~figures.index.isin(declined.index), "change"].notna().all()


def test_table_8_prints_hidden_figures_as_hidden(previous_report, default_results) -> None:
    """Tabell 8 against a previous edition that hid the declined group: ".." for its
    figures, their change and conclusion, with the note that explains "..", in both
    languages alike."""
    results = protect(default_results)
    before = _hide_declined(_json(previous_report / "tables.json"))
    results = replace(results, comparison=compare(before, tables_document(results)))
    glossaries = {lang: Glossary.load(ROOT / "reports" / "glossary", lang) for lang in ("sv", "en")}
    tables = {lang: build_table("comparison", results, g) for lang, g in glossaries.items()}
    assert [len(r) for r in tables["sv"].rows] == [len(r) for r in tables["en"].rows]
    for lang, table in tables.items():
        declined = [r for r in table.rows if r[0] == glossaries[lang]["groups.declined"]]
        assert len(declined) == 10
        for _, previous, current, change, _ in declined:
            assert previous == change == ".." and current != ".."
        # the three hazard ratios (B3–B5) have a conclusion that cannot be drawn
        assert [r[4] for r in declined].count("..") == 3
        assert {r[4] for r in declined} == {"", ".."}
        assert any(".." in note for note in table.notes[1:])


# --- the section and Tabell 8 in the report -----------------------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_section_names_the_previous_edition(pages, lang: str) -> None:
    text = " ".join("".join(pages[lang].text).split())
    assert SECTION[lang] in text
    assert PREVIOUS_NAME[lang] in text
    section = text[text.index(SECTION[lang]) :]
    assert f"{CAPTION[lang]} " in section


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_table_8_prints_both_files_figures(pages, previous_report, followup, lang) -> None:
    before = _json(previous_report / "tables.json")
    now = _json(followup.tables_json)
    rows = [r for r in _comparison_table(pages[lang], lang)[1:] if any(r[1:])]
    assert len(rows) == len(now["comparison"]) >= 20
    for cells, row in zip(rows, now["comparison"], strict=True):
        for cell, document in zip(cells[1:3], (before, now), strict=True):
            value, p_value = _value(document, row["figure"])
            if p_value is not None:
                assert cell == hazard_ratio(value, stars(p_value), lang)
            else:  # counts, shares and days print whole, as in Tabell 4–6 and B2
                assert cell == integer(value, lang).replace("\u00a0", " ")
        assert _read(cells[3], lang) == pytest.approx(_read(cells[2], lang) - _read(cells[1], lang))
    turned = sum(row["conclusion"] == "turned" for row in now["comparison"])
    assert sum(cells[4] == TURNED[lang] for cells in rows) == turned


def _read(cell: str, lang: str) -> float:
    """A printed number as a reader reads it: "1 954", "−0,46", "+8", "1,17***"."""
    text = cell.rstrip("*").replace("\u2212", "-").replace(" ", "")
    return float(text.replace(",", ".") if lang == "sv" else text.replace(",", ""))


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_prose_says_which_conclusions_changed(pages, followup, lang: str) -> None:
    text = " ".join("".join(pages[lang].text).split())
    section = text[text.index(SECTION[lang]) :]
    turned = [r for r in _json(followup.tables_json)["comparison"] if r["conclusion"]]
    turned = [r for r in turned if r["conclusion"] != "same"]
    opening = {"sv": "Jämfört med kontrollgruppen var", "en": "Compared with the control group,"}
    assert section.count(opening[lang]) >= len(turned) > 0
    changed = {"sv": f"Slutsatsen har ändrats för {len(turned)} av", "en": "The conclusion changed"}
    assert changed[lang] in section


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_prose_says_when_no_conclusion_changed(default_results, tmp_path, lang: str) -> None:
    """The default data against themselves: no conclusion changed, and the text says so."""
    results = protect(default_results)
    document = tables_document(results)
    document["about"] = {"edition": {"series": "SFR", **PREVIOUS}, "rehabstats_version": "0.1"}
    stored = tmp_path / "results.pkl"
    replace(results, comparison=compare(document, tables_document(results))).save(stored)
    edition = edition_for(load_edition(), lang, results.dataset.sha256)
    doc = ReportDocument.open(stored, lang, ROOT / "reports", tmp_path, edition)
    text = " ".join(doc.chapter("comparison").split())
    none = {"sv": "Ingen slutsats har ändrats", "en": "No conclusion changed"}
    assert none[lang] in text and "2012:3" in text


def test_without_previous_the_report_has_no_comparison(previous_report: Path) -> None:
    page = _Tables()
    page.feed((previous_report / "sv" / "report.html").read_text(encoding="utf-8"))
    assert SECTION["sv"] not in "".join(page.text)
    assert not [c for c in page.tables if c.startswith("Tabell 8 ")]


# --- bad --previous folders ---------------------------------------------------------------


def _refused(capsys, out: Path, *options: str) -> str:
    """Run render with ``options``; it must exit 2 before any work and say why."""
    code = main(["render", str(DEFAULT_DATA), "--out", str(out), "--lang", "sv", *options])
    assert code == 2
    assert not out.exists()
    return capsys.readouterr().err


def _broken(folder: Path, previous_report: Path, change) -> Path:
    """A copy of the previous report's tables.json with ``change`` applied to it."""
    folder.mkdir()
    document = _json(previous_report / "tables.json")
    change(document)
    (folder / "tables.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


def test_a_missing_folder_or_file_is_refused(tmp_path, capsys) -> None:
    err = _refused(capsys, tmp_path / "out", "--previous", str(tmp_path / "nowhere"))
    assert "nowhere" in err and "no such folder" in err
    (tmp_path / "empty").mkdir()
    err = _refused(capsys, tmp_path / "out", "--previous", str(tmp_path / "empty"))
    assert str(tmp_path / "empty" / "tables.json") in err and "missing" in err


def test_a_file_that_is_not_json_is_refused(tmp_path, capsys) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "tables.json").write_text('{"about": ', encoding="utf-8")
    err = _refused(capsys, tmp_path / "out", "--previous", str(tmp_path / "old"))
    assert "tables.json" in err and "not JSON" in err and "line 1" in err


def test_a_file_without_about_names_the_key(tmp_path, previous_report, capsys) -> None:
    """A tables.json of a version that did not record its edition."""
    old = _broken(tmp_path / "old", previous_report, lambda d: d.pop("about"))
    err = _refused(capsys, tmp_path / "out", "--previous", str(old))
    assert f"{old / 'tables.json'}: about: missing" in err
    assert "render the previous edition again" in err


def test_every_problem_is_named_with_its_key(tmp_path, previous_report, capsys) -> None:
    def damage(document: dict) -> None:
        document["about"]["edition"]["date"] = "4 maj 2012"
        del document["T5"]
        document["B3"] = [r for r in document["B3"] if r["term"] != "group:declined"]
        next(r for r in document["ITT"] if r["event"] == "plan")["hazard_ratio"] = "1,2"

    old = _broken(tmp_path / "old", previous_report, damage)
    err = _refused(capsys, tmp_path / "out", "--previous", str(old))
    assert "4 problem(s)" in err
    assert "about.edition.date: '4 maj 2012' is not a date" in err
    assert "T5: missing" in err
    assert "B3: the row whose term is 'group:declined' is missing" in err
    assert "ITT: the row whose event is 'plan': hazard_ratio: '1,2' is not a number" in err


def test_a_tables_export_without_edition_is_refused(tmp_path, default_results, capsys) -> None:
    """`rehabstats tables` records no edition: its folder cannot name the previous one."""
    write_exports(protect(default_results), tmp_path / "old")
    err = _refused(capsys, tmp_path / "out", "--previous", str(tmp_path / "old"))
    assert "about.edition: null" in err and "rehabstats tables" in err


def test_previous_with_by_is_refused(tmp_path, previous_report, capsys) -> None:
    err = _refused(capsys, tmp_path / "out", "--by", "county", "--previous", str(previous_report))
    assert "--previous cannot be used with --by" in err


def test_a_project_notebook_without_the_comparison_cell_is_refused(
    tmp_path, previous_report, capsys
) -> None:
    """A project made before the comparison existed has no cell for it: --previous is
    refused, naming the notebook, rather than rendering without the chapter."""
    assert main(["new", str(tmp_path / "project")]) == 0
    notebook = tmp_path / "project" / "report.ipynb"
    source = json.loads(notebook.read_text())
    cell = 'doc.chapter("comparison")'
    source["cells"] = [c for c in source["cells"] if cell not in "".join(c["source"])]
    notebook.write_text(json.dumps(source))
    err = _refused(
        capsys,
        tmp_path / "out",
        "--project",
        str(tmp_path / "project"),
        "--previous",
        str(previous_report),
    )
    assert f"{notebook}: --previous adds a chapter this notebook does not show" in err


def test_refusals_leave_an_earlier_report_in_place(tmp_path, previous_report, capsys) -> None:
    """A refused --previous renders nothing: the folder --out names stays as it was."""
    out = tmp_path / "report"
    shutil.copytree(previous_report, out)
    code = main(["render", str(DEFAULT_DATA), "--out", str(out), "--previous", str(tmp_path)])
    kept = (out / "tables.json").read_bytes()
    assert code == 2 and kept == (previous_report / "tables.json").read_bytes()
    assert f"{tmp_path / 'tables.json'}: missing" in capsys.readouterr().err
