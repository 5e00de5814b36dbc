"""One language's HTML by rehabstats next to an R Markdown peer report of the same data,
measured in interleaved rounds (issue 17, item 2: rehabstats at most 0.8× the peer).

    .venv/bin/python benchmarks/bench_peer.py [--rounds 3] [--lang sv] [--data FILE]
                                              [--analysis-only]

Each round runs, each in its own process and with the results cache off
(``REHABSTATS_CACHE=off``):

- ``rehabstats``: ``rehabstats render DATA --lang LANG --format html``, the whole report
  (17 tables, diagrams, prose, checks, disclosure control);
- ``peer``: ``rmarkdown::render`` of ``peer/report.Rmd``: 8 of the tables and the three
  Kaplan–Meier diagrams with numbers at risk (knitr, survminer), no prose, no checks,
  from ``peer/analysis.R`` (base R and survival), in Swedish;
- ``R analysis``: ``Rscript peer/analysis.R`` alone, the peer's statistics;
- ``rehabstats analyse``: :func:`rehabstats.analyse` alone, rehabstats' statistics.

The order within a round is reversed every other round, so that a change in the
machine's load falls on all of them; medians over the rounds are compared. The peer
needs Debian's r-cran-rmarkdown, r-cran-knitr and r-cran-survminer (``make
benchmark-tools``). ``--analysis-only`` times the R analysis alone, which needs only
r-base-core and r-cran-survival (``make test``): what tests/test_benchmarks.py runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from common import ROOT, Measured, print_header, run_measured, table

DATA = ROOT / "data" / "register.csv"
PEER = Path(__file__).resolve().parent / "peer"
TARGET = 0.8
ANALYSE = "import sys; from rehabstats.reporting.results import analyse; analyse(sys.argv[1])"
RENDER_RMD = (
    "a <- commandArgs(TRUE); rmarkdown::render(a[1], output_dir = a[2], "
    "intermediates_dir = a[2], params = list(data = a[3]), quiet = TRUE)"
)
VERSIONS = (
    "cat(R.version.string, paste(sapply(commandArgs(TRUE), function(p) paste(p, "
    'packageVersion(p))), collapse = ", "), sep = "; ")'
)
ANALYSIS_PACKAGES = ("survival",)
PEER_PACKAGES = ("survival", "rmarkdown", "knitr", "survminer")
OURS, THEIRS, R_ANALYSIS = (
    "rehabstats render",
    "R Markdown peer (report.Rmd)",
    "  R analysis (analysis.R)",
)


def rscript(packages: tuple[str, ...]) -> str:
    """The Rscript to run, after checking that R has ``packages``; prints their versions.

    Exits with the make target that installs what is missing.
    """
    found = shutil.which("Rscript")
    target = "make benchmark-tools" if "rmarkdown" in packages else "make test"
    done = None
    if found is not None:
        command = [found, "-e", VERSIONS, *packages]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done is None or done.returncode != 0:
        raise SystemExit(
            f"bench_peer.py needs Rscript with the R packages {', '.join(packages)} "
            f"(Debian's r-base-core and r-cran-*): `{target}` installs them"
        )
    print(f"R: {done.stdout}")
    return found


def commands(data: Path, folder: Path, lang: str, r: str) -> dict[str, list[str]]:
    """Each measured command by name, writing under ``folder``."""
    return {
        f"{OURS} ({lang}, html)": [
            sys.executable, "-m", "rehabstats", "render", str(data), "--lang", lang,
            "--format", "html", "--out", str(folder / "rehabstats"),
        ],
        THEIRS: [
            r, "-e", RENDER_RMD, str(PEER / "report.Rmd"), str(folder / "peer"), str(data),
        ],
        R_ANALYSIS: [r, str(PEER / "analysis.R"), str(data), str(folder / "r")],
        "  rehabstats analyse": [sys.executable, "-c", ANALYSE, str(data)],
    }  # fmt: skip


def measure(named: dict[str, list[str]], rounds: int) -> dict[str, list[Measured]]:
    """Every command once per round, the order reversed every other round."""
    measured: dict[str, list[Measured]] = {name: [] for name in named}
    for number in range(rounds):
        order = list(named) if number % 2 == 0 else list(reversed(named))
        for name in order:
            measured[name].append(run_measured(named[name]))
    return measured


def _median(runs: list[Measured], value: Callable[[Measured], float]) -> float:
    return statistics.median(value(m) for m in runs)


def rows(measured: dict[str, list[Measured]]) -> list[list[object]]:
    """One row per command: medians, and every round's wall time."""
    return [
        [
            name,
            _median(runs, lambda m: m.seconds),
            _median(runs, lambda m: m.cpu_seconds),
            _median(runs, lambda m: m.peak_tree_mib),
            ", ".join(f"{m.seconds:.2f}" for m in runs),
        ]
        for name, runs in measured.items()
    ]


def outputs(folder: Path, lang: str) -> str:
    """The two HTML files made in the last round, with their sizes (proof they exist)."""
    files = {"rehabstats": folder / "rehabstats" / lang / "report.html"}
    files["peer"] = folder / "peer" / "report.html"
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise SystemExit(f"no HTML made: {', '.join(missing)}")
    return ", ".join(f"{k} {p.stat().st_size / 2**20:.1f} MiB" for k, p in files.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--lang", default="sv", choices=["sv", "en"])
    parser.add_argument("--data", type=Path, default=DATA, help="data file (default: the shipped)")
    parser.add_argument(
        "--analysis-only", action="store_true", help="time the R analysis alone (make test's R)"
    )
    args = parser.parse_args(argv)
    os.environ["REHABSTATS_CACHE"] = "off"  # inherited by every measured process
    print_header("One language's HTML: rehabstats next to an R Markdown peer report")
    r = rscript(ANALYSIS_PACKAGES if args.analysis_only else PEER_PACKAGES)
    data = args.data.resolve()
    print(f"data: {data}; {args.rounds} rounds, interleaved")
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        folder = Path(tmp)
        named = commands(data, folder, args.lang, r)
        if args.analysis_only:
            named = {R_ANALYSIS: named[R_ANALYSIS]}
        measured = measure(named, args.rounds)
        made = None if args.analysis_only else outputs(folder, args.lang)
    headers = ["what", "median wall s", "median CPU s", "median peak MiB (tree)", "wall s, rounds"]
    print()
    print(table(headers, rows(measured)))
    if made is not None:
        ours, peer = measured[f"{OURS} ({args.lang}, html)"], measured[THEIRS]
        wall = _median(ours, lambda m: m.seconds) / _median(peer, lambda m: m.seconds)
        cpu = _median(ours, lambda m: m.cpu_seconds) / _median(peer, lambda m: m.cpu_seconds)
        print(f"\nHTML made: {made}")
        print(f"rehabstats / peer: {wall:.2f}x wall, {cpu:.2f}x CPU (target: at most {TARGET}x)")
    print(f"load average after the run (1, 5, 15 min): {', '.join(map(str, os.getloadavg()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
