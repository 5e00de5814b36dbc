"""Every user-supplied string is text, never markup (issue 15, item 3).

A hostile corpus — HTML and JavaScript, Markdown, maths, citations, Typst code,
backslashes and quotes — is rendered by the engine as report text and as front matter,
and as a data file's name and an edition's fields through the whole report in both
languages, to HTML and PDF: each string prints exactly as written, and nothing in it runs
(no script or SVG element, no event handler, no ``javascript:`` link, no emphasis, maths
or citation made of it, and the PDF keeps its A4 pages).
"""

from __future__ import annotations

import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from pypdf import PdfReader

from rehabstats.data.loading import write_csv
from rehabstats.engine.batch import PartOutcome, _index_page
from rehabstats.engine.pipeline import REPORTS_DIR, RenderedReport, RenderOptions, render_report
from rehabstats.engine.render import RenderError, render_notebook, set_front_matter
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import DatasetInfo
from rehabstats.reporting.tables import Table
from tests.conftest import axe_check

LANGS = ("sv", "en")
A4_WIDTH = 595.28  # points
# Strings that pandoc's Markdown, HTML or Typst would read as markup if they were not text.
CORPUS = (
    "a_b*[x]#<y> @cite $x$ <svg onload=alert(1)>.csv",
    "<script>alert(1)</script>",
    "[1](javascript:alert(1)) <javascript:alert(2)>",
    "*bold* **strong** __b__ _it_ `code` ~~gone~~ ^sup^ H~2~O",
    "$x$ $$y = 1$$ \\(z\\) \\begin{equation}",
    "@ref [@ref] [-@ref; @other p. 3] a@b.se",
    "#set page(width: 1cm) #pagebreak() = heading <label> @label",
    "\\ back\\slash \\\\ double \\n \\*",
    "\"double\" 'single' it's \u201ccurly\u201d",
    "a -- b --- c ... d .. e .... -5 x-?y",
    "// not a comment /* nor this */ https://x.se",
    "<!-- hidden? --> &amp; &#124; &lt; & < >",
    "[^1] ^[note] {=html} {.class} ![img](x.png)",
    "| a | b |",
    "1,27*** 4\u00a0028 <0,001 p < 0,001 ..",
    "- item",
    "+ item",
    "1. one",
    "a) letter",
    "(iv) roman",
    ": definition",
    "::: {.note}",
    "> quote",
    "= Typst heading",
    "/ term: Typst term",
    "% title",
    "~~~",
    "```",
)
# The front matter of an edition in which every field is hostile.
METADATA = {
    "title": "<script>alert(1)</script> *bold* $x$ @ref",
    "subtitle": "[1](javascript:alert(1)) #set page(width: 1cm) <img src=x onerror=alert(1)>",
    "series": "Serie \"citat\" 'enkel' -- x ... -5",
    "number": "2024:1 ~sub~ ^sup^ & &amp;",
    "publisher": "Förlag <b>fet</b> \\ back\\slash // not a comment",
    "contact": "<a@b.se> [c](data:text/html,<script>alert(3)</script>)",
    "author": ["- Anna *A*", "1. Erik $e$", "= Karin @karin"],
    "date": "1 maj 2024",
    "lang": "sv",
    "toc-title": "Innehåll <i>",
    "running-header": "#pagebreak() = Rubrik <lbl>",
}
HOSTILE_NAME = "a_b*[x]#<y> @cite $x$ `*c*` <svg onload=alert(1)> 'q' \"qq\" \\ -- ....csv"
EDITION = {
    "series": {"sv": "Serie \"citat\" 'enkel' -- x ... -5", "en": 'Series "quoted" -- x ...'},
    "number": "2024:1 ~sub~ ^sup^ & &amp;",
    "title": {
        "sv": "<script>alert(1)</script> *bold* _it_ $x$ @ref",
        "en": "<script>alert(2)</script> **strong** $$y$$ [@ref]",
    },
    "subtitle": "[1](javascript:alert(1)) #set page(width: 1cm) <img src=x onerror=alert(1)>",
    "running-header": "#pagebreak() = Rubrik \\ back\\slash @ref <lbl>",
    "publisher": 'Förlag <b>fet</b> & Co\'s "kontor" // not a comment',
    "author": ["- Anna *A*", "1. Erik $e$"],
    "contact": "<a@b.se> [c](data:text/html,<script>alert(3)</script>)",
    "date": "2024-05-01",
}
# Elements that text must never turn into: scripts, SVG, emphasis, super- and
# subscripts, strikeout, quotations, maths (pandoc writes it as span.math).
FORBIDDEN_TAGS = {"script", "svg", "iframe", "object", "em", "strong", "sup", "sub", "del", "q"}


