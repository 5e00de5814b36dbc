"""The render job: a failed or interrupted run leaves the previous report as it was."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rehabstats.engine.pipeline import REPORTS_DIR, render_report
from rehabstats.engine.render import RenderError
from rehabstats.errors import OptionError, ResourceError
from tests.conftest import ROOT


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    """An output folder holding an earlier report."""
    out = tmp_path / "report"
    (out / "sv").mkdir(parents=True)
    (out / "sv" / "report.html").write_text("the previous report")
    return out


def _broken_reports(tmp_path: Path) -> Path:
    """A copy of reports/ whose Swedish summary asks for a value that does not exist."""
    reports = tmp_path / "reports"
    shutil.copytree(REPORTS_DIR, reports)
    summary = reports / "text" / "sv" / "summary.md"
    summary.write_text(summary.read_text(encoding="utf-8") + "\n{{ no_such_value }}\n")
    return reports


def test_a_failing_cell_keeps_the_previous_report_and_the_partial_notebook(
    small_csv: Path, previous: Path, tmp_path: Path
) -> None:
    with pytest.raises(RenderError) as raised:
        render_report(
            small_csv,
            previous,
            langs=["sv"],
            formats=["html"],
            reports_dir=_broken_reports(tmp_path),
        )
    message = str(raised.value)
    assert "cell" in message and 'doc.chapter("summary")' in message
    assert "UndefinedError: 'no_such_value' is undefined" in message
    assert (previous / "sv" / "report.html").read_text() == "the previous report"
    kept = previous.with_name("report.failed") / "sv" / "report.ipynb"
    assert kept.is_file() and message.endswith(f"partly executed notebook: {kept}")
    notebook = nbformat.read(kept, as_version=4)
    assert any(
        o.get("output_type") == "error" for c in notebook.cells for o in c.get("outputs", [])
    )
    assert not list(tmp_path.glob(".report.*")), "no staging folder is left behind"


def test_an_interrupt_keeps_the_previous_report(
    small_csv: Path, previous: Path, tmp_path: Path
) -> None:
    def interrupt(step: str) -> None:
        if step.startswith("executing"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_report(small_csv, previous, langs=["sv"], formats=["html"], progress=interrupt)
    assert (previous / "sv" / "report.html").read_text() == "the previous report"
    assert not list(tmp_path.glob(".report.*"))


def test_a_bad_request_is_refused_before_any_work(small_csv: Path, previous: Path) -> None:
    with pytest.raises(OptionError, match="unknown language 'de'"):
        render_report(small_csv, previous, langs=["de"])
    with pytest.raises(OptionError, match="unknown format 'odt'"):
        render_report(small_csv, previous, formats=["odt"])
    with pytest.raises(OptionError, match="unknown engine 'latex'; use default, quarto"):
        render_report(small_csv, previous, engine="latex")
    with pytest.raises(ResourceError, match=r"nowhere\.yaml: the edition file is missing"):
        render_report(small_csv, previous, edition_path=previous / "nowhere.yaml")
    assert (previous / "sv" / "report.html").read_text() == "the previous report"
    assert not list(previous.parent.glob(".report.*")), "no staging folder was made"


def test_missing_report_content_names_the_file_not_the_language(
    small_csv: Path, previous: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    shutil.copytree(REPORTS_DIR, reports)
    # A missing file is the package's (tests/test_project_folder.py); an unusable one is named.
    (reports / "glossary" / "sv.yaml").write_text("- not a glossary\n")
    with pytest.raises(ResourceError, match=r"glossary/sv\.yaml: not a mapping of keys to labels"):
        render_report(small_csv, previous, reports_dir=reports)
    assert (previous / "sv" / "report.html").read_text() == "the previous report"


def test_the_report_folders_follow_the_umask(small_csv: Path, tmp_path: Path) -> None:
    """Not private (0700, as a temporary folder is made) but what the user's umask gives."""
    out = tmp_path / "report"
    command = f"umask 027 && {sys.executable} -m rehabstats render {small_csv} --out {out}"
    subprocess.run(["sh", "-c", f"{command} --lang sv --format html"], check=True)
    for folder in (out, out / "sv"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o750, folder


def test_two_runs_give_the_same_export_and_the_same_documents(
    small_csv: Path, tmp_path: Path
) -> None:
    """Determinism: byte-identical tables.json, the same text apart from the run's time."""
    runs = [
        render_report(small_csv, tmp_path / f"run{i}", langs=["sv", "en"], formats=["html"])
        for i in (1, 2)
    ]
    assert runs[0].tables_json.read_bytes() == runs[1].tables_json.read_bytes()
    for lang in ("sv", "en"):
        texts = [run.documents[lang]["html"].read_text(encoding="utf-8") for run in runs]
        without_time = [re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<time>", t) for t in texts]
        assert without_time[0] == without_time[1]


def test_the_notebook_runs_on_its_own_from_reports(tmp_path: Path) -> None:
    """`papermill report.ipynb out.ipynb` in reports/ (issue 18): with no results handed
    in, the notebook analyses and protects the default data itself and takes the
    package's own edition; its output holds the report's tables."""
    out = tmp_path / "out.ipynb"
    papermill = Path(sys.executable).with_name("papermill")
    command = [str(papermill), "report.ipynb", str(out), "-p", "figures_dir", str(tmp_path)]
    subprocess.run(command, cwd=ROOT / "reports", check=True, capture_output=True)
    shown = "".join(
        "".join(output.get("data", {}).get("text/markdown", ""))
        for cell in json.loads(out.read_text())["cells"]
        for output in cell.get("outputs", [])
    )
    assert "Tabell 4 Uppgifter om avstämningsmöte" in shown
    assert "Socialförsäkringsrapport 2010:12" in shown  # the package's edition, in Swedish
    assert sorted(p.name for p in tmp_path.glob("*.svg"))[:1] == ["d1-sv.svg"]
