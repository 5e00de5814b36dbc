"""Bad input files: each one is refused with a clear message or accepted with notes.

The corpus in ``tests/data/bad/`` is made by ``tests/data/make_bad.py`` from one small
generated extract (``base.csv``); ``docs/bad-inputs.md`` explains each decision. A file
is either refused (``rehabstats validate`` and ``rehabstats tables`` exit 2 with one line
per problem, no traceback) or accepted (``tables`` exits 0 and the results say what was
left out and why). The rules themselves are tested in ``test_validation.py``; here the
point is what an analyst sees for each realistic kind of damage.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import rehabstats.reporting.results
from rehabstats.cli import main
from rehabstats.data.loading import load
from rehabstats.data.population import derive_cohort
from rehabstats.data.validation import validate
from rehabstats.reporting.results import Results
from tests.conftest import ROOT

BAD = ROOT / "tests" / "data" / "bad"
MAKE_BAD = ROOT / "tests" / "data" / "make_bad.py"
DOCS = ROOT / "docs" / "bad-inputs.md"
BASE = BAD / "base.csv"
N_BASE = 200


def _cli(*args: str | Path) -> tuple[int, str]:
    """Run ``rehabstats ARGS`` in this process: exit status and everything it printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in args])
    return status, out.getvalue() + err.getvalue()


def _lines(text: str, start: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(start)]


@dataclass(frozen=True)
class TablesRun:
    """What ``rehabstats tables FILE`` did, and the results it computed on the way."""

    status: int
    output: str
    results: Results | None
    tables: dict | None


def _tables(path: Path, out: Path) -> TablesRun:
    """Run ``rehabstats tables`` and keep the :class:`Results` it wrote (one computation)."""
    kept: list[Results] = []
    analyse = rehabstats.reporting.results.analyse

    def keep(data: Path) -> Results:
        kept.append(analyse(data))
        return kept[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rehabstats.reporting.results, "analyse", keep)
        status, output = _cli("tables", path, "--out", out)
    written = out / "tables.json"
    tables = json.loads(written.read_text(encoding="utf-8")) if written.exists() else None
    return TablesRun(status, output, kept[0] if kept else None, tables)


@pytest.fixture(scope="module")
def run_tables(tmp_path_factory) -> Callable[[str], TablesRun]:
    """``rehabstats tables`` on a corpus file, computed once per module."""
    cache: dict[str, TablesRun] = {}

    def run(name: str) -> TablesRun:
        if name not in cache:
            cache[name] = _tables(BAD / name, tmp_path_factory.mktemp("tables"))
        return cache[name]

    return run


@pytest.fixture(scope="module")
def base_typed() -> pd.DataFrame:
    report, typed = validate(load(BASE))
    assert report.ok, report
    return typed


# --- the decisions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """Refused: both commands exit 2 with this line and no traceback, and write nothing.

    ``column`` None means the file cannot be read at all (``error: FILE: rule``);
    otherwise the line is ``problem  column: rule — count rows (e.g. examples)``, or for
    a rule about a cell's value ``problem  column: rule — count rows, k distinct values:
    'value' (n rows, e.g. case ids), …``.
    ``problems`` is how many problem lines there are (None: not checked here); a file
    that cannot be read gets its one ``error:`` line and nothing else.
    """

    column: str | None
    rule: str
    count: int | None = None
    examples: tuple[str, ...] = ()
    problems: int | None = 1
    also: tuple[str, ...] = ()

    def line(self, name: str, output: str) -> str:
        start = f"error: {name}: " if self.column is None else f"problem  {self.column}: "
        matches = [line for line in _lines(output, start) if self.rule in line]
        assert matches, f"no line starting {start!r} with {self.rule!r} in:\n{output}"
        return matches[0]

    def verify(self, name: str, run_tables, base_typed) -> None:
        tables = run_tables(name)
        for status, output in (_cli("validate", BAD / name), (tables.status, tables.output)):
            assert status == 2, output
            assert "Traceback" not in output
            line = self.line(name, output)
            if self.count is not None:
                rows = "row" if self.count == 1 else "rows"
                assert f"— {self.count} {rows}" in line, line
            for example in self.examples:
                assert example in line, line
            for text in self.also:
                assert text in output, output
            if self.column is None:  # one line, and nothing else
                assert output.strip() == line, output
            elif self.problems is not None:
                assert len(_lines(output, "problem ")) == self.problems, output
        assert tables.tables is None  # nothing is written for data that are refused


@dataclass(frozen=True)
class SameAsBase:
    """Accepted, and read into exactly the values of ``base.csv``: every table is the base's."""

    def verify(self, name: str, run_tables, base_typed) -> None:
        status, output = _cli("validate", BAD / name)
        assert status == 0, output
        assert "the data follow the contract" in output
        assert "problem" not in output and "note" not in output
        report, typed = validate(load(BAD / name))
        assert report.ok and not report.notes
        pd.testing.assert_frame_equal(typed, base_typed)


