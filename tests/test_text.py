"""The report's prose: every section renders in both languages, says the same, follows the data.

The Markdown templates in ``reports/text/<lang>/`` are rendered with the context of a
generated dataset. Swedish and English must have the same sections, the same headings
and the same numbers (the English is a translation, not another text); nothing may be
left unfilled; and the words that describe the results must follow the data, so a
dataset with reversed effects gives other words. They follow what is printed: a hazard
ratio is higher or lower only where its stars say it is significant at 5 %, one that was
not estimated says so, and shares and days are compared as they print.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rehabstats.data.population import EVENTS, derive_cohort
from rehabstats.data.synth import SCENARIOS, generate
from rehabstats.data.validation import validate
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import DatasetInfo, Results, analyse, compute_results
from rehabstats.reporting.text import Words, comparison, render_section, robustness, text_context
from rehabstats.stats.cox import WINDOWS

ROOT = Path(__file__).resolve().parents[1]
TEXT_DIR = ROOT / "reports" / "text"
GLOSSARY_DIR = ROOT / "reports" / "glossary"
EDITION = ROOT / "reports" / "edition.yaml"
LANGS = ("sv", "en")
N, SEED = 4188, 3
REVERSED = "reversed"
# A small study, in which few hazard ratios are significant.
SMALL_N, SMALL_SEED = 300, 7

# Section files in report order, with the level and text of their first heading.
SECTIONS = {
    "foreword": (1, "Förord", "Foreword"),
    "summary": (1, "Sammanfattning", "Summary"),
    "introduction": (1, "Inledning", "Introduction"),
    "aim": (1, "Syfte", "Aim"),
    "data_method": (1, "Datamaterial och metod", "Data and method"),
    "results": (1, "Resultat", "Results"),
    "results_meeting": (2, "Avstämningsmöte", "The coordination meeting"),
    "results_plan": (2, "Rehabiliteringsplan", "The rehabilitation plan"),
    "results_measure": (2, "Påbörjad insats", "Starting a measure"),
    "results_timing": (
        2,
        "När mötet och planen kommer till",
        "When the meeting and the plan take place",
    ),
    "conclusions": (1, "Slutsatser", "Conclusions"),
    "references": (1, "Referenser", "References"),
    "appendix1": (1, "Bilaga 1 Beskrivning av grupperna", "Appendix 1 Description of the groups"),
    "appendix2": (1, "Bilaga 2 Metod och variabler", "Appendix 2 Method and variables"),
    "sensitivity": (
        2,
        "Den lottade jämförelsen och tidsberoende modeller",
        "The randomised comparison and time-varying models",
    ),
}

# Group names of one language that must not turn up in the other language's text.
GROUP_NAMES = {
    "sv": ("kontrollgrupp", "försöksgrupp", "bortfall"),
    "en": ("control group", "treatment group", "declined"),
}
OTHER = {"sv": "en", "en": "sv"}

# The sentence of results_<event> that carries the "shorter"/"longer" word for the
# treatment group.
TREATMENT_DAYS = {
    "sv": re.compile(r"var mediantiden (\w+) i försöksgruppen"),
    "en": re.compile(r"the median time was (\w+) in the treatment group"),
}

LEFTOVER = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}|\b(?:None|nan|NaN)\b")
HEADING = re.compile(r"^(#{1,6}) +(.+?)\s*$", re.MULTILINE)
URL = re.compile(r"<?https?://[^\s>]+>?")
# Swedish: "4 028" (normal or non-breaking space between thousands), "1,27".
NUMBER_SV = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:,\d+)?|\d+(?:,\d+)?")
# English: "4,028", "1.27".
NUMBER_EN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def numbers(text: str, lang: str) -> Counter:
    """The multiset of numbers in ``text``, as floats, whatever the language's notation."""
    text = URL.sub(" ", text)
    if lang == "sv":
        found = NUMBER_SV.findall(text)
        values = [re.sub(r"[ \u00a0\u202f]", "", n).replace(",", ".") for n in found]
    else:
        values = [n.replace(",", "") for n in NUMBER_EN.findall(text)]
    return Counter(round(float(v), 6) for v in values)


