"""End-to-end tests of the rendering engine on a tiny fixture notebook (no mocks)."""

from __future__ import annotations

import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pypandoc
import pytest
import yaml
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from rehabstats.engine import render as render_module
from rehabstats.engine.pipeline import render_report
from rehabstats.engine.render import (
    RenderError,
    bundled_pandoc,
    execute_notebook,
    render_notebook,
    set_front_matter,
)
from rehabstats.errors import OptionError
from tests.conftest import DEFAULT_DATA

FIXTURE = Path(__file__).parent / "fixtures" / "engine" / "report.ipynb"
# The font families a PDF may embed, by PostScript name: the two shipped with the
# project (rehabstats/engine/fonts.py), and Typst's own embedded monospace font, set for code.
ALLOWED_FONT_FAMILIES = {"SourceSerifPro", "SourceSansPro", "DejaVuSansMono"}
# A pandoc older than the bundled one, first on PATH: pypandoc's own lookup would take
# it (the newest version it finds), and it fails on the options the report uses.
FAKE_PANDOC = """#!/bin/sh
echo "$@" >> "{marker}"
if [ "$1" = "--version" ]; then echo "pandoc 99.0"; exit 0; fi
echo "pandoc: Unknown option --embed-resources." >&2
exit 1
"""
CAPTION = "Tabell 4 Uppgifter om avstämningsmöte, 2010"
METADATA = {
    "title": "Avstämningsmöten i sjukskrivningsprocessen",
    "subtitle": "En utvärdering av möten mellan försäkrad, arbetsgivare och vård",
    "series": "Socialförsäkringsrapport",
    "number": "2010:12",
    "publisher": "Försäkringskassan",
    "contact": "analys@forsakringskassan.se",
    "author": ["Anna Andersson", "Erik Öberg"],
    "date": "2010-11-30",
    "lang": "sv",
    "toc-title": "Innehåll",
    "running-header": "Avstämningsmöten",
}


def _execute(directory: Path, metadata: dict) -> Path:
    """Execute the fixture into `directory` (also its cwd) and set its front matter."""
    executed = execute_notebook(FIXTURE, {"year": 2010}, directory / "report.ipynb", directory)
    set_front_matter(executed, metadata)
    return executed


def _pdf_pages(path: Path) -> list[str]:
    """Extracted text per PDF page with all whitespace (incl. no-break spaces) collapsed."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(path).pages]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fixture rendered once to HTML and PDF in Swedish."""
    directory = tmp_path_factory.mktemp("engine")
    executed = _execute(directory, METADATA)
    return render_notebook(executed, directory / "out", "rapport", ["html", "pdf"])


def test_pdf_has_cover_toc_and_body(rendered: dict[str, Path]) -> None:
    pages = _pdf_pages(rendered["pdf"])
    assert len(pages) >= 3
    cover, toc = pages[:2]
    assert METADATA["title"] in cover
    assert "Socialförsäkringsrapport 2010:12" in cover
    assert not re.search(r"\b1$", cover), "the cover carries no page number"
    assert toc.startswith("Socialförsäkringsrapport 2010:12 Avstämningsmöten Innehåll")
    assert "Inledning" in toc


def test_pdf_body_has_table_caption_numbers_and_note(rendered: dict[str, Path]) -> None:
    body = " ".join(_pdf_pages(rendered["pdf"])[2:])
    assert CAPTION in body
    assert "1,27***" in body
    assert "4 028" in body
    assert "Anm: Andelen avser ärenden som pågått minst 60 dagar." in body
    assert "Källa: Försäkringskassan, egna bearbetningar." in body
    assert "Diagram 1 Antal avstämningsmöten per år" in body
    assert "stream output" not in body
    assert body.index(CAPTION) < body.index("Ärendegrupp"), "caption sits above the table"


def test_html_is_self_contained(rendered: dict[str, Path]) -> None:
    html = rendered["html"].read_text(encoding="utf-8")
    assert f"<caption>{CAPTION}</caption>" in html
    assert "data:image/png;base64" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html
    assert '<div class="note">' in html
    assert "<strong>Totalt</strong>" in html
    assert 'id="toc-title">Innehåll<' in html
    assert "4\u00a0028" in html
    assert "stream output" not in html


