"""The main job: a dataset in, the finished report in both languages and formats out.

One run computes the results once, writes the language-free export, and executes the
report notebook once per language with papermill, on a kernel started while the
results were being computed, then renders each to HTML and PDF (and Word, if asked).
Everything is written into a staging folder beside the output folder and moved into
place only when all of it succeeded, so a failed or interrupted run never leaves a
half-written report where the previous one was. The notebooks of a failed run are kept
in ``<out>.failed/`` and the error names the failing cell.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from rehabstats.data.dictionary import load_dictionary, study_settings
from rehabstats.engine import DEFAULT_FORMATS
from rehabstats.engine.cache import cached_analyse
from rehabstats.engine.render import (
    REFERENCE_DOCX,
    Kernel,
    check_engine,
    check_formats,
    execute_notebook,
    refresh_kernel,
    render_notebook,
    set_front_matter,
    start_kernel,
    stop_kernel,
)
from rehabstats.errors import OptionError, RenderError
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.clock import run_time
from rehabstats.reporting.comparison import compare, read_previous
from rehabstats.reporting.edition import edition_for, front_matter, load_edition
from rehabstats.reporting.export import tables_document, write_exports
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.project import PACKAGE_CONTENT, Project
from rehabstats.reporting.results import Results
from rehabstats.stats.disclosure import DEFAULT_MIN_COUNT, protect

# The default report content: reports/ in a checkout, package data in a wheel.
REPORTS_DIR = PACKAGE_CONTENT
NOTEBOOK = "report.ipynb"
# What a notebook holds to show the comparison with a previous edition (--previous).
COMPARISON_CELL = 'doc.chapter("comparison")'
# What the notebook's first cell imports: its kernel imports them while it waits.
NOTEBOOK_IMPORTS = ("IPython.display", "rehabstats.reporting.document")
# What the notebook sets in the modules it imports, set back as a new kernel has it: the
# study settings (ReportDocument.open applies a project's). See Kernels.
NOTEBOOK_STATE = "from rehabstats.data.dictionary import use_study\nuse_study(None)"
STEM = "report"

Progress = Callable[[str], None]
# Read once, at import: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@dataclass(frozen=True)
class RenderedReport:
    """Where a finished run put its files."""

    out: Path
    documents: dict[str, dict[str, Path]]
    notebooks: dict[str, Path]
    tables_json: Path
    tables_xlsx: Path


def _check_languages(langs: Sequence[str], project: Project) -> None:
    """Refuse a language rehabstats cannot write, or one the report's content lacks.

    Checked here, before any work, rather than where the numbers are first formatted.
    """
    for lang in langs:
        if lang not in fmt.LANGUAGES:
            raise OptionError(f"unknown language {lang!r}; use {', '.join(fmt.LANGUAGES)}")
        Glossary.of(project, lang)


class Kernels:
    """The kernels a render's notebooks run on, one per language, started when made.

    Starting a kernel and importing the notebook's modules takes seconds, which the
    kernels spend while the job computes the results. A render makes its own, before
    it computes anything, and shuts each down as soon as its notebook has run. A
    ``--by`` worker makes them once and keeps them (``keep``): each runs one part's
    notebook after another, refreshed before each (:func:`refresh_kernel`: a new
    namespace, history and execution count, the part's folder, and
    :data:`NOTEBOOK_STATE`), so that a part's notebook runs as on a new kernel without
    the seconds of starting one. Every part runs the same notebook, which sets what it
    sets in the modules again. A kernel whose notebook failed is shut down, not kept.
    ``state`` is code run after :data:`NOTEBOOK_STATE` at each refresh (the preview
    turns on its figure cache there, :mod:`rehabstats.engine.figure_cache`).
    """

    def __init__(self, langs: Sequence[str], keep: bool = False, state: str = "") -> None:
        self.keep = keep
        self.state = "\n".join([NOTEBOOK_STATE, state])
        self._idle: dict[str, Kernel] = {}
        try:
            for lang in langs:
                self._idle[lang] = start_kernel(preload=NOTEBOOK_IMPORTS)
        except BaseException:
            self.close()
            raise

    @contextmanager
    def use(self, lang: str, cwd: Path, refresh: bool = True) -> Iterator[Kernel]:
        """The language's kernel (a new one if it has none), fresh, in the folder ``cwd``;
        not ``refresh``: as its last notebook left it (the preview runs cells of that
        notebook again on it, a kernel it kept)."""
        kernel = self._idle.pop(lang, None)
        if kernel is None:
            kernel = start_kernel(cwd, NOTEBOOK_IMPORTS)
        kept = False
        try:
            if refresh:
                refresh_kernel(kernel, cwd, self.state)
            yield kernel
            kept = self.keep
        finally:
            if kept:
                self._idle[lang] = kernel
            else:
                stop_kernel(kernel)

    def close(self) -> None:
        """Shut down the kernels not in use."""
        while self._idle:
            stop_kernel(self._idle.popitem()[1])

    def __enter__(self) -> Kernels:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _render_language(
    results_ready: Future[tuple[Path, str]],
    lang: str,
    staging: Path,
    edition: dict,
    options: RenderOptions,
    kernels: Kernels,
    when: dt.datetime,
) -> tuple[Path, dict[str, Path]]:
    """Take the language's kernel, wait for the results, execute its notebook, render
    (the PDF dated ``when``, the render's time, as the results say).

    The kernel, started before the results were computed, is refreshed in the
    language's folder while they are; it is given back (kept or shut down, see
    :class:`Kernels`) as soon as the notebook has run, or the results failed.
    ``results_ready`` gives the stored results and the data file's SHA-256, which
    decides whether the edition's note on its data applies.
    """
    work = staging / lang
    work.mkdir(parents=True)
    with kernels.use(lang, work) as kernel:
        results, data_sha256 = results_ready.result()
        edition_lang = edition_for(edition, lang, data_sha256)
        notebook = execute_notebook(
            options.project.find(NOTEBOOK),
            {
                "results": str(results),
                "lang": lang,
                "reports_dir": str(options.project.content_dir),
                "figures_dir": str(work / "figures"),
                "edition": edition_lang,
            },
            output=work / NOTEBOOK,
            cwd=work,
            kernel=kernel,
        )
    glossary = Glossary.of(options.project, lang)
    set_front_matter(notebook, front_matter(edition_lang, glossary))
    # Word's styles: the project's own reference.docx (an agency's), else rehabstats' own.
    styles = options.project.own(REFERENCE_DOCX.name) or REFERENCE_DOCX
    files = render_notebook(
        notebook,
        work,
        STEM,
        options.formats,
        engine=options.engine,
        reference_docx=styles,
        when=when,
    )
    return notebook, files


def staging_folder(out: Path) -> Path:
    """A new, empty folder beside ``out`` with the permissions the umask gives.

    ``mkdtemp`` makes it private (0700) whatever the umask; the report is moved into
    place as it is, so it must have the permissions any new folder would have.
    """
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    staging.chmod(0o777 & ~_UMASK)
    return staging


def _keep_failed_notebooks(staging: Path, out: Path) -> Path:
    """Move the executed notebooks of a failed run to ``<out>.failed/`` for inspection."""
    failed = out.with_name(f"{out.name}.failed")
    shutil.rmtree(failed, ignore_errors=True)
    for notebook in staging.glob(f"*/{NOTEBOOK}"):
        target = failed / notebook.parent.name / NOTEBOOK
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(notebook, target)
    return failed


def replace_folder(out: Path, staging: Path) -> None:
    """Move the finished staging folder to ``out``, replacing an older report."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old)


