"""The study population: from the raw register extract to the cases the report studies.

Tabell 1 of the report is a flow: all cases in the register → randomised → duplicates
removed (a person randomised again; the first randomisation is kept) → sampling frame →
studied (file reviewed). Every input row lands in exactly one bucket of that flow, and
every studied case in exactly one status for each event's analysis. Both are checked
here, so a row can never disappear without being counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rehabstats.data.contract import ContractError, Problem, ValidationReport
from rehabstats.data.dictionary import load_dictionary

GROUPS = ("control", "treatment", "declined")
EVENTS = ("meeting", "plan", "measure")
BUCKETS = ("not_randomised", "duplicate", "not_reviewed", "studied")
USABLE = ("event", "censored")
LEFT_OUT = ("date_missing", "date_without_event", "date_after_followup")
STATUSES = USABLE + LEFT_OUT


class AccountingError(RuntimeError):
    """Rows were lost or counted twice: a bug, never a property of the data."""


@dataclass(frozen=True)
class Cohort:
    """The studied cases and the accounting of how they were reached.

    ``buckets`` has one label per input row (``BUCKETS``); ``cases`` has one row per
    studied case with the contract's columns plus ``group``, ``arm_group``,
    ``age_group`` and, for each event, ``{event}_status``, ``{event}_observed`` and
    ``{event}_days`` (days to the event, or to the end of follow-up when censored;
    missing when the case is left out of that event's analysis).
    """

    buckets: pd.Series
    cases: pd.DataFrame

    @property
    def n_input(self) -> int:
        return len(self.buckets)

    def flow(self) -> pd.DataFrame:
        """Tabell 1: the population flow, each exclusion step with its count."""
        counts = self.buckets.value_counts().reindex(BUCKETS, fill_value=0)
        randomised = self.n_input - counts["not_randomised"]
        frame = randomised - counts["duplicate"]
        rows = [
            ("cases_in_register", self.n_input, False),
            ("not_randomised", counts["not_randomised"], True),
            ("randomised_cases", randomised, False),
            ("duplicates", counts["duplicate"], True),
            ("sampling_frame", frame, False),
            ("not_reviewed", counts["not_reviewed"], True),
            ("studied", counts["studied"], False),
        ]
        return pd.DataFrame(rows, columns=["step", "n", "excluded"]).astype({"n": int})

    def event_accounting(self) -> pd.DataFrame:
        """For each event, group and status: how many studied cases (all rows counted)."""
        parts = [
            self.cases.groupby(["group", f"{event}_status"], observed=False)
            .size()
            .rename("n")
            .reset_index()
            .rename(columns={f"{event}_status": "status"})
            .assign(event=event)
            for event in EVENTS
        ]
        return pd.concat(parts, ignore_index=True)[["event", "group", "status", "n"]]


def _buckets(data: pd.DataFrame) -> pd.Series:
    """The flow bucket of every input row."""
    randomised = data["randomised"].fillna(False).astype(bool)
    # Only people randomised more than once can have a duplicate: sort just their cases.
    persons = data.loc[randomised, ["person_id", "randomisation_date", "case_id"]]
    persons = persons.loc[persons["person_id"].duplicated(keep=False).to_numpy()]
    order = persons.sort_values(["randomisation_date", "case_id"], kind="stable")
    repeat = order["person_id"].duplicated(keep="first")
    duplicate = pd.Series(False, index=data.index)
    duplicate.loc[repeat.index[repeat.to_numpy()]] = True
    reviewed = data["file_reviewed"].fillna(False).astype(bool)
    codes = np.select(
        [~randomised, duplicate, ~reviewed],
        [BUCKETS.index(b) for b in ("not_randomised", "duplicate", "not_reviewed")],
        default=BUCKETS.index("studied"),
    )
    buckets = pd.Categorical.from_codes(codes, categories=BUCKETS)
    return pd.Series(buckets, index=data.index, name="bucket")


def _groups(cases: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The three study groups and the two randomised arms."""
    control = cases["arm"].eq("control").to_numpy(dtype=bool)
    declined = cases["declined"].fillna(False).astype(bool).to_numpy()
    group = np.select(
        [control, declined],
        [GROUPS.index("control"), GROUPS.index("declined")],
        default=GROUPS.index("treatment"),
    )
    arm = np.where(control, 0, 1)
    return (
        pd.Series(pd.Categorical.from_codes(group, categories=GROUPS), index=cases.index),
        pd.Series(
            pd.Categorical.from_codes(arm, categories=("control", "treatment_arm")),
            index=cases.index,
        ),
    )


def _age_groups(age: pd.Series) -> pd.Series:
    bins = load_dictionary().age_bins
    edges = [b.minimum for b in bins] + [bins[-1].maximum + 1]
    return pd.cut(age.astype(float), edges, right=False, labels=[b.code for b in bins])


def _event_columns(cases: pd.DataFrame, event: str) -> pd.DataFrame:
    """Status, event indicator and days for one event's analysis."""
    flag = cases[event].astype(bool)
    date = cases[f"{event}_date"]
    start, end = cases["case_start_date"], cases["followup_end_date"]
    status = np.select(
        [flag & date.isna(), ~flag & date.notna(), (date > end).fillna(False), flag],
        [STATUSES.index(s) for s in (*LEFT_OUT, "event")],
        default=STATUSES.index("censored"),
    )
    observed = status == STATUSES.index("event")
    until = date.where(observed, end.where(status == STATUSES.index("censored")))
    return pd.DataFrame(
        {
            f"{event}_status": pd.Categorical.from_codes(status, categories=STATUSES),
            f"{event}_observed": observed,
            f"{event}_days": (until - start).dt.days.astype(float),
        },
        index=cases.index,
    )


class EmptyGroupsError(ContractError):
    """Study groups without studied cases; ``groups`` holds their codes (``GROUPS``).

    The codes let a caller say it in the reader's language; the report says it in
    English for the command line.
    """

    def __init__(self, report: ValidationReport, groups: tuple[str, ...]) -> None:
        super().__init__(report)
        self.groups = groups


def _refuse_empty_groups(cases: pd.DataFrame, n_input: int) -> None:
    """A study group without studied cases makes every comparison meaningless."""
    counts = cases["group"].value_counts()
    empty = tuple(g for g in GROUPS if counts.get(g, 0) == 0)
    if empty:
        problems = tuple(
            Problem("arm/declined", f"group '{g}' has no studied cases", 0) for g in empty
        )
        raise EmptyGroupsError(ValidationReport(n_input, problems), empty)


def _check_accounting(cohort: Cohort) -> None:
    """Every input row in one bucket; every studied case in one status per event."""
    if cohort.buckets.isna().any() or len(cohort.buckets) != cohort.n_input:
        raise AccountingError("some input rows are in no bucket of the population flow")
    for event in EVENTS:
        if cohort.cases[f"{event}_status"].isna().any():
            raise AccountingError(f"some studied cases have no status for {event}")
    accounted = cohort.event_accounting().groupby("event")["n"].sum()
    if (accounted != len(cohort.cases)).any():
        raise AccountingError(f"event accounting {accounted.to_dict()} != {len(cohort.cases)}")


def derive_cohort(data: pd.DataFrame) -> Cohort:
    """The studied population of a validated register extract (see the module doc)."""
    buckets = _buckets(data)
    # A new frame of the studied rows (take copies them once), its columns added in place.
    cases = data.take(np.flatnonzero(buckets.eq("studied").to_numpy()))
    cases["group"], cases["arm_group"] = _groups(cases)
    cases["age_group"] = _age_groups(cases["age"])
    for event in EVENTS:
        for name, values in _event_columns(cases, event).items():
            cases[name] = values
    _refuse_empty_groups(cases, len(data))
    cohort = Cohort(buckets=buckets, cases=cases)
    _check_accounting(cohort)
    return cohort
