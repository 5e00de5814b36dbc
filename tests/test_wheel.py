"""The wheel: built from the repository, installed in a clean environment, it renders.

What a user gets from ``pip install rehabstats`` must carry the report's content
(notebook, prose, glossaries, edition, templates) and find it without the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

import rehabstats
from tests.conftest import DEFAULT_DATA, ROOT

# Not part of the source: what a build or a run leaves in a checkout.
LEFT_BY_BUILDS = (".git", ".venv", "build", "dist", "_output", "*.egg-info", "__pycache__")


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; its combined output, or a failed test showing it."""
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    return output


def _clean_env() -> dict[str, str]:
    """The environment without this checkout on the path or the machine's pip settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel built by pip from a copy of the source tree, and pip's output."""
    source = tmp_path_factory.mktemp("source") / "rehabstats"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_BY_BUILDS))
    dist = tmp_path_factory.mktemp("dist")
    python = sys.executable
    command = [python, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(dist), str(source)]
    output = _run(command, cwd=dist, env=_clean_env())
    return next(dist.glob("rehabstats-*.whl")), output


@pytest.fixture(scope="module")
def installed(wheel: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the locked dependencies and the wheel: its bin/."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    uv = str(Path(sys.executable).with_name("uv"))
    env = _clean_env()
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=venv.parent, env=env)
    python = str(venv / "bin" / "python")
    requirements = str(ROOT / "requirements.txt")
    install = [uv, "pip", "install", "--quiet", "--python", python]
    _run([*install, "--require-hashes", "-r", requirements], cwd=venv.parent, env=env)
    _run([*install, "--no-deps", str(wheel[0])], cwd=venv.parent, env=env)
    return venv / "bin"


def test_the_wheel_builds_without_warnings(wheel: tuple[Path, str]) -> None:
    _path, output = wheel
    assert "warn" not in output.lower(), output


def test_the_wheel_carries_every_file_of_the_report_content(wheel: tuple[Path, str]) -> None:
    names = set(zipfile.ZipFile(wheel[0]).namelist())
    content = [
        p for p in (ROOT / "reports").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ]
    expected = {f"rehabstats/reports/{p.relative_to(ROOT / 'reports').as_posix()}" for p in content}
    assert expected - names == set()
    assert f"rehabstats-{rehabstats.__version__}.dist-info/licenses/LICENSE" in names


@pytest.mark.render
def test_the_installed_wheel_renders_from_another_folder(installed: Path, tmp_path: Path) -> None:
    """All four documents, from a folder with no checkout in it, with the wheel's content."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _clean_env()
    where = _run(
        [
            str(installed / "python"),
            "-c",
            "import rehabstats.engine.pipeline as p; print(p.REPORTS_DIR)",
        ],
        cwd=elsewhere,
        env=env,
    )
    assert Path(where.strip()).is_relative_to(installed.parent)
    data = shutil.copy(DEFAULT_DATA, elsewhere / "register.csv")
    _run([str(installed / "rehabstats"), "render", str(data), "--out", "report"], elsewhere, env)
    for lang, title in (("sv", "Tabell 4"), ("en", "Table 4")):
        html = (elsewhere / "report" / lang / "report.html").read_text(encoding="utf-8")
        assert title in html
        pdf = PdfReader(elsewhere / "report" / lang / "report.pdf")
        assert title in "".join(page.extract_text() for page in pdf.pages)


@pytest.mark.render
def test_the_installed_wheel_makes_a_report_project_and_renders_it(
    installed: Path, tmp_path: Path
) -> None:
    """``rehabstats new`` copies the wheel's content; run inside the project, ``render``
    uses its edited prose (English HTML only, to keep it short)."""
    env, rehabstats_command = _clean_env(), str(installed / "rehabstats")
    _run([rehabstats_command, "new", "project"], tmp_path, env)
    project = tmp_path / "project"
    assert {"README.md", "_quarto.yml", "edition.yaml", "study.yaml", "report.ipynb"} <= {
        path.name for path in project.iterdir()
    }
    sentence = "This sentence is only in the summary of the project."
    summary = project / "text" / "en" / "summary.md"
    text = summary.read_text(encoding="utf-8")
    summary.write_text(text.replace("# Summary\n", f"# Summary\n\n{sentence}\n", 1), "utf-8")
    data = shutil.copy(DEFAULT_DATA, tmp_path / "register.csv")
    command = [rehabstats_command, "render", str(data), "--out", "out", "--lang", "en"]
    output = _run([*command, "--format", "html"], project, env)
    assert f"report project: {project}" in output
    html = (project / "out" / "en" / "report.html").read_text(encoding="utf-8")
    assert sentence in html and "Table 4" in html
