"""The formatted tables: series style in both languages, the same numbers in each."""

from __future__ import annotations

import dataclasses
import re
import warnings

import pandas as pd
import pytest

from rehabstats.data.population import derive_cohort
from rehabstats.data.validation import read_dataset
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import DatasetInfo, compute_results
from rehabstats.reporting.specification import REPORT
from rehabstats.reporting.tables import build_table, refusal_text
from rehabstats.stats.cox import REFUSAL_TEXTS, CoxRefusal
from rehabstats.stats.descriptive import balance_by_arm, balance_by_group, county_table
from tests.conftest import DEFAULT_DATA, ROOT

GLOSSARIES = ROOT / "reports" / "glossary"


@pytest.fixture(scope="module")
def glossaries() -> dict[str, Glossary]:
    return {lang: Glossary.load(GLOSSARIES, lang) for lang in ("sv", "en")}


def numbers(text: str, lang: str) -> list[float]:
    """Every number in a text, read with the language's separators."""
    if lang == "sv":
        text = re.sub(r"(?<=\d)[ \u00a0](?=\d{3}\b)", "", text).replace(",", ".")
    else:
        text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", text)]


def cell_numbers(row: tuple[str, ...], lang: str) -> list[float]:
    """The numbers of a table row's value cells, read cell by cell."""
    return [n for cell in row[1:] for n in numbers(cell, lang)]


def test_the_glossaries_have_the_same_keys(glossaries) -> None:
    def keys(node: dict, prefix: str = "") -> set[str]:
        out: set[str] = set()
        for k, v in node.items():
            out |= keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return out

    assert keys(glossaries["sv"].entries) == keys(glossaries["en"].entries)


# The tables of every report (Tabell 8 only comes with a previous edition).
TABLES = [e.key for e in REPORT if e.show == "table" and e.key != "comparison"]


@pytest.mark.parametrize("key", TABLES)
def test_every_table_has_the_same_shape_and_numbers_in_both_languages(
    key: str, default_results, glossaries
) -> None:
    sv = build_table(key, default_results, glossaries["sv"])
    en = build_table(key, default_results, glossaries["en"])
    assert len(sv.rows) == len(en.rows) and len(sv.header) == len(en.header)
    for row_sv, row_en in zip(sv.rows, en.rows, strict=True):
        assert cell_numbers(row_sv, "sv") == cell_numbers(row_en, "en")
    assert sv.caption.startswith("Tabell ") and en.caption.startswith("Table ")
    assert sv.notes[0].startswith("Anm:") and en.notes[0].startswith("Note:")
    assert sv.source.startswith("Källa:") and en.source.startswith("Source:")


def test_swedish_tables_use_decimal_comma_and_space_thousands(default_results, glossaries) -> None:
    t1 = build_table("T1", default_results, glossaries["sv"]).markdown()
    assert "4\u00a0028" in t1 and "4,028" not in t1
    b3 = build_table("B3", default_results, glossaries["sv"]).markdown()
    assert re.search(r"\| \d,\d\d(\\\*){0,3} \|", b3)
    b3_en = build_table("B3", default_results, glossaries["en"]).markdown()
    assert re.search(r"\| \d\.\d\d(\\\*){0,3} \|", b3_en)


def test_the_markdown_has_caption_above_bold_total_and_notes(default_results, glossaries) -> None:
    text = build_table("T4", default_results, glossaries["sv"]).markdown()
    lines = text.splitlines()
    assert lines[0] == "Table: Tabell 4 Uppgifter om avstämningsmöte"
    assert any(line.startswith("| **Totalt** |") for line in lines)
    assert "::: {.note}" in lines and any(line.startswith("Källa:") for line in lines)


def test_event_table_notes_count_the_cases_left_out(default_results, glossaries) -> None:
    table = default_results.events["meeting"].table.set_index("group")
    left = int(table.loc["total", "left_out"])
    note = build_table("T4", default_results, glossaries["en"]).notes[0]
    assert f"{left:,} cases have no usable date" in note
    assert "log-rank" in note


@pytest.fixture(scope="module")
def no_measure():
    """Results of the corpus file in which nobody started a measure: B5, B6, T7 refused."""
    from rehabstats.reporting.results import analyse

    return analyse(ROOT / "tests" / "data" / "bad" / "no_measure_for_anyone.csv")


def test_a_refused_model_is_explained_in_the_report_s_language(no_measure, glossaries) -> None:
    assert no_measure.cox["B5"].problem == "no events in the sample"
    sv = build_table("B5", no_measure, glossaries["sv"])
    en = build_table("B5", no_measure, glossaries["en"])
    assert "Modellen kunde inte skattas: ingen i urvalet fick händelsen." in sv.notes[0]
    assert "no events" not in sv.notes[0]
    assert "The model could not be estimated: nobody in the sample had the event." in en.notes[0]


@pytest.mark.parametrize("code", sorted(REFUSAL_TEXTS))
def test_every_refusal_is_worded_in_both_languages(code: str, glossaries) -> None:
    refusal = CoxRefusal(code, "group", "declined", detail="lifelines' message")
    assert str(refusal) and "{" not in str(refusal)
    for lang, glossary in glossaries.items():
        text = refusal_text(refusal, glossary)
        assert text and "{" not in text and "lifelines" not in text, (lang, code)
        if code.startswith("level_"):
            assert glossary["groups.declined"] in text


def test_without_disclosure_control_dots_only_mean_not_computable(no_measure, glossaries) -> None:
    assert no_measure.min_count == 0
    notes = build_table("T6", no_measure, glossaries["sv"]).notes
    assert glossaries["sv"]["missing_note"] in notes
    assert not any("personer" in note for note in notes)


