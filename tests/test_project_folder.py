"""A report project of one's own: ``rehabstats new`` writes it, ``render`` uses its files
and the package's for what it lacks, and its study settings add category codes.

The renders are real (the notebook, pandoc); what a project changed is looked for in the
HTML, and what it left alone is compared with the package's own text.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rehabstats.cli import main
from rehabstats.data.dictionary import load_dictionary
from rehabstats.engine.render import REFERENCE_DOCX
from rehabstats.errors import ResourceError, StudySettingsError
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.project import Project
from tests.conftest import DEFAULT_DATA, ROOT

CONTENT = ROOT / "reports"
# The study's own county: a code the contract does not have, spelt "91" in the register.
NEW_COUNTY = {"code": "sjuharad", "sv": "Sjuhärad (försöksområde)", "en": "Sjuhärad (trial area)"}
SETTINGS = (
    "categories:\n  county:\n"
    f"    sjuharad: {{sv: {NEW_COUNTY['sv']}, en: {NEW_COUNTY['en']}, accept: ['91']}}\n"
)
SUMMARY_SV = "Denna mening finns bara i projektets sammanfattning ({{ lang }})."
TITLE_T2_SV = "Projektets egen rubrik för tabell 2"
SUMMARY_EN = "This sentence is only in the summary of the project."


def _content_files() -> set[str]:
    """The report content of the checkout, as the package ships it: no Python files, and
    not the figures that the notebook run in place writes."""
    return {
        p.relative_to(CONTENT).as_posix()
        for p in CONTENT.rglob("*")
        if p.is_file()
        and not {"__pycache__", "figures"} & set(p.relative_to(CONTENT).parts)
        and p.name != "__init__.py"
    }


def _new(folder: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """``rehabstats new folder``, which must succeed."""
    assert main(["new", str(folder)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in a text file."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def _register_with_new_county(path: Path, county: str = "dalarna") -> Path:
    """The shipped register with every case of ``county`` in the study's own county, "91"."""
    frame = pd.read_csv(DEFAULT_DATA, dtype=str, keep_default_na=False)
    assert (frame["county"] == county).any()
    frame.loc[frame["county"] == county, "county"] = "91"
    frame.to_csv(path, index=False)
    return path


def _plain_sentence(path: Path) -> str:
    """The first sentence of a prose file without Jinja or Markdown in it."""
    for line in path.read_text(encoding="utf-8").splitlines():
        for sentence in re.split(r"(?<=\.) ", line):
            if len(sentence) > 60 and not re.search(r"[{}#*_\[\]`|]", sentence):
                return sentence
    raise AssertionError(f"no plain sentence in {path}")


def _text(report: Path) -> str:
    """A rendered HTML document's text, tags removed and entities read, lines joined."""
    words = html.unescape(re.sub(r"<[^>]+>", " ", report.read_text(encoding="utf-8")))
    return " ".join(words.split())


