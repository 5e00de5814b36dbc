"""The Word edition (issue 16, item 5): ``--format docx`` beside HTML.

One run of the command renders a register extract with a hostile file name under a
hostile edition in both languages, to HTML and Word, in a report project that has its
own Word styles (an agency's reference.docx). The Word file is read as the zip of
XML it is, and set against the HTML of the same run: every table a Word table under its
caption, with its notes; every diagram and figure a PNG picture whose description is its
alt text, under its title; the contents, the page breaks and the language; every string
of the user's as written.
"""

from __future__ import annotations

import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import nbformat
import pandas as pd
import pytest
import yaml

from rehabstats.cli import main
from rehabstats.data.loading import write_csv
from rehabstats.engine.pipeline import REPORTS_DIR
from rehabstats.engine.render import REFERENCE_DOCX, render_notebook, set_front_matter
from rehabstats.errors import ResourceError
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.glossary import Glossary
from tests.test_hostile_input import CORPUS, EDITION, HOSTILE_NAME, METADATA
from tools.reference_docx import reference_docx

LANGS = ("sv", "en")
# Word's language tags: a language and its region, as Word's proofing tools take them.
WORD_LANG = {"sv": "sv-SE", "en": "en-GB"}
NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
AGENCY_FONT = "Agency Serif"


def _w(tag: str) -> str:
    """The qualified name of a WordprocessingML element or attribute."""
    return f"{{{NS['w']}}}{tag}"


def _plain(text: str) -> str:
    """Text with all whitespace (no-break spaces too) collapsed to single spaces."""
    return " ".join(text.split())


class _Word:
    """A Word file's parts: its body, styles, theme, relationships and pictures."""

    def __init__(self, path: Path) -> None:
        with zipfile.ZipFile(path) as docx:
            self.document = ET.fromstring(docx.read("word/document.xml"))
            self.styles = ET.fromstring(docx.read("word/styles.xml"))
            self.theme = docx.read("word/theme/theme1.xml").decode("utf-8")
            relationships = ET.fromstring(docx.read("word/_rels/document.xml.rels"))
            self.media = {name: docx.read(name) for name in docx.namelist() if "/media/" in name}
        self.targets = {
            rel.get("Id"): rel.get("Target") for rel in relationships.iterfind("rel:*", NS)
        }

    @staticmethod
    def text(element: ET.Element) -> str:
        """The text of an element as Word shows it: a break is a line break."""
        parts = []
        for node in element.iter():
            if node.tag == _w("t") or node.tag == _w("instrText"):
                parts.append(node.text or "")
            elif node.tag in (_w("br"), _w("cr")):
                parts.append("\n")
        return "".join(parts)

    def paragraphs(self, style: str) -> list[str]:
        """The text of each paragraph in the style ``style`` (its id), in order."""
        found = self.document.iterfind(f".//w:p/w:pPr/w:pStyle[@w:val='{style}']/../..", NS)
        return [_plain(self.text(paragraph)) for paragraph in found]

    @property
    def plain(self) -> str:
        return _plain(self.text(self.document))


class _Html(HTMLParser):
    """What the HTML edition shows: tables and their captions, notes, titles, pictures.

    A diagram's values (``details.figure-data``) are HTML's alone and not counted.
    """

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables = 0
        self.captions: list[str] = []
        self.notes: list[str] = []
        self.diagram_titles: list[str] = []
        self.pictures: list[str] = []
        self.pagebreaks = 0
        self._in: list[tuple[str, str]] = []  # open elements: (tag, the class they count as)
        self._data: dict[str, list[str]] = {}
        self.feed(page)

    def _counted(self) -> bool:
        return not any(kind == "figure-data" for _, kind in self._in)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        kind = next((c for c in ("note", "diagram-title", "figure-data") if c in classes), "")
        if tag in ("img", "svg") and attributes.get("role") == "img" and self._counted():
            self.pictures.append(attributes.get("aria-label") or attributes.get("alt") or "")
        if tag == "div" and "pagebreak" in classes:
            self.pagebreaks += 1
        if tag == "table" and self._counted():
            self.tables += 1
        if tag in ("img", "br", "col", "meta", "link", "hr", "input"):
            return
        self._in.append((tag, kind))
        if tag in ("caption", "p"):
            self._data[tag] = []

    def handle_endtag(self, tag: str) -> None:
        if not self._in or self._in[-1][0] != tag:
            return
        self._in.pop()
        text = _plain(" ".join(self._data.pop(tag, [])))
        kinds = [kind for _, kind in self._in]
        if tag == "caption" and self._counted():
            self.captions.append(text)
        elif tag == "p" and "note" in kinds and self._counted():
            self.notes.append(text)
        elif tag == "p" and "diagram-title" in kinds:
            self.diagram_titles.append(text)

    def handle_data(self, data: str) -> None:
        for parts in self._data.values():
            parts.append(data)


