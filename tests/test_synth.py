"""Tests of the synthetic register generator (rehabstats.data.synth) and the shipped dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rehabstats.cli import main
from rehabstats.data import synth
from rehabstats.data.loading import WRITERS, write_csv
from rehabstats.data.population import Cohort, derive_cohort
from rehabstats.data.validation import read_dataset, validate

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "register.csv"
DEFAULT = synth.load_scenario("default")
SEED = DEFAULT["default_seed"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """The default dataset, as shipped."""
    return synth.generate(4188, SEED)


def cohort_of(frame: pd.DataFrame) -> Cohort:
    """The study population of a generated frame, by the package's own rules."""
    report, typed = validate(frame)
    assert report.ok, report
    return derive_cohort(typed)


def event_days(cases: pd.DataFrame, event: str) -> pd.DataFrame:
    """Usable cases for one event: group, whether the event was seen, days."""
    usable = cases[cases[f"{event}_status"].isin(["event", "censored"])]
    return pd.DataFrame(
        {
            "group": usable["group"].astype(str),
            "seen": usable[f"{event}_observed"],
            "days": usable[f"{event}_days"],
        }
    )


def test_same_seed_same_frame() -> None:
    pd.testing.assert_frame_equal(synth.generate(600, 3), synth.generate(600, 3))
    assert not synth.generate(600, 3).equals(synth.generate(600, 4))


def test_write_csv_is_deterministic(tmp_path: Path) -> None:
    data = synth.generate(300, 5)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_csv(data, first)
    write_csv(data, second)
    raw = first.read_bytes()
    assert raw == second.read_bytes()
    assert b"\r" not in raw
    header, row = raw.decode("utf-8").splitlines()[:2]
    assert header.split(",") == list(synth.dictionary()["columns"])
    assert {"yes", "no"} & set(row.split(","))
    assert all(len(v) == 10 for v in row.split(",")[2:3])  # ISO date


def run_synth(out: Path, n: int = 300, seed: int = 5) -> int:
    """``rehabstats synth`` writing a register of n rows to `out`; its exit status."""
    return main(["synth", "--seed", str(seed), "--n", str(n), "--out", str(out)])


def test_shipped_file_is_reproduced_bit_for_bit(tmp_path: Path) -> None:
    """`make data`'s command line writes data/register.csv as shipped."""
    out = tmp_path / "register.csv"
    assert run_synth(out, n=4188, seed=SEED) == 0
    assert out.read_bytes() == SHIPPED.read_bytes()