@dataclass(frozen=True)
class Accepted:
    """Accepted with notes: ``tables`` exits 0 and ``check`` looks at what the results say."""

    check: Callable[[Results, dict], None]

    def verify(self, name: str, run_tables, base_typed) -> None:
        status, output = _cli("validate", BAD / name)
        assert status == 0, output
        assert "Population flow" in output
        analysed = run_tables(name)
        assert analysed.status == 0, analysed.output
        assert "Traceback" not in analysed.output
        assert analysed.results is not None and analysed.tables is not None
        self.check(analysed.results, analysed.tables)


def _flow(results: Results) -> dict[str, int]:
    return dict(results.flow[["step", "n"]].itertuples(index=False))


def _base_flow() -> dict[str, int]:
    cohort = derive_cohort(validate(load(BASE))[1])
    return dict(cohort.flow()[["step", "n"]].itertuples(index=False))


def _extra_column(results: Results, tables: dict) -> None:
    assert results.dataset.notes == ("kommentar: not in the data dictionary; ignored",)
    assert _flow(results) == _base_flow()


def _person_in_both_arms(results: Results, tables: dict) -> None:
    """The first randomisation (control) is kept; the later one (actor) is a duplicate."""
    base = _base_flow()
    flow = _flow(results)
    assert flow["cases_in_register"] == base["cases_in_register"]
    assert flow["duplicates"] == base["duplicates"] + 1
    assert flow["studied"] == base["studied"] - 1
    typed = validate(load(BAD / "person_in_both_arms.csv"))[1]
    base = validate(load(BASE))[1]
    (second,) = typed.index[typed["person_id"].ne(base["person_id"])]
    pair = typed.loc[typed["person_id"].eq(typed.at[second, "person_id"])]
    pair = pair.sort_values("randomisation_date")
    assert list(pair["arm"]) == ["control", "actor"] and pair.index[1] == second
    cohort = derive_cohort(typed)
    assert list(cohort.buckets[pair.index]) == ["studied", "duplicate"]
    assert cohort.cases.loc[pair.index[0], "group"] == "control"


def _no_event(results: Results, event: str) -> None:
    """An event nobody had: share 0 in every group, no days, no test, no model."""
    table = results.events[event].table
    assert (table["events"] == 0).all() and (table["share_pct"] == 0).all()
    assert table["mean_days"].isna().all() and table["median_days"].isna().all()
    assert (table["n"] > 0).all()
    assert (
        results.events[event].logrank.overall.problem
        == f"no {event} events among the compared groups"
    )


def _not_fitted(results: Results, key: str, problem: str) -> None:
    model = results.cox[key]
    assert not model.converged and model.problem == problem, (key, model.problem)
    assert model.table["hazard_ratio"].isna().all()
    assert model.events == 0


def _no_measure_for_anyone(results: Results, tables: dict) -> None:
    _no_event(results, "measure")
    for key in ("B5", "B6", "T7"):
        _not_fitted(results, key, "no events in the sample")
    for key in ("B3", "B4"):  # meeting and plan are still there to model
        assert results.cox[key].converged, results.cox[key].problem
    assert pd.isna(results.timeline["first_measure_start"])
    # a share is 0 wherever its group's n is printed (disclosure control may hide a
    # group's n, and its share with it, to protect a small count in another table)
    shown = [row for row in tables["T6"] if row["n"] is not None]
    assert {row["share_pct"] for row in shown} == {0.0} and len(shown) >= 3


def _everyone_censored(results: Results, tables: dict) -> None:
    for event in ("meeting", "plan", "measure"):
        _no_event(results, event)
    for key in ("B3", "B4", "B5", "B6", "T7"):
        _not_fitted(results, key, "no events in the sample")
    assert _flow(results) == _base_flow()


