"""The project's own files: the lock and what follows from it, declared imports, the data page."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import yaml

from rehabstats.data.dictionary import dictionary_markdown
from tests.conftest import ROOT
from tools.environment_yml import environment_yml

# How `make lock` writes requirements.txt (the Makefile has the same arguments).
EXPORT = (
    "export",
    "--quiet",
    "--locked",
    "--extra",
    "dev",
    "--no-emit-project",
    "--format",
    "requirements-txt",
)


def _requirement(spec: str) -> tuple[str, str]:
    """(name, version constraint) of a requirement such as ``pandas>=2.2``."""
    name, constraint = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec).groups()
    return name.lower().replace("_", "-"), constraint.strip()


def test_the_data_dictionary_page_is_current() -> None:
    page = (ROOT / "data" / "dictionary.md").read_text(encoding="utf-8")
    assert page == dictionary_markdown()


# --- the lock: one resolution of every dependency, installed as it is -------------------


def _uv(*args: str) -> str:
    """Run the uv that `make` installed (the version the lock pins) in the project."""
    uv = Path(sys.executable).with_name("uv")
    proc = subprocess.run([str(uv), *args], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_lock_is_current() -> None:
    """uv.lock satisfies pyproject.toml as it is: a changed dependency needs `make lock`."""
    _uv("lock", "--check", "--offline")


def test_requirements_txt_is_the_lock_with_hashes() -> None:
    exported = _uv(*EXPORT)
    committed = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert _without_comments(exported) == _without_comments(committed)
    assert "--hash=sha256:" in committed


def _without_comments(text: str) -> list[str]:
    """The requirement lines of a requirements file (its header names the command)."""
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]


def test_environment_yml_is_the_lock_for_conda() -> None:
    assert (ROOT / "environment.yml").read_text(encoding="utf-8") == environment_yml(ROOT)


def test_environment_yml_pins_what_the_lock_installed() -> None:
    """Every declared dependency, at the version installed here from the lock."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pinned = [d for d in env["dependencies"] if isinstance(d, str)] + pip
    listed = dict(d.split("==") for d in pinned if "==" in d)
    assert set(listed) == set(_declared())
    for name, version in listed.items():
        assert metadata.version(name) == version, name


def test_make_bootstraps_the_uv_the_lock_pins() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    bootstrap = re.search(r"^UV_VERSION = (\S+)$", makefile, re.MULTILINE).group(1)
    assert metadata.version("uv") == bootstrap


# --- every import declared, every dependency used or said why ----------------------------


def _declared() -> dict[str, str]:
    """Declared distributions (normalised name → 'runtime' or 'dev')."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    kinds = {"runtime": project["dependencies"], "dev": project["optional-dependencies"]["dev"]}
    return {_normalised(_requirement(s)[0]): kind for kind, specs in kinds.items() for s in specs}


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_modules(paths: list[Path]) -> set[str]:
    """The top-level modules imported by Python files and notebooks' code cells."""
    modules = set()
    for path in paths:
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
            source = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
        else:
            source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


def _third_party(modules: set[str]) -> dict[str, str]:
    """Module → distribution, for modules that are neither stdlib nor the project's own."""
    homes = metadata.packages_distributions()
    benchmarks = {path.stem for path in (ROOT / "benchmarks").glob("*.py")}  # import each other
    own = {"rehabstats", "tests", "tools", *benchmarks}
    return {m: _normalised(homes[m][0]) for m in modules - set(sys.stdlib_module_names) - own}


RUNTIME_CODE = ["rehabstats/**/*.py", "reports/*.ipynb"]
DEV_CODE = ["tests/**/*.py", "benchmarks/*.py", "tools/*.py"]


def _files(patterns: list[str]) -> list[Path]:
    return [p for pattern in patterns for p in ROOT.glob(pattern) if ".venv" not in p.parts]


def test_every_imported_module_is_declared() -> None:
    declared = _declared()
    runtime = _third_party(_imported_modules(_files(RUNTIME_CODE)))
    dev = _third_party(_imported_modules(_files(DEV_CODE)))
    assert {m: d for m, d in runtime.items() if declared.get(d) != "runtime"} == {}
    assert {m: d for m, d in dev.items() if d not in declared} == {}


def test_every_declared_dependency_is_imported_or_says_why() -> None:
    """A dependency no code imports carries a comment in pyproject.toml saying what for."""
    imported = set(_third_party(_imported_modules(_files(RUNTIME_CODE + DEV_CODE))).values())
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    justified = {
        _normalised(m.group(1))
        for m in re.finditer(r'^\s*"([A-Za-z0-9_.\-]+)[^"]*",\s*#\s*\S', text, re.M)
    }
    assert set(_declared()) - imported - justified == set()