@pytest.fixture(scope="module")
def small_csv_data(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """A small synthetic register written as CSV and read back, validated."""
    out = tmp_path_factory.mktemp("csv") / "register.csv"
    assert run_synth(out) == 0
    return read_dataset(out)


@pytest.mark.parametrize("extension", list(WRITERS))
def test_synth_writes_the_format_its_extension_names(
    extension: str, small_csv_data: pd.DataFrame, tmp_path: Path
) -> None:
    """Each format is read back by `rehabstats.data.loading` to the CSV's cases and values."""
    out = tmp_path / f"register{extension}"
    assert run_synth(out) == 0
    if extension != ".csv":
        assert not out.read_bytes().startswith(b"case_id,"), "CSV text under another name"
    pd.testing.assert_frame_equal(read_dataset(out), small_csv_data)
    assert [path.name for path in tmp_path.iterdir()] == [out.name]  # no staging left


@pytest.mark.parametrize("name", ["register.txt", "register"])
def test_synth_refuses_an_unknown_extension_before_writing(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / name
    assert run_synth(out) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"error: {out}: ")
    assert "known for writing: .csv, .parquet, .xlsx, .dta, .sav" in line
    assert list(tmp_path.iterdir()) == []  # not even the folder


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--n", "0"], "the number of rows must be 1 or more, not 0"),
        (["--seed", "-1"], "the seed must be 0 or more, not -1"),
        (["--scenario", "nosuch"], "no scenario 'nosuch': use one of default, reversed"),
        (["--scenario", "nosuch.yaml"], "no scenario 'nosuch.yaml'"),
    ],
)
def test_synth_refuses_what_it_cannot_generate_with_a_message(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 and one line saying what to change, not numpy's or the file system's words."""
    out = tmp_path / "register.csv"
    arguments = {"--seed": "5", "--n": "300", "--out": str(out)}
    arguments.update(zip(options[::2], options[1::2], strict=True))
    assert main(["synth", *(part for pair in arguments.items() for part in pair)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {message}")
    assert list(tmp_path.iterdir()) == []


def test_exact_counts(frame: pd.DataFrame) -> None:
    cohort = cohort_of(frame)
    flow = cohort.flow().set_index("step")["n"].to_dict()
    assert flow == {
        "cases_in_register": 4188,
        "not_randomised": 95,
        "randomised_cases": 4093,
        "duplicates": 14,
        "sampling_frame": 4079,
        "not_reviewed": 51,
        "studied": 4028,
    }
    cases = cohort.cases
    assert cases["group"].value_counts().to_dict() == {
        "control": 1954,
        "treatment": 1684,
        "declined": 390,
    }
    cells = pd.crosstab(cases["group"], cases["county"])
    for group, by_county in DEFAULT["cells"].items():
        assert cells.loc[group].to_dict() == by_county


def test_columns_and_codes_follow_the_dictionary(frame: pd.DataFrame) -> None:
    columns = synth.dictionary()["columns"]
    assert list(frame.columns) == list(columns)
    for name, spec in columns.items():
        if spec["type"] == "category":
            assert set(frame[name].dropna()) <= set(map(str, spec["codes"])), name
        elif spec["type"] == "date":
            assert frame[name].dtype == "datetime64[ns]", name
        elif spec["type"] == "boolean":
            assert frame[name].dropna().isin([True, False]).all(), name
        if spec.get("required"):
            assert frame[name].notna().all(), name
    assert frame["case_id"].is_unique
    assert frame["age"].between(16, 67).all()


def test_dates_are_ordered(frame: pd.DataFrame) -> None:
    rand = frame[frame["randomised"]]
    assert (rand["registered_date"] <= rand["randomisation_date"]).all()
    assert (rand["randomisation_date"] <= rand["case_start_date"]).all()
    assert rand["randomisation_date"].between("2008-06-01", "2009-08-31").all()
    assert frame.loc[~frame["randomised"], ["randomisation_date", "arm"]].isna().all().all()
    assert frame.loc[frame["arm"] == "control", "declined"].isna().all()
    reviewed = frame[frame["file_reviewed"]]
    assert (reviewed["followup_end_date"] > reviewed["case_start_date"]).all()
    for event in synth.EVENTS:
        date = reviewed[f"{event}_date"]
        assert (date.dropna() > reviewed.loc[date.notna(), "case_start_date"]).all()
        assert (date.dropna() <= reviewed.loc[date.notna(), "followup_end_date"]).all()
        assert not (date.notna() & ~reviewed[event].astype(bool)).any()
        assert frame.loc[~frame["file_reviewed"], f"{event}_date"].isna().all()
    both = reviewed["meeting_date"].notna() & reviewed["measure_date"].notna()
    assert (reviewed.loc[both, "meeting_date"] <= reviewed.loc[both, "measure_date"]).all()


def test_large_n_keeps_the_shares(frame: pd.DataFrame) -> None:
    small, big = cohort_of(frame), cohort_of(synth.generate(100_000, 1))
    small_flow = small.flow().set_index("step")["n"]
    big_flow = big.flow().set_index("step")["n"]
    for step in ("randomised_cases", "duplicates", "sampling_frame", "studied"):
        assert big_flow[step] / 100_000 == pytest.approx(small_flow[step] / 4188, abs=2e-4), step
    for column in ("group", "county", "sex", "diagnosis"):
        small_share = small.cases[column].value_counts(normalize=True)
        big_share = big.cases[column].value_counts(normalize=True)
        assert (big_share - small_share).abs().max() < 0.001, column
    for event in synth.EVENTS:
        small_seen = event_days(small.cases, event)["seen"].mean()
        assert abs(small_seen - event_days(big.cases, event)["seen"].mean()) < 0.02, event


def test_reversed_scenario_flips_the_treatment_effect() -> None:
    cases = cohort_of(synth.generate(4188, 1, "reversed")).cases
    assert synth.load_scenario("reversed")["population"] == DEFAULT["population"]
    for event in synth.EVENTS:
        table = event_days(cases, event)
        seen = table[table["seen"]].groupby("group")["days"].mean()
        share = table.groupby("group")["seen"].mean()
        assert seen["treatment"] > seen["control"], event
        assert share["treatment"] < share["control"], event


def test_largest_remainder_is_exact() -> None:
    counts = synth.largest_remainder(4188, [DEFAULT["population"][k] for k in synth.KINDS])
    assert counts.tolist() == [4028, 51, 14, 95]
    assert synth.largest_remainder(7, [1, 1, 1]).sum() == 7


def test_stratified_draws_fill_every_slice_of_every_stratum() -> None:
    rng = np.random.default_rng(0)
    strata = rng.integers(0, 5, 1000)
    u = synth._stratified(rng, strata)
    for value in range(5):
        draws = np.sort(u[strata == value])
        slices = np.floor(draws * len(draws))
        assert slices.tolist() == list(range(len(draws))), value


def test_systematic_sampling_keeps_each_probability_and_the_counts() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(300)
    strata, key = np.repeat([0, 1, 2], 100), rng.random(300)
    draws = np.array([synth._systematic(rng, p, strata, key) for _ in range(4000)])
    assert np.abs(draws.mean(axis=0) - p).max() < 0.04
    by_key = np.argsort(key[:100])  # any run of rows in key order: within one of expected
    runs = np.cumsum(draws[:, by_key], axis=1) - np.cumsum(p[:100][by_key])
    assert np.abs(runs).max() < 1 + 1e-9


def test_reversed_scenario_is_default_with_the_handling_swapped() -> None:
    reversed_ = synth.load_scenario("reversed")
    for key in set(DEFAULT) | set(reversed_):
        if key not in (*synth.HANDLING, "name", "description"):
            assert reversed_[key] == DEFAULT[key], key
    swapped = {"control": "treatment", "treatment": "control", "declined": "declined"}

    def check(ours: object, default: object) -> None:
        if isinstance(default, dict) and set(default) == set(swapped):
            assert ours == {g: default[swapped[g]] for g in swapped}
        elif isinstance(default, dict):
            assert set(ours) == set(default)
            for name in default:
                check(ours[name], default[name])
        else:
            assert ours == default

    for key in synth.HANDLING:
        check(reversed_[key], DEFAULT[key])
    assert reversed_["meeting"]["median"]["control"] != DEFAULT["meeting"]["median"]["control"]