def _counties(results: Results, tables: dict) -> list[str]:
    """The counties every county table and model lists (the same in each), in order."""
    listed = [
        [c for c in table["category"] if c not in ("total", "n")]
        for table in (results.arm_by_county, results.group_by_county)
    ]
    listed += [
        list(table.loc[table["variable"] == "county", "category"])
        for table in (results.balance_by_arm, results.balance_by_group)
    ]
    listed += [
        list(model.table.loc[model.table["variable"] == "county", "level"])
        for model in results.cox.values()
    ]
    listed.append([row["category"] for row in tables["T2"] if row["category"] != "total"])
    assert all(counties == listed[0] for counties in listed), listed
    return listed[0]


def _no_dalarna(results: Results, tables: dict) -> None:
    """A county missing from the extract is not listed: no empty column, no empty level."""
    assert _counties(results, tables) == ["stockholm", "vastra_gotaland", "vasterbotten"]
    for key in ("B3", "B4", "B5", "B6", "T7"):
        model = results.cox[key]
        assert model.converged, (key, model.problem)
        assert not [note for note in model.notes if "dalarna" in note], model.notes
    assert all(row["n"] > 0 for row in tables["T2"])


def _counties_elsewhere(results: Results, tables: dict) -> None:
    """Skåne, Östergötland and Norrbotten, however written: the tables list those three in
    the dictionary's (SCB's) order; the models, without Stockholm, take Skåne, the largest,
    as county's reference."""
    assert _counties(results, tables) == ["ostergotland", "skane", "norrbotten"]
    base = validate(load(BASE))[1]["county"].value_counts()
    sizes = validate(load(BAD / "counties_elsewhere.csv"))[1]["county"].value_counts()
    assert sizes["skane"] == base["stockholm"]
    assert sizes["ostergotland"] == base["vastra_gotaland"]
    assert sizes["norrbotten"] == base["dalarna"] + base["vasterbotten"]
    assert _flow(results) == _base_flow()
    for key in ("B3", "B4", "B5", "B6", "T7"):
        model = results.cox[key]
        assert model.converged, (key, model.problem)
        assert "county: reference stockholm has no cases; skane used instead" in model.notes
        reference = model.table.loc[model.table["reference"], "term"]
        assert "county:skane" in set(reference), key


def _ten_rows(results: Results, tables: dict) -> None:
    """Ten cases: the tables are made for the counties they have, no Cox model."""
    assert _flow(results)["studied"] == 10
    counties = results.arm_by_county.set_index("category")
    assert (counties["n"] > 0).all() and counties.notna().all().all()
    for key in ("B3", "B4", "B5", "B6", "T7"):
        model = results.cox[key]
        assert not model.converged and model.problem, key
        assert model.table["hazard_ratio"].isna().all()
    assert all(row["hazard_ratio"] is None for row in tables["B3"])
    assert tables["T1"][-1] == {"step": "studied", "n": 10}


EXPECTED: dict[str, Refused | SameAsBase | Accepted] = {
    "delimiter_tab.csv": SameAsBase(),
    "delimiter_pipe.csv": Refused(None, "the header has no comma, semicolon or tab"),
    "encoding_latin1.csv": SameAsBase(),
    "encoding_cp850.csv": Refused(
        "county",
        "unknown category",
        80,
        ("2 distinct values: 'V„stra G”taland' (52 rows", "'V„sterbotten' (28 rows"),
        problems=None,
    ),
    "encoding_utf16.csv": Refused(None, "the text is UTF-16; save it as UTF-8 or Windows-1252"),
    "header_only.csv": Refused("(file)", "the file has no data rows", 0),
    "missing_column.csv": Refused("county", "missing column", N_BASE),
    "extra_column.csv": Accepted(_extra_column),
    "county_alias_stockholms_lan.csv": SameAsBase(),
    "sex_lowercase_kvinna.csv": SameAsBase(),
    "county_misspelt_stokholm.csv": Refused(
        "county",
        "unknown category",
        3,
        ("1 distinct value: 'Stokholm' (3 rows, e.g. C0000002, C0000003, C0000006)",),
    ),
    "county_unknown_values.csv": Refused(
        "county",
        "unknown category",
        43,
        (
            "43 rows, 3 distinct values: 'Gotlands kommun' (40 rows, e.g. C0000002, "
            "C0000003, C0000006), '99' (2 rows, e.g. C0000001, C0000004), "
            "'Atlantis' (1 row, e.g. C0000005)",
        ),
    ),
    "counties_elsewhere.csv": Accepted(_counties_elsewhere),
    "sex_misspelt_kvina.csv": Refused(
        "sex", "unknown category", 2, ("'kvina' (2 rows, e.g. C0000001, C0000002)",)
    ),
    "dates_iso_and_compact.csv": SameAsBase(),
    "dates_mixed_formats.csv": Refused(
        "case_start_date",
        "unparsable date (expected YYYY-MM-DD or YYYYMMDD)",
        39,
        ("36 distinct values: '05/12/2008' (2 rows", "'05/08/2008' (1 row, e.g. C0000005)"),
        problems=None,  # see test_an_unreadable_value_is_not_also_called_empty
    ),
    "event_before_start.csv": Refused(
        "measure_date", "measure dated before the case started", 2, ("C0000001", "C0000002")
    ),
    "followup_before_start.csv": Refused(
        "followup_end_date", "follow-up ends before the case started", 3
    ),
    "age_out_of_range.csv": Refused(
        "age",
        "outside the allowed range 16–67",
        2,
        ("'-3' (1 row, e.g. C0000005), '150' (1 row, e.g. C0000010)",),
    ),
    "duplicate_case_id.csv": Refused("case_id", "duplicate value", 2, ("C0000021",)),
    "person_in_both_arms.csv": Accepted(_person_in_both_arms),
    "no_declined_group.csv": Refused("arm/declined", "group 'declined' has no studied cases", 0),
    "no_measure_for_anyone.csv": Accepted(_no_measure_for_anyone),
    "everyone_censored.csv": Accepted(_everyone_censored),
    "no_dalarna.csv": Accepted(_no_dalarna),
    "ten_rows.csv": Accepted(_ten_rows),
    "empty_0_bytes.csv": Refused(None, "the file is empty (0 bytes)"),
    "binary.csv": Refused(None, "not a text file (it contains binary data)"),
}


