"""Kernels started ahead of the results: preloaded, clean, in their folder, always shut down."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import psutil
import pytest

from rehabstats.data.validation import ContractError
from rehabstats.engine.pipeline import render_report
from rehabstats.engine.render import execute_notebook, started_kernel


def _notebook(path: Path, source: str) -> Path:
    """A notebook with a parameters cell and one code cell."""
    parameters = nbformat.v4.new_code_cell('expected = ""')
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=[parameters, nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def _kernels() -> list[psutil.Process]:
    """This process's kernel subprocesses that are still running."""
    children = psutil.Process().children(recursive=True)
    return [p for p in children if p.is_running() and "ipykernel" in " ".join(p.cmdline())]


def test_a_preloaded_kernel_has_the_modules_but_not_their_names(tmp_path: Path) -> None:
    check = (
        "import os, sys\n"
        "assert 'rehabstats.reporting.document' in sys.modules, 'preloaded'\n"
        "assert 'rehabstats' not in globals() and 'IPython' not in globals(), 'no names left'\n"
        "assert os.getcwd() == expected, os.getcwd()\n"
    )
    template = _notebook(tmp_path / "check.ipynb", check)
    work = tmp_path / "work"
    work.mkdir()
    folder = Path.cwd()
    with started_kernel(
        work, preload=("IPython.display", "rehabstats.reporting.document")
    ) as kernel:
        execute_notebook(
            template, {"expected": str(work)}, work / "check.ipynb", work, kernel=kernel
        )
        process = psutil.Process(kernel.provisioner.process.pid)
        assert process.is_running()
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    assert Path.cwd() == folder, "the render job's own folder is left alone"


def test_a_notebook_without_a_kernel_given_runs_on_its_own_in_its_folder(tmp_path: Path) -> None:
    check = "import os\nassert os.getcwd() == expected, os.getcwd()\n"
    template = _notebook(tmp_path / "check.ipynb", check)
    execute_notebook(template, {"expected": str(tmp_path)}, tmp_path / "out.ipynb", tmp_path)
    assert not _kernels()


def test_refused_data_shut_the_waiting_kernels_down(tmp_path: Path, small_csv: Path) -> None:
    """The kernels start before the data are read; a refusal must not leave them running."""
    broken = tmp_path / "broken.csv"
    pd.read_csv(small_csv, dtype=str).drop(columns="arm").to_csv(broken, index=False)
    before = os.getcwd()
    with pytest.raises(ContractError, match="arm"):
        render_report(broken, tmp_path / "out", formats=["html"])
    assert not _kernels()
    assert not list(tmp_path.glob(".out.*")), "no staging folder is left behind"
    assert os.getcwd() == before


def test_reading_results_imports_no_analysis_machinery() -> None:
    """What the kernels import: no pandera, file readers or model fitting (seconds each)."""
    heavy = ("pandera", "pyreadstat", "lifelines", "scipy", "statsmodels")
    script = (
        "import sys, rehabstats.reporting.document\n"
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
