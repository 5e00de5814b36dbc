"""The report's prose: editable Markdown per language, numbers and words from the results.

Each section is a Jinja template (``reports/text/<lang>/<section>.md``) that an analyst
can edit without touching code. :func:`text_context` gives every template the same
values — numbers already formatted for the language, and words that follow the data
as it is printed. A hazard ratio is "högre"/"lägre" ("dubbelt så hög" only when it is)
only when it is significant at 5 %, otherwise "inte signifikant skild"; one that was
not estimated says so ("kunde inte skattas"), never "inte signifikant". Shares and
days are compared as printed, so two that print the same are "lika hög". A count
takes its noun through the ``count`` filter, ``{{ n | count("ärende", "ärenden") }}``,
so that one case is "1 ärende". A missing placeholder is an error
(``StrictUndefined``), so nothing is left unfilled.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import jinja2
import pandas as pd

from rehabstats.data.population import EVENTS, GROUPS
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import KM_CHECKPOINTS, Results
from rehabstats.stats.cox import COVARIATES, WINDOWS, CoxResult, adjusted_covariates
from rehabstats.stats.descriptive import balance_tests

SIGNIFICANCE = 0.05
GROUP_CODES = (*GROUPS, "total")


def printed(value: float, decimals: int) -> float:
    """``value`` as the report prints it, rounded half up to ``decimals`` places; NaN if
    it is missing."""
    if pd.isna(value):
        return float("nan")
    return float(fmt.number(value, "en", decimals).replace(",", ""))


def comparison(value: float, reference: float, decimals: int = 0) -> str:
    """The word key for ``value`` against ``reference`` as both print with ``decimals``
    places: higher, lower, same (they print the same) or unknown."""
    value, reference = printed(value, decimals), printed(reference, decimals)
    if pd.isna(value) or pd.isna(reference):
        return "unknown"
    if value == reference:
        return "same"
    return "higher" if value > reference else "lower"


def is_significant(p_value: float) -> bool:
    """Whether a p-value is below the 5 % level that the prose's words follow."""
    return not pd.isna(p_value) and p_value < SIGNIFICANCE


def ratio_word(hazard_ratio: float) -> tuple[str, int | None]:
    """The word key for a hazard ratio, and the whole multiple it names (or None).

    A ratio within rounding of a whole multiple k ≥ 2 (to one decimal: 1,96 and 2,04 both
    round to 2,0) is "k times as high" ("twice" for 2); a ratio between two multiples
    is "more than k times as high", k its whole part, so that 6,81 is "more than six
    times", not "more than twice". Below 2 the ratio is higher or lower than 1 as it is
    printed, with two decimals.
    """
    if pd.isna(hazard_ratio):
        return "unknown", None
    nearest = round(hazard_ratio)
    if nearest >= 2 and round(hazard_ratio, 1) == nearest:
        return "times", nearest
    if hazard_ratio > 2.0:
        return "more_than_times", int(hazard_ratio)
    return comparison(hazard_ratio, 1.0, decimals=2), None


def ratio_status(model: CoxResult, hazard_ratio: float, p_value: float, n: float) -> str:
    """Whether a model's hazard ratio can be quoted: "estimated"; "not_shown" where
    disclosure control hid it (its N is hidden too); otherwise "not_estimated" (the model
    was refused, or the term has no estimate)."""
    if not (pd.isna(hazard_ratio) or pd.isna(p_value)):
        return "estimated"
    if model.refusal is None and pd.isna(n):
        return "not_shown"
    return "not_estimated"


