"""The report as Markdown pieces for one language: what each notebook cell displays.

:class:`ReportDocument` joins the computed results, the glossary and the prose templates
of one language and hands the notebook finished Markdown — a section of prose, a table
with its title and notes, a diagram saved as SVG — so that the notebook shows
the report's structure and nothing of the machinery.
"""

from __future__ import annotations

import html
import platform
import subprocess
from dataclasses import dataclass, field
from functools import cached_property, partial
from importlib import metadata
from pathlib import Path

import pandas as pd

from rehabstats.data.dictionary import load_dictionary, use_study
from rehabstats.data.population import GROUPS
from rehabstats.engine import figure_cache
from rehabstats.reporting import clock, figures
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.comparison import comparison_context
from rehabstats.reporting.edition import edition_for, load_edition
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.project import Project
from rehabstats.reporting.results import Results, analyse
from rehabstats.reporting.specification import Exhibit, in_chapter
from rehabstats.reporting.tables import Table, build_table, missing_note, source_line
from rehabstats.reporting.text import render_section, text_context
from rehabstats.stats.cox import COVARIATES
from rehabstats.stats.descriptive import EXPORT_VARIABLE
from rehabstats.stats.disclosure import protect

# The glossary's group of each arm of the randomised comparison (its diagrams' curves).
ARM_LABELS = {"control": "control", "actor": "treatment_arm"}
# What a report is made from, in the checkout: a change here changes the report.
TRACKED = ("rehabstats", "reports")
# The libraries whose versions decide the figures and the documents (see uv.lock for all).
LIBRARIES = (
    "pandas",
    "numpy",
    "scipy",
    "lifelines",
    "matplotlib",
    "papermill",
    "pypandoc-binary",
    "typst",
)


@dataclass(frozen=True)
class _Marked:
    """A Kaplan–Meier diagram's values on the days it marks, as it prints them: each
    group's cumulative share and number at risk (".." where hidden or not computable)."""

    days: list[int]
    shares: dict[str, list[str]]
    at_risk: dict[str, list[str]]

    @classmethod
    def of(cls, curves: pd.DataFrame, codes: list[str], lang: str) -> _Marked:
        days = figures.marked_days(curves)
        return cls(
            days,
            figures.share_rows(curves, codes, days, lang),
            figures.at_risk_rows(curves, codes, days, lang),
        )

    def prints_missing(self) -> bool:
        """Whether ".." is printed on a marked day: under the diagram or in its data
        alternative."""
        rows = (*self.shares.values(), *self.at_risk.values())
        return any(cell == fmt.MISSING for row in rows for cell in row)


