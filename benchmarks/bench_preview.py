"""Edit and see: how long a saved prose edit takes to reach ``rehabstats preview``'s page,
next to the floor of its tools, measured in one run.

The **floor** is what any notebook report pays for one language's HTML: papermill
executing an empty notebook on a kernel of its own, and that notebook rendered to HTML.
The **edit** is the time from saving a sentence in a project's ``text/<lang>/summary.md``
to the preview having the page with it (its version changed), on the default data, the
preview having rendered once. Target (issue 17): an edit within 1.5× the floor. A prose
edit runs the edited chapter's cell again; a **label edit** (the glossary's word before
each table's number) runs the whole notebook again on the kept kernel, its figures kept
(none of them is drawn from that word): both are timed.

    .venv/bin/python benchmarks/bench_preview.py [--edits 5] [--lang sv]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
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


def edits(folder: Path, lang: str, count: int) -> tuple[float, list[float], list[float]]:
    """The first render's seconds, and the seconds each of ``count`` prose edits, then
    each of ``count`` label edits, took to reach the page."""
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
    glossary = project / "glossary" / f"{lang}.yaml"
    prose = [_timed(preview, lambda n: _append(summary, f"\nEdit {n}.\n"), n) for n in range(count)]
    labels = [_timed(preview, lambda n: _relabel(glossary, n), n) for n in range(count)]
    stop.set()
    thread.join()
    return first, prose, labels


def _timed(preview: object, change: Callable[[int], None], number: int) -> float:
    """Seconds from ``change(number)`` to the preview's page with it."""
    version = preview.state.version
    started = time.perf_counter()
    change(number)
    _wait(preview, version)
    if preview.state.error is not None:
        raise SystemExit(f"the preview failed: {preview.state.error}")
    return time.perf_counter() - started


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _relabel(glossary: Path, number: int) -> None:
    """The word before each table's number ("Tabell") given ``number`` after it."""
    text = glossary.read_text(encoding="utf-8")
    relabelled = re.sub(r"(?m)^(table_word: \w+).*$", rf"\g<1> {number}", text)
    glossary.write_text(relabelled, encoding="utf-8")


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
        first, prose, labels = edits(folder, args.lang, args.edits)
        floors = []
        for number in range(args.edits):  # as many as the edits: one alone moves by half
            (folder / f"floor{number}").mkdir()
            floors.append(floor(folder / f"floor{number}", args.lang))
    edit, label, empty = (statistics.median(times) for times in (prose, labels, floors))
    rows = [
        [f"floor (empty notebook, new kernel, HTML; median of {len(floors)})", f"{empty:.2f}"],
        ["preview: first render (analysis, kernel, notebook, HTML)", f"{first:.2f}"],
        [f"preview: prose edit to page (median of {len(prose)})", f"{edit:.2f}"],
        [f"preview: label edit to page, whole notebook (median of {len(labels)})", f"{label:.2f}"],
    ]
    print(table(["step", "wall s"], rows))
    print(
        f"\nedit / floor: {edit / empty:.2f}x (target {TARGET}x); edits: "
        + ", ".join(f"{s:.2f}" for s in prose)
        + "; floors: "
        + ", ".join(f"{s:.2f}" for s in floors)
    )
    print(
        f"label edit / floor: {label / empty:.2f}x; label edits: "
        + ", ".join(f"{s:.2f}" for s in labels)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
