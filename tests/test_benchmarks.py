"""The benchmark scripts keep working: each runs in a small configuration.

They must print their tables and the Cox yardstick must agree with lifelines. Timings are
never asserted: they belong to the machine, and the scripts are there to measure them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script: str, *args: str) -> str:
    """Run a benchmark script as a user would; its standard output."""
    command = [sys.executable, str(BENCHMARKS / script), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "machine:" in done.stdout
    return done.stdout


def _cells(out: str) -> set[str]:
    """Every cell of every table in a benchmark's output."""
    rows = (line.strip("|").split("|") for line in out.splitlines() if line.startswith("|"))
    return {cell.strip() for row in rows for cell in row}


def _bench_cox():
    """The bench_cox module (the benchmarks are scripts, not a package)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("bench_cox", BENCHMARKS / "bench_cox.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def test_yardstick_matches_lifelines_on_a_published_dataset() -> None:
    """Rossi's recidivism data: the yardstick's Efron fit is lifelines' to 1e-6."""
    rossi = load_rossi()
    fitted = CoxPHFitter().fit(rossi, "week", "arrest")
    x = rossi.drop(columns=["week", "arrest"])
    beta, se, _ = _bench_cox().yardstick_fit(
        rossi["week"].to_numpy(float), rossi["arrest"].to_numpy(bool), x.to_numpy(float)
    )
    np.testing.assert_allclose(beta, fitted.params_[x.columns].to_numpy(), atol=1e-6)
    np.testing.assert_allclose(se, fitted.standard_errors_[x.columns].to_numpy(), atol=1e-6)


def test_cox_benchmark_prints_its_comparison_and_agrees() -> None:
    out = _run("bench_cox.py", "--sizes", "3000", "--statsmodels")
    expected = {"model", "report s", "lifelines s", "yardstick s", "report/yardstick"}
    expected |= {"statsmodels s", "statsmodels/yardstick"}
    models = {"B3", "B4", "B5", "B6", "T7", "all (B3–B6 fitted, T7 derived)"}
    assert {*expected, *models} <= _cells(out)
    assert "agreement with lifelines: OK" in out


def test_statistics_benchmark_prints_sizes_and_growth() -> None:
    out = _run("bench_statistics.py", "--sizes", "1000", "2000")
    assert {"rows", "validate s", "statistics s", "peak MiB", "1,000", "2,000"} <= _cells(out)
    assert {"1,000 → 2,000", "time/row ×", "memory/row ×"} <= _cells(out)


def test_statistics_benchmark_times_the_tables_command() -> None:
    out = _run("bench_statistics.py", "--tables", "--sizes", "1000")
    assert {"rows", "write s", "tables s", "tables peak MiB", "1,000"} <= _cells(out)
    assert "target at 10,000,000 rows" in out


def test_report_benchmark_measures_the_floor() -> None:
    out = _run("bench_report.py", "--quick")
    floor = "floor (empty notebook, sv+en, html+pdf), median of 3"
    assert {floor, "wall s", "peak MiB (tree)"} <= _cells(out)


def test_report_benchmark_measures_render_analysis_and_a_render_by_column() -> None:
    out = _run("bench_report.py", "--rows", "600", "--by", "sex")
    rows = {
        "render (sv+en, html+pdf), cold",
        "render again, results cached",
        "of which analyse",
        "render --by sex (all values)",
    }
    assert rows <= _cells(out)
    assert "render / floor:" in out and "again, results cached:" in out
    assert "--by sex: 2 reports of 2 values" in out
    assert "--by sex: per report / single render:" in out


def test_preview_benchmark_times_an_edit_against_the_floor() -> None:
    out = _run("bench_preview.py", "--edits", "1")
    assert {"floor (empty notebook, new kernel, HTML; median of 1)", "wall s"} <= _cells(out)
    assert "edit / floor:" in out and "(target 1.5x)" in out


def test_peer_benchmark_runs_the_r_analysis() -> None:
    """bench_peer.py's R side as far as `make test` installs R (r-base-core, survival):
    analysis.R through the benchmark's own commands and measurement. The R Markdown peer
    needs `make benchmark-tools` (some 200 Debian packages), which CI does not install."""
    out = _run("bench_peer.py", "--analysis-only", "--rounds", "1")
    assert {"R analysis (analysis.R)", "median wall s", "wall s, rounds"} <= _cells(out)
    assert "survival 3." in out
