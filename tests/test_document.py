"""What the notebook displays: the provenance section closes the report in its language."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from rehabstats.document import ReportDocument
from rehabstats.glossary import Glossary
from tests.conftest import ROOT


def _document(results, lang: str) -> ReportDocument:
    reports = ROOT / "reports"
    return ReportDocument(
        results=results,
        glossary=Glossary.load(reports / "glossary", lang),
        text_dir=reports / "text" / lang,
        figures_dir=ROOT / "unused",
        edition={},
    )


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_provenance_names_the_commit_of_the_checkout(default_results, lang: str) -> None:
    section = _document(default_results, lang).provenance()
    commit = Glossary.load(ROOT / "reports" / "glossary", lang)["provenance.commit"]
    assert re.search(rf"\*\*{commit}:\*\* `[0-9a-f]{{12}}`", section)


def test_provenance_outside_git_shows_the_missing_sign(default_results, tmp_path) -> None:
    """An installed copy has no commit: the series' ".." rather than an English word."""
    shutil.copytree(ROOT / "rehabstats", tmp_path / "rehabstats")
    results = tmp_path / "results.pkl"
    default_results.save(results)
    script = (
        "from pathlib import Path\n"
        "from rehabstats.document import ReportDocument, git_commit\n"
        "assert git_commit() is None\n"
        f"doc = ReportDocument.open(Path({str(results)!r}), 'sv', "
        f"reports_dir=Path({str(ROOT / 'reports')!r}), figures_dir=Path('.'), edition={{}})\n"
        "print(doc.provenance())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    commit = Glossary.load(ROOT / "reports" / "glossary", "sv")["provenance.commit"]
    assert f"**{commit}:** .." in done.stdout and "unknown" not in done.stdout
