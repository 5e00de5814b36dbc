"""Editions: no text of one edition in another, a warning for a cover that is not the
report's own, and an edition file checked, every problem at once, before any analysis."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import yaml

import rehabstats.engine.batch
import rehabstats.engine.pipeline
from rehabstats.cli import main
from rehabstats.data.loading import write_csv
from rehabstats.data.population import derive_cohort
from rehabstats.data.synth import generate
from rehabstats.data.validation import validate
from rehabstats.engine.pipeline import REPORTS_DIR, RenderOptions, render_report
from rehabstats.errors import EditionError
from rehabstats.reporting.edition import edition_for, front_matter, load_edition
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import DatasetInfo, compute_results, file_sha256
from rehabstats.reporting.text import render_section, text_context

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "register.csv"
LANGS = ("sv", "en")
# What only the default edition (Socialförsäkringsrapport 2010:12) says.
DEFAULT_TEXTS = (
    "2010:12",
    "Analys och prognos",
    "Analysis and Forecasting",
    "syntetisk",
    "synthetic",
    "återge resultaten i den publicerade rapporten",
    "reproduce the results of the published report",
)
# The reference list cites the 2010 report: a publication, not this edition's text.
CITATION = re.compile(r"<p>Försäkringskassan \(2010\)\..*?</p>", re.DOTALL)
FOLLOW_UP = {
    "series": {"sv": "Socialförsäkringsrapport", "en": "Social Insurance Report"},
    "number": "2013:9",
    "title": {"sv": "Handläggningen inför aktiv insats", "en": "Case handling before a measure"},
    "subtitle": {"sv": "En uppföljning", "en": "A follow-up"},
    "publisher": "Inspektionen för socialförsäkringen (ISF)",
    "author": ["Anna Andersson", "Bo Berg"],
    "date": "2013-10-01",
    "data_note": {
        "sv": "Uppgifterna kommer från ISF:s uttag ur ärendehanteringssystemet.",
        "en": "The data are the ISF extract from the case-management system.",
    },
    "signature": {"sv": "ISF, avdelningen för analys", "en": "ISF, analysis department"},
}


def _write(path: Path, edition: dict) -> Path:
    path.write_text(yaml.safe_dump(edition, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def generated_csv(tmp_path_factory) -> Path:
    """A generated register extract: synthetic, but not the shipped one."""
    path = tmp_path_factory.mktemp("data") / "generated.csv"
    write_csv(generate(600, seed=3), path)
    return path


@pytest.fixture(scope="module")
def results():
    """The results of a small generated register, for the prose templates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, typed = validate(generate(600, seed=3))
    return compute_results(derive_cohort(typed), DatasetInfo("register.csv", 600, "x"))


def _foreword(results, edition: dict, lang: str, data_sha256: str) -> str:
    """The foreword of ``lang`` as the notebook renders it for data of that hash."""
    glossary = Glossary.load(REPORTS_DIR / "glossary", lang)
    context = text_context(results, glossary, edition_for(edition, lang, data_sha256))
    return render_section(REPORTS_DIR / "text" / lang, "foreword", context)


def test_the_default_edition_is_tied_to_the_shipped_register() -> None:
    assert load_edition()["data_sha256"] == file_sha256(SHIPPED)


def test_the_default_foreword_reads_as_before_for_the_shipped_register(results) -> None:
    edition = load_edition()
    sv, en = (_foreword(results, edition, lang, file_sha256(SHIPPED)) for lang in LANGS)
    assert "Rapporten, Socialförsäkringsrapport 2010:12, är framställd" in sv
    assert sv.endswith(
        "\n\nDet datamaterial som följer med rehabstats är syntetiskt. Det har konstruerats för"
        " att återge resultaten i den publicerade rapporten och innehåller inga uppgifter om"
        " verkliga personer.\n\nAnalys och prognos, Försäkringskassan\n"
    )
    assert "The report, Social Insurance Report 2010:12, is produced" in en
    assert en.endswith(
        "\n\nThe dataset that comes with rehabstats is synthetic. It was constructed to"
        " reproduce the results of the published report and holds no information about real"
        " people.\n\nAnalysis and Forecasting, Swedish Social Insurance Agency\n"
    )


def test_the_synthetic_note_is_left_out_for_other_data(results) -> None:
    """A generated register is synthetic too, but not built to reproduce the published
    report: the default edition's note speaks of the shipped file only."""
    for lang in LANGS:
        foreword = _foreword(results, load_edition(), lang, "0" * 64)
        assert not re.search("syntetisk|synthetic", foreword)
        assert foreword.endswith(
            "\n\nAnalys och prognos, Försäkringskassan\n"
            if lang == "sv"
            else "\n\nAnalysis and Forecasting, Swedish Social Insurance Agency\n"
        )


def test_a_follow_up_foreword_has_its_own_lines_in_both_languages(results, tmp_path) -> None:
    edition = load_edition(_write(tmp_path / "isf.yaml", FOLLOW_UP))
    for lang in LANGS:
        foreword = _foreword(results, edition, lang, "0" * 64)
        assert f"{FOLLOW_UP['series'][lang]} 2013:9," in foreword
        assert foreword.endswith(
            f"\n\n{FOLLOW_UP['data_note'][lang]}\n\n{FOLLOW_UP['signature'][lang]}\n"
        )
        assert not [text for text in DEFAULT_TEXTS if text in foreword]


