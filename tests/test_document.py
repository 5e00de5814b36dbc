"""What the notebook displays: the randomised comparison's diagrams show results.itt; the
provenance section closes the report in its language."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from rehabstats.reporting import figures
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.document import ReportDocument, _Marked
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import Results
from rehabstats.reporting.specification import REPORT
from rehabstats.reporting.tables import source_line
from rehabstats.stats.disclosure import protect
from rehabstats.stats.itt import ARMS
from tests.conftest import ROOT

GIT_IDENTITY = {
    **os.environ,
    **dict.fromkeys(("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"), "test"),
    **dict.fromkeys(("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"), "test@example.org"),
}


def _document(results, lang: str, figures_dir: Path = ROOT / "unused") -> ReportDocument:
    reports = ROOT / "reports"
    return ReportDocument(
        results=results,
        glossary=Glossary.load(reports / "glossary", lang),
        text_dir=reports / "text" / lang,
        figures_dir=figures_dir,
        edition={},
    )


# Bilaga 2's diagrams of the randomised comparison, and the event of each.
ITT_DIAGRAM_EVENTS = {e.key: e.event for e in REPORT if e.show == "itt_km"}


def _itt_diagrams(results: Results, lang: str, figures_dir: Path) -> dict[str, tuple[str, Figure]]:
    """Each ITT diagram of ``lang`` as the notebook shows it (B1–B3), with the figure drawn."""
    drawn: list[Figure] = []
    draw = figures.km_figure

    def spy(*args, **kwargs) -> Figure:
        drawn.append(draw(*args, **kwargs))
        return drawn[-1]

    document = _document(results, lang, figures_dir)
    shown = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "km_figure", spy)
        for key in ITT_DIAGRAM_EVENTS:
            shown[key] = (document.show(key), drawn[-1])
    assert len(drawn) == len(ITT_DIAGRAM_EVENTS), "each figure is drawn once"
    return shown


@pytest.fixture(scope="module")
def itt_diagrams(default_results, tmp_path_factory) -> dict[str, dict[str, tuple[str, Figure]]]:
    """The ITT diagrams of the default data in both languages, drawn once for the module."""
    return {
        lang: _itt_diagrams(default_results, lang, tmp_path_factory.mktemp(lang))
        for lang in ("sv", "en")
    }


def _at_risk_on_day_0(figure: Figure) -> list[str]:
    """The numbers at risk under day 0, top down (the row labels are in another size)."""
    table = figure.axes[1]
    return [
        t.get_text()
        for t in table.texts
        if t.get_position()[0] == 0 and t.get_fontsize() == figures.RISK_FONT
    ]


@pytest.mark.parametrize("key", list(ITT_DIAGRAM_EVENTS))
def test_itt_diagram_draws_the_arms_of_results_itt(default_results, itt_diagrams, key) -> None:
    """Control and the offered arm (treatment and declined together): their curves, and
    on day 0 the arm sizes of Tabell 4–6's sample."""
    event = ITT_DIAGRAM_EVENTS[key]
    g = Glossary.load(ROOT / "reports" / "glossary", "sv")
    n = default_results.events[event].table.set_index("group")["n"]
    _markdown, figure = itt_diagrams["sv"][key]
    plot = figure.axes[0]
    legend = [t.get_text() for t in plot.get_legend().get_texts()]
    assert legend == [g["groups.control"], g["groups.treatment_arm"]]
    curves = default_results.itt.events[event].curves
    for line, arm in zip(plot.get_lines(), ARMS, strict=True):
        curve = curves.loc[curves["arm"].eq(arm)]
        np.testing.assert_array_equal(line.get_xdata(), curve["day"])
        np.testing.assert_allclose(line.get_ydata(), curve["cum_share_pct"])
    arms = [n["control"], n["treatment"] + n["declined"]]
    assert _at_risk_on_day_0(figure) == [fmt.integer(count, "sv") for count in arms]


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("key", list(ITT_DIAGRAM_EVENTS))
def test_itt_diagram_has_title_alt_text_log_rank_and_source(
    default_results, itt_diagrams, lang: str, key: str
) -> None:
    g = Glossary.load(ROOT / "reports" / "glossary", lang)
    event, number = ITT_DIAGRAM_EVENTS[key], key[-1]
    markdown, _figure = itt_diagrams[lang][key]
    p = fmt.p_relation(default_results.itt.events[event].logrank.p_value, lang)
    shares = default_results.itt.events[event].shares.set_index(["arm", "day"])["cum_share_pct"]
    offered = f"{g['groups.treatment_arm']} {fmt.percent(shares['actor', 100], lang)} %"
    assert f"{g['diagram_word']} B{number} {g[f'diagrams.{key}']}" in markdown
    assert f"![{fmt.markdown_literal(g['diagrams.alt'].split('{')[0])}" in markdown
    assert fmt.markdown_literal(offered) in markdown
    assert fmt.markdown_literal(g.fill("diagrams.ITT_note", p=p)) in markdown
    assert fmt.markdown_literal(source_line(default_results, g)) in markdown
    assert f"{key.lower()}-{lang}.svg" in markdown


