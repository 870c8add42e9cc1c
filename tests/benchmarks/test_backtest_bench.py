"""The backtester's speed.

1. Monte Carlo: the reserve-and-arbitrage strategy through a 252-session cycle on 100,000
   simulated paths with the numba kernel, against the event-driven (per-session Python)
   backtester on a sample of the same paths. Both record their path-days (``path_steps``), so
   the summary prints ns per path-day for each; their quotient is the speed-up. The goal of the
   issue is over 20 million path-days a second on 2 cores (50 ns per path-day); the test asserts
   a quarter of that, since CI machines vary.
2. A sweep of 1,000 band settings (window x low x high) of the same strategy through 10 annual
   cycles on 10 years of daily closes (numba), against the event-driven backtester on a sample
   of the settings (``path_steps`` are setting-days there, so ns per setting-day compare); and,
   when vectorbt is installed, the same 1,000 band rules as signals in
   vectorbt's ``Portfolio.from_signals`` (the trading leg only: no reserve bounds, compliance,
   band or liquidity, so less work than ours).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import market_data as md
from backtest.cycle import Cycle
from backtest.event import run_backtest
from backtest.history import stated_cycles
from backtest.montecarlo import path_history, run_paths
from backtest.sweep import band_grid, sweep_bands
from desk.config.book import load_book
from engine.simulate import SimulationSpec, simulate_closes
from engine.volatility import VolatilityParams

PATHS, DAYS, SAMPLE = 100_000, 252, 6
PINNED = VolatilityParams(
    model="garch",
    dist="t",
    mu=0.0,
    omega=0.2,
    alpha=0.1,
    gamma=0.0,
    beta=0.85,
    nu=5.0,
    last_variance=4.0,
    last_residual=0.0,
    last_price=70.0,
    last_date="2026-09-30",
    unchanged_prob=0.0,
)
BOOK = load_book(Path(__file__).resolve().parents[2] / "desk/defaults/power_company_book.toml")
SHORT = dataclasses.replace(  # the 2026 cycle, ~240 kt short
    BOOK, cycle_year=2026, allowances_by_vintage={2026: 1_800_000.0}, forwards=()
)
XSHG = md.calendar_for("XSHG")


@pytest.fixture(scope="module")
def monte_carlo():
    """100,000 paths x the last 252 sessions to 31 Dec 2027, emissions per path."""
    every = XSHG.sessions("2026-06-01", "2027-12-31")
    sessions, prefix_dates = every[-DAYS:], every[-DAYS - 40 : -DAYS]
    prefix = pd.Series(np.linspace(66.0, 70.0, len(prefix_dates)), index=prefix_dates)
    spec = SimulationSpec(paths=PATHS, days=DAYS, seed=1, band=0.10)
    paths = np.round(simulate_closes(PINNED, spec), 2)
    cycle = Cycle.from_book(SHORT, start=sessions[0], true_up_date=sessions[DAYS // 2])
    obligation = SHORT.obligation.scenarios(PATHS, seed=1)
    return paths, cycle, prefix, sessions, obligation


@pytest.mark.benchmark(group="reserve strategy, Monte Carlo 252 sessions")
def test_event_driven_reference_on_a_sample(benchmark, monte_carlo):
    from strategies.rules import ReserveArbitrage

    paths, cycle, prefix, sessions, ob = monte_carlo
    histories = [path_history(prefix, sessions, paths[i]) for i in range(SAMPLE)]
    cycles = [
        dataclasses.replace(cycle, emissions_t=ob.emissions[i], true_up_t=ob.true_up[i])
        for i in range(SAMPLE)
    ]
    strategy = ReserveArbitrage()
    run_backtest(strategy, histories[0], cycles[0])  # compiled outside the timing

    def run():
        return [
            run_backtest(strategy, h, c).cycles.iloc[0].cost
            for h, c in zip(histories, cycles, strict=True)
        ]

    costs = benchmark(run)
    benchmark.extra_info["path_steps"] = SAMPLE * DAYS
    mc = run_paths(
        strategy,
        paths[:SAMPLE],
        cycle,
        prefix=prefix,
        sessions=sessions,
        emissions_t=ob.emissions[:SAMPLE],
        true_up_t=ob.true_up[:SAMPLE],
    )
    np.testing.assert_allclose(costs, mc.cost, atol=0.02)


@pytest.mark.benchmark(group="reserve strategy, Monte Carlo 252 sessions")
def test_numba_kernel_100k_paths(benchmark, monte_carlo):
    from strategies.rules import ReserveArbitrage

    paths, cycle, prefix, sessions, ob = monte_carlo
    strategy = ReserveArbitrage()
    kwargs = dict(prefix=prefix, sessions=sessions, emissions_t=ob.emissions, true_up_t=ob.true_up)
    run_paths(strategy, paths[:10], cycle, prefix=prefix, sessions=sessions)  # compile
    result = benchmark(run_paths, strategy, paths, cycle, **kwargs)
    benchmark.extra_info["path_steps"] = PATHS * DAYS
    rate = PATHS * DAYS / benchmark.stats.stats.median
    benchmark.extra_info["path_days_per_s"] = rate
    assert result.cost.shape == (PATHS,) and np.isfinite(result.cost).all()
    assert result.sold_t.max() > 0 and result.bought_t.max() > 0  # it does trade both ways
    assert rate > 5e6, f"{rate / 1e6:.1f} M path-days/s"


@pytest.fixture(scope="module")
def ten_years():
    """One simulated path of 10 years of XSHG sessions (2027-2036) after a quarter of 2026,
    the example book's stated cycle in each year, and the 1,000 band settings."""
    dates = XSHG.sessions("2026-10-01", "2036-12-31")
    path = simulate_closes(PINNED, SimulationSpec(paths=1, days=len(dates), seed=5, band=0.1))
    series = pd.Series(np.round(path[0], 2), index=dates, name="close")
    cycles = stated_cycles(BOOK, dates, years=range(2027, 2037))
    return series, cycles, band_grid()


