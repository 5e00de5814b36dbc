"""A rendered report as a reader has it: the numbers its HTML prints and draws.

Read with the standard library only (``html.parser``, ``xml.etree``), from the page
itself, not through ``rehabstats``: each table with its caption and the note below it,
numbers parsed as the language writes them (".." hidden), and each Kaplan–Meier
diagram's drawn curves read back from the SVG paths (a step per marked day, the axes'
box giving days and per cent).
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser

MISSING = ".."
SPACES = str.maketrans("", "", " \u00a0\u202f")
BLANKS = re.compile(r"[ \t\r\n]+")
NUMBER = re.compile(r"\d+(?:[\u00a0\u202f]\d{3})*(?:[.,]\d+)*")
SVG = re.compile(r"<svg\b.*?</svg>", re.S)
NS = {"svg": "http://www.w3.org/2000/svg"}


def number(text: str, lang: str) -> float | None:
    """A printed number ("4 028", "1,27", "4,028", "1.27***", "−2"); None for ".."."""
    text = text.translate(SPACES).rstrip("*").replace("\u2212", "-")
    if text == MISSING:
        return None
    text = text.replace(",", ".") if lang == "sv" else text.replace(",", "")
    return float(text)


def numbers(text: str, lang: str) -> list[float]:
    """Every number written in ``text`` (a note, an alternative text)."""
    return [number(found, lang) for found in NUMBER.findall(text)]


@dataclass
class Table:
    """One table of the page: its caption, its rows of cell texts, and its note."""

    caption: str
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""

    @property
    def label(self) -> tuple[str, str]:
        """The caption's first two words: ("Tabell", "B1"), ("Diagram", "2")."""
        word, numbered, *_ = self.caption.split()
        return word, numbered


class Page(HTMLParser):
    """The tables of an HTML page, in order (see :class:`Table`)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Table] = []
        self._text: list[str] | None = None  # the caption's, a cell's or a note's
        self._into = ""
        self._depth = 0  # of divs inside a note

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append(Table(""))
        elif tag == "tr" and self._into != "note" and self.tables:
            self.tables[-1].rows.append([])
        elif tag in ("caption", "td", "th"):
            self._text, self._into = [], tag
        elif tag == "div" and self._into == "note":
            self._depth += 1
        elif tag == "div" and ("class", "note") in attrs and self.tables:
            self._text, self._into, self._depth = [], "note", 0

    def handle_endtag(self, tag: str) -> None:
        if self._text is None:
            return
        text = BLANKS.sub(" ", "".join(self._text)).strip()  # keeps no-break spaces
        if tag == "caption" == self._into:
            self.tables[-1].caption = text
        elif tag in ("td", "th") and self._into in ("td", "th"):
            self.tables[-1].rows[-1].append(text)
        elif tag == "div" and self._into == "note":
            if self._depth:
                self._depth -= 1
                return
            if not self.tables[-1].note:  # the first note after a table is its own
                self.tables[-1].note = text
        else:
            return
        self._text, self._into = None, ""

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def tables(html: str) -> dict[tuple[str, str], Table]:
    """The page's tables by the first two words of their captions."""
    page = Page()
    page.feed(html)
    return {t.label: t for t in page.tables if t.caption}


def _vertices(path: str) -> list[list[tuple[float, float]]]:
    """An SVG path's subpaths (``M``, ``L`` and ``z`` only, as matplotlib writes lines)."""
    parts: list[list[tuple[float, float]]] = []
    for command, x, y in re.findall(r"([ML])\s*(-?[\d.]+)\s+(-?[\d.]+)", path):
        if command == "M":
            parts.append([])
        parts[-1].append((float(x), float(y)))
    return parts


def _drawn(svg: ET.Element, stem: str) -> list[dict[int, float]]:
    """Each curve of a Kaplan–Meier diagram, in drawing order: its cumulative share (per
    cent) on each day where a step starts, read from the path's coordinates."""
    axes = svg.find(f".//svg:g[@id='{stem}-axes_1']", NS)
    box = _vertices(axes.find(f"svg:g[@id='{stem}-patch_2']/svg:path", NS).get("d"))[0]
    (left, bottom), (_, top) = box[0], box[2]
    ticks = []
    for tick in axes.findall(".//svg:g[@id]", NS):
        if re.fullmatch(f"{stem}-xtick_\\d+", tick.get("id")):
            mark, label = tick.find(".//svg:use", NS), tick.find(".//svg:text", NS)
            ticks.append((float(mark.get("x")), float(label.text.translate(SPACES))))
    (x0, day0), (x1, day1) = ticks[0], ticks[-1]
    assert x0 == left and day0 == 0, (stem, ticks[0])

    def day(x: float) -> int:
        return round(day0 + (x - x0) * (day1 - day0) / (x1 - x0))

    curves = []
    for line in axes.findall("svg:g[@id]/svg:path[@clip-path]", NS):
        parts = _vertices(line.get("d"))
        if sum(len(p) for p in parts) < 4:  # a grid line, not a curve
            continue
        shares = {}
        for part in parts:  # steps "post": a horizontal run from each day's value
            for (xa, ya), (xb, yb) in itertools.pairwise(part):
                if xb > xa and ya == yb:
                    shares[day(xa)] = 100 * (bottom - ya) / (bottom - top)
        curves.append(shares)
    return curves


def _at_risk(svg: ET.Element, stem: str, lang: str) -> list[float | None]:
    """The numbers at risk printed below a Kaplan–Meier diagram, group after group."""
    table = svg.find(f".//svg:g[@id='{stem}-axes_2']", NS)
    found = []
    for text in table.iter(f"{{{NS['svg']}}}text"):
        try:
            found.append(number("".join(text.itertext()), lang))
        except ValueError:  # a label
            continue
    return found


@dataclass
class Diagram:
    """A Kaplan–Meier diagram as drawn: each curve's shares (:func:`_drawn`), the numbers
    at risk below it, group after group, and its alternative text."""

    curves: list[dict[int, float]]
    at_risk: list[float | None]
    alt: str


def diagrams(html: str) -> dict[str, Diagram]:
    """Each Kaplan–Meier diagram of the page by its exhibit's key ("D1", "ITT_D2")."""
    found = {}
    for text in SVG.findall(html):
        svg = ET.fromstring(text)
        stem = svg.find("svg:g[@id]", NS).get("id").removesuffix("-figure_1")
        named = re.fullmatch(r"((?:itt-)?d\d)-(\w+)", stem)
        if named:
            key, lang = named[1].upper().replace("-", "_"), named[2]
            drawn = Diagram(_drawn(svg, stem), _at_risk(svg, stem, lang), svg.get("aria-label"))
            found[key] = drawn
    return found
