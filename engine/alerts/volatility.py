"""The volatility rule: the fitted conditional volatility is above a level, or a multiple of its
long-run level (settings in ``engine.alerts.settings.VolatilityRule``).

The volatility of day t is the model's s.d. of the next session's return, known at the close of
t: sigma_{t+1} = sqrt(omega + (alpha + gamma 1[e_t < 0]) e_t^2 + beta sigma_t^2), in per cent
per day. That is arch's conditional volatility one session ahead, and on the last day it is
``VolatilityParams.next_variance``'s root: the figure a risk manager reads after today's close.
The recursion starts as arch's does, from the backcast of the first 75 squared deviations from
the sample mean (weights 0.94^i), so over the fitted sample it reproduces arch's series for a
constant mean. With an AR(1) mean the residuals are ``VolatilityParams.residuals`` (the first
day's yesterday taken as 0, where arch conditions on it), which arch's series meets within a
few sessions as the first day's weight dies away (beta^t).

Long-run level: for a stationary fit, the unconditional s.d. sqrt(omega / (1 - persistence));
for an integrated fit (persistence 1, as the real CEA's is) the unconditional variance is
infinite, so the level is the trailing one: the root mean conditional variance over the
``long_run_window`` sessions before the day. "Doubles" compares s.d.s: ratio 2 is twice the
long-run s.d. (four times the variance).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from engine.alerts import scan_nb as nb
from engine.alerts.prices import check_closes
from engine.alerts.records import Alert, Severity
from engine.alerts.settings import AlertRules, VolatilityRule
from engine.volatility import VolatilityParams, daily_log_returns, fit_volatility

BACKCAST_SPAN, BACKCAST_DECAY = 75, 0.94  # arch's backcast of the starting variance


def backcast(residuals: np.ndarray) -> float:
    """arch's starting value: a 0.94-decay weighted mean of the first 75 squared residuals."""
    tau = min(BACKCAST_SPAN, len(residuals))
    weights = BACKCAST_DECAY ** np.arange(tau)
    return float(np.sum(residuals[:tau] ** 2 * weights) / weights.sum())


def conditional_volatility(returns: pd.Series, params: VolatilityParams) -> pd.Series:
    """sigma_{t+1} of each return date t, per cent per day (see the module's docstring).

    ``returns``: daily log returns in per cent (``engine.volatility.daily_log_returns``).
    """
    residuals = np.ascontiguousarray(params.residuals(returns.to_numpy(dtype=np.float64)))
    variance = np.empty(len(residuals) + 1)
    if len(residuals):
        start = backcast(residuals - residuals.mean())  # arch: about the sample mean
        first = params.omega + (params.alpha + 0.5 * params.gamma + params.beta) * start
        nb.conditional_variance_nb(  # the last shock feeds the variance one session ahead
            residuals, params.omega, params.alpha, params.gamma, params.beta, first, variance
        )
    return pd.Series(np.sqrt(variance[1:]), index=returns.index, name="sigma_pct")


def long_run_volatility(
    sigma: pd.Series, params: VolatilityParams, rule: VolatilityRule
) -> tuple[pd.Series, str]:
    """The long-run s.d. for each day (per cent per day) and how it was measured."""
    mode = rule.long_run
    if mode == "auto":
        mode = "unconditional" if params.is_stationary else "trailing"
    if mode == "unconditional":
        level = float(np.sqrt(params.unconditional_variance))  # ModelError when integrated
        return pd.Series(level, index=sigma.index), "unconditional"
    window = rule.long_run_window
    trailing = (sigma**2).shift(1).rolling(window, min_periods=(window + 1) // 2).mean()
    return np.sqrt(trailing), f"trailing {window} sessions"


def _levels(values: np.ndarray, warning: float | None, critical: float | None) -> np.ndarray:
    level = np.zeros(len(values), dtype=np.int8)
    with np.errstate(invalid="ignore"):
        if warning is not None:
            level[values >= warning] = 1
        if critical is not None:
            level[values >= critical] = 2
    return level


def scan_volatility(
    closes: pd.Series,
    rules: AlertRules,
    *,
    instrument: str,
    params: VolatilityParams | None = None,
    since: dt.date | None = None,
    session_gaps: np.ndarray | None = None,
) -> list[Alert]:
    """Alerts of the volatility rule over a daily close history, oldest first.

    Args:
        closes: closes in currency per tonne on a sorted DatetimeIndex.
        rules: the settings (``rules.volatility``).
        instrument: what the alerts are about.
        params: the volatility model; ``None`` fits one to ``closes`` with
            ``fit_volatility(..., allow_nonstationary=True)`` (may raise ``ModelError``, and
            passes on its ``ModelWarning``s).
        since: only alerts dated after this day are returned (the history still feeds the
            recursion, the long-run level and the episodes).
        session_gaps: as for ``fit_volatility``: returns across missing sessions are dropped.

    Fires when sigma reaches ``threshold_pct`` (``critical_pct``) or ``ratio`` (``critical_ratio``)
    times the long-run level, once per episode; re-arms when both are back below.
    """
    rule = rules.volatility
    if not rule.enabled:
        return []
    check_closes(closes)
    if params is None:
        params = fit_volatility(closes, session_gaps=session_gaps, allow_nonstationary=True).params
    returns = daily_log_returns(closes, session_gaps)
    sigma = conditional_volatility(returns, params)
    long_run, how = long_run_volatility(sigma, params, rule)
    ratio = (sigma / long_run).to_numpy()
    level = np.maximum(
        _levels(sigma.to_numpy(), rule.threshold_pct, rule.critical_pct),
        _levels(ratio, rule.ratio, rule.critical_ratio),
    )
    fired = np.zeros(len(level), dtype=np.int8)
    nb.episodes_nb(level, level == 0, fired)

    index = pd.DatetimeIndex(sigma.index)
    first = 0 if since is None else int(index.searchsorted(pd.Timestamp(since), side="right"))
    parameters = rules.parameters("volatility")
    alerts = []
    for t in np.flatnonzero(fired[first:]) + first:
        severity: Severity = "critical" if fired[t] == 2 else rule.severity
        value, level_pct = float(sigma.iloc[t]), float(long_run.iloc[t])
        figures = {
            "sigma_pct": value,
            "long_run_pct": level_pct if np.isfinite(level_pct) else None,
            "ratio": float(ratio[t]) if np.isfinite(ratio[t]) else None,
            "long_run": how,
            "threshold_pct": rule.threshold_pct,
            "critical_pct": rule.critical_pct,
            "ratio_threshold": rule.ratio,
            "critical_ratio": rule.critical_ratio,
            "model": params.name,
            "persistence": params.persistence,
        }
        against = (
            f", {ratio[t]:.1f} x its long-run {level_pct:.2f} % ({how})"
            if np.isfinite(ratio[t])
            else ""
        )
        message = (
            f"{instrument} volatility {value:.2f} % a day on {index[t].date()} ({params.name})"
            f"{against}; thresholds {rule.threshold_pct} % / {rule.ratio} x"
        )
        alerts.append(
            Alert("volatility", instrument, index[t].date(), severity, message, figures, parameters)
        )
    return alerts
