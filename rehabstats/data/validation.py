"""Checking a register extract against the data contract, every problem at once.

The raw frame from :func:`rehabstats.data.loading.load` is first coerced to the contract's
types (codes, dates, booleans, whole numbers), keeping what could not be read as
missing. One pandera schema then checks the typed frame lazily, so a user sees every
problem in one go: a value that was present in the file but could not be read, a
missing column, an empty required value, a duplicate case id, a date out of order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from rehabstats.data import contract
from rehabstats.data.contract import BadValue, ContractError, Problem, ValidationReport
from rehabstats.data.dictionary import ColumnSpec, DataDictionary, load_dictionary
from rehabstats.data.loading import TEXT, release_arrow_memory

MAX_EXAMPLES = 5
# A bad value's problem lists this many distinct values, each with this many case ids.
MAX_VALUES = 10
MAX_VALUE_EXAMPLES = 3
# A category with more codes than this is refused without listing them all (county: 21).
MAX_ALLOWED_LISTED = 8


# --- coercion -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    """A column as written in the file: trimmed text, empty cells missing.

    Kept as the column's distinct values (``distinct``, Arrow text, <NA> where
    empty) and each row's position among them (-1 for a missing cell), so that the
    string work is done once per distinct value rather than once per row.
    """

    positions: np.ndarray
    distinct: pd.Series
    index: pd.Index

    @classmethod
    def of(cls, column: pd.Series) -> _Text:
        """The text of ``column``; its cells read as ``str(value).strip()``."""
        mixed = pd.api.types.is_float_dtype(column) or (
            column.dtype == object
            and pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty")
        )
        # Distinct floats (0.0, -0.0) or objects (1, 1.0, True) can share one hash but
        # not their text: those columns are turned into text before they are factorised.
        positions, distinct = pd.factorize(column.astype("string") if mixed else column)
        text = pd.Series(distinct)
        if not isinstance(text.dtype, pd.StringDtype):
            text = text.astype("string")  # each value as str() writes it
        text = text.astype(TEXT).str.strip()
        return cls(positions, text.mask(text == ""), column.index)

    def spread(self, per_distinct: object) -> pd.Series:
        """Values given per distinct text as a column (missing for missing cells)."""
        values = pd.array(per_distinct).take(self.positions, allow_fill=True)
        return pd.Series(values, index=self.index)

    def values(self) -> pd.Series:
        """The trimmed text of every row."""
        return self.spread(self.distinct.array)

    def present(self) -> pd.Series:
        """Whether each row has a value in the file (not empty, not only spaces)."""
        written = np.append(self.distinct.notna().to_numpy(), False)  # [-1]: a missing cell
        return pd.Series(written[self.positions], index=self.index)


def _coerce_category(text: _Text, spec: ColumnSpec) -> pd.Series:
    """Map every accepted spelling onto its code; anything else becomes missing."""
    spellings = spec.spelling_map()
    lowered = text.distinct.str.lower()
    codes = [spellings.get(v) if isinstance(v, str) else None for v in lowered]
    return text.spread(pd.Categorical(codes, categories=spec.codes))


def _coerce_boolean(column: pd.Series, text: _Text, dictionary: DataDictionary) -> pd.Series:
    if pd.api.types.is_bool_dtype(column):
        return column.astype("boolean")
    lowered = text.distinct.str.lower()
    truth = lowered.isin(dictionary.true_spellings).fillna(False).astype(bool)
    falsity = lowered.isin(dictionary.false_spellings).fillna(False).astype(bool)
    value = pd.Series(pd.NA, index=lowered.index, dtype="boolean")
    value[truth] = True
    value[falsity] = False
    return text.spread(value.array)


def _coerce_date(column: pd.Series, text: _Text, dictionary: DataDictionary) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
    value = pd.Series(pd.NaT, index=text.distinct.index, dtype="datetime64[ns]")
    for fmt in dictionary.date_formats:
        value = value.fillna(pd.to_datetime(text.distinct, format=fmt, errors="coerce"))
    return text.spread(value.dt.normalize().array)


def _coerce_integer(text: _Text) -> pd.Series:
    number = pd.to_numeric(text.distinct, errors="coerce")
    return text.spread(number.where(number % 1 == 0).astype("Int64").array)


def _coerce(
    raw: pd.DataFrame, dictionary: DataDictionary
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """The contract's columns of ``raw`` in their types, unreadable values missing; and,
    for each column, whether each cell has a value in the file."""
    typed, present = {}, {}
    for name in dictionary.names():
        if name not in raw.columns:
            continue
        spec, column = dictionary[name], raw[name]
        text = _Text.of(column)
        present[name] = text.present()
        if spec.type == "category":
            typed[name] = _coerce_category(text, spec)
        elif spec.type == "boolean":
            typed[name] = _coerce_boolean(column, text, dictionary)
        elif spec.type == "date":
            typed[name] = _coerce_date(column, text, dictionary)
        elif spec.type == "integer":
            typed[name] = _coerce_integer(text)
        else:
            typed[name] = text.values()
    # copy=False: the columns as they are, not stacked by type into new arrays
    return pd.DataFrame(typed, index=raw.index, copy=False), present


# --- the schema ---------------------------------------------------------------------------

PARSE_RULES = {
    "category": "unknown category",
    "boolean": "not a yes/no value",
    "date": "unparsable date (expected YYYY-MM-DD or YYYYMMDD)",
    "integer": "not a whole number",
}


def _parse_rule(spec: ColumnSpec) -> str:
    """The rule an unreadable value of ``spec`` breaks, naming the allowed categories."""
    rule = PARSE_RULES[spec.type]
    if spec.type == "category":
        codes = spec.codes
        allowed = (
            ", ".join(codes)
            if len(codes) <= MAX_ALLOWED_LISTED
            else f"the {len(codes)} codes of 'rehabstats dictionary'"
        )
        rule += f" (allowed: {allowed} or their Swedish/English labels)"
    return rule


def _range_rule(spec: ColumnSpec) -> str:
    return f"outside the allowed range {spec.minimum}–{spec.maximum}"


def _value_rules(dictionary: DataDictionary) -> set[str]:
    """The rules about the value in a cell, whose problems list the distinct bad values."""
    specs = dictionary.columns.values()
    return {_parse_rule(s) for s in specs if s.type in PARSE_RULES} | {
        _range_rule(s) for s in specs if s.minimum is not None
    }


Presence = Callable[[pd.Series], pd.Series]


def _text_checks(spec: ColumnSpec, typed: pd.DataFrame, present: Presence) -> list[pa.Check]:
    """Checks on one column as written in the file: present where required, readable.

    Emptiness is judged on the text (``present``: whether each cell of the column has
    a value), so an unreadable value is reported once, as unreadable, and not also as
    empty.
    """
    checks = []
    if spec.required:
        checks.append(
            pa.Check(
                present,
                error="empty value in a required column",
                ignore_na=False,
            )
        )
    if spec.required_if and spec.required_if in typed.columns:
        condition = typed[spec.required_if].fillna(False).astype(bool)
        checks.append(
            pa.Check(
                lambda s, condition=condition: ~condition | present(s),
                error=f"empty, but required when {spec.required_if} is yes",
                ignore_na=False,
            )
        )
    if spec.type in PARSE_RULES:
        checks.append(
            pa.Check(
                lambda s, typed=typed[spec.name]: ~present(s) | typed.notna(),
                error=_parse_rule(spec),
                ignore_na=False,  # the unreadable values became missing: look at those
            )
        )
    return checks


def _typed_checks(spec: ColumnSpec) -> list[pa.Check]:
    """Checks on one column's values: unique, in range."""
    checks = []
    if spec.unique:
        checks.append(pa.Check(lambda s: ~s.duplicated(keep=False), error="duplicate value"))
    if spec.minimum is not None:
        rule = _range_rule(spec)
        checks.append(pa.Check(lambda s: s.between(spec.minimum, spec.maximum), error=rule))
    return checks


