"""The statistics of the report at register sizes: time and peak memory per size.

    python benchmarks/bench_statistics.py [--sizes 10000 100000 1000000 3000000]
    python benchmarks/bench_statistics.py --tables [--sizes 1000000 3000000 10000000]
                                          [--folder DIR]

For each size a generated register extract is written as Parquet (in its own process),
then a fresh process reads it and times each stage of ``rehabstats.reporting.results.analyse``:
``load`` (Parquet), ``validate`` (pandera contract), ``cohort`` (``derive_cohort``) and
``statistics`` (``compute_results``: descriptive tables, Kaplan–Meier, log-rank, the
Cox models with fixed and with time-varying covariates, the intention-to-treat
analysis). Peak memory is that process's peak resident set (``ru_maxrss``), so
it is per size; ``base`` is the process after its imports, before any data.
The growth table compares each size with the one before: a linear stage keeps its
time and memory per row (ratio ≈ 1).

``--tables`` measures instead what a user runs, ``rehabstats tables FILE --out DIR``, as
a process of its own: wall and CPU time and its exact peak resident set (from the
kernel's accounting of that process, ``wait4``), against the targets for a national
register (:data:`TABLES_TARGET`); and the writing of the file (``rehabstats synth``),
which at 10 million rows takes minutes and gigabytes itself. With ``--folder`` the
files are kept there and reused by later runs. Never run two of the largest sizes at
once on one machine: each takes most of its memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from common import ROOT, print_header, table

SIZES = [10_000, 100_000, 1_000_000, 3_000_000]
TABLES_SIZES = [1_000_000, 3_000_000, 10_000_000]
STAGES = ("load", "validate", "cohort", "statistics")
TARGET_ROWS, TARGET_SECONDS, TARGET_MIB = 1_000_000, 120, 4096
# ``rehabstats tables`` on a national register: rows, seconds, MiB (issue 17, item 4).
TABLES_TARGET = (10_000_000, 360, 8192)
REHABSTATS = Path(sys.executable).with_name("rehabstats")


def _peak_mib() -> float:
    """This process's peak resident set so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write(rows: int, seed: int, scenario: str, path: Path) -> None:
    """Generate ``rows`` register rows and write them as Parquet."""
    from rehabstats.data.synth import generate

    generate(rows, seed=seed, scenario=scenario).to_parquet(path)


def measure(path: Path) -> dict:
    """Time each stage of the analysis of ``path``; peak memory after each."""
    from rehabstats.data.loading import load
    from rehabstats.data.population import derive_cohort
    from rehabstats.data.validation import validate
    from rehabstats.reporting.results import DatasetInfo, compute_results

    figures = {"base_mib": _peak_mib()}
    start = time.perf_counter()
    raw = load(path)
    figures |= {"load": time.perf_counter() - start, "load_mib": _peak_mib()}
    start = time.perf_counter()
    report, typed = validate(raw)
    del raw
    figures |= {"validate": time.perf_counter() - start, "validate_mib": _peak_mib()}
    if not report.ok:
        raise SystemExit(str(report))
    start = time.perf_counter()
    cohort = derive_cohort(typed)
    figures |= {"cohort": time.perf_counter() - start, "cohort_mib": _peak_mib()}
    start = time.perf_counter()
    compute_results(cohort, DatasetInfo(path.name, report.n_rows, ""))
    figures |= {"statistics": time.perf_counter() - start, "statistics_mib": _peak_mib()}
    return figures | {"rows": report.n_rows, "studied": len(cohort.cases)}


def run_size(rows: int, seed: int, scenario: str, folder: Path) -> dict:
    """Write and measure one size, each in a fresh process."""
    path = folder / f"register-{rows}.parquet"
    here = Path(__file__).resolve()
    subprocess.run(
        [sys.executable, here, "--write", str(rows), str(seed), scenario, str(path)], check=True
    )
    done = subprocess.run(
        [sys.executable, here, "--measure", str(path)], check=True, capture_output=True, text=True
    )
    path.unlink()
    return json.loads(done.stdout.splitlines()[-1])


def _rows(results: list[dict]) -> list[list[object]]:
    """The main table: seconds per stage, peak memory, per-row figures."""
    rows = []
    for r in results:
        total, peak = sum(r[s] for s in STAGES), r["statistics_mib"]
        per_row = [1e6 * total / r["rows"], (peak - r["base_mib"]) * 1024 / r["rows"]]
        rows.append([r["rows"], r["studied"], *(r[s] for s in STAGES), total, peak, *per_row])
    return rows


def _growth(results: list[dict]) -> list[list[object]]:
    """Each size against the one before: how rows, time and memory grew."""
    rows = []
    for small, large in pairwise(results):
        factor = large["rows"] / small["rows"]
        time_small, time_large = (sum(r[s] for s in STAGES) for r in (small, large))
        memory_small, memory_large = (r["statistics_mib"] - r["base_mib"] for r in (small, large))
        stats = large["statistics"] / small["statistics"] / factor
        rows.append(
            [
                f"{small['rows']:,} → {large['rows']:,}",
                factor,
                time_large / time_small,
                memory_large / memory_small,
                time_large / time_small / factor,
                stats,
                memory_large / memory_small / factor,
            ]
        )
    return rows


@dataclass(frozen=True)
class Process:
    """A finished process: wall and CPU seconds, its peak resident set in MiB."""

    seconds: float
    cpu_seconds: float
    peak_mib: float


