"""Backtests of value-at-risk and of forecast distributions: Kupiec's proportion of failures,
Christoffersen's independence and conditional coverage, Berkowitz's PIT test, the
Kolmogorov-Smirnov uniformity test and the Basel traffic light.

Each test takes plain arrays and returns a ``TestResult``. Likelihood ratios follow the papers:
Kupiec (1995), "Techniques for verifying the accuracy of risk measurement models", J.
Derivatives 3(2); Christoffersen (1998), "Evaluating interval forecasts", Int. Econ. Rev. 39(4);
Berkowitz (2001), "Testing density forecasts, with applications to risk management", J. Bus.
Econ. Stat. 19(4); Basel Committee (1996), "Supervisory framework for the use of backtesting in
conjunction with the internal models approach to market risk capital requirements", Table 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

from engine.errors import ModelError

Zone = Literal["green", "yellow", "red"]
BASEL_WINDOW = 250  # sessions the Basel traffic light counts over
BASEL_YELLOW = 0.95  # cumulative binomial probability at which the yellow zone starts
BASEL_RED = 0.9999  # ... and the red zone


@dataclass(frozen=True)
class TestResult:
    """One test: its statistic, p-value and degrees of freedom, on ``n`` observations.

    ``passed`` is ``pvalue >= level`` (5 % unless the caller asks otherwise)."""

    name: str
    statistic: float
    pvalue: float
    dof: int
    n: int
    level: float = 0.05

    @property
    def passed(self) -> bool:
        return bool(self.pvalue >= self.level)


def _xlogy(x: float, y: float) -> float:
    """x log y with 0 log 0 = 0."""
    return 0.0 if x == 0 else x * math.log(y)


def _hits(hits: np.ndarray) -> np.ndarray:
    values = np.asarray(hits)
    if values.ndim != 1 or values.size == 0:
        raise ModelError(f"VaR backtests need a non-empty 1-D series of hits, got {values.shape}")
    if not np.isin(values, (0, 1)).all():
        raise ModelError("VaR hits must be 0 (no exceedance) or 1 (the loss exceeded the VaR)")
    return values.astype(np.int64)


def kupiec_pof(hits: np.ndarray, p: float) -> TestResult:
    """Kupiec's proportion-of-failures test: are the ``x`` exceedances of ``n`` days consistent
    with the VaR's tail probability ``p`` (0.01 for a 99 % VaR)? LR ~ chi2(1)."""
    h = _hits(hits)
    if not 0.0 < p < 1.0:
        raise ModelError(f"the VaR's tail probability must lie in (0, 1), got {p}")
    n, x = h.size, int(h.sum())
    observed = x / n
    null = _xlogy(n - x, 1 - p) + _xlogy(x, p)
    alternative = _xlogy(n - x, 1 - observed) + _xlogy(x, observed)
    lr = max(-2.0 * (null - alternative), 0.0)
    return TestResult("Kupiec POF", lr, float(stats.chi2.sf(lr, 1)), 1, n)


def _follows(h: np.ndarray, follows: np.ndarray | None) -> np.ndarray:
    """Which of the pairs (day t-1, day t), t >= 1, are transitions: all of them, or where
    ``follows[t]`` says day t comes one period after day t-1 (not across a gap in the data)."""
    if follows is None:
        return np.ones(max(h.size - 1, 0), dtype=bool)
    mask = np.asarray(follows)
    if mask.shape != h.shape:
        raise ModelError(f"follows must mark each of the {h.size} days, got shape {mask.shape}")
    return mask[1:].astype(bool)


def transition_counts(
    hits: np.ndarray, follows: np.ndarray | None = None
) -> tuple[int, int, int, int]:
    """(n00, n01, n10, n11): days with no exceedance or one, after a day without or with one;
    with ``follows`` (one flag per day), only the days that come one period after the day
    before count: a pair across a gap in the data is not a transition."""
    h = _hits(hits)
    counted = _follows(h, follows)
    before, after = h[:-1][counted], h[1:][counted]
    return (
        int(np.sum((before == 0) & (after == 0))),
        int(np.sum((before == 0) & (after == 1))),
        int(np.sum((before == 1) & (after == 0))),
        int(np.sum((before == 1) & (after == 1))),
    )


def christoffersen_independence(hits: np.ndarray, follows: np.ndarray | None = None) -> TestResult:
    """Christoffersen's independence test: is an exceedance as likely after a day with one as
    after a day without (a first-order Markov chain against independence)? LR ~ chi2(1).
    ``follows``: see ``transition_counts``."""
    n00, n01, n10, n11 = transition_counts(hits, follows)
    n = n00 + n01 + n10 + n11
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / n if n else 0.0
    null = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    alternative = (
        _xlogy(n00, 1 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1 - pi11) + _xlogy(n11, pi11)
    )
    lr = max(-2.0 * (null - alternative), 0.0)
    return TestResult("Christoffersen independence", lr, float(stats.chi2.sf(lr, 1)), 1, n + 1)


