"""Monte Carlo mode: a rule strategy through one cycle on N simulated paths at once (numba).

``run_paths`` takes the paths (N x the cycle's sessions, currency/t), the closes before them (the
history the rules' windows look back on; at least the last close), the cycle and, per path,
the verified emissions and the true-up (from ``Obligation.scenarios``; the cycle's own figures
when omitted). Simulated paths carry no volume, so every session's liquidity cap is
``FillSettings.fallback_liquidity_t``.

``path_history`` turns one path into the price series the event-driven backtester takes, for
the path-by-path checks and for strategies without a kernel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest import fills_nb as fx
from backtest import montecarlo_nb as nb
from backtest.cycle import Cycle, FillSettings, market_of
from backtest.event import (
    PriceHistory,
    default_forward_delivery,
    delivery_row,
    rules_vector,
)
from backtest.result import PathResults
from engine.errors import ConfigurationError
from engine.forwards import years_between
from engine.markets import MarketRules
from engine.settlement import terms_of
from strategies.base import Strategy


def path_history(prefix: pd.Series, sessions: pd.DatetimeIndex, path: np.ndarray) -> pd.Series:
    """The prefix's closes followed by one path's closes on ``sessions``."""
    tail = pd.Series(np.asarray(path, dtype=np.float64), index=sessions.as_unit("ns"))
    out = pd.concat([prefix.astype(np.float64).set_axis(prefix.index.as_unit("ns")), tail])
    return out.rename("close")


def _check_inputs(prefix, sessions, paths, cycle) -> None:
    if paths.ndim != 2 or paths.shape[1] != len(sessions):
        raise ConfigurationError(
            f"paths: shape {paths.shape}, expected (N, {len(sessions)}) for the cycle's sessions"
        )
    if not (np.isfinite(paths).all() and (paths > 0).all()):
        raise ConfigurationError("paths: every close must be a positive number")
    if len(prefix) < 1 or prefix.index[-1] >= sessions[0]:
        raise ConfigurationError("prefix: need at least one close, dated before the sessions")
    if sessions[0] < pd.Timestamp(cycle.start) or sessions[-1] > pd.Timestamp(cycle.deadline):
        raise ConfigurationError(
            f"sessions {sessions[0].date()}..{sessions[-1].date()} are not within cycle "
            f"{cycle.year}'s window {cycle.start}..{cycle.deadline}"
        )


def run_paths(
    strategy: Strategy,
    paths: np.ndarray,
    cycle: Cycle,
    *,
    prefix: pd.Series,
    sessions: pd.DatetimeIndex,
    emissions_t: np.ndarray | None = None,
    true_up_t: np.ndarray | None = None,
    market: MarketRules | str = "cea",
    fills: FillSettings | None = None,
    alpha: float = 0.95,
) -> PathResults:
    """``strategy`` (one with a ``kernel()``) on every path; see the module."""
    if not hasattr(strategy, "kernel"):
        raise ConfigurationError(
            f"strategy {strategy.name!r} has no numba kernel: run it path by path with "
            "run_backtest(strategy, path_history(...), cycle)"
        )
    rules, fills = market_of(market), fills or FillSettings()
    comp = rules.compliance
    assert comp is not None
    paths = np.ascontiguousarray(paths, dtype=np.float64)
    sessions = pd.DatetimeIndex(sessions).as_unit("ns")
    _check_inputs(prefix, sessions, paths, cycle)
    n, days = paths.shape
    emissions = _per_path("emissions_t", emissions_t, cycle.emissions_t, n, np.ceil)
    true_up = _per_path("true_up_t", true_up_t, cycle.true_up_t, n, np.round)
    history = PriceHistory.of(path_history(prefix, sessions, paths[0]))
    rows = np.arange(len(prefix), len(prefix) + days)
    vector, years, arrivals, arrival_value = cycle_arrays(cycle, history, rows, rules, fills)
    code, params = strategy.kernel()  # type: ignore[attr-defined]
    out = np.empty((n, nb.N_OUT))
    nb.backtest_paths_nb(
        code,
        params,
        np.ascontiguousarray(prefix.to_numpy(dtype=np.float64)),
        paths,
        emissions,
        true_up,
        vector,
        terms_of(comp, fills.penalty_multiple),
        rules_vector(rules, fills, cycle),
        years,
        arrivals,
        arrival_value,
        out,
    )
    return PathResults(
        strategy=strategy.name,
        cost=out[:, nb.COST].copy(),
        shortfall_t=out[:, nb.SHORTFALL].copy(),
        penalty=out[:, nb.PENALTY].copy(),
        banked_t=out[:, nb.BANKED].copy(),
        bought_t=out[:, nb.BOUGHT].copy(),
        sold_t=out[:, nb.SOLD].copy(),
        fees=out[:, nb.FEES].copy(),
        alpha=alpha,
    )


def cycle_arrays(
    cycle: Cycle, history: PriceHistory, rows: np.ndarray, rules: MarketRules, fills: FillSettings
):
    """The kernel's cycle vector, and per session of the window: years to the new forwards'
    delivery, and the existing forwards' tonnes and price due."""
    days = rows.size
    sessions = history.dates[rows]
    delivery = cycle.forward_delivery or default_forward_delivery(
        rows, history, fills.deadline_window
    )
    years = np.array([years_between(d.date(), delivery) for d in sessions])
    arrivals, arrival_value = np.zeros(days), np.zeros(days)
    for forward in cycle.forwards:
        k = delivery_row(rows, history, forward.delivery)
        arrivals[k] += forward.tonnes
        arrival_value[k] += fx.cents_nb(forward.tonnes * forward.price)
    vector = np.zeros(nb.N_CYCLE)
    vector[nb.ALLOWANCES] = cycle.allowances_t
    vector[nb.CCER] = cycle.ccer_t
    vector[nb.CASH] = cycle.cash
    vector[nb.EXPECTED_EMISSIONS] = cycle.expected_emissions_t
    vector[nb.EXPECTED_TRUE_UP] = cycle.expected_true_up_t
    vector[nb.LIQUIDITY] = fills.fallback_liquidity_t
    vector[nb.BAND] = np.inf if rules.daily_band is None else rules.daily_band
    block = rules.block_band if rules.block_band is not None else rules.daily_band
    vector[nb.BLOCK_BAND] = np.inf if block is None else block
    vector[nb.FORWARD_CARRY] = fills.forward_carry
    vector[nb.FORWARD_PREMIUM] = fills.forward_premium
    vector[nb.DEADLINE_WINDOW] = fills.deadline_window
    vector[nb.TRUE_UP_AT] = delivery_row(rows, history, cycle.true_up_date)
    vector[nb.DELIVERY_AT] = delivery_row(rows, history, delivery)
    return vector, years, arrivals, arrival_value


def _per_path(name, values, default, n, whole) -> np.ndarray:
    if values is None:
        return np.full(n, float(default))
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,) or not np.isfinite(array).all():
        raise ConfigurationError(f"{name}: expected {n} finite values, one per path")
    if name == "emissions_t":
        return whole(array - 1e-9)
    return whole(array)