def _row_checks(typed: pd.DataFrame) -> list[pa.Check]:
    """Checks of the rules across columns (:data:`~rehabstats.data.contract.ROW_RULES`),
    one per column a rule judges, where the file has that column and those the rule reads."""
    return [
        pa.Check(lambda d, keeps=rule.keeps, c=column: keeps(d, c), error=f"{column}: {text}")
        for rule in contract.ROW_RULES
        for column, text in rule.broken
        if {column, *rule.reads} <= set(typed.columns)
    ]


def _text_schema(
    typed: pd.DataFrame, dictionary: DataDictionary, present: dict[str, pd.Series]
) -> pa.DataFrameSchema:
    """Schema for the file as written: every column there, required ones filled, readable.

    ``present`` is :func:`_coerce`'s: for each column of the file, whether each cell has
    a value, as found while the values were read (not found again per check).
    """

    def presence(name: str) -> Presence:
        return lambda _, known=present[name]: known

    return pa.DataFrameSchema(
        {
            name: pa.Column(
                nullable=True,
                checks=_text_checks(spec, typed, presence(name)) if name in typed.columns else [],
            )
            for name, spec in dictionary.columns.items()
        }
    )


def typed_schema(typed: pd.DataFrame, dictionary: DataDictionary) -> pa.DataFrameSchema:
    """Schema for the typed values: unique ids, ranges, and the rules across columns."""
    columns = {
        name: pa.Column(nullable=True, checks=_typed_checks(spec))
        for name, spec in dictionary.columns.items()
        if name in typed.columns and _typed_checks(spec)
    }
    return pa.DataFrameSchema(columns, checks=_row_checks(typed))


