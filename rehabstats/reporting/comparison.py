"""What changed since the previous edition: its headline figures beside this edition's.

``rehabstats render DATA --previous OLD`` reads ``OLD/tables.json``, the export that the
render of the previous edition wrote, and sets its headline figures beside the same
figures of this edition (:data:`FIGURES`): the group sizes, the share with each event
and the median days to it by group, the hazard ratios of the randomised comparison
(Tabell B7) and of the groups (Tabell B3–B5). Each hazard ratio also says whether the
conclusion drawn from it changed (:func:`conclusion`), from the p-values the two files
hold.

The previous file is checked as a whole before any analysis, every problem at once,
each naming the file and the key (:func:`read_previous`). A figure that either edition
does not show (``null``: hidden by disclosure control, or not estimated) has no change
and no conclusion: the comparison never shows more than the two reports did.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rehabstats.data.population import GROUPS
from rehabstats.errors import OptionError
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.text import Words, is_significant
from rehabstats.stats.cox import stars

TABLES_JSON = "tables.json"
EVENT_TABLES = {"T4": "meeting", "T5": "plan", "T6": "measure"}
# The models whose group hazard ratios are compared, and the event of each.
EVENT_MODELS = {"B3": "meeting", "B4": "plan", "B5": "measure"}
# The column that names a row in each table compared (tables.json's shape).
ROW_KEYS = {
    "B2": "variable",
    **dict.fromkeys(EVENT_TABLES, "group"),
    "ITT": "event",
    **dict.fromkeys(EVENT_MODELS, "term"),
}
# How a conclusion changed between the editions (None: a figure without a test, or one
# that either edition does not show).
CONCLUSIONS = ("same", "turned", "lost", "gained")
COLUMNS = ["figure", "previous", "current", "change", "p_previous", "p_current", "conclusion"]


@dataclass(frozen=True)
class Figure:
    """One headline figure: the table of tables.json, the row (by :data:`ROW_KEYS`) and
    the field that hold it. ``code`` ("T4/control/share_pct") names it in tables.json."""

    table: str
    row: str
    field: str

    @property
    def code(self) -> str:
        return f"{self.table}/{self.row}/{self.field}"

    @property
    def tested(self) -> bool:
        """Whether the figure is a hazard ratio, whose row holds its test's p-value."""
        return self.field == "hazard_ratio"

    @property
    def kind(self) -> str:
        """What the figure counts: ``n``, ``share_pct``, ``median_days``, ``hazard_ratio``."""
        return "n" if self.table == "B2" else self.field

    @property
    def subject(self) -> str:
        """Whom or what the figure is about: a group's code, or the event (Tabell B7)."""
        return self.field if self.table == "B2" else self.row.removeprefix("group:")


def _figures() -> tuple[Figure, ...]:
    """The figures compared, in the order of the comparison's table."""
    sizes = [Figure("B2", "n", group) for group in (*GROUPS, "total")]
    by_group = [
        Figure(table, group, field)
        for field in ("share_pct", "median_days")
        for table in EVENT_TABLES
        for group in GROUPS
    ]
    itt = [Figure("ITT", event, "hazard_ratio") for event in EVENT_TABLES.values()]
    ratios = [
        Figure(table, f"group:{group}", "hazard_ratio")
        for table in EVENT_MODELS
        for group in ("treatment", "declined")
    ]
    return (*sizes, *by_group, *itt, *ratios)


FIGURES = _figures()


@dataclass(frozen=True)
class Comparison:
    """The previous edition (the ``about`` of its tables.json) and the figures compared:
    one row per :data:`FIGURES` entry, columns :data:`COLUMNS`, NaN/None where a value
    is not shown."""

    previous: dict
    figures: pd.DataFrame


# --- reading the previous edition's tables.json -----------------------------------------


def _number_problem(value: object) -> str | None:
    """Why a figure's value cannot be compared: None when it is a number or null."""
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return None
    return f"{value!r} is not a number or null"


def _row(document: dict, figure: Figure) -> dict | None:
    """The row of ``document`` that holds ``figure``, or None when there is none."""
    key = ROW_KEYS[figure.table]
    rows = document.get(figure.table)
    if not isinstance(rows, list):
        return None
    return next((r for r in rows if isinstance(r, dict) and r.get(key) == figure.row), None)