def test_english_pdf_uses_english_toc_title(tmp_path: Path) -> None:
    metadata = {**METADATA, "lang": "en", "toc-title": "Contents", "title": "Reconciliation"}
    executed = _execute(tmp_path, metadata)
    outputs = render_notebook(executed, tmp_path, "report", ["pdf"])
    assert set(outputs) == {"pdf"}
    assert "Contents" in _pdf_pages(outputs["pdf"])[1]


def test_set_front_matter_replaces_the_first_raw_cell(tmp_path: Path) -> None:
    notebook = tmp_path / "report.ipynb"
    shutil.copy(FIXTURE, notebook)
    set_front_matter(notebook, METADATA)
    set_front_matter(notebook, {**METADATA, "number": "2011:1"})
    nb = nbformat.read(notebook, as_version=4)
    assert [cell.cell_type for cell in nb.cells].count("raw") == 1
    front = yaml.safe_load(nb.cells[0].source.strip("-\n"))
    assert front == {**METADATA, "number": "2011:1"}


def test_unknown_parameter_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"unknown parameter.*colour"):
        execute_notebook(FIXTURE, {"year": 2010, "colour": "red"}, tmp_path / "x.ipynb", tmp_path)
    assert not (tmp_path / "x.ipynb").exists()


def test_failing_cell_names_the_cell_and_keeps_the_partial_notebook(tmp_path: Path) -> None:
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("# compute totals\nraise RuntimeError('boom')"))
    template = tmp_path / "broken.ipynb"
    nbformat.write(nb, template)
    output = tmp_path / "executed.ipynb"
    with pytest.raises(RenderError, match=r"cell \d+ \('# compute totals'\).*RuntimeError: boom"):
        execute_notebook(template, {}, output, tmp_path)
    executed = nbformat.read(output, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [e.evalue for e in errors] == ["boom"]
    assert (tmp_path / "figures" / "d1.png").exists(), "cells before the failure ran"


@pytest.mark.skipif(shutil.which("quarto") is not None, reason="Quarto is installed")
def test_quarto_engine_reports_missing_quarto(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="Quarto is not installed"):
        render_notebook(FIXTURE, tmp_path, "report", ["html"], engine="quarto")


def test_unknown_format_or_engine_is_rejected_before_writing(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="unknown format 'odt'; use html, pdf"):
        render_notebook(FIXTURE, tmp_path / "out", "report", ["odt"])
    with pytest.raises(OptionError, match="unknown engine 'latex'; use default, quarto"):
        render_notebook(FIXTURE, tmp_path / "out", "report", ["html"], engine="latex")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", ["html", "pdf"])
def test_missing_image_fails_instead_of_publishing_alt_text(tmp_path: Path, fmt: str) -> None:
    notebook = tmp_path / "missing.ipynb"
    cell = nbformat.v4.new_markdown_cell("# Diagram\n\n![Antal möten](figures/missing.png)")
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), notebook)
    set_front_matter(notebook, METADATA)
    with pytest.raises(RenderError, match=r"missing\.png"):
        render_notebook(notebook, tmp_path, "report", [fmt])


def _small_notebook(directory: Path) -> Path:
    """A one-cell report notebook with front matter, nothing to execute."""
    notebook = directory / "small.ipynb"
    cell = nbformat.v4.new_markdown_cell("# Inledning\n\nÅr 2010 – möten ≥ 3 gånger.")
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), notebook)
    set_front_matter(notebook, METADATA)
    return notebook