def _plain(text: str) -> str:
    """Text with all whitespace (no-break spaces too) collapsed to single spaces."""
    return " ".join(text.split())


class _Html(HTMLParser):
    """An HTML page's elements, its text, its title and the text of each ``div.note``."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.title = ""
        self.notes: list[list[str]] = []
        self._note_depth = 0
        self._open = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        self._open = tag
        if tag == "div" and self._note_depth:
            self._note_depth += 1
        elif tag == "div" and "note" in (attributes.get("class") or "").split():
            self._note_depth = 1
            self.notes.append([])

    def handle_endtag(self, tag: str) -> None:
        self._open = ""
        if tag == "div" and self._note_depth:
            self._note_depth -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open == "title":
            self.title += data
        if self._note_depth:
            self.notes[-1].append(data)

    @property
    def plain(self) -> str:
        return _plain(" ".join(self.text))


def _assert_inert(page: _Html, allowed: frozenset[str] = frozenset()) -> None:
    """Nothing on the page runs or is markup made of text; `allowed` tags the page uses."""
    tags = {tag for tag, _ in page.elements}
    assert not tags & (FORBIDDEN_TAGS - allowed), sorted(tags & FORBIDDEN_TAGS)
    for tag, attributes in page.elements:
        handlers = [name for name in attributes if name.startswith("on")]
        assert not handlers, (tag, handlers)
        assert "math" not in (attributes.get("class") or "").split(), tag
        assert "citation" not in (attributes.get("class") or "").split(), tag
        href = (attributes.get("href") or "").strip().lower()
        assert not href.startswith(("javascript:", "data:", "vbscript:")), (tag, href)


def _notebook(path: Path, markdown: str, metadata: dict) -> Path:
    """A notebook of one Markdown cell under the front matter `metadata`, at `path`."""
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)]), path)
    set_front_matter(path, metadata)
    return path


def _squeezed(text: str) -> str:
    """Text without whitespace: Typst may break a line anywhere it allows, even in "$$"."""
    return "".join(text.split())


def _pdf_pages(path: Path) -> list[str]:
    """The text of each page of a PDF, without whitespace (see :func:`_squeezed`)."""
    return [_squeezed(page.extract_text()) for page in PdfReader(path).pages]


def _assert_pdf_inert(path: Path) -> None:
    """Every page is A4 (``#set page(width: 1cm)`` did not run) and links only to the web."""
    for page in PdfReader(path).pages:
        assert abs(float(page.mediabox.width) - A4_WIDTH) < 1
        for annotation in page.get("/Annots") or []:
            uri = str(annotation.get_object().get("/A", {}).get("/URI", "https:"))
            assert uri.startswith(("https:", "http:")), uri


# --- markdown_literal ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1,27***", "1,27\\*\\*\\*"),
        ("4\u00a0028", "4\u00a0028"),
        ("..", ".."),
        ("0.05", "0.05"),
        ("Källa: data.csv", "Källa: data.csv"),
        ("a|b", "a&#124;b"),
        ("line\nbreak", "line break"),
        ("note\n\nsource", "note\n\nsource"),
        ("- item", "\\- item"),
        ("1. one", "1\\. one"),
    ],
)
def test_markdown_literal_escapes_markup_and_keeps_numbers_readable(value, expected) -> None:
    assert fmt.markdown_literal(value) == expected


def test_a_pipe_or_line_break_stays_in_its_table_cell(tmp_path: Path) -> None:
    cells = ("| a | b |", "line\nbreak", "<b>x</b>")
    table = Table("Tabell 9", "| Test *x*", ("", "A", "B"), (cells,), ("Anm: *n*",), "Källa: $x$")
    notebook = _notebook(tmp_path / "table.ipynb", table.markdown(), {"title": "T", "lang": "sv"})
    html = render_notebook(notebook, tmp_path, "table", ["html"])["html"]
    page = _Html(html.read_text(encoding="utf-8"))
    _assert_inert(page)
    tags = [tag for tag, _ in page.elements]
    assert tags.count("td") == 2 and tags.count("tr") == 2  # and the row's label a <th>
    assert "Tabell 9 | Test *x*" in page.plain
    assert "| a | b | line break <b>x</b>" in page.plain
    assert "Anm: *n* Källa: $x$" in page.plain