def test_an_edition_without_data_note_or_signature_says_nothing(results, tmp_path) -> None:
    bare = {k: v for k, v in FOLLOW_UP.items() if k not in ("data_note", "signature")}
    edition = load_edition(_write(tmp_path / "bare.yaml", bare))
    foreword = _foreword(results, edition, "en", "0" * 64)
    assert foreword.endswith("rehabstats gives other figures and other words.\n")


@pytest.mark.render
def test_a_follow_up_edition_renders_with_no_text_of_the_2010_edition(
    generated_csv: Path, tmp_path: Path, capsys
) -> None:
    """Tied to its own data, the follow-up prints its data note and warns of nothing."""
    edition = {**FOLLOW_UP, "data_sha256": file_sha256(generated_csv)}
    path = _write(tmp_path / "isf.yaml", edition)
    out = tmp_path / "report"
    argv = ["render", str(generated_csv), "--out", str(out), "--lang", "en", "--format", "html"]
    assert main([*argv, "--edition", str(path)]) == 0
    assert "warning" not in capsys.readouterr().err
    page = CITATION.sub("", (out / "en" / "report.html").read_text(encoding="utf-8"))
    assert not [text for text in DEFAULT_TEXTS if text in page]
    for text in (
        "2013:9",
        "Inspektionen för socialförsäkringen (ISF)",
        "1 October 2013",
        "Anna Andersson",
        FOLLOW_UP["data_note"]["en"],
        FOLLOW_UP["signature"]["en"],
    ):
        assert text in page, text


