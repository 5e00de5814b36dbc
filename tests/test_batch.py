"""Many reports at once: one per county, in parallel, with an index page."""

from __future__ import annotations

import re
import shutil
from functools import partial
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from rehabstats.cli import main
from rehabstats.data.loading import write_csv
from rehabstats.data.population import derive_cohort
from rehabstats.data.validation import read_dataset
from rehabstats.engine.batch import PartOutcome, _index_section, by_column, render_by
from rehabstats.engine.pipeline import REPORTS_DIR, Kernels, RenderOptions, render_results
from rehabstats.errors import OptionError, RenderError, ResourceError
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import DatasetInfo, compute_results, file_sha256

pytestmark = pytest.mark.render


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [v for k, v in attrs if tag == "a" and k == "href" and v]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _without_decliners_in_dalarna(register: pd.DataFrame) -> pd.DataFrame:
    """The register with nobody in Dalarna who declined: Dalarna cannot be reported."""
    frame = register.copy()
    frame.loc[
        (frame["county"] == "dalarna") & frame["declined"].fillna(False).astype(bool), "declined"
    ] = False
    return frame


def _earlier_run(out: Path) -> None:
    """What an earlier run left in ``out``: a single report, and a county now gone."""
    for stale in (out / "sv" / "report.html", out / "tables.json", out / "uppsala" / "x"):
        stale.parent.mkdir(parents=True, exist_ok=True)
        stale.write_text("an earlier run")


@pytest.fixture(scope="module")
def by_county(small_register: pd.DataFrame, tmp_path_factory):
    """Reports per county of a register where Dalarna has nobody who declined, into a
    folder an earlier run left files in; with the progress lines."""
    directory = tmp_path_factory.mktemp("by")
    data = directory / "register.parquet"
    _without_decliners_in_dalarna(small_register).to_parquet(data)
    _earlier_run(directory / "out")
    options = RenderOptions(langs=("sv", "en"), formats=("html",))
    lines: list[str] = []
    index, outcomes = render_by(
        data, directory / "out", "county", options, workers=2, progress=lines.append
    )
    return index, outcomes, lines


def test_one_report_per_county_in_its_own_folder(by_county) -> None:
    index, outcomes, _ = by_county
    rendered = {o.value: o.folder for o in outcomes if o.folder}
    assert set(rendered) == {"stockholm", "vastra_gotaland", "vasterbotten"}
    for value, folder in rendered.items():
        assert folder == index.parent / value
        for lang in ("sv", "en"):
            assert (folder / lang / "report.html").is_file()
        assert (folder / "tables.json").is_file()
    counts = {v: f.joinpath("tables.json").read_text() for v, f in rendered.items()}
    assert len(set(counts.values())) == 3, "each county has its own numbers"


def test_the_index_links_every_report_and_names_the_refused_part(by_county) -> None:
    index, outcomes, _ = by_county
    page = _Links()
    page.feed(index.read_text(encoding="utf-8"))
    for link in page.links:
        assert (index.parent / link).is_file(), link
    assert len(page.links) == 3 * 2
    (refused,) = [o for o in outcomes if o.folder is None]
    assert refused.value == "dalarna" and refused.empty_groups == ("declined",)
    assert "group 'declined' has no studied cases" in refused.problem


def test_the_index_gives_the_reason_in_each_language(by_county) -> None:
    index, _, _ = by_county
    halves = re.findall(r'<section lang="(\w+)">(.*?)</section>', index.read_text("utf-8"))
    text = {lang: _plain_text(body) for lang, body in halves}
    assert set(text) == {"sv", "en"}
    assert "ärenden): ingen rapport: gruppen Bortfall har inga studerade ärenden" in text["sv"]
    assert "cases): no report: the group Declined has no studied cases" in text["en"]
    assert "group" not in text["sv"] and "declined" not in text["sv"].lower()


def test_the_index_names_the_dataset_and_each_part_s_cases(by_county, small_register) -> None:
    index, outcomes, _ = by_county
    page = index.read_text("utf-8")
    assert page.startswith('<!DOCTYPE html>\n<html lang="sv">') and "<style>" in page
    halves = dict(re.findall(r'<section lang="(\w+)">(.*?)</section>', page))
    text = {lang: _plain_text(body) for lang, body in halves.items()}
    total = len(small_register)
    assert f"Underlag: register.parquet, {fmt.integer(total, 'sv')} ärenden." in text["sv"]
    assert f"Data: register.parquet, {fmt.integer(total, 'en')} cases." in text["en"]
    sizes = small_register["county"].value_counts()
    assert sum(o.cases for o in outcomes) == total
    for outcome in outcomes:
        assert outcome.cases == sizes[outcome.value]
        assert f"({fmt.integer(outcome.cases, 'sv')} ärenden)" in text["sv"]
        assert f"({fmt.integer(outcome.cases, 'en')} cases)" in text["en"]


