"""The results cache: a data file analysed once for the same code, settings and libraries,
and never a number from a computation that any of them would change."""

from __future__ import annotations

import json
import pickle
import shutil
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import rehabstats
from rehabstats.engine import cache
from rehabstats.engine.cache import cached_analyse, results_key
from rehabstats.engine.pipeline import render_report
from rehabstats.reporting.export import tables_document
from rehabstats.reporting.results import Results, analyse, file_sha256


class Counting:
    """A computation of results (:func:`rehabstats.analyse` itself unless told), counting
    its calls."""

    def __init__(self, compute: Callable[[Path], Results] = analyse) -> None:
        self.compute, self.calls = compute, 0

    def __call__(self, path: Path) -> Results:
        self.calls += 1
        return self.compute(path)


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("REHABSTATS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def data(small_csv) -> Path:
    """A small register (conftest): analysed in a fraction of the default data's time."""
    return small_csv


def test_the_same_file_is_analysed_once_and_gives_the_same_results(folder, data) -> None:
    counting = Counting()
    first = cached_analyse(data, analyse_file=counting)
    again = cached_analyse(data, analyse_file=counting)
    assert counting.calls == 1
    assert tables_document(again) == tables_document(first) == tables_document(analyse(data))
    assert pickle.dumps(again.dataset) == pickle.dumps(first.dataset)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700, "private to the user"
    assert not list(folder.glob("*.partial"))


def test_a_changed_data_file_is_analysed_again(folder, data) -> None:
    counting = Counting()
    cached_analyse(data, analyse_file=counting)
    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    frame.iloc[:-1].to_csv(data, index=False)
    fewer = cached_analyse(data, analyse_file=counting)
    assert counting.calls == 2
    assert fewer.dataset.rows == len(frame) - 1


def test_changed_study_settings_are_a_new_key(data, tmp_path) -> None:
    settings = tmp_path / "study.yaml"
    settings.write_text("categories: {}\n", encoding="utf-8")
    digest = file_sha256(data)
    before = results_key(digest, settings)
    settings.write_text("categories: {county: {}}\n", encoding="utf-8")
    assert results_key(digest, settings) != before != results_key(digest, None)


def test_a_changed_source_file_of_rehabstats_is_a_new_key(data, tmp_path, monkeypatch) -> None:
    """The key reads the installed package's files: a copy of it with one line changed
    gives another key."""
    copy = tmp_path / "rehabstats"
    shutil.copytree(Path(rehabstats.__file__).parent, copy)
    monkeypatch.setattr(rehabstats, "__file__", str(copy / "__init__.py"))
    digest = file_sha256(data)
    before = results_key(digest, None)
    survival = copy / "stats" / "survival.py"
    survival.write_text(survival.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert results_key(digest, None) != before


def test_the_cache_can_be_switched_off(data, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("REHABSTATS_CACHE", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    counting = Counting()
    cached_analyse(data, analyse_file=counting)
    cached_analyse(data, analyse_file=counting)
    assert counting.calls == 2 and cache.cache_folder() is None
    assert not (tmp_path / "xdg").exists()


def test_only_the_most_recent_results_are_kept(folder, data, monkeypatch) -> None:
    """Three files, two kept: the last two, whose results are then found again."""
    monkeypatch.setattr(cache, "KEPT", 2)
    results = analyse(data)  # what each file's computation stands for here
    counting = Counting(lambda _path: results)
    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    for dropped in (1, 2, 3, 2, 3):
        frame.iloc[:-dropped].to_csv(data, index=False)
        cached_analyse(data, analyse_file=counting)
    assert len(list(folder.glob("*.pickle"))) == 2 and counting.calls == 3


def test_render_takes_the_results_from_the_cache(folder, data, tmp_path) -> None:
    """A render of data the cache has shows the cached results: here a stand-in whose
    file name marks it, so that only a read from the cache can put it in the report."""
    marked = analyse(data)
    marked = replace(marked, dataset=replace(marked.dataset, name="from-the-cache.csv"))
    key = cache.results_key(file_sha256(data), None)
    folder.mkdir(mode=0o700)
    marked.save(folder / f"{key}.pickle")
    report = render_report(data, tmp_path / "out", langs=["en"], formats=["html"])
    assert "from-the-cache.csv" in report.documents["en"]["html"].read_text(encoding="utf-8")
    document = json.loads(report.tables_json.read_text(encoding="utf-8"))
    assert document["about"]["data_file"] == "from-the-cache.csv"
