"""The product: the default report rendered in Swedish and English, as HTML and PDF.

One real render per test session (papermill, pandoc, Typst), then checks on what a
reader gets: every table and diagram title in order, numbers in the right locale, a
self-contained HTML page, the audit trail beside it. A second dataset with other
effects shows that the text follows the data.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from rehabstats.data.loading import write_csv
from rehabstats.data.synth import generate
from rehabstats.engine.pipeline import render_report
from rehabstats.reporting.figures import BOX_FACE, COLORS
from rehabstats.reporting.formatting import hazard_ratio, integer
from rehabstats.stats.cox import REFUSAL_TEXTS
from tests.conftest import DEFAULT_DATA, ROOT

pytestmark = pytest.mark.render

TITLES = {
    "sv": [
        *("Figur 1", "Tabell 1", "Figur 2", "Tabell 2", "Tabell 3", "Tabell 4", "Diagram 1"),
        *("Tabell 5", "Diagram 2", "Tabell 6", "Diagram 3", "Tabell 7"),
        *("Tabell B1", "Tabell B2", "Tabell B3", "Tabell B4", "Tabell B5", "Tabell B6"),
        *("Tabell B7", "Diagram B1", "Diagram B2", "Diagram B3"),
        *("Tabell B8", "Tabell B9", "Tabell B10"),
    ],
    "en": [
        *("Figure 1", "Table 1", "Figure 2", "Table 2", "Table 3", "Table 4", "Diagram 1"),
        *("Table 5", "Diagram 2", "Table 6", "Diagram 3", "Table 7"),
        *("Table B1", "Table B2", "Table B3", "Table B4", "Table B5", "Table B6"),
        *("Table B7", "Diagram B1", "Diagram B2", "Diagram B3"),
        *("Table B8", "Table B9", "Table B10"),
    ],
}


def _plain(text: str) -> str:
    """Text with non-breaking spaces as plain spaces, as a reader would search it."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_report(DEFAULT_DATA, tmp_path_factory.mktemp("report") / "out")


@pytest.fixture(scope="module")
def pdf_text(rendered) -> dict[str, str]:
    return {
        lang: _plain("\n".join(page.extract_text() for page in PdfReader(files["pdf"]).pages))
        for lang, files in rendered.documents.items()
    }


class _Page(HTMLParser):
    """Collects the resources an HTML page would load and its visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and tag in ("img", "script", "link", "source"):
                self.sources.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def html_pages(rendered) -> dict[str, _Page]:
    pages = {}
    for lang, files in rendered.documents.items():
        page = _Page()
        page.feed(files["html"].read_text(encoding="utf-8"))
        pages[lang] = page
    return pages


def _positions(text: str, titles: list[str]) -> list[int]:
    """Where each title appears as a caption (title followed by a space and a word)."""
    return [
        m.start() if (m := re.search(re.escape(t) + r" [A-ZÅÄÖ]", text)) else -1 for t in titles
    ]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_pdf_has_every_title_in_order(pdf_text, lang: str) -> None:
    body = pdf_text[lang]
    found = _positions(body, TITLES[lang])
    missing = [t for t, p in zip(TITLES[lang], found, strict=True) if p < 0]
    assert not missing
    assert found == sorted(found)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_pdf_quotes_key_figures_in_the_locale(pdf_text, default_results, lang: str) -> None:
    body = pdf_text[lang]
    assert _plain(integer(4028, lang)) in body
    b5 = default_results.cox["B5"].table.set_index("term").loc["group:treatment"]
    assert hazard_ratio(b5["hazard_ratio"], b5["stars"], lang) in body
    assert ("Sammanfattning" if lang == "sv" else "Summary") in body


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_no_table_breaks_across_pdf_pages(rendered, lang: str) -> None:
    """Each table's title, rows, notes and source line are on one page."""
    source = "Källa:" if lang == "sv" else "Source:"
    pdf = PdfReader(rendered.documents[lang]["pdf"])
    pages = [_plain(page.extract_text()) for page in pdf.pages]
    for title in (t for t in TITLES[lang] if t.startswith(("Tabell", "Table"))):
        page = next(p for p in pages if _positions(p, [title])[0] >= 0)
        assert source in page[_positions(page, [title])[0] :], f"{title} runs onto the next page"


def test_the_pdf_has_a_cover_contents_and_page_numbers(rendered, pdf_text) -> None:
    reader = PdfReader(rendered.documents["sv"]["pdf"])
    assert len(reader.pages) > 10
    cover = reader.pages[0].extract_text()
    assert "Socialförsäkringsrapport" in cover and "2010:12" in cover
    assert cover.count("Analys och prognos") == 1, "the department is named once, as publisher"
    assert "Innehåll" in reader.pages[1].extract_text()
    assert reader.pages[5].extract_text().strip().splitlines()[-1].strip() == "6"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_html_is_self_contained_with_every_title(html_pages, lang: str) -> None:
    page = html_pages[lang]
    assert all(s.startswith(("data:", "#")) for s in page.sources), page.sources
    text = _plain(" ".join(page.text))
    found = _positions(text, TITLES[lang])
    assert -1 not in found and found == sorted(found)
    assert "{{" not in text and "}}" not in text