def test_the_index_names_each_format_in_the_reader_s_words(tmp_path: Path) -> None:
    """Word, not "DOCX": the link texts come from each language's glossary."""
    dataset = DatasetInfo("register.csv", 10, "x")
    part = PartOutcome("dalarna", 10, tmp_path / "dalarna")
    for lang in ("sv", "en"):
        glossary = Glossary.load(REPORTS_DIR / "glossary", lang)
        _, section = _index_section("county", dataset, [part], ("html", "pdf", "docx"), glossary)
        page = _Links()
        page.feed(section)
        assert [text for text in page.text if text in ("HTML", "PDF", "Word")] == [
            "HTML",
            "PDF",
            "Word",
        ]
        assert "DOCX" not in section and 'href="dalarna/' + lang + '/report.docx"' in section


def _plain_text(html: str) -> str:
    page = _Links()
    page.feed(html)
    return "".join(page.text)


def test_by_refuses_bad_options_before_any_work(small_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="categorical column"):
        render_by(small_csv, tmp_path / "out", "age", RenderOptions())
    with pytest.raises(OptionError, match=r"--workers needs .* 1 or more, not 0"):
        render_by(small_csv, tmp_path / "out", "county", RenderOptions(), workers=0)
    missing = RenderOptions(edition_path=tmp_path / "edition.yaml")
    with pytest.raises(ResourceError, match=r"edition\.yaml: the edition file is missing"):
        render_by(small_csv, tmp_path / "out", "county", missing)
    assert not (tmp_path / "out").exists()


def test_the_command_refuses_a_bad_by_column_with_status_2(
    small_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", str(small_csv), "--out", str(tmp_path / "out"), "--by", "age"]) == 2
    assert capsys.readouterr().err == (
        "error: --by 'age': the column age is a number column, not a category; one report per"
        " value needs a categorical column such as county or sex\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_part_s_report_is_about_its_own_county_in_both_languages(by_county) -> None:
    """The county a part is split by is named, translated; the others are not listed."""
    _, outcomes, _ = by_county
    folder = next(o.folder for o in outcomes if o.value == "stockholm")
    tables = pd.read_json(folder / "tables.json", typ="series")
    for key in ("T2", "T3"):
        assert [row["category"] for row in tables[key]] == ["stockholm", "total"], key
    for key in ("B1", "B2"):
        counties = [row["category"] for row in tables[key] if row["variable"] == "county"]
        assert counties == ["stockholm"], key
    source = {
        "sv": "Egen bearbetning av registerutdraget register.parquet, de ärenden där län är "
        "Stockholm.",
        "en": "Own calculations on the register extract register.parquet, the cases whose "
        "county is Stockholm.",
    }
    for lang, line in source.items():
        text = " ".join(_plain_text((folder / lang / "report.html").read_text("utf-8")).split())
        assert line in text, lang
        assert "county =" not in text, lang


def test_the_earlier_contents_of_the_folder_are_replaced(by_county) -> None:
    """No older single report, no county the data no longer have, no staging folder."""
    index, _, _ = by_county
    out = index.parent
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html",
        "stockholm",
        "vasterbotten",
        "vastra_gotaland",
    ]
    assert sorted(p.name for p in out.parent.iterdir()) == ["out", "register.parquet"]


def test_each_finished_part_is_told_with_how_many_are_done(by_county) -> None:
    _, _, lines = by_county
    assert len(lines) == 4
    assert [re.search(r"\((\d) of 4\)", line)[1] for line in lines] == ["1", "2", "3", "4"]
    done = {re.sub(r" \(\d of 4\)", "", line) for line in lines}
    assert done == {
        "county Stockholm: done",
        "county Västra Götaland: done",
        "county Västerbotten: done",
        "county Dalarna: no report: group 'declined' has no studied cases",
    }


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("county", "county"),
        ("County", "county"),
        ("Län", "county"),
        ("län", "county"),
        (" LÄN ", "county"),
        ("Födelseland", "birth_country"),
        ("country of birth", "birth_country"),
    ],
)
def test_by_takes_a_column_s_name_or_its_swedish_or_english_label(name: str, column: str) -> None:
    assert by_column(name).name == column


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Ålder", "the column age is a number column, not a category"),
        ("case_id", "the column case_id is an identifier column, not a category"),
        ("Registreringsdatum", "the column registered_date is a date column, not a category"),
        ("declined", "the column declined is a yes/no column, not a category"),
        ("kommun", "no column of the data dictionary has this name or label"),
    ],
)
def test_by_refuses_what_is_not_a_categorical_column(
    name: str, why: str, small_csv: Path, tmp_path: Path
) -> None:
    with pytest.raises(OptionError, match=f"^--by '{name}': {why}"):
        render_by(small_csv, tmp_path / "out", name, RenderOptions())
    assert not (tmp_path / "out").exists()