@dataclass(frozen=True)
class RenderOptions:
    """What to render: languages, formats, edition, engine, the report project (its
    content, falling back to the package's) and disclosure rule."""

    langs: tuple[str, ...] = ("sv", "en")
    formats: tuple[str, ...] = DEFAULT_FORMATS
    edition_path: Path | None = None
    engine: str = "default"
    reports_dir: Path | None = None  # a report project's folder; None: the package's content
    min_count: int = DEFAULT_MIN_COUNT
    previous: Path | None = None  # the previous edition's report folder (--previous)

    @property
    def project(self) -> Project:
        """The report project whose files the render uses (``reports_dir``)."""
        return Project(self.reports_dir)

    @property
    def edition_file(self) -> Path | None:
        """The edition named, else the project's own; None: the package's default."""
        return self.project.edition(self.edition_path)

    def check(self) -> None:
        """Refuse an unknown language, format or engine, or a missing file, before any work.

        Raises OptionError, or ResourceError when the report's content lacks a language
        or the edition file is missing, EditionError when it cannot be used,
        StudySettingsError when the project's study settings cannot be (``--by`` checks
        once, not in every process). OptionError too for a ``SOURCE_DATE_EPOCH`` that
        is no time (:func:`~rehabstats.reporting.clock.run_time`).
        """
        run_time()
        _check_languages(self.langs, self.project)
        check_formats(self.formats)
        check_engine(self.engine)
        load_edition(self.edition_file, self.langs)
        if self.previous is not None:
            read_previous(self.previous)
            self._check_comparison_cell()
        if self.project.settings is not None:
            load_dictionary(study=self.project.settings)

    def _check_comparison_cell(self) -> None:
        """Refuse ``--previous`` for a notebook that would not show the comparison (a
        project's notebook copied before the comparison existed): the chapter would be
        silently missing."""
        notebook = self.project.find(NOTEBOOK)
        try:
            cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
            shown = any(COMPARISON_CELL in "".join(cell["source"]) for cell in cells)
        except (ValueError, KeyError, TypeError) as exc:
            raise OptionError(f"{notebook}: not a Jupyter notebook ({exc})") from exc
        if not shown:
            raise OptionError(
                f"{notebook}: --previous adds a chapter this notebook does not show; add a "
                f"cell with Markdown({COMPARISON_CELL}) after the conclusions (as in the notebook "
                "'rehabstats new' writes), or render without --previous"
            )