# --- running it ---------------------------------------------------------------------------


def _reference(row: int, raw: pd.DataFrame) -> str:
    """A readable reference to a row of the file: its case id, else its row number."""
    case = raw.at[row, "case_id"] if "case_id" in raw.columns else None
    return str(case) if pd.notna(case) else f"row {row + 1}"


def _examples(group: pd.DataFrame, raw: pd.DataFrame) -> tuple[str, ...]:
    """A few readable references to failing rows (case ids, else row numbers)."""
    return tuple(_reference(row, raw) for row in group["index"].head(MAX_EXAMPLES))


def _bad_values(group: pd.DataFrame, raw: pd.DataFrame) -> tuple[tuple[BadValue, ...], int]:
    """Each distinct failing value as written (trimmed), most rows first, then in the
    order of the file, with a few case ids; at most ``MAX_VALUES`` of them, and how many
    distinct values are left out."""
    found = pd.DataFrame(
        {
            "value": group["failure_case"].map(lambda v: str(v).strip()).to_numpy(),
            "row": group["index"].to_numpy(),
        }
    )
    counts = found.groupby("value", sort=False).size().sort_values(ascending=False, kind="stable")
    shown = found[found["value"].isin(counts.index[:MAX_VALUES])].groupby("value")["row"]
    rows = {v: tuple(_reference(i, raw) for i in r.iloc[:MAX_VALUE_EXAMPLES]) for v, r in shown}
    values = tuple(BadValue(v, int(n), rows[v]) for v, n in counts.head(MAX_VALUES).items())
    return values, len(counts) - len(values)


def _problem(
    column: str, rule: str, group: pd.DataFrame, raw: pd.DataFrame, by_value: bool
) -> Problem:
    """The problem of one (column, rule): its distinct bad values, or example rows."""
    if by_value:
        values, more = _bad_values(group, raw)
        return Problem(column, rule, len(group), values=values, more_values=more)
    return Problem(column, rule, len(group), _examples(group, raw))


def _problems(
    failures: pd.DataFrame, raw: pd.DataFrame, dictionary: DataDictionary
) -> list[Problem]:
    """One Problem per (column, rule), counting each row once."""
    problems = []
    missing = failures[failures["check"] == "column_in_dataframe"]
    for column in missing["failure_case"]:
        problems.append(Problem(str(column), "missing column", len(raw)))
    rest = failures[failures["check"] != "column_in_dataframe"].copy()
    wide = rest["schema_context"] == "DataFrameSchema"
    split = rest.loc[wide, "check"].str.split(": ", n=1)
    rest.loc[wide, "column"] = split.str[0]
    rest.loc[wide, "check"] = split.str[1]
    rest = rest.drop_duplicates(["column", "check", "index"])
    rest["index"] = rest["index"].astype(int)
    value_rules = _value_rules(dictionary)
    for (column, rule), group in rest.groupby(["column", "check"], sort=False):
        group = group.sort_values("index")
        problems.append(_problem(str(column), str(rule), group, raw, rule in value_rules))
    return problems


