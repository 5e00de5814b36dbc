"""rehabstats against R's survival package: every estimator of the report, a second time.

``benchmarks/peer/analysis.R`` reads the register CSV itself and derives the study
population, the groups, each event's status and days, the Kaplan–Meier curves, the
log-rank tests and the Cox models B3–B6 (fixed and, for B5 and B6, time-varying through
survival's ``tmerge``) from the documented definitions, in base R and survival only. Here
its figures meet rehabstats' own unprotected results (:func:`rehabstats.analyse`) on the
default data and on a small generated register edited to hold the cases where two
readings of a definition could part (see :func:`_edge_register`).

Tolerances, and why:

* counts (the flow, cases, events, left out, numbers at risk, a level's cases): equal;
* Kaplan–Meier shares: 1e-9 percentage points, log-rank statistics: relative 1e-9 (their
  p-values relative 1e-7, as d ln p / dχ² is about ½ and χ² up to ~150): the same sums in
  another order, which agree to ~1e-13;
* Cox coefficients: 5e-4 standard errors; standard errors, hazard ratios and interval
  bounds: relative 1e-4. lifelines (step 0.95) stops Newton–Raphson when the
  log-likelihood changes by less than 1e-9 of itself, a little before the maximum, and
  the smaller the sample the further: B6 of the default data stops 1.3e-5 standard
  errors away and B3 of the 400-row register 8.8e-5 (hazard ratios 1.2e-6 and 2e-5
  apart), in both cases exactly the Newton step left from rehabstats' estimate, while R
  (run to 1e-11) is within 1e-11 of the maximum. So the tolerance is the convergence's,
  not rounding's, with a margin of about five;
* Cox p-values: relative 5e-4·(1 + |z|), what that shift of z does to a two-sided normal
  p-value (d ln p / dz is at most 1 + |z|); below 1e-300 both only need to be, since
  scipy's chi-square tail flushes to 0 where R's normal tail still gives a subnormal.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rehabstats.data.loading import write_csv
from rehabstats.data.population import EVENTS
from rehabstats.data.synth import generate
from rehabstats.reporting.results import Results, analyse

ROOT = Path(__file__).resolve().parents[1]
ANALYSIS = ROOT / "benchmarks" / "peer" / "analysis.R"
FILES = ("flow", "events", "km", "logrank", "cox", "models")
MODELS = ("B3", "B4", "B5", "B6", "TV_B5", "TV_B6")
COMPARISONS = ("overall", "treatment_vs_control", "declined_vs_control")
SHARE_ATOL = 1e-9
LOGRANK_RTOL, LOGRANK_P_RTOL = 1e-9, 1e-7
COEF_SE, RATIO_RTOL = 5e-4, 1e-4
P_FLOOR = 1e-300


def run_r(data: Path, out: Path) -> dict[str, pd.DataFrame]:
    """analysis.R's figures of ``data``; a machine without R fails (``make test``
    installs it), it does not skip the check."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.fail(
            "the comparison with R needs Rscript and R's survival package (Debian's "
            "r-base-core and r-cran-survival): `make test` installs them"
        )
    done = subprocess.run(
        [rscript, str(ANALYSIS), str(data), str(out)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(
            f"analysis.R failed (`make test` installs r-base-core and r-cran-survival):\n"
            f"{done.stderr[-3000:]}"
        )
    return {name: pd.read_csv(out / f"{name}.csv") for name in FILES}


def _days(frame: pd.DataFrame, column: str, days: int) -> pd.Series:
    return frame[column] + pd.Timedelta(days=days)


def _edge_register(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """A generated register with the cases where the definitions must be read exactly.

    Generated data have none of these, so each is made on a few studied cases: a meeting
    on day 0, on the day the measure started and on the day after it; a measure on day 0;
    a date without the event marked; a date after the file review; a person randomised
    twice whose later case id has the earlier date, and one randomised twice on the same
    day (the smaller case id is kept).
    """
    frame = generate(n, seed=seed)
    reviewed = frame["randomised"] & frame["file_reviewed"]
    both = reviewed & frame["measure"].fillna(False) & frame["meeting"].fillna(False)
    both &= frame["measure_date"].notna() & frame["meeting_date"].notna()
    room = both & (_days(frame, "measure_date", 1) <= frame["followup_end_date"])
    rows = frame.index[room][:12]
    frame.loc[rows[0:3], "meeting_date"] = frame.loc[rows[0:3], "case_start_date"]
    frame.loc[rows[3:6], "meeting_date"] = frame.loc[rows[3:6], "measure_date"]
    frame.loc[rows[6:9], "meeting_date"] = _days(frame.loc[rows[6:9]], "measure_date", 1)
    frame.loc[rows[9:12], "measure_date"] = frame.loc[rows[9:12], "case_start_date"]
    no_plan = frame.index[reviewed & frame["plan"].eq(False)][:3]
    frame.loc[no_plan, "plan_date"] = _days(frame.loc[no_plan], "case_start_date", 10)
    met = frame.index[reviewed & frame["meeting_date"].notna()].difference(rows)[:3]
    frame.loc[met, "meeting_date"] = _days(frame.loc[met], "followup_end_date", 5)
    first, second, third, fourth = frame.index[reviewed & ~both][:4]
    for kept, again, days in ((second, first, 1), (third, fourth, 0)):
        frame.loc[again, "person_id"] = frame.loc[kept, "person_id"]
        frame.loc[again, "randomisation_date"] = frame.loc[
            kept, "randomisation_date"
        ] + pd.Timedelta(days=days)
    return frame


@pytest.fixture(scope="module", params=["default", "edge"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Results, dict[str, pd.DataFrame]]:
    """rehabstats' results and R's figures of one dataset: the default data, and the
    small generated register with the edge cases."""
    folder = tmp_path_factory.mktemp(f"r-{request.param}")
    data = ROOT / "data" / "register.csv"
    if request.param == "edge":
        data = folder / "register.csv"
        write_csv(_edge_register(), data)
    r = run_r(data, folder / "r")  # first: without R, fail before computing anything
    if request.param == "default":
        return request.getfixturevalue("default_results"), r
    return analyse(data), r


def test_the_edge_register_has_its_edge_cases() -> None:
    """The edits of :func:`_edge_register` make the cases they are there for."""
    frame = _edge_register()
    studied = frame["randomised"] & frame["file_reviewed"]
    start, measure = frame["case_start_date"], frame["measure_date"]
    assert (studied & frame["meeting_date"].eq(start)).sum() >= 3
    assert (studied & frame["meeting_date"].eq(measure)).sum() >= 3
    assert (studied & frame["meeting_date"].eq(_days(frame, "measure_date", 1))).sum() >= 3
    assert (studied & measure.eq(start)).sum() >= 3
    assert (studied & frame["plan"].eq(False) & frame["plan_date"].notna()).sum() == 3
    assert (studied & (frame["meeting_date"] > frame["followup_end_date"])).sum() == 3
    assert frame.loc[frame["randomised"], "person_id"].duplicated().sum() >= 2


def test_population_flow_and_event_tables_agree(pair) -> None:
    results, r = pair
    assert results.flow["step"].tolist() == r["flow"]["step"].tolist()
    assert results.flow["n"].tolist() == r["flow"]["n"].tolist()
    for event in EVENTS:
        ours = results.events[event].table.set_index("group")
        theirs = r["events"].loc[r["events"]["event"].eq(event)].set_index("group")
        theirs = theirs.loc[ours.index]
        for column in ("n", "events", "left_out"):
            assert ours[column].tolist() == theirs[column].tolist(), (event, column)
        for column in ("mean_days", "median_days", "share_pct"):
            np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-12, err_msg=event)


def test_kaplan_meier_shares_and_numbers_at_risk_agree(pair) -> None:
    """Every day of the diagrams (their marked days among them) and the quoted shares."""
    results, r = pair
    for event in EVENTS:
        found = results.events[event]
        ours = pd.concat([found.curves, found.shares]).drop_duplicates(["group", "day"])
        theirs = r["km"].loc[r["km"]["event"].eq(event)]
        both = ours.merge(theirs, on=["group", "day"], how="left", suffixes=("", "_r"))
        assert both["at_risk_r"].notna().all(), f"{event}: days R did not estimate"
        assert both["at_risk"].tolist() == both["at_risk_r"].astype(int).tolist(), event
        np.testing.assert_allclose(
            both["cum_share_pct"], both["cum_share_pct_r"], rtol=0, atol=SHARE_ATOL, err_msg=event
        )


def test_logrank_tests_agree(pair) -> None:
    results, r = pair
    for event in EVENTS:
        theirs = r["logrank"].loc[r["logrank"]["event"].eq(event)].set_index("comparison")
        for name in COMPARISONS:
            ours = getattr(results.events[event].logrank, name)
            expected = theirs.loc[name]
            assert ours.df == expected["df"]
            assert ours.statistic == pytest.approx(expected["statistic"], rel=LOGRANK_RTOL)
            assert ours.p_value == pytest.approx(expected["p_value"], rel=LOGRANK_P_RTOL)


@pytest.mark.parametrize("model", MODELS)
def test_cox_models_agree(pair, model: str) -> None:
    """Same sample and terms; estimates to the convergence tolerance (module doc)."""
    results, r = pair
    result = results.cox[model]
    summary = r["models"].set_index("model").loc[model]
    assert result.converged
    assert (result.n, result.events) == (summary["n"], summary["events"])
    table = result.table.set_index("term")
    # rehabstats lists a category without cases in the sample, without an estimate
    empty = table["n"].eq(0)
    assert table.loc[empty, "hazard_ratio"].isna().all()
    ours = table.loc[~empty]
    theirs = r["cox"].loc[r["cox"]["model"].eq(model)].set_index("term")
    assert sorted(ours.index) == sorted(theirs.index)
    theirs = theirs.loc[ours.index]
    assert ours["reference"].tolist() == theirs["reference"].tolist()
    assert ours["n"].tolist() == theirs["n"].tolist()
    estimated = ~ours["reference"].to_numpy()
    ours, theirs = ours.loc[estimated], theirs.loc[estimated]
    shift = (ours["coef"] - theirs["coef"]).abs() / theirs["se"]
    assert shift.max() <= COEF_SE, shift.idxmax()
    for column in ("se", "hazard_ratio", "ci_low", "ci_high"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=RATIO_RTOL, err_msg=column)
    _assert_p_values(ours["p_value"], theirs["p_value"], theirs["coef"] / theirs["se"])


def _assert_p_values(ours: pd.Series, theirs: pd.Series, z: pd.Series) -> None:
    """Equal to what the coefficients' tolerance allows; both tiny below ``P_FLOOR``."""
    tiny = theirs < P_FLOOR
    assert (ours[tiny] < P_FLOOR).all(), ours[tiny]
    rtol = COEF_SE * (1 + z.abs())
    gap = (ours - theirs).abs() / theirs
    assert (gap[~tiny] <= rtol[~tiny]).all(), gap[~tiny].idxmax()
