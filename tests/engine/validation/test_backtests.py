"""The VaR and density backtests against independent implementations (scipy, statsmodels) and
the Basel Committee's published table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engine.errors import ModelError
from engine.validation import (
    basel_traffic_light,
    berkowitz,
    christoffersen_conditional_coverage,
    christoffersen_independence,
    ks_uniform,
    kupiec_pof,
)
from engine.validation.backtests import transition_counts
from engine.validation.choice import _tests
from engine.validation.rolling import CandidateScores, candidate


def _hits(n: int, p: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < p).astype(int)


@pytest.mark.parametrize(
    ("n", "x", "p"), [(250, 4, 0.01), (250, 12, 0.01), (1000, 38, 0.05), (500, 0, 0.01)]
)
def test_kupiec_equals_the_binomial_likelihood_ratio(n, x, p):
    hits = np.r_[np.ones(x, int), np.zeros(n - x, int)]
    expected = 2 * (stats.binom.logpmf(x, n, x / n) - stats.binom.logpmf(x, n, p))
    result = kupiec_pof(hits, p)
    assert result.statistic == pytest.approx(expected, abs=1e-9)
    assert result.pvalue == pytest.approx(stats.chi2.sf(expected, 1), abs=1e-12)


def test_kupiec_published_example():
    """Jorion, Value at Risk (3rd ed.), 6.2: 250 days at 99 %, 10 exceptions: LR = 12.96,
    rejected; 4 exceptions: LR = 0.77, not rejected."""
    ten = kupiec_pof(np.r_[np.ones(10, int), np.zeros(240, int)], 0.01)
    four = kupiec_pof(np.r_[np.ones(4, int), np.zeros(246, int)], 0.01)
    assert ten.statistic == pytest.approx(12.96, abs=0.01) and not ten.passed
    assert four.statistic == pytest.approx(0.77, abs=0.01) and four.passed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_christoffersen_independence_is_the_g_test_of_the_transition_table(seed):
    hits = _hits(600, 0.08, seed)
    hits[100:104] = 1  # a cluster
    n00, n01, n10, n11 = transition_counts(hits)
    g, pvalue, _, _ = stats.chi2_contingency(
        [[n00, n01], [n10, n11]], correction=False, lambda_="log-likelihood"
    )
    result = christoffersen_independence(hits)
    assert result.statistic == pytest.approx(g, rel=1e-10)
    assert result.pvalue == pytest.approx(pvalue, rel=1e-8)


def test_a_pair_across_a_gap_in_the_data_is_not_a_transition():
    """Runs of two exceedances split by a gap (a holiday, a month without data) are two
    separate days, not a cluster: with the gap marked they count as independent, and the
    counts are the contingency table of the pairs that follow each other."""
    hits = np.zeros(400, int)
    hits[np.arange(20, 380, 40)] = 1
    hits[np.arange(21, 381, 40)] = 1  # nine pairs of consecutive rows ...
    follows = np.ones(400, bool)
    follows[np.arange(21, 381, 40)] = False  # ... each across a gap
    assert not christoffersen_independence(hits).passed
    n00, n01, n10, n11 = transition_counts(hits, follows)
    assert (n00 + n01 + n10 + n11, n11) == (399 - 9, 0)
    g, pvalue, _, _ = stats.chi2_contingency(
        [[n00, n01], [n10, n11]], correction=False, lambda_="log-likelihood"
    )
    result = christoffersen_independence(hits, follows)
    assert result.statistic == pytest.approx(g, rel=1e-10) and result.passed
    assert result.pvalue == pytest.approx(pvalue, rel=1e-8)
    everyday = christoffersen_independence(hits, np.ones(400, bool))
    assert everyday.statistic == christoffersen_independence(hits).statistic
    with pytest.raises(ModelError, match="follows must mark each of the 400 days"):
        transition_counts(hits, follows[:-1])


def test_conditional_coverage_adds_the_two_parts():
    hits = _hits(500, 0.02, 7)
    cc = christoffersen_conditional_coverage(hits, 0.01)
    parts = kupiec_pof(hits[1:], 0.01).statistic + christoffersen_independence(hits).statistic
    assert cc.statistic == pytest.approx(parts) and cc.dof == 2
    assert cc.pvalue == pytest.approx(stats.chi2.sf(parts, 2))


def test_clustered_exceedances_fail_independence():
    hits = np.zeros(500, int)
    for start in (50, 200, 350):
        hits[start : start + 4] = 1  # 12 exceedances in three runs of four
    assert not christoffersen_independence(hits).passed
    assert kupiec_pof(hits, 0.025).passed  # the count alone looks fine: 12 of 500


def test_berkowitz_equals_statsmodels_exact_ar1_likelihood():
    """The LR against an AR(1) with free mean and variance, the AR(1) fitted by exact maximum
    likelihood in statsmodels (Kalman filter), on PITs with a little autocorrelation."""
    from statsmodels.tsa.arima.model import ARIMA

    rng = np.random.default_rng(11)
    z = np.empty(400)
    z[0] = rng.standard_normal()
    for t in range(1, z.size):
        z[t] = 0.1 + 0.3 * z[t - 1] + 1.1 * rng.standard_normal()
    pits = stats.norm.cdf(z)
    fitted = ARIMA(z, order=(1, 0, 0), trend="c").fit()
    expected = 2 * (fitted.llf - stats.norm.logpdf(z).sum())
    result = berkowitz(pits)
    assert result.statistic == pytest.approx(expected, rel=1e-5)
    assert not result.passed


def test_berkowitz_and_ks_accept_uniform_pits():
    pits = np.random.default_rng(5).random(1000)
    assert berkowitz(pits).passed and ks_uniform(pits).passed
    assert ks_uniform(pits).statistic == pytest.approx(stats.kstest(pits, "uniform").statistic)


def test_berkowitz_rejects_constant_pits_without_a_domain_error():
    """Every PIT 0.5 (a forecast that never varies): the AR(1)'s variance goes to 0 as the
    optimiser chases it, and the test rejects instead of failing on log(0)."""
    assert berkowitz(np.full(50, 0.5)).pvalue < 1e-6


@pytest.mark.parametrize(
    ("exceptions", "zone", "cumulative"),
    [
        (0, "green", 0.0811),
        (4, "green", 0.8922),
        (5, "yellow", 0.9588),
        (9, "yellow", 0.9997),
        (10, "red", 0.9999),
    ],
)
def test_basel_traffic_light_published_table(exceptions, zone, cumulative):
    """Basel Committee (1996), Table 2: 250 observations of a 99 % VaR."""
    hits = np.r_[np.ones(exceptions, int), np.zeros(250 - exceptions, int)]
    light = basel_traffic_light(hits)
    assert light.zone == zone and light.exceedances == exceptions and light.n == 250
    assert light.cumulative == pytest.approx(cumulative, abs=5e-5)


def test_traffic_light_counts_only_the_last_250_sessions():
    hits = np.r_[np.ones(30, int), np.zeros(250, int)]
    assert basel_traffic_light(hits).zone == "green"


def test_bad_hits_are_named():
    with pytest.raises(ModelError, match=r"0 .* or 1"):
        kupiec_pof(np.array([0, 2, 1]), 0.01)
    with pytest.raises(ModelError, match="non-empty"):
        kupiec_pof(np.array([]), 0.01)
    with pytest.raises(ModelError, match="at least 10 PITs"):
        berkowitz(np.array([0.5, 1.2]))


def test_a_correct_var_fails_one_of_the_twelve_daily_tests_in_three_histories():
    """The battery a validation reports for the 1-day VaR (Kupiec, Christoffersen independence
    and conditional coverage; 95 % and 99 %; falls and rises: 12 tests at 5 %) on 1,000
    histories of 2,000 sessions from the model itself: each test rejects about 5 % of them,
    and at least one of the 12 rejects 31.1 % of them. So a correct model passes all 12 on four
    markets about a quarter of the time (0.689^4 = 0.23)."""
    rng = np.random.default_rng(0)
    levels = {0.05: stats.norm.ppf(0.05), 0.01: stats.norm.ppf(0.01)}
    rejected = np.zeros((1000, 12), dtype=bool)
    for r in range(1000):
        z = rng.standard_normal(2000)
        results = []
        for side in (1, -1):  # falls, rises
            for p, q in levels.items():
                hits = (side * z < q).astype(int)
                results += [
                    kupiec_pof(hits, p),
                    christoffersen_independence(hits),
                    christoffersen_conditional_coverage(hits, p),
                ]
        rejected[r] = [not t.passed for t in results]
    assert np.all((rejected.mean(axis=0) > 0.015) & (rejected.mean(axis=0) < 0.07))
    assert rejected.any(axis=1).mean() == pytest.approx(0.311)


def test_the_validation_counts_no_transition_across_missing_sessions():
    """The validation's tests read the session of each forecast: nine pairs of 1-day
    exceedances on consecutive rows, each pair split by a missing session, are no cluster
    (independence passes), and conditional coverage is Kupiec's LR on the days that end a
    transition plus that independence LR."""
    n = 400
    hits = np.zeros(n, int)
    hits[np.arange(20, 380, 40)] = 1
    hits[np.arange(21, 381, 40)] = 1
    session = np.arange(n) + np.cumsum(np.isin(np.arange(n), np.arange(21, 381, 40)))
    var = pd.DataFrame(
        {
            "date": pd.bdate_range("2020-01-01", periods=n),
            "horizon": 1,
            "return_pct": np.where(hits == 1, -5.0, 0.0),
            "q01": -8.0, "q05": -4.0, "q95": 4.0, "q99": 8.0,
            "pit": np.random.default_rng(3).uniform(size=n),
            "session": session,
        }
    )  # fmt: skip
    record = CandidateScores(candidate("garch-normal"), pd.DataFrame(), var, pd.DataFrame())
    rows = pd.DataFrame(_tests(record)[0])
    falls = rows[(rows.side == "long") & (rows.level == 0.95)].set_index("test")
    follows = np.r_[False, np.diff(session) == 1]
    independence = christoffersen_independence(hits, follows)
    assert falls.loc["Christoffersen independence", "pvalue"] == independence.pvalue
    assert independence.passed and not christoffersen_independence(hits).passed
    after = hits[1:][follows[1:]]
    cc = kupiec_pof(after, 0.05).statistic + independence.statistic
    assert falls.loc["Christoffersen conditional coverage", "statistic"] == pytest.approx(cc)