@dataclass
class ReportDocument:
    """The report of one language; see the module doc."""

    results: Results
    glossary: Glossary
    text_dir: Path | tuple[Path, ...]  # a report project's prose, then the package's
    figures_dir: Path
    edition: dict
    parameters: dict = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        results: Path | None,
        lang: str,
        reports_dir: Path,
        figures_dir: Path,
        edition: dict | None,
        parameters: dict | None = None,
        data: Path | None = None,
    ) -> ReportDocument:
        """The document for ``lang`` from results stored by the render job, or, when
        ``results`` is None (the notebook run on its own), from ``data`` analysed and
        protected here, with the project's own edition when ``edition`` is None.

        ``reports_dir`` is the report project (or the package's content): its prose and
        glossary, with the package's for what it lacks, and its study settings, if it
        has any, which this process (the report's kernel) applies from now on.
        """
        project = Project(Path(reports_dir))
        if project.settings is not None:
            use_study(project.settings)
        loaded = protect(analyse(data)) if results is None else Results.open(results)
        if edition is None:
            edition = edition_for(load_edition(project.edition()), lang, loaded.dataset.sha256)
        return cls(
            results=loaded,
            glossary=Glossary.of(project, lang),
            text_dir=project.search_path(f"text/{lang}"),
            figures_dir=Path(figures_dir),
            edition=edition,
            parameters=parameters or {"lang": lang, "edition": edition.get("number", "")},
        )

    @property
    def lang(self) -> str:
        return self.glossary.lang

    @cached_property
    def context(self) -> dict:
        """The values every section's prose may quote, formatted once per document; with
        a previous edition, the words of the comparison with it."""
        context = text_context(self.results, self.glossary, self.edition)
        if self.results.comparison is not None:
            context["comparison"] = comparison_context(self.results.comparison, self.glossary)
        return context

    def chapter(self, name: str) -> str:
        """A chapter: the prose section ``name`` and, after it, the tables and diagrams
        the report's specification places there. A chapter made only for exhibits the
        report does not have (Tabell 8 without a previous edition) is left out."""
        exhibits = list(in_chapter(name, self.results.specification))
        shown = [e for e in exhibits if e.present(self.results)]
        if exhibits and not shown:
            return ""
        return "\n".join([self.section(name), *(self._show(e) for e in shown)])

    def section(self, name: str) -> str:
        """A section of prose with every number filled in."""
        return render_section(self.text_dir, name, self.context)

    def show(self, key: str) -> str:
        """The table or diagram ``key`` of the report's specification as Markdown: a
        table with its title above and notes under, a diagram with its data, a list."""
        return self._show(self.results.exhibit(key))

    def _show(self, shown: Exhibit) -> str:
        shows = {
            "table": self._table,
            "km": self._diagram,
            "itt_km": self._itt_diagram,
            "timeline": self._timeline,
            "process": self._process,
            "variables": self._variables,
        }
        return shows[shown.show](shown)

    def _table(self, shown: Exhibit) -> str:
        return build_table(shown.key, self.results, self.glossary).markdown()

    def figures(self, chapter: str) -> ChapterFigures:
        """The figures of the chapter's tables and diagrams as the export has them: what
        the executed notebook keeps beside the prose as its audit trail."""
        return ChapterFigures(
            {
                e.key: e.figures(self.results)
                for e in in_chapter(chapter, self.results.specification)
                if e.data is not None and e.present(self.results)
            }
        )

    def _image(
        self,
        figure: figure_cache.Drawing,
        stem: str,
        title: str,
        alt: str,
        note: str = "",
        data: str = "",
    ) -> str:
        """Save the figure that ``figure`` draws as SVG (:func:`figure_cache.save`: kept
        from the last render in the preview, when drawn from the same things) and show it
        under ``title``, then the Markdown ``data`` (its values as a table), with ``note``
        below.

        The Markdown links the SVG for both outputs: pandoc embeds it in the HTML and
        Typst draws it as vectors in the PDF. It spans the text width, as the figure is
        drawn for (16 cm); without that a browser shows an SVG at its own size, narrower
        than the column.
        """
        svg = figure_cache.save(figure, self.figures_dir, f"{stem}-{self.lang}")
        relative = f"{self.figures_dir.name}/{svg.name}"
        title, alt, note = (fmt.markdown_literal(text) for text in (title, alt, note))
        image = f"![{alt}]({relative}){{width=100%}}"
        lines = ["::: {.diagram-title}", title, ":::", "", image, ""]
        if data:
            lines += [data, ""]
        if note:
            lines += ["::: {.note}", note, ":::", ""]
        return "\n".join(lines)

    def _diagram(self, shown: Exhibit) -> str:
        """Diagram 1–3: an event's Kaplan–Meier curves by group, numbers at risk below."""
        g = self.glossary
        er = self.results.events[shown.event]
        groups = {code: g[f"groups.{code}"] for code in GROUPS}
        return self._km_diagram(shown, er.curves, er.shares, groups, g["groups_note"])

    def _itt_diagram(self, shown: Exhibit) -> str:
        """Diagram B1–B3 (Bilaga 2): Diagram 1–3's curves by randomised arm, control
        against everyone offered an alternative actor, with Tabell B7's log-rank test in
        the note."""
        g = self.glossary
        arms = self.results.itt.events[shown.event]
        curves, shares = (f.rename(columns={"arm": "group"}) for f in (arms.curves, arms.shares))
        groups = {arm: g[f"groups.{label}"] for arm, label in ARM_LABELS.items()}
        note = g.fill("diagrams.ITT_note", p=fmt.p_relation(arms.logrank.p_value, self.lang))
        return self._km_diagram(shown, curves, shares, groups, note)

    def _km_diagram(
        self,
        shown: Exhibit,
        curves: pd.DataFrame,
        shares: pd.DataFrame,
        groups: dict[str, str],
        groups_note: str,
    ) -> str:
        """The Kaplan–Meier diagram ``shown`` from ``curves`` and ``shares`` (column
        ``group``) of the ``groups`` (codes to labels, in display order).

        The alt text quotes each group's share on day 100; the note explains the estimate
        and ``groups_note`` the groups, then the source line.
        """
        g, key, number, event = self.glossary, shown.key, shown.number, shown.event
        figure = partial(
            figures.km_figure,
            curves,
            groups,
            x_label=g["diagrams.x_axis"],
            y_label=g["diagrams.y_axis"],
            at_risk_label=g["diagrams.at_risk"],
            lang=self.lang,
        )
        at_100 = shares[shares["day"] == 100].set_index("group")["cum_share_pct"]
        quoted = ", ".join(
            f"{label} {fmt.percent(at_100.get(code), self.lang)} %"
            for code, label in groups.items()
        )
        alt = g.fill(
            "diagrams.alt", event=g[f"events.{event}"], days=int(curves["day"].max()), shares=quoted
        )
        marked = _Marked.of(curves, list(groups), self.lang)
        note = f"{g['note']} {g['diagrams.note']} {groups_note}"
        if marked.prints_missing():
            note += f" {missing_note(self.results, g)}"
        note += f"\n\n{source_line(self.results, g)}"
        title = f"{g['diagram_word']} {number} {g[f'diagrams.{key}']}"
        data = self._km_data(f"{g['diagram_word']} {number}", key, marked, groups)
        return self._image(figure, key.lower(), title, alt, note, data)

    def _km_data(self, label: str, key: str, marked: _Marked, groups: dict[str, str]) -> str:
        """A Kaplan–Meier diagram's values as a table, for a reader who cannot see it: each
        group's cumulative share and number at risk on the days the diagram marks, as it
        prints them (".." where hidden), in a ``.figure-data`` div (HTML: a
        ``<details>`` whose summary is the div's first line; the PDF leaves it out)."""
        g, lang = self.glossary, self.lang
        days, shares, at_risk = marked.days, marked.shares, marked.at_risk
        header = [g["columns.day"]]
        for name in groups.values():
            header += [g.fill("diagrams.data_share", group=name)]
            header += [g.fill("diagrams.data_at_risk", group=name)]
        rows = tuple(
            (fmt.integer(day, lang), *(v for c in groups for v in (shares[c][i], at_risk[c][i])))
            for i, day in enumerate(days)
        )
        every = figures.AT_RISK_EVERY
        title = g.fill("diagrams.data_title", title=g[f"diagrams.{key}"], every=every)
        table = Table(label, title, tuple(header), rows, notes=(), source="")
        summary = fmt.markdown_literal(g["diagrams.data_summary"])
        return "\n".join(["::: {.figure-data}", summary, "", table.markdown(), ":::"])

    def _timeline(self, shown: Exhibit) -> str:
        """Figur 1: the experiment's timeline, drawn from the data's own dates."""
        g, t = self.glossary, self.results.timeline
        spans = {
            "randomisation": (t["randomisation_first"], t["randomisation_last"]),
            "measures": (t["first_measure_start"], t["last_measure_start"]),
            "file_review": (t["file_review_first"], t["file_review_last"]),
        }
        # a span without dates (nobody started a measure) has no bar
        events = {k: span for k, span in spans.items() if not pd.isna(span[0])}
        labels = {k: g[f"figures.timeline.{k}"] for k in events}
        figure = partial(figures.timeline_figure, events, labels, lang=self.lang)
        alt = g.fill(
            "figures.F1_alt",
            start=fmt.date(t["randomisation_first"], self.lang),
            end=fmt.date(t["file_review_last"], self.lang),
        )
        title = f"{g['figure_word']} {shown.number} {g[f'figures.{shown.key}']}"
        return self._image(figure, shown.key.lower(), title, alt)

    def _process(self, shown: Exhibit) -> str:
        """Figur 2: the case-handling process from case start to measure."""
        g = self.glossary
        labels = {k: g[f"figures.process.{k}"] for k in g["figures.process"]}
        figure = partial(figures.process_figure, labels)
        title = f"{g['figure_word']} {shown.number} {g[f'figures.{shown.key}']}"
        return self._image(figure, shown.key.lower(), title, g[f"figures.{shown.key}_alt"])

    def _variables(self, shown: Exhibit) -> str:
        """Bilaga 2's list of variables: each covariate and its categories, from the dictionary."""
        g = self.glossary
        dictionary = load_dictionary()
        lines = []
        for name in COVARIATES:
            if name == "age_group":
                categories = ", ".join(
                    b.sv if self.lang == "sv" else b.en for b in dictionary.age_bins
                )
            else:
                categories = ", ".join(g.category(name, c) for c in self._listed(name))
            label = fmt.markdown_literal(g.column(name))
            lines.append(f"- **{label}:** {fmt.markdown_literal(categories)}")
        return "\n".join(lines) + "\n"

    def _listed(self, name: str) -> tuple[str, ...]:
        """A covariate's categories as the report lists them: the dictionary's, or for
        the counties (``only_present``) those the data have, as Tabell B2 lists them."""
        b2 = self.results.balance_by_group
        present = set(b2.loc[b2["variable"] == EXPORT_VARIABLE.get(name, name), "category"])
        return load_dictionary()[name].listed(present)

    def provenance(self) -> str:
        """The closing section: data, parameters, versions and time of the run."""
        g, d = self.glossary, self.results.dataset
        p = "provenance"
        versions = ", ".join(f"{lib} {metadata.version(lib)}" for lib in LIBRARIES)
        literal = fmt.markdown_literal  # user text (file name, edition): never markup
        parameters = ", ".join(f"{literal(k)} = {literal(v)}" for k, v in self.parameters.items())
        revision = git_revision()
        run_time = (self.results.run_time or clock.run_time()).strftime("%Y-%m-%d %H:%M UTC")
        if clock.fixed():  # a time chosen for reproducible files, not the run's own
            run_time += f" {g[f'{p}.run_time_fixed']}"
        commit = fmt.MISSING
        if revision is not None:
            commit = f"`{revision.commit}`"
            commit += f" {g[f'{p}.modified']}" if revision.modified else ""
        rows = [
            (g[f"{p}.dataset"], literal(g.dataset(d.name, d.part))),
            (g[f"{p}.rows"], fmt.integer(d.rows, self.lang)),
            (g[f"{p}.sha256"], f"`{d.sha256}`"),
            (g[f"{p}.parameters"], parameters or fmt.MISSING),
            (g[f"{p}.version"], metadata.version("rehabstats")),
            (g[f"{p}.commit"], commit),
            (g[f"{p}.libraries"], versions),
            (g[f"{p}.platform"], f"Python {platform.python_version()}, {platform.system()}"),
            (g[f"{p}.run_time"], run_time),
        ]
        lines = [f"# {g[f'{p}.heading']}", ""] + [f"- **{k}:** {v}" for k, v in rows]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ChapterFigures:
    """A chapter's figures, by key, for the executed notebook (the audit trail).

    Jupyter shows them as HTML tables, each under its key; they have no Markdown, so
    the documents leave them out (the rendering engine keeps Markdown and images only,
    and the notebook's cell says ``include: false`` for Quarto). Cell text is escaped.
    """

    frames: dict[str, pd.DataFrame]

    def __repr__(self) -> str:
        """The keys and sizes only: Jupyter makes this text beside the HTML of every
        display, and the frames' own text took longer to make than their HTML."""
        sizes = ", ".join(f"{key}: {len(frame)} rows" for key, frame in self.frames.items())
        return f"ChapterFigures({sizes})"

    def _repr_html_(self) -> str:
        return "\n".join(
            f"<h4>{html.escape(key)}</h4>\n{frame.to_html(index=False, escape=True)}"
            for key, frame in self.frames.items()
        )


@dataclass(frozen=True)
class Revision:
    """The git commit of the rehabstats checkout that made a report.

    ``modified``: the package or the report's prose and labels (:data:`TRACKED`) have
    changes not yet committed, so the commit alone does not say what made the report.
    """

    commit: str
    modified: bool


def git_revision() -> Revision | None:
    """The checkout's :class:`Revision`, or None for an installed copy.

    An installed copy can sit inside somebody else's repository (an environment in a
    project folder): only a repository whose top folder holds the package is its checkout.
    """
    checkout = Path(__file__).resolve().parents[2]
    try:
        if Path(_git(checkout, "rev-parse", "--show-toplevel")).resolve() != checkout:
            return None
        commit = _git(checkout, "rev-parse", "--short=12", "HEAD")
        changes = _git(checkout, "status", "--porcelain", "--untracked-files=no", "--", *TRACKED)
    except (OSError, subprocess.CalledProcessError):
        return None
    return Revision(commit, modified=bool(changes))


def _git(checkout: Path, *args: str) -> str:
    """The output of a git command run in ``checkout``."""
    done = subprocess.run(["git", *args], cwd=checkout, capture_output=True, text=True, check=True)
    return done.stdout.strip()
