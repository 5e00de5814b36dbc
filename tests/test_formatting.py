"""Numbers and dates as the series prints them, in Swedish and English."""

from __future__ import annotations

import datetime as dt

import pytest

from rehabstats.reporting import formatting as fmt

NBSP = "\N{NO-BREAK SPACE}"


@pytest.mark.parametrize(
    ("call", "sv", "en"),
    [
        (lambda lang: fmt.integer(4028, lang), f"4{NBSP}028", "4,028"),
        (lambda lang: fmt.hazard_ratio(1.2749, "***", lang), "1,27***", "1.27***"),
        (lambda lang: fmt.hazard_ratio(1.0, "ref", lang), "ref", "ref"),
        (lambda lang: fmt.percent(48.5, lang), "49", "49"),
        (lambda lang: fmt.percent(float("nan"), lang), "..", ".."),
        (lambda lang: fmt.p_value(0.2655, lang), "0,266", "0.266"),
        (lambda lang: fmt.p_value(1e-12, lang), "<0,001", "<0.001"),
        (lambda lang: fmt.number(9.75, lang, 1), "9,8", "9.8"),
        (
            lambda lang: fmt.date(dt.date(2009, 9, 15), lang),
            "15 september 2009",
            "15 September 2009",
        ),
        (lambda lang: fmt.month(dt.date(2008, 6, 1), lang), "juni 2008", "June 2008"),
    ],
)
def test_swedish_and_english_conventions(call, sv: str, en: str) -> None:
    assert call("sv") == sv
    assert call("en") == en


def test_rounding_is_half_up_as_in_official_statistics() -> None:
    assert [fmt.percent(v, "en") for v in (0.5, 1.5, 2.5, 41.5)] == ["1", "2", "3", "42"]


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language 'de'"):
        fmt.integer(1, "de")


@pytest.mark.parametrize(
    ("shown", "lang", "category"),
    [
        ("1", "sv", "one"),
        ("1", "en", "one"),
        ("0", "sv", "other"),
        ("21", "en", "other"),
        ("1,0", "sv", "other"),
        ("1.0", "en", "other"),
        (f"4{NBSP}028", "sv", "other"),
        ("4,028", "en", "other"),
        ("..", "sv", "other"),
    ],
)
def test_plural_category_of_a_printed_number(shown: str, lang: str, category: str) -> None:
    assert fmt.plural_category(shown, lang) == category
