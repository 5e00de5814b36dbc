"""Shared fixtures: small generated register extracts and the published reference."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from rehabstats.data.loading import write_csv
from rehabstats.data.synth import generate

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data" / "register.csv"
# The published figures of SFR 2010:12 (the model report), as the project was given them.
REFERENCE = ROOT / "tests" / "reference" / "sfr-2010-12.json"
# The accessibility check: axe-core in Debian's headless Chromium (tests/a11y/axe_check.mjs).
A11Y = ROOT / "tests" / "a11y"


def pytest_configure(config: pytest.Config) -> None:
    """No results cache unless a test asks for one (tests/test_cache.py): tests that change
    how results are computed must not be handed results computed before, nor leave any
    in the user's cache. Set for the whole run, so commands run as processes inherit it."""
    os.environ["REHABSTATS_CACHE"] = "off"


def axe_check(html: Path, width: int) -> dict:
    """axe-core's findings on the page `html` in headless Chromium at `width` pixels, with
    the elements that overflow the page sideways, dialogs, page errors and what the page
    could run (tests/a11y/axe_check.mjs prints them as JSON).

    The tools are the test suite's own, installed by ``make test``: a machine without them
    fails here, it does not skip the check.
    """
    chromium, node = shutil.which("chromium"), shutil.which("node")
    harness = A11Y / "node_modules" / "axe-core"
    if chromium is None or node is None or not harness.is_dir():
        pytest.fail(
            "the accessibility check needs chromium, node and tests/a11y/node_modules "
            "(axe-core, puppeteer-core): `make test` installs them"
        )
    command = [node, str(A11Y / "axe_check.mjs"), str(html), "--width", str(width)]
    done = subprocess.run(
        [*command, "--chromium", chromium], capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 1):  # 1: findings, in the JSON
        pytest.fail(f"axe_check.mjs failed on {html}: {done.stderr.strip()}")
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def reference() -> dict:
    """The published figures of Socialförsäkringsrapport 2010:12."""
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def small_register() -> pd.DataFrame:
    """A small generated register extract (codes, typed), shared read-only."""
    return generate(600, seed=11)


@pytest.fixture
def small_csv(tmp_path: Path, small_register: pd.DataFrame) -> Path:
    """The small register extract as a CSV file in the canonical layout."""
    path = tmp_path / "register.csv"
    write_csv(small_register, path)
    return path


def write_rows(path: Path, frame: pd.DataFrame) -> Path:
    """Write a (possibly damaged) text frame as a comma-separated UTF-8 file."""
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def default_report(tmp_path_factory: pytest.TempPathFactory):
    """The default report rendered once per test session: both languages, HTML and PDF."""
    from rehabstats.engine.pipeline import render_report

    return render_report(DEFAULT_DATA, tmp_path_factory.mktemp("default-report") / "out")


@pytest.fixture(scope="session")
def default_results():
    """The results of the shipped default dataset (computed once per test session)."""
    from rehabstats.reporting.results import analyse

    return analyse(DEFAULT_DATA)


@pytest.fixture(scope="session")
def dalarna_results():
    """The results of one county of the default dataset, unprotected, as one part of
    ``rehabstats render --by county`` computes them (computed once per test session)."""
    from rehabstats.data.population import derive_cohort
    from rehabstats.data.validation import read_dataset
    from rehabstats.reporting.results import DatasetInfo, compute_results

    typed = read_dataset(DEFAULT_DATA)
    part = typed[typed["county"] == "dalarna"]
    dataset = DatasetInfo(DEFAULT_DATA.name, len(part), "x", part=("county", "dalarna"))
    return compute_results(derive_cohort(part), dataset)