def headings(text: str) -> list[tuple[int, str]]:
    return [(len(hashes), title) for hashes, title in HEADING.findall(text)]


def edition(lang: str) -> dict:
    """reports/edition.yaml in one language, as the render job hands it to the notebook."""
    raw = yaml.safe_load(EDITION.read_text(encoding="utf-8"))
    return {k: v[lang] if isinstance(v, dict) and lang in v else v for k, v in raw.items()}


def render_all(scenario: str, n: int = N, seed: int = SEED) -> dict:
    """Context and rendered sections per language for generate(n, seed, scenario)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, typed = validate(generate(n, seed=seed, scenario=scenario))
        results = compute_results(derive_cohort(typed), DatasetInfo("register.csv", n, "x"))
    return render_results(results)


def render_results(results: Results) -> dict:
    """Context and rendered sections per language for ``results``."""
    rendered = {}
    for lang in LANGS:
        context = text_context(results, Glossary.load(GLOSSARY_DIR, lang), edition(lang))
        sections = {name: render_section(TEXT_DIR / lang, name, context) for name in SECTIONS}
        rendered[lang] = {"context": context, "sections": sections}
    return rendered


@pytest.fixture(scope="module")
def default() -> dict:
    return render_all("default")


@pytest.fixture(scope="module")
def reversed_() -> dict:
    if not (SCENARIOS / f"{REVERSED}.yaml").is_file():
        pytest.skip(f"no '{REVERSED}' scenario in {SCENARIOS} yet (the generator adds it)")
    return render_all(REVERSED)


@pytest.fixture(scope="module")
def small() -> dict:
    return render_all("default", SMALL_N, SMALL_SEED)


@pytest.fixture(scope="module")
def refused() -> dict:
    """The corpus file in which nobody started a measure: B5, B6 and Tabell 7 refused."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return render_results(
            analyse(ROOT / "tests" / "data" / "bad" / "no_measure_for_anyone.csv")
        )


@pytest.fixture(scope="module", params=["default", REVERSED])
def rendered(request) -> dict:
    """Both datasets, for checks that must hold on any data."""
    name = "reversed_" if request.param == REVERSED else request.param
    return request.getfixturevalue(name)


@pytest.fixture(scope="module", params=["default", REVERSED, "small", "refused"])
def any_data(request) -> dict:
    """Every dataset, for the words that must follow the printed results."""
    name = "reversed_" if request.param == REVERSED else request.param
    return request.getfixturevalue(name)


@pytest.mark.parametrize("lang", LANGS)
def test_every_section_has_a_file(lang):
    missing = [n for n in SECTIONS if not (TEXT_DIR / lang / f"{n}.md").is_file()]
    assert not missing, f"{lang}: no template for {missing}"
    # the comparison with a previous edition (--previous) is tested in test_comparison.py
    extra = {p.stem for p in (TEXT_DIR / lang).glob("*.md")} - {*SECTIONS, "comparison"}
    assert not extra, f"{lang}: templates the report does not use: {sorted(extra)}"


@pytest.mark.parametrize("name", SECTIONS)
def test_first_heading_is_the_section_title(default, name):
    level, *titles = SECTIONS[name]
    for lang, title in zip(LANGS, titles, strict=True):
        text = default[lang]["sections"][name]
        assert text.lstrip().startswith("#"), f"{lang}/{name} does not open with a heading"
        assert headings(text)[0] == (level, title), f"{lang}/{name}"


@pytest.mark.parametrize("name", SECTIONS)
def test_same_heading_structure_in_both_languages(default, name):
    sv, en = (headings(default[lang]["sections"][name]) for lang in LANGS)
    assert [level for level, _ in sv] == [level for level, _ in en], name


