"""The report's figures: Kaplan–Meier diagrams, the timeline and the case-handling process.

Figures know no language: every label arrives as an argument (the caller looks it up in
the glossary), and ``lang`` only decides how numbers and months are written ("12,5" and
"juni 2008" in Swedish, "12.5" and "Jun 2008" in English). Groups differ by line style
and marker as well as by a restrained dark palette, so every figure reads in black and
white. Text is set in Source Sans Pro, the font shipped with the project
(:mod:`rehabstats.engine.fonts`), so a figure looks the same on every machine. Figures are plain
:class:`matplotlib.figure.Figure` objects, not registered with pyplot, so building one
has no global side effects beyond making that font known to matplotlib, once. Each is
laid out once, when built, and keeps that layout, so :func:`save_figure` draws it once
more, as a byte-for-byte reproducible SVG.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from itertools import pairwise
from pathlib import Path

import matplotlib
import pandas as pd
from babel.dates import format_date
from babel.numbers import format_decimal
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.textpath import text_to_path
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from rehabstats.engine.fonts import SANS, font_files
from rehabstats.reporting.formatting import MISSING, integer, locale_of, percent

WIDTH_IN = 16 / 2.54
INK = "#1b2a41"
COLORS = ("#1b2a41", "#4f6d8f", "#6e6e6e", "#8fa7c4")
BOX_FACE = "#e6ecf3"
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D")
RISK_FONT = 8.0
# The days a Kaplan–Meier diagram marks (its x ticks and numbers at risk): every 30th.
AT_RISK_EVERY = 30
RISK_LABEL_CHARS = 24
LEGEND_FONT = 8.5
LEGEND_HANDLE_EM = 3.0
SVG_SALT = "rehabstats"
DASHES = (0, (4, 3))
# The family itself, not the "sans-serif" alias: a text keeps the family it was made
# with, while an alias would be looked up again when the figure is saved, outside the
# style, and could find another font.
STYLE = {
    "font.family": [SANS],
    "font.size": 9,
    "text.parse_math": False,  # a label is text: "$x$" is not maths
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": LEGEND_FONT,
    "axes.edgecolor": "#333333",
    "axes.labelcolor": "#222222",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "text.color": "#222222",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.facecolor": "white",
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.unicode_minus": True,
}


def number_formatter(lang: str) -> FuncFormatter:
    """A tick formatter writing numbers as ``lang`` does: "1 234,5" or "1,234.5"."""
    locale = locale_of(lang)
    return FuncFormatter(lambda value, _pos: format_decimal(value, locale=locale))


def month_formatter(lang: str) -> FuncFormatter:
    """A date-axis tick formatter with the month abbreviated in ``lang``: "juni 2008"."""
    locale = locale_of(lang)
    return FuncFormatter(lambda value, _pos: format_date(mdates.num2date(value), "MMM y", locale))


@cache
def register_fonts() -> None:
    """Make the shipped Source Sans Pro known to matplotlib's font manager, once.

    matplotlib only finds the fonts installed on the system by itself; registering the
    files of :mod:`rehabstats.engine.fonts` makes the family resolve to them on every machine.
    """
    for path in font_files(SANS):
        fontManager.addfont(path)


@contextmanager
def _styled() -> Iterator[None]:
    """Apply the report style while a figure is built, leaving global settings alone."""
    register_fonts()
    with matplotlib.rc_context(STYLE):
        yield


def _finished(fig: Figure) -> Figure:
    """Lay the figure out once, by constrained layout, inside the style.

    Inside the style, so that ticks (made lazily, when the layout measures them) take the
    style too. The figure carries no layout engine, so the layout stays as computed here:
    saving does not lay it out again, which would cost a second draw per file.
    """
    ConstrainedLayoutEngine().execute(fig)
    return fig


def _group_style(index: int) -> dict[str, object]:
    """Colour, line style and marker of the ``index``-th group (distinct without colour)."""
    return {
        "color": COLORS[index % len(COLORS)],
        "linestyle": LINESTYLES[index % len(LINESTYLES)],
        "marker": MARKERS[index % len(MARKERS)],
    }


# --- Diagram 1–3 and B1–B3: Kaplan–Meier curves with numbers at risk ---------------------


def km_figure(
    curves: pd.DataFrame,
    groups: dict[str, str],
    *,
    x_label: str,
    y_label: str,
    at_risk_label: str,
    lang: str,
) -> Figure:
    """Diagram 1–3 (and B1–B3, by randomised arm): cumulative share with the event by
    group, numbers at risk below.

    ``curves`` is long format (``group``, ``day``, ``cum_share_pct``, ``at_risk``);
    ``groups`` maps group codes to labels in display order; a group's style follows its
    place, so the control group, first, looks the same in every diagram. The x ticks fall
    on the days of the at-risk table, so each count stands under its tick. A curve point
    hidden by disclosure control (NaN) is not drawn; a hidden number at risk prints "..".
    """
    max_day = int(curves["day"].max())
    days = marked_days(curves)
    columns = _legend_columns(list(groups.values()))
    legend_in = 0.2 * math.ceil(len(groups) / columns)
    labels = {code: _wrap(label, RISK_LABEL_CHARS) for code, label in groups.items()}
    row_lines = max(label.count("\n") + 1 for label in labels.values())
    table_in = 0.2 * (1 + len(groups) * row_lines)
    with _styled():
        fig = Figure(figsize=(WIDTH_IN, 3.6 + legend_in + table_in), layout="none")
        plot, table = fig.subplots(2, 1, height_ratios=[3.0 + legend_in, table_in])
        _draw_curves(plot, curves, groups)
        plot.set(xlim=(0, max_day), ylim=(0, 100), xlabel=x_label, ylabel=y_label)
        table.set_xlim(0, max_day)
        plot.set_xticks(days)
        plot.xaxis.set_major_formatter(number_formatter(lang))
        plot.yaxis.set_major_formatter(number_formatter(lang))
        plot.grid(axis="y", color="#e4e4e4", linewidth=0.6)
        plot.set_axisbelow(True)
        plot.legend(
            loc="lower left",
            bbox_to_anchor=(0, 1.02),
            ncols=columns,
            frameon=False,
            borderaxespad=0,
            handlelength=LEGEND_HANDLE_EM,
        )
        _draw_at_risk(table, curves, labels, days, at_risk_label, lang)
        return _finished(fig)


def _legend_columns(labels: list[str]) -> int:
    """How many legend entries fit side by side above the plot (at least one).

    The legend stands above the plot rather than inside it, where it would cover a
    curve whenever the curves fill the corners.
    """
    em = LEGEND_FONT / 72
    entry = max(_text_width(label, LEGEND_FONT) for label in labels) + (LEGEND_HANDLE_EM + 3) * em
    return max(1, min(len(labels), int((WIDTH_IN - 1.0) // entry)))


def _draw_curves(ax: Axes, curves: pd.DataFrame, groups: dict[str, str]) -> None:
    """One step curve per group, markers staggered so groups do not hide each other's."""
    for index, (code, label) in enumerate(groups.items()):
        curve = curves.loc[curves["group"].eq(code).to_numpy()].sort_values("day")
        every = max(1, len(curve) // 12)
        ax.step(
            curve["day"],
            curve["cum_share_pct"],
            where="post",
            label=label,
            linewidth=1.6,
            markersize=4.5,
            markerfacecolor="white",
            markevery=(index * every // len(groups), every),
            **_group_style(index),
        )


def marked_days(curves: pd.DataFrame) -> list[int]:
    """The days a Kaplan–Meier diagram of ``curves`` marks: its x ticks, under which its
    numbers at risk stand, every :data:`AT_RISK_EVERY` days from 0 to the last."""
    return list(range(0, int(curves["day"].max()) + 1, AT_RISK_EVERY))


def _on_days(curves: pd.DataFrame, column: str) -> dict[tuple[str, int], float]:
    """``column`` of ``curves`` by (group, day); where a group has several rows for a day,
    the first counts."""
    first = curves.drop_duplicates(["group", "day"]).set_index(["group", "day"])[column]
    return first.to_dict()


def at_risk_rows(
    curves: pd.DataFrame, codes: list[str], days: list[int], lang: str
) -> dict[str, list[str]]:
    """Each group's numbers at risk on ``days`` as the diagram prints them ("..": hidden)."""
    counts = _on_days(curves, "at_risk")
    return {code: [_count_text(counts.get((code, day)), lang) for day in days] for code in codes}


def share_rows(
    curves: pd.DataFrame, codes: list[str], days: list[int], lang: str
) -> dict[str, list[str]]:
    """Each group's cumulative share with the event on ``days``, in whole per cent as the
    report writes a share ("..": hidden by disclosure control, so not drawn either)."""
    shares = _on_days(curves, "cum_share_pct")
    return {code: [percent(shares.get((code, day)), lang) for day in days] for code in codes}


def _count_text(count: float | None, lang: str) -> str:
    """A number at risk as ``lang`` writes it, or ".." where it is missing."""
    return MISSING if count is None or pd.isna(count) else integer(float(count), lang)


def _draw_at_risk(
    ax: Axes,
    curves: pd.DataFrame,
    groups: dict[str, str],
    days: list[int],
    title: str,
    lang: str,
) -> None:
    """The numbers-at-risk table: a heading row, then one row per group under the ticks.

    ``groups`` holds the (wrapped) row labels. They sit left of the axes, pushed out past
    half the widest count at day 0 (which is centred on the axis line) so that the two
    never touch; a long label takes two lines rather than squeezing the plot. Only the
    first and last columns, centred on the axes' ends, can stick out of the axes, so only
    they are measured by the layout; the counts between lie inside it.
    """
    ax.set_axis_off()
    lines = max(label.count("\n") + 1 for label in groups.values())
    ax.set_ylim(0.5 + lines * len(groups), -0.5)
    rows = at_risk_rows(curves, list(groups), days, lang)
    widest = max(len(texts[0]) for texts in rows.values())
    shift = ScaledTranslation(
        -(widest * 0.64 * RISK_FONT / 2 + 8) / 72, 0, ax.figure.dpi_scale_trans
    )
    margin = blended_transform_factory(ax.transAxes, ax.transData) + shift
    ax.text(0, 0, title, transform=margin, ha="right", va="center", fontweight="bold")
    for index, (code, label) in enumerate(groups.items()):
        color, y = _group_style(index)["color"], 0.5 + lines * (index + 0.5)
        ax.text(0, y, label, transform=margin, ha="right", va="center", color=color)
        count = {"ha": "center", "va": "center", "fontsize": RISK_FONT, "color": color}
        for day, text in zip(days, rows[code], strict=True):
            ax.text(day, y, text, in_layout=day in (days[0], days[-1]), **count)


# --- Figur 1: the experiment's timeline -------------------------------------------------

Event = pd.Timestamp | tuple[pd.Timestamp, pd.Timestamp]


def timeline_figure(events: dict[str, Event], labels: dict[str, str], *, lang: str) -> Figure:
    """Figur 1: the experiment's phases on a month axis, in the order given, top down.

    A pair of dates is a span drawn as a bar; a single date is a point drawn as a marker.
    """
    with _styled():
        fig = Figure(figsize=(WIDTH_IN, 0.9 + 0.42 * len(events)), layout="none")
        ax = fig.subplots()
        for row, event in enumerate(events.values()):
            _draw_event(ax, row, event)
        ax.set_yticks(range(len(events)), [labels[key] for key in events])
        ax.set_ylim(len(events) - 0.5, -0.6)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        _month_axis(ax, [d for e in events.values() for d in _dates(e)], lang)
        return _finished(fig)


def _dates(event: Event) -> list[pd.Timestamp]:
    """The date or the two ends of a span."""
    return [pd.Timestamp(d) for d in event] if isinstance(event, tuple) else [pd.Timestamp(event)]


def _draw_event(ax: Axes, row: int, event: Event) -> None:
    """A bar from first to last date for a span, a diamond for a single date."""
    ends = _dates(event)
    if len(ends) == 2:
        start, end = mdates.date2num(ends[0]), mdates.date2num(ends[1])
        ax.barh(row, end - start, left=start, height=0.45, color=COLORS[1], edgecolor=INK)
    else:
        ax.plot(mdates.date2num(ends[0]), row, marker="D", markersize=8, color=INK, zorder=3)


def _month_axis(ax: Axes, dates: list[pd.Timestamp], lang: str) -> None:
    """A month axis over the months touched (half a month spare), labelled at most 8 times."""
    first = min(dates).to_period("M").to_timestamp()
    last = (max(dates).to_period("M") + 1).to_timestamp()
    months = (last.year - first.year) * 12 + last.month - first.month
    step = next(k for k in (1, 2, 3, 4, 6, 12) if months / k <= 8)
    pad = pd.Timedelta(days=15)
    ax.set_xlim(mdates.date2num(first - pad), mdates.date2num(last + pad))
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=range(1, 13, step)))
    ax.xaxis.set_minor_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(month_formatter(lang))
    ax.grid(axis="x", which="major", color="#d9d9d9", linewidth=0.6)
    ax.grid(axis="x", which="minor", color="#f0f0f0", linewidth=0.4)
    ax.set_axisbelow(True)