def test_itt_diagrams_cope_with_points_hidden_by_disclosure_control(
    default_results, itt_diagrams, tmp_path
) -> None:
    """With 300 as the limit the tails are hidden: the curves stop early and the counts
    there print "..", and day 0 prints each arm's count as the protected results hold it
    (hidden where the linked tables hide the arm's size)."""
    results = protect(default_results, 300)
    protected = _itt_diagrams(results, "sv", tmp_path)
    explained = Glossary.load(ROOT / "reports" / "glossary", "sv").fill(
        "suppressed_note", min_count=300
    )
    for key, (markdown, figure) in protected.items():
        assert fmt.markdown_literal(explained) in markdown, key  # ".." explained in the note
        assert fmt.markdown_literal(explained) not in itt_diagrams["sv"][key][0], key
        ydata = np.concatenate([line.get_ydata() for line in figure.axes[0].get_lines()])
        assert np.isnan(ydata).any() and not np.isnan(ydata).all(), key
        assert ".." in [t.get_text() for t in figure.axes[1].texts], key
        curves = results.itt.events[ITT_DIAGRAM_EVENTS[key]].curves
        day_0 = curves.loc[curves["day"] == 0, "at_risk"]
        assert _at_risk_on_day_0(figure) == [
            ".." if np.isnan(n) else fmt.integer(n, "sv") for n in day_0
        ]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_provenance_names_the_commit_of_the_checkout(default_results, lang: str) -> None:
    section = _document(default_results, lang).provenance()
    commit = Glossary.load(ROOT / "reports" / "glossary", lang)["provenance.commit"]
    assert re.search(rf"\*\*{commit}:\*\* `[0-9a-f]{{12}}`", section)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_provenance_says_a_fixed_run_time_is_one(default_results, monkeypatch, lang: str):
    """SOURCE_DATE_EPOCH's time is printed with the glossary's words saying it was set;
    the time of the run itself without them."""
    glossary = Glossary.load(ROOT / "reports" / "glossary", lang)
    label, fixed = glossary["provenance.run_time"], glossary["provenance.run_time_fixed"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1291161600")
    section = _document(default_results, lang).provenance()
    assert f"- **{label}:** 2010-12-01 00:00 UTC {fixed}\n" in section
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    section = _document(default_results, lang).provenance()
    assert re.search(rf"- \*\*{label}:\*\* \d{{4}}-\d\d-\d\d \d\d:\d\d UTC\n", section)
    assert fixed not in section


@pytest.mark.parametrize("inside_another_repository", [False, True])
def test_provenance_outside_git_shows_the_missing_sign(
    default_results, tmp_path, inside_another_repository
) -> None:
    """An installed copy has no commit: the series' ".." rather than an English word.

    Nor has a copy installed inside another project's repository: that commit is not ours.
    """
    if inside_another_repository:
        (tmp_path / "project.txt").write_text("another project\n")
        for command in (["init", "-q"], ["add", "project.txt"], ["commit", "-q", "-m", "x"]):
            subprocess.run(["git", *command], cwd=tmp_path, env=GIT_IDENTITY, check=True)
    site_packages = tmp_path / "env" / "site-packages"
    shutil.copytree(ROOT / "rehabstats", site_packages / "rehabstats")
    results = tmp_path / "results.pkl"
    default_results.save(results)
    script = (
        "from pathlib import Path\n"
        "from rehabstats.reporting.document import ReportDocument, git_revision\n"
        "assert git_revision() is None\n"
        f"doc = ReportDocument.open(Path({str(results)!r}), 'sv', "
        f"reports_dir=Path({str(ROOT / 'reports')!r}), figures_dir=Path('.'), edition={{}})\n"
        "print(doc.provenance())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site_packages)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    commit = Glossary.load(ROOT / "reports" / "glossary", "sv")["provenance.commit"]
    assert f"**{commit}:** .." in done.stdout and "unknown" not in done.stdout


def test_provenance_says_when_the_checkout_has_uncommitted_changes(default_results, tmp_path):
    """A commit names what made a report only if the package and the prose are as committed."""
    for folder in ("rehabstats", "reports"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = {**GIT_IDENTITY, "PYTHONPATH": str(tmp_path)}
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "copy"]):
        subprocess.run(["git", *command], cwd=tmp_path, env=env, check=True)
    results = tmp_path / "results.pkl"
    default_results.save(results)
    script = (
        "from pathlib import Path\n"
        "from rehabstats.reporting.document import ReportDocument\n"
        f"doc = ReportDocument.open(Path({str(results)!r}), 'sv', "
        f"reports_dir=Path({str(tmp_path / 'reports')!r}), figures_dir=Path('.'), edition={{}})\n"
        "print(doc.provenance())\n"
    )

    def provenance() -> str:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    modified = Glossary.load(ROOT / "reports" / "glossary", "sv")["provenance.modified"]
    assert re.search(r"`[0-9a-f]{12}`\n", provenance())
    foreword = tmp_path / "reports" / "text" / "sv" / "foreword.md"
    foreword.write_text(foreword.read_text("utf-8") + "\nEn rad till.\n", "utf-8")
    assert re.search(rf"`[0-9a-f]{{12}}` {re.escape(modified)}\n", provenance())


def test_a_diagram_explains_a_hidden_share_as_it_does_a_hidden_number_at_risk() -> None:
    """The ".." note goes under a diagram whenever a day it marks prints "..", whether
    the number at risk or only the share is hidden (disclosure control hides either)."""
    days = [0, 30, 60]
    curves = pd.DataFrame(
        {
            "group": ["control"] * 3 + ["treatment"] * 3,
            "day": days * 2,
            "cum_share_pct": [0.0, 40.0, 60.0, 0.0, 45.0, 70.0],
            "at_risk": [50.0, 30.0, 20.0, 60.0, 33.0, 18.0],
        }
    )
    codes = ["control", "treatment"]
    assert not _Marked.of(curves, codes, "sv").prints_missing()
    only_share = curves.assign(cum_share_pct=curves["cum_share_pct"].where(curves.index != 4))
    assert _Marked.of(only_share, codes, "sv").prints_missing()
    only_at_risk = curves.assign(at_risk=curves["at_risk"].where(curves.index != 2))
    assert _Marked.of(only_at_risk, codes, "en").prints_missing()


def test_a_chapters_figures_show_as_tables_and_name_their_sizes_as_text(default_results):
    """The audit trail's HTML holds every figure of the chapter's tables; its text (which
    Jupyter makes beside it for every display) only their keys and sizes."""
    shown = _document(default_results, "en").figures("results")
    frame = shown.frames["T3"]
    assert set(shown.frames) >= {"T2", "T3"}
    assert repr(shown).startswith("ChapterFigures(T2: ")
    assert f"T3: {len(frame)} rows" in repr(shown)
    assert str(frame.iloc[0, 0]) not in repr(shown)
    assert "<h4>T3</h4>" in shown._repr_html_()
    assert frame.to_html(index=False, escape=True) in shown._repr_html_()