def _failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """Every failure of ``schema`` on ``frame`` (pandera's lazy failure cases).

    In place: the schema changes nothing, and pandera would otherwise copy the frame.
    """
    try:
        schema.validate(frame, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as errors:  # the values as objects, whatever the column
        return errors.failure_cases.astype({"failure_case": object})
    return pd.DataFrame(columns=["schema_context", "column", "check", "failure_case", "index"])


def validate(raw: pd.DataFrame) -> tuple[ValidationReport, pd.DataFrame]:
    """Check ``raw`` against the data contract, every problem at once.

    The values are read into the contract's types first (category labels in Swedish or
    English become codes; dates, yes/no values and whole numbers are parsed), then every
    rule is checked, so one run lists everything there is to fix.

    Parameters
    ----------
    raw : pandas.DataFrame
        A register extract as :func:`rehabstats.load` returns it.

    Returns
    -------
    report : ValidationReport
        ``report.ok`` when the data follow the contract; else ``report.problems``, one
        per (column, rule) with the number of rows and example case ids; a rule about a
        cell's value (an unknown category, an unreadable date) lists each distinct bad
        value with its rows instead. Columns the contract does not know are
        ``report.notes``.
    typed : pandas.DataFrame
        The contract's columns in their types. Use it only when ``report.ok``.

    Raises
    ------
    Nothing for bad data
        A broken rule is a problem in the report, not an exception (so that a caller
        sees every problem); :func:`read_dataset` raises :class:`ContractError` instead.

    Examples
    --------
    >>> import rehabstats as rs
    >>> raw = rs.load("data/register.csv")
    >>> report, typed = rs.validate(raw)
    >>> print(report)
    4188 rows: the data follow the contract.
    >>> raw.loc[[0, 1], "county"] = "Atlantis"
    >>> report, _ = rs.validate(raw)
    >>> report.ok, report.problems[0].column, report.problems[0].count
    (False, 'county', 2)
    >>> print(report.problems[0].values[0])
    'Atlantis' (2 rows, e.g. C0000001, C0000002)
    """
    dictionary = load_dictionary()
    numbered = isinstance(raw.index, pd.RangeIndex) and raw.index.equals(pd.RangeIndex(len(raw)))
    if not numbered:  # rows numbered 0, 1, … (no copy of a frame that already is)
        raw = raw.reset_index(drop=True)
    extra = [c for c in raw.columns if c not in dictionary.columns]
    notes = tuple(f"{c}: not in the data dictionary; ignored" for c in extra)
    typed, present = _coerce(raw, dictionary)
    if raw.empty:
        problem = Problem("(file)", "the file has no data rows", 0)
        return ValidationReport(0, (problem,), notes), typed
    failures = pd.concat(
        [
            _failures(_text_schema(typed, dictionary, present), raw),
            _failures(typed_schema(typed, dictionary), typed),
        ]
    )
    problems = tuple(_problems(failures, raw, dictionary)) if len(failures) else ()
    release_arrow_memory()  # what the work on the text took
    return ValidationReport(len(raw), problems, notes), typed


def read_dataset(path: str | Path) -> pd.DataFrame:
    """Load and validate a data file: its typed frame, or an error naming every problem.

    Parameters
    ----------
    path : str or Path
        A register extract in any format :func:`rehabstats.load` reads.

    Returns
    -------
    pandas.DataFrame
        The contract's columns in their types, as :func:`validate` gives them.

    Raises
    ------
    DataFileError
        The file cannot be read as a table.
    ContractError
        The data break the contract; ``error.report`` lists every problem.

    Examples
    --------
    >>> import rehabstats as rs
    >>> typed = rs.read_dataset("data/register.csv")
    >>> str(typed["case_start_date"].dtype)
    'datetime64[ns]'
    """
    from rehabstats.data.loading import load

    report, typed = validate(load(path))
    if not report.ok:
        raise ContractError(report)
    return typed
