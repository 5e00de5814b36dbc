"""What checking data against the contract found: problems, notes, and the refusal.

Kept apart from :mod:`rehabstats.validation`, which imports pandera, so that reading
stored results (the report's kernels do) needs no validation machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rehabstats.errors import RehabstatsError


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


class ContractError(RehabstatsError):
    """The data break the contract; ``report`` lists every problem."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(str(report))
        self.report = report
