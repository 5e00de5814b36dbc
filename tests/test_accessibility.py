"""The report is accessible as the law asks (issue 15, items 1 and 2).

The PDF: PDF/UA-1 and PDF/A-2a as Typst checks them while it compiles, a language, and
alt text on every figure; an image without alt text fails the render. The HTML, in both
languages: no violation axe-core finds (WCAG 2.0–2.2 A and AA, best practice) in Debian's
headless Chromium, at 1280 and at 320 pixels, with nothing wider than a phone's screen
but the tables, which scroll in their own box; row and column headers; the English of the
Swedish report (and the Swedish of the English one) marked; figures whose text can be
selected; each Kaplan–Meier diagram's values as a table, checked against tables.json.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from rehabstats.engine.pipeline import REPORTS_DIR, RenderedReport
from rehabstats.engine.render import render_notebook, set_front_matter
from rehabstats.errors import RenderError
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.figures import AT_RISK_EVERY
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.specification import REPORT
from tests.conftest import axe_check

pytestmark = pytest.mark.render

LANGS = ("sv", "en")
WIDTHS = (1280, 320)
OTHER = {"sv": "en", "en": "sv"}
# The report's Kaplan–Meier diagrams: Diagram 1–3 and, in Bilaga 2, B1–B3.
KM_DIAGRAMS = 6


def _plain(text: str) -> str:
    """Text with its spaces (no-break spaces too) as single plain spaces."""
    return " ".join(text.split())


# --- the PDF ------------------------------------------------------------------------------


def _structure(node: object) -> list[DictionaryObject]:
    """Every structure element under `node` of a PDF's structure tree, depth first."""
    node = node.get_object()
    if isinstance(node, ArrayObject):
        return [element for kid in node for element in _structure(kid)]
    if isinstance(node, DictionaryObject) and "/S" in node:
        return [node, *(_structure(node["/K"]) if "/K" in node else [])]
    return []


@pytest.mark.parametrize("lang", LANGS)
def test_the_pdf_is_pdf_ua_1_and_pdf_a_2a(default_report: RenderedReport, lang: str) -> None:
    catalog = PdfReader(default_report.documents[lang]["pdf"]).trailer["/Root"]
    xmp = catalog["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r"pdfuaid:part(>|=\")1\b", xmp)
    assert re.search(r"pdfaid:part(>|=\")2\b", xmp)
    assert re.search(r"pdfaid:conformance(>|=\")A\b", xmp)
    assert catalog["/Lang"] == lang
    assert catalog["/MarkInfo"]["/Marked"]


@pytest.mark.parametrize("lang", LANGS)
def test_every_pdf_figure_has_alt_text(default_report: RenderedReport, lang: str) -> None:
    catalog = PdfReader(default_report.documents[lang]["pdf"]).trailer["/Root"]
    elements = _structure(catalog["/StructTreeRoot"]["/K"])
    figures = [e for e in elements if e["/S"] == "/Figure"]
    html = _Page(default_report.documents[lang]["html"])
    assert len(figures) == len(html.figures) == 8
    assert [str(f.get("/Alt", "")).strip() for f in figures] == [
        f["aria-label"] for f in html.figures
    ]
    assert all(f["aria-label"] for f in html.figures)


def test_an_image_without_alt_text_fails_the_render(tmp_path: Path) -> None:
    """PDF/UA-1 refuses it; the error names the image's file."""
    (tmp_path / "figures").mkdir()
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
    (tmp_path / "figures" / "no-alt.svg").write_text(svg, encoding="utf-8")
    notebook = tmp_path / "no-alt.ipynb"
    cell = nbformat.v4.new_markdown_cell("Text.\n\n![](figures/no-alt.svg){width=50%}\n")
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), notebook)
    set_front_matter(notebook, {"title": "Alt", "lang": "sv"})
    with pytest.raises(RenderError, match=r"missing alt text.*no-alt\.svg"):
        render_notebook(notebook, tmp_path / "out", "report", ["pdf"])
    assert not (tmp_path / "out" / "report.pdf").exists()


# --- the HTML: axe-core in Chromium -------------------------------------------------------


