"""Figures: curves, labels and numbers as drawn, month names, wrapping, reproducible files."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import findfont
from matplotlib.patches import FancyBboxPatch, Rectangle
from matplotlib.text import Text

from rehabstats.engine.fonts import SANS, font_files
from rehabstats.reporting.figures import km_figure, process_figure, save_figure, timeline_figure

GROUPS_SV = {"control": "Kontrollgrupp", "treatment": "Försöksgrupp", "declined": "Bortfall"}
GROUPS_EN = {"control": "Control group", "treatment": "Treatment group", "declined": "Declined"}
DAYS = np.arange(0, 361, 10)
# A user's font settings, none of which may reach a figure.
USER_FONTS = {
    "font.family": "serif",
    "font.serif": ["DejaVu Serif"],
    "font.sans-serif": ["DejaVu Sans Mono"],
}
EVENTS = {
    "randomisation": (pd.Timestamp("2008-06-02"), pd.Timestamp("2009-03-31")),
    "measures": (pd.Timestamp("2008-07-01"), pd.Timestamp("2009-10-15")),
    "file_review": (pd.Timestamp("2009-10-01"), pd.Timestamp("2009-11-30")),
    "register_extract": pd.Timestamp("2010-01-15"),
}
PROCESS_SV = {
    "start": "Ärendet startar i projektet",
    "meeting": "Avstämningsmöte/trepartsmöte med Försäkringskassan och Arbetsförmedlingen",
    "plan": "Rehabiliteringsplan/plan för återgång i arbete",
    "measure": "Påbörjad arbetslivsinriktad insats",
    "review": "Aktgranskning (uppföljningens slut)",
    "censored": "Ärenden utan händelsen censureras",
}


def _curve(group: str, rate: float, start: int) -> pd.DataFrame:
    """One group's curve: 1 − exp(−rate·day) in per cent, at risk falling from ``start``."""
    return pd.DataFrame(
        {
            "group": group,
            "day": DAYS,
            "cum_share_pct": 100 * (1 - np.exp(-rate * DAYS)),
            "at_risk": np.round(start * np.exp(-rate * DAYS)),
        }
    )


@pytest.fixture(scope="module")
def curves() -> pd.DataFrame:
    """Three groups; control has 1 234 at risk on day 0 and a suppressed count on day 360."""
    frame = pd.concat(
        [
            _curve("control", 0.008, 1234),
            _curve("treatment", 0.015, 800),
            _curve("declined", 0.004, 300),
        ],
        ignore_index=True,
    )
    frame.loc[frame["group"].eq("control") & frame["day"].eq(360), "at_risk"] = np.nan
    return frame


def _km(curves: pd.DataFrame, lang: str) -> Figure:
    """The Kaplan–Meier figure with labels in ``lang``."""
    groups = GROUPS_SV if lang == "sv" else GROUPS_EN
    return km_figure(
        curves, groups, x_label="Dagar", y_label="Procent", at_risk_label="Antal i risk", lang=lang
    )


@pytest.fixture(scope="module")
def km_sv(curves: pd.DataFrame) -> Figure:
    """The Swedish Kaplan–Meier figure, built once for the module."""
    return _km(curves, "sv")


@pytest.fixture(scope="module")
def km_en(curves: pd.DataFrame) -> Figure:
    """The English Kaplan–Meier figure, built once for the module."""
    return _km(curves, "en")


def _texts(fig: Figure) -> list[str]:
    """Every text drawn in the figure."""
    return [text.get_text() for text in fig.findobj(Text)]


def test_km_draws_one_step_curve_per_group_with_its_label(km_sv: Figure) -> None:
    plot = km_sv.axes[0]
    assert len(plot.get_lines()) == 3
    assert [t.get_text() for t in plot.get_legend().get_texts()] == list(GROUPS_SV.values())
    assert {line.get_drawstyle() for line in plot.get_lines()} == {"steps-post"}
    assert plot.get_ylim() == (0, 100)
    assert plot.get_xlim() == (0, 360)


def test_km_groups_differ_without_colour(km_sv: Figure) -> None:
    lines = km_sv.axes[0].get_lines()
    assert len({line.get_linestyle() for line in lines}) == 3
    assert len({line.get_marker() for line in lines}) == 3


def test_km_at_risk_counts_use_swedish_separators_under_their_ticks(km_sv: Figure) -> None:
    counts = {t.get_text(): t for t in km_sv.findobj(Text)}
    assert "1\xa0234" in counts
    assert counts["1\xa0234"].get_position()[0] == 0
    assert "1,234" not in counts
    assert list(km_sv.axes[0].get_xticks()) == list(range(0, 361, 30))


def test_km_at_risk_counts_use_english_separators(km_en: Figure) -> None:
    texts = _texts(km_en)
    assert "1,234" in texts
    assert "1\xa0234" not in texts


def test_km_missing_at_risk_prints_two_dots(km_sv: Figure) -> None:
    dots = [t for t in km_sv.findobj(Text) if t.get_text() == ".."]
    assert [t.get_position()[0] for t in dots] == [360]


def test_km_at_risk_table_has_heading_and_group_rows(km_sv: Figure) -> None:
    texts = _texts(km_sv)
    assert "Antal i risk" in texts
    assert all(texts.count(label) == 2 for label in GROUPS_SV.values())  # legend and table