def test_pandoc_is_the_bundled_one_whatever_is_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renders in parallel threads never run another pandoc, not even the one
    PYPANDOC_PANDOC names."""
    marker = tmp_path / "fake-pandoc-ran"
    fake = tmp_path / "bin" / "pandoc"
    fake.parent.mkdir()
    fake.write_text(FAKE_PANDOC.format(marker=marker))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYPANDOC_PANDOC", str(fake))
    bundled_pandoc.cache_clear()
    notebook = _small_notebook(tmp_path)

    def render(index: int) -> dict[str, Path]:
        return render_notebook(notebook, tmp_path / f"out{index}", "report", ["html", "pdf"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(render, range(8)))
    assert all(path.stat().st_size > 0 for files in outputs for path in files.values())
    assert not marker.exists(), marker.read_text()
    assert Path(bundled_pandoc()).is_relative_to(Path(pypandoc.__file__).parent)


def test_a_missing_bundled_pandoc_names_the_package_to_reinstall(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pypandoc, "__file__", str(tmp_path / "pypandoc" / "__init__.py"))
    bundled_pandoc.cache_clear()  # a failed lookup is not cached: the next one finds it
    with pytest.raises(RenderError, match=r"reinstall it: pip install .*pypandoc-binary"):
        render_notebook(_small_notebook(tmp_path), tmp_path, "report", ["html"])


def test_typst_is_given_no_system_font(tmp_path: Path) -> None:
    """A font the project does not ship is unknown to Typst even where the system has it,
    and Typst's warning about it is an error rather than a PDF set in another font."""
    notebook = tmp_path / "font.ipynb"
    raw = '```{=typst}\n#text(font: "DejaVu Sans")[Avstämningsmöte]\n```'
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(raw)]), notebook)
    set_front_matter(notebook, METADATA)
    with pytest.raises(RenderError, match="unknown font family: dejavu sans"):
        render_notebook(notebook, tmp_path, "report", ["pdf"])
    assert not (tmp_path / "report.pdf").exists()


def test_html_names_the_pdf_fonts_first_and_embeds_the_figures_one(
    rendered: dict[str, Path],
) -> None:
    """Source Sans Pro, in which the inline figures' text is set, is embedded in its four
    styles; the running text's Source Serif Pro is named, with fallbacks."""
    html = rendered["html"].read_text(encoding="utf-8")
    assert 'font-family: "Source Serif Pro",' in html
    assert 'font-family: "Source Sans Pro",' in html
    faces = re.findall(r'@font-face \{ font-family: "([^"]+)"[^}]*url\(data:font/ttf;base64,', html)
    assert faces == ["Source Sans Pro"] * 4


def _embedded_fonts(pdf: Path) -> dict[str, set[str]]:
    """Every font in the PDF, figures' form XObjects included: PostScript name (subset
    tag dropped) -> its font-file keys (/FontFile2 is TrueType, /FontFile3 CFF)."""
    found: dict[str, set[str]] = {}
    pending = [page.get("/Resources") for page in PdfReader(pdf).pages]
    while pending:
        resources = pending.pop()
        if resources is None:
            continue
        resources = resources.get_object()
        for ref in resources.get("/Font", DictionaryObject()).get_object().values():
            font = ref.get_object()
            if "/DescendantFonts" in font:
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font["/FontDescriptor"].get_object()
            name = str(font["/BaseFont"]).split("+")[-1]
            found.setdefault(name, set()).update(k for k in descriptor if k.startswith("/FontFile"))
        for xobject in resources.get("/XObject", DictionaryObject()).get_object().values():
            pending.append(xobject.get_object().get("/Resources"))
    return found


@pytest.mark.render
def test_the_report_pdf_embeds_only_the_shipped_fonts(tmp_path: Path) -> None:
    """The real report, in Swedish: text in the shipped fonts' TrueType files, code in
    Typst's embedded monospace font, and nothing from the system."""
    rendered = render_report(DEFAULT_DATA, tmp_path / "out", langs=["sv"], formats=["pdf"])
    fonts = _embedded_fonts(rendered.documents["sv"]["pdf"])
    assert {name.split("-")[0] for name in fonts} <= ALLOWED_FONT_FAMILIES, sorted(fonts)
    assert {"SourceSerifPro-Regular", "SourceSansPro-Bold", "DejaVuSansMono"} <= set(fonts)
    assert all(files == {"/FontFile2"} for files in fonts.values()), fonts


def test_a_page_s_file_that_is_gone_is_named(tmp_path: Path) -> None:
    """What pandoc wrote points at a file that is no longer there (a figure or style
    sheet removed while the page was made): RenderError naming it, not a traceback."""
    page = '<img src="gone.png" alt="x"><img src="f.svg" data-inline-svg="gone.svg" alt="y">'
    with pytest.raises(RenderError, match=r"^gone\.png: no such file beside the report"):
        render_module._embedded(page, [tmp_path])
    with pytest.raises(RenderError, match=r"^gone\.svg: no such file beside the report"):
        render_module._inline_svgs(page, [tmp_path])
