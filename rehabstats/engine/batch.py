"""Many reports at once: one per value of a column, rendered in parallel, with an index.

``rehabstats render DATA --by county`` validates the file once, splits the register
extract by the column's values and renders each part as a full report in its own
folder (``OUT/<value>/``), on as many processes as the machine has cores, each of which
keeps a kernel per language from part to part (:class:`~rehabstats.engine.pipeline.Kernels`,
refreshed before each part's notebook) rather than starting two for every part. The column
may be named by its name or its Swedish or English label, in any case (``Län``,
``County``). A column that is not a category of the data dictionary, a column of which
the data have one value only, and a column none of whose values has cases in every
study group (``arm``: its values make the groups) are refused before any rendering.

As a single render does, the whole folder is written into a staging folder beside
``OUT`` and replaces it only at the end, so nothing of an earlier run (an older report,
a county the data no longer have) is left in it. A part that cannot be reported (for
example a county without a declined group) is listed on the index page with the
reason, and the other parts are rendered all the same: the command then exits 2. A
part whose render fails stops the run: ``OUT`` is left as it was, and the partly
executed notebooks go to ``OUT.failed/<value>/``.
"""

from __future__ import annotations

import atexit
import gc
import html
import multiprocessing
import os
import shutil
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from rehabstats.data.dictionary import ColumnSpec, load_dictionary, study_settings
from rehabstats.data.population import GROUPS, EmptyGroupsError, derive_cohort
from rehabstats.data.validation import read_dataset
from rehabstats.engine.pipeline import (
    STEM,
    Kernels,
    Progress,
    RenderOptions,
    render_results,
    replace_folder,
    staging_folder,
)
from rehabstats.engine.render import TEMPLATES
from rehabstats.errors import OptionError, RenderError
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import DatasetInfo, compute_results, file_sha256

# What a column that is not a category holds, to say why it cannot split the data.
_KINDS = {"string": "an identifier", "date": "a date", "integer": "a number", "boolean": "a yes/no"}
# In a worker process: the kernels it keeps for the parts it renders (_start_worker).
_worker_kernels: Kernels | None = None


@dataclass(frozen=True)
class PartOutcome:
    """One value's report: its folder, or why there is none.

    ``cases`` is the number of rows of the register extract with this value.
    ``problem`` says why in English (the command line prints it); ``empty_groups`` are
    the codes of the study groups the part has no cases in, which the index page names
    in each language.
    """

    value: str
    cases: int
    folder: Path | None
    problem: str | None = None
    empty_groups: tuple[str, ...] = ()


def _start_worker(langs: tuple[str, ...]) -> None:
    """Start a worker process's kernels, one per language, kept for every part it renders.

    At the worker's exit they are shut down and, the parts written, what the worker made
    is frozen, so that its interpreter's exit does not search it for cycles (a second,
    which the run would wait for: see :func:`rehabstats.cli.main`).
    """
    global _worker_kernels
    _worker_kernels = Kernels(langs, keep=True)
    atexit.register(gc.freeze)  # runs last: handlers run in the reverse order
    atexit.register(_worker_kernels.close)


def _render_part(
    part: pd.DataFrame, dataset: DatasetInfo, value: str, out: Path, options: RenderOptions
) -> PartOutcome:
    """Analyse and render one part, on the worker's kernels; a part without a study group
    is reported, not raised.

    The whole file has passed validation, so a missing group is the only refusal a part
    can meet.
    """
    try:
        cohort = derive_cohort(part)
    except EmptyGroupsError as refusal:
        problem = "; ".join(p.rule for p in refusal.report.problems)
        return PartOutcome(value, len(part), None, problem, refusal.groups)
    compute = partial(compute_results, cohort, dataset)
    render_results(compute, out, options, kernels=_worker_kernels)
    return PartOutcome(value, len(part), out)


def _refusal(outcome: PartOutcome, glossary: Glossary) -> str:
    """Why a part has no report, in the glossary's language."""
    groups = [glossary[f"groups.{code}"] for code in outcome.empty_groups]
    return "; ".join(glossary.fill("index.empty_group", group=group) for group in groups)


def _cases(count: int, glossary: Glossary) -> str:
    """A number of cases in the glossary's language: "1 ärende", "4 028 ärenden"."""
    return glossary.fill_count("index.cases", fmt.integer(count, glossary.lang))


def _href(*segments: str) -> str:
    """A relative link to a file, its folder names given as text: quoted, then escaped."""
    return html.escape("/".join(quote(segment, safe="") for segment in segments))


