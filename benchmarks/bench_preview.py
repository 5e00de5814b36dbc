"""Edit and see: how long a saved prose edit takes to reach ``rehabstats preview``'s page,
next to the floor of its tools, measured in one run.

The **floor** is what any notebook report pays for one language's HTML: papermill
executing an empty notebook on a kernel of its own, and that notebook rendered to HTML.
The **edit** is the time from saving a sentence in a project's ``text/<lang>/summary.md``
to the preview having the page with it (its version changed), on the default data, the
preview having rendered once. Target (issue 17): an edit within 1.5× the floor.

    .venv/bin/python benchmarks/bench_preview.py [--edits 5] [--lang sv]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_report import FRONT_MATTER, empty_notebook
from common import ROOT, print_header, table

DATA = ROOT / "data" / "register.csv"
TARGET = 1.5


def floor(folder: Path, lang: str) -> float:
    """Seconds for an empty notebook on a new kernel, rendered to HTML."""
    from rehabstats.engine.render import execute_notebook, render_notebook, set_front_matter

    started = time.perf_counter()
    template = empty_notebook(folder / "empty.ipynb")
    executed = execute_notebook(template, {"lang": lang}, folder / "out.ipynb", folder)
    set_front_matter(executed, {**FRONT_MATTER, "lang": lang})
    render_notebook(executed, folder, "report", ["html"])
    return time.perf_counter() - started


def edits(folder: Path, lang: str, count: int) -> tuple[float, list[float]]:
    """The first render's seconds, and the seconds each of ``count`` prose edits took to
    reach the page."""
    from rehabstats.cli import main
    from rehabstats.engine.pipeline import RenderOptions
    from rehabstats.engine.preview import Preview

    project = folder / "project"
    with contextlib.redirect_stdout(io.StringIO()):  # what `rehabstats new` tells a user
        main(["new", str(project)])
    options = RenderOptions(langs=(lang,), formats=("html",), reports_dir=project)
    preview = Preview(DATA, options, folder / "served", lambda _message: None)
    stop = threading.Event()
    thread = threading.Thread(target=preview.run, args=(stop,), daemon=True)
    started = time.perf_counter()
    thread.start()
    _wait(preview, 0)
    first = time.perf_counter() - started
    summary = project / "text" / lang / "summary.md"
    seconds = []
    for number in range(count):
        version = preview.state.version
        started = time.perf_counter()
        summary.write_text(summary.read_text(encoding="utf-8") + f"\nEdit {number}.\n")
        _wait(preview, version)
        seconds.append(time.perf_counter() - started)
        if preview.state.error is not None:
            raise SystemExit(f"the preview failed: {preview.state.error}")
    stop.set()
    thread.join()
    return first, seconds


def _wait(preview: object, version: int) -> None:
    """Until the preview's page is newer than ``version``."""
    while preview.state.version == version:
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=5, help="prose edits timed (default 5)")
    parser.add_argument("--lang", default="sv", choices=["sv", "en"])
    args = parser.parse_args(argv)
    print_header("Edit and see: a prose edit in rehabstats preview, next to the floor")
    with tempfile.TemporaryDirectory(prefix="bench-preview-") as tmp:
        folder = Path(tmp)
        first, seconds = edits(folder, args.lang, args.edits)
        (folder / "floor").mkdir()
        empty = floor(folder / "floor", args.lang)
    edit = statistics.median(seconds)
    rows = [
        ["floor (empty notebook, new kernel, HTML)", f"{empty:.2f}"],
        ["preview: first render (analysis, kernel, notebook, HTML)", f"{first:.2f}"],
        [f"preview: prose edit to page (median of {len(seconds)})", f"{edit:.2f}"],
    ]
    print(table(["step", "wall s"], rows))
    print(
        f"\nedit / floor: {edit / empty:.2f}x (target {TARGET}x); edits: "
        + ", ".join(f"{s:.2f}" for s in seconds)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
