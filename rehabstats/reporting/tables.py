"""The report's tables in one language: computed results → titled, noted, formatted tables.

Each builder takes :class:`~rehabstats.reporting.results.Results` and a
:class:`~rehabstats.reporting.glossary.Glossary` and returns a :class:`Table` of strings in the
series' style: the title above ("Tabell 4 Uppgifter om avstämningsmöte"), Anm: and
Källa: lines under, the total row in bold. :meth:`Table.markdown` writes the pandoc
Markdown that the rendering engine turns into HTML and PDF.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.comparison import FIGURES, Figure, previous_edition
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import Results
from rehabstats.reporting.text import printed
from rehabstats.stats.cox import CoxRefusal, CoxResult, adjusted_covariates, stars
from rehabstats.stats.descriptive import BALANCE_VARIABLES, EXPORT_VARIABLE, balance_tests
from rehabstats.stats.disclosure import left_out_by_reason

if TYPE_CHECKING:  # the specification names the builders below
    from rehabstats.reporting.specification import Exhibit


@dataclass(frozen=True)
class Table:
    """A formatted table: every cell already a string in the report's language."""

    label: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...]
    source: str
    bold_rows: frozenset[int] = frozenset()

    @property
    def caption(self) -> str:
        return f"{self.label} {self.title}"

    def markdown(self) -> str:
        """Pandoc Markdown: caption line, pipe table, then a ``.note`` div (if any note)."""
        align = ["---"] + ["--:"] * (len(self.header) - 1)
        header = [_cell(c, bold=False) for c in self.header]
        if self.header[0]:  # the label column's name, for HTML (report.lua); print omits it
            header[0] = f"[{header[0]}]{{.stub}}"
        caption = fmt.markdown_literal(self.caption)
        lines = [f"Table: {caption}", "", _pipe_row(header), _pipe_row(align)]
        for i, row in enumerate(self.rows):
            lines.append(_pipe_row([_cell(c, bold=i in self.bold_rows) for c in row]))
        notes = [fmt.markdown_literal(line) for line in (*self.notes, self.source) if line]
        if notes:
            lines += ["", "::: {.note}", *"\n\n".join(notes).splitlines(), ":::"]
        return "\n".join([*lines, ""])