def _edition(lang: str) -> dict:
    """The hostile edition's fields in one language."""
    return {k: v[lang] if isinstance(v, dict) else v for k, v in EDITION.items()}


def _agency_styles(path: Path) -> Path:
    """An agency's reference.docx at `path`: rehabstats' own, its text font changed."""
    with zipfile.ZipFile(REFERENCE_DOCX) as source, zipfile.ZipFile(path, "w") as target:
        for member in source.infolist():
            data = source.read(member)
            if member.filename == "word/theme/theme1.xml":
                data = data.replace(b"Source Serif Pro", AGENCY_FONT.encode())
            target.writestr(member, data)
    return path


@pytest.fixture(scope="module")
def report(small_register: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`rehabstats render --format html docx` of a hostile file under a hostile edition,
    in a project made by `rehabstats new` with the agency's reference.docx."""
    directory = tmp_path_factory.mktemp("docx-report")
    data = directory / HOSTILE_NAME
    write_csv(small_register, data)
    edition = directory / "edition.yaml"
    edition.write_text(yaml.safe_dump(EDITION, allow_unicode=True), encoding="utf-8")
    project = directory / "project"
    assert main(["new", str(project)]) == 0
    _agency_styles(project / "reference.docx")
    out = directory / "out"
    argv = ["render", str(data), "--out", str(out), "--edition", str(edition)]
    argv += ["--project", str(project), "--lang", *LANGS, "--format", "html", "docx"]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def word(report: Path) -> dict[str, _Word]:
    return {lang: _Word(report / lang / "report.docx") for lang in LANGS}


@pytest.fixture(scope="module")
def html(report: Path) -> dict[str, _Html]:
    return {lang: _Html((report / lang / "report.html").read_text("utf-8")) for lang in LANGS}


@pytest.mark.render
@pytest.mark.parametrize("lang", LANGS)
def test_every_table_is_a_word_table_under_its_caption(word, html, lang: str) -> None:
    docx, page = word[lang], html[lang]
    tables = docx.document.findall(".//w:tbl", NS)
    assert page.tables >= 17 and len(tables) == page.tables
    assert docx.paragraphs("TableCaption") == page.captions
    described = [table.find("w:tblPr/w:tblCaption", NS).get(_w("val")) for table in tables]
    assert [_plain(text) for text in described] == page.captions


@pytest.mark.render
@pytest.mark.parametrize("lang", LANGS)
def test_every_note_and_diagram_title_is_in_its_style(word, html, lang: str) -> None:
    docx, page = word[lang], html[lang]
    assert page.notes and docx.paragraphs("Note") == page.notes
    assert page.diagram_titles and docx.paragraphs("DiagramTitle") == page.diagram_titles


@pytest.mark.render
@pytest.mark.parametrize("lang", LANGS)
def test_every_figure_is_a_png_with_its_alt_text(report, word, html, lang: str) -> None:
    docx, page = word[lang], html[lang]
    figures = sorted((report / lang / "figures").glob("*.svg"))
    pictures = docx.document.findall(".//wp:inline", NS)
    assert len(figures) == len(page.pictures) == len(pictures) >= 5
    descriptions = [picture.find("wp:docPr", NS).get("descr") for picture in pictures]
    assert all(descriptions) and descriptions == page.pictures
    embedded = [
        docx.targets[blip.get(f"{{{NS['r']}}}embed")]
        for blip in docx.document.iterfind(".//a:blip", NS)
    ]
    assert len(embedded) == len(pictures)
    assert all(target.endswith(".png") for target in embedded)
    assert len(docx.media) == len(pictures)
    assert all(data.startswith(PNG_SIGNATURE) for data in docx.media.values())


@pytest.mark.render
@pytest.mark.parametrize("lang", LANGS)
def test_contents_page_breaks_and_language(word, html, lang: str) -> None:
    docx, page = word[lang], html[lang]
    fields = [_Word.text(node) for node in docx.document.iterfind(".//w:instrText", NS)]
    assert any(field.strip().startswith("TOC ") for field in fields)
    toc_title = Glossary.load(REPORTS_DIR / "glossary", lang)["toc_title"]
    assert docx.paragraphs("TOCHeading") == [toc_title]
    breaks = docx.document.findall(".//w:br[@w:type='page']", NS)
    assert page.pagebreaks >= 5 and len(breaks) == page.pagebreaks
    languages = {node.get(_w("val")) for node in docx.styles.iter(_w("lang"))}
    assert languages == {WORD_LANG[lang]}


@pytest.mark.render
def test_the_styles_and_page_are_the_projects_reference_docx(word) -> None:
    docx = word["sv"]
    assert f'<a:latin typeface="{AGENCY_FONT}"/>' in docx.theme
    assert '<a:latin typeface="Source Sans Pro"/>' in docx.theme
    names = {style.find("w:name", NS).get(_w("val")) for style in docx.styles.iter(_w("style"))}
    assert {"Note", "Diagram Title", "Table Caption"} <= names
    size = docx.document.find("w:body/w:sectPr/w:pgSz", NS)
    assert (size.get(_w("w")), size.get(_w("h"))) == ("11906", "16838")  # A4


@pytest.mark.render
@pytest.mark.parametrize("lang", LANGS)
def test_the_file_name_and_edition_are_text_in_word(word, lang: str) -> None:
    docx, edition = word[lang], _edition(lang)
    assert docx.paragraphs("Title") == [_plain(edition["title"])]
    assert docx.paragraphs("Subtitle") == [_plain(edition["subtitle"])]
    assert docx.paragraphs("Author") == [_plain(a) for a in edition["author"]]
    (cover,) = docx.paragraphs("Date")
    assert f"{edition['series']} {edition['number']}" in cover
    assert f"{edition['publisher']} · {edition['contact']}" in cover
    assert _plain(HOSTILE_NAME) in docx.plain
    links = [t for t in docx.targets.values() if re.match(r"\s*(javascript|data):", t, re.I)]
    assert not links


def _notebook(path: Path, markdown: str, metadata: dict) -> Path:
    """A notebook of one Markdown cell under the front matter `metadata`, at `path`."""
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)]), path)
    set_front_matter(path, metadata)
    return path


