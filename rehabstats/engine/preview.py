"""``rehabstats preview``: edit the report's prose or labels and see it in the browser.

One language's report is rendered as HTML and served on the loopback address. The
command watches what the report is made from — the data file, the report project (its
prose, glossaries, edition, study settings, notebook), rehabstats' own report content
and templates — and renders again when any of it changes. The results are computed
again only when the data or the study settings change (and come from the results cache
when that data was analysed before, :mod:`rehabstats.engine.cache`); the notebook runs
again on the kernel the preview keeps, so an edit costs the notebook and pandoc, not the
statistics or a kernel start. An edit of nothing but prose costs less: only the cells of
the chapters whose prose changed run again, on the namespace the notebook left
(:meth:`Preview._cells_again`). The kernel keeps the figures it drew
(:mod:`rehabstats.engine.figure_cache`): a figure is drawn again only when what it is
drawn from — its data, labels, language, matplotlib's settings, rehabstats' source —
changed. The page asks for the report's version and reloads itself when a new one is
ready.

A change that breaks the report — a file saved half-written, a placeholder the prose
does not have, data that break the contract — is shown on the page, above the last good
report, which stays, and in the terminal. The server answers only for the report, its
version and its reload script: nothing else on the machine can be fetched through it.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from jinja2 import meta
from jupyter_core.utils import run_sync

from rehabstats.data.dictionary import study_settings
from rehabstats.engine.cache import cached_analyse
from rehabstats.engine.pipeline import NOTEBOOK, STEM, Kernels, RenderOptions
from rehabstats.engine.render import (
    KERNEL_TIMEOUT,
    TEMPLATES,
    Kernel,
    execute_notebook,
    render_notebook,
    set_front_matter,
)
from rehabstats.errors import OptionError, RehabstatsError, RenderError
from rehabstats.reporting.edition import edition_for, front_matter, load_edition
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.project import PACKAGE_CONTENT
from rehabstats.stats.disclosure import protect

if TYPE_CHECKING:
    import nbformat

LOOPBACK = "127.0.0.1"
POLL_SECONDS = 0.1  # how often the watched files are looked at (a few dozen stat calls)
# After a change is seen, how long the files must stay as they are before they are read:
# a save empties a file and then writes it, and a look in between would render both.
SETTLE_SECONDS = 0.03
# Run in the kept kernel before each notebook: keep its figures between renders.
KEEP_FIGURES = "from rehabstats.engine import figure_cache\nfigure_cache.keep()"
# The notebook's cells that show a chapter, and those that show a chapter's figures for the
# audit trail (from the results alone), as report.ipynb writes them; #| options aside.
CHAPTER_CELL = re.compile(r'Markdown\(doc\.chapter\("(\w+)"\)\)')
AUDIT_CELL = re.compile(r'doc\.figures\("\w+"\)')
PARAMETER_TAGS = frozenset({"parameters", "injected-parameters"})  # papermill's
KERNEL_POLL_SECONDS = 1.0  # how often a cell run again looks whether its kernel lives
# The messages of a cell's run that are its outputs in the notebook.
OUTPUT_MESSAGES = ("execute_result", "display_data", "stream", "error")
# Files in the watched folders that are not report content.
IGNORED = ("__pycache__", "figures", ".ipynb_checkpoints")
RELOAD_SCRIPT = """\
(function () {
  var seen = null;
  function poll() {
    fetch("/__version", {cache: "no-store"}).then(function (r) { return r.json(); })
      .then(function (state) {
        if (seen === null) { seen = state.version; }
        else if (state.version !== seen) { location.reload(); return; }
        setTimeout(poll, 400);
      }, function () { setTimeout(poll, 1000); });
  }
  poll();
})();
"""
# The error at the top of the report's text, kept in view while one scrolls.
ERROR_STYLE = (
    "position:sticky;top:0;z-index:10;border:3px solid #a00;"
    "background:#fff4f4;color:#000;padding:1em;margin:0 0 1em;font-family:sans-serif;"
    "white-space:pre-wrap"
)

Log = Callable[[str], None]


@dataclass
class PreviewState:
    """What the server shows: the last good page, the last error, and a version that
    changes with either (the page reloads when it does)."""

    page: str | None = None
    error: str | None = None
    version: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, page: str | None = None, error: str | None = None) -> None:
        """A new page (the error cleared) or a new error (the page kept)."""
        with self.lock:
            if page is not None:
                self.page = page
            self.error = error
            self.version += 1


class Preview:
    """The preview of one language's report of ``data`` (see the module doc)."""

    def __init__(self, data: Path, options: RenderOptions, folder: Path, log: Log) -> None:
        self.data = Path(data).resolve()
        self.options = options
        self.lang = options.langs[0]
        self.folder = Path(folder).resolve()
        self.log = log
        self.state = PreviewState()
        self.messages = Glossary.load(PACKAGE_CONTENT / "glossary", self.lang)["preview"]
        self._results: Path | None = None
        self._data_sha256 = ""
        # The notebook the kept kernel's namespace comes from: the last render's, if it
        # succeeded (then cells of it may run again on that namespace).
        self._executed: Path | None = None
        # Whether a prose file takes in another template, by the file's stamp
        # (:func:`_stamp`): each version of a file is parsed once.
        self._takes_in: dict[Path, tuple[tuple[int, int], bool]] = {}

    # --- what is watched -----------------------------------------------------------------

    def watched(self) -> list[Path]:
        """Every file the report of this language is made from."""
        project = self.options.project
        folders = [PACKAGE_CONTENT, TEMPLATES]
        if project.root is not None:
            folders.append(project.root)
        files = [self.data]
        if self.options.edition_path is not None:
            files.append(Path(self.options.edition_path))
        for folder in folders:
            files += [
                path
                for path in Path(folder).rglob("*")
                if path.is_file() and not any(part in IGNORED for part in path.parts)
            ]
        return files

    def snapshot(self) -> dict[Path, tuple[int, int]]:
        """Each watched file's stamp (:func:`_stamp`; a file gone: absent)."""
        stamps = {}
        for path in self.watched():
            try:
                stamps[path] = _stamp(path)
            except OSError:
                continue
        return stamps

    def _prose_changed(self, changed: set[Path]) -> set[str] | None:
        """The names of the sections whose prose changed (``text/<lang>/<name>.md`` of
        the project or the package), or None when anything else changed, or when a
        section's prose takes in another template, so that a change can show outside its
        own chapter."""
        folders = {
            folder.resolve() for folder in self.options.project.search_path(f"text/{self.lang}")
        }
        if any(path.suffix != ".md" or path.parent.resolve() not in folders for path in changed):
            return None
        for folder in folders:
            for path in folder.glob("*.md"):
                if self._takes_in_another(path) is not False:
                    return None  # or unreadable: the whole notebook's run says what is wrong
        return {path.stem for path in changed}

    def _takes_in_another(self, path: Path) -> bool | None:
        """Whether the prose file ``path`` takes in another template; None when it cannot
        be read or parsed. Parsed once for each version of the file."""
        try:
            stamp = _stamp(path)
            if path in self._takes_in and self._takes_in[path][0] == stamp:
                return self._takes_in[path][1]
            source = jinja2.Environment().parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, jinja2.TemplateSyntaxError):
            return None
        takes_in = any(True for _ in meta.find_referenced_templates(source))  # None: a name
        self._takes_in[path] = (stamp, takes_in)
        return takes_in

    def _cells_again(self, notebook: nbformat.NotebookNode, changed: set[Path]) -> list[int] | None:
        """The cells of ``notebook``, the last one run, to run again on its namespace
        after ``changed``, or None: the whole notebook must run, on a fresh kernel.

        Only when nothing but prose changed (:meth:`_prose_changed`): then a chapter
        cell whose prose did not change would show what it shows, and an audit cell
        (:data:`AUDIT_CELL`) too, as would the parameters (they are the same); every
        other code cell runs again, in order: the changed chapters, and cells of unknown
        effect, such as the one that opens the document (reading its prose again) and the
        provenance.
        """
        names = self._prose_changed(changed)
        if names is None:
            return None
        again = []
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code" or PARAMETER_TAGS & set(cell.metadata.get("tags", [])):
                continue
            code = _code(cell.source)
            chapter = CHAPTER_CELL.fullmatch(code)
            if AUDIT_CELL.fullmatch(code) or (chapter is not None and chapter[1] not in names):
                continue
            again.append(index)
        return again

    def _needs_results(self, changed: set[Path]) -> bool:
        """Whether a change means computing the results again: the data or the study
        settings (which change the data contract's categories)."""
        settings = self.options.project.settings
        return self._results is None or self.data in changed or settings in changed

    # --- one render ----------------------------------------------------------------------

    def render(self, kernels: Kernels, changed: set[Path]) -> None:
        """Render the page again after ``changed``; on a failure keep the last page and
        show the error."""
        started = time.perf_counter()
        try:
            page = self._render_page(kernels, changed)
        except RehabstatsError as error:
            self.state.update(error=str(error))
            self.log(f"error: {error}")
            return
        self.state.update(page=page)
        self.log(f"rendered in {time.perf_counter() - started:.1f} s")

    def _render_page(self, kernels: Kernels, changed: set[Path]) -> str:
        """The report's HTML, the results computed again only if they must be, the
        notebook run on the kept kernel made fresh (:class:`Kernels`), or only some of
        its cells run again on the kernel as it is (:meth:`_cells_again`)."""
        executed, self._executed = self._executed, None  # kept only if this one succeeds
        self.options.check()
        work = self.folder / "work"
        with study_settings(self.options.project.settings):
            if self._needs_results(changed):
                self._results = None
                results = protect(
                    cached_analyse(self.data, self.options.project.settings),
                    self.options.min_count,
                )
                work.mkdir(parents=True, exist_ok=True)
                results.save(work / "results.pkl")
                self._results, self._data_sha256 = work / "results.pkl", results.dataset.sha256
            edition = load_edition(self.options.edition_file, [self.lang])
            edition_lang = edition_for(edition, self.lang, self._data_sha256)
            if executed is None:
                again, last = None, None
            else:
                last = _read_notebook(executed)
                again = self._cells_again(last, changed)
            with kernels.use(self.lang, work, refresh=again is None) as kernel:
                if again is None:
                    notebook = execute_notebook(
                        self.options.project.find(NOTEBOOK),
                        {
                            "results": str(self._results),
                            "lang": self.lang,
                            "reports_dir": str(self.options.project.content_dir),
                            "figures_dir": str(work / "figures"),
                            "edition": edition_lang,
                        },
                        output=work / NOTEBOOK,
                        cwd=work,
                        kernel=kernel,
                    )
                else:
                    notebook = _run_again(executed, last, again, kernel)
            glossary = Glossary.of(self.options.project, self.lang)
            set_front_matter(notebook, front_matter(edition_lang, glossary))
            files = render_notebook(notebook, work / "html", STEM, ["html"])
            page = files["html"].read_text(encoding="utf-8")
        self._executed = notebook
        return page

    # --- what is served ------------------------------------------------------------------

    def page(self) -> str:
        """The page as served: the last good report (or a page saying there is none
        yet), the error above it if the last render failed, and the reload script."""
        with self.state.lock:
            page, error = self.state.page, self.state.error
        if page is None:
            title = html.escape(self.messages["title"])
            page = (
                f'<!DOCTYPE html>\n<html lang="{self.lang}"><head><meta charset="utf-8">'
                f"<title>{title}</title></head><body><main><h1>{title}</h1>"
                f"<p>{html.escape(self.messages['waiting'])}</p></main></body></html>"
            )
        if error is not None:
            heading = html.escape(self.messages["error"])
            alert = (
                f'<div role="alert" style="{ERROR_STYLE}"><strong>{heading}</strong>\n'
                f"{html.escape(error)}</div>"
            )
            page = _first_in(page, "main", alert)
        return page.replace("</body>", '<script src="/__preview.js"></script>\n</body>', 1)

    def serve(self, port: int = 0) -> ThreadingHTTPServer:
        """A server on the loopback address (``port`` 0: any free one), in a thread."""
        try:
            server = ThreadingHTTPServer((LOOPBACK, port), _handler(self))
        except OSError as error:
            raise OptionError(
                f"--port {port}: cannot serve on {LOOPBACK} ({error.strerror}); give another "
                "port, or --port 0 for any free one"
            ) from error
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def run(self, stop: threading.Event, port: int = 0, ready: Log | None = None) -> None:
        """Serve and render until ``stop`` is set: a render at the start and after every
        change of a watched file. ``ready`` is told the address once it is served."""
        self.folder.mkdir(parents=True, exist_ok=True)
        server = self.serve(port)
        try:
            with Kernels([self.lang], keep=True, state=KEEP_FIGURES) as kernels:
                address = f"http://{LOOPBACK}:{server.server_address[1]}/"
                (ready or self.log)(address)
                for changed in self._changes(stop):
                    self.render(kernels, changed)
        finally:
            server.shutdown()
            server.server_close()
            shutil.rmtree(self.folder / "work", ignore_errors=True)

    def _changes(self, stop: threading.Event) -> Iterator[set[Path]]:
        """Every watched file at first, then the files changed since the last look,
        each time something changed and then stayed so for :data:`SETTLE_SECONDS`
        (a file being saved is not read half-written), until ``stop`` is set."""
        seen = self.snapshot()
        yield set(seen)
        while not stop.wait(POLL_SECONDS):
            changed: set[Path] = set()
            while not stop.is_set() and (now := self.snapshot()) != seen:
                changed |= {p for p in seen.keys() | now.keys() if seen.get(p) != now.get(p)}
                seen = now
                stop.wait(SETTLE_SECONDS)
            if changed:
                yield changed


