"""The project's own files: environment.yml in step with pyproject.toml, the data page."""

from __future__ import annotations

import re
import tomllib

import yaml

from rehabstats.dictionary import dictionary_markdown
from tests.conftest import ROOT

OPTIONAL_CONDA = {"python", "pip", "quarto"}


def _requirement(spec: str) -> tuple[str, str]:
    """(name, version constraint) of a requirement such as ``pandas>=2.2``."""
    name, constraint = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec).groups()
    return name.lower().replace("_", "-"), constraint.strip()


def test_environment_yml_lists_what_pyproject_requires() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(
        _requirement(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"]
    )
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = dict(_requirement(s) for s in conda + [p for p in pip if not p.startswith("-")])
    for name in OPTIONAL_CONDA:
        listed.pop(name, None)
    assert listed == wanted


def test_the_data_dictionary_page_is_current() -> None:
    page = (ROOT / "data" / "dictionary.md").read_text(encoding="utf-8")
    assert page == dictionary_markdown()
