"""Rendering engine: parameterised notebook -> executed notebook -> HTML, PDF and Word.

Pipeline: papermill executes the notebook; nbconvert turns markdown cells and the
Markdown/image outputs of code cells into pandoc markdown (code, stream text and
errors are left out); pandoc writes a self-contained HTML file, Typst source that
the bundled Typst compiler turns into a PDF, or a Word file (docx) in the styles of
``templates/reference.docx``, its SVG figures drawn as PNG by Typst. Both tools come
from PyPI (pypandoc-binary, typst), and so do the PDF's fonts
(:mod:`rehabstats.engine.fonts`): nothing installed on the system is used. No LaTeX, no
browser, no downloads.

Notebook conventions (pandoc markdown, as in Quarto):

- First cell: a raw cell with YAML front matter (see `set_front_matter`): title,
  subtitle, series, number, publisher, contact, author (list), date, lang ("sv" or
  "en"), toc-title and running-header. Each value is text, never Markdown: pandoc
  is given the strings escaped, and prints them as written.
- Code cells show report content with ``IPython.display.Markdown`` (``#| output:
  asis``); images are referenced relative to the notebook directory, e.g.
  ``![alt text](figures/d1-sv.svg){width=100%}``.
- Table captions: a ``Table: Tabell 4 ...`` line before the table; it is shown as
  written, bold, above the table. Bold total row: ``**cell**`` in each cell.
- Divs: ``::: {.note}`` (small "Anm:"/"Källa:" lines under a table or diagram),
  ``::: {.diagram-title}`` (bold title kept on the page of the image that follows)
  and ``::: {.pagebreak}`` (new page in the PDF and Word, invisible in HTML).
- Headings are not numbered; the text carries its own section names.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import mimetypes
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache, partial
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING
from urllib.parse import unquote

import yaml
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.client import KernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync

from rehabstats.engine import FORMATS
from rehabstats.engine.fonts import SANS, SERIF, font_files
from rehabstats.errors import OptionError, RenderError, ResourceError
from rehabstats.reporting.clock import run_time
from rehabstats.reporting.formatting import LOCALES, markdown_literal

if TYPE_CHECKING:
    import nbformat
    import typst

# papermill, nbconvert, nbformat, pypandoc and typst take seconds to import together: each is
# imported where it is used, so that a render starts its kernels first (engine.pipeline).

TEMPLATES = Path(__file__).parent / "templates"
# Word's styles (fonts, headings, tables, notes); tools/reference_docx.py builds it.
REFERENCE_DOCX = TEMPLATES / "reference.docx"
# The resolution of the PNG a figure's SVG becomes in Word (which cannot show SVG alone).
DOCX_PPI = 200
# "default": pandoc and Typst, shipped with rehabstats; "quarto": an installed Quarto.
ENGINES = ("default", "quarto")
# Output types that belong in the report; stream text, errors and plain reprs do not.
REPORT_MIMETYPES = ("text/markdown", "image/png", "image/jpeg", "image/svg+xml")
# Pandoc markdown without implicit figures: an image's alt text stays alt text, the
# visible title comes from a `.diagram-title` div.
PANDOC_FROM = "markdown-implicit_figures"
KERNEL = "python3"
# Seconds a kernel may take to start or to refresh (papermill's own start timeout).
KERNEL_TIMEOUT = 60
# Seconds a new client waits for the kernel's answer before it asks again (ReadyClient):
# a subscriber that joined late misses the answer, and asking again costs a message.
READY_ATTEMPT_SECONDS = 0.1
# The PDF's standards: PDF/UA-1 (accessible: tagged, every figure with alt text, the
# document's language and title) and PDF/A-2a (archivable, with the same tags). Typst
# checks each while it compiles and refuses a document that breaks one.
PDF_STANDARDS = ["ua-1", "a-2a"]


def _cell_summary(source: str) -> str:
    """The first line of a cell that says what it does (not a ``#|`` cell option)."""
    lines = [line for line in source.strip().splitlines() if not line.startswith("#|")]
    return lines[0] if lines else ""


class ReadyClient(AsyncKernelClient):
    """A kernel client that knows its kernel is ready as soon as it is.

    jupyter_client's ``wait_for_ready`` ends by waiting until the kernel has said
    nothing for 0.2 s: papermill waits so before every notebook, and the preview before
    every edit's cells. Here a client is ready when the kernel has answered a
    kernel_info request on the shell channel and said it is idle after it on the IOPub
    channel, which shows that both carry its messages; as there, the request is sent
    again until both come (a new subscriber can miss the first messages), and a kernel
    that dies or does not answer in ``timeout`` seconds raises RuntimeError.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return once the kernel answers on the shell and IOPub channels (see above)."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        requests: list[str] = []
        while True:
            requests.append(self.kernel_info())
            answered = await self._idle_after(requests, READY_ATTEMPT_SECONDS)
            if answered is not None:
                left = deadline - time.monotonic()
                reply = await self._async_recv_reply(answered, timeout=max(left, 0.0))
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _idle_after(self, requests: list[str], seconds: float) -> str | None:
        """The one of ``requests`` after which IOPub says, within ``seconds``, that the
        kernel is idle, or None; the messages before it are read and dropped."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                message = await ensure_async(self.iopub_channel.get_msg(timeout=left))
            except Empty:
                return None
            request = message["parent_header"].get("msg_id")
            if (
                request in requests
                and message["msg_type"] == "status"
                and message["content"]["execution_state"] == "idle"
            ):
                return request
        return None


class Kernel(AsyncKernelManager):
    """A Python kernel's manager that closes the clients opened on it, which are
    :class:`ReadyClient` s.

    papermill opens a client on a kernel it is handed (sockets and a heartbeat thread)
    and leaves it open, which it may, as it leaves the kernel running: a kernel that
    runs one notebook after another would gather them. :func:`execute_notebook` closes
    them when its notebook has run.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(client_class=f"{__name__}.ReadyClient", **kwargs)
        self._opened: list[KernelClient] = []

    def client(self, **kwargs: object) -> KernelClient:
        """A client of this kernel, remembered so that it can be closed."""
        client = super().client(**kwargs)
        self._opened.append(client)
        return client

    def close_clients(self) -> None:
        """Close every client opened on this kernel since the last call."""
        while self._opened:
            self._opened.pop().stop_channels()


def start_kernel(cwd: Path | None = None, preload: Sequence[str] = ()) -> Kernel:
    """A Python kernel, started in `cwd` (None: this process's folder), that imports `preload`.

    Starting a kernel and importing pandas and matplotlib takes seconds: this returns as
    soon as the kernel's process is launched, and the kernel does that meanwhile, while
    the results are computed; :func:`execute_notebook` then waits for it and runs the
    notebook on it. The imports leave no names behind, so the notebook's namespace is
    still only what its own cells make it. What they load stays for the kernel's life,
    so it is frozen (``gc.freeze``): the collector's passes, while notebooks run and at
    each refresh, no longer search its 140,000 objects. One thread at a time may use
    the kernel.
    """
    kernel = Kernel(kernel_name=KERNEL, **_sockets())
    loaded = [*preload, "gc"]
    roots = ", ".join(sorted({name.split(".")[0] for name in loaded}))
    imports = [f"import {', '.join(loaded)}", "gc.freeze()", f"del {roots}"] if preload else []
    arguments = [f"--IPKernelApp.exec_lines={line}" for line in imports]
    # The history file nbclient gives the kernels it starts: none on disk.
    arguments.append("--HistoryManager.hist_file=:memory:")
    run_sync(kernel.start_kernel)(cwd=str(cwd or Path.cwd()), extra_arguments=arguments)
    return kernel


def _sockets() -> dict[str, str]:
    """How a new kernel is reached: by Unix sockets of its own, named by a random prefix
    in the temporary folder (removed when it stops), where the system has them.

    Over TCP, jupyter_client picks ports that are free when it looks, and a kernel
    started at the same moment (a ``--by`` run starts several, and so may anything else
    on the machine) can take one before this kernel binds it, which kills the kernel.
    """
    if os.name == "nt":
        return {}
    prefix = Path(tempfile.gettempdir()) / f"rehabstats-kernel-{uuid.uuid4().hex[:12]}"
    return {"transport": "ipc", "ip": str(prefix)}


def stop_kernel(kernel: Kernel) -> None:
    """Stop `kernel` at once: its notebooks are written, it holds nothing to save."""
    kernel.close_clients()
    run_sync(kernel.shutdown_kernel)(now=True)


@contextmanager
def started_kernel(cwd: Path, preload: Sequence[str] = ()) -> Iterator[Kernel]:
    """:func:`start_kernel` for the block, stopped after it."""
    kernel = start_kernel(cwd, preload)
    try:
        yield kernel
    finally:
        stop_kernel(kernel)


def refresh_kernel(kernel: Kernel, cwd: Path, state: str = "") -> None:
    """Make `kernel`, which may have run notebooks, a new kernel's equal in the folder `cwd`.

    IPython's reset with a new session empties the namespace, the input and output
    history and the values displayed, and counts executions from 1 again, as a new
    kernel does; `state` is code that sets back what the notebooks change in the
    modules they import (for the report: the study settings). The modules stay
    imported, which is what makes a kept kernel cheap: a notebook whose cells changed
    other state of the process (a library's options) would find it changed. The code
    runs silently: it shows in no notebook and is not counted. A kernel that cannot be
    refreshed raises RenderError.
    """
    code = "\n".join(
        [f"import os\nos.chdir({str(cwd)!r})", state, "get_ipython().reset(new_session=True)"]
    )
    content = run_sync(_run_silently)(kernel, code)
    if content["status"] != "ok":
        problem = f"{content.get('ename')}: {content.get('evalue')}"
        raise RenderError(f"the notebook's kernel could not be made ready in {cwd}: {problem}")


async def _run_silently(kernel: Kernel, code: str) -> dict:
    """Run `code` on `kernel` without output or history; the content of the kernel's reply."""
    client = kernel.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=KERNEL_TIMEOUT)
        reply = await client.execute_interactive(
            code,
            silent=True,
            store_history=False,
            allow_stdin=False,
            timeout=KERNEL_TIMEOUT,
            output_hook=lambda _message: None,
        )
    finally:
        kernel.close_clients()
    return reply["content"]


def execute_notebook(
    template: Path,
    parameters: dict,
    output: Path,
    cwd: Path,
    kernel: Kernel | None = None,
) -> Path:
    """Run `template` with `parameters` via papermill and write the result to `output`.

    The notebook runs on `kernel` (see :func:`start_kernel`) when one is given, else
    on a kernel of its own started in `cwd`. The kernel is started in its folder
    rather than papermill's ``cwd``, which changes the whole process's folder and so
    is not safe with one language per thread. Parameter names the notebook does not
    declare raise RenderError up front, because papermill would silently inject them
    (a notebook of one's own, ``reports_dir``, may lack one). On a failing
    cell the partly executed notebook is kept at `output` for inspection and a
    RenderError names the cell. The notebook is written when it ends (or fails), not
    before and after every cell: those two writes per cell cost more than most cells
    (benchmarks/README.md).
    """
    import papermill

    known = papermill.inspect_notebook(str(template))
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise RenderError(f"{template.name}: unknown parameter(s) {', '.join(unknown)}")
    output.parent.mkdir(parents=True, exist_ok=True)
    if kernel is None:
        with started_kernel(cwd) as own:
            return execute_notebook(template, parameters, output, cwd, own)
    try:
        papermill.execute_notebook(
            str(template),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL,
            log_output=False,
            progress_bar=False,
            request_save_on_cell_execute=False,
            km=kernel,
        )
    except papermill.PapermillExecutionError as exc:
        raise RenderError(
            f"{template.name}: cell {exc.cell_index} ({_cell_summary(exc.source)!r}) failed "
            f"with {exc.ename}: {exc.evalue}",
            notebook=output,
        ) from exc
    finally:
        kernel.close_clients()
    return output


def set_front_matter(notebook_path: Path, metadata: dict) -> None:
    """Write `metadata` as the YAML front matter in the notebook's first raw cell.

    An existing front-matter cell (a first raw cell starting with ``---``) is
    replaced, otherwise a new one is inserted, so pandoc and Quarto find the report
    metadata at the top of the document. The values are written as given; the
    built-in engine prints each string as text (see :func:`_literal_front_matter`).
    """
    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    cell = _front_matter_cell(metadata)
    if _has_front_matter(nb):
        nb.cells[0] = cell
    else:
        nb.cells.insert(0, cell)
    nbformat.write(nb, notebook_path)


def _has_front_matter(nb: nbformat.NotebookNode) -> bool:
    """Whether the notebook's first cell is a raw cell of YAML front matter."""
    first = nb.cells[0] if nb.cells else None
    return first is not None and first.cell_type == "raw" and first.source.startswith("---")


def _front_matter_cell(metadata: dict) -> nbformat.NotebookNode:
    """A raw cell holding `metadata` as a YAML block."""
    import nbformat

    text = yaml.safe_dump(metadata, allow_unicode=True, sort_keys=False)
    return nbformat.v4.new_raw_cell(f"---\n{text}---")


def _literal_front_matter(nb: nbformat.NotebookNode) -> None:
    """Make every string of the notebook's front matter text for pandoc, never markup.

    Pandoc reads a metadata string as Markdown: an edition title with ``*bold*`` would
    print in italics, ``$x$`` as maths, ``@ref`` as a citation and ``<script>`` would
    be written into the HTML as it is. Each string is escaped on one line
    (:func:`~rehabstats.reporting.formatting.markdown_literal`) in the notebook pandoc is given;
    the executed notebook keeps the values as they were.
    """
    if _has_front_matter(nb):
        metadata = next(yaml.safe_load_all(nb.cells[0].source), None) or {}
        nb.cells[0] = _front_matter_cell(_literal(metadata))


def _literal(value: object) -> object:
    """`value` with every string in it escaped as one line of literal Markdown."""
    if isinstance(value, str):
        return markdown_literal(" ".join(value.splitlines()))
    if isinstance(value, dict):
        return {key: _literal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item) for item in value]
    return value


def render_notebook(
    executed: Path,
    out_dir: Path,
    stem: str,
    formats: Sequence[str],
    engine: str = "default",
    reference_docx: Path = REFERENCE_DOCX,
    when: dt.datetime | None = None,
) -> dict[str, Path]:
    """Render an executed notebook to `out_dir/stem.html`, `.pdf` and/or `.docx`.

    Returns the written files keyed by format. The PDF is dated `when`, the render's
    time (default: :func:`~rehabstats.reporting.clock.run_time` now). `engine="quarto"`
    delegates to an installed Quarto instead of the built-in pandoc/Typst pipeline. An
    unknown format or engine, or a missing `reference_docx` (the Word styles, e.g. a
    project's own), raises before anything is written.
    """
    check_formats(formats)
    check_engine(engine)
    if "docx" in formats and not Path(reference_docx).is_file():
        raise ResourceError(f"{reference_docx}: the Word styles file (reference.docx) is missing")
    out_dir.mkdir(parents=True, exist_ok=True)
    if engine == "quarto":
        return _render_quarto(executed, out_dir, stem, formats, reference_docx)
    renderers = {
        "html": _render_html,
        "pdf": partial(_render_pdf, when=when or run_time()),
        "docx": partial(_render_docx, reference=Path(reference_docx).resolve()),
    }
    with tempfile.TemporaryDirectory(prefix="rehabstats-render-") as tmp:
        build = Path(tmp)
        markdown = _export_markdown(executed, build)
        folders = [build, executed.parent.resolve()]  # where the page's files are
        return {
            fmt: renderers[fmt](markdown, folders, out_dir.resolve() / f"{stem}.{fmt}")
            for fmt in formats
        }


def check_formats(formats: Sequence[str]) -> None:
    """Refuse a format the engine cannot write (OptionError naming the ones it can)."""
    unknown = [form for form in formats if form not in FORMATS]
    if unknown:
        named = ", ".join(map(repr, unknown))
        raise OptionError(f"unknown format {named}; use {', '.join(FORMATS)}")


def check_engine(engine: str) -> None:
    """Refuse an engine rehabstats does not know (OptionError naming the ones it does)."""
    if engine not in ENGINES:
        raise OptionError(f"unknown engine {engine!r}; use {', '.join(ENGINES)}")


def _export_markdown(executed: Path, build: Path) -> Path:
    """Convert the notebook's markdown cells and report outputs to `build/report.md`.

    Code is excluded and only Markdown/image outputs are kept, so a stray print or
    repr never reaches the report; the front matter's strings are made literal text.
    Inline image outputs are written next to the markdown file, which is why `build` is
    on pandoc's resource path.
    """
    import nbformat
    from nbconvert import MarkdownExporter

    nb = nbformat.read(executed, as_version=4)
    _literal_front_matter(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            reduced = (_report_output(out) for out in cell.outputs)
            cell.outputs = [out for out in reduced if out is not None]
    body, resources = MarkdownExporter(exclude_input=True).from_notebook_node(nb)
    for name, data in resources.get("outputs", {}).items():
        (build / name).write_bytes(data)
    markdown = build / "report.md"
    markdown.write_text(body, encoding="utf-8")
    return markdown


def _report_output(output: dict) -> dict | None:
    """Return `output` reduced to its report mimetypes, or None if it has none.

    Dropping e.g. ``text/html`` next to ``text/markdown`` makes nbconvert pick the
    markdown representation, which pandoc can turn into both HTML and Typst.
    """
    import nbformat

    data = {k: v for k, v in output.get("data", {}).items() if k in REPORT_MIMETYPES}
    return nbformat.from_dict({**output, "data": data}) if data else None


def _render_html(markdown: Path, folders: Sequence[Path], target: Path) -> Path:
    """Write one self-contained HTML file, with a TOC: CSS and the figures' font inline, SVG
    figures drawn inline (report.lua marks them, :func:`_inline_svgs` draws them), other
    images as data URLs.

    Pandoc writes the page; what makes it self-contained is done after, in this order,
    rather than by pandoc's --embed-resources, which parses the whole page again (0.3 s
    of a page's 0.8 with the figures and the font, 0.14 s without them).
    """
    _pandoc(
        markdown,
        "html5",
        target,
        [
            _resource_path(folders),
            f"--template={TEMPLATES / 'report.html'}",
            f"--css={TEMPLATES / 'report.css'}",
            f"--lua-filter={TEMPLATES / 'report.lua'}",
            "--standalone",
            "--toc",
            "--toc-depth=3",
        ],
    )
    page = _embedded(_inline_svgs(target.read_text(encoding="utf-8"), folders), folders)
    target.write_text(_with_font_faces(page), encoding="utf-8")
    return target


# A style sheet the page's template links (report.html), and an image's source.
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]*)"\s*/?>')
IMAGE_SOURCE = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")')


