"""Reading a register extract from any of the formats analysts hand over.

``load`` only reads: it returns the file's table with the contract's column names and
leaves every judgement about the values to :mod:`rehabstats.validation`. Text formats
come back as text cells; typed formats (Parquet, Stata, SPSS, SAS, Excel dates) keep
their types so that a large columnar file is not turned into strings and back.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from rehabstats.dictionary import load_dictionary

TEXT_ENCODINGS = ("utf-8-sig", "cp1252")
DELIMITERS = (",", ";", "\t")


class DataFileError(Exception):
    """The file cannot be read as a table at all (missing, empty, binary, unknown format)."""


def _sniff_delimiter(first_line: str) -> str:
    """The delimiter that splits the header line into the most fields."""
    return max(DELIMITERS, key=first_line.count)


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """Decode a text file as UTF-8, or as Windows-1252 as Swedish exports often are."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataFileError(f"{path.name}: the text is UTF-16; save it as UTF-8 or Windows-1252")
    if b"\x00" in data[:8192]:
        raise DataFileError(f"{path.name}: not a text file (it contains binary data)")
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise DataFileError(f"{path.name}: the text is neither UTF-8 nor Windows-1252")


def _read_csv(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    text, encoding = _decode(data, path)
    if not text.strip():
        raise DataFileError(f"{path.name}: the file is empty")
    # The first line ends at the first "\n" at the latest: split only that much.
    header = (text.partition("\n")[0].splitlines() or [""])[0]
    delimiter = _sniff_delimiter(header)
    if delimiter not in header:
        raise DataFileError(
            f"{path.name}: the header has no comma, semicolon or tab between the columns"
        )
    try:
        return pd.read_csv(
            path,
            sep=delimiter,
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, csv.Error) as error:
        message = f"{path.name}: not a readable {delimiter!r}-separated file: {error}"
        raise DataFileError(message) from error


# pyreadstat is imported only by the readers that need it: it takes 0.2 s to import,
# and most extracts arrive as CSV or Parquet.


def _read_spss(path: Path) -> pd.DataFrame:
    """SPSS, with the file's value labels applied."""
    import pyreadstat

    frame, _ = pyreadstat.read_sav(path, apply_value_formats=True)
    return frame


def _read_sas(path: Path) -> pd.DataFrame:
    """SAS data sets, with the file's value labels applied."""
    import pyreadstat

    frame, _ = pyreadstat.read_sas7bdat(path, apply_value_formats=True)
    return frame


def _read_xport(path: Path) -> pd.DataFrame:
    """SAS transport files carry no value labels: read them as they are."""
    import pyreadstat

    frame, _ = pyreadstat.read_xport(path)
    return frame


def _read_stata(path: Path) -> pd.DataFrame:
    return pd.read_stata(path, convert_categoricals=True)


READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    ".csv": _read_csv,
    ".txt": _read_csv,
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
    ".xlsx": pd.read_excel,
    ".xls": pd.read_excel,
    ".dta": _read_stata,
    ".sas7bdat": _read_sas,
    ".xpt": _read_xport,
    ".sav": _read_spss,
    ".zsav": _read_spss,
}


def _contract_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename headers written as the contract's name or its Swedish or English label."""
    aliases = load_dictionary().header_aliases
    return frame.rename(columns=lambda c: aliases.get(str(c).strip().lower(), str(c).strip()))


def _typed_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn labelled categoricals and whole floats from statistics packages into text codes.

    Stata and SPSS store codes as numbers (``1.0``) or as value labels; the dictionary
    matches text, so both become their text form. Dates and booleans keep their type.
    """
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = column.astype("string")
        elif pd.api.types.is_float_dtype(column) and (column.dropna() % 1 == 0).all():
            out[name] = column.astype("Int64").astype("string")
    return out


def load(path: str | Path) -> pd.DataFrame:
    """Read a register extract (CSV, Parquet, Excel, Stata, SAS or SPSS) into a frame.

    Column headers are mapped onto the contract's names; nothing is dropped, filtered
    or judged here. Raises :class:`DataFileError` when there is no table to read.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataFileError(f"{path.name}: the file is empty (0 bytes)")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise DataFileError(f"{path.name}: unknown file format {path.suffix!r} (known: {known})")
    try:
        frame = reader(path)
    except DataFileError:
        raise
    except Exception as error:  # each reader fails in its own way on a damaged file
        raise DataFileError(f"{path.name}: cannot be read as {path.suffix} ({error})") from error
    return _typed_text(_contract_names(frame))
