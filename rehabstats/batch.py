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

import pandas as pd

from rehabstats.dictionary import load_dictionary
from rehabstats.glossary import Glossary
from rehabstats.pipeline import STEM, RenderOptions, render_results
from rehabstats.population import EmptyGroupsError, derive_cohort
from rehabstats.results import DatasetInfo, compute_results, file_sha256
from rehabstats.validation import read_dataset


@dataclass(frozen=True)
class PartOutcome:
    """One value's report: its folder, or why there is none.

    ``problem`` says why in English (the command line prints it); ``empty_groups`` are
    the codes of the study groups the part has no cases in, which the index page names
    in each language.
    """

    value: str
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
        return PartOutcome(value, None, problem, refusal.groups)
    render_results(partial(compute_results, cohort, dataset), out, options)
    return PartOutcome(value, out)


def _refusal(outcome: PartOutcome, glossary: Glossary) -> str:
    """Why a part has no report, in the glossary's language."""
    groups = [glossary[f"groups.{code}"] for code in outcome.empty_groups]
    return "; ".join(glossary.fill("index.empty_group", group=group) for group in groups)


def _index_page(
    out: Path, column: str, outcomes: list[PartOutcome], options: RenderOptions
) -> Path:
    """``OUT/index.html``: a link to every report, by language and format."""
    sections = []
    for lang in options.langs:
        glossary = Glossary.load(options.reports_dir / "glossary", lang)
        title = glossary.fill("index.title", column=glossary.column(column).lower())
        items = []
        for outcome in outcomes:
            label = html.escape(glossary.category(column, outcome.value))
            if outcome.folder is None:
                reason = glossary.fill("index.failed", reason=_refusal(outcome, glossary))
                reason = html.escape(reason)
                items.append(f"<li>{label}: {reason}</li>")
                continue
            links = " · ".join(
                f'<a href="{outcome.value}/{lang}/{STEM}.{form}">{form.upper()}</a>'
                for form in options.formats
            )
            items.append(f"<li>{label}: {links}</li>")
        sections.append(
            f'<section lang="{lang}"><h1>{html.escape(title)}</h1>'
            f"<h2>{glossary['index.language']}</h2><ul>{''.join(items)}</ul></section>"
        )
    page = out / "index.html"
    page.write_text(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>rehabstats</title></head>'
        f"<body>{''.join(sections)}</body></html>\n",
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
    """One report per value of ``column`` in ``OUT/<value>/``, and ``OUT/index.html``."""
    spec = load_dictionary().columns.get(column)
    if spec is None or spec.type != "category":
        raise ValueError(f"--by needs a categorical column of the data dictionary, not {column!r}")
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
            dataset = DatasetInfo(f"{data.name} ({column} = {value})", len(part), sha256)
            futures.append(pool.submit(_render_part, part, dataset, value, out / value, options))
        outcomes = [future.result() for future in futures]
    return _index_page(out, column, outcomes, options), outcomes