def test_new_writes_the_package_content_and_refuses_a_folder_in_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _new(tmp_path / "project", capsys)
    written = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert written == _content_files() | {"reference.docx", ".gitignore"}
    for name in _content_files():
        assert (project / name).read_bytes() == (CONTENT / name).read_bytes(), name
    assert (project / "reference.docx").read_bytes() == REFERENCE_DOCX.read_bytes()
    ignored = (project / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {"_output/", "figures/"} <= set(ignored)
    assert {"_quarto.yml", "edition.yaml", "study.yaml", "README.md", "report.ipynb"} <= written

    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("a team's file")
    assert main(["new", str(used)]) == 2
    assert "used: the folder is not empty" in capsys.readouterr().err
    assert [p.name for p in used.iterdir()] == ["notes.txt"]
    assert main(["new", str(used / "notes.txt")]) == 2
    assert "a file of that name exists" in capsys.readouterr().err
    assert (used / "notes.txt").read_text() == "a team's file"


def test_the_shipped_study_settings_and_their_example_are_valid(tmp_path: Path) -> None:
    """As shipped they add nothing; the commented example adds the codes it shows."""
    shipped = CONTENT / "study.yaml"
    assert load_dictionary(study=shipped).columns == load_dictionary().columns
    text = shipped.read_text(encoding="utf-8")
    example = text[text.index("# categories:\n") :].split("\ncategories:")[0]
    (tmp_path / "study.yaml").write_text(
        "\n".join(line[2:] for line in example.splitlines()), encoding="utf-8"
    )
    settings = yaml.safe_load((tmp_path / "study.yaml").read_text(encoding="utf-8"))
    extended = load_dictionary(study=tmp_path / "study.yaml")
    for column, codes in settings["categories"].items():
        for code, entry in codes.items():
            assert extended[column].label(code, "sv") == entry["sv"]
            assert extended[column].spelling_map()[entry["accept"][0]] == code
            assert code not in load_dictionary()[column].codes


def test_a_project_glossary_overrides_key_by_key_and_files_fall_back(tmp_path: Path) -> None:
    (tmp_path / "glossary").mkdir()
    (tmp_path / "glossary" / "sv.yaml").write_text(
        "toc_title: Projektets innehåll\ntables:\n  T2: Egen rubrik\n", encoding="utf-8"
    )
    project = Project(tmp_path)
    own, package = Glossary.of(project, "sv"), Glossary.load(CONTENT / "glossary", "sv")
    assert own["toc_title"] == "Projektets innehåll" and own["tables.T2"] == "Egen rubrik"
    assert own["tables.T4"] == package["tables.T4"]  # the rest of a mapping the project changed
    assert own.entries.keys() == package.entries.keys()
    assert Glossary.of(project, "en") == Glossary.load(CONTENT / "glossary", "en")
    assert project.find("text/sv/summary.md") == CONTENT / "text" / "sv" / "summary.md"
    assert project.find("glossary/sv.yaml") == tmp_path / "glossary" / "sv.yaml"
    assert project.edition() is None and project.edition(tmp_path / "x.yaml") == tmp_path / "x.yaml"
    assert Project(CONTENT).own("edition.yaml") is None  # the package's content: no own files
    (tmp_path / "edition.yaml").write_text("number: x\n")
    assert project.edition() == tmp_path / "edition.yaml"
    with pytest.raises(ResourceError, match=r"nothing\.md: the report's content has no such"):
        project.find("text/sv/nothing.md")


@pytest.mark.render
def test_a_project_renders_its_own_files_and_the_package_s_for_what_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Edited prose, an edited label, its edition and its own county; in English, the
    prose and glossary files removed from the project come from the package."""
    project = _new(tmp_path / "project", capsys)
    summary = project / "text" / "sv" / "summary.md"
    _edit(summary, "# Sammanfattning\n", f"# Sammanfattning\n\n{SUMMARY_SV}\n")
    _edit(project / "glossary" / "sv.yaml", "  T2: Fördelning mellan", f"  T2: {TITLE_T2_SV}. X")
    _edit(project / "edition.yaml", 'number: "2010:12"', 'number: "2013:9"')
    (project / "study.yaml").write_text(SETTINGS, encoding="utf-8")
    (project / "text" / "en" / "foreword.md").unlink()
    (project / "glossary" / "en.yaml").unlink()
    data = _register_with_new_county(tmp_path / "register.csv")
    out = tmp_path / "out"
    argv = ["render", str(data), "--out", str(out), "--project", str(project)]
    assert main([*argv, "--format", "html"]) == 0
    printed = capsys.readouterr()
    assert f"report project: {project}" in printed.err

    sv, en = _text(out / "sv" / "report.html"), _text(out / "en" / "report.html")
    assert SUMMARY_SV.replace("{{ lang }}", "sv") in sv
    assert f"{TITLE_T2_SV}. X" in sv and "2013:9" in sv  # 2010:12 is in the references
    assert _plain_sentence(CONTENT / "text" / "sv" / "introduction.md") in sv
    assert _plain_sentence(CONTENT / "text" / "en" / "foreword.md") in en
    assert Glossary.load(CONTENT / "glossary", "en")["tables.T2"] in en
    assert NEW_COUNTY["sv"] in sv and NEW_COUNTY["en"] in en
    assert "2013:9" in en


def test_the_study_s_county_validates_in_its_project_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run inside the project folder, the settings apply without --project; elsewhere the
    code is refused, and ``rehabstats dictionary`` of the project lists it."""
    project = _new(tmp_path / "project", capsys)
    (project / "study.yaml").write_text(SETTINGS, encoding="utf-8")
    data = _register_with_new_county(tmp_path / "register.csv")
    monkeypatch.chdir(project)
    assert main(["validate", str(data)]) == 0
    assert f"report project: {project}" in capsys.readouterr().err
    assert main(["dictionary"]) == 0
    page = capsys.readouterr().out
    row = f"| `sjuharad` *study* | {NEW_COUNTY['sv']} | {NEW_COUNTY['en']} | 91 |"
    assert row in page.replace("\\(", "(").replace("\\)", ")")
    assert "the study settings `study.yaml`" in page

    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(data)]) == 2
    printed = capsys.readouterr()
    assert "report project" not in printed.err
    assert "county: unknown category" in printed.out and "'91' (461 rows" in printed.out
    assert main(["dictionary"]) == 0 and "sjuharad" not in capsys.readouterr().out