def test_nothing_left_unfilled(rendered):
    for lang in LANGS:
        for name, text in rendered[lang]["sections"].items():
            leftover = LEFTOVER.search(text)
            assert leftover is None, f"{lang}/{name}: {leftover.group()!r} left in the text"


def test_same_numbers_in_both_languages(rendered):
    for name in SECTIONS:
        sv, en = (numbers(rendered[lang]["sections"][name], lang) for lang in LANGS)
        assert sv == en, f"{name}: only sv {sv - en}, only en {en - sv}"


def test_number_extraction():
    assert numbers("4\u00a0028 och 4 028 ärenden, kvot 1,27***, p <0,001", "sv") == Counter(
        {4028.0: 2, 1.27: 1, 0.001: 1}
    )
    assert numbers("4,028 cases, ratio 1.27***, days 60, 100.", "en") == Counter(
        {4028.0: 1, 1.27: 1, 60.0: 1, 100.0: 1}
    )


def test_no_group_names_of_the_other_language(default):
    for lang in LANGS:
        for name, text in default[lang]["sections"].items():
            for foreign in GROUP_NAMES[OTHER[lang]]:
                assert foreign not in text.lower(), f"{lang}/{name} says {foreign!r}"


def test_words_follow_the_data(default):
    for lang in LANGS:
        for event in EVENTS:
            text = default[lang]["sections"][f"results_{event}"]
            word = default[lang]["context"][event]["treatment_days"]
            assert TREATMENT_DAYS[lang].findall(text) == [word], f"{lang}/{event}"


def test_reversed_effects_change_the_words(default, reversed_):
    for lang in LANGS:
        changed = []
        for event in EVENTS:
            name = f"results_{event}"
            before = TREATMENT_DAYS[lang].findall(default[lang]["sections"][name])
            after = TREATMENT_DAYS[lang].findall(reversed_[lang]["sections"][name])
            assert after == [reversed_[lang]["context"][event]["treatment_days"]]
            if before != after:
                changed.append(event)
        assert changed, f"{lang}: no 'shorter'/'longer' word changed with reversed effects"
        assert "meeting" in changed, f"{lang}: results_meeting reads the same on both datasets"


# Nouns that follow a count in the prose, plural and singular.
COUNT_NOUNS = {
    "sv": {"ärenden": "ärende", "dagar": "dag", "personer": "person", "individer": "individ"},
    "en": {"cases": "case", "days": "day", "people": "person", "individuals": "individual"},
}


@pytest.mark.parametrize("lang", LANGS)
def test_counts_in_the_prose_take_their_noun_through_the_count_filter(lang):
    """A template that writes "{{ n }} ärenden" would print "1 ärenden" for one case."""
    plural = "|".join(COUNT_NOUNS[lang])
    bare = re.compile(rf"\}}\}} ({plural})\b")
    for path in sorted((TEXT_DIR / lang).glob("*.md")):
        found = bare.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{lang}/{path.name}: a count followed by {found} without | count"


@pytest.mark.parametrize("lang", LANGS)
def test_one_case_and_one_day_are_singular(default, lang):
    context = copy.deepcopy(default[lang]["context"])
    context["meeting"]["left_out"] = "1"
    context["meeting"]["median"]["control"] = "1"
    text = render_section(TEXT_DIR / lang, "results_meeting", context)
    cases, days = ("ärenden", "dagar") if lang == "sv" else ("cases", "days")
    case, day = COUNT_NOUNS[lang][cases], COUNT_NOUNS[lang][days]
    assert f" 1 {case} " in text and f" 1 {day} " in text
    assert f" 1 {cases}" not in text and f" 1 {days}" not in text
    assert f"{context['meeting']['n']['total']} {cases}" in text