class Words:
    """Glossary words for keys computed from the data."""

    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary

    def __call__(self, key: str) -> str:
        return self.glossary[f"words.{key}"]

    def ratio(self, hazard_ratio: float, p_value: float, status: str = "estimated") -> str:
        """A hazard ratio in words: "lägre", "dubbelt så hög", "mer än sex gånger så hög"
        where it is significant at 5 %, else "inte signifikant skild"; "okänd" where it
        was not estimated and "inte redovisad" where disclosure control hid it."""
        if status == "not_shown":
            return self("not_shown")
        if status == "not_estimated" or pd.isna(hazard_ratio) or pd.isna(p_value):
            return self("unknown")
        if not is_significant(p_value):
            return self("not_different")
        key, multiple = ratio_word(hazard_ratio)
        if multiple is None:
            return self(key)
        multiples = self.glossary["words.multiples"]
        name = multiples.get(str(multiple), multiples["other"]).format(k=multiple)
        return self.glossary.fill(f"words.{key}", multiple=name)

    def significant(self, p_value: float) -> str:
        """ "signifikant" or "inte signifikant" at 5 %; "inte möjlig att pröva" without a test."""
        if pd.isna(p_value):
            return self("not_tested")
        return self("significant" if is_significant(p_value) else "not_significant")

    def days(self, value: float, reference: float) -> str:
        """Shorter or longer time to the event, as the whole days print."""
        key = comparison(value, reference)
        words = {"higher": "longer", "lower": "shorter", "same": "same_days"}
        return self(words.get(key, key))


def _by_group(frame: pd.DataFrame, column: str, lang: str, decimals: int = 0) -> dict[str, str]:
    values = frame.set_index("group")[column]
    return {g: fmt.number(values.get(g), lang, decimals) for g in GROUP_CODES}


def _event_context(results: Results, event: str, glossary: Glossary) -> dict:
    """Numbers and words about one event (Tabell 4–6, Diagram 1–3, B3–B5)."""
    lang, words = glossary.lang, Words(glossary)
    er = results.events[event]
    table = er.table.set_index("group")
    shares = er.shares.pivot(index="group", columns="day", values="cum_share_pct")
    tests = er.logrank
    context = {
        "name": glossary[f"events.{event}"],
        "mean": _by_group(er.table, "mean_days", lang),
        "median": _by_group(er.table, "median_days", lang),
        "n": _by_group(er.table, "n", lang),
        "share": _by_group(er.table, "share_pct", lang),
        "left_out": fmt.integer(table.loc["total", "left_out"], lang),
        "logrank_p": fmt.p_value(tests.overall.p_value, lang),
        "logrank_p_text": fmt.p_relation(tests.overall.p_value, lang),
        "treatment_vs_control": words.significant(tests.treatment_vs_control.p_value),
        "declined_vs_control": words.significant(tests.declined_vs_control.p_value),
        "treatment_days": words.days(
            table.loc["treatment", "median_days"], table.loc["control", "median_days"]
        ),
        "declined_days": words.days(
            table.loc["declined", "median_days"], table.loc["control", "median_days"]
        ),
        "treatment_share": words(
            comparison(table.loc["treatment", "share_pct"], table.loc["control", "share_pct"])
        ),
        "declined_share": words(
            comparison(table.loc["declined", "share_pct"], table.loc["control", "share_pct"])
        ),
    }
    for day in KM_CHECKPOINTS:
        context[f"km{day}"] = {g: fmt.percent(shares.loc[g, day], lang) for g in GROUPS}
    return context


def _ratio_context(model: CoxResult, row: tuple, glossary: Glossary) -> dict:
    """One hazard ratio of ``model`` (``row`` of its table) as the prose quotes it.

    ``hr`` is the printed ratio with its stars; ``word`` says it in words, significance
    included (:meth:`Words.ratio`); ``stated`` ("hasardkvot 1,27***") and ``brief``
    ("1,27***") quote it in parentheses, or say that it could not be estimated or is
    hidden; ``significant`` and ``is_significant`` (for a template's ``{% if %}``) give
    the test at 5 %, ``estimated`` whether there is a ratio to quote.
    """
    lang, words = glossary.lang, Words(glossary)
    status = ratio_status(model, row.hazard_ratio, row.p_value, row.n)
    hr = fmt.hazard_ratio(row.hazard_ratio, row.stars, lang)
    return {
        "hr": hr,
        "value": fmt.number(row.hazard_ratio, lang, 2),
        "word": words.ratio(row.hazard_ratio, row.p_value, status),
        "stated": glossary.fill(f"words.ratio_stated.{status}", hr=hr),
        "brief": glossary.fill(f"words.ratio_brief.{status}", hr=hr),
        "significant": words.significant(row.p_value),
        "is_significant": is_significant(row.p_value),
        "estimated": status == "estimated",
    }


