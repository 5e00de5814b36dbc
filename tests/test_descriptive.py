"""B1's tests: one per row of age and one per categorical variable, checked by hand.

Each test of :func:`rehabstats.stats.descriptive.balance_by_arm` is compared with a second
computation that does not go through scipy's test: the chi-square statistic and its
p-value written out for a small table and statsmodels' test on the default data, the
Mann–Whitney U test's exact p-value counted over every way to split the ranks and its
normal approximation with ties written out, and the t-test against statsmodels.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import Table
from statsmodels.stats.weightstats import ttest_ind

from rehabstats.data.dictionary import load_dictionary
from rehabstats.stats.descriptive import (
    BALANCE_VARIABLES,
    EXPORT_VARIABLE,
    balance_by_arm,
    balance_tests,
)


def cases_frame(control: list[int], offered: list[int], benefit: list[str] | None = None):
    """Cases with these ages by arm; ``benefit`` per case (control first), every other
    variable at its first category."""
    n = len(control) + len(offered)
    frame = {v: [load_dictionary()[v].codes[0]] * n for v in BALANCE_VARIABLES}
    if benefit is not None:
        frame["benefit"] = benefit
    frame["arm_group"] = ["control"] * len(control) + ["treatment_arm"] * len(offered)
    frame["age"] = control + offered
    return pd.DataFrame(frame)


def p_values(table: pd.DataFrame, variable: str) -> pd.Series:
    return table.loc[table["variable"] == variable].set_index("category")["p_value"]


def test_one_chi_square_test_per_variable_over_all_its_categories():
    """A 3 × 2 table by hand: expected counts, the statistic, and p = exp(−χ²/2) at 2 df."""
    codes = load_dictionary()["benefit"].codes
    observed = np.array([[10, 30], [20, 15], [5, 5]])  # categories × (control, offered)
    by_arm = [[codes[i] for i in range(3) for _ in range(observed[i, arm])] for arm in (0, 1)]
    ages = [list(range(20, 20 + len(b))) for b in by_arm]
    table = balance_by_arm(cases_frame(*ages, by_arm[0] + by_arm[1]))
    expected = observed.sum(axis=1)[:, None] * observed.sum(axis=0)[None, :] / observed.sum()
    statistic = ((observed - expected) ** 2 / expected).sum()
    by_category = p_values(table, "benefit")
    assert by_category.nunique() == 1, "one test, the same p-value on each category's row"
    assert by_category.iloc[0] == pytest.approx(math.exp(-statistic / 2), rel=1e-12)
    # a variable with one category has nothing to test
    assert p_values(table, "sex").isna().all()


def test_mann_whitney_exact_p_value_counted_over_every_split_of_the_ranks():
    """No ties, small arms: the exact two-sided p-value, 2·P(U ≥ the larger U)."""
    control, offered = [30, 41, 52, 25], [35, 60, 47, 58, 44]
    ranks = {age: rank for rank, age in enumerate(sorted(control + offered), start=1)}
    n1, n2 = len(control), len(offered)
    u = sum(ranks[a] for a in control) - n1 * (n1 + 1) / 2
    u_large = max(u, n1 * n2 - u)
    splits = [sum(s) - n1 * (n1 + 1) / 2 for s in itertools.combinations(range(1, 10), n1)]
    exact = min(1.0, 2 * sum(s >= u_large for s in splits) / len(splits))
    table = balance_by_arm(cases_frame(control, offered))
    assert p_values(table, "age")["median"] == pytest.approx(exact, rel=1e-12)


def test_mann_whitney_with_ties_is_the_normal_approximation_written_out():
    """Tied ages: mid-ranks, the tie-corrected variance and the continuity correction."""
    control = [30, 30, 35, 40, 40, 40, 45, 50, 50, 55, 60, 62]
    offered = [28, 30, 35, 35, 40, 44, 45, 45, 50, 52, 58, 60, 63, 64, 64]
    ages = pd.Series(control + offered, dtype=float)
    ranks = ages.rank()  # mid-ranks
    n1, n2, n = len(control), len(offered), len(ages)
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    ties = ages.value_counts()
    variance = n1 * n2 / 12 * ((n + 1) - (ties**3 - ties).sum() / (n * (n - 1)))
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    table = balance_by_arm(cases_frame(control, offered))
    assert p_values(table, "age")["median"] == pytest.approx(math.erfc(z / math.sqrt(2)))


def test_the_mean_and_median_rows_carry_different_tests(default_results):
    """The t-test on the mean row, the rank test on the median row, none on the SD's."""
    age = p_values(default_results.balance_by_arm, "age")
    assert age["mean"] != age["median"] and np.isnan(age["sd"])


def test_b1_agrees_with_statsmodels_on_generated_cases():
    """Every variable's chi-square test and the t-test, on a generated register."""
    from rehabstats.data.population import derive_cohort
    from rehabstats.data.synth import generate
    from rehabstats.data.validation import validate

    _, typed = validate(generate(600, seed=11))
    cases = derive_cohort(typed).cases
    table = balance_by_arm(cases)
    arms = cases["arm_group"].astype(str)
    for variable in BALANCE_VARIABLES:
        counts = pd.crosstab(cases[variable].astype(str), arms).to_numpy()
        counts = counts[counts.sum(axis=1) > 0]
        p = Table(counts).test_nominal_association().pvalue
        by_category = p_values(table, EXPORT_VARIABLE.get(variable, variable))
        assert by_category.to_numpy() == pytest.approx([p] * len(by_category)), variable
    age = cases["age"].astype(float)
    t = ttest_ind(age[arms == "control"], age[arms == "treatment_arm"], usevar="pooled")
    assert p_values(table, "age")["mean"] == pytest.approx(t[1])


def test_each_test_is_counted_once(default_results):
    tests = balance_tests(default_results.balance_by_arm)
    variables = [EXPORT_VARIABLE.get(v, v) for v in BALANCE_VARIABLES]
    assert list(tests.index) == ["age:mean", "age:median", *variables]
    assert tests.notna().all()


def test_a_variable_s_test_is_hidden_where_one_of_its_rows_lost_its_p_value(default_results):
    """Disclosure control removes the p-value of a row with a hidden cell; the variable's
    test rests on that cell too, so it is not shown (nor counted)."""
    table = default_results.balance_by_arm.copy()
    row = (table["variable"] == "county") & (table["category"] == "dalarna")
    table.loc[row, "p_value"] = np.nan
    tests = balance_tests(table)
    assert np.isnan(tests["county"]) and tests.drop("county").notna().all()
