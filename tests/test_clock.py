"""The run's time: now, or SOURCE_DATE_EPOCH's, which makes two renders the same bytes."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from rehabstats.cli import main
from rehabstats.engine import pipeline
from rehabstats.engine.pipeline import render_report
from rehabstats.errors import OptionError
from rehabstats.reporting.clock import run_time
from rehabstats.reporting.export import write_xlsx

EPOCH = 1291161600  # 2010-12-01 00:00 UTC, SFR 2010:12's month
PRINTED = {  # as the HTML has it, <strong> as ** (the fixed time is said to be one)
    "sv": "Körningstid:** 2010-12-01 00:00 UTC (en fast tid, satt med <code>SOURCE_DATE_EPOCH",
    "en": "Time of the run:** 2010-12-01 00:00 UTC (a fixed time, set by <code>SOURCE_DATE_EPOCH",
}


def test_unset_the_run_s_time_is_now(monkeypatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    now = run_time()
    assert before <= now <= dt.datetime.now(dt.UTC) and now.microsecond == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
        (str(EPOCH), dt.datetime(2010, 12, 1, tzinfo=dt.UTC)),
    ],
)
def test_set_it_is_source_date_epoch_s(monkeypatch, value: str, expected: dt.datetime) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    assert run_time() == expected


@pytest.mark.parametrize("value", ["", " 1", "-1", "1.5", "12a", "١٢", "9" * 30])
def test_a_value_that_is_no_time_is_refused_by_name(monkeypatch, value: str) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(
        OptionError, match=re.escape(f"SOURCE_DATE_EPOCH={value!r}: the run's time")
    ):
        run_time()


def test_tables_refuses_it_before_the_analysis(monkeypatch, small_csv: Path, tmp_path: Path):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["tables", str(small_csv), "--out", str(tmp_path / "out")])
    assert status == 2
    assert "SOURCE_DATE_EPOCH='yesterday'" in out.getvalue() + err.getvalue()
    assert not (tmp_path / "out").exists()


def test_render_refuses_it_before_any_work(monkeypatch, small_csv: Path, tmp_path: Path):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1.5")
    with pytest.raises(OptionError, match=re.escape("SOURCE_DATE_EPOCH='1.5'")):
        render_report(small_csv, tmp_path / "out", langs=["sv"], formats=["html"])
    assert [path.name for path in tmp_path.iterdir()] == [small_csv.name], "nothing written"


@pytest.mark.render
def test_two_renders_at_one_source_date_epoch_are_the_same_bytes(
    monkeypatch, small_csv: Path, tmp_path: Path
) -> None:
    """Every document and both exports, in both languages and all three formats; the
    documents say the run's time is SOURCE_DATE_EPOCH's, as do the PDF's, the Word
    file's and the workbook's dates and the times of the files they are zips of (those
    the Word file takes from its styles, reference.docx, keep theirs)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    formats = ["html", "pdf", "docx"]
    runs = [render_report(small_csv, tmp_path / f"run{i}", formats=formats) for i in (1, 2)]
    files = [
        [run.tables_json, run.tables_xlsx, *(p for d in run.documents.values() for p in d.values())]
        for run in runs
    ]
    assert set(PRINTED) == set(runs[0].documents)
    assert len(files[0]) == 2 + len(PRINTED) * len(formats), "every file is compared"
    for first, second in zip(*files, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
    when = dt.datetime(2010, 12, 1, tzinfo=dt.UTC)
    report = runs[0]
    for lang, printed in PRINTED.items():
        page = report.documents[lang]["html"].read_text(encoding="utf-8")
        page = " ".join(page.replace("<strong>", "**").replace("</strong>", "**").split())
        assert printed in page
        assert PdfReader(report.documents[lang]["pdf"]).metadata.creation_date == when
        with zipfile.ZipFile(report.documents[lang]["docx"]) as docx:
            core = docx.read("docProps/core.xml").decode()
            assert core.count(">2010-12-01T00:00:00Z<") == 2, core  # created, modified
            assert docx.getinfo("word/document.xml").date_time == (2010, 12, 1, 0, 0, 0)
    with zipfile.ZipFile(report.tables_xlsx) as workbook:
        assert {info.date_time for info in workbook.infolist()} == {(2010, 12, 1, 0, 0, 0)}
    properties = openpyxl.load_workbook(report.tables_xlsx).properties
    assert properties.created == properties.modified == when.replace(tzinfo=None)


def test_a_workbook_dated_before_1980_keeps_its_date_in_a_zip_that_cannot(
    monkeypatch, default_results, tmp_path: Path
) -> None:
    """A zip's times begin in 1980: the files in it get that, its properties 1970."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    path = tmp_path / "tables.xlsx"
    write_xlsx(default_results, path)
    with zipfile.ZipFile(path) as workbook:
        assert {info.date_time for info in workbook.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    properties = openpyxl.load_workbook(path).properties
    assert properties.created == properties.modified == dt.datetime(1970, 1, 1)


@pytest.mark.render
def test_a_render_takes_its_time_once_for_every_document(
    monkeypatch, small_csv: Path, tmp_path: Path
) -> None:
    """Each language's provenance and PDF, and the workbook, say the time the render
    took at its start (its kernels and its own process alike), not each its own now."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    taken = dt.datetime(2011, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    monkeypatch.setattr(pipeline, "run_time", lambda: taken)
    report = render_report(small_csv, tmp_path / "out", formats=["html", "pdf"])
    for lang, label in (("sv", "Körningstid"), ("en", "Time of the run")):
        page = report.documents[lang]["html"].read_text(encoding="utf-8")
        assert f"<strong>{label}:</strong> 2011-02-03 04:05 UTC</li>" in page
        assert PdfReader(report.documents[lang]["pdf"]).metadata.creation_date == taken
    properties = openpyxl.load_workbook(report.tables_xlsx).properties
    assert properties.created == taken.replace(tzinfo=None)