def test_the_summary_names_the_counties_of_the_data(default):
    sv = default["sv"]["sections"]["summary"]
    assert "i Stockholm, Västra Götaland, Dalarna och Västerbotten antingen" in sv
    introduction = default["sv"]["sections"]["introduction"]
    assert "genomfördes i Stockholm, Västra Götaland, Dalarna och Västerbotten." in introduction
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, typed = validate(generate(N, seed=SEED))
    one = typed[typed["county"] == "dalarna"]
    results = compute_results(
        derive_cohort(one), DatasetInfo("dalarna.csv", len(one), "x", part=("county", "dalarna"))
    )
    for lang, expected in (("sv", "i Dalarna antingen"), ("en", "in Dalarna were randomised")):
        context = text_context(results, Glossary.load(GLOSSARY_DIR, lang), edition(lang))
        assert expected in render_section(TEXT_DIR / lang, "summary", context)
        assert "Västerbotten" not in render_section(TEXT_DIR / lang, "introduction", context)


@pytest.mark.parametrize("lang", LANGS)
def test_no_placeholder_sits_in_a_code_span(lang):
    """Inserted values are escaped for Markdown text, which a code span would print."""
    for path in sorted((TEXT_DIR / lang).glob("*.md")):
        spans = re.findall(r"`[^`\n]*\{\{[^`\n]*`", path.read_text(encoding="utf-8"))
        assert not spans, f"{lang}/{path.name}: {spans}"


@pytest.mark.parametrize(
    ("ratio", "sv", "en"),
    [
        (0.70, "lägre", "lower"),
        (1.34, "högre", "higher"),
        (2.04, "dubbelt så hög", "twice as high"),
        (2.10, "mer än dubbelt så hög", "more than twice as high"),
        (2.96, "tre gånger så hög", "three times as high"),
        (6.81, "mer än sex gånger så hög", "more than six times as high"),
        (12.3, "mer än 12 gånger så hög", "more than 12 times as high"),
    ],
)
def test_a_hazard_ratio_is_put_in_words_as_large_as_it_is(ratio, sv, en):
    """ "Dubbelt så hög" only where it is: 6,81 is more than six times, not "more than twice"."""
    for lang, expected in (("sv", sv), ("en", en)):
        assert Words(Glossary.load(GLOSSARY_DIR, lang)).ratio(ratio, 0.001) == expected


@pytest.mark.parametrize(
    ("ratio", "p_value", "status", "sv", "en"),
    [
        (1.04, 0.62, "estimated", "inte signifikant skild", "not significantly different"),
        (2.96, 0.051, "estimated", "inte signifikant skild", "not significantly different"),
        (0.70, 0.049, "estimated", "lägre", "lower"),
        (1.003, 0.001, "estimated", "lika hög", "as high"),  # prints 1,00
        (float("nan"), float("nan"), "not_estimated", "okänd", "unknown"),
        (float("nan"), float("nan"), "not_shown", "inte redovisad", "not reported"),
    ],
)
def test_a_hazard_ratio_is_higher_or_lower_only_where_it_is_significant(
    ratio, p_value, status, sv, en
):
    for lang, expected in (("sv", sv), ("en", en)):
        words = Words(Glossary.load(GLOSSARY_DIR, lang))
        assert words.ratio(ratio, p_value, status) == expected
        assert words.significant(float("nan")) in ("inte möjlig att pröva", "not possible to test")


def test_shares_and_days_are_compared_as_they_print():
    """97,4 and 96,6 both print 97: "lika hög", not "högre"; half up, 48,5 prints 49."""
    assert comparison(97.4, 96.6) == "same"
    assert comparison(48.5, 48.4) == "higher"
    assert comparison(1.004, 0.996, decimals=2) == "same"
    assert Words(Glossary.load(GLOSSARY_DIR, "en")).days(46.6, 47.4) == "the same"