def render_results(
    compute: Callable[[], Results],
    out: Path,
    options: RenderOptions,
    progress: Progress = lambda _: None,
    kernels: Kernels | None = None,
) -> RenderedReport:
    """Render the results that ``compute`` returns into ``out``.

    The kernels start before ``compute`` runs, or imports what it needs, so that
    starting Jupyter and importing pandas and matplotlib overlap the analysis: the
    render's own, unless ``kernels`` are given (a ``--by`` worker's). One thread per
    language then executes the notebook on its kernel and renders it. Disclosure
    control (``options.min_count``) is applied once, before anything is written. The
    project's study settings apply throughout (the categories they add are the data
    contract's).
    """
    options.check()
    with (
        Kernels(options.langs) if kernels is None else nullcontext(kernels) as started,
        study_settings(options.project.settings),
    ):
        return _render_checked(compute, Path(out).resolve(), options, progress, started)


def _render_checked(
    compute: Callable[[], Results],
    out: Path,
    options: RenderOptions,
    progress: Progress,
    kernels: Kernels,
) -> RenderedReport:
    """:func:`render_results`, once the options are checked and the kernels started."""
    edition = load_edition(options.edition_file, options.langs)
    when = run_time()  # one time for the whole render: its documents and its workbook
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(out)
    results_path = staging / "results.pkl"
    results_ready: Future[tuple[Path, str]] = Future()
    try:
        with ThreadPoolExecutor(max_workers=len(options.langs)) as pool:
            futures = {
                lang: pool.submit(
                    _render_language, results_ready, lang, staging, edition, options, kernels, when
                )
                for lang in options.langs
            }
            try:
                progress("analysing the data")
                results = replace(protect(compute(), options.min_count), run_time=when)
                if options.previous is not None:  # checked before: read again, it is small
                    previous = compare(read_previous(options.previous), tables_document(results))
                    results = replace(results, comparison=previous)
                results.save(results_path)
            except BaseException:
                results_ready.set_exception(CancelledError("the results could not be computed"))
                raise
            results_ready.set_result((results_path, results.dataset.sha256))
            progress("writing tables.json and tables.xlsx")
            tables_json, tables_xlsx = write_exports(results, staging, edition)
            progress(f"executing and rendering the report in {', '.join(options.langs)}")
            rendered = {lang: future.result() for lang, future in futures.items()}
        results_path.unlink()
        replace_folder(out, staging)
        shutil.rmtree(out.with_name(f"{out.name}.failed"), ignore_errors=True)
    except RenderError as error:
        kept = _keep_failed_notebooks(staging, out)
        shutil.rmtree(staging, ignore_errors=True)
        notebook = kept / error.notebook.parent.name / NOTEBOOK if error.notebook else None
        raise RenderError(error.message, notebook) from error
    except BaseException:  # an interrupt too: the previous report stays as it was
        shutil.rmtree(staging, ignore_errors=True)
        raise

    def moved(path: Path) -> Path:
        return out / path.relative_to(staging)

    return RenderedReport(
        out=out,
        documents={
            lang: {k: moved(p) for k, p in files.items()} for lang, (_, files) in rendered.items()
        },
        notebooks={lang: moved(notebook) for lang, (notebook, _) in rendered.items()},
        tables_json=moved(tables_json),
        tables_xlsx=moved(tables_xlsx),
    )


