"""The report's specification: one list of tables and diagrams that the results, the
disclosure control, the export, the documents and the notebook all follow.

The proof is a table the report does not have (tests/toy_exhibit.py), added to the
list and to a project's glossaries and nowhere else: it must appear in tables.json, the
workbook, both languages' HTML and PDF and the executed notebooks' audit trail, with
its small counts hidden.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re

import nbformat
import numpy as np
import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from rehabstats.data.population import GROUPS
from rehabstats.engine.pipeline import REPORTS_DIR, render_report
from rehabstats.reporting import specification
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import Results, analyse
from rehabstats.reporting.specification import REPORT
from rehabstats.stats.disclosure import NOT_PROTECTED, protect_tables
from tests.conftest import DEFAULT_DATA, ROOT
from tests.toy_exhibit import OLDEST, TOY

TITLES = {"sv": "Ärenden med de äldsta", "en": "Cases of the oldest"}
LABELS = {"sv": "Tabell B1a", "en": "Table B1a"}
NOTEBOOK = nbformat.read(REPORTS_DIR / "report.ipynb", as_version=4)


def test_a_table_cannot_exist_without_its_protection() -> None:
    with pytest.raises(TypeError, match="both compute and protect"):
        dataclasses.replace(TOY, protect=None)
    with pytest.raises(TypeError, match="a table needs build"):
        dataclasses.replace(TOY, build=None)


def test_every_field_of_the_results_is_protected_or_says_why_not(monkeypatch) -> None:
    """With a limit above every count, each field holding figures changes (the toy
    table's too); the others are exactly those disclosure control lists with its reason."""
    monkeypatch.setattr(specification, "REPORT", (*REPORT, TOY))
    results = analyse(DEFAULT_DATA)
    hidden = protect_tables(results, 10**6)
    unchanged = {
        f.name
        for f in dataclasses.fields(Results)
        if pickle.dumps(getattr(hidden, f.name)) == pickle.dumps(getattr(results, f.name))
    }
    assert unchanged == set(NOT_PROTECTED) - {"min_count"}


def test_keys_are_unique_and_each_exhibit_is_titled_in_both_languages() -> None:
    keys = [e.key for e in REPORT]
    assert len(keys) == len(set(keys))
    for lang in ("sv", "en"):
        glossary = Glossary.load(REPORTS_DIR / "glossary", lang)
        for e in REPORT:
            kinds = ("tables", "diagrams", "figures") if e.show != "variables" else ()
            assert not kinds or any(e.key in glossary[kind] for kind in kinds), (lang, e.key)


def test_the_notebook_shows_every_chapter_of_the_specification() -> None:
    """Each chapter with exhibits has its cell, and its figures' audit cell after it."""
    sources = ["".join(cell.source) for cell in NOTEBOOK.cells]
    for chapter in dict.fromkeys(e.chapter for e in REPORT):
        cell = f'#| echo: false\n#| output: asis\nMarkdown(doc.chapter("{chapter}"))'
        shown = sources.index(cell)
        if any(e.data is not None for e in REPORT if e.chapter == chapter):
            assert sources[shown + 1] == f'#| include: false\ndoc.figures("{chapter}")'


def _oldest_by_group() -> dict[str, int]:
    """The toy table's counts, from the data file read with plain pandas: the studied
    cases are each person's first randomised case whose file was reviewed (Tabell 1)."""
    raw = pd.read_csv(DEFAULT_DATA, dtype=str)
    randomised = raw[raw["randomised"] == "yes"]
    first = randomised.sort_values(["randomisation_date", "case_id"], kind="stable")
    studied = first[~first["person_id"].duplicated()].query("file_reviewed == 'yes'")
    group = np.where(
        studied["arm"] == "control",
        "control",
        np.where(studied["declined"] == "yes", "declined", "treatment"),
    )
    old = group[studied["age"].astype(int).to_numpy() >= OLDEST]
    return {g: int((old == g).sum()) for g in GROUPS}


@pytest.fixture(scope="module")
def with_toy(tmp_path_factory):
    """The default report rendered with the toy table added to the specification and its
    titles to a project's glossaries: nothing else knows of it."""
    folder = tmp_path_factory.mktemp("toy")
    project = folder / "project"
    (project / "glossary").mkdir(parents=True)
    for lang, title in TITLES.items():
        (project / "glossary" / f"{lang}.yaml").write_text(
            f"tables:\n  {TOY.key}: {title}\n", encoding="utf-8"
        )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(specification, "REPORT", (*REPORT, TOY))
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        patch.setenv("PYTHONPATH", path)  # the kernels import tests.toy_exhibit
        return render_report(DEFAULT_DATA, folder / "out", reports_dir=project)


@pytest.mark.render
def test_an_added_table_is_exported_protected(with_toy) -> None:
    expected = _oldest_by_group()
    assert min(expected.values()) < 5 <= max(expected.values()), "the toy needs both kinds"
    document = json.loads(with_toy.tables_json.read_text(encoding="utf-8"))
    assert list(document)[-2:] == ["TV_T7", TOY.key]
    exported = {row["group"]: row["n"] for row in document[TOY.key]}
    assert exported == {g: (n if n >= 5 else None) for g, n in expected.items()}
    assert openpyxl.load_workbook(with_toy.tables_xlsx).sheetnames[-1] == TOY.key


@pytest.mark.render
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_an_added_table_is_in_both_documents_in_its_chapter(with_toy, lang: str) -> None:
    expected = _oldest_by_group()
    files = with_toy.documents[lang]
    html = files["html"].read_text(encoding="utf-8")
    pdf = " ".join(page.extract_text() for page in PdfReader(files["pdf"]).pages)
    pdf = pdf.replace("\u00a0", " ")
    glossary = Glossary.load(REPORTS_DIR / "glossary", lang)
    word = glossary["table_word"]
    captions = [f"{word} B2 {glossary['tables.B2']}", f"{LABELS[lang]} {TITLES[lang]}"]
    captions.append(f"{word} B3 {glossary['tables.B3']}")
    for text, start in ((html, "<caption>"), (pdf, "")):
        found = [text.index(start + caption[:30]) for caption in captions]
        assert found == sorted(found), "placed in Bilaga 1, after B2 and before Bilaga 2"
    caption = captions[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html[html.index(caption) :], re.S)[1:4]
    cells = [re.sub(r"<[^>]+>", "", row).split() for row in rows]
    for g, row in zip(GROUPS, cells, strict=True):
        assert row[-1] == (str(expected[g]) if expected[g] >= 5 else ".."), (g, row)


@pytest.mark.render
def test_an_added_table_is_in_the_notebooks_audit_trail(with_toy) -> None:
    notebook = nbformat.read(with_toy.notebooks["en"], as_version=4)
    audit = [
        output["data"]["text/html"]
        for cell in notebook.cells
        if "".join(cell.source).endswith('doc.figures("appendix1")')
        for output in cell.get("outputs", [])
    ]
    assert len(audit) == 1 and f"<h4>{TOY.key}</h4>" in audit[0] and "<h4>B2</h4>" in audit[0]
