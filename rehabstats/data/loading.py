"""Reading a register extract from any of the formats analysts hand over, and writing one.

``load`` only reads: it returns the file's table with the contract's column names and
leaves every judgement about the values to :mod:`rehabstats.data.validation`. Text formats
come back as text cells; typed formats (Parquet, Stata, SPSS, SAS, Excel dates) keep
their types so that a large columnar file is not turned into strings and back. A Parquet
file's text is held compactly, as a national register needs: a column of few distinct
values as a categorical (a byte per cell and each distinct text once), the others in
Arrow's string arrays (a few bytes per cell, not a Python string).

``save`` writes an extract (``rehabstats synth``) in the format its file's extension
names, always one that ``load`` reads back: the writers sit beside the readers, so the
formats are listed in one place.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from rehabstats.data.dictionary import load_dictionary
from rehabstats.errors import DataFileError

TEXT_ENCODINGS = ("utf-8-sig", "cp1252")
DELIMITERS = (",", ";", "\t")
# Text cells as Arrow holds them: offsets and bytes, not a Python object per cell.
TEXT = pd.StringDtype("pyarrow")


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


def _read_parquet(path: Path) -> pd.DataFrame:
    """Parquet, its text columns compact: a column with at most half as many distinct
    values as rows (a code, a category) as a categorical, the others (ids) as Arrow text.

    The file's text is read as Arrow dictionaries (each distinct value once per block of
    rows, a code per row); those with many distinct values are turned back into plain
    Arrow text, which for unique ids is smaller than a dictionary of all of them.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = (pa.types.is_string, pa.types.is_large_string)
    text = [f.name for f in pq.read_schema(path) if any(kind(f.type) for kind in kinds)]
    table = pq.read_table(path, read_dictionary=text)
    for name in text:
        column = table.column(name)
        distinct = sum(len(block.dictionary) for block in column.chunks)  # or more
        if 2 * distinct > len(column):
            position = table.schema.get_field_index(name)
            table = table.set_column(position, name, column.cast(pa.string()))
    frame = table.to_pandas(types_mapper={pa.string(): TEXT, pa.large_string(): TEXT}.get)
    del table, column
    release_arrow_memory()
    return frame


def release_arrow_memory() -> None:
    """Give the memory Arrow has freed back to the system.

    Arrow's allocator keeps freed memory for its next arrays: after reading a register
    of 10 million rows and working on its text, some gigabytes that no array uses.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    ".csv": _read_csv,
    ".txt": _read_csv,
    ".parquet": _read_parquet,
    ".pq": _read_parquet,
    ".xlsx": pd.read_excel,
    ".xls": pd.read_excel,
    ".dta": _read_stata,
    ".sas7bdat": _read_sas,
    ".xpt": _read_xport,
    ".sav": _read_spss,
    ".zsav": _read_spss,
}


def _text_form(frame: pd.DataFrame) -> pd.DataFrame:
    """The extract as a statistics package stores text: booleans as yes/no and missing
    text as empty cells (Stata and SPSS have no missing string); dates keep their type."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_bool_dtype(column):
            out[name] = column.map({True: "yes", False: "no"}).astype(object)
            out.loc[column.isna(), name] = ""
        elif column.dtype == object:
            out[name] = column.fillna("")
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write the extract as deterministic CSV (UTF-8, comma, ISO dates, yes/no, empty for
    missing, LF endings), so the shipped file is reproduced bit for bit."""
    buffer = io.StringIO()
    _text_form(frame).to_csv(buffer, index=False, lineterminator="\n", date_format="%Y-%m-%d")
    Path(path).write_bytes(buffer.getvalue().encode("utf-8"))


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Parquet keeps every type (nullable booleans, dates), so the frame goes in as it is."""
    frame.to_parquet(path, index=False)


def _write_excel(frame: pd.DataFrame, path: Path) -> None:
    """One sheet of text and real dates, shown as ISO dates rather than date-times."""
    with pd.ExcelWriter(path, datetime_format="YYYY-MM-DD") as writer:
        _text_form(frame).to_excel(writer, index=False)