def test_each_hostile_string_is_text_in_word(tmp_path: Path) -> None:
    """The corpus of test_hostile_input, each string in a note, and raw OpenXML in a
    line: each prints as written, and nothing of it becomes Word markup."""
    notes = (
        f"::: {{.note}}\nBEGIN{i}\n\n{fmt.markdown_literal(text)}\n\nEND{i}\n:::"
        for i, text in enumerate(CORPUS)
    )
    raw = "Raw `<w:r><w:t>injected</w:t></w:r>`{=openxml} stays text."
    notebook = _notebook(tmp_path / "hostile.ipynb", "\n\n".join([*notes, raw]), METADATA)
    docx = _Word(render_notebook(notebook, tmp_path / "out", "report", ["docx"])["docx"])
    shown = docx.paragraphs("Note")
    expected = [[f"BEGIN{i}", _plain(text), f"END{i}"] for i, text in enumerate(CORPUS)]
    assert shown == [line for lines in expected for line in lines]
    assert "Raw <w:r><w:t>injected</w:t></w:r> stays text." in docx.plain
    assert docx.paragraphs("Title") == [_plain(METADATA["title"])]
    assert docx.paragraphs("Author") == METADATA["author"]
    assert all("javascript" not in target for target in docx.targets.values())
    assert '<a:latin typeface="Source Serif Pro"/>' in docx.theme  # rehabstats' own styles
    assert '<a:latin typeface="Source Sans Pro"/>' in docx.theme


def test_a_missing_reference_docx_is_refused_before_writing(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "n.ipynb", "Text", {"title": "T"})
    missing = tmp_path / "nowhere" / "reference.docx"
    with pytest.raises(ResourceError, match=r"nowhere/reference\.docx: the Word styles"):
        render_notebook(notebook, tmp_path / "out", "report", ["docx"], reference_docx=missing)
    assert not (tmp_path / "out").exists()


def test_the_shipped_reference_docx_is_what_its_tool_writes() -> None:
    """tools/reference_docx.py writes the committed file, byte for byte: run it (and
    commit the file) after pandoc is upgraded."""
    assert REFERENCE_DOCX.read_bytes() == reference_docx()
