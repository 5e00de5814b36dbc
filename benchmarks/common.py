"""Shared helpers of the benchmark scripts: the machine, plain tables, measured processes.

The scripts import this module by name (``python benchmarks/<name>.py`` puts this
folder on the path). Nothing here is part of the rehabstats package.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SECONDS = 0.02
MIB = 1024 * 1024


def machine() -> str:
    """One line naming the machine the figures come from."""
    memory = psutil.virtual_memory().total / 1024**3
    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.platform()} | {cpu} | {os.cpu_count()} cores | {memory:.1f} GiB RAM | "
        f"Python {platform.python_version()}"
    )


def print_header(title: str) -> None:
    """The benchmark's title, the machine and how busy it is, printed before any figure.

    The load average counts processes wanting a core: above zero, something else ran
    beside the benchmark and the times are that much less reliable.
    """
    print(f"# {title}")
    print(f"machine: {machine()}")
    print(f"load average before the run (1, 5, 15 min): {', '.join(map(str, os.getloadavg()))}")
    print()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown pipe table (readable in a terminal, pasteable into a README)."""
    cells = [[str(h) for h in headers], *([_cell(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class Measured:
    """A finished process: wall and CPU time, peak memory of its whole tree, its output."""

    seconds: float
    cpu_seconds: float
    peak_tree_mib: float
    peak_single_mib: float
    stdout: str
    stderr: str


def run_measured(command: Sequence[str], cwd: Path = ROOT) -> Measured:
    """Run ``command``, polling the RSS of it and all its descendants until it ends.

    ``peak_tree_mib`` is the largest sum over the tree seen at one sample (every
    ``SAMPLE_SECONDS``), ``peak_single_mib`` the largest single process.
    ``cpu_seconds`` is the user and system time of the whole tree: less affected than
    the wall time when other processes compete for the cores. A failing command raises
    ``RuntimeError`` with its error output.
    """
    cpu_before = _children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    root = psutil.Process(process.pid)
    peak_tree = peak_single = 0
    while process.poll() is None:
        sizes = [_rss(p) for p in [root, *_children(root)]]
        peak_tree, peak_single = max(peak_tree, sum(sizes)), max(peak_single, *sizes)
        time.sleep(SAMPLE_SECONDS)
    stdout, stderr = process.communicate()
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu_before
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{stderr}")
    return Measured(seconds, cpu, peak_tree / MIB, peak_single / MIB, stdout, stderr)


def _children_cpu() -> float:
    """User and system seconds of every finished descendant of this process."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0