def _pipe_row(cells: list[str] | tuple[str, ...]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(text: str, bold: bool) -> str:
    """One table cell as literal Markdown, optionally bold."""
    literal = fmt.markdown_literal(text).replace("|", "\\|")
    return f"**{literal}**" if bold and text else literal


def source_line(results: Results, glossary: Glossary) -> str:
    """The "Källa:" line of every table and diagram: the data file (and part) it is from."""
    dataset = glossary.dataset(results.dataset.name, results.dataset.part)
    return f"{glossary['source']} {glossary.fill('source_text', dataset=dataset)}"


def _label(glossary: Glossary, exhibit: Exhibit) -> str:
    """The word and number before a table's title: "Tabell 4", "Table B7"."""
    return f"{glossary['table_word']} {exhibit.number}"


def _note(glossary: Glossary, *lines: str) -> tuple[str, ...]:
    """The "Anm:" paragraph: the note word, then each line."""
    return (f"{glossary['note']} " + " ".join(lines),)


# --- population and descriptive tables ----------------------------------------------------


def population_table(results: Results, glossary: Glossary, exhibit: Exhibit) -> Table:
    """Tabell 1: the flow from the register extract to the individuals studied."""
    lang = glossary.lang
    flow = results.flow
    rows = tuple(
        (glossary[f"flow.{step}"], fmt.integer(n, lang))
        for step, n in flow[["step", "n"]].itertuples(index=False)
    )
    excluded = flow.loc[flow["excluded"], "n"].sum()
    studied = int(flow.loc[flow["step"] == "studied", "n"].iloc[0])
    accounted = (
        f"{fmt.integer(excluded, lang)} + {fmt.integer(studied, lang)} = "
        f"{fmt.integer(excluded + studied, lang)}"
    )
    return Table(
        label=_label(glossary, exhibit),
        title=glossary[f"tables.{exhibit.key}"],
        header=(glossary["columns.step"], glossary["columns.cases"]),
        rows=rows,
        notes=_note(glossary, glossary.fill(f"table_notes.{exhibit.key}", accounted=accounted)),
        source=source_line(results, glossary),
        bold_rows=frozenset({len(rows) - 1}),
    )


# The most counties Tabell 2 and 3 set as columns, as the published report does; with more,
# the counties are the rows, so that a table of up to 21 län still fits the page.
COUNTY_COLUMNS = 6


def county_table(results: Results, glossary: Glossary, exhibit: Exhibit) -> Table:
    """Tabell 2 (arms) or 3 (groups): each county's split in per cent, and its cases."""
    counties = exhibit.figures(results).set_index("category")
    groups = [c for c in counties.columns if c not in ("variable", "n")]
    layout = _counties_as_columns if len(counties) - 1 <= COUNTY_COLUMNS else _counties_as_rows
    header, rows = layout(counties, groups, glossary)
    return Table(
        label=_label(glossary, exhibit),
        title=glossary[f"tables.{exhibit.key}"],
        header=header,
        rows=tuple(rows),
        notes=_note(glossary, glossary[f"table_notes.{exhibit.key}"], glossary["groups_note"]),
        source=source_line(results, glossary),
        bold_rows=frozenset({len(rows) - 1}),
    )


def _county_total(n: float, lang: str) -> str:
    """A county's total cell: "100 (1 966)"."""
    return f"100 ({fmt.integer(n, lang)})"


def _county_label(code: str, glossary: Glossary) -> str:
    """A county's name, or "Totalt" for the total."""
    return (
        glossary["columns.county_total"] if code == "total" else glossary.category("county", code)
    )


def _counties_as_columns(
    counties: pd.DataFrame, groups: list[str], glossary: Glossary
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The published layout: a row per group, a column per county, totals last."""
    lang = glossary.lang
    header = (glossary["columns.group"], *(_county_label(c, glossary) for c in counties.index))
    rows = [(glossary[f"groups.{g}"], *(fmt.percent(v, lang) for v in counties[g])) for g in groups]
    rows.append(
        (glossary["columns.total_n_row"], *(_county_total(n, glossary.lang) for n in counties["n"]))
    )
    return header, rows


def _counties_as_rows(
    counties: pd.DataFrame, groups: list[str], glossary: Glossary
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Many counties: a row per county (the total last), a column per group."""
    lang = glossary.lang
    header = (
        glossary.column("county"),
        *(glossary[f"groups.{g}"] for g in groups),
        glossary["columns.total_n_column"],
    )
    rows = [
        (
            _county_label(code, glossary),
            *(fmt.percent(row[g], lang) for g in groups),
            _county_total(row["n"], lang),
        )
        for code, row in counties.iterrows()
    ]
    return header, rows


def _balance_rows(
    frame: pd.DataFrame, columns: list[str], glossary: Glossary
) -> tuple[list[tuple], frozenset[int]]:
    """Rows of B1/B2: age statistics, then each variable's heading and its categories;
    and the rows in bold, the headings and the last (group sizes).

    B1's last column is the p-value of each test: on the rows of mean and median age,
    and a categorical variable's one test on its heading (:func:`balance_tests`).
    """
    lang = glossary.lang
    tests = balance_tests(frame) if "p_value" in frame.columns else None
    by_key = frame.set_index(["variable", "category"])

    def values(key: tuple[str, str], decimals: int) -> tuple[str, ...]:
        row = by_key.loc[key]
        return tuple(fmt.number(row[c], lang, decimals) for c in columns)

    def p_cell(test: str | None = None) -> tuple[str, ...]:
        """B1's p-value cell: the p-value of ``test``, empty on a row without a test."""
        if tests is None:
            return ()
        return (fmt.p_value(tests[test], lang) if test else "",)

    rows: list[tuple] = []
    for stat, decimals, test in (
        ("mean", 0, "age:mean"),
        ("median", 0, "age:median"),
        ("sd", 1, None),
    ):
        label = glossary[f"balance.age_{stat}"]
        rows.append((label, *values(("age", stat), decimals), *p_cell(test)))
    headings = set()
    for variable in BALANCE_VARIABLES:
        exported = EXPORT_VARIABLE.get(variable, variable)
        headings.add(len(rows))
        rows.append((glossary.column(variable), *[""] * len(columns), *p_cell(exported)))
        for code in frame.loc[frame["variable"] == exported, "category"]:
            label = glossary.category(variable, code)
            rows.append((label, *values((exported, code), 0), *p_cell()))
    n = by_key.loc[("n", "n")]
    rows.append((glossary["balance.n"], *(fmt.integer(n[c], lang) for c in columns), *p_cell()))
    return rows, frozenset(headings | {len(rows) - 1})


def balance_table(results: Results, glossary: Glossary, exhibit: Exhibit) -> Table:
    """B1 (arms, with each variable's test) or B2 (groups): the characteristics of the
    cases by group, as in the published Bilaga 1."""
    frame = exhibit.figures(results)
    columns = [c for c in frame.columns if c not in ("variable", "category", "p_value")]
    header = (glossary["columns.variable"], *(glossary[f"groups.{c}"] for c in columns))
    if "p_value" in frame.columns:
        header += (glossary["columns.p_value"],)
    rows, bold = _balance_rows(frame, columns, glossary)
    lines = [glossary["groups_note"]]
    if exhibit.key in glossary["table_notes"]:
        lines.append(glossary[f"table_notes.{exhibit.key}"])
    return Table(
        label=_label(glossary, exhibit),
        title=glossary[f"tables.{exhibit.key}"],
        header=header,
        rows=tuple(rows),
        notes=_note(glossary, *lines),
        source=source_line(results, glossary),
        bold_rows=bold,
    )


# --- time to event ------------------------------------------------------------------------


def _left_out_line(results: Results, event: str, glossary: Glossary) -> str:
    """How many cases the event's analysis leaves out, and why.

    The total is the one Tabell 4–6 and the prose give; the reasons are counted as
    disclosure control allows (:func:`~rehabstats.stats.disclosure.left_out_by_reason`).
    """
    lang = glossary.lang
    total = results.events[event].table.set_index("group").loc["total", "left_out"]
    if total == 0:
        return glossary["left_out_none"]
    reasons = "; ".join(
        glossary.fill(f"reasons.{reason}", n=fmt.integer(n, lang))
        for reason, n in left_out_by_reason(results, event).items()
    )
    return glossary.fill_count("left_out_note", fmt.integer(total, lang), reasons=reasons)


def _logrank_line(results: Results, event: str, glossary: Glossary) -> str:
    p = results.events[event].logrank.overall.p_value
    return glossary.fill("logrank_note", p=fmt.p_relation(p, glossary.lang))


def event_table(results: Results, glossary: Glossary, exhibit: Exhibit) -> Table:
    """Tabell 4–6: days to the event, cases analysed and share with the event, by group."""
    lang, event = glossary.lang, exhibit.event
    frame = results.events[event].table
    rows = tuple(
        (
            glossary[f"groups.{r.group}"],
            fmt.number(r.mean_days, lang),
            fmt.number(r.median_days, lang),
            fmt.integer(r.n, lang),
            fmt.percent(r.share_pct, lang),
        )
        for r in frame.itertuples(index=False)
    )
    header = (
        glossary["columns.group"],
        *(glossary[f"columns.{c}"] for c in ("mean_days", "median_days", "n", "share_pct")),
    )
    notes = _note(
        glossary,
        glossary["groups_note"],
        _left_out_line(results, event, glossary),
        _logrank_line(results, event, glossary),
    )
    return Table(
        label=_label(glossary, exhibit),
        title=glossary[f"tables.{exhibit.key}"],
        header=header,
        rows=rows,
        notes=notes,
        source=source_line(results, glossary),
        bold_rows=frozenset({len(rows) - 1}),
    )


# --- Cox regressions ----------------------------------------------------------------------


def _term_label(term: str, glossary: Glossary) -> str:
    """The printed label of a Cox term such as ``group:treatment`` or ``plan_window:0-30``."""
    name, _, level = term.partition(":")
    if name == "group":
        return glossary[f"groups.{level}"]
    if name in ("meeting", "plan"):
        return glossary[f"terms.{name}_{level}"]
    if name.endswith("_window"):
        event = name.removesuffix("_window")
        if level == "none":
            return glossary[f"terms.{event}_none"]
        return glossary.fill(f"terms.{event}_window", window=level.replace("-", "–"))
    return f"{glossary.column(name)}: {glossary.category(name, level)}"


def _cox_note(result: CoxResult, glossary: Glossary) -> str:
    """The model's sample and the covariates it controls for: those that varied in it
    (a one-county report cannot control for county)."""
    lang = glossary.lang
    counts = {"n": fmt.integer(result.n, lang), "events": fmt.integer(result.events, lang)}
    adjusted = adjusted_covariates(result)
    if not adjusted:
        return glossary.fill("cox_note_unadjusted", **counts)
    return glossary.fill("cox_note", covariates=glossary.covariates(adjusted), **counts)


def refusal_text(refusal: CoxRefusal, glossary: Glossary) -> str:
    """Why a model could not be fitted, in the glossary's language."""
    if refusal.level is None:
        return glossary[f"cox_refusal.{refusal.code}"]
    level = _term_label(f"{refusal.column}:{refusal.level}", glossary)
    return glossary.fill(f"cox_refusal.{refusal.code}", level=level)


# The columns of every table of hazard ratios (glossary ``columns.*``), after the label.
RATIO_COLUMNS = ("hazard_ratio", "ci", "n_cases")


def _header(glossary: Glossary, *columns: str) -> tuple[str, ...]:
    """A header row: the glossary's ``columns.*`` names, the label column's first."""
    return tuple(glossary[f"columns.{column}"] for column in columns)


def _not_fitted_line(refusal: CoxRefusal, glossary: Glossary) -> str:
    """The note of a model that could not be estimated, saying why."""
    return glossary.fill("cox_not_fitted", problem=refusal_text(refusal, glossary))


def _interval(low: float, high: float, lang: str) -> str:
    """A 95 % confidence interval: "1,10–1,26"."""
    if fmt.MISSING in (bounds := (fmt.number(low, lang, 2), fmt.number(high, lang, 2))):
        return fmt.MISSING
    return "–".join(bounds)


def cox_table(results: Results, glossary: Glossary, exhibit: Exhibit) -> Table:
    """B3–B6 and Tabell 7: hazard ratios with stars and N for the terms the exhibit
    shows (``terms``), under their headings."""
    lang, key = glossary.lang, exhibit.key
    result = results.cox[key]
    table = result.table
    rows: list[tuple[str, ...]] = []
    for heading, prefixes in exhibit.terms:
        rows.append((glossary[f"terms.{heading}"], "", "", ""))
        shown = table[table["term"].str.partition(":")[0].isin(prefixes)]
        for r in shown.itertuples(index=False):
            rows.append(
                (
                    _term_label(r.term, glossary),
                    fmt.hazard_ratio(r.hazard_ratio, r.stars, lang),
                    "" if r.stars == "ref" else _interval(r.ci_low, r.ci_high, lang),
                    fmt.integer(r.n, lang),
                )
            )
    lines = [glossary["groups_note"]]
    if key in glossary["table_notes"]:
        lines.append(glossary[f"table_notes.{key}"])
    if result.converged:
        lines.append(_cox_note(result, glossary))
    else:
        lines.append(_not_fitted_line(result.refusal, glossary))
    lines.append(glossary["stars_note"])
    return Table(
        label=_label(glossary, exhibit),
        title=glossary[f"tables.{key}"],
        header=_header(glossary, "variable", *RATIO_COLUMNS),
        rows=tuple(rows),
        notes=_note(glossary, *lines),
        source=source_line(results, glossary),
        bold_rows=frozenset(i for i, r in enumerate(rows) if not any(r[1:])),
    )


def itt_table(results: Results, glossary: Glossary, exhibit: Exhibit) -> Table:
    """The randomised comparison (ITT): for each event, the hazard ratio of the arm
    offered an alternative actor against control, its interval, N and the log-rank p."""
    lang = glossary.lang
    rows = []
    for r in results.itt.table.itertuples(index=False):
        logrank = results.itt.events[r.event].logrank
        rows.append(
            (
                glossary[f"events_capitalised.{r.event}"],
                fmt.hazard_ratio(r.hazard_ratio, stars(r.p_value), lang),
                _interval(r.ci_low, r.ci_high, lang),
                fmt.integer(r.n, lang),
                fmt.integer(r.events, lang),
                fmt.p_value(logrank.p_value, lang),
            )
        )
    models = [results.itt.events[event].cox for event in results.itt.events]
    lines = [glossary["table_notes.ITT"]]
    lines += [_not_fitted_line(m.refusal, glossary) for m in models if m.refusal is not None]
    lines.append(glossary["stars_note"])
    return Table(
        label=_label(glossary, exhibit),
        title=glossary[f"tables.{exhibit.key}"],
        header=_header(glossary, "event", *RATIO_COLUMNS, "events", "logrank_p"),
        rows=tuple(rows),
        notes=_note(glossary, *lines),
        source=source_line(results, glossary),
    )


# --- what changed since the previous edition ---------------------------------------------

# The decimals each kind of figure of the comparison prints with, as in its own table.
COMPARISON_DECIMALS = {"n": 0, "share_pct": 0, "median_days": 0, "hazard_ratio": 2}
COMPARISON_COLUMNS = ("figure", "previous", "current", "change", "conclusion")


def _compared_value(value: float, p_value: float, figure: Figure, lang: str) -> str:
    """A figure of one edition as its table printed it: a hazard ratio with its stars."""
    if figure.tested:
        return fmt.hazard_ratio(value, stars(p_value), lang)
    return fmt.number(value, lang, COMPARISON_DECIMALS[figure.kind])


def _change(previous: float, current: float, figure: Figure, lang: str) -> str:
    """The change between the printed figures, signed with a true minus ("+6",
    "−0,58"): a reader can check it from the two columns; ".." where either is not
    shown."""
    decimals = COMPARISON_DECIMALS[figure.kind]
    change = round(printed(current, decimals) - printed(previous, decimals), decimals)
    if pd.isna(change):
        return fmt.MISSING
    sign = "+" if change > 0 else "\u2212" if change < 0 else ""
    return sign + fmt.number(abs(change), lang, decimals)


def _compared_label(figure: Figure, glossary: Glossary) -> str:
    """A figure's row label: its group, or its event for the randomised comparison."""
    if figure.table == "ITT":
        return glossary[f"events_capitalised.{figure.subject}"]
    return glossary[f"groups.{figure.subject}"]


def _conclusion_cell(figure: Figure, code: str | None, glossary: Glossary) -> str:
    """Whether a hazard ratio's conclusion changed, in words; empty for figures
    without a test, ".." where either edition does not show the ratio."""
    if not figure.tested:
        return ""
    return fmt.MISSING if code is None else glossary[f"comparison.conclusions.{code}"]


def comparison_table(results: Results, glossary: Glossary, exhibit: Exhibit) -> Table:
    """What changed since the previous edition (``--previous``): each headline figure
    of both editions, the change and, for a hazard ratio, whether its conclusion changed."""
    lang, g, comparison = glossary.lang, glossary, results.comparison
    rows: list[tuple[str, ...]] = []
    headings = set()
    block = None
    for figure, r in zip(FIGURES, comparison.figures.itertuples(index=False), strict=True):
        if (figure.table, figure.kind) != block:
            block = (figure.table, figure.kind)
            headings.add(len(rows))
            rows.append((g[f"comparison.headings.{figure.table}_{figure.kind}"], *[""] * 4))
        rows.append(
            (
                _compared_label(figure, g),
                _compared_value(r.previous, r.p_previous, figure, lang),
                _compared_value(r.current, r.p_current, figure, lang),
                _change(r.previous, r.current, figure, lang),
                _conclusion_cell(figure, r.conclusion, g),
            )
        )
    edition = previous_edition(comparison, lang)
    version = comparison.previous["rehabstats_version"]
    lines = [
        g.fill("comparison.table_note", version=version, **edition),
        g["comparison.conclusions_note"],
        g["groups_note"],
        g["stars_note"],
    ]
    return Table(
        label=_label(g, exhibit),
        title=g[f"tables.{exhibit.key}"],
        header=tuple(g[f"comparison.columns.{c}"] for c in COMPARISON_COLUMNS),
        rows=tuple(rows),
        notes=_note(g, *lines),
        source=source_line(results, g),
        bold_rows=frozenset(headings),
    )


def missing_note(results: Results, glossary: Glossary) -> str:
    """The line that explains ".." under a table or diagram that shows it."""
    if results.min_count > 1:
        return glossary.fill("suppressed_note", min_count=results.min_count)
    return glossary["missing_note"]  # no disclosure control: ".." only where not computable


def _with_suppression_note(table: Table, results: Results, glossary: Glossary) -> Table:
    """Explain ".." under a table that shows it, in a cell or in a note."""
    cells = [cell for row in table.rows for cell in row]
    if not any(fmt.MISSING in text for text in (*cells, *table.notes)):
        return table
    return dataclasses.replace(table, notes=(*table.notes, missing_note(results, glossary)))


def build_table(key: str, results: Results, glossary: Glossary) -> Table:
    """The formatted table ``key`` of the results' specification, with the note on ".."
    where it shows one."""
    exhibit = results.exhibit(key)
    table = exhibit.build(results, glossary, exhibit)
    return _with_suppression_note(table, results, glossary)
