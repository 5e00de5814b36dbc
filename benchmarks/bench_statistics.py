"""The statistics of the report at register sizes: time and peak memory per size.

    python benchmarks/bench_statistics.py [--sizes 10000 100000 1000000 3000000]

For each size a generated register extract is written as Parquet (in its own process),
then a fresh process reads it and times each stage of ``rehabstats.reporting.results.analyse``:
``load`` (Parquet), ``validate`` (pandera contract), ``cohort`` (``derive_cohort``) and
``statistics`` (``compute_results``: descriptive tables, Kaplan–Meier, log-rank and the
five Cox models). Peak memory is that process's peak resident set (``ru_maxrss``), so
it is per size; ``base`` is the process after its imports, before any data.
The growth table compares each size with the one before: a linear stage keeps its
time and memory per row (ratio ≈ 1).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

from common import print_header, table

SIZES = [10_000, 100_000, 1_000_000, 3_000_000]
STAGES = ("load", "validate", "cohort", "statistics")
TARGET_ROWS, TARGET_SECONDS, TARGET_MIB = 1_000_000, 120, 4096


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


def main(argv: list[str] | None = None) -> int:
    """Measure every size and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", default="default", help="synth scenario name or file")
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
