"""Numbers and dates as the series prints them, in Swedish or English.

Swedish: decimal comma and a (non-breaking) space between thousands — "4 028", "1,27".
English: "4,028", "1.27". Babel's CLDR data does the work; this module only fixes the
series' choices (whole-number percentages, two-decimal hazard ratios, stars glued on).
A number that cannot be shown — not computable, or hidden by disclosure control — prints
as "..", the series' sign for "uppgift saknas eller för osäker", never as "nan".
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_decimal, parse_decimal

# Defined where the command line can read them without Babel; given here too.
from rehabstats.reporting.languages import LANGUAGES as LANGUAGES
from rehabstats.reporting.languages import LOCALES

# Characters that begin or end pandoc Markdown wherever they stand: escapes, emphasis,
# code, links, spans and footnotes, raw HTML and autolinks, entities, maths, citations,
# super- and subscripts, smart quotes, headings.
MARKDOWN_SPECIAL = re.compile(r"""([\\`*_\[\]<>&$@^~"'#])""")
# Runs that pandoc's smart typography would print as a dash or an ellipsis.
MARKDOWN_SMART = re.compile(r"-(?=-)|\.(?=\.\.)")
# Markers that open a block at the start of a line: bullet, grid table, definition,
# fenced div, title block, and ordered-list numbers and letters ("1.", "a)", "(iv)").
MARKDOWN_BLOCK_START = re.compile(r"^([ \t]*)(?:([-+:%(])|(\w+)([.)])(?=\s|$))")
# A pipe would end a table cell, and tables.py escapes the ones it finds: an entity.
MARKDOWN_PIPE = "&#124;"
BLANK_LINES = re.compile(r"[ \t]*\n(?:[ \t]*\n)+[ \t]*")
LINE_BREAK = re.compile(r"[ \t]*\n[ \t]*")
MISSING = ".."


def locale_of(lang: str) -> str:
    """The Babel locale of ``lang``; an unknown language is an error, not English."""
    try:
        return LOCALES[lang]
    except KeyError:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LOCALES)}") from None


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, lang: str, decimals: int = 0) -> str:
    """A number with the language's separators, rounded half up to ``decimals`` places.

    Half up, as official statistics round (48.5 → 49); Python and Babel round half even.
    """
    if _missing(value):
        return MISSING
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(rounded, format=pattern, locale=locale_of(lang))


def integer(value: float | None, lang: str) -> str:
    """A count: "4 028" / "4,028"."""
    return number(value, lang, 0)


def percent(value: float | None, lang: str) -> str:
    """A percentage as a whole number, without the sign (tables say "procent")."""
    return number(value, lang, 0)


def hazard_ratio(value: float | None, stars: str, lang: str) -> str:
    """A hazard ratio with two decimals and its stars: "1,27***"; "ref" rows as "ref"."""
    if stars == "ref":
        return "ref"
    return number(value, lang, 2) + ("" if _missing(value) else stars)


def p_value(value: float | None, lang: str) -> str:
    """A p-value with three decimals; tiny ones as "<0,001"."""
    if _missing(value):
        return MISSING
    if value < 0.001:
        return "<" + number(0.001, lang, 3)
    return number(value, lang, 3)


def p_relation(value: float | None, lang: str) -> str:
    """A p-value with its relation, as text quotes it: "p < 0,001", "p = 0,266"."""
    shown = p_value(value, lang)
    if shown.startswith("<"):
        return f"p < {shown[1:]}"
    return f"p = {shown}"


def listing(items: list[str], lang: str) -> str:
    """Words joined as the language lists them: "A, B och C" / "A, B and C"."""
    return format_list(items, locale=locale_of(lang))


def plural_category(shown: str, lang: str) -> str:
    """The CLDR plural category of a number as printed: "1" is "one", "4 028" "other".

    It is read from the printed form because that is what the reader sees: "1,0" (a
    decimal shown) takes the plural in both languages, as CLDR says. ".." is "other".
    """
    if shown == MISSING:
        return "other"
    locale = locale_of(lang)
    return Locale.parse(locale).plural_form(parse_decimal(shown, locale=locale, strict=True))


def date(value: dt.date, lang: str, form: str = "long") -> str:
    """A date as people write it: "15 september 2009" / "15 September 2009"."""
    return format_date(value, format=form, locale=locale_of(lang))


def month(value: dt.date, lang: str) -> str:
    """A month and year: "juni 2008" / "June 2008"."""
    return format_date(value, format="LLLL y", locale=locale_of(lang))


def markdown_literal(value: object) -> str:
    """``value`` as Markdown that pandoc prints exactly as written, and never as markup.

    "1,27***" must not open bold italics, nor a file name ``<svg onload=…>.csv`` be HTML,
    ``$x$`` maths, ``@ref`` a citation or ``"x"`` curly quotes. Each character that
    pandoc's Markdown could read as markup is escaped with a backslash (pandoc drops
    it); a pipe becomes an entity so that it cannot end a table cell. Numbers keep
    their commas, points and colons: "1,27\\*\\*\\*" prints "1,27***". Blank lines stay
    paragraph breaks (a diagram's note and its source line); any other line break
    becomes a space, so a value never ends a table row or starts a block.
    """
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (LINE_BREAK.sub(" ", part) for part in BLANK_LINES.split(text))
    return "\n\n".join(_literal_paragraph(part) for part in paragraphs)


def _literal_paragraph(text: str) -> str:
    """One paragraph of :func:`markdown_literal`: escaped, and no block at its start."""
    text = MARKDOWN_SMART.sub(r"\\\g<0>", MARKDOWN_SPECIAL.sub(r"\\\1", text))
    text = MARKDOWN_BLOCK_START.sub(_escape_block_start, text, count=1)
    return text.replace("|", MARKDOWN_PIPE)


def _escape_block_start(match: re.Match[str]) -> str:
    """A line's opening block marker with its punctuation escaped."""
    indent, marker, number, delimiter = match.groups()
    if marker is not None:
        return f"{indent}\\{marker}"
    return f"{indent}{number}\\{delimiter}"
