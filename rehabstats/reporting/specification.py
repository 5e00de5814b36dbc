"""The report's specification: each table and diagram once, in the order the report shows it.

An :class:`Exhibit` says everything the rest of the package needs about one table or
diagram: its stable key (``tables.json``, the workbook's sheet), its printed number, the
chapter it is placed in, the figures it shows (what the export writes), how the
document shows it, and — for a table that computes its own figures — how it is
protected. The results, the disclosure control, the export, the documents and the
tests all iterate over :data:`REPORT`; nothing else lists the report's tables.

The built-in exhibits read the results the statistics compute together (the event
analyses, the Cox models, the randomised comparison), which
:func:`rehabstats.protect` protects as a whole. An exhibit may instead bring its own
figures: ``compute`` makes its table from the study population and ``protect`` hides
its small counts; one without the other is refused, so that no table can exist without
its protection. Adding a table then touches this list, its computing function, the
glossaries (its title, ``tables.<key>``, in each language) and, only if the prose
discusses it, the prose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from rehabstats.reporting import tables
from rehabstats.stats.disclosure import GROUP_COLUMNS  # each group's percentages

if TYPE_CHECKING:
    from rehabstats.data.population import Cohort
    from rehabstats.reporting.glossary import Glossary
    from rehabstats.reporting.results import Results

# How the document shows an exhibit (rehabstats.reporting.document): a formatted table,
# a Kaplan–Meier diagram by group or by randomised arm, Figur 1 and 2, Bilaga 2's list
# of variables.
SHOWS = ("table", "km", "itt_km", "timeline", "process", "variables")
# The exported columns of Tabell 4–6, of every table of hazard ratios, and of Diagram 1–3.
EVENT_COLUMNS = ["group", "mean_days", "median_days", "n", "events", "share_pct", "left_out"]
COX_COLUMNS = ["term", "hazard_ratio", "ci_low", "ci_high", "p_value", "stars", "n", "reference"]
CURVE_COLUMNS = ["group", "day", "cum_share_pct", "at_risk"]

Terms = tuple[tuple[str, tuple[str, ...]], ...]


def _always(results: Results) -> bool:
    return True


@dataclass(frozen=True)
class Exhibit:
    """One table or diagram of the report (see the module doc).

    Attributes
    ----------
    key : str
        Stable: the key in ``tables.json``, the workbook's sheet, the glossary's
        ``tables.<key>`` or ``diagrams.<key>``; not the printed number.
    chapter : str
        The prose section (``text/<lang>/<chapter>.md``) it is placed under.
    show : str
        How the document shows it, one of :data:`SHOWS`.
    number : str
        The number printed before its title ("4", "B3", "B7"); empty if it has none.
    event : str, optional
        The event it is about (Tabell 4–6, the diagrams).
    data : callable, optional
        ``data(results, exhibit)``: its figures as ``tables.json`` exports them; None
        for a figure without numbers of its own.
    build : callable, optional
        ``build(results, glossary, exhibit)``: the formatted table (a table's).
    percent_columns : tuple of str
        Its columns of percentages of counts, exported as whole per cent (as printed)
        when the results are protected.
    terms : tuple
        A table of hazard ratios: each heading and the model terms listed under it.
    compute, protect : callable, optional
        A table with figures of its own: ``compute(cohort)`` makes them,
        ``protect(frame, min_count)`` hides what disclosure control must.
    present : callable
        ``present(results)``: whether this report has it (Tabell 8 only with a previous
        edition).
    """

    key: str
    chapter: str
    show: str
    number: str = ""
    event: str | None = None
    data: Callable[[Results, Exhibit], pd.DataFrame] | None = None
    build: Callable[[Results, Glossary, Exhibit], tables.Table] | None = None
    percent_columns: tuple[str, ...] = ()
    terms: Terms = ()
    compute: Callable[[Cohort], pd.DataFrame] | None = None
    protect: Callable[[pd.DataFrame, int], pd.DataFrame] | None = None
    present: Callable[[Results], bool] = _always

    def __post_init__(self) -> None:
        if self.show not in SHOWS:
            raise TypeError(f"exhibit {self.key}: show must be one of {SHOWS}, not {self.show!r}")
        if self.show == "table" and self.build is None:
            raise TypeError(f"exhibit {self.key}: a table needs build")
        if (self.compute is None) != (self.protect is None):
            raise TypeError(f"exhibit {self.key}: figures of its own need both compute and protect")

    def figures(self, results: Results) -> pd.DataFrame:
        """The exhibit's figures as exported (``data``)."""
        return self.data(results, self)


# --- where each built-in exhibit's figures are in the results ---------------------------


def _flow(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    return results.flow[["step", "n"]]


def _arms_by_county(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    return results.arm_by_county


def _groups_by_county(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    return results.group_by_county


def _balance_by_arm(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    return results.balance_by_arm


def _balance_by_group(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    return results.balance_by_group


def _event_table(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    return results.events[exhibit.event].table[EVENT_COLUMNS]


def _event_curves(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    return results.events[exhibit.event].curves[CURVE_COLUMNS]


def _cox_table(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    return results.cox[exhibit.key].table[COX_COLUMNS]


def _itt_table(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    return results.itt.table


def _comparison(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    return results.comparison.figures


def _has_comparison(results: Results) -> bool:
    return results.comparison is not None


def computed(results: Results, exhibit: Exhibit) -> pd.DataFrame:
    """The figures of an exhibit that computes its own (``compute``)."""
    return results.tables[exhibit.key]


# --- the report ------------------------------------------------------------------------

_GROUP: Terms = (("group_heading", ("group",)),)
_TIMING: Terms = (("meeting_heading", ("meeting_window",)), ("plan_heading", ("plan_window",)))
_FIXED = (("meeting_heading", ("meeting",)), ("plan_heading", ("plan",)))


def _event_exhibits(table: str, diagram: str, number: int, event: str) -> tuple[Exhibit, ...]:
    """Tabell 4–6 and Diagram 1–3: an event's table and its curves, in its chapter."""
    chapter = f"results_{event}"
    return (
        Exhibit(
            table, chapter, "table", str(number + 3), event, _event_table, tables.event_table,
            percent_columns=("share_pct",),
        ),
        Exhibit(
            diagram, chapter, "km", str(number), event, _event_curves,
            percent_columns=("cum_share_pct",),
        ),
    )  # fmt: skip


def _by_group(
    key: str,
    chapter: str,
    number: str,
    data: Callable[[Results, Exhibit], pd.DataFrame],
    build: Callable[[Results, Glossary, Exhibit], tables.Table],
) -> Exhibit:
    """A table of counts and shares per arm or study group (Tabell 2–3, B1–B2)."""
    return Exhibit(key, chapter, "table", number, None, data, build, GROUP_COLUMNS)


def _cox(key: str, chapter: str, number: str, terms: Terms) -> Exhibit:
    """A table of hazard ratios from the Cox model ``key`` (:attr:`Results.cox`)."""
    return Exhibit(key, chapter, "table", number, None, _cox_table, tables.cox_table, terms=terms)


_MEETING, _PLAN, _MEASURE = (
    _event_exhibits(f"T{4 + i}", f"D{1 + i}", 1 + i, event)
    for i, event in enumerate(("meeting", "plan", "measure"))
)

REPORT: tuple[Exhibit, ...] = (
    Exhibit("F1", "introduction", "timeline", "1"),
    Exhibit("T1", "data_method", "table", "1", data=_flow, build=tables.population_table),
    Exhibit("F2", "data_method", "process", "2"),
    _by_group("T2", "results", "2", _arms_by_county, tables.county_table),
    _by_group("T3", "results", "3", _groups_by_county, tables.county_table),
    _MEETING[0],
    _PLAN[0],
    _MEASURE[0],
    _cox("T7", "results_timing", "7", _TIMING),
    _by_group("B1", "appendix1", "B1", _balance_by_arm, tables.balance_table),
    _by_group("B2", "appendix1", "B2", _balance_by_group, tables.balance_table),
    Exhibit("variables", "appendix2", "variables"),
    _cox("B3", "appendix2", "B3", _GROUP),
    _cox("B4", "appendix2", "B4", _GROUP),
    _cox("B5", "appendix2", "B5", (*_GROUP, *_FIXED)),
    _cox("B6", "appendix2", "B6", (*_GROUP, *_TIMING)),
    _MEETING[1],
    _PLAN[1],
    _MEASURE[1],
    Exhibit("ITT", "sensitivity", "table", "B7", data=_itt_table, build=tables.itt_table),
    *(
        Exhibit(f"ITT_D{i}", "sensitivity", "itt_km", f"B{i}", event)
        for i, event in enumerate(("meeting", "plan", "measure"), start=1)
    ),
    _cox("TV_B5", "sensitivity", "B8", (*_GROUP, *_FIXED)),
    _cox("TV_B6", "sensitivity", "B9", (*_GROUP, *_TIMING)),
    _cox("TV_T7", "sensitivity", "B10", _TIMING),
    Exhibit(
        "comparison", "comparison", "table", "8", data=_comparison,
        build=tables.comparison_table, present=_has_comparison,
    ),
)  # fmt: skip
"""The report's exhibits. Their order is the order of ``tables.json`` and of the
workbook; within a chapter, the order the document shows them in."""


def in_chapter(chapter: str, specification: tuple[Exhibit, ...]) -> Iterator[Exhibit]:
    """The exhibits placed in ``chapter``, in the order the document shows them."""
    return (e for e in specification if e.chapter == chapter)