def _stamp(path: Path) -> tuple[int, int]:
    """A file's modification time and size: another when the file is saved again."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _code(source: str) -> str:
    """A cell's code without its ``#|`` options and blank lines."""
    lines = source.strip().splitlines()
    return "\n".join(line for line in lines if line.strip() and not line.startswith("#|"))


def _read_notebook(path: Path) -> nbformat.NotebookNode:
    """The executed notebook at ``path`` (nbformat is imported where it is used)."""
    import nbformat

    return nbformat.read(path, as_version=4)


def _run_again(
    path: Path, notebook: nbformat.NotebookNode, cells: list[int], kernel: Kernel
) -> Path:
    """Run the ``cells`` of ``notebook`` (executed, at ``path``) again on ``kernel``, in
    order, each one's outputs replaced by its new ones, and write it back to ``path``.
    A cell that fails raises RenderError naming it, as :func:`execute_notebook` does."""
    import nbformat

    ran = run_sync(_execute)(kernel, [notebook.cells[index].source for index in cells])
    for index, (reply, outputs) in zip(cells, ran, strict=False):  # up to a failed one
        cell = notebook.cells[index]
        if reply["status"] != "ok":
            first = _code(cell.source).splitlines()[0]
            raise RenderError(
                f"{NOTEBOOK}: cell {index} ({first!r}) failed with {reply.get('ename')}: "
                f"{reply.get('evalue')}"
            )
        cell.outputs = [nbformat.v4.output_from_msg(message) for message in outputs]
        cell.execution_count = reply["execution_count"]
    nbformat.write(notebook, path)
    return path


