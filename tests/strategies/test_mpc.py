"""The optimised (MPC) strategy: re-solves on its schedule only, covers the obligation, sees no
future price, and falls back to trading nothing when it cannot fit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

import market_data as md
from backtest.cycle import Cycle
from backtest.event import run_backtest
from backtest.reconcile import reconcile
from desk.config.book import load_book
from engine.errors import ConfigurationError
from strategies.mpc import Optimised
from strategies.registry import make_strategy

BOOK = Path(__file__).resolve().parents[2] / "desk/defaults/power_company_book.toml"
SMALL = dict(every=60, paths=200, scenarios=20)


@pytest.fixture(scope="module")
def reference():
    return md.reference_market()


@pytest.fixture(scope="module")
def cycle():
    book = dataclasses.replace(
        load_book(BOOK), cycle_year=2024, allowances_by_vintage={2024: 2_129_400.0}, forwards=()
    )
    return Cycle.from_book(book, start="2025-01-01", true_up_date="2025-06-30")


@pytest.fixture(scope="module")
def run(reference, cycle):
    strategy = Optimised(**SMALL)
    return strategy, run_backtest(strategy, reference, cycle)


def test_it_trades_on_its_schedule_and_covers_the_obligation(run, cycle, reference):
    strategy, result = run
    reconcile(result)
    assert strategy.notes == []
    row = result.cycles.iloc[0]
    assert row.shortfall_t == 0 and row.penalty == 0
    sessions = reference.loc["2025-01-01":"2025-12-31"].index
    planned = result.ledger[result.ledger["reason"] == "optimised"]
    assert len(planned) >= 2
    for day in planned["date"]:
        assert sessions.get_loc(day) % 60 == 0  # a re-solve session
    final = result.ledger[result.ledger["reason"] == "optimised: final"]
    assert set(final["date"]) <= set(sessions[-5:])


def test_it_does_not_look_ahead(run, reference, cycle):
    """Closes after 2025-07-01 cut by 40 %: the decisions of the first three re-solves
    (sessions 0, 60, 120: up to early July) are unchanged."""
    _, before = run
    t = pd.Timestamp("2025-07-01")
    changed = reference.copy()
    changed.loc[changed.index > t, "close"] *= 0.6
    after = run_backtest(Optimised(**SMALL), changed, cycle)
    pd.testing.assert_frame_equal(
        before.ledger[before.ledger.date <= t], after.ledger[after.ledger.date <= t]
    )


def test_without_enough_history_it_only_covers_at_the_end(reference, cycle):
    strategy = Optimised(**SMALL, min_history=2_000)
    result = run_backtest(strategy, reference, cycle)
    assert len(strategy.notes) == 4 and "min_history" in strategy.notes[0]  # sessions 0..180
    assert set(result.ledger["reason"]) == {"optimised: final"}
    assert result.cycles.iloc[0].shortfall_t == 0


def test_settings_by_name_and_their_errors():
    assert make_strategy("optimised", {"every": "20", "lambda_": "2"}).every == 20
    with pytest.raises(ConfigurationError, match="scenarios"):
        Optimised(paths=10, scenarios=20)