@pytest.mark.parametrize(("lang", "expected"), [("sv", "12,5"), ("en", "12.5")])
def test_km_tick_numbers_follow_the_language(
    request: pytest.FixtureRequest, lang: str, expected: str
) -> None:
    plot = request.getfixturevalue(f"km_{lang}").axes[0]
    formatter = plot.yaxis.get_major_formatter()
    assert formatter(12.5, 0) == expected
    assert formatter(1500, 0) == ("1\xa0500" if lang == "sv" else "1,500")
    assert "20" in [label.get_text() for label in plot.get_yticklabels()]


def test_km_rejects_an_unknown_language(curves: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="unknown language"):
        _km(curves, "de")


def test_timeline_draws_spans_as_bars_and_dates_as_points() -> None:
    labels = {key: key.replace("_", " ").title() for key in EVENTS}
    ax = timeline_figure(EVENTS, labels, lang="en").axes[0]
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == 3
    assert [line.get_marker() for line in ax.get_lines()] == ["D"]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(labels.values())


@pytest.mark.parametrize(("lang", "month"), [("sv", "okt. 2008"), ("en", "Oct 2008")])
def test_timeline_names_months_in_the_language(lang: str, month: str) -> None:
    fig = timeline_figure(EVENTS, {key: key for key in EVENTS}, lang=lang)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert month in ticks
    assert ("juli 2009" in ticks) == (lang == "sv")


def test_process_figure_shows_every_label() -> None:
    drawn = "".join("".join(_texts(process_figure(PROCESS_SV))).split())
    for label in PROCESS_SV.values():
        assert "".join(label.split()) in drawn


def test_process_figure_keeps_text_inside_its_box() -> None:
    fig = process_figure(PROCESS_SV)
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [
        p.get_window_extent(renderer) for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)
    ]
    assert len(boxes) == 5
    texts = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    for box in boxes:
        inside = [t for t in texts if box.contains(*t.get_points().mean(axis=0))]
        assert len(inside) == 1
        assert box.x0 <= inside[0].x0 and inside[0].x1 <= box.x1
        assert box.y0 <= inside[0].y0 and inside[0].y1 <= box.y1


def test_save_figure_writes_identical_files_each_time(tmp_path: Path) -> None:
    def build() -> Figure:
        return timeline_figure(EVENTS, {key: key for key in EVENTS}, lang="sv")

    first = save_figure(build(), tmp_path / "a", "figur1")
    second = save_figure(build(), tmp_path / "b", "figur1")
    assert first == tmp_path / "a" / "figur1.svg"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["figur1.svg"]
    assert first.read_bytes() == second.read_bytes()
    assert b"<dc:date>" not in first.read_bytes()


def test_saved_svg_keeps_its_text_as_text(tmp_path: Path) -> None:
    """<text> elements in the shipped font, so a reader can select and search the text
    (Typst and the HTML are given the font)."""
    with matplotlib.rc_context({"svg.fonttype": "path"}):  # a user setting is overridden
        svg = save_figure(process_figure(PROCESS_SV), tmp_path, "figur2").read_text("utf-8")
    assert re.search(r"<text[^>]*font-family: 'Source Sans Pro'[^>]*>Ärendet startar", svg)
    assert "<!-- Ärendet startar" not in svg  # not drawn as glyph paths


def test_figure_text_is_set_in_the_shipped_source_sans_pro(km_sv: Figure) -> None:
    """Every text resolves to the font package's files, regular and bold, even looked up
    outside the style (as when saving) under a user's other font settings."""
    with matplotlib.rc_context(USER_FONTS):
        files = {Path(findfont(t.get_fontproperties())) for t in km_sv.findobj(Text)}
    assert files <= set(font_files(SANS))
    assert {path.name for path in files} == {"SourceSansPro-Regular.ttf", "SourceSansPro-Bold.ttf"}


def test_saved_figure_ignores_the_users_font_settings(tmp_path: Path) -> None:
    fig = process_figure(PROCESS_SV)
    plain = save_figure(fig, tmp_path / "plain", "figur2").read_bytes()
    with matplotlib.rc_context(USER_FONTS):
        other = save_figure(fig, tmp_path / "other", "figur2").read_bytes()
    assert plain == other


@pytest.mark.parametrize("build", ["km", "timeline"])
def test_figures_are_laid_out_once_and_keep_that_layout(
    request: pytest.FixtureRequest, tmp_path: Path, build: str
) -> None:
    """The layout is computed when built; saving must not redo it.

    Redoing it would also move the axes a little, as the SVG is drawn at 72 dpi.
    """
    if build == "km":
        fig = _km(request.getfixturevalue("curves"), "sv")
    else:
        fig = timeline_figure(EVENTS, {key: key for key in EVENTS}, lang="sv")
    assert fig.get_layout_engine() is None
    positions = [ax.get_position().bounds for ax in fig.axes]
    default = fig.subplotpars.left
    assert positions[0][0] != pytest.approx(default, abs=1e-3), "the layout placed the axes"
    save_figure(fig, tmp_path, "figure")
    assert [ax.get_position().bounds for ax in fig.axes] == positions