def run_process(command: Sequence[str]) -> Process:
    """Run ``command`` and wait for it with ``wait4``, which gives that process's own
    resource use: its peak resident set exactly, not sampled, and not mixed with any
    other child's (``RUSAGE_CHILDREN`` keeps the largest child so far). A failing
    command raises ``RuntimeError`` with the end of its error output."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        if process.returncode != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{message}")
    return Process(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def measure_tables(rows: int, seed: int, scenario: str, folder: Path) -> dict:
    """Write the extract of ``rows`` rows (unless ``folder`` has it), then time
    ``rehabstats tables`` on it."""
    path = folder / f"register-{rows}-{seed}-{Path(scenario).stem}.parquet"
    figures: dict[str, object] = {"rows": rows, "write": None}
    if not path.exists():
        command = ["synth", "--seed", str(seed), "--n", str(rows), "--scenario", scenario]
        figures["write"] = run_process([REHABSTATS, *command, "--out", path])
    figures["file_mib"] = path.stat().st_size / 2**20
    with tempfile.TemporaryDirectory(prefix="rehabstats-tables-") as out:
        figures["tables"] = run_process([REHABSTATS, "tables", path, "--out", out])
    return figures


def _tables_rows(results: list[dict]) -> list[list[object]]:
    """One row per size: the file, its writing, ``rehabstats tables`` and per-row figures."""
    rows = []
    for r in results:
        write, tables = r["write"], r["tables"]
        written = [write.seconds, write.peak_mib] if write else ["(reused)", ""]
        per_row = [1e6 * tables.seconds / r["rows"], tables.peak_mib * 1024 / r["rows"]]
        timed = [tables.seconds, tables.cpu_seconds, tables.peak_mib]
        rows.append([r["rows"], r["file_mib"], *written, *timed, *per_row])
    return rows


def _tables_growth(results: list[dict]) -> list[list[object]]:
    """Each size against the one before: time and memory per row (1: linear)."""
    rows = []
    for small, large in pairwise(results):
        factor = large["rows"] / small["rows"]
        seconds = large["tables"].seconds / small["tables"].seconds
        memory = large["tables"].peak_mib / small["tables"].peak_mib
        label = f"{small['rows']:,} → {large['rows']:,}"
        rows.append([label, factor, seconds, memory, seconds / factor, memory / factor])
    return rows


def _verdict(results: list[dict]) -> str:
    """The targets, and whether the run at their size met them."""
    rows, seconds, mib = TABLES_TARGET
    target = f"target at {rows:,} rows: under {seconds} s and {mib:,} MiB"
    measured = [r["tables"] for r in results if r["rows"] == rows]
    if not measured:
        return f"{target} (not measured in this run)"
    run = measured[0]
    met = run.seconds < seconds and run.peak_mib < mib
    return f"{target}: {'met' if met else 'missed'} ({run.seconds:,.0f} s, {run.peak_mib:,.0f} MiB)"


def main_tables(args: argparse.Namespace) -> int:
    """``--tables``: measure ``rehabstats tables`` at every size and print the tables."""
    print_header("rehabstats tables at register sizes: wall time and peak memory")
    with tempfile.TemporaryDirectory(prefix="rehabstats-bench-") as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        for rows in args.sizes:
            results.append(measure_tables(rows, args.seed, args.scenario, folder))
            print(f"measured {rows:,} rows", file=sys.stderr, flush=True)
    headers = ["rows", "file MiB", "write s", "write peak MiB", "tables s", "tables CPU s"]
    headers += ["tables peak MiB", "µs/row", "peak KiB/row"]
    print(table(headers, _tables_rows(results)))
    if len(results) > 1:
        print()
        print("growth (ratios; time and memory per row ≈ 1 means linear):")
        headers = ["sizes", "rows ×", "time ×", "memory ×", "time/row ×", "memory/row ×"]
        print(table(headers, _tables_growth(results)))
    print()
    print(_verdict(results))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Measure every size and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", default="default", help="synth scenario name or file")
    parser.add_argument(
        "--tables", action="store_true", help="time the process 'rehabstats tables FILE'"
    )
    parser.add_argument(
        "--folder", type=Path, help="with --tables: keep the generated files here, reuse them"
    )
    parser.add_argument("--write", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write:
        rows, seed, scenario, path = args.write
        write(int(rows), int(seed), scenario, Path(path))
        return 0
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    if args.tables:
        args.sizes = args.sizes or TABLES_SIZES
        return main_tables(args)
    args.sizes = args.sizes or SIZES

    print_header("Statistics at register sizes: load → validate → cohort → statistics")
    with tempfile.TemporaryDirectory(prefix="rehabstats-bench-") as folder:
        results = []
        for rows in args.sizes:
            results.append(run_size(rows, args.seed, args.scenario, Path(folder)))
            print(f"measured {rows:,} rows", file=sys.stderr, flush=True)
    headers = ["rows", "studied", *(f"{s} s" for s in STAGES), "total s", "peak MiB"]
    print(table([*headers, "µs/row", "peak KiB/row"], _rows(results)))
    print()
    print("peak MiB after each stage (base: after imports):")
    stage_peaks = [[r["rows"], r["base_mib"], *(r[f"{s}_mib"] for s in STAGES)] for r in results]
    print(table(["rows", "base", *STAGES], stage_peaks))
    if len(results) > 1:
        print()
        print("growth (ratios; time and memory per row ≈ 1 means linear):")
        headers = ["sizes", "rows ×", "time ×", "memory ×", "time/row ×", "statistics/row ×"]
        print(table([*headers, "memory/row ×"], _growth(results)))
    print()
    print(
        f"targets at {TARGET_ROWS:,} rows: the whole report under {TARGET_SECONDS} s and "
        f"{TARGET_MIB} MiB (this is the analysis part; bench_report.py --rows adds the render)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