# --- the engine: report text and front matter ---------------------------------------------


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A notebook showing the corpus as report text, each string in its own note, under
    hostile front matter, rendered to HTML and PDF by the engine."""
    directory = tmp_path_factory.mktemp("hostile-engine")
    notes = (
        f"::: {{.note}}\nBEGIN{i}\n\n{fmt.markdown_literal(text)}\n\nEND{i}\n:::"
        for i, text in enumerate(CORPUS)
    )
    markdown = "# Korpus\n\n" + "\n\n".join(notes)
    notebook = _notebook(directory / "hostile.ipynb", markdown, METADATA)
    return render_notebook(notebook, directory / "out", "report", ["html", "pdf"])


def test_the_html_shows_each_string_as_written(engine: dict[str, Path]) -> None:
    page = _Html(engine["html"].read_text(encoding="utf-8"))
    _assert_inert(page)
    shown = [_plain(" ".join(note)) for note in page.notes]
    assert shown == [f"BEGIN{i} {_plain(text)} END{i}" for i, text in enumerate(CORPUS)]


def test_the_pdf_shows_each_string_as_written(engine: dict[str, Path]) -> None:
    _assert_pdf_inert(engine["pdf"])
    body = "".join(_pdf_pages(engine["pdf"])[2:])
    for i, text in enumerate(CORPUS):
        assert _squeezed(f"BEGIN{i} {text} END{i}") in body


def test_the_front_matter_is_text_in_html(engine: dict[str, Path]) -> None:
    page = _Html(engine["html"].read_text(encoding="utf-8"))
    _assert_inert(page)
    assert page.title == METADATA["title"]
    for key in ("title", "subtitle", "publisher", "contact", "toc-title"):
        assert _plain(METADATA[key]) in page.plain, key
    assert f"{METADATA['series']} {METADATA['number']}" in page.plain
    assert ", ".join(METADATA["author"]) in page.plain


def test_the_front_matter_is_text_in_pdf(engine: dict[str, Path]) -> None:
    cover, toc = _pdf_pages(engine["pdf"])[:2]
    for key in ("title", "subtitle", "series", "number", "publisher", "contact", "date"):
        assert _squeezed(METADATA[key]) in cover, key
    assert _squeezed("".join(METADATA["author"])) in cover
    assert _squeezed(METADATA["running-header"] + METADATA["toc-title"]) in toc


QUARTO_STAND_IN = """#!{python}
# Stands in for Quarto: copies the notebook it is given to the --output file.
import shutil, sys
arguments = sys.argv[1:]
shutil.copyfile(arguments[1], arguments[arguments.index("--output") + 1])
"""


def test_quarto_is_given_the_front_matter_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--engine quarto`` escapes the front matter as the built-in engine does. Quarto is
    not installed here: a stand-in on the PATH returns the notebook Quarto would read."""
    tools = tmp_path / "bin"
    tools.mkdir()
    quarto = tools / "quarto"
    quarto.write_text(QUARTO_STAND_IN.format(python=sys.executable), encoding="utf-8")
    quarto.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    notebook = _notebook(tmp_path / "report.ipynb", "# Text", METADATA)
    given = render_notebook(notebook, tmp_path / "out", "report", ["html"], engine="quarto")
    front = nbformat.read(given["html"], as_version=4).cells[0].source
    metadata = next(yaml.safe_load_all(front))
    assert metadata["title"] == fmt.markdown_literal(METADATA["title"])
    assert metadata["author"] == [fmt.markdown_literal(name) for name in METADATA["author"]]
    assert metadata["subtitle"] == fmt.markdown_literal(METADATA["subtitle"])
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == ["report.ipynb"]  # no copy left
    assert next(yaml.safe_load_all(nbformat.read(notebook, 4).cells[0].source)) == METADATA