def _index_section(
    column: str,
    dataset: DatasetInfo,
    outcomes: list[PartOutcome],
    formats: tuple[str, ...],
    glossary: Glossary,
) -> tuple[str, str]:
    """One language's half of the index page: its title, and its HTML."""
    lang = glossary.lang
    title = glossary.fill("index.title", column=glossary.column(column).lower())
    source = glossary.fill("index.dataset", name=dataset.name, cases=_cases(dataset.rows, glossary))
    items = []
    for outcome in outcomes:
        label = html.escape(glossary.category(column, outcome.value))
        label += f' <span class="size">({html.escape(_cases(outcome.cases, glossary))})</span>'
        if outcome.folder is None:
            reason = glossary.fill("index.failed", reason=_refusal(outcome, glossary))
            items.append(f"<li>{label}: {html.escape(reason)}</li>")
            continue
        links = " · ".join(
            f'<a href="{_href(outcome.value, lang, f"{STEM}.{form}")}">'
            f"{html.escape(glossary[f'index.format.{form}'])}</a>"
            for form in formats
        )
        items.append(f"<li>{label}: {links}</li>")
    section = (
        f'<section lang="{lang}"><h1>{html.escape(title)}</h1>'
        f'<p class="source">{html.escape(source)}</p>'
        f"<h2>{html.escape(glossary['index.language'])}</h2><ul>{''.join(items)}</ul></section>"
    )
    return title, section


def _index_page(
    out: Path,
    column: str,
    dataset: DatasetInfo,
    outcomes: list[PartOutcome],
    options: RenderOptions,
) -> Path:
    """``OUT/index.html``: the dataset, and a link to every report by language and format."""
    glossaries = [Glossary.of(options.project, lang) for lang in options.langs]
    halves = [
        _index_section(column, dataset, outcomes, options.formats, glossary)
        for glossary in glossaries
    ]
    title = " / ".join(title for title, _ in halves)
    style = (TEMPLATES / "index.css").read_text(encoding="utf-8")
    page = out / "index.html"
    page.write_text(
        f'<!DOCTYPE html>\n<html lang="{options.langs[0]}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head>"
        f"<body>{''.join(section for _, section in halves)}</body></html>\n",
        encoding="utf-8",
    )
    return page


def by_column(name: str) -> ColumnSpec:
    """The column that ``--by`` names: by its name or its Swedish or English label.

    Case and surrounding spaces do not matter, as in a data file's headers. A name
    that is no column, or a column that is not a category, is an OptionError.
    """
    dictionary = load_dictionary()
    column = dictionary.header_aliases.get(name.strip().lower())
    if column is None:
        raise OptionError(
            f"--by {name!r}: no column of the data dictionary has this name or label"
            " (see 'rehabstats dictionary')"
        )
    spec = dictionary[column]
    if spec.type != "category":
        raise OptionError(
            f"--by {name!r}: the column {column} is {_KINDS[spec.type]} column, not a category;"
            " one report per value needs a categorical column such as county or sex"
        )
    return spec


def _values(typed: pd.DataFrame, spec: ColumnSpec, name: str) -> list[str]:
    """The column's values that the data have, in the dictionary's order.

    Refused (OptionError): a column with only one value, whose report would be the
    whole report, and a column none of whose values has studied cases in every study
    group, since every report compares the groups (``arm``, whose values make them).
    """
    values = [value for value in spec.codes if (typed[spec.name] == value).any()]
    if len(values) == 1:
        raise OptionError(
            f"--by {name!r}: every case has the same {spec.name} "
            f"({spec.label(values[0], 'en')}), so its report is the whole report;"
            " render without --by"
        )
    cases = derive_cohort(typed).cases
    groups = cases.groupby(spec.name, observed=True)["group"].nunique()
    if not (groups == len(GROUPS)).any():
        raise OptionError(
            f"--by {name!r}: no value of {spec.name} has studied cases in every study group"
            f" ({', '.join(GROUPS)}), which each report compares, so no report could be made"
        )
    return values


def _progress_line(spec: ColumnSpec, outcome: PartOutcome, finished: int, total: int) -> str:
    """What a finished part says on the command line: "county Dalarna: done (3 of 4)"."""
    part = f"{spec.name} {spec.label(outcome.value, 'en')}"
    if outcome.folder is None:
        return f"{part}: no report ({finished} of {total}): {outcome.problem}"
    return f"{part}: done ({finished} of {total})"


def _part_result(future: Future[PartOutcome], spec: ColumnSpec, value: str) -> PartOutcome:
    """A part's outcome; a failed render names the part it was rendering."""
    try:
        return future.result()
    except RenderError as error:
        part = f"{spec.name} {spec.label(value, 'en')}"
        raise RenderError(f"{part}: {error.message}", error.notebook) from error