def render_report(
    data: str | Path,
    out: str | Path,
    langs: Sequence[str] = ("sv", "en"),
    formats: Sequence[str] = DEFAULT_FORMATS,
    edition_path: Path | None = None,
    engine: str = "default",
    reports_dir: Path | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
    progress: Progress = lambda _: None,
    previous: Path | None = None,
) -> RenderedReport:
    """Render the report of a data file into a folder: ``rehabstats render`` in Python.

    The data are analysed once, or not at all when the results cache has them
    (:mod:`rehabstats.engine.cache`); the export and one document per language and format
    are written into a staging folder that replaces ``out`` only when all of it
    succeeded (see the module doc).

    Parameters
    ----------
    data : str or Path
        A register extract in any format :func:`rehabstats.load` reads.
    out : str or Path
        The report folder. It is replaced when the run succeeds and left as it was when
        it fails.
    langs : sequence of str, default ("sv", "en")
        The languages, each a report of its own: ``<out>/<lang>/report.<format>``.
    formats : sequence of str, default ("html", "pdf")
        The formats of each language's report: any of "html", "pdf" and "docx" (Word).
    edition_path : Path, optional
        Edition metadata (number, date, authors); if None, the project's
        ``edition.yaml``, else ``reports/edition.yaml``.
    engine : {"default", "quarto"}
        pandoc and Typst as shipped, or an installed Quarto.
    reports_dir : Path, optional
        A report project (``rehabstats new``): its notebook, prose, glossaries, edition
        and study settings are used, and rehabstats' own content for anything it lacks.
        None: rehabstats' own content.
    min_count : int, default 5
        Disclosure control: figures from fewer cases are hidden (0: off).
    progress : callable, optional
        Called with a short description of each step as it starts.
    previous : Path, optional
        The report folder of the previous edition (``rehabstats render --previous``):
        its tables.json's headline figures are set beside this edition's in a section
        of their own (Tabell 8), and in tables.json's ``comparison``.

    Returns
    -------
    RenderedReport
        Where the files went: ``documents[lang][format]``, the executed ``notebooks``,
        ``tables_json`` and ``tables_xlsx``.

    Raises
    ------
    OptionError
        An unknown language, format or engine, or a ``previous`` folder whose
        tables.json cannot be compared with; raised before any work.
    ResourceError
        A file of the report's content, or the edition file, is missing.
    EditionError
        The edition file cannot be used; ``error.problems`` names each key at fault.
    StudySettingsError
        The project's ``study.yaml`` cannot be used; ``error.problems`` names each key.
    DataFileError
        ``data`` cannot be read as a table.
    ContractError
        The data break the contract; ``error.report`` lists every problem.
    RenderError
        A notebook cell or pandoc, Typst or Quarto failed; the message names the cell
        and where the partly executed notebook was kept (``<out>.failed/``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import rehabstats as rs
    >>> out = Path(tempfile.mkdtemp()) / "report"
    >>> report = rs.render_report("data/register.csv", out, langs=["en"], formats=["html"])
    >>> report.documents["en"]["html"].relative_to(out).as_posix()
    'en/report.html'
    >>> sorted(path.name for path in out.iterdir())
    ['en', 'tables.json', 'tables.xlsx']
    """
    options = RenderOptions(
        tuple(langs),
        tuple(formats),
        edition_path,
        engine,
        None if reports_dir is None else Path(reports_dir),
        min_count,
        previous=None if previous is None else Path(previous),
    )
    settings = options.project.settings
    return render_results(lambda: cached_analyse(data, settings), out, options, progress)
