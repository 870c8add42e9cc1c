"""A sweep of a rule's settings over a long price series, all settings at once (numba).

``sweep_bands`` plays the reserve-and-arbitrage rule with every row of a grid of band settings
(window, low, high) through every cycle of a price history, with the Monte Carlo kernel
(``backtest.montecarlo_nb.sweep_nb``): one row per setting, one column per cycle, the compliance
cost. The history's volume is not used: every session has the fallback liquidity cap, as on
simulated paths (the event-driven backtester gives the same figures on a series without a
volume column; the tests check it).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from backtest import montecarlo_nb as nb
from backtest.cycle import Cycle, FillSettings, market_of
from backtest.event import PriceHistory, rules_vector, window_of
from backtest.montecarlo import cycle_arrays
from engine.errors import ConfigurationError
from engine.markets import MarketRules
from engine.settlement import terms_of
from strategies import rules_nb
from strategies.rules import ReserveArbitrage


def band_grid(
    windows: Sequence[int] = (5, 10, 15, 20, 25, 30, 40, 50, 60, 80),
    lows: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45),
    highs: Sequence[float] = (0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0),
) -> pd.DataFrame:
    """Every (window, low, high) with low < high: 1,000 settings by default."""
    rows = [(w, lo, hi) for w, lo, hi in itertools.product(windows, lows, highs) if lo < hi]
    return pd.DataFrame(rows, columns=["window", "low", "high"])


def sweep_bands(
    prices: pd.Series | pd.DataFrame,
    cycles: Sequence[Cycle],
    grid: pd.DataFrame,
    *,
    base: ReserveArbitrage | None = None,
    market: MarketRules | str = "cea",
    fills: FillSettings | None = None,
) -> pd.DataFrame:
    """Compliance cost (currency) per setting (rows of ``grid``, the other settings from ``base``)
    and cycle (columns), and their ``total``."""
    rules, fills = market_of(market), fills or FillSettings()
    base = base or ReserveArbitrage()
    missing = {"window", "low", "high"} - set(grid.columns)
    if missing:
        raise ConfigurationError(f"sweep grid: missing columns {sorted(missing)}")
    settings = [
        ReserveArbitrage(
            window=int(r.window),
            low=float(r.low),
            high=float(r.high),
            clip_share=base.clip_share,
            reserve_share=base.reserve_share,
            long_share=base.long_share,
            final_sessions=base.final_sessions,
        )
        for r in grid.itertuples()
    ]
    params = np.vstack([s.kernel()[1] for s in settings])
    closes = prices["close"] if isinstance(prices, pd.DataFrame) else prices
    history = PriceHistory.of(closes.rename("close"))
    windows = [window_of(history, c) for c in cycles]
    longest = max(w.size for w in windows)
    arrays = [
        cycle_arrays(c, history, w, rules, fills) for c, w in zip(cycles, windows, strict=True)
    ]

    def padded(j):
        out = np.zeros((len(cycles), longest))
        for c, a in enumerate(arrays):
            out[c, : a[j].size] = a[j]
        return out

    out = np.empty((len(settings), len(cycles), nb.N_OUT))
    nb.sweep_nb(
        rules_nb.RESERVE,
        params,
        np.ascontiguousarray(history.closes),
        np.array([w[0] for w in windows]),
        np.array([w[-1] for w in windows]),
        np.array([c.emissions_t for c in cycles]),
        np.array([c.true_up_t for c in cycles]),
        np.vstack([a[0] for a in arrays]),
        terms_of(rules.compliance, fills.penalty_multiple),
        np.vstack([rules_vector(rules, fills, c) for c in cycles]),
        padded(1),
        padded(2),
        padded(3),
        out,
    )
    cost = pd.DataFrame(out[:, :, nb.COST], columns=[c.year for c in cycles], index=grid.index)
    cost["total"] = cost.sum(axis=1)
    return pd.concat([grid, cost], axis=1)