def _render_parts(
    typed: pd.DataFrame,
    dataset: DatasetInfo,
    spec: ColumnSpec,
    values: list[str],
    staging: Path,
    options: RenderOptions,
    workers: int | None,
    progress: Progress,
) -> list[PartOutcome]:
    """Render each value's part into ``staging/<value>/``, in parallel, in any order.

    The largest parts are handed out first, so that the last to finish is a small one
    and no core waits long for it. ``progress`` is told of each part as it finishes. The
    first render that fails cancels the parts not yet started and is raised once the
    running ones are done.
    """
    context = multiprocessing.get_context("spawn")  # kernels and threads start clean
    with ProcessPoolExecutor(
        max_workers=workers or os.cpu_count(),
        mp_context=context,
        initializer=_start_worker,
        initargs=(options.langs,),
    ) as pool:
        futures = {}
        parts = {value: typed[typed[spec.name] == value] for value in values}
        for value in sorted(values, key=lambda value: len(parts[value]), reverse=True):
            part = parts[value]
            info = replace(dataset, rows=len(part), part=(spec.name, value))
            future = pool.submit(_render_part, part, info, value, staging / value, options)
            futures[future] = value
        outcomes = {}
        try:
            for finished, future in enumerate(as_completed(futures), start=1):
                outcome = _part_result(future, spec, futures[future])
                outcomes[outcome.value] = outcome
                progress(_progress_line(spec, outcome, finished, len(values)))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return [outcomes[value] for value in values]


def _keep_failed_notebooks(error: RenderError, staging: Path, out: Path) -> RenderError:
    """Move the notebooks of failed parts to ``OUT.failed/<value>/``; the error, pointing there.

    A part's own render keeps them in ``staging/<value>.failed/``.
    """
    failed = out.with_name(f"{out.name}.failed")
    shutil.rmtree(failed, ignore_errors=True)
    for kept in staging.glob("*.failed"):
        failed.mkdir(exist_ok=True)
        shutil.move(kept, failed / kept.name.removesuffix(".failed"))
    notebook = None
    if error.notebook is not None:
        folder, *rest = error.notebook.relative_to(staging).parts
        notebook = failed.joinpath(folder.removesuffix(".failed"), *rest)
    return RenderError(error.message, notebook)


def render_by(
    data: Path,
    out: Path,
    column: str,
    options: RenderOptions,
    workers: int | None = None,
    progress: Progress = lambda _: None,
) -> tuple[Path, list[PartOutcome]]:
    """One report per value of ``column`` in ``OUT/<value>/``, and ``OUT/index.html``.

    ``column`` is a categorical column's name or its Swedish or English label;
    ``workers`` processes render at once (default: one per core); ``progress`` is
    called with a line in English as each part finishes. Refused before any rendering,
    as an OptionError: a name that is no categorical column, a column with one value
    in the data or none of whose values has every study group, fewer than one worker,
    a previous edition to compare with (``options.previous``).

    ``OUT`` is replaced as a whole once every part is done, parts without a report
    included (their outcome's ``problem`` says why; the index lists them). A
    RenderError of any part leaves ``OUT`` as it was and keeps the notebooks in
    ``OUT.failed/<value>/``. The report project's study settings (``options``) apply to
    the whole run, the validation of the file included.
    """
    with study_settings(options.project.settings):
        return _render_by(Path(data), Path(out), column, options, workers, progress)


def _render_by(
    data: Path,
    out: Path,
    column: str,
    options: RenderOptions,
    workers: int | None,
    progress: Progress,
) -> tuple[Path, list[PartOutcome]]:
    """:func:`render_by` within the project's study settings."""
    if options.previous is not None:
        raise OptionError(
            "--previous cannot be used with --by: each part would need the previous"
            " edition's report of the same part; compare reports of the whole file"
        )
    spec = by_column(column)
    if workers is not None and workers < 1:
        raise OptionError(f"--workers needs a number of processes of 1 or more, not {workers}")
    options.check()
    data, out = Path(data), Path(out).resolve()
    typed = read_dataset(data)
    values = _values(typed, spec, column)
    whole = DatasetInfo(data.name, len(typed), file_sha256(data))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(out)
    try:
        outcomes = _render_parts(typed, whole, spec, values, staging, options, workers, progress)
        _index_page(staging, spec.name, whole, outcomes, options)
        replace_folder(out, staging)
        shutil.rmtree(out.with_name(f"{out.name}.failed"), ignore_errors=True)
    except RenderError as error:
        kept = _keep_failed_notebooks(error, staging, out)
        shutil.rmtree(staging, ignore_errors=True)
        raise kept from error
    except BaseException:  # an interrupt too: the previous folder stays as it was
        shutil.rmtree(staging, ignore_errors=True)
        raise
    moved = [replace(o, folder=out / o.value if o.folder else None) for o in outcomes]
    return out / "index.html", moved