def christoffersen_conditional_coverage(
    hits: np.ndarray, p: float, follows: np.ndarray | None = None
) -> TestResult:
    """Christoffersen's conditional coverage: Kupiec's LR plus the independence LR, ~ chi2(2),
    both on the days that end a transition (the days after the first, as in the paper; with
    ``follows``, those that come one period after the day before, see ``transition_counts``)."""
    h = _hits(hits)
    after = h[1:][_follows(h, follows)]
    pof = kupiec_pof(after, p) if after.size else kupiec_pof(h, p)
    lr = pof.statistic + christoffersen_independence(h, follows).statistic
    return TestResult(
        "Christoffersen conditional coverage", lr, float(stats.chi2.sf(lr, 2)), 2, h.size
    )


def _ar1_loglik(theta: np.ndarray, z: np.ndarray) -> float:
    """Exact Gaussian log-likelihood of an AR(1) z_t = c + rho z_{t-1} + s e_t."""
    c, rho, log_s = theta
    s2 = math.exp(2.0 * log_s)
    if abs(rho) >= 1.0 or s2 <= 0.0:  # s2 underflows as the optimiser chases constant PITs
        return -np.inf
    mean0, var0 = c / (1.0 - rho), s2 / (1.0 - rho * rho)
    first = -0.5 * (math.log(2 * math.pi * var0) + (z[0] - mean0) ** 2 / var0)
    e = z[1:] - c - rho * z[:-1]
    rest = -0.5 * (e.size * math.log(2 * math.pi * s2) + float(e @ e) / s2)
    return first + rest


def berkowitz(pit: np.ndarray) -> TestResult:
    """Berkowitz's likelihood-ratio test of a density forecast: the PITs, mapped through the
    normal quantile, are i.i.d. N(0, 1) against an AR(1) with free mean and variance.
    LR ~ chi2(3). PITs of exactly 0 or 1 are moved in by 1e-10 (the normal quantile is
    infinite there)."""
    u = np.asarray(pit, dtype=np.float64)
    if u.ndim != 1 or u.size < 10 or not np.isfinite(u).all() or (u < 0).any() or (u > 1).any():
        raise ModelError("Berkowitz's test needs at least 10 PITs in [0, 1]")
    z = stats.norm.ppf(np.clip(u, 1e-10, 1 - 1e-10))
    start = np.array([z.mean(), 0.0, math.log(max(z.std(), 1e-6))])
    fitted = optimize.minimize(
        lambda t: -_ar1_loglik(t, z),
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000},
    )
    lr = max(-2.0 * (_ar1_loglik(np.zeros(3), z) - -fitted.fun), 0.0)
    return TestResult("Berkowitz", lr, float(stats.chi2.sf(lr, 3)), 3, z.size)


def ks_uniform(pit: np.ndarray) -> TestResult:
    """Kolmogorov-Smirnov test of the PITs against U(0, 1). Caveats: it assumes independent
    PITs (overlapping multi-day forecasts are not), and the parameters were estimated on the
    same history, so its p-values are approximate; Berkowitz's test is the sharper one."""
    u = np.asarray(pit, dtype=np.float64)
    if u.ndim != 1 or u.size == 0:
        raise ModelError("the KS test needs a non-empty 1-D series of PITs")
    result = stats.kstest(u, "uniform")
    return TestResult(
        "Kolmogorov-Smirnov", float(result.statistic), float(result.pvalue), 0, u.size
    )


@dataclass(frozen=True)
class TrafficLight:
    """The Basel zone of a 99 % VaR model: ``exceedances`` in ``n`` sessions, and the
    cumulative binomial probability of at most that many under a correct model."""

    zone: Zone
    exceedances: int
    n: int
    cumulative: float


def basel_traffic_light(hits: np.ndarray, p: float = 0.01) -> TrafficLight:
    """The Basel Committee's traffic light on the last ``BASEL_WINDOW`` sessions (all of them
    when fewer): green below a cumulative probability of 95 %, red from 99.99 %. On 250
    sessions at 99 % that is 0-4 exceedances green, 5-9 yellow, 10 or more red (1996, Table 2)."""
    h = _hits(hits)[-BASEL_WINDOW:]
    x = int(h.sum())
    cumulative = float(stats.binom.cdf(x, h.size, p))
    zone: Zone = (
        "red" if cumulative >= BASEL_RED else "yellow" if cumulative >= BASEL_YELLOW else "green"
    )
    return TrafficLight(zone, x, h.size, cumulative)