BAD_SETTINGS = {
    "unknown column": (
        "categories:\n  region: {north: {sv: Norr, en: North}}\n",
        "categories.region: unknown column; codes can be added to sex,",
    ),
    "not a category": (
        "categories:\n  age: {old: {sv: Gammal, en: Old}}\n",
        "categories.age: age is not a category column (it holds integer values)",
    ),
    "the study groups": (
        "categories:\n  arm: {third: {sv: Tredje, en: Third}}\n",
        "categories.arm: its codes make the study groups",
    ),
    "missing label": (
        "categories:\n  county:\n    north: {sv: Norr}\n",
        "categories.county.north: no English label (en)",
    ),
    "a code of the contract": (
        "categories:\n  county:\n    dalarna: {sv: Dalarna, en: Dalarna}\n",
        "categories.county.dalarna: the code is in the contract already (Dalarna)",
    ),
    "a code given twice": (
        "categories:\n  county:\n    north: {sv: Norr, en: North}\n    north: {sv: N, en: N}\n",
        "line 4: 'north' is given twice; give each key once",
    ),
    "a spelling of another code": (
        "categories:\n  county:\n    north: {sv: Norr, en: North, accept: ['25']}\n",
        "categories.county.north: '25' already means norrbotten",
    ),
    "a code that is no name": (
        "categories:\n  county:\n    North Unit: {sv: Norr, en: North}\n",
        "categories.county.North Unit: a code is lower-case letters, digits and _ only",
    ),
    "an unknown key": ("county: {north: {sv: Norr, en: North}}\n", "county: unknown key"),
}


@pytest.mark.parametrize("settings, message", BAD_SETTINGS.values(), ids=BAD_SETTINGS)
def test_bad_study_settings_are_refused_naming_the_file_and_the_key(
    settings: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "study.yaml").write_text(settings, encoding="utf-8")
    with pytest.raises(StudySettingsError) as raised:
        load_dictionary(study=tmp_path / "study.yaml")
    assert len(raised.value.problems) == 1 and message in raised.value.problems[0]
    argv = ["validate", str(DEFAULT_DATA), "--project", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: the study settings cannot be used (1 problem(s))" in err
    assert f"{tmp_path / 'study.yaml'}: {message}" in err


@pytest.mark.render
def test_by_renders_each_part_from_the_project(
    small_register: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--by county`` in a project: each part's report has the project's prose, and the
    index page labels the study's own county in both languages."""
    project = _new(tmp_path / "project", capsys)
    (project / "study.yaml").write_text(SETTINGS, encoding="utf-8")
    summary = project / "text" / "en" / "summary.md"
    _edit(summary, "# Summary\n", f"# Summary\n\n{SUMMARY_EN}\n")
    frame = small_register[small_register["county"].isin(["stockholm", "dalarna"])].copy()
    frame["county"] = frame["county"].astype(str).replace({"stockholm": "91"})
    dalarna = frame["county"] == "dalarna"
    frame.loc[dalarna & frame["declined"].fillna(False).astype(bool), "declined"] = False
    data = tmp_path / "register.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    argv = ["render", str(data), "--out", str(out), "--by", "county", "--project", str(project)]
    assert main([*argv, "--format", "html", "--workers", "1"]) == 2  # Dalarna: nobody declined
    assert f"sjuharad: {out / 'sjuharad'}" in capsys.readouterr().out.splitlines()
    assert SUMMARY_EN in _text(out / "sjuharad" / "en" / "report.html")
    assert NEW_COUNTY["en"] in _text(out / "sjuharad" / "en" / "report.html")
    index = _text(out / "index.html")
    assert NEW_COUNTY["sv"] in index and NEW_COUNTY["en"] in index


def test_a_project_that_is_no_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(DEFAULT_DATA), "--project", str(tmp_path / "nowhere")]) == 2
    assert f"--project {tmp_path / 'nowhere'}: no such folder" in capsys.readouterr().err