def _write_stata(frame: pd.DataFrame, path: Path) -> None:
    """Stata 14+ (format 118, UTF-8 text), dates as Stata daily dates."""
    text = _text_form(frame)
    dates = [name for name in text.columns if pd.api.types.is_datetime64_any_dtype(text[name])]
    text.to_stata(path, write_index=False, version=118, convert_dates=dict.fromkeys(dates, "td"))


def _write_spss(frame: pd.DataFrame, path: Path) -> None:
    """SPSS, written by pyreadstat (imported here only, as for reading)."""
    import pyreadstat

    pyreadstat.write_sav(_text_form(frame), path)


WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    ".csv": write_csv,
    ".parquet": _write_parquet,
    ".xlsx": _write_excel,
    ".dta": _write_stata,
    ".sav": _write_spss,
}


def writer_for(path: Path) -> Callable[[pd.DataFrame, Path], None]:
    """The writer for the format ``path``'s extension names, so a caller can refuse a
    path before any work; :class:`DataFileError` naming the extensions that work if none."""
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        what = f"unknown file format {path.suffix!r}" if path.suffix else "no file extension"
        raise DataFileError(f"{path}: {what} (known for writing: {', '.join(WRITERS)})")
    return writer


def save(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` to ``path`` in the format its extension names, all or nothing.

    The file is written in a fresh folder beside ``path`` and then renamed into place,
    so a failed or interrupted write leaves no partial file (and an older file intact).
    A file made in the folder gets the permissions the umask gives, as any new file does
    (a temporary file would be private).
    """
    path = Path(path)
    writer = writer_for(path)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        writer(frame, staging / path.name)
        os.replace(staging / path.name, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _contract_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename headers written as the contract's name or its Swedish or English label
    (in place: the frame is the reader's own, and a copy of a register is gigabytes)."""
    aliases = load_dictionary().header_aliases
    frame.columns = [aliases.get(str(c).strip().lower(), str(c).strip()) for c in frame.columns]
    return frame


def _typed_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn labelled categoricals and whole floats from statistics packages into text codes.

    Stata and SPSS store codes as numbers (``1.0``) or as value labels; the dictionary
    matches text, so both become their text form: a categorical's categories (it stays
    a categorical, a code per row), a float column's values. Dates and booleans keep
    their type.
    """
    out = frame.copy(deep=False)  # the columns that change are replaced, not modified
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = _text_categories(column)
        elif pd.api.types.is_float_dtype(column) and (column.dropna() % 1 == 0).all():
            out[name] = column.astype("Int64").astype("string")
    return out


def _text_categories(column: pd.Series) -> pd.Series:
    """A categorical column with its categories as text (each value's ``astype("string")``
    form), or the column as text when two categories have the same text."""
    categories = column.cat.categories.astype("string")
    if categories.has_duplicates or categories.hasnans:
        return column.astype("string")
    return column.cat.rename_categories(categories)


def load(path: str | Path) -> pd.DataFrame:
    """Read a register extract (CSV, Parquet, Excel, Stata, SAS or SPSS) into a frame.

    Column headers are mapped onto the contract's names; nothing is dropped, filtered
    or judged here: that is :func:`rehabstats.validate`'s job.

    Parameters
    ----------
    path : str or Path
        The file. Its extension names the format: ``.csv`` (comma, semicolon or tab;
        UTF-8 or Windows-1252), ``.parquet``, ``.xlsx``, ``.dta``, ``.sas7bdat``,
        ``.sav`` and the others in ``READERS``.

    Returns
    -------
    pandas.DataFrame
        One row per row of the file. Text formats give text cells; typed formats keep
        their types (dates, numbers), with labelled codes turned into text.

    Raises
    ------
    DataFileError
        There is no table to read: no such file, an empty or binary file, an unknown
        extension, a text encoding other than UTF-8 or Windows-1252, no delimiter.

    Examples
    --------
    >>> import rehabstats as rs
    >>> frame = rs.load("data/register.csv")
    >>> frame.shape
    (4188, 25)
    >>> frame["county"].iloc[0]
    'stockholm'
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
