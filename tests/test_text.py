"""The report's prose: every section renders in both languages, says the same, follows the data.

The Markdown templates in ``reports/text/<lang>/`` are rendered with the context of a
generated dataset. Swedish and English must have the same sections, the same headings
and the same numbers (the English is a translation, not another text); nothing may be
left unfilled; and the words that describe the results must follow the data, so a
dataset with reversed effects gives other words.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections import Counter
from pathlib import Path

import pytest
import yaml

from rehabstats.glossary import Glossary
from rehabstats.population import EVENTS, derive_cohort
from rehabstats.results import DatasetInfo, compute_results
from rehabstats.synth import SCENARIOS, generate
from rehabstats.text import Words, render_section, text_context
from rehabstats.validation import validate

ROOT = Path(__file__).resolve().parents[1]
TEXT_DIR = ROOT / "reports" / "text"
GLOSSARY_DIR = ROOT / "reports" / "glossary"
EDITION = ROOT / "reports" / "edition.yaml"
LANGS = ("sv", "en")
N, SEED = 4188, 3
REVERSED = "reversed"

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


def render_all(scenario: str) -> dict:
    """Context and rendered sections per language for generate(N, SEED, scenario)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, typed = validate(generate(N, seed=SEED, scenario=scenario))
        results = compute_results(derive_cohort(typed), DatasetInfo("register.csv", N, "x"))
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


@pytest.fixture(scope="module", params=["default", REVERSED])
def rendered(request) -> dict:
    """Both datasets, for checks that must hold on any data."""
    name = "reversed_" if request.param == REVERSED else request.param
    return request.getfixturevalue(name)


@pytest.mark.parametrize("lang", LANGS)
def test_every_section_has_a_file(lang):
    missing = [n for n in SECTIONS if not (TEXT_DIR / lang / f"{n}.md").is_file()]
    assert not missing, f"{lang}: no template for {missing}"
    extra = {p.stem for p in (TEXT_DIR / lang).glob("*.md")} - set(SECTIONS)
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
        assert Words(Glossary.load(GLOSSARY_DIR, lang)).ratio(ratio) == expected
