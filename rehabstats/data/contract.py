"""What checking data against the contract found: problems, notes, and the refusal.

Kept apart from :mod:`rehabstats.data.validation`, which imports pandera, so that reading
stored results (the report's kernels do) needs no validation machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rehabstats.errors import RehabstatsError


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