@pytest.mark.render
def test_the_default_edition_on_other_data_warns_and_says_nothing_of_them(
    generated_csv: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "report"
    argv = ["render", str(generated_csv), "--out", str(out), "--lang", "en", "--format", "html"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    warning = (
        "warning: no --edition given: the cover is that of Social Insurance Report 2010:12"
        " (15 December 2010); pass --edition FILE for this report's own\n"
    )
    assert err.count("warning: ") == 1 and warning in err
    page = (out / "en" / "report.html").read_text(encoding="utf-8")
    assert "synthetic" not in page and "reproduce the results of the published" not in page


def test_render_by_warns_too(generated_csv: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(rehabstats.engine.batch, "render_by", lambda *_, **__: (tmp_path, []))
    assert main(["render", str(generated_csv), "--out", str(tmp_path), "--by", "county"]) == 0
    assert capsys.readouterr().err.startswith("warning: no --edition given: the cover is that")


def test_the_shipped_register_with_the_default_edition_warns_of_nothing(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(rehabstats.engine.batch, "render_by", lambda *_, **__: (tmp_path, []))
    assert main(["render", str(SHIPPED), "--out", str(tmp_path), "--by", "county"]) == 0
    assert "warning" not in capsys.readouterr().err


BAD = {
    "missing key": (
        {k: v for k, v in FOLLOW_UP.items() if k != "title"},
        "title: missing; expected text such as",
    ),
    "bad date": (
        {**FOLLOW_UP, "date": "1 oktober 2013"},
        "date: '1 oktober 2013' is not a date written YYYY-MM-DD;"
        " expected a date such as 2013-10-01",
    ),
    "missing language": (
        {**FOLLOW_UP, "publisher": {"sv": "ISF"}},
        "publisher: no 'en' entry; expected text such as",
    ),
    "author not a list": (
        {**FOLLOW_UP, "author": "Anna Andersson"},
        "author: 'Anna Andersson' is not a list of names; expected a list of names such as",
    ),
    "title not text": (
        {**FOLLOW_UP, "title": ["Handläggningen", "en uppföljning"]},
        "title: ['Handläggningen', 'en uppföljning'] is not text; expected text such as",
    ),
    "unknown key": (
        {**FOLLOW_UP, "signatur": "ISF"},
        "signatur: unknown key; expected one of series, number,",
    ),
}


@pytest.fixture
def no_analysis(monkeypatch) -> None:
    """Make any analysis fail the test: a bad edition must be refused before it."""

    def analyse(*_, **__):
        raise AssertionError("the analysis ran")

    monkeypatch.setattr(rehabstats.engine.pipeline, "cached_analyse", analyse)
    monkeypatch.setattr(rehabstats.engine.batch, "read_dataset", analyse)


@pytest.mark.parametrize("case", BAD)
def test_a_bad_edition_is_refused_with_its_file_key_and_form(
    case: str, generated_csv: Path, tmp_path: Path, no_analysis, capsys
) -> None:
    edition, expected = BAD[case]
    path = _write(tmp_path / "edition.yaml", edition)
    argv = ["render", str(generated_csv), "--out", str(tmp_path / "out"), "--edition", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the edition file cannot be used (1 problem(s))")
    assert f"\n  {path}: {expected}" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["bad date", "missing language"])
def test_a_bad_edition_is_refused_before_any_work_from_python(
    case: str, generated_csv: Path, tmp_path: Path, no_analysis
) -> None:
    path = _write(tmp_path / "edition.yaml", BAD[case][0])
    with pytest.raises(EditionError):
        render_report(generated_csv, tmp_path / "out", edition_path=path)
    with pytest.raises(EditionError):
        rehabstats.engine.batch.render_by(
            generated_csv, tmp_path / "by", "county", RenderOptions(edition_path=path)
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edition.yaml"]


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    path = tmp_path / "edition.yaml"
    path.write_text(
        "series: {sv: Socialförsäkringsrapport}\nnumber: [2013, 9]\ndate: 1 oktober 2013\n"
        "publisher: ISF\ntitle: T\nsubtitle: {sv: S, en: U, de: V}\nauthor: Anna\n",
        encoding="utf-8",
    )
    with pytest.raises(EditionError) as raised:
        load_edition(path)
    keys = [problem.split(":")[0] for problem in raised.value.problems]
    assert keys == ["series", "number", "subtitle", "author", "date"]
    assert str(raised.value).count(f"\n  {path}: ") == 5


def test_only_the_rendered_languages_are_required(tmp_path: Path) -> None:
    english = {k: v["en"] if isinstance(v, dict) else v for k, v in FOLLOW_UP.items()}
    english["title"] = {"en": english["title"]}
    path = _write(tmp_path / "edition.yaml", english)
    assert edition_for(load_edition(path, ["en"]), "en", "x")["title"] == FOLLOW_UP["title"]["en"]
    with pytest.raises(EditionError, match="title: no 'sv' entry"):
        load_edition(path, ["sv", "en"])


@pytest.mark.parametrize(
    ("written", "ok"),
    [("2013-10-01", True), ('"2013-10-01"', True), ("2013-02-30", False), ('"20131001"', False)],
)
def test_a_date_is_a_real_day_written_yyyy_mm_dd(written: str, ok: bool, tmp_path: Path) -> None:
    """An unquoted date, which YAML reads as a date, is taken as the same text."""
    path = _write(tmp_path / "edition.yaml", {k: v for k, v in FOLLOW_UP.items() if k != "date"})
    path.write_text(path.read_text(encoding="utf-8") + f"date: {written}\n", encoding="utf-8")
    if ok:
        assert load_edition(path)["date"] == "2013-10-01"
    else:
        with pytest.raises(EditionError, match="expected a date such as 2013-10-01"):
            load_edition(path)


def test_every_value_is_read_as_the_text_written(tmp_path: Path) -> None:
    """Plain YAML would make 120789 of 2013:9 and true of yes."""
    path = _write(tmp_path / "edition.yaml", FOLLOW_UP)
    path.write_text(
        path.read_text(encoding="utf-8").replace("'2013:9'", "2013:9") + "contact: yes\n",
        encoding="utf-8",
    )
    assert "number: 2013:9\n" in path.read_text(encoding="utf-8")
    edition = load_edition(path)
    assert (edition["number"], edition["contact"]) == ("2013:9", "yes")


def test_a_file_that_is_not_yaml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "edition.yaml"
    path.write_text("title: [unclosed\n", encoding="utf-8")
    with pytest.raises(EditionError, match=rf"{re.escape(str(path))}: not valid YAML"):
        load_edition(path)


def test_a_tied_data_note_is_kept_for_its_data_only(tmp_path: Path) -> None:
    tied = load_edition(_write(tmp_path / "e.yaml", {**FOLLOW_UP, "data_sha256": "a" * 64}))
    assert edition_for(tied, "sv", "a" * 64)["data_note"] == FOLLOW_UP["data_note"]["sv"]
    assert edition_for(tied, "sv", "b" * 64)["data_note"] is None
    untied = load_edition(_write(tmp_path / "u.yaml", FOLLOW_UP))
    assert edition_for(untied, "sv", "b" * 64)["data_note"] == FOLLOW_UP["data_note"]["sv"]


def test_the_cover_carries_a_contact_line_only_when_the_edition_gives_one() -> None:
    glossary = Glossary.load(REPORTS_DIR / "glossary", "en")
    edition = edition_for(load_edition(), "en", file_sha256(SHIPPED))
    assert "contact" not in front_matter(edition, glossary)
    with_contact = front_matter({**edition, "contact": "Anna Andersson, 010-116 90 00"}, glossary)
    assert with_contact["contact"] == "Anna Andersson, 010-116 90 00"
    assert with_contact["publisher"] == "Swedish Social Insurance Agency, Analysis and Forecasting"


def test_the_cover_of_a_follow_up_is_its_own(tmp_path: Path) -> None:
    edition = load_edition(_write(tmp_path / "isf.yaml", FOLLOW_UP))
    cover = front_matter(
        edition_for(edition, "sv", "x"), Glossary.load(REPORTS_DIR / "glossary", "sv")
    )
    assert (cover["number"], cover["date"]) == ("2013:9", "1 oktober 2013")
    assert cover["author"] == ["Anna Andersson", "Bo Berg"]
    assert cover["running-header"] == FOLLOW_UP["title"]["sv"]