def test_the_cox_note_names_only_the_covariates_the_model_controls_for(
    glossaries, dalarna_results
) -> None:
    """In a one-county report county does not vary, and the note does not claim it."""
    results = dalarna_results
    assert "county" not in set(results.cox["B3"].table["variable"])
    sv = build_table("B3", results, glossaries["sv"]).notes[0]
    en = build_table("B3", results, glossaries["en"]).notes[0]
    assert "Modellen kontrollerar för kön, ålder i fyra grupper, födelseland" in sv
    assert "sysselsättning, diagnos, ersättningsform och sjukskrivningens omfattning. N = " in sv
    assert "employment, diagnosis, type of benefit and extent of sick leave. N = " in en


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("sv", "1", "1 ärende saknar användbart datum för händelsen och ingår inte i analysen"),
        ("sv", fmt.integer(4028, "sv"), f"{fmt.integer(4028, 'sv')} ärenden saknar användbart"),
        ("sv", "..", ".. ärenden saknar"),
        ("en", "1", "1 case has no usable date for the event and is not in the analysis"),
        ("en", fmt.integer(4028, "en"), "4,028 cases have no usable date"),
    ],
)
def test_the_left_out_note_agrees_with_its_count(glossaries, lang, n, expected) -> None:
    assert glossaries[lang].fill_count("left_out_note", n, reasons="").startswith(expected)


def test_b1_shows_each_test_once(default_results, glossaries) -> None:
    """B1's p-values: the t-test and the rank test on the age rows, and each categorical
    variable's one chi-square test on its heading row, in bold with the heading; a
    category's row has none (its variable's test is not a test of the category)."""
    table = build_table("B1", default_results, glossaries["en"])
    mean, median, sd = table.rows[:3]
    assert mean[-1] and median[-1] and mean[-1] != median[-1] and sd[-1] == ""
    frame = default_results.balance_by_arm.set_index(["variable", "category"])
    sex = next(i for i, row in enumerate(table.rows) if row[0] == glossaries["en"].column("sex"))
    assert table.rows[sex][1:-1] == ("", "", "") and sex in table.bold_rows
    assert table.rows[sex][-1] == fmt.p_value(frame.loc[("sex", "women"), "p_value"], "en")
    assert table.rows[sex + 1][-1] == "" and table.rows[sex + 2][-1] == ""
    p_cells = [row[-1] for row in table.rows if row[-1]]
    assert len(p_cells) == 10, "two tests of age and one per categorical variable"
    assert "Mann–Whitney U" in table.notes[0] and "chi-square test over all" in table.notes[0]


def test_the_county_tables_have_a_column_per_county_of_the_data(
    default_results, small_register: pd.DataFrame, glossaries
) -> None:
    """Tabell 2/3: the default data's four counties; a follow-up in Skåne, Östergötland
    and Norrbotten has those three, in SCB's order, and no empty column of another."""
    four = ("Stockholm", "Västra Götaland", "Dalarna", "Västerbotten")
    for key in ("T2", "T3"):
        assert build_table(key, default_results, glossaries["sv"]).header[1:-1] == four
    elsewhere = {
        "stockholm": "skane",
        "vastra_gotaland": "ostergotland",
        "dalarna": "norrbotten",
        "vasterbotten": "norrbotten",
    }
    register = small_register.assign(county=small_register["county"].map(elsewhere))
    cases = derive_cohort(register).cases
    results = dataclasses.replace(
        default_results,
        arm_by_county=county_table(cases, "arm_group"),
        group_by_county=county_table(cases, "group"),
    )
    for lang, glossary in glossaries.items():
        for key in ("T2", "T3"):
            table = build_table(key, results, glossary)
            assert table.header[1:-1] == ("Östergötland", "Skåne", "Norrbotten"), lang
            assert not [cell for cell in table.rows[-1] if cell.startswith("100 (0")], lang
    for balance in (balance_by_arm(cases), balance_by_group(cases)):
        counties = balance.loc[balance["variable"] == "county", "category"]
        assert list(counties) == ["ostergotland", "skane", "norrbotten"]


def test_many_counties_are_the_rows_of_tabell_2_and_3(glossaries) -> None:
    """With more counties than fit as columns (up to 21 län), Tabell 2 and 3 set a row
    per county, each summing to 100 per cent of its printed cases, the total last."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        typed = read_dataset(DEFAULT_DATA)
    codes = ["stockholm", "uppsala", "skane", "vastra_gotaland", "dalarna", "norrbotten", "orebro"]
    typed = typed.assign(county=[codes[i % len(codes)] for i in range(len(typed))])
    typed["county"] = typed["county"].astype(pd.CategoricalDtype(sorted(set(codes))))
    results = compute_results(derive_cohort(typed), DatasetInfo("many.csv", len(typed), "x"))
    for key, groups in (("T2", 2), ("T3", 3)):
        sv = build_table(key, results, glossaries["sv"])
        assert sv.header[0] == "Län" and len(sv.header) == 1 + groups + 1
        assert [row[0] for row in sv.rows][-1] == "Totalt" and len(sv.rows) == len(codes) + 1
        assert {row[0] for row in sv.rows[:-1]} >= {"Skåne", "Norrbotten", "Örebro"}
        for row in sv.rows:
            shares = [float(cell.replace(",", ".")) for cell in row[1 : 1 + groups]]
            assert abs(sum(shares) - 100) < 0.5 * groups and row[-1].startswith("100 (")
    assert build_table("T3", results, glossaries["en"]).header[0] == "County"