# --- Figur 2: the case-handling process -------------------------------------------------

CHAIN = ("start", "meeting", "plan", "measure")
BOX_FONT = 9.0
LINE_SPACING = 1.25
BOX_PAD_IN = 0.12
SOFT_BREAK = "\x00"


def process_figure(labels: dict[str, str]) -> Figure:
    """Figur 2: start → meeting → plan → measure, and the file review that censors them.

    Drawn in inch coordinates so the wrapped box texts can be measured against their
    boxes; all boxes share one font size (the smallest any chain box needs). A
    dashed bus under the chain leads to the review box, labelled
    ``labels["censored"]``.
    """
    gap, margin, review_w = 0.4, 0.08, 2.4
    box_w = (WIDTH_IN - 2 * margin - gap * (len(CHAIN) - 1)) / len(CHAIN)
    with _styled():
        size = min(_fit(labels[key], box_w - 2 * BOX_PAD_IN, BOX_FONT)[1] for key in CHAIN)
        texts = [_fit(labels[key], box_w - 2 * BOX_PAD_IN, size) for key in CHAIN]
        review = _fit(labels["review"], review_w - 2 * BOX_PAD_IN, size)
        box_h = max(_text_height(*text) for text in texts) + 2 * BOX_PAD_IN
        review_h = _text_height(*review) + 2 * BOX_PAD_IN
        height = 2 * margin + box_h + 0.75 + review_h
        fig = Figure(figsize=(WIDTH_IN, height))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set(xlim=(0, WIDTH_IN), ylim=(0, height))
        ax.set_axis_off()
        top = height - margin - box_h
        centres = [margin + box_w / 2 + i * (box_w + gap) for i in range(len(CHAIN))]
        for x, text in zip(centres, texts, strict=True):
            _box(ax, (x, top, box_w, box_h), text, BOX_FACE)
        for left, right in pairwise(centres):
            _arrow(ax, (left + box_w / 2, top + box_h / 2), (right - box_w / 2, top + box_h / 2))
        _censoring(ax, centres, top, margin + review_h, labels["censored"])
        _box(ax, (WIDTH_IN / 2, margin, review_w, review_h), review, "white")
        return fig