def _cox_context(results: Results, key: str, glossary: Glossary) -> dict:
    """Hazard ratios of one model, keyed by term (``group_treatment``, ``meeting_yes``…)."""
    model = results.cox[key]
    return {
        row.term.replace(":", "_").replace("-", "_").replace("+", "plus"): _ratio_context(
            model, row, glossary
        )
        for row in model.table.itertuples(index=False)
    }


def _itt_context(results: Results, glossary: Glossary) -> dict:
    """The randomised comparison of each event: the offered arm's hazard ratio against
    control, and the log-rank test's p-value."""
    context = {}
    for event, term in results.itt.table[["event", "term"]].itertuples(index=False):
        arm = results.itt.events[event]
        rows = arm.cox.table[arm.cox.table["term"] == term]
        row = next(rows.itertuples(index=False))
        context[event] = {
            **_ratio_context(arm.cox, row, glossary),
            "logrank_p": fmt.p_value(arm.logrank.p_value, glossary.lang),
        }
    return context


def robustness(fixed: pd.Series, varying: pd.Series) -> str:
    """Whether a finding of a fixed-covariate model survives its time-varying refit.

    ``fixed`` and ``varying`` are the same term's rows of the two models. "none": the
    fixed model shows no significant difference, so there is no finding to check;
    "holds": the refit shows a significant difference in the same direction; "turns":
    a significant one in the other direction; "vanishes": none that is significant.
    Directions are read off the ratios as printed (two decimals).
    """
    if not is_significant(fixed["p_value"]):
        return "none"
    if not is_significant(varying["p_value"]):
        return "vanishes"
    same = (round(fixed["hazard_ratio"], 2) > 1) == (round(varying["hazard_ratio"], 2) > 1)
    return "holds" if same else "turns"


def _robustness_context(results: Results) -> dict:
    """For each published timing finding (Tabell 7, B5), what its time-varying refit
    (Tabell B10, B8) makes of it; and how many plans B5 counts that came after the
    measure started (its ``plan:yes`` less B8's), which no time-varying model counts."""
    rows = {key: model.table.set_index("term") for key, model in results.cox.items()}
    checks = {
        name: robustness(rows[fixed].loc[term], rows[f"TV_{fixed}"].loc[term])
        for name, fixed, term in (
            ("meeting_0_30", "T7", "meeting_window:0-30"),
            ("plan_0_30", "T7", "plan_window:0-30"),
            ("meeting_yes", "B5", "meeting:yes"),
            ("plan_yes", "B5", "plan:yes"),
        )
        if f"TV_{fixed}" in rows and term in rows[fixed].index
    }
    later = rows["B5"].loc["plan:yes", "n"] - rows["TV_B5"].loc["plan:yes", "n"]
    return {**checks, "plans_after_measure": later}


def _counties(results: Results, glossary: Glossary) -> str:
    """The counties the studied cases come from, listed: "Stockholm, … och Västerbotten"."""
    counties = results.group_by_county.query("category != 'total' and n != 0")["category"]
    return fmt.listing([glossary.category("county", c) for c in counties], glossary.lang)


def _population_context(results: Results, lang: str) -> dict:
    flow = results.flow.set_index("step")["n"]
    groups = results.balance_by_group.set_index(["variable", "category"]).loc[("n", "n")]
    # the offered arm as Tabell B1 prints it (shown there where its two groups are not)
    arm = results.balance_by_arm.set_index(["variable", "category"]).loc[("n", "n")]
    offered = arm["treatment_arm"]
    studied = flow["studied"]
    return {
        **{step: fmt.integer(n, lang) for step, n in flow.items()},
        **{f"n_{g}": fmt.integer(groups[g], lang) for g in (*GROUPS, "total")},
        "n_treatment_arm": fmt.integer(offered, lang),
        "pct_treatment_arm": fmt.percent(100 * offered / studied, lang),
        "pct_declined_of_all": fmt.percent(100 * groups["declined"] / studied, lang),
        "pct_declined_of_arm": fmt.percent(100 * groups["declined"] / offered, lang),
    }