# A word for a hazard ratio and the parenthesis after it in the same sentence, which
# quotes the ratio.
RATIO_WORD = {
    "sv": re.compile(
        r"\b(högre|lägre|så hög|lika hög|inte signifikant skild|okänd|inte redovisad)\b"
        r"[^().\n]*?\(([^()]*)\)"
    ),
    "en": re.compile(
        r"\b(higher|lower|as high|not significantly different|unknown|not reported)\b"
        r"[^().\n]*?\(([^()]*)\)"
    ),
}
QUOTED_RATIO = re.compile(r"^(?:hasardkvot |hazard ratio )?\d+[.,]\d\d(\**)$")
NOT_DIFFERENT = {"sv": "inte signifikant skild", "en": "not significantly different"}
UNKNOWN = {"sv": "okänd", "en": "unknown"}
NOT_ESTIMATED = {"sv": "kunde inte skattas", "en": "could not be estimated"}


def ratio_words(text: str, lang: str) -> list[tuple[str, str]]:
    """Each ratio put in words in ``text``: the word and what its parenthesis quotes."""
    return RATIO_WORD[lang].findall(text.replace("\\", ""))


def test_a_ratio_called_higher_or_lower_is_significant_at_5_per_cent(any_data):
    """The printed stars decide: ** or *** (p < 0,05) beside "higher"/"lower"/"… as high",
    none or * beside "not significantly different"; "could not be estimated" beside
    "unknown", never a word of significance."""
    for lang in LANGS:
        for name, text in any_data[lang]["sections"].items():
            for word, quoted in ratio_words(text, lang):
                ratio = QUOTED_RATIO.match(quoted)
                if ratio and word == NOT_DIFFERENT[lang]:
                    assert len(ratio.group(1)) <= 1, (lang, name, word, quoted)
                elif ratio:
                    assert len(ratio.group(1)) >= 2, (lang, name, word, quoted)
                if quoted.endswith(NOT_ESTIMATED[lang]):
                    assert word == UNKNOWN[lang], (lang, name, word, quoted)


def test_the_words_of_every_ratio_follow_its_test(any_data):
    """In the context: not significant → "not significantly different"; not estimated →
    "unknown" and "could not be estimated", never "not significant"."""
    for lang in LANGS:
        context = any_data[lang]["context"]
        ratios = [r for model in context["cox"].values() for r in model.values()]
        ratios += list(context["itt"].values())
        for ratio in (r for r in ratios if r["hr"] != "ref"):
            if not ratio["estimated"]:
                assert ratio["word"] != NOT_DIFFERENT[lang]
                assert ratio["significant"] not in ("inte signifikant", "not significant")
            elif not ratio["is_significant"]:
                assert ratio["word"] == NOT_DIFFERENT[lang]


def test_a_refused_model_is_said_not_to_have_been_estimated(refused):
    sv, en = (refused[lang]["sections"]["summary"] for lang in LANGS)
    assert "risken att påbörja en insats okänd i försöksgruppen (hasardkvoten kunde inte" in sv
    assert "measure is unknown in the treatment group (the hazard ratio could not be" in en


def test_a_small_study_calls_few_ratios_higher_or_lower(small):
    """300 cases: most of the summary's ratios are not significant, and read so."""
    en = small["en"]["sections"]["summary"]
    words = [word for word, quoted in ratio_words(en, "en") if QUOTED_RATIO.match(quoted)]
    assert words.count(NOT_DIFFERENT["en"]) >= 5, words


SHARES = re.compile(
    r"In the control group, (\d+) per cent of the cases [^.]*\. Compared with the control "
    r"group, the share was ([a-z ]+) in the treatment group \((\d+) per cent\) and "
    r"([a-z ]+) in the declined group \((\d+) per cent\)"
)
SHARE_WORDS = {"higher": 1, "lower": -1, "as high": 0}


def test_shares_are_compared_as_printed_in_the_text(any_data):
    for event in EVENTS:
        text = any_data["en"]["sections"][f"results_{event}"]
        control, *compared = SHARES.search(text).groups()
        for word, share in zip(compared[::2], compared[1::2], strict=True):
            difference = int(share) - int(control)
            assert SHARE_WORDS[word] == (difference > 0) - (difference < 0), (event, word)


