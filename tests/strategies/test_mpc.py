"""The optimised (MPC) strategy: re-solves on its schedule only, covers the obligation, sees no
future price, and plans a young market from its first session."""

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


def test_a_young_market_is_planned_from_its_first_session(reference, cycle):
    """The cycle starts on the market's 11th close: with too few returns for any model it buys
    the even slice, then plans on the short-history model; it is never left short."""
    young = reference.loc[reference.index >= reference.loc["2025-01-01":].index[0]]
    young = pd.concat([reference.loc[:"2024-12-31"].iloc[-10:], young])
    strategy = Optimised(**SMALL)
    result = run_backtest(strategy, young, cycle)
    reconcile(result)
    assert strategy.notes == []
    reasons = result.ledger.groupby("reason")["date"].min()
    assert reasons["optimised: no model yet"] == young.loc["2025-01-01":].index[0]
    assert "optimised" in reasons  # later re-solves plan on the short-history model
    assert result.cycles.iloc[0].shortfall_t == 0


def test_the_short_history_model_is_used_below_min_history(reference, cycle):
    strategy = Optimised(**SMALL, min_history=2_000)
    closes = reference["close"].loc[:"2024-12-31"]
    view_params = strategy.volatility(_view(closes))
    assert (view_params.alpha, view_params.beta) == (0.05, 0.90)  # the fallback's
    named = Optimised(**SMALL, model="garch-normal", min_history=2_000)
    assert named.volatility(_view(closes)).alpha == 0.05


def _view(closes: pd.Series):
    class View:  # what Optimised.volatility reads
        pass

    view = View()
    view.closes = closes.to_numpy()
    view.dates = closes.index
    return view


def test_settings_by_name_and_their_errors():
    assert make_strategy("optimised", {"every": "20", "lambda_": "2"}).every == 20
    with pytest.raises(ConfigurationError, match="scenarios"):
        Optimised(paths=10, scenarios=20)


def test_keeping_compiled_programs_changes_no_order(run, reference, cycle):
    """Two paths through one strategy that keeps its programs (the reference, then the same
    cut by 40 % after July) trade exactly as strategies that build every program afresh; the
    second path's first re-solves, on the same history, are answered from memory."""
    changed = reference.copy()
    changed.loc[changed.index > pd.Timestamp("2025-07-01"), "close"] *= 0.6
    settings = {**SMALL, "model": "garch-normal"}  # no validation: quicker, the same solves
    keeping = Optimised(**settings)
    for history in (reference, changed):
        kept = run_backtest(keeping, history, cycle)
        fresh = run_backtest(Optimised(**settings, reuse_programs=False), history, cycle)
        pd.testing.assert_frame_equal(kept.ledger, fresh.ledger)
    stats = keeping.programs.stats
    assert stats.known_plans >= 2 and stats.known_plans + stats.reused + stats.compiled == 8
