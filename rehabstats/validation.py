"""Checking a register extract against the data contract, every problem at once.

The raw frame from :func:`rehabstats.loading.load` is first coerced to the contract's
types (codes, dates, booleans, whole numbers), keeping what could not be read as
missing. One pandera schema then checks the typed frame lazily, so a user sees every
problem in one go: a value that was present in the file but could not be read, a
missing column, an empty required value, a duplicate case id, a date out of order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

from rehabstats.dictionary import ColumnSpec, DataDictionary, load_dictionary

MAX_EXAMPLES = 5
EVENTS = ("meeting", "plan", "measure")


@dataclass(frozen=True)
class Problem:
    """One broken rule: which column, which rule, how many rows, a few example case ids."""

    column: str
    rule: str
    count: int
    examples: tuple[str, ...] = ()

    def __str__(self) -> str:
        rows = "row" if self.count == 1 else "rows"
        where = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return f"{self.column}: {self.rule} — {self.count} {rows}{where}"


@dataclass(frozen=True)
class ValidationReport:
    """What validation found: problems refuse the data, notes only inform."""

    n_rows: int
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = (
            f"{self.n_rows} rows: the data follow the contract."
            if self.ok
            else f"{self.n_rows} rows: {len(self.problems)} problem(s); the data cannot be used."
        )
        lines = [head, *(f"  problem  {p}" for p in self.problems)]
        lines += [f"  note     {n}" for n in self.notes]
        return "\n".join(lines)


class ContractError(Exception):
    """The data break the contract; ``report`` lists every problem."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(str(report))
        self.report = report


# --- coercion -----------------------------------------------------------------------------


def _as_text(column: pd.Series) -> pd.Series:
    """Trimmed text, with empty cells as missing."""
    text = column.astype("string").str.strip()
    return text.mask(text == "")