def _embedded(page: str, folders: Sequence[Path]) -> str:
    """``page`` with each style sheet it links inline, and each image of a file in
    ``folders`` (looked up as pandoc does) as a data URL; one that is a data URL
    already stays. An image at an address (https:) raises RenderError: the page would
    load it whenever it is read, and a report is rendered without the network."""

    def style(link: re.Match[str]) -> str:
        sheet = _found(html.unescape(link[1]), folders)
        return f'<style type="text/css">\n{sheet.read_text(encoding="utf-8")}</style>'

    def image(source: re.Match[str]) -> str:
        src = html.unescape(source[2])
        if src.startswith("data:"):
            return source[0]
        if re.match(r"[A-Za-z][\w+.-]+:", src):  # a scheme, not a drive (C:)
            raise RenderError(f"the image {src} is an address: a report's images are files")
        path = _found(unquote(src), folders)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"{source[1]}data:{mime};base64,{data}{source[3]}"

    return IMAGE_SOURCE.sub(image, STYLESHEET.sub(style, page))


# An image report.lua marked as an SVG figure to draw inline (pandoc writes its <img>),
# the mark holding the file's name as the document gives it.
SVG_MARK = re.compile(r'<img\b(?=[^>]*\sdata-inline-svg=")[^>]*>')