def _text_width(text: str, size: float) -> float:
    """The width in inches of one line of ``text`` in the report font at ``size`` points.

    Call it inside :func:`_styled`, which makes the report font known.
    """
    font = FontProperties(family=STYLE["font.family"], size=size)
    width, _height, _descent = text_to_path.get_text_width_height_descent(text, font, False)
    return width / 72


def _text_height(text: str, size: float) -> float:
    """The height in inches of the wrapped ``text`` at ``size`` points."""
    return (text.count("\n") + 1) * size * LINE_SPACING / 72


def _wrap(text: str, chars: int) -> str:
    """Wrap ``text`` at about ``chars`` characters, never inside a word.

    A slash inside a compound ("avstämningsmöte/trepartsmöte") is also a break point,
    as Swedish typesetting allows; textwrap only breaks at spaces, so a marked space is
    slipped in after the slash and taken out again.
    """
    marked = re.sub(r"/(?=\S)", "/" + SOFT_BREAK + " ", text)
    lines = textwrap.wrap(marked, chars, break_long_words=False, break_on_hyphens=False)
    return "\n".join(line.replace(SOFT_BREAK + " ", "").replace(SOFT_BREAK, "") for line in lines)


def _fit(text: str, width_in: float, size: float) -> tuple[str, float]:
    """``text`` wrapped to ``width_in`` inches, and the font size that makes it fit.

    A word wider than the box (a long Swedish compound) shrinks the font instead of
    spilling over; the wrap width then comes from the text's measured mean character
    width at that size, and a last check shrinks the font if a line still overflows.
    """
    words = [word for word in re.split(r"\s+|(?<=/)", text) if word]
    size *= min(1.0, width_in / max(_text_width(word, size) for word in words))
    per_char = _text_width(text, size) / len(text)
    wrapped = _wrap(text, max(1, int(width_in / per_char)))
    widest = max(_text_width(line, size) for line in wrapped.splitlines())
    return wrapped, size * min(1.0, width_in / widest)


