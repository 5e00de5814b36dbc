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

GIT_IDENTITY = {
    **os.environ,
    **dict.fromkeys(("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"), "test"),
    **dict.fromkeys(("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"), "test@example.org"),
}


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


@pytest.mark.parametrize("inside_another_repository", [False, True])
def test_provenance_outside_git_shows_the_missing_sign(
    default_results, tmp_path, inside_another_repository
) -> None:
    """An installed copy has no commit: the series' ".." rather than an English word.

    Nor has a copy installed inside another project's repository: that commit is not ours.
    """
    if inside_another_repository:
        (tmp_path / "project.txt").write_text("another project\n")
        for command in (["init", "-q"], ["add", "project.txt"], ["commit", "-q", "-m", "x"]):
            subprocess.run(["git", *command], cwd=tmp_path, env=GIT_IDENTITY, check=True)
    site_packages = tmp_path / "env" / "site-packages"
    shutil.copytree(ROOT / "rehabstats", site_packages / "rehabstats")
    results = tmp_path / "results.pkl"
    default_results.save(results)
    script = (
        "from pathlib import Path\n"
        "from rehabstats.document import ReportDocument, git_revision\n"
        "assert git_revision() is None\n"
        f"doc = ReportDocument.open(Path({str(results)!r}), 'sv', "
        f"reports_dir=Path({str(ROOT / 'reports')!r}), figures_dir=Path('.'), edition={{}})\n"
        "print(doc.provenance())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site_packages)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    commit = Glossary.load(ROOT / "reports" / "glossary", "sv")["provenance.commit"]
    assert f"**{commit}:** .." in done.stdout and "unknown" not in done.stdout


def test_provenance_says_when_the_checkout_has_uncommitted_changes(default_results, tmp_path):
    """A commit names what made a report only if the package and the prose are as committed."""
    for folder in ("rehabstats", "reports"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = {**GIT_IDENTITY, "PYTHONPATH": str(tmp_path)}
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "copy"]):
        subprocess.run(["git", *command], cwd=tmp_path, env=env, check=True)
    results = tmp_path / "results.pkl"
    default_results.save(results)
    script = (
        "from pathlib import Path\n"
        "from rehabstats.document import ReportDocument\n"
        f"doc = ReportDocument.open(Path({str(results)!r}), 'sv', "
        f"reports_dir=Path({str(tmp_path / 'reports')!r}), figures_dir=Path('.'), edition={{}})\n"
        "print(doc.provenance())\n"
    )

    def provenance() -> str:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    modified = Glossary.load(ROOT / "reports" / "glossary", "sv")["provenance.modified"]
    assert re.search(r"`[0-9a-f]{12}`\n", provenance())
    foreword = tmp_path / "reports" / "text" / "sv" / "foreword.md"
    foreword.write_text(foreword.read_text("utf-8") + "\nEn rad till.\n", "utf-8")
    assert re.search(rf"`[0-9a-f]{{12}}` {re.escape(modified)}\n", provenance())