def _figure_problems(document: dict) -> Iterator[str]:
    """What keeps the figures of a tables.json from being compared, one line each."""
    for table in dict.fromkeys(f.table for f in FIGURES):
        if not isinstance(document.get(table), list):
            yield f"{table}: missing or not a list of rows; expected the table of that key"
    for figure in FIGURES:
        row = _row(document, figure)
        where = f"{figure.table}: the row whose {ROW_KEYS[figure.table]} is {figure.row!r}"
        if row is None:
            if isinstance(document.get(figure.table), list):
                yield f"{where} is missing"
            continue
        for field in (figure.field, "p_value") if figure.tested else (figure.field,):
            if field not in row:
                yield f"{where} has no field {field!r}"
            elif problem := _number_problem(row[field]):
                yield f"{where}: {field}: {problem}"


def _text_problem(value: object) -> str | None:
    """Why an edition's text is not text (one string, or one per language)."""
    if isinstance(value, str) and value:
        return None
    if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
        return None
    return f"{value!r} is not text (a string, or one per language)"


def _edition_problems(edition: object) -> Iterator[str]:
    """What is wrong with ``about.edition``: the previous edition's series, number, date."""
    if edition is None:
        yield (
            "about.edition: null; the file was written by `rehabstats tables`, which"
            " knows no edition: give the folder of the previous edition's `rehabstats render`"
        )
        return
    if not isinstance(edition, dict):
        yield f"about.edition: {edition!r} is not a mapping of series, number and date"
        return
    for key in ("series", "number"):
        if problem := _text_problem(edition.get(key)):
            yield f"about.edition.{key}: {problem}"
    date = edition.get("date")
    try:
        dt.date.fromisoformat(date)
    except (TypeError, ValueError):
        yield f"about.edition.date: {date!r} is not a date written YYYY-MM-DD"


def _about_problems(document: dict) -> Iterator[str]:
    """What is wrong with the ``about`` record of the previous edition's tables.json."""
    about = document.get("about")
    if about is None:
        yield (
            "about: missing; the file was written by a rehabstats version that did not"
            " record its edition: render the previous edition again with this version"
            " (rehabstats render OLD_DATA --edition OLD_EDITION --out OLD_REPORT_DIR)"
        )
        return
    if not isinstance(about, dict):
        yield f"about: {about!r} is not a mapping"
        return
    yield from _edition_problems(about.get("edition"))
    if not isinstance(version := about.get("rehabstats_version"), str):
        yield f"about.rehabstats_version: {version!r} is not a version such as '0.1.0'"
    if about.get("part") is not None:
        yield (
            f"about.part: {about['part']!r}; the previous report is of one part of its data"
            " (--by), this one is of the whole file"
        )