async def _execute(kernel: Kernel, sources: list[str]) -> list[tuple[dict, list[dict]]]:
    """Run each of ``sources`` on ``kernel`` as a notebook cell, up to one that fails:
    for each, the content of the kernel's reply and the messages of what the cell showed
    (:data:`OUTPUT_MESSAGES`)."""
    ran: list[tuple[dict, list[dict]]] = []
    client = kernel.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=KERNEL_TIMEOUT)
        for source in sources:
            messages: list[dict] = []
            running = client.execute_interactive(
                source, allow_stdin=False, output_hook=messages.append
            )
            reply = await _while_alive(kernel, asyncio.ensure_future(running))
            shown = [message for message in messages if message["msg_type"] in OUTPUT_MESSAGES]
            ran.append((reply["content"], shown))
            if reply["content"]["status"] != "ok":
                break
    finally:
        kernel.close_clients()
    return ran


async def _while_alive(kernel: Kernel, running: asyncio.Future[dict]) -> dict:
    """What ``running`` (a cell on ``kernel``) returns; RenderError if the kernel dies
    first, which its client, waiting for the cell's messages, would never notice."""
    while not running.done():
        await asyncio.wait({running}, timeout=KERNEL_POLL_SECONDS)
        if not running.done() and not await kernel.is_alive():
            running.cancel()
            raise RenderError(f"{NOTEBOOK}: the notebook's kernel died while a cell ran")
    return running.result()


