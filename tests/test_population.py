"""The study population: the flow of Tabell 1 and each event's analysis, every row counted."""

from __future__ import annotations

import pandas as pd
import pytest

from rehabstats.data.population import BUCKETS, EVENTS, derive_cohort
from rehabstats.data.validation import ContractError, validate


@pytest.fixture(scope="module")
def typed(small_register: pd.DataFrame) -> pd.DataFrame:
    report, typed = validate(small_register)
    assert report.ok, report
    return typed


def test_every_input_row_is_in_exactly_one_bucket(typed: pd.DataFrame) -> None:
    cohort = derive_cohort(typed)
    assert cohort.buckets.index.equals(typed.index)
    assert cohort.buckets.value_counts().reindex(BUCKETS).sum() == len(typed)
    flow = cohort.flow().set_index("step")["n"]
    assert flow["cases_in_register"] == len(typed)
    assert flow["cases_in_register"] - flow["not_randomised"] == flow["randomised_cases"]
    assert flow["randomised_cases"] - flow["duplicates"] == flow["sampling_frame"]
    assert flow["sampling_frame"] - flow["not_reviewed"] == flow["studied"]
    excluded = cohort.flow().query("excluded")["n"].sum()
    assert excluded + flow["studied"] == len(typed)


def test_every_studied_case_has_one_status_per_event(typed: pd.DataFrame) -> None:
    cohort = derive_cohort(typed)
    accounting = cohort.event_accounting()
    for event in EVENTS:
        assert accounting.query("event == @event")["n"].sum() == len(cohort.cases)
        usable = cohort.cases[f"{event}_status"].isin(["event", "censored"])
        assert cohort.cases.loc[usable, f"{event}_days"].notna().all()
        assert cohort.cases.loc[~usable, f"{event}_days"].isna().all()
        assert (cohort.cases.loc[usable, f"{event}_days"] >= 0).all()


def _two_cases(typed: pd.DataFrame) -> pd.DataFrame:
    """Two reviewed cases of each group (control, treatment, declined)."""
    studied = typed[typed["file_reviewed"].fillna(False).astype(bool)]
    declined = studied["declined"].fillna(False).astype(bool)
    group = studied["arm"].astype(str).where(~declined, "declined")
    return studied.groupby(group).head(2).copy()


def test_a_person_randomised_again_is_a_duplicate_and_the_first_is_kept(
    typed: pd.DataFrame,
) -> None:
    frame = _two_cases(typed).reset_index(drop=True)
    later = frame["randomisation_date"].idxmax()
    earlier = frame["randomisation_date"].idxmin()
    frame.loc[later, "person_id"] = frame.loc[earlier, "person_id"]
    cohort = derive_cohort(frame)
    assert cohort.buckets[later] == "duplicate"
    assert cohort.buckets[earlier] == "studied"


def test_an_event_flag_without_a_date_is_left_out_and_counted(typed: pd.DataFrame) -> None:
    frame = _two_cases(typed).reset_index(drop=True)
    frame.loc[0, "plan"] = True
    frame.loc[0, "plan_date"] = pd.NaT
    frame.loc[1, "plan"] = False
    frame.loc[1, "plan_date"] = frame.loc[1, "case_start_date"] + pd.Timedelta(days=3)
    cases = derive_cohort(frame).cases
    assert cases.loc[0, "plan_status"] == "date_missing"
    assert cases.loc[1, "plan_status"] == "date_without_event"
    assert pd.isna(cases.loc[0, "plan_days"])


def test_censored_cases_count_days_to_the_file_review(typed: pd.DataFrame) -> None:
    cases = derive_cohort(typed).cases
    censored = cases["measure_status"] == "censored"
    days = (cases["followup_end_date"] - cases["case_start_date"]).dt.days
    assert (cases.loc[censored, "measure_days"] == days[censored]).all()


def test_a_group_with_no_cases_is_refused(typed: pd.DataFrame) -> None:
    frame = typed[typed["arm"] != "control"]
    with pytest.raises(ContractError, match="group 'control' has no studied cases"):
        derive_cohort(frame)