def test_markup_that_reaches_pandoc_runs_nothing(tmp_path: Path) -> None:
    """Under the escaping, the engine's filter keeps markup written into a report from
    running: raw HTML and inline raw Typst print as text, a link to another scheme than
    http(s) or mailto is only its text, and event handlers are dropped (a span stays a
    span); a comment stays hidden."""
    markup = (
        "<!-- a comment -->\n\n<script>alert(1)</script>\n\n"
        "Text <svg onload=alert(1)> and <span onmouseover=alert(2)>a span</span>, "
        "[a link](javascript:alert(3)), [b]{onclick=alert(4)}, `#set page(width: 1cm)`{=typst} "
        "and [web](https://x.se).\n"
    )
    notebook = _notebook(tmp_path / "markup.ipynb", markup, {"title": "Markup", "lang": "sv"})
    rendered = render_notebook(notebook, tmp_path, "markup", ["html", "pdf"])
    html = rendered["html"].read_text(encoding="utf-8")
    page = _Html(html)
    _assert_inert(page)
    assert "<script>alert(1)</script>" in page.plain
    assert "Text <svg onload=alert(1)> and a span" in page.plain
    assert "a link" in page.plain and "#set page(width: 1cm) and web" in page.plain
    assert ("a", {"href": "https://x.se"}) in page.elements
    assert "a comment" not in html
    _assert_pdf_inert(rendered["pdf"])
    assert _squeezed("b, #set page(width: 1cm) and web") in "".join(_pdf_pages(rendered["pdf"]))


SVG_FIGURE = (
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10pt" height="5pt" '
    'viewBox="0 0 10 5"><metadata>made by hand</metadata><defs><clipPath id="c">'
    '<rect width="4" height="5"/></clipPath></defs><rect clip-path="url(#c)" width="10" '
    'height="5"/></svg>\n'
)
# A PNG of one white pixel.
PNG_PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478"
    "9c63f8ffff3f0005fe02fea7d6a4e10000000049454e44ae426082"
)


def test_only_the_filters_svg_figures_are_drawn_inline(tmp_path: Path) -> None:
    """An SVG figure is drawn inline after pandoc: named by its alt text (escaped), its
    size left to the style sheet, its metadata gone and its ids prefixed by its file's
    name. The mark that asks for it, written by a source on another image, is taken
    off: that image stays an <img>, embedded, and no file is read into the page."""
    (tmp_path / "fig 1.svg").write_text(SVG_FIGURE, encoding="utf-8")
    (tmp_path / "pixel.png").write_bytes(PNG_PIXEL)
    markup = (
        "![A figure <b>& more</b>](fig 1.svg)\n\n"
        '![A pixel](pixel.png){data-inline-svg="fig 1.svg"}\n'
    )
    notebook = _notebook(tmp_path / "figures.ipynb", markup, {"title": "Figures", "lang": "sv"})
    html = render_notebook(notebook, tmp_path, "figures", ["html"])["html"].read_text("utf-8")
    page = _Html(html)
    svgs = [attributes for tag, attributes in page.elements if tag == "svg"]
    assert svgs == [
        {
            "class": "figure",
            "role": "img",
            "aria-label": "A figure <b>& more</b>",
            "xmlns": "http://www.w3.org/2000/svg",
            "viewbox": "0 0 10 5",
        }
    ]
    assert 'aria-label="A figure &lt;b&gt;&amp; more&lt;/b&gt;"' in html
    assert '<clipPath id="fig-1-c">' in html and 'clip-path="url(#fig-1-c)"' in html
    assert "made by hand" not in html and "data-inline-svg" not in html
    images = [attributes for tag, attributes in page.elements if tag == "img"]
    assert [image["alt"] for image in images] == ["A pixel"]
    assert images[0]["src"].startswith("data:image/png;base64,")


def test_an_image_at_an_address_is_refused_not_fetched(tmp_path: Path) -> None:
    """The page would load it whenever it is read: RenderError naming it, with no
    attempt to fetch it (the render runs without the network)."""
    markup = "![A tracker](https://example.invalid/pixel.png?reader=1)\n"
    notebook = _notebook(tmp_path / "remote.ipynb", markup, {"title": "Remote", "lang": "sv"})
    address = re.escape("https://example.invalid/pixel.png?reader=1")
    with pytest.raises(RenderError, match=rf"^the image {address} is an address"):
        render_notebook(notebook, tmp_path, "remote", ["html"])


