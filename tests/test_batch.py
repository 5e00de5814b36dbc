"""Many reports at once: one per county, in parallel, with an index page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from rehabstats import formatting as fmt
from rehabstats.batch import render_by
from rehabstats.cli import main
from rehabstats.errors import OptionError, ResourceError
from rehabstats.pipeline import RenderOptions

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


@pytest.fixture(scope="module")
def by_county(small_register: pd.DataFrame, tmp_path_factory):
    """Reports per county of a register where Dalarna has nobody who declined."""
    frame = small_register.copy()
    frame.loc[
        (frame["county"] == "dalarna") & frame["declined"].fillna(False).astype(bool), "declined"
    ] = False
    directory = tmp_path_factory.mktemp("by")
    data = directory / "register.parquet"
    frame.to_parquet(data)
    options = RenderOptions(langs=("sv", "en"), formats=("html",))
    return render_by(data, directory / "out", "county", options, workers=2)


def test_one_report_per_county_in_its_own_folder(by_county) -> None:
    index, outcomes = by_county
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
    index, outcomes = by_county
    page = _Links()
    page.feed(index.read_text(encoding="utf-8"))
    for link in page.links:
        assert (index.parent / link).is_file(), link
    assert len(page.links) == 3 * 2
    (refused,) = [o for o in outcomes if o.folder is None]
    assert refused.value == "dalarna" and refused.empty_groups == ("declined",)
    assert "group 'declined' has no studied cases" in refused.problem


def test_the_index_gives_the_reason_in_each_language(by_county) -> None:
    index, _ = by_county
    halves = re.findall(r'<section lang="(\w+)">(.*?)</section>', index.read_text("utf-8"))
    text = {lang: _plain_text(body) for lang, body in halves}
    assert set(text) == {"sv", "en"}
    assert "ärenden): ingen rapport: gruppen Bortfall har inga studerade ärenden" in text["sv"]
    assert "cases): no report: the group Declined has no studied cases" in text["en"]
    assert "group" not in text["sv"] and "declined" not in text["sv"].lower()


def test_the_index_names_the_dataset_and_each_part_s_cases(by_county, small_register) -> None:
    index, outcomes = by_county
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
        "error: --by needs a categorical column of the data dictionary, not 'age'\n"
    )


def test_a_part_s_report_is_about_its_own_county_in_both_languages(by_county) -> None:
    """The county a part is split by is named, translated; the others are not listed."""
    _, outcomes = by_county
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