@pytest.mark.parametrize("name", EXPECTED)
def test_each_bad_input_gets_its_decided_treatment(name: str, run_tables, base_typed) -> None:
    EXPECTED[name].verify(name, run_tables, base_typed)


def test_the_base_file_is_well_formed(base_typed) -> None:
    assert len(base_typed) == N_BASE


def test_every_corpus_file_has_a_decision_and_a_row_in_the_docs() -> None:
    files = {p.name for p in BAD.iterdir()}
    assert files == {*EXPECTED, BASE.name}
    docs = DOCS.read_text(encoding="utf-8")
    missing = [name for name in EXPECTED if f"`{name}`" not in docs]
    assert not missing, f"not in {DOCS.name}: {missing}"


def test_the_corpus_files_are_small() -> None:
    assert all(p.stat().st_size <= 50_000 for p in BAD.iterdir())


def test_make_bad_reproduces_the_committed_corpus(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_bad", MAKE_BAD)
    assert spec is not None and spec.loader is not None
    make_bad = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_bad)
    make_bad.main(tmp_path)
    made = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in BAD.iterdir()}
    assert sorted(made) == sorted(committed)
    differ = [name for name in made if made[name] != committed[name]]
    assert not differ, f"run tests/data/make_bad.py and review: {differ}"


@pytest.mark.parametrize(
    ("name", "column"),
    [("dates_mixed_formats.csv", "case_start_date"), ("encoding_cp850.csv", "arm")],
)
def test_an_unreadable_value_is_not_also_called_empty(name: str, column: str) -> None:
    report, _ = validate(load(BAD / name))
    rules = [p.rule for p in report.problems if p.column == column]
    assert rules and not [r for r in rules if r.startswith("empty")], rules


# --- the real command, as a user runs it ----------------------------------------------------

SUBPROCESS = {
    ("validate", "binary.csv"): "error: binary.csv: not a text file",
    ("validate", "dates_mixed_formats.csv"): "problem  case_start_date: unparsable date",
    ("tables", "no_declined_group.csv"): "problem  arm/declined: group 'declined' has no",
}


@pytest.fixture(scope="module")
def commands(tmp_path_factory) -> dict[tuple[str, str], subprocess.CompletedProcess]:
    """The representative refusals run as ``python -m rehabstats``, all at once (it is slow
    to start)."""
    out = tmp_path_factory.mktemp("cli")
    running = {}
    for command, name in SUBPROCESS:
        extra = ["--out", str(out / name)] if command == "tables" else []
        args = [sys.executable, "-m", "rehabstats", command, str(BAD / name), *extra]
        running[command, name] = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
    done = {}
    for key, process in running.items():
        stdout, stderr = process.communicate(timeout=120)
        done[key] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done


@pytest.mark.parametrize("key", SUBPROCESS, ids=lambda key: "-".join(key))
def test_the_command_refuses_with_status_2_and_no_traceback(key, commands) -> None:
    result = commands[key]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert SUBPROCESS[key] in result.stdout + result.stderr
