"""The machine-readable export: ``tables.json`` (unrounded) and ``tables.xlsx`` (for people).

The shape of ``tables.json`` is an interface (documented in ``docs/tables-json.md``):
top-level keys ``T1``…``T7``, ``B1``…``B6``, ``D1``…``D3``, ``ITT`` (the randomised
comparison), ``TV_B5``, ``TV_B6`` and ``TV_T7`` (B5, B6 and Tabell 7 with time-varying
meeting and plan),
each a list of row objects with the group codes ``control``, ``treatment``,
``declined``, ``treatment_arm``, ``total``. Numbers are not rounded, except that the
percentages of protected results are as the documents print them
(:func:`~rehabstats.stats.disclosure.as_printed`); missing numbers are ``null``.
Before them, ``about`` records the file itself (edition, data file, rehabstats version),
so that the next edition can compare with it; after them, with ``--previous``,
``comparison`` holds that comparison (:mod:`rehabstats.reporting.comparison`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import zipfile
from importlib import metadata
from pathlib import Path

import pandas as pd

from rehabstats.reporting.clock import run_time
from rehabstats.reporting.results import Results
from rehabstats.stats.disclosure import as_printed

EDITION_KEYS = ("series", "number", "date")  # what ``about`` keeps of the edition
# A workbook's dates in its document properties (docProps/core.xml), as openpyxl writes them.
CORE_DATES = re.compile(r"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")
ZIP_EPOCH = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)  # the first time a zip file can hold


def export_tables(results: Results) -> dict[str, pd.DataFrame]:
    """The figures of every table and diagram the report has, keyed and ordered as in
    ``tables.json`` (its :mod:`~rehabstats.reporting.specification`); of protected
    results only what the documents print (:func:`as_printed`)."""
    tables = {}
    for exhibit in results.specification:
        if exhibit.data is None or not exhibit.present(results):
            continue
        frame = exhibit.figures(results)
        if results.min_count > 1:
            frame = as_printed(frame, exhibit.percent_columns)
        tables[exhibit.key] = frame
    return tables


def _plain(value: object) -> object:
    """A JSON value: numpy scalars as Python numbers, NaN as null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    columns = list(frame.columns)
    return [
        {c: _plain(v) for c, v in zip(columns, row, strict=True)}
        for row in frame.astype(object).itertuples(index=False)
    ]


def tables_document(results: Results) -> dict[str, list[dict]]:
    """The tables of ``tables.json`` as JSON values, keyed and ordered as there."""
    return {key: _records(frame) for key, frame in export_tables(results).items()}


def about(results: Results, edition: dict | None = None) -> dict:
    """``tables.json``'s record of itself: the edition (series, number and date as the
    edition file gives them; None without one, as ``rehabstats tables`` writes it), the
    data file and the part of it reported, the rehabstats version and the disclosure
    rule. The next edition reads it (``rehabstats render --previous``)."""
    dataset = results.dataset
    return {
        "edition": None if edition is None else {k: edition[k] for k in EDITION_KEYS},
        "data_file": dataset.name,
        "data_sha256": dataset.sha256,
        "part": None if dataset.part is None else list(dataset.part),
        "rehabstats_version": metadata.version("rehabstats"),
        "min_count": results.min_count,
    }


def write_json(results: Results, path: Path, edition: dict | None = None) -> None:
    """``tables.json``: ``about``, then the tables in report order (unrounded, but a
    protected table's percentages as printed), then the comparison with the previous
    edition if there is one; byte-stable across runs."""
    document = {"about": about(results, edition), **tables_document(results)}
    text = json.dumps(document, ensure_ascii=False, indent=1, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def write_xlsx(results: Results, path: Path) -> None:
    """``tables.xlsx``: one sheet per table, and the comparison with the previous edition
    if there is one, as in tables.json; rounded for reading, header bold and frozen;
    dated by the render's time (``results.run_time``; without one, the clock's now,
    :func:`~rehabstats.reporting.clock.run_time`)."""
    when = results.run_time or run_time()
    sheets = export_tables(results)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for key, frame in sheets.items():
            frame.to_excel(writer, sheet_name=key, index=False)
            sheet = writer.sheets[key]
            sheet.freeze_panes = "A2"
            for cells in sheet.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in cells)
                sheet.column_dimensions[cells[0].column_letter].width = min(width, 12) + 4
                for cell in cells[1:]:
                    if isinstance(cell.value, float):
                        cell.number_format = "0.000" if cells[0].value == "p_value" else "0.00"
    _dated(path, when)


def _dated(path: Path, when: dt.datetime) -> None:
    """Give the workbook at ``path`` the time ``when`` throughout: its properties'
    created and modified dates, which openpyxl sets to the moment it saves, and each of
    its files' times in the zip (1980 at the earliest, the first a zip can hold)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    date_time = max(when, ZIP_EPOCH).timetuple()[:6]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                data = CORE_DATES.sub(rf"\g<1>{stamp}\g<3>", data.decode()).encode()
            dated = zipfile.ZipInfo(info.filename, date_time)
            dated.external_attr = info.external_attr
            archive.writestr(dated, data, zipfile.ZIP_DEFLATED)


def write_exports(
    results: Results, directory: str | Path, edition: dict | None = None
) -> tuple[Path, Path]:
    """Write ``tables.json`` and ``tables.xlsx`` into ``directory`` (made if missing).

    Parameters
    ----------
    results : Results
        Results to export; protect them first (:func:`rehabstats.protect`) for anything
        that leaves the analyst's machine.
    directory : str or Path
        The folder to write into.
    edition : dict, optional
        The edition (:func:`rehabstats.reporting.edition.load_edition`) that tables.json
        records in ``about``, for the next edition to name; None records none.

    Returns
    -------
    tuple of Path
        The JSON file and the workbook.

    Examples
    --------
    >>> import tempfile
    >>> import rehabstats as rs
    >>> results = rs.protect(rs.analyse("data/register.csv"))
    >>> json_path, xlsx_path = rs.write_exports(results, tempfile.mkdtemp())
    >>> json_path.name, xlsx_path.name
    ('tables.json', 'tables.xlsx')
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path, xlsx_path = directory / "tables.json", directory / "tables.xlsx"
    write_json(results, json_path, edition)
    write_xlsx(results, xlsx_path)
    return json_path, xlsx_path
