"""The short-history model: what a market too young to fit (or to validate) is simulated with,
never "no model"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import ModelError
from engine.volatility import VolatilityParams, daily_log_returns

FALLBACK_ALPHA = 0.05  # the short-history default's ARCH coefficient ...
FALLBACK_BETA = 0.90  # ... and GARCH coefficient: persistence 0.95, a half-life of 14 sessions
FALLBACK_WINDOW = 250  # returns whose variance the default reverts to
FALLBACK_MIN_RETURNS = 20  # fewer returns give no usable scale


def fallback_params(prices: pd.Series, session_gaps: np.ndarray | None = None) -> VolatilityParams:
    """The documented model for a history too short to fit: GARCH(1,1)-normal with fixed
    alpha 0.05 and beta 0.90, zero drift, and omega set so that the long-run variance is the
    realised variance of the last 250 returns (all of them when fewer). The recursion is run
    over those returns from that level to give today's state. Needs 20 returns;
    ``ModelError`` otherwise."""
    returns = daily_log_returns(prices, session_gaps).to_numpy()[-FALLBACK_WINDOW:]
    if returns.size < FALLBACK_MIN_RETURNS:
        raise ModelError(
            f"{returns.size} daily returns to {prices.index[-1].date()}: even the short-history "
            f"default needs {FALLBACK_MIN_RETURNS} to set its scale; use a longer history"
        )
    level = float(np.mean(returns * returns))  # about zero drift: the realised variance
    if level <= 0:
        raise ModelError(f"the {returns.size} returns to {prices.index[-1].date()} are all 0")
    omega = level * (1.0 - FALLBACK_ALPHA - FALLBACK_BETA)
    variance = level
    for shock in returns[:-1]:
        variance = omega + FALLBACK_ALPHA * shock * shock + FALLBACK_BETA * variance
    return VolatilityParams(
        model="garch",
        dist="normal",
        mu=0.0,
        omega=omega,
        alpha=FALLBACK_ALPHA,
        gamma=0.0,
        beta=FALLBACK_BETA,
        nu=None,
        last_variance=variance,
        last_residual=float(returns[-1]),
        last_price=float(prices.iloc[-1]),
        last_date=prices.index[-1].date().isoformat(),
        unchanged_prob=float(np.mean(returns == 0)),
        last_return=float(returns[-1]),
    )