@pytest.fixture(scope="module")
def axe(default_report: RenderedReport) -> dict[tuple[str, int], dict]:
    """axe-core's findings on each language's page at each width."""
    return {
        (lang, width): axe_check(default_report.documents[lang]["html"], width)
        for lang in LANGS
        for width in WIDTHS
    }


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LANGS)
def test_axe_finds_no_violation(axe: dict, lang: str, width: int) -> None:
    found = axe[lang, width]
    violations = {v["id"]: [n["target"] for n in v["nodes"][:3]] for v in found["violations"]}
    assert violations == {}
    assert found["dialogs"] == [] and found["page_errors"] == []
    assert found["overflow"]["offenders"] == []
    assert not found["overflow"]["overflows"], found["overflow"]["document_scroll_width"]


# --- the HTML's structure -----------------------------------------------------------------


class _Page(HTMLParser):
    """A report page's tables (caption, head and body cells, inside a <details> or not),
    its inline figures and its text, each piece with the language it is marked in."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self.figures: list[dict[str, str]] = []
        self.svg_text: list[list[str]] = []
        self.text: list[tuple[str, str]] = []  # (language, text)
        self.regions: list[dict[str, str]] = []
        self._langs: list[tuple[str, str]] = []  # (tag, lang) of the open elements
        self._details = 0
        self._cell: dict | None = None
        self._part = ""
        self._caption: list[str] | None = None
        self._in_svg_text = False
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if "lang" in attributes:
            self._langs.append((tag, attributes["lang"]))
        if tag == "details":
            self._details += 1
        elif tag == "div" and "table-scroll" in attributes.get("class", ""):
            self.regions.append(attributes)
        elif tag == "table":
            self.tables.append({"caption": "", "head": [], "bodies": [], "details": self._details})
        elif tag == "caption":
            self._caption = []
        elif tag in ("thead", "tbody"):
            self._part = tag
            if tag == "tbody":
                self.tables[-1]["bodies"].append([])
        elif tag == "tr":
            rows = (
                self.tables[-1]["head"] if self._part == "thead" else self.tables[-1]["bodies"][-1]
            )
            rows.append([])
        elif tag in ("th", "td"):
            self._cell = {"tag": tag, "scope": attributes.get("scope"), "text": ""}
        elif tag == "svg" and "figure" in attributes.get("class", ""):
            self.figures.append(attributes)
            self.svg_text.append([])
        elif tag == "text" and self.svg_text:
            self._in_svg_text = True

    def handle_endtag(self, tag: str) -> None:
        if self._langs and self._langs[-1][0] == tag:
            self._langs.pop()
        if tag == "details":
            self._details -= 1
        elif tag == "caption" and self._caption is not None:
            self.tables[-1]["caption"] = _plain("".join(self._caption))
            self._caption = None
        elif tag in ("th", "td") and self._cell is not None:
            self._cell["text"] = _plain(self._cell["text"])
            rows = (
                self.tables[-1]["head"] if self._part == "thead" else self.tables[-1]["bodies"][-1]
            )
            rows[-1].append(self._cell)
            self._cell = None
        elif tag == "text":
            self._in_svg_text = False

    def handle_data(self, data: str) -> None:
        self.text.append((self._langs[-1][1] if self._langs else "", data))
        if self._caption is not None:
            self._caption.append(data)
        if self._cell is not None:
            self._cell["text"] += data
        if self._in_svg_text:
            self.svg_text[-1].append(data)


@pytest.fixture(scope="module")
def pages(default_report: RenderedReport) -> dict[str, _Page]:
    return {lang: _Page(default_report.documents[lang]["html"]) for lang in LANGS}


@pytest.mark.parametrize("lang", LANGS)
def test_every_table_has_row_and_column_headers(pages: dict[str, _Page], lang: str) -> None:
    page = pages[lang]
    report_tables = [t for t in page.tables if not t["details"]]
    assert len(report_tables) == 17 and len(page.tables) == 17 + KM_DIAGRAMS
    assert [r["aria-label"] for r in page.regions] == [t["caption"] for t in page.tables]
    assert all(r["role"] == "region" and r["tabindex"] == "0" for r in page.regions)
    for table in page.tables:
        head = [cell for row in table["head"] for cell in row]
        assert all(c["tag"] == "th" and c["scope"] == "col" and c["text"] for c in head), table
        for body in table["bodies"]:
            for row in body:
                assert row[0]["tag"] == "th" and row[0]["text"], (table["caption"], row)
                assert all(cell["tag"] == "td" for cell in row[1:]), (table["caption"], row)
            scopes = [row[0]["scope"] for row in body]
            # a group's heading opens its body; every other row header names its row
            assert set(scopes[1:]) <= {"row"} and scopes[0] in ("row", "rowgroup")


def test_the_group_headings_of_b1_to_b6_head_their_rows(pages: dict[str, _Page]) -> None:
    glossary = Glossary.load(REPORTS_DIR / "glossary", "sv")
    tables = {t["caption"].split()[1]: t for t in pages["sv"].tables if not t["details"]}
    b2 = tables["B2"]
    headings = [body[0][0]["text"] for body in b2["bodies"] if body[0][0]["scope"] == "rowgroup"]
    assert glossary.column("sex") in headings and glossary.column("county") in headings
    for key in ("B1", "B2", "B3", "B4", "B5", "B6"):
        groups = [body for body in tables[key]["bodies"] if body[0][0]["scope"] == "rowgroup"]
        assert groups and all(len(body) > 1 for body in groups), key


@pytest.mark.parametrize("lang", LANGS)
def test_text_in_the_other_language_is_marked(pages: dict[str, _Page], lang: str) -> None:
    """The references' titles in the Swedish report are English, and the model report's
    title in the English one Swedish: each is marked with its language."""
    marked = " ".join(text for language, text in pages[lang].text if language == OTHER[lang])
    unmarked = " ".join(text for language, text in pages[lang].text if language != OTHER[lang])
    foreign = {
        "sv": ("Journal of the American Statistical Association", "survival analysis in Python"),
        "en": ("Utvärdering av handläggningsprocessen inför deltagande i aktiv insats – en",),
    }[lang]
    for words in foreign:
        assert words in " ".join(marked.split())
        assert words not in " ".join(unmarked.split())


@pytest.mark.parametrize("lang", LANGS)
def test_the_figures_are_inline_svg_with_selectable_text(
    pages: dict[str, _Page], default_report: RenderedReport, lang: str
) -> None:
    page = pages[lang]
    html = default_report.documents[lang]["html"].read_text(encoding="utf-8")
    assert "data:image/svg+xml" not in html and "<img" not in html
    assert len(page.figures) == 8
    assert all(f["role"] == "img" and f["aria-label"] for f in page.figures)
    glossary = Glossary.load(REPORTS_DIR / "glossary", lang)
    words = [" ".join(" ".join(texts).split()) for texts in page.svg_text]
    km = [w for w in words if glossary["diagrams.at_risk"] in w]
    assert len(km) == KM_DIAGRAMS
    assert all(glossary["groups.control"] in w and glossary["diagrams.x_axis"] in w for w in km)


@pytest.mark.parametrize("lang", LANGS)
def test_each_km_diagram_has_its_values_as_a_table(
    pages: dict[str, _Page], default_report: RenderedReport, lang: str
) -> None:
    """Each group's cumulative share and number at risk on the diagram's marked days, as
    tables.json has them (".." where disclosure control hides one)."""
    glossary = Glossary.load(REPORTS_DIR / "glossary", lang)
    data = [t for t in pages[lang].tables if t["details"]]
    assert len(data) == KM_DIAGRAMS
    exported = json.loads(default_report.tables_json.read_text(encoding="utf-8"))
    for key, number in ((e.key, e.number) for e in REPORT if e.show == "km"):
        label = f"{glossary['diagram_word']} {number} "
        table = next(t for t in data if t["caption"].startswith(label))
        header = [cell["text"] for cell in table["head"][0]]
        rows = [[cell["text"] for cell in row] for body in table["bodies"] for row in body]
        curve = [r for r in exported[key] if r["day"] % AT_RISK_EVERY == 0]
        days = sorted({r["day"] for r in curve})
        assert [row[0] for row in rows] == [_plain(fmt.integer(day, lang)) for day in days]
        for r in curve:
            group = glossary[f"groups.{r['group']}"]
            row = rows[days.index(r["day"])]
            share = header.index(glossary.fill("diagrams.data_share", group=group))
            at_risk = header.index(glossary.fill("diagrams.data_at_risk", group=group))
            assert row[share] == _plain(fmt.percent(r["cum_share_pct"], lang)), (key, r)
            expected = fmt.MISSING if r["at_risk"] is None else fmt.integer(r["at_risk"], lang)
            assert row[at_risk] == _plain(expected), (key, r)