def _coerce_category(column: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Map every accepted spelling onto its code; anything else becomes missing."""
    spellings = spec.spelling_map()
    positions, distinct = pd.factorize(_as_text(column).str.lower())
    codes = pd.Series([spellings.get(v) for v in distinct], dtype="object")
    categories = pd.Categorical(codes, categories=spec.codes)
    mapped = categories.take(positions, allow_fill=True)
    return pd.Series(mapped, index=column.index)


def _coerce_boolean(column: pd.Series, dictionary: DataDictionary) -> pd.Series:
    if pd.api.types.is_bool_dtype(column):
        return column.astype("boolean")
    lowered = _as_text(column).str.lower()
    truth = lowered.isin(dictionary.true_spellings)
    falsity = lowered.isin(dictionary.false_spellings)
    out = pd.Series(pd.NA, index=column.index, dtype="boolean")
    out[truth.fillna(False).astype(bool)] = True
    out[falsity.fillna(False).astype(bool)] = False
    return out


def _coerce_date(column: pd.Series, dictionary: DataDictionary) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
    text = _as_text(column)
    out = pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]")
    for fmt in dictionary.date_formats:
        out = out.fillna(pd.to_datetime(text, format=fmt, errors="coerce"))
    return out.dt.normalize()


def _coerce_integer(column: pd.Series) -> pd.Series:
    number = pd.to_numeric(_as_text(column), errors="coerce")
    return number.where(number % 1 == 0).astype("Int64")


def coerce(raw: pd.DataFrame, dictionary: DataDictionary | None = None) -> pd.DataFrame:
    """The contract's columns of ``raw`` in their types; unreadable values become missing."""
    dictionary = dictionary or load_dictionary()
    typed = {}
    for name in dictionary.names():
        if name not in raw.columns:
            continue
        spec, column = dictionary[name], raw[name]
        if spec.type == "category":
            typed[name] = _coerce_category(column, spec)
        elif spec.type == "boolean":
            typed[name] = _coerce_boolean(column, dictionary)
        elif spec.type == "date":
            typed[name] = _coerce_date(column, dictionary)
        elif spec.type == "integer":
            typed[name] = _coerce_integer(column)
        else:
            typed[name] = _as_text(column)
    return pd.DataFrame(typed, index=raw.index)


# --- the schema ---------------------------------------------------------------------------

PARSE_RULES = {
    "category": "unknown category",
    "boolean": "not a yes/no value",
    "date": "unparsable date (expected YYYY-MM-DD or YYYYMMDD)",
    "integer": "not a whole number",
}


def _parse_rule(spec: ColumnSpec) -> str:
    rule = PARSE_RULES[spec.type]
    if spec.type == "category":
        rule += f" (allowed: {', '.join(spec.codes)} or their Swedish/English labels)"
    return rule


def _text_checks(spec: ColumnSpec, typed: pd.DataFrame) -> list[pa.Check]:
    """Checks on one column as written in the file: present where required, readable.

    Emptiness is judged on the text, so an unreadable value is reported once, as
    unreadable, and not also as empty.
    """
    checks = []
    if spec.required:
        checks.append(
            pa.Check(
                lambda s: _as_text(s).notna(),
                error="empty value in a required column",
                ignore_na=False,
            )
        )
    if spec.required_if and spec.required_if in typed.columns:
        condition = typed[spec.required_if].fillna(False).astype(bool)
        checks.append(
            pa.Check(
                lambda s, condition=condition: ~condition | _as_text(s).notna(),
                error=f"empty, but required when {spec.required_if} is yes",
                ignore_na=False,
            )
        )
    if spec.type in PARSE_RULES:
        checks.append(
            pa.Check(
                lambda s, typed=typed[spec.name]: _as_text(s).isna() | typed.notna(),
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
        rule = f"outside the allowed range {spec.minimum}–{spec.maximum}"
        checks.append(pa.Check(lambda s: s.between(spec.minimum, spec.maximum), error=rule))
    return checks


Rule = tuple[str, str, tuple[str, ...], Callable[[pd.DataFrame], pd.Series]]


def _row_rules(dictionary: DataDictionary) -> list[Rule]:
    """Rules across columns: (column, rule, columns it needs, row test)."""
    rules: list[Rule] = []
    rules.append(
        (
            "declined",
            "empty, but required for cases offered an alternative actor",
            ("declined", "arm", "file_reviewed"),
            lambda d: (
                ~(d["arm"].eq("actor") & d["file_reviewed"]).fillna(False) | d["declined"].notna()
            ),
        )
    )
    rules.append(
        (
            "file_reviewed",
            "file reviewed, but the case was not randomised",
            ("file_reviewed", "randomised"),
            lambda d: ~d["file_reviewed"].fillna(False) | d["randomised"].fillna(True),
        )
    )
    later = [(f"{e}_date", f"{e} dated before the case started") for e in EVENTS]
    later.append(("followup_end_date", "follow-up ends before the case started"))
    for column, rule in later:
        rules.append(
            (
                column,
                rule,
                (column, "case_start_date"),
                lambda d, c=column: ~(d[c] < d["case_start_date"]).fillna(False),
            )
        )
    return rules


def text_schema(typed: pd.DataFrame, dictionary: DataDictionary) -> pa.DataFrameSchema:
    """Schema for the file as written: every column there, required ones filled, readable."""
    return pa.DataFrameSchema(
        {
            name: pa.Column(
                nullable=True,
                checks=_text_checks(spec, typed) if name in typed.columns else [],
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
    checks = [
        pa.Check(test, error=f"{column}: {rule}")
        for column, rule, needs, test in _row_rules(dictionary)
        if set(needs) <= set(typed.columns)
    ]
    return pa.DataFrameSchema(columns, checks=checks)


# --- running it ---------------------------------------------------------------------------


def _examples(group: pd.DataFrame, raw: pd.DataFrame) -> tuple[str, ...]:
    """A few readable references to failing rows: case id (or row number) and the value."""
    examples = []
    for row, value in group[["index", "failure_case"]].head(MAX_EXAMPLES).itertuples(False):
        case = raw.at[row, "case_id"] if "case_id" in raw.columns else None
        ref = str(case) if pd.notna(case) else f"row {row + 1}"
        shown = group["schema_context"].iat[0] == "Column" and pd.notna(value) and ref != str(value)
        examples.append(f"{ref} ({value!s})" if shown else ref)
    return tuple(examples)


def _problems(failures: pd.DataFrame, raw: pd.DataFrame) -> list[Problem]:
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
    for (column, rule), group in rest.groupby(["column", "check"], sort=False):
        group = group.sort_values("index")
        problems.append(Problem(str(column), str(rule), len(group), _examples(group, raw)))
    return problems


def _failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """Every failure of ``schema`` on ``frame`` (pandera's lazy failure cases)."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return errors.failure_cases
    return pd.DataFrame(columns=["schema_context", "column", "check", "failure_case", "index"])


def validate(raw: pd.DataFrame) -> tuple[ValidationReport, pd.DataFrame]:
    """Check ``raw`` against the contract; return the report and the typed frame.

    The typed frame holds only the contract's columns; it is safe to use only when
    ``report.ok``.
    """
    dictionary = load_dictionary()
    raw = raw.reset_index(drop=True)
    extra = [c for c in raw.columns if c not in dictionary.columns]
    notes = tuple(f"{c}: not in the data dictionary; ignored" for c in extra)
    typed = coerce(raw, dictionary)
    if raw.empty:
        problem = Problem("(file)", "the file has no data rows", 0)
        return ValidationReport(0, (problem,), notes), typed
    failures = pd.concat(
        [
            _failures(text_schema(typed, dictionary), raw),
            _failures(typed_schema(typed, dictionary), typed),
        ]
    )
    problems = tuple(_problems(failures, raw)) if len(failures) else ()
    return ValidationReport(len(raw), problems, notes), typed


def read_dataset(path) -> pd.DataFrame:
    """Load and validate a data file; the typed frame, or :class:`ContractError`."""
    from rehabstats.loading import load

    report, typed = validate(load(path))
    if not report.ok:
        raise ContractError(report)
    return typed