def _parse(path: Path) -> object:
    """The JSON value of ``path``; a missing or unreadable file is an OptionError."""
    if not path.is_file():
        raise OptionError(
            f"{path}: missing; --previous takes the folder of a report written by"
            " `rehabstats render`, which holds tables.json"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise OptionError(f"{path}: not UTF-8 text; expected the tables.json of a report") from None
    except json.JSONDecodeError as error:
        raise OptionError(
            f"{path}: not JSON ({error.msg} at line {error.lineno}, column {error.colno});"
            " expected the tables.json of a report"
        ) from None


def read_previous(folder: str | Path) -> dict:
    """The previous edition's tables.json from its report folder, checked.

    Raises OptionError when the folder or its tables.json is missing, is not JSON, or
    lacks what the comparison reads: ``about`` with the edition's series, number and
    date and the rehabstats version (written since rehabstats records them), and the
    rows and fields of :data:`FIGURES`; or when it is the report of one part (``--by``).
    Every problem is named at once, with the file and the key.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise OptionError(
            f"--previous {folder}: no such folder; give the folder of the previous edition's"
            " report (the --out of its `rehabstats render`)"
        )
    path = folder / TABLES_JSON
    document = _parse(path)
    if not isinstance(document, dict):
        raise OptionError(f"{path}: not a JSON object; expected the tables.json of a report")
    problems = [*_about_problems(document), *_figure_problems(document)]
    if problems:
        lines = "".join(f"\n  {path}: {problem}" for problem in problems)
        raise OptionError(
            f"--previous: {path} cannot be used ({len(problems)} problem(s)); nothing was"
            f" rendered:{lines}"
        )
    return document


# --- the comparison ---------------------------------------------------------------------


def _direction(hazard_ratio: float) -> int:
    """1 above one, -1 below, 0 at one, as the ratio prints (two decimals)."""
    printed = round(hazard_ratio, 2)
    return (printed > 1) - (printed < 1)


def conclusion(previous: float, p_previous: float, current: float, p_current: float) -> str | None:
    """How the conclusion drawn from a hazard ratio changed between two editions.

    "same": significant at 5 % in both in the same direction, or in neither; "turned":
    significant in both, in opposite directions; "lost": significant before, not now;
    "gained": significant now, not before. None when either edition does not show the
    ratio or its p-value (hidden, or not estimated).
    """
    if any(pd.isna(v) for v in (previous, p_previous, current, p_current)):
        return None
    before, now = is_significant(p_previous), is_significant(p_current)
    if before and now:
        return "same" if _direction(previous) == _direction(current) else "turned"
    if before != now:
        return "lost" if before else "gained"
    return "same"


def _values(document: dict) -> pd.DataFrame:
    """Each figure's value and, for a hazard ratio, its p-value (NaN where null)."""
    rows = []
    for figure in FIGURES:
        row = _row(document, figure) or {}
        p_value = row.get("p_value") if figure.tested else None
        rows.append((figure.code, row.get(figure.field), p_value))
    return pd.DataFrame(rows, columns=["figure", "value", "p_value"]).astype(
        {"value": float, "p_value": float}
    )


def compare(previous: dict, current: dict) -> Comparison:
    """The figures of two tables.json documents side by side (see the module doc).

    ``change`` is current less previous, unrounded; it and ``conclusion`` are missing
    where either value is.
    """
    before, now = _values(previous), _values(current)
    frame = pd.DataFrame(
        {
            "figure": before["figure"],
            "previous": before["value"],
            "current": now["value"],
            "change": now["value"] - before["value"],
            "p_previous": before["p_value"],
            "p_current": now["p_value"],
        }
    )
    frame["conclusion"] = [
        conclusion(r.previous, r.p_previous, r.current, r.p_current) if figure.tested else None
        for figure, r in zip(FIGURES, frame.itertuples(index=False), strict=True)
    ]
    return Comparison(previous=previous["about"], figures=frame[COLUMNS])


# --- in words -----------------------------------------------------------------------------


def _in_language(value: str | dict, lang: str) -> str:
    """An edition's text in ``lang``: one string, or the entry for ``lang`` (else the
    first entry: the previous edition may have been rendered in other languages)."""
    if isinstance(value, str):
        return value
    return value.get(lang, next(iter(value.values())))


def previous_edition(comparison: Comparison, lang: str) -> dict[str, str]:
    """The previous edition's series, number and date as the report names it."""
    edition = comparison.previous["edition"]
    return {
        "series": _in_language(edition["series"], lang),
        "number": _in_language(edition["number"], lang),
        "date": fmt.date(dt.date.fromisoformat(edition["date"]), lang),
    }


def _changed_ratio(figure: Figure, row: tuple, glossary: Glossary) -> dict[str, str]:
    """A hazard ratio whose conclusion changed, as the prose tells it: what it measures
    (``hazard``, ``who``), and both editions' ratio in words and as printed."""
    words, lang = Words(glossary), glossary.lang
    event = figure.row if figure.table == "ITT" else EVENT_MODELS[figure.table]
    who = "itt" if figure.table == "ITT" else figure.subject
    return {
        "hazard": glossary[f"comparison.hazard.{event}"],
        "who": glossary.fill(f"comparison.who.{who}", table=figure.table),
        "before": words.ratio(row.previous, row.p_previous),
        "now": words.ratio(row.current, row.p_current),
        "hr_before": fmt.hazard_ratio(row.previous, stars(row.p_previous), lang),
        "hr_now": fmt.hazard_ratio(row.current, stars(row.p_current), lang),
    }


def comparison_context(comparison: Comparison, glossary: Glossary) -> dict:
    """What the section ``comparison.md`` quotes: the previous edition, how many figures
    are compared and how many either edition does not show, how many hazard ratios were
    tested in both, and each ratio whose conclusion changed."""
    lang, frame = glossary.lang, comparison.figures
    rows = list(zip(FIGURES, frame.itertuples(index=False), strict=True))
    tested = [(f, r) for f, r in rows if f.tested and r.conclusion is not None]
    changed = [(f, r) for f, r in tested if r.conclusion != "same"]
    hidden = int(frame["change"].isna().sum())
    return {
        "previous": previous_edition(comparison, lang),
        "n_figures": fmt.integer(len(frame), lang),
        "any_hidden": hidden > 0,
        "n_hidden": fmt.integer(hidden, lang),
        "n_ratios": fmt.integer(len(tested), lang),
        "n_changed": fmt.integer(len(changed), lang),
        "changed": [_changed_ratio(f, r, glossary) for f, r in changed],
    }