def _box(
    ax: Axes, frame: tuple[float, float, float, float], text: tuple[str, float], face: str
) -> None:
    """A rounded box (centre x, bottom y, width, height) with ``(text, size)`` in the middle."""
    x, y, w, h = frame
    patch = FancyBboxPatch(
        (x - w / 2, y),
        w,
        h,
        boxstyle="round,pad=0,rounding_size=0.07",
        facecolor=face,
        edgecolor=INK,
        linewidth=1.0,
    )
    ax.add_patch(patch)
    words, size = text
    ax.text(x, y + h / 2, words, ha="center", va="center", fontsize=size, linespacing=LINE_SPACING)


def _arrow(ax: Axes, tail: tuple[float, float], head: tuple[float, float], **style: object) -> None:
    """A straight arrow from ``tail`` to ``head`` with a filled head."""
    ax.add_patch(
        FancyArrowPatch(
            tail, head, arrowstyle="-|>", mutation_scale=12, color=INK, linewidth=1.1, **style
        )
    )


def _censoring(ax: Axes, centres: list[float], top: float, review_top: float, label: str) -> None:
    """Dashed drops from every chain box to a bus, and one dashed arrow on to the review."""
    bus = top - 0.25
    dashed = {"color": INK, "linewidth": 1.0, "linestyle": DASHES}
    for x in centres:
        ax.plot([x, x], [top, bus], **dashed)
    ax.plot([centres[0], centres[-1]], [bus, bus], **dashed)
    middle = WIDTH_IN / 2
    _arrow(ax, (middle, bus), (middle, review_top), linestyle=DASHES)
    words, size = _fit(label, WIDTH_IN - middle - 0.3, 8.5)
    ax.text(middle + 0.12, (bus + review_top) / 2, words, ha="left", va="center", fontsize=size)


# --- Saving ------------------------------------------------------------------------------


def save_figure(fig: Figure, directory: Path, stem: str) -> Path:
    """Write ``stem.svg`` reproducibly and return its path.

    SVG is the one format: Typst embeds it as vectors in the PDF and the HTML carries it
    inline, both sharp at any zoom. Text stays text (``<text>`` elements, ``svg.fonttype``
    "none"), so a reader can select, search and copy it; it names Source Sans Pro,
    which Typst is given (:mod:`rehabstats.engine.fonts`) and the HTML embeds. No date is
    written and SVG ids are hashed with a fixed salt, so the same figure gives
    byte-identical files.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    svg = directory / f"{stem}.svg"
    with matplotlib.rc_context({"svg.hashsalt": SVG_SALT, "svg.fonttype": "none"}):
        fig.savefig(svg, metadata={"Date": None})
    return svg