def _first_in(page: str, element: str, fragment: str) -> str:
    """``page`` with ``fragment`` first in its ``element`` (the report's text)."""
    start = page.find(f"<{element}")
    end = page.find(">", start) + 1
    return page[:end] + fragment + page[end:]


def _handler(preview: Preview) -> type[BaseHTTPRequestHandler]:
    """The request handler: the page at ``/``, its version and the reload script;
    nothing else."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html", f"/{STEM}.html"):
                self._send(preview.page().encode("utf-8"), "text/html; charset=utf-8")
            elif path == "/__version":
                body = json.dumps({"version": preview.state.version}).encode()
                self._send(body, "application/json")
            elif path == "/__preview.js":
                self._send(RELOAD_SCRIPT.encode(), "text/javascript")
            else:
                self.send_error(404)

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Requests are not logged: the terminal shows renders and errors."""

    return Handler


def preview(data: Path, options: RenderOptions, port: int = 0, folder: Path | None = None) -> None:
    """``rehabstats preview``: serve and re-render until interrupted (Ctrl-C)."""
    work = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="rehabstats-"))

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    stop = threading.Event()
    runner = Preview(data, options, work, log)
    try:
        runner.run(stop, port, ready=lambda url: log(f"preview of {data} at {url} (Ctrl-C stops)"))
    except KeyboardInterrupt:
        stop.set()