def _balance_context(results: Results, lang: str) -> dict:
    """How many of B1's tests find a difference between the arms at 5 % (the
    randomisation check), each test counted once (:func:`balance_tests`)."""
    p_values = balance_tests(results.balance_by_arm).dropna()
    return {
        "n_tests": fmt.integer(len(p_values), lang),
        "n_significant": fmt.integer(int((p_values < SIGNIFICANCE).sum()), lang),
    }


def _dates_context(results: Results, lang: str) -> dict:
    """Each date of the timeline as a day and as a month; None where the data have none
    (``{% if dates.first_measure_start %}`` in a template)."""
    return {
        key: None
        if pd.isna(value)
        else {"date": fmt.date(value, lang), "month": fmt.month(value, lang)}
        for key, value in results.timeline.items()
    }


def text_context(results: Results, glossary: Glossary, edition: dict) -> dict:
    """Everything a prose template may quote, formatted for the glossary's language."""
    lang = glossary.lang
    return {
        "lang": lang,
        "edition": edition,
        "dataset": glossary.dataset(results.dataset.name, results.dataset.part),
        "population": _population_context(results, lang),
        "counties": _counties(results, glossary),
        "dates": _dates_context(results, lang),
        "balance": _balance_context(results, lang),
        **{event: _event_context(results, event, glossary) for event in EVENTS},
        "cox": {key: _cox_context(results, key, glossary) for key in results.cox},
        "itt": _itt_context(results, glossary),
        "robust": {
            key: fmt.integer(value, lang) if key == "plans_after_measure" else value
            for key, value in _robustness_context(results).items()
        },
        "groups": {g: glossary[f"groups.{g}"] for g in (*GROUPS, "treatment_arm", "total")},
        "covariates": _covariates_context(results, glossary),
        "windows": _windows_context(glossary),
    }


def _covariates_context(results: Results, glossary: Glossary) -> str:
    """The background variables the report's models control for, as running text: those
    any model adjusted for (a one-county part has no county to control for)."""
    adjusted = {name for result in results.cox.values() for name in adjusted_covariates(result)}
    return glossary.covariates([name for name in COVARIATES if name in adjusted])


def _windows_context(glossary: Glossary) -> dict[str, str]:
    """Tabell 7's timing windows in words: each by its code (``windows["31-60"]``), the
    first (``early``), the last, which is the reference (``late``), all of them listed
    (``all``), and the last day of the last closed window (``last_day``)."""
    named = {code: glossary.window(code) for code in WINDOWS}
    return {
        **named,
        "early": named[WINDOWS[0]],
        "late": named[WINDOWS[-1]],
        "all": fmt.listing(list(named.values()), glossary.lang),
        "last_day": WINDOWS[-2].split("-")[1],
    }


@jinja2.pass_context
def _count(context: jinja2.runtime.Context, shown: str, one: str, other: str) -> str:
    """The filter ``{{ n | count("ärende", "ärenden") }}``: "1 ärende", "4 028 ärenden"."""
    noun = one if fmt.plural_category(shown, context["lang"]) == "one" else other
    return f"{shown} {noun}"


def render_section(directory: Path | Sequence[Path], name: str, context: dict) -> str:
    """The Markdown of one section: ``<name>.md`` with every placeholder filled, from
    ``directory``, or from the first of several that has it (a report project's prose,
    then the package's: ``Project.search_path``)."""
    folders = (directory,) if isinstance(directory, str | Path) else directory
    environment = _environment(tuple(Path(folder) for folder in folders))
    return environment.get_template(f"{name}.md").render(**context)


@cache
def _environment(directories: tuple[Path, ...]) -> jinja2.Environment:
    """The template environment of one language's prose (one per search path, reused)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directories),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=fmt.markdown_literal,  # every inserted value is text, never markup
    )
    environment.filters["count"] = _count
    return environment