def test_by_arm_is_refused_as_no_value_has_every_study_group(
    small_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each arm is a study group (or two): no report could compare the three."""
    assert main(["render", str(small_csv), "--out", str(tmp_path / "out"), "--by", "arm"]) == 2
    assert capsys.readouterr().err == (
        "error: --by 'arm': no value of arm has studied cases in every study group (control,"
        " treatment, declined), which each report compares, so no report could be made\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["register.csv"]


def test_a_column_with_one_value_is_refused(
    small_register: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "register.csv"
    write_csv(small_register.assign(county="stockholm"), data)
    assert main(["render", str(data), "--out", str(tmp_path / "out"), "--by", "Län"]) == 2
    assert capsys.readouterr().err == (
        "error: --by 'Län': every case has the same county (Stockholm), so its report is the"
        " whole report; render without --by\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.fixture
def two_counties(small_register: pd.DataFrame, tmp_path: Path) -> Path:
    """A register of Stockholm and of Dalarna, where nobody in Dalarna declined."""
    frame = _without_decliners_in_dalarna(small_register)
    data = tmp_path / "register.csv"
    write_csv(frame[frame["county"].isin(["stockholm", "dalarna"])], data)
    return data


def test_the_command_by_a_swedish_label_exits_2_when_a_part_has_no_report(
    two_counties: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reported part and the index replace the folder; the refused part is named."""
    monkeypatch.setenv("COLUMNS", "200")  # the progress lines unwrapped
    out = tmp_path / "out"
    _earlier_run(out)
    argv = ["render", str(two_counties), "--out", str(out), "--by", "län"]
    assert main([*argv, "--lang", "en", "--format", "html", "--workers", "1"]) == 2
    printed = capsys.readouterr()
    assert printed.out.splitlines() == [
        f"stockholm: {out / 'stockholm'}",
        "dalarna: group 'declined' has no studied cases",
        f"index: {out / 'index.html'}",
    ]
    assert "county Stockholm: done (" in printed.err
    assert "county Dalarna: no report (" in printed.err
    assert printed.err.count(" of 2)") == 2
    error = "error: no report for 1 of 2 values (dalarna); the index page says why\n"
    assert printed.err.endswith(error)
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "stockholm"]
    assert (out / "stockholm" / "en" / "report.html").is_file()


def test_a_failed_render_leaves_the_folder_as_it_was(two_counties: Path, tmp_path: Path) -> None:
    """The notebook of the failed part is kept in OUT.failed/<value>/, as a render's is."""
    reports = tmp_path / "reports"
    shutil.copytree(REPORTS_DIR, reports)
    summary = reports / "text" / "en" / "summary.md"
    summary.write_text(summary.read_text(encoding="utf-8") + "\n{{ no_such_value }}\n")
    out = tmp_path / "out"
    _earlier_run(out)
    options = RenderOptions(langs=("en",), formats=("html",), reports_dir=reports)
    with pytest.raises(RenderError) as raised:
        render_by(two_counties, out, "county", options, workers=1)
    message = str(raised.value)
    assert message.startswith("county Stockholm: ") and "'no_such_value' is undefined" in message
    kept = tmp_path / "out.failed" / "stockholm" / "en" / "report.ipynb"
    assert kept.is_file() and message.endswith(f"partly executed notebook: {kept}")
    assert (out / "uppsala" / "x").read_text() == "an earlier run"
    assert sorted(p.name for p in out.iterdir()) == ["sv", "tables.json", "uppsala"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out",
        "out.failed",
        "register.csv",
        "reports",
    ]


def _part_report(data: Path, value: str, out: Path, kernels: Kernels | None = None) -> Path:
    """County ``value``'s report of ``data`` in English HTML, as a ``--by`` worker renders it:
    on ``kernels`` when given, else on kernels of its own."""
    typed = read_dataset(data)
    part = typed[typed["county"] == value]
    info = DatasetInfo(data.name, len(part), file_sha256(data), part=("county", value))
    compute = partial(compute_results, derive_cohort(part), info)
    options = RenderOptions(langs=("en",), formats=("html",))
    return render_results(compute, out, options, kernels=kernels).out


def _as_run(folder: Path) -> str:
    """What a report's run made: each cell's execution count and outputs, and the HTML,
    without the run's time."""
    cells = nbformat.read(folder / "en" / "report.ipynb", as_version=4).cells
    run = "\n".join(repr((cell.get("execution_count"), cell.get("outputs"))) for cell in cells)
    made = f"{run}\n{(folder / 'en' / 'report.html').read_text('utf-8')}"
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<time>", made)


def test_a_part_on_kept_kernels_is_the_part_on_new_ones(small_csv: Path, tmp_path: Path) -> None:
    """A worker's second part, on the kernels its first part's notebook ran on, is the
    report the part gets on kernels of its own: every cell's execution count and output,
    the HTML and tables.json."""
    with Kernels(("en",), keep=True) as kernels:
        _part_report(small_csv, "vastra_gotaland", tmp_path / "first", kernels)
        kept = _part_report(small_csv, "stockholm", tmp_path / "kept", kernels)
    alone = _part_report(small_csv, "stockholm", tmp_path / "alone")
    assert _as_run(kept) == _as_run(alone)
    assert (kept / "tables.json").read_bytes() == (alone / "tables.json").read_bytes()
