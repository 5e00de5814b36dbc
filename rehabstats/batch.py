"""Many reports at once: one per value of a column, rendered in parallel, with an index.

``rehabstats render DATA --by county`` validates the file once, splits the register
extract by the column's values and renders each part as a full report in its own
folder (``OUT/<value>/``), on as many processes as the machine has cores. A part that
cannot be reported (for example a county without a declined group) is listed on the
index page with the reason; the others are rendered all the same.
"""

from __future__ import annotations

import html
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from rehabstats import formatting as fmt
from rehabstats.dictionary import load_dictionary
from rehabstats.errors import OptionError
from rehabstats.glossary import Glossary
from rehabstats.pipeline import STEM, RenderOptions, render_results
from rehabstats.population import EmptyGroupsError, derive_cohort
from rehabstats.render import TEMPLATES
from rehabstats.results import DatasetInfo, compute_results, file_sha256
from rehabstats.validation import read_dataset


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


def _render_part(
    part: pd.DataFrame, dataset: DatasetInfo, value: str, out: Path, options: RenderOptions
) -> PartOutcome:
    """Analyse and render one part; a part without a study group is reported, not raised.

    The whole file has passed validation, so a missing group is the only refusal a part
    can meet.
    """
    try:
        cohort = derive_cohort(part)
    except EmptyGroupsError as refusal:
        problem = "; ".join(str(p) for p in refusal.report.problems)
        return PartOutcome(value, len(part), None, problem, refusal.groups)
    render_results(partial(compute_results, cohort, dataset), out, options)
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
            f'<a href="{_href(outcome.value, lang, f"{STEM}.{form}")}">{form.upper()}</a>'
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
    glossaries = [Glossary.load(options.reports_dir / "glossary", lang) for lang in options.langs]
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


def render_by(
    data: Path,
    out: Path,
    column: str,
    options: RenderOptions,
    workers: int | None = None,
) -> tuple[Path, list[PartOutcome]]:
    """One report per value of ``column`` in ``OUT/<value>/``, and ``OUT/index.html``.

    ``workers`` processes render at once (default: one per core). A column that is not
    a category of the data dictionary, or fewer than one worker, is an OptionError,
    raised before any work.
    """
    spec = load_dictionary().columns.get(column)
    if spec is None or spec.type != "category":
        raise OptionError(f"--by needs a categorical column of the data dictionary, not {column!r}")
    if workers is not None and workers < 1:
        raise OptionError(f"--workers needs a number of processes of 1 or more, not {workers}")
    options.check()
    data, out = Path(data), Path(out).resolve()
    typed = read_dataset(data)
    sha256 = file_sha256(data)
    values = [v for v in spec.codes if (typed[column] == v).any()]
    out.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")  # kernels and threads start clean
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count(), mp_context=context) as pool:
        futures = []
        for value in values:
            part = typed[typed[column] == value]
            dataset = DatasetInfo(data.name, len(part), sha256, part=(column, value))
            futures.append(pool.submit(_render_part, part, dataset, value, out / value, options))
        outcomes = [future.result() for future in futures]
    whole = DatasetInfo(data.name, len(typed), sha256)
    return _index_page(out, column, whole, outcomes, options), outcomes
