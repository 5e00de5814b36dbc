"""The public face of the package: ``import rehabstats as rs`` and its errors.

What a script uses is at the top level and works from the repository's root; every
error rehabstats raises for a problem a user can fix is a RehabstatsError, which the
command turns into a message and an exit status; anything else (a bug) is not caught.
"""

from __future__ import annotations

import doctest
import inspect
import pkgutil
import tempfile
from importlib import import_module
from pathlib import Path

import pytest

import rehabstats as rs
import rehabstats.reporting.results
from rehabstats.cli import main
from rehabstats.data.contract import Problem, ValidationReport
from rehabstats.data.population import AccountingError
from rehabstats.reporting.export import write_json
from tests.conftest import DEFAULT_DATA, ROOT

# Raised only when rehabstats itself is wrong: never caught by the command.
INTERNAL = {AccountingError}


def _package_exceptions() -> set[type[BaseException]]:
    """Every exception class defined in a module of the package."""
    found = set()
    for module in pkgutil.walk_packages(rehabstats.__path__, prefix="rehabstats."):
        if module.name == "rehabstats.__main__":  # importing it runs the command
            continue
        namespace = import_module(module.name)
        for _, value in inspect.getmembers(namespace, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("rehabstats."):
                found.add(value)
    return found


def test_analyse_from_the_repository_root_is_the_module_s(
    default_results, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    results = rs.analyse("data/register.csv")
    assert isinstance(results, rs.Results)
    assert results.dataset == default_results.dataset
    ours, theirs = tmp_path / "ours.json", tmp_path / "theirs.json"
    write_json(results, ours)
    write_json(default_results, theirs)
    assert ours.read_bytes() == theirs.read_bytes()


def test_every_public_name_resolves_to_its_module_s() -> None:
    for name in rs.__all__:
        value = getattr(rs, name)
        if name != "__version__":
            home = import_module(rs._HOMES[name])
            assert value is getattr(home, name), name
    assert set(rs.__all__) <= set(dir(rs))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        rs.nothing  # noqa: B018


def test_the_facade_names_what_a_script_uses() -> None:
    steps = {"load", "validate", "analyse", "protect", "render_report", "write_exports"}
    assert steps | {"Results", "RehabstatsError"} <= set(rs.__all__)


def test_every_error_rehabstats_raises_on_purpose_is_a_rehabstats_error() -> None:
    exported = {getattr(rs, name) for name in rs.__all__ if name.endswith("Error")}
    assert all(issubclass(error, rs.RehabstatsError) for error in exported)
    assert _package_exceptions() - INTERNAL == exported
    assert not any(issubclass(error, rs.RehabstatsError) for error in INTERNAL)


@pytest.mark.parametrize(
    "name", ["load", "validate", "read_dataset", "analyse", "protect", "write_exports", "Results"]
)
def test_the_docstring_examples_work(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where a mkdtemp() goes
    _run_examples(getattr(rs, name))


@pytest.mark.render
def test_the_render_report_example_works(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where its mkdtemp() goes
    _run_examples(rs.render_report)


def _run_examples(function: object) -> None:
    """Run the Examples of a docstring as doctests; each must pass, and there must be one."""
    tests = [t for t in doctest.DocTestFinder().find(function, globs={}) if t.examples]
    assert tests, "no Examples"
    runner = doctest.DocTestRunner()
    for test in tests:
        runner.run(test)
    outcome = runner.summarize(verbose=False)
    assert not outcome.failed, f"{outcome} (the output is above)"


# --- the command --------------------------------------------------------------------------

REPORT = ValidationReport(7, (Problem("county", "unknown category", 1, ("C1",)),))
REFUSALS = [
    (rs.ContractError(REPORT), 2, str(REPORT)),
    (rs.EmptyGroupsError(REPORT, ("declined",)), 2, str(REPORT)),
    (rs.DataFileError("x.csv: the file is empty"), 2, "error: x.csv: the file is empty"),
    (rs.ResourceError("sv.yaml: missing"), 2, "error: sv.yaml: missing"),
    (rs.OptionError("unknown language 'de'"), 2, "error: unknown language 'de'"),
    (rs.RenderError("typst failed"), 1, "error: typst failed"),
]


def _tables_raising(error: Exception, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """The exit status of ``rehabstats tables`` whose analysis raises ``error``."""

    def analyse(_: object) -> None:
        raise error

    monkeypatch.setattr(rehabstats.reporting.results, "analyse", analyse)
    return main(["tables", str(DEFAULT_DATA), "--out", str(tmp_path / "out")])


@pytest.mark.parametrize(("error", "status", "message"), REFUSALS)
def test_the_command_turns_a_rehabstats_error_into_a_message_and_status(
    error: Exception,
    status: int,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _tables_raising(error, monkeypatch, tmp_path) == status
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == message + "\n"


@pytest.mark.parametrize("bug", [ValueError("a bug"), KeyError("a bug"), RuntimeError("a bug")])
def test_the_command_does_not_swallow_a_bug(
    bug: Exception, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Any other exception, a ValueError too, propagates: the traceback shows the bug."""
    with pytest.raises(type(bug), match="a bug"):
        _tables_raising(bug, monkeypatch, tmp_path)