@pytest.mark.benchmark(group="sweep of 1,000 band settings, 10 years")
def test_sweep_event_driven_reference_per_setting(benchmark, ten_years):
    from strategies.rules import ReserveArbitrage

    series, cycles, grid = ten_years
    row = grid.iloc[517]
    strategy = ReserveArbitrage(window=int(row.window), low=row.low, high=row.high)
    result = benchmark.pedantic(run_backtest, (strategy, series, cycles), rounds=3)
    benchmark.extra_info["path_steps"] = len(series)  # here: setting-days
    swept = sweep_bands(series, cycles, grid.iloc[[517]])
    assert result.cycles["cost"].sum() == pytest.approx(swept["total"].iloc[0], abs=0.05)


@pytest.mark.benchmark(group="sweep of 1,000 band settings, 10 years")
def test_sweep_numba_1000_settings(benchmark, ten_years):
    series, cycles, grid = ten_years
    sweep_bands(series, cycles, grid.iloc[:2])  # compiled outside the timing
    result = benchmark(sweep_bands, series, cycles, grid)
    benchmark.extra_info["path_steps"] = len(grid) * len(series)
    assert len(grid) == 1_000 and result["total"].notna().all()
    assert result["total"].nunique() > 100  # the bands matter


@pytest.mark.benchmark(group="sweep of 1,000 band settings, 10 years")
def test_sweep_vectorbt_signals_1000_settings(benchmark, ten_years):
    """The same 1,000 (window, low, high) bands as entry/exit signals on the previous closes'
    range, 65,600 t a signal (2 % of the obligation), fees 0.3 %, accumulating: vectorbt's
    portfolio on 1,000 columns. Optional: skipped without vectorbt."""
    vbt = pytest.importorskip("vectorbt")
    series, _, grid = ten_years
    clip = 0.02 * BOOK.obligation.expected_emissions

    def sweep():
        previous = series.shift(1)
        entries, exits = {}, {}
        for window, group in grid.groupby("window"):
            low = previous.rolling(window).min()
            high = previous.rolling(window).max()
            z = ((previous - low) / (high - low)).to_numpy()
            for i, r in group.iterrows():
                entries[i], exits[i] = z <= r.low, z >= r.high
        e = pd.DataFrame(entries, index=series.index)
        x = pd.DataFrame(exits, index=series.index)
        close = pd.DataFrame(
            np.repeat(series.to_numpy()[:, None], len(grid), 1),
            index=series.index,
            columns=e.columns,
        )
        pf = vbt.Portfolio.from_signals(
            close, e, x, size=clip, fees=0.003, accumulate=True, init_cash=1e12
        )
        return pf.final_value()

    started = time.perf_counter()
    sweep()  # numba compiles vectorbt's kernels on the first call
    benchmark.extra_info["first_call_s"] = time.perf_counter() - started
    values = benchmark.pedantic(sweep, rounds=3)
    benchmark.extra_info["path_steps"] = len(grid) * len(series)
    assert values.shape == (1_000,) and np.isfinite(values).all()
