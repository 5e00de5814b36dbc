"""Every number of the report, computed once per dataset and shared by both languages.

:func:`analyse` runs the whole one-way flow — load → validate → study population →
statistics — and returns :class:`Results`: plain DataFrames and dataclasses that the
notebook, the export and the tests all read. Nothing here knows about languages.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from rehabstats.data.contract import ContractError, ValidationReport
from rehabstats.data.population import EVENTS, Cohort, derive_cohort
from rehabstats.stats import cox, descriptive, itt, survival, timevarying

if TYPE_CHECKING:  # the comparison's module reads Results' prose helpers: no cycle at run time
    import datetime as dt

    from rehabstats.reporting.comparison import Comparison
    from rehabstats.reporting.specification import Exhibit

KM_CHECKPOINTS = (60, 100)


@dataclass(frozen=True)
class DatasetInfo:
    """Which data the results come from: enough to find and verify the file again.

    ``part`` is the column and category code a report of one part of the file is limited
    to (``rehabstats render --by COLUMN``), or None for the whole file; ``rows`` counts
    the part's rows.
    """

    name: str
    rows: int
    sha256: str
    notes: tuple[str, ...] = ()
    part: tuple[str, str] | None = None


@dataclass(frozen=True)
class EventResults:
    """Tabell 4–6 and Diagram 1–3 for one event."""

    table: pd.DataFrame
    logrank: survival.LogRank
    curves: pd.DataFrame
    shares: pd.DataFrame


@dataclass(frozen=True)
class Results:
    """The report's results: plain data that the documents, the exports and the tests
    all read (see the module doc).

    Attributes are DataFrames per table (``flow``, ``arm_by_county``, ``balance_by_arm``
    …), per event (``events``: Tabell 4–6 and Diagram 1–3), per model (``cox``, keyed
    as in tables.json) and the randomised comparison (``itt``); ``specification`` is
    the report's list of tables and diagrams they were computed for
    (:mod:`~rehabstats.reporting.specification`), and ``tables`` the figures of those
    that compute their own, by key.

    Examples
    --------
    >>> import rehabstats as rs
    >>> results = rs.analyse("data/register.csv")
    >>> sorted(results.cox)
    ['B3', 'B4', 'B5', 'B6', 'T7', 'TV_B5', 'TV_B6', 'TV_T7']
    """

    dataset: DatasetInfo
    flow: pd.DataFrame
    accounting: pd.DataFrame
    arm_by_county: pd.DataFrame
    group_by_county: pd.DataFrame
    balance_by_arm: pd.DataFrame
    balance_by_group: pd.DataFrame
    events: dict[str, EventResults]
    cox: dict[str, cox.CoxResult]
    itt: itt.ITTResult
    timeline: dict[str, pd.Timestamp]
    specification: tuple[Exhibit, ...]
    tables: dict[str, pd.DataFrame]
    min_count: int = 0  # the disclosure rule applied (rehabstats.stats.disclosure); 0: none
    comparison: Comparison | None = None  # with the previous edition (render --previous)
    # The render's time (reporting.clock), taken once: the same in each language's
    # documents and in the workbook. None: each reads the clock itself.
    run_time: dt.datetime | None = None

    def exhibit(self, key: str) -> Exhibit:
        """The table or diagram ``key`` of the results' specification."""
        for exhibit in self.specification:
            if exhibit.key == key:
                return exhibit
        raise KeyError(f"the report has no table or diagram {key!r}")

    def save(self, path: Path) -> None:
        """Store the results for the notebooks of every language (one computation)."""
        path.write_bytes(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))

    @staticmethod
    def open(path: Path) -> Results:
        """Read results stored by :meth:`save` in this same run."""
        return pickle.loads(Path(path).read_bytes())


def _timeline(cohort: Cohort) -> dict[str, pd.Timestamp]:
    """The experiment's own dates, for Figur 1 and the introduction."""
    cases = cohort.cases
    measures = cases.loc[cases["measure_observed"], "measure_date"]
    return {
        "randomisation_first": cases["randomisation_date"].min(),
        "randomisation_last": cases["randomisation_date"].max(),
        "first_measure_start": measures.min(),
        "last_measure_start": measures.max(),
        "file_review_first": cases["followup_end_date"].min(),
        "file_review_last": cases["followup_end_date"].max(),
    }


def _event_results(cases: pd.DataFrame, event: str) -> EventResults:
    curves, shares = survival.km_curves_and_shares(cases, event, KM_CHECKPOINTS)
    return EventResults(
        table=survival.event_table(cases, event),
        logrank=survival.logrank(cases, event),
        curves=curves,
        shares=shares,
    )


def compute_results(
    cohort: Cohort, dataset: DatasetInfo, specification: tuple[Exhibit, ...] | None = None
) -> Results:
    """All tables and diagrams of ``specification`` (the report's,
    :data:`~rehabstats.reporting.specification.REPORT`, by default) from one study
    population."""
    from rehabstats.reporting.specification import REPORT  # it names this module's readers

    specification = REPORT if specification is None else specification
    cases = cohort.cases
    return Results(
        dataset=dataset,
        flow=cohort.flow(),
        accounting=cohort.event_accounting(),
        arm_by_county=descriptive.county_table(cases, "arm_group", dataset.part),
        group_by_county=descriptive.county_table(cases, "group", dataset.part),
        balance_by_arm=descriptive.balance_by_arm(cases, dataset.part),
        balance_by_group=descriptive.balance_by_group(cases, dataset.part),
        events={event: _event_results(cases, event) for event in EVENTS},
        cox={**cox.cox_models(cases), **timevarying.tv_cox_models(cases)},
        itt=itt.itt(cases, KM_CHECKPOINTS),
        timeline=_timeline(cohort),
        specification=specification,
        tables={e.key: e.compute(cohort) for e in specification if e.compute is not None},
    )


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, for the provenance section."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def analyse(path: str | Path) -> Results:
    """Load, validate and analyse a data file: every number of the report, computed once.

    Parameters
    ----------
    path : str or Path
        A register extract in any format :func:`rehabstats.load` reads.

    Returns
    -------
    Results
        Plain DataFrames and dataclasses, not yet protected by disclosure control
        (see :func:`rehabstats.protect`).

    Raises
    ------
    DataFileError
        The file cannot be read.
    ContractError
        The data break the contract; ``error.report`` lists every problem.

    Examples
    --------
    >>> import rehabstats as rs
    >>> results = rs.analyse("data/register.csv")
    >>> results.itt.table[["event", "n"]].to_dict("records")[0]
    {'event': 'meeting', 'n': 3667}
    """
    # The file readers and pandera take a second to import: only here, not where the
    # report's kernels read stored results.
    from rehabstats.data.loading import load
    from rehabstats.data.validation import validate

    path = Path(path)
    report: ValidationReport
    report, typed = validate(load(path))
    if not report.ok:
        raise ContractError(report)
    dataset = DatasetInfo(path.name, report.n_rows, file_sha256(path), report.notes)
    return compute_results(derive_cohort(typed), dataset)
