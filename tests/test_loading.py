"""Loading: every format an analyst may hand over gives the same typed data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
import yaml

from rehabstats._yamlfile import read_yaml
from rehabstats.data import loading
from rehabstats.data.validation import read_dataset


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The register extract as a statistics package would store it: text and dates."""
    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_bool_dtype(out[name]) or out[name].dtype == object:
            out[name] = out[name].map({True: "yes", False: "no"}).fillna(out[name]).astype(object)
    return out.astype({c: str for c in out.columns if out[c].dtype == object}).replace(
        {"<NA>": "", "nan": "", "None": ""}
    )


@pytest.fixture(scope="module")
def expected(small_register: pd.DataFrame, tmp_path_factory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("csv") / "register.csv"
    from rehabstats.data.loading import write_csv

    write_csv(small_register, path)
    return read_dataset(path)


def _write(fmt: str, frame: pd.DataFrame, directory: Path) -> Path:
    text = _as_text(frame)
    path = directory / f"register.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(path)
    elif fmt == "xlsx":
        text.to_excel(path, index=False)
    elif fmt == "dta":
        dates = [c for c in text.columns if c.endswith("_date")]
        text.to_stata(path, write_index=False, convert_dates=dict.fromkeys(dates, "td"))
    elif fmt == "sav":
        pyreadstat.write_sav(text, path)
    elif fmt == "xpt":
        pyreadstat.write_xport(text, path, file_format_version=8)
    return path


@pytest.mark.parametrize("fmt", ["parquet", "xlsx", "dta", "sav", "xpt"])
def test_each_format_reads_to_the_same_data(
    fmt: str, small_register: pd.DataFrame, expected: pd.DataFrame, tmp_path: Path
) -> None:
    typed = read_dataset(_write(fmt, small_register, tmp_path))
    pd.testing.assert_frame_equal(typed, expected, check_dtype=False)


def test_semicolon_and_windows_1252_are_read(small_csv: Path, expected, tmp_path: Path) -> None:
    text = small_csv.read_text(encoding="utf-8").replace(",", ";")
    text = text.replace("vastra_gotaland", "Västra Götaland")
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("cp1252"))
    pd.testing.assert_frame_equal(read_dataset(path), expected)


def test_headers_may_be_swedish_labels(small_csv: Path, expected, tmp_path: Path) -> None:
    frame = pd.read_csv(small_csv, dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"county": "Län", "sex": "Kön", "age": "Ålder"})
    path = tmp_path / "sv.csv"
    frame.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_dataset(path), expected)


def test_a_csv_is_read_and_written_without_importing_pyreadstat(small_csv: Path) -> None:
    """pyreadstat (0.2 s to import) is loaded only for SPSS and SAS files."""
    script = (
        "import sys\n"
        "from rehabstats.data.loading import load, save\n"
        f"save(load({str(small_csv)!r}), {str(small_csv.with_name('copy.csv'))!r})\n"
        "print('pyreadstat' in sys.modules)\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "False"


def test_a_failed_write_leaves_the_older_file_and_nothing_else(
    small_register: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is written beside the target and renamed into place only when complete."""
    target = tmp_path / "register.csv"
    target.write_text("older\n", encoding="utf-8")

    def fail_halfway(frame: pd.DataFrame, path: Path) -> None:
        path.write_text("case_id,person_id\nC0000001,", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setitem(loading.WRITERS, ".csv", fail_halfway)
    with pytest.raises(OSError, match="disk full"):
        loading.save(small_register, target)
    assert target.read_text(encoding="utf-8") == "older\n"
    assert list(tmp_path.iterdir()) == [target]


def test_project_yaml_files_read_as_pyyaml_reads_them() -> None:
    """The C parser gives what PyYAML's own safe loader gives, for every shipped file."""
    root = Path(__file__).resolve().parents[1]
    files = [
        *root.glob("rehabstats/*.yaml"),
        *root.glob("rehabstats/data/scenarios/*.yaml"),
        *root.glob("reports/**/*.yaml"),
    ]
    assert len(files) >= 5
    for path in files:
        assert read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path.name
