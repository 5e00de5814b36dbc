"""Print environment.yml: pyproject.toml's dependencies at the versions uv.lock resolved.

Conda users get the same versions as the lock (for the Python version named below);
`make lock` writes the file and tests/test_project.py checks it is current.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "3.11"
# The Python of the conda environment, as the lock's markers read it.
MARKER_ENVIRONMENT = {"python_version": PYTHON, "python_full_version": f"{PYTHON}.9"}
# Not on conda-forge as Python packages: installed by pip inside the environment.
PIP_ONLY = {"pypandoc-binary", "typst", "font-source-sans-pro", "font-source-serif-pro"}
HEADER = f"""\
# Conda environment for rehabstats: pyproject.toml's dependencies at the versions of
# uv.lock (for Python {PYTHON}). Written by `make lock` (tools/environment_yml.py); do not
# edit by hand. `conda env create -f environment.yml` then `conda activate rehabstats`.
# quarto is optional: with it, `rehabstats render --engine quarto` and
# `quarto render --no-execute` work too.
"""


def normalised(name: str) -> str:
    """A distribution name as the lock writes it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(project: dict) -> list[str]:
    """The names of the runtime and dev dependencies, in pyproject's order."""
    specs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [normalised(re.match(r"[A-Za-z0-9_.\-]+", spec).group()) for spec in specs]


def locked_versions(lock: dict) -> dict[str, str]:
    """Each locked package's version for the environment's Python."""
    versions = {}
    for package in lock["package"]:
        markers = package.get("resolution-markers")
        if markers and not any(Marker(m).evaluate(MARKER_ENVIRONMENT) for m in markers):
            continue
        versions[package["name"]] = package["version"]
    return versions


def environment_yml(root: Path = ROOT) -> str:
    """The text of environment.yml."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    versions = locked_versions(tomllib.loads((root / "uv.lock").read_text(encoding="utf-8")))
    names = declared(project)
    conda = [f"  - {n}=={versions[n]}" for n in names if n not in PIP_ONLY]
    pip = [f"      - {n}=={versions[n]}" for n in names if n in PIP_ONLY]
    lines = [
        "name: rehabstats",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={PYTHON}",
        "  - pip",
        *conda,
        "  - quarto  # optional engine",
        "  - pip:",
        *pip,
        "      - -e .",
    ]
    return HEADER + "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(environment_yml())
