"""The band sweep: every setting at once, equal to the event-driven backtester setting by
setting."""

from __future__ import annotations

import pytest

from backtest.event import run_backtest
from backtest.history import stated_cycles
from backtest.sweep import band_grid, sweep_bands
from engine.errors import ConfigurationError
from strategies.rules import ReserveArbitrage


def test_the_default_grid_has_1000_settings():
    grid = band_grid()
    assert len(grid) == 1_000 and (grid.low < grid.high).all()
    assert len(band_grid(windows=(10,), lows=(0.2, 0.6), highs=(0.5, 0.8))) == 3  # 0.6 < 0.5 out


def test_the_sweep_equals_the_event_driven_backtester(book, reference):
    """Five cycles of the reference market; the sweep ignores volume, so the event-driven run
    gets the closes alone (every session at the fallback cap)."""
    cycles = stated_cycles(book, reference.index)
    grid = band_grid(windows=(5, 40), lows=(0.0, 0.3), highs=(0.7, 1.0))
    swept = sweep_bands(reference["close"], cycles, grid)
    assert list(swept.columns[-6:]) == [2020, 2021, 2022, 2023, 2024, "total"]
    for i, row in grid.iterrows():
        strategy = ReserveArbitrage(window=int(row.window), low=row.low, high=row.high)
        result = run_backtest(strategy, reference["close"], cycles)
        for cycle in result.cycles.index:
            assert swept.loc[i, cycle] == pytest.approx(result.cycles.loc[cycle, "cost"], abs=0.02)
    assert swept["total"].nunique() == len(grid)


def test_a_bad_grid_is_refused(book, reference):
    cycles = stated_cycles(book, reference.index, years=[2025])
    with pytest.raises(ConfigurationError, match="missing columns"):
        sweep_bands(reference["close"], cycles, band_grid().drop(columns="high"))
    with pytest.raises(ConfigurationError, match="low"):
        sweep_bands(reference["close"], cycles, band_grid().assign(low=0.9, high=0.5))