# --- the whole report ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(small_register: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    """The report of a register extract with a hostile name, under a hostile edition, in
    both languages and formats."""
    directory = tmp_path_factory.mktemp("hostile-report")
    data = directory / HOSTILE_NAME
    write_csv(small_register, data)
    edition = directory / "edition.yaml"
    edition.write_text(yaml.safe_dump(EDITION, allow_unicode=True), encoding="utf-8")
    return render_report(data, directory / "out", langs=LANGS, edition_path=edition)


def _edition(lang: str) -> dict:
    """The hostile edition's fields in one language."""
    return {k: v[lang] if isinstance(v, dict) else v for k, v in EDITION.items()}


def _source_line(lang: str) -> str:
    """The "Källa:" line of every table, naming the hostile data file."""
    glossary = Glossary.load(REPORTS_DIR / "glossary", lang)
    return _plain(f"{glossary['source']} {glossary.fill('source_text', dataset=HOSTILE_NAME)}")


@pytest.mark.render
@pytest.mark.parametrize("lang", LANGS)
def test_the_report_html_shows_file_name_and_edition_as_written(
    report: RenderedReport, lang: str
) -> None:
    page = _Html(report.documents[lang]["html"].read_text(encoding="utf-8"))
    # the report's own bold, italics and figures (inline SVG, one per figure file)
    _assert_inert(page, allowed=frozenset({"strong", "em", "svg"}))
    svgs = [attributes for tag, attributes in page.elements if tag == "svg"]
    assert len(svgs) == len(list((report.out / lang / "figures").glob("*.svg")))
    assert all(attributes.get("class") == "figure" for attributes in svgs)
    edition = _edition(lang)
    assert page.title == edition["title"]
    for key in ("title", "subtitle", "publisher", "contact"):
        assert _plain(edition[key]) in page.plain, key
    assert f"{edition['series']} {edition['number']}" in page.plain
    assert ", ".join(edition["author"]) in page.plain
    assert _source_line(lang) in page.plain
    assert _plain(HOSTILE_NAME) in page.plain


@pytest.mark.render
@pytest.mark.parametrize("lang", LANGS)
def test_the_report_pdf_shows_file_name_and_edition_as_written(
    report: RenderedReport, lang: str
) -> None:
    path = report.documents[lang]["pdf"]
    _assert_pdf_inert(path)
    pages = _pdf_pages(path)
    edition = _edition(lang)
    for key in ("title", "subtitle", "series", "number", "publisher", "contact"):
        assert _squeezed(edition[key]) in pages[0], key
    assert _squeezed("".join(edition["author"])) in pages[0]
    assert _squeezed(edition["running-header"]) in pages[1]
    assert _squeezed(_source_line(lang)) in "".join(pages[2:])
    assert _squeezed(HOSTILE_NAME) in pages[-1]  # the provenance, which names the file


@pytest.mark.render
@pytest.mark.parametrize("lang", LANGS)
def test_the_report_runs_nothing_in_a_browser(report: RenderedReport, lang: str) -> None:
    """Opened in headless Chromium, the page raises no dialog and no error, and holds no
    script, frame, event handler or link to another scheme than http(s) and mailto; its
    only SVG are its figures."""
    found = axe_check(report.documents[lang]["html"], 1280)
    assert found["dialogs"] == [] and found["page_errors"] == []
    dom = found["dom"]
    assert dom["scripts"] == dom["iframes"] == 0
    assert dom["handlers"] == [] and dom["links"] == []
    assert dom["svgs"] == len(list((report.out / lang / "figures").glob("*.svg")))


# --- the --by index page ------------------------------------------------------------------


def test_the_index_page_shows_the_file_name_as_written(tmp_path: Path) -> None:
    dataset = DatasetInfo(HOSTILE_NAME, 600, "0" * 64)
    outcomes = [
        PartOutcome("stockholm", 400, tmp_path / "stockholm"),
        PartOutcome("dalarna", 200, None, "no declined", ("declined",)),
    ]
    options = RenderOptions(langs=LANGS, formats=("html", "pdf"))
    index = _index_page(tmp_path, "county", dataset, outcomes, options)
    page = _Html(index.read_text(encoding="utf-8"))
    _assert_inert(page)
    assert page.plain.count(HOSTILE_NAME) == len(LANGS)
    links = [attributes["href"] for tag, attributes in page.elements if tag == "a"]
    formats = ("html", "pdf")
    assert links == [f"stockholm/{lang}/report.{form}" for lang in LANGS for form in formats]