def _inline_svgs(page: str, folders: Sequence[Path]) -> str:
    """Draw each SVG figure that report.lua marked inline in the HTML ``page``, so its text
    can be selected, searched and read, named by its alt text (role "img").

    Its size comes from the style sheet (the width of the column); its metadata go, and
    its ids are prefixed with its file's name, so that two figures' clip paths and
    markers cannot collide. Done after pandoc, not in the filter, so that pandoc does
    not parse every figure's markup again.
    """

    def drawn(mark: re.Match[str]) -> str:
        attributes = dict(re.findall(r'\s([\w-]+)="([^"]*)"', mark[0]))
        src = unquote(html.unescape(attributes["data-inline-svg"]))  # a URL, as pandoc reads it
        label = html.unescape(attributes.get("alt", ""))
        svg = _found(src, folders).read_text(encoding="utf-8")
        svg = svg[re.search(r"<svg[\s>]", svg).start() :]
        svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, count=1, flags=re.DOTALL)
        prefix = re.sub(r"[^A-Za-z0-9-]", "-", Path(src).stem) + "-"
        svg = svg.replace(' id="', f' id="{prefix}').replace("url(#", f"url(#{prefix}")
        svg = svg.replace(' xlink:href="#', f' xlink:href="#{prefix}')
        svg = re.sub(r'^<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
        name = html.escape(label, quote=False).replace('"', "&quot;")
        return f'<svg class="figure" role="img" aria-label="{name}"{svg[len("<svg") :]}'

    return SVG_MARK.sub(drawn, page)


def _with_font_faces(page: str) -> str:
    """``page`` with a style sheet declaring Source Sans Pro in the report's styles, the
    shipped files (:mod:`rehabstats.engine.fonts`) embedded, first among its styles.

    The figures' text is set in it (their SVG is inline, its text selectable), laid out by
    matplotlib with these files: a fallback font of other widths could make labels
    overlap. Headings and tables name the same family. Encoded once per process.
    """
    style = f'<style type="text/css">{_font_face_rules()}</style>\n'
    head = page.index("</title>\n") + len("</title>\n")
    return page[:head] + style + page[head:]


@cache
def _font_face_rules() -> str:
    """The @font-face rules of :func:`_with_font_faces`, the files as data URLs."""
    faces = []
    for file in font_files(SANS):
        weight = "bold" if "Bold" in file.stem else "normal"
        style = "italic" if file.stem.endswith("It") else "normal"
        data = base64.b64encode(file.read_bytes()).decode("ascii")
        faces.append(
            f'@font-face {{ font-family: "{SANS}"; font-weight: {weight}; '
            f"font-style: {style}; src: url(data:font/ttf;base64,{data}) "
            'format("truetype"); }\n'
        )
    return "".join(faces)


def _render_pdf(markdown: Path, folders: Sequence[Path], target: Path, when: dt.datetime) -> Path:
    """Write a PDF via pandoc's Typst writer and the bundled Typst compiler, dated ``when``.

    `--extract-media` copies every image next to the Typst source, so Typst (which
    may only read files under its root) finds them regardless of where they were.
    """
    source = markdown.with_suffix(".typ")
    _pandoc(
        markdown,
        "typst",
        source,
        [
            _resource_path(folders),
            f"--template={TEMPLATES / 'report.typ'}",
            f"--lua-filter={TEMPLATES / 'report.lua'}",
            "--extract-media=media",
            "--standalone",
        ],
    )
    _typst(source, target, when)
    return target


def _render_docx(markdown: Path, folders: Sequence[Path], target: Path, reference: Path) -> Path:
    """Write a Word file in the styles of `reference`, with a table of contents.

    Pandoc's docx writer makes each pipe table a Word table under its caption, each
    image an embedded picture whose description is its alt text, and the Lua filter
    gives notes and diagram titles their styles and page breaks their place. Word
    cannot show an SVG without a PNG beside it, which pandoc would make only with
    rsvg-convert: so the document goes through pandoc's JSON, where each SVG is
    swapped for a PNG that Typst draws (:func:`_svg_as_png`), and its language
    becomes a region's (``sv`` → ``sv-SE``) as Word's proofing tools want.
    """
    ast_path = markdown.with_suffix(".json")
    _pandoc(markdown, "json", ast_path, [])
    document = json.loads(ast_path.read_text(encoding="utf-8"))
    _svgs_as_pngs(document, folders, markdown.parent)
    _regional_language(document)
    ast_path.write_text(json.dumps(document), encoding="utf-8")
    _pandoc(
        ast_path,
        "docx",
        target,
        [
            _resource_path(folders),
            f"--reference-doc={reference}",
            f"--lua-filter={TEMPLATES / 'report.lua'}",
            "--toc",
            "--toc-depth=3",
        ],
        source_format="json",
    )
    return target


def _svgs_as_pngs(document: dict, folders: Sequence[Path], build: Path) -> None:
    """Point every SVG image of pandoc's JSON `document` at a PNG of it in `build`.

    The images are looked up in `folders`, as pandoc would; any other image is left.
    A PNG is named relative to `build`, where pandoc runs: pandoc writes the name into
    the Word file (as the picture's description), and the build folder's is another in
    every run.
    """
    media = build / "docx-media"
    media.mkdir(exist_ok=True)
    fonts = _font_folder(build / "fonts")
    for number, (_, _, link) in enumerate(_images(document["blocks"]), start=1):
        svg = _resource(link[0], folders)  # link: [target, title]
        if svg is not None and svg.suffix.lower() == ".svg":
            png = _svg_as_png(svg, media / f"figure-{number}", fonts)
            link[0] = png.relative_to(build).as_posix()


def _regional_language(document: dict) -> None:
    """Set the `lang` of pandoc's JSON `document` to its region's: ``sv`` → ``sv-SE``.

    The region is :data:`~rehabstats.reporting.formatting.LOCALES`', the numbers' own.
    """
    lang = document["meta"].get("lang")
    if lang and _meta_text(lang) in LOCALES:
        locale = LOCALES[_meta_text(lang)].replace("_", "-")
        document["meta"]["lang"] = {"t": "MetaString", "c": locale}


def _images(node: object) -> Iterator[list]:
    """The contents ``[attributes, alt text, [target, title]]`` of every image in `node`.

    `node` is (part of) pandoc's JSON syntax tree; the lists are the tree's own, so a
    changed target changes the document.
    """
    if isinstance(node, dict):
        if node.get("t") == "Image":
            yield node["c"]
        else:
            yield from _images(node.get("c"))
    elif isinstance(node, list):
        for item in node:
            yield from _images(item)


def _meta_text(value: dict) -> str:
    """The plain text of a metadata value of pandoc's JSON (words and spaces)."""
    if value["t"] == "MetaString":
        return value["c"]
    inlines = value["c"] if value["t"] == "MetaInlines" else []
    return "".join(item["c"] if item["t"] == "Str" else " " for item in inlines)


def _resource_path(folders: Sequence[Path]) -> str:
    """Pandoc's option that makes it look for a document's files in ``folders``."""
    return f"--resource-path={os.pathsep.join(map(str, folders))}"


def _resource(name: str, folders: Sequence[Path]) -> Path | None:
    """The file an image target names, looked up in `folders` as pandoc would, if any."""
    candidates = [Path(name)] if Path(name).is_absolute() else [f / name for f in folders]
    return next((path for path in candidates if path.is_file()), None)


def _found(name: str, folders: Sequence[Path]) -> Path:
    """The file ``name`` in ``folders`` (:func:`_resource`); RenderError if there is none."""
    path = _resource(name, folders)
    if path is None:
        looked = ", ".join(map(str, folders))
        raise RenderError(f"{name}: no such file beside the report (looked in {looked})")
    return path


def _svg_as_png(svg: Path, stem: Path, fonts: Path) -> Path:
    """`stem.png`: the SVG drawn at :data:`DOCX_PPI` by Typst, its text in `fonts`.

    Typst draws SVG with resvg and sets its text in the fonts it is given, the PDF's
    (:func:`_font_folder`); the page is the image's size. Warnings are fatal, as in
    :func:`_typst`.
    """
    import typst

    shutil.copyfile(svg, stem.with_suffix(".svg"))
    source = stem.with_suffix(".typ")
    source.write_text(
        f'#set page(width: auto, height: auto, margin: 0pt)\n#image("{stem.name}.svg")\n',
        encoding="utf-8",
    )
    png = stem.with_suffix(".png")
    try:
        _, warnings = typst.compile_with_warnings(
            str(source),
            output=str(png),
            format="png",
            ppi=DOCX_PPI,
            root=str(stem.parent),
            font_paths=[str(fonts)],
            ignore_system_fonts=True,
        )
    except typst.TypstError as exc:
        raise RenderError(f"typst could not draw {svg.name} as PNG: {exc}") from exc
    if warnings:
        messages = "; ".join(warning.message for warning in warnings)
        raise RenderError(f"typst warned on {svg.name}: {messages}")
    return png


def _typst(source: Path, target: Path, when: dt.datetime) -> None:
    """Compile `source` to the PDF `target`, dated `when`, with the shipped fonts, never
    the system's.

    Typst sees only the fonts of :mod:`rehabstats.engine.fonts` and its own embedded ones, so
    the PDF looks the same on every machine. It compiles to :data:`PDF_STANDARDS`, so an
    image without alt text fails the render, naming the image's file. Warnings are fatal,
    as pandoc's are: Typst warns when, e.g., a font family is unknown and it would silently
    set another.
    """
    import typst

    fonts = _font_folder(source.parent / "fonts")
    try:
        _, warnings = typst.compile_with_warnings(
            str(source),
            output=str(target),
            root=str(source.parent),
            font_paths=[str(fonts)],
            ignore_system_fonts=True,
            pdf_standards=PDF_STANDARDS,
            timestamp=when,
        )
    except typst.TypstError as exc:
        message = _typst_error(exc, source)
        raise RenderError(f"typst could not compile {source.name}: {message}") from exc
    if warnings:
        target.unlink()
        messages = "; ".join(warning.message for warning in warnings)
        raise RenderError(f"typst warned on {source.name}: {messages}")


def _typst_error(exc: typst.TypstError, source: Path) -> str:
    """Typst's message with the line of `source` it points at, and its hints.

    The line is what names the culprit: for an image without alt text (which PDF/UA-1
    refuses) it is the ``image("…")`` call with the figure's file.
    """
    quoted = (
        line.split("│", 1)[1].strip()
        for line in exc.diagnostic.splitlines()
        if re.match(r"\s*\d+\s*│", line)
    )
    located = [f"{source.name}: {line}" for line in quoted]
    return "; ".join([exc.message, *located, *exc.hints])


def _font_folder(folder: Path) -> Path:
    """`folder`, made to hold copies of the report's font files, for Typst.

    Typst takes fonts by the folder, and the font packages' own folders hold each style
    in two formats (see :func:`rehabstats.engine.fonts.font_files`).
    """
    folder.mkdir(exist_ok=True)
    for path in [*font_files(SERIF), *font_files(SANS)]:
        shutil.copyfile(path, folder / path.name)
    return folder


def _pandoc(
    source: Path, to: str, output: Path, options: list[str], source_format: str = PANDOC_FROM
) -> None:
    """Run the pandoc binary shipped with pypandoc-binary from the source's directory.

    Warnings are fatal: pandoc only warns when, e.g., an image is missing and would
    silently publish its alt text instead.
    """
    command = [bundled_pandoc(), str(source), f"--from={source_format}", f"--to={to}"]
    _run([*command, f"--output={output}", "--fail-if-warnings", *options], cwd=source.parent)


@cache
def bundled_pandoc() -> str:
    """The path of the pandoc binary inside the installed pypandoc-binary package.

    Never a pandoc on PATH, nor the one ``PYPANDOC_PANDOC`` names: pypandoc's own
    lookup takes the newest pandoc it finds there, an older system pandoc lacks
    what the report uses (the Typst writer), and a lookup done lazily in each
    language's thread could pick either. The path is found once, in the package's own
    folder, so every render runs the pandoc the project pins.
    """
    import pypandoc

    name = "pandoc.exe" if os.name == "nt" else "pandoc"
    path = Path(pypandoc.__file__).parent / "files" / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise RenderError(
            f"the pandoc shipped with pypandoc-binary is missing ({path} is not an "
            "executable file); reinstall it: pip install --force-reinstall pypandoc-binary"
        )
    return str(path)


def _render_quarto(
    executed: Path, out_dir: Path, stem: str, formats: Sequence[str], reference_docx: Path
) -> dict:
    """Render with `quarto render --no-execute`, moving the results into `out_dir`.

    Quarto reads the front matter as pandoc does, as Markdown: it is given a copy of the
    executed notebook whose front matter is text (:func:`_literal_front_matter`), beside
    it so that the figures' relative paths hold, and removed after.
    """
    quarto = shutil.which("quarto")
    if quarto is None:
        raise RenderError("engine='quarto' requested but Quarto is not installed")
    quarto_options = {
        "html": ["--to", "html", "-M", "embed-resources:true"],
        "pdf": ["--to", "typst"],
        "docx": ["--to", "docx", "-M", f"reference-doc:{Path(reference_docx).resolve()}"],
    }
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    _literal_front_matter(nb)
    literal = executed.with_name(f"{executed.stem}-literal.ipynb")
    nbformat.write(nb, literal)
    results = {}
    try:
        for fmt in formats:
            name = f"{stem}.{fmt}"
            command = [quarto, "render", literal.name, "--no-execute"]
            _run([*command, *quarto_options[fmt], "--output", name], cwd=executed.parent)
            results[fmt] = Path(shutil.move(executed.parent / name, out_dir / name))
    finally:
        literal.unlink()
    return results


def _run(command: list[str], cwd: Path) -> None:
    """Run an external tool; a non-zero exit becomes a RenderError with its stderr."""
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RenderError(f"{Path(command[0]).name} failed: {proc.stderr.strip()}")