def test_b1_s_tests_are_counted_once_each(default):
    """Appendix 1 counts B1's tests, not its rows: 10 tests (two of age, one per variable)."""
    context = default["en"]["context"]
    assert context["balance"]["n_tests"] == "10"
    sv, en = (default[lang]["sections"]["appendix1"] for lang in LANGS)
    k = context["balance"]["n_significant"]
    assert f"Här är p-värdet under 0,05 i {k} av 10 test." in sv
    assert f"Here the p-value is below 0.05 in {k} of the 10 tests." in en


@pytest.mark.parametrize("lang", LANGS)
def test_one_test_in_appendix_1_is_singular(default, lang):
    context = copy.deepcopy(default[lang]["context"])
    context["balance"] |= {"n_tests": "1", "n_significant": "0"}
    text = render_section(TEXT_DIR / lang, "appendix1", context)
    assert ("i 0 av 1 test." if lang == "sv" else "in 0 of the 1 test.") in text


@pytest.mark.parametrize(
    ("fixed", "varying", "verdict"),
    [
        ((6.81, 1e-9), (0.74, 0.004), "turns"),
        ((6.81, 1e-9), (1.30, 0.20), "vanishes"),
        ((6.81, 1e-9), (1.80, 0.01), "holds"),
        ((0.60, 0.01), (0.70, 0.03), "holds"),
        ((1.20, 0.30), (0.50, 0.001), "none"),  # no significant finding to check
        ((1.50, float("nan")), (0.50, 0.001), "none"),  # a refused fixed model
    ],
)
def test_a_finding_survives_its_time_varying_refit_only_if_it_is_still_there(
    fixed: tuple[float, float], varying: tuple[float, float], verdict: str
) -> None:
    def row(values: tuple[float, float]) -> pd.Series:
        return pd.Series({"hazard_ratio": values[0], "p_value": values[1]})

    assert robustness(row(fixed), row(varying)) == verdict


def test_the_summary_says_the_timing_finding_turns_on_the_default_data(default) -> None:
    """Tabell 7's early-meeting advantage (6,81***) reverses with time-varying meetings."""
    for lang, phrase in (("sv", "resultatet om tidpunkten vänds"), ("en", "is reversed")):
        assert default[lang]["context"]["robust"]["meeting_0_30"] == "turns"
        assert phrase in default[lang]["sections"]["summary"]
        assert "står sig inte" in default["sv"]["sections"]["conclusions"]
        assert "does not survive" in default["en"]["sections"]["conclusions"]


def test_the_prose_names_the_covariates_the_models_controlled_for(default, dalarna_results):
    """The covariate list comes from the fitted models: a one-county part's prose does not
    claim to control for county, which did not vary in it."""
    for lang, county in (("sv", "län"), ("en", "county")):
        sections = default[lang]["sections"]
        assert all(f", {county}, " in sections[name] for name in ("data_method", "appendix2"))
    results = dalarna_results
    for lang, sex, county in (("sv", "kön", "län"), ("en", "sex", "county")):
        context = text_context(results, Glossary.load(GLOSSARY_DIR, lang), edition(lang))
        for section in ("data_method", "appendix2"):
            text = render_section(TEXT_DIR / lang, section, context)
            assert f"{sex}, " in text and f", {county}, " not in text


@pytest.mark.parametrize("lang", LANGS)
def test_the_timing_windows_are_written_only_where_the_model_defines_them(lang):
    """The prose quotes the windows of Tabell 7 (``cox.WINDOWS``) from its context, so no
    prose file types a window's days."""
    for path in sorted((TEXT_DIR / lang).glob("*.md")):
        assert not re.search(r"\b(0–30|31–60|61–90|91)\b", path.read_text()), path.name
    words = {"sv": ("dag 0–30", "dag 91 eller senare"), "en": ("days 0–30", "day 91 or later")}
    glossary = Glossary.load(GLOSSARY_DIR, lang)
    assert (glossary.window(WINDOWS[0]), glossary.window(WINDOWS[-1])) == words[lang]
