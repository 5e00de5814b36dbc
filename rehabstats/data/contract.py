"""The contract's rules across columns, and what checking data against it found: problems,
notes, and the refusal.

Kept apart from :mod:`rehabstats.data.validation`, which imports pandera, so that reading
stored results (the report's kernels do) and writing the data dictionary page need no
validation machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rehabstats.errors import RehabstatsError

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RowRule:
    """A rule across columns that every row of a register extract keeps.

    Validation checks each rule of :data:`ROW_RULES` and the data dictionary page
    (``rehabstats dictionary``) states each, so the page lists exactly what is checked.

    Attributes
    ----------
    code : str
        A short name of the rule.
    wording : str
        The rule as the data dictionary page states it (Markdown, one list item).
    broken : tuple of (column, text)
        The columns the rule judges: a row that breaks it in ``column`` is a problem of
        that column, with ``text`` as the problem's rule.
    reads : tuple of str
        The other columns the rule reads; a column is judged only when the file has it
        and all of these.
    keeps : callable
        ``keeps(typed, column)``: for each row of the typed frame, whether it keeps the
        rule in ``column`` (a missing value keeps it unless the rule asks for one).
    """

    code: str
    wording: str
    broken: tuple[tuple[str, str], ...]
    reads: tuple[str, ...]
    keeps: Callable[[pd.DataFrame, str], pd.Series]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the rule involves: those it judges, then those it reads."""
        return (*(column for column, _ in self.broken), *self.reads)


def _not_before_start(typed: pd.DataFrame, column: str) -> pd.Series:
    """Rows whose ``column`` date is not before the case started (or either is missing)."""
    return ~(typed[column] < typed["case_start_date"]).fillna(False)


ROW_RULES = (
    RowRule(
        code="declined_given",
        wording="`declined` is given for every reviewed case offered an alternative actor",
        broken=(("declined", "empty, but required for cases offered an alternative actor"),),
        reads=("arm", "file_reviewed"),
        keeps=lambda d, column: (
            ~(d["arm"].eq("actor") & d["file_reviewed"]).fillna(False) | d[column].notna()
        ),
    ),
    RowRule(
        code="reviewed_randomised",
        wording="a reviewed file (`file_reviewed` yes) belongs to a randomised case",
        broken=(("file_reviewed", "file reviewed, but the case was not randomised"),),
        reads=("randomised",),
        keeps=lambda d, column: ~d[column].fillna(False) | d["randomised"].fillna(True),
    ),
    RowRule(
        code="dates_after_start",
        wording="no event date (`meeting_date`, `plan_date`, `measure_date`) and no "
        "`followup_end_date` lies before `case_start_date`",
        broken=(
            ("meeting_date", "meeting dated before the case started"),
            ("plan_date", "plan dated before the case started"),
            ("measure_date", "measure dated before the case started"),
            ("followup_end_date", "follow-up ends before the case started"),
        ),
        reads=("case_start_date",),
        keeps=_not_before_start,
    ),
)


def _rows(count: int) -> str:
    """``count`` rows in words: "1 row", "40 rows"."""
    return f"{count} {'row' if count == 1 else 'rows'}"


@dataclass(frozen=True)
class BadValue:
    """One distinct value that breaks a rule, as written: how many rows, a few case ids."""

    value: str
    count: int
    examples: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f", e.g. {', '.join(self.examples)}" if self.examples else ""
        return f"{self.value!r} ({_rows(self.count)}{where})"


@dataclass(frozen=True)
class Problem:
    """One broken rule: which column, which rule, how many rows, a few example case ids.

    A rule about the value in a cell (an unknown category, an unreadable date, an age
    out of range) gives ``values`` instead of ``examples``: each distinct bad value with
    its rows, most rows first, and how many more distinct values there are
    (``more_values``) beyond those listed.
    """

    column: str
    rule: str
    count: int
    examples: tuple[str, ...] = ()
    values: tuple[BadValue, ...] = ()
    more_values: int = 0

    def __str__(self) -> str:
        head = f"{self.column}: {self.rule} — {_rows(self.count)}"
        if self.values:
            return f"{head}, {self._distinct()}"
        return f"{head} (e.g. {', '.join(self.examples)})" if self.examples else head

    def _distinct(self) -> str:
        """The distinct bad values: "3 distinct values: 'X' (40 rows, e.g. …), …"."""
        n = len(self.values) + self.more_values
        listed = ", ".join(str(v) for v in self.values)
        if self.more_values:
            rest = self.count - sum(v.count for v in self.values)
            listed += f", and {self.more_values} more ({_rows(rest)})"
        return f"{n} distinct {'value' if n == 1 else 'values'}: {listed}"


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


class ContractError(RehabstatsError):
    """The data break the contract; ``report`` lists every problem."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(str(report))
        self.report = report