def test_swedish_is_swedish_and_english_is_english(html_pages) -> None:
    sv = " ".join(html_pages["sv"].text)
    en = " ".join(html_pages["en"].text)
    for word in (
        "Kontrollgrupp",
        "Försöksgrupp",
        "Anm:",
        "Källa:",
        "Innehåll",
        "Analys och prognos",
    ):
        assert word in sv and word not in en
    for word in (
        "Control group",
        "Treatment group",
        "Note:",
        "Source:",
        "Contents",
        "Analysis and",
    ):
        assert word in en and word not in sv


def test_the_audit_trail_and_figures_are_kept(rendered) -> None:
    out = rendered.out
    for lang in ("sv", "en"):
        assert (out / lang / "report.ipynb").is_file()
        figures = sorted(p.name for p in (out / lang / "figures").iterdir())
        stems = ("d1", "d2", "d3", "f1", "f2", "itt_d1", "itt_d2", "itt_d3")
        assert figures == [f"{stem}-{lang}.svg" for stem in stems]
    assert rendered.tables_json.is_file() and rendered.tables_xlsx.is_file()
    assert not (out / "results.pkl").exists()


def test_the_html_embeds_every_figure_as_svg(rendered) -> None:
    for lang, files in rendered.documents.items():
        html = files["html"].read_text(encoding="utf-8")
        assert html.count('<svg class="figure" role="img"') == 8, lang
        assert "figures/" not in html, "no figure is linked rather than embedded"


def _colours_drawn(page) -> set[str]:
    """The fill and stroke colours a PDF page sets, as "#rrggbb"."""
    operations = ContentStream(page.get_contents(), page.pdf).operations
    return {
        "#" + "".join(f"{round(float(v) * 255):02x}" for v in operands)
        for operands, operator in operations
        if operator in (b"scn", b"SCN", b"rg", b"RG") and len(operands) == 3
    }


def test_the_pdf_draws_every_figure_as_vectors(rendered) -> None:
    """Typst draws the SVGs into the pages: the figures' colours are set on their pages."""
    for lang, files in rendered.documents.items():
        pages = [_colours_drawn(page) for page in PdfReader(files["pdf"]).pages]
        # D1–D3, F1 and the randomised comparison's B1–B3, each on a page of its own
        assert sum(COLORS[1] in colours for colours in pages) == 7, lang
        assert sum(BOX_FACE in colours for colours in pages) == 1, lang  # F2


def test_the_text_follows_the_data(rendered, tmp_path: Path) -> None:
    """A dataset where the treatment group is slower changes the words and numbers."""
    data = tmp_path / "reversed.csv"
    write_csv(generate(4188, seed=5, scenario="reversed"), data)
    other = render_report(data, tmp_path / "out", langs=["sv"], formats=["html"])
    default = _Page()
    default.feed(rendered.documents["sv"]["html"].read_text(encoding="utf-8"))
    changed = _Page()
    changed.feed(other.documents["sv"]["html"].read_text(encoding="utf-8"))
    before, after = " ".join(default.text), " ".join(changed.text)
    assert before != after
    assert before.count("kortare") > after.count("kortare")
    assert after.count("längre") > before.count("längre")


def test_stars_in_running_text_stay_literal(html_pages) -> None:
    """ "1,27***" in a sentence must print its stars, not open bold italics."""
    sv = _plain(" ".join(html_pages["sv"].text))
    en = _plain(" ".join(html_pages["en"].text))
    assert re.search(r"\(hasardkvot \d,\d\d\*{1,3}\)", sv)
    assert re.search(r"\(hazard ratio \d\.\d\d\*{1,3}\)", en)


def test_no_case_or_person_id_reaches_any_output(rendered) -> None:
    """The documents, the audit notebooks and the export carry no row-level data."""
    register = pd.read_csv(DEFAULT_DATA, dtype=str, usecols=["case_id", "person_id"])
    ids = set(register["case_id"]) | set(register["person_id"])
    outputs = [
        p for p in rendered.out.rglob("*") if p.suffix in (".html", ".ipynb", ".json", ".svg")
    ]
    outputs += [p for p in rendered.out.rglob("*.pdf")]
    assert len(outputs) >= 9
    for path in outputs:
        if path.suffix == ".pdf":
            text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
        else:
            text = path.read_text(encoding="utf-8")
        tokens = set(re.findall(r"[A-Za-z]+\d+", text))
        assert not tokens & ids, (path, sorted(tokens & ids)[:5])


def test_a_register_where_nobody_started_a_measure_is_reported(tmp_path: Path) -> None:
    """Valid data with an event nobody had: the report says so, in each language."""
    data = ROOT / "tests" / "data" / "bad" / "no_measure_for_anyone.csv"
    report = render_report(data, tmp_path / "out")
    expected = {
        "sv": (
            "Inget av ärendena i materialet hade påbörjat en insats vid granskningen.",
            "Modellen kunde inte skattas: ingen i urvalet fick händelsen.",
        ),
        "en": (
            "None of the cases in the data had started a measure by the review.",
            "The model could not be estimated: nobody in the sample had the event.",
        ),
    }
    for lang, sentences in expected.items():
        page = _Page()
        page.feed(report.documents[lang]["html"].read_text(encoding="utf-8"))
        text = _plain(" ".join(" ".join(page.text).split()))
        assert all(sentence in text for sentence in sentences), lang
        assert "no_measure_for_anyone.csv" in text and "\\_" not in text, lang
        assert report.documents[lang]["pdf"].stat().st_size > 0
    swedish = _plain(report.documents["sv"]["html"].read_text(encoding="utf-8"))
    assert not any(str(text).split(":")[0] in swedish for text in REFUSAL_TEXTS.values())
