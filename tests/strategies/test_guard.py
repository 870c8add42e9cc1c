"""The alert guard: pauses, protected final sessions, the raised reserve, and its own scan of
the past closes, played through the backtester on the reference market."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import market_data as md
from backtest.cycle import Cycle
from backtest.event import run_backtest
from backtest.reconcile import reconcile
from desk.config.book import load_book
from engine.alerts import Alert, AlertRules, Response, scan_prices
from engine.errors import ConfigurationError
from engine.markets import CEA
from strategies.guard import AlertGuard
from strategies.registry import make_strategy
from strategies.rules import EvenAccumulation, ReserveArbitrage

BOOK = Path(__file__).resolve().parents[2] / "desk/defaults/power_company_book.toml"


@pytest.fixture(scope="module")
def reference():
    return md.reference_market()


@pytest.fixture(scope="module")
def cycle():
    """The example company's 2024 cycle traded through 2025 from its pre-allocation."""
    book = load_book(BOOK)
    book = dataclasses.replace(
        book, cycle_year=2024, allowances_by_vintage={2024: 2_129_400.0}, forwards=()
    )
    return Cycle.from_book(book, start="2025-01-01", true_up_date="2025-06-30")


def alert(day: str, rule: str = "cumulative") -> Alert:
    return Alert(rule, "CEA", dt.date.fromisoformat(day), "warning", "test alert")


def traded_days(result) -> set[pd.Timestamp]:
    return set(result.ledger["date"])


def test_without_alerts_the_guard_is_its_inner_strategy(reference, cycle):
    inner = ReserveArbitrage()
    guarded = run_backtest(AlertGuard(inner, alert_rules=None), reference, cycle)
    plain = run_backtest(inner, reference, cycle)
    pd.testing.assert_frame_equal(guarded.ledger, plain.ledger)


def test_a_pause_stops_every_order_for_its_sessions(reference, cycle):
    """An alert on Thursday 2025-03-06, pause 5 sessions: 03-06 (the alert's session, traded
    before the alert existed), then 03-07, 03-10, 03-11, 03-12 without orders; 03-13 trades."""
    responses = {"cumulative": Response(pause_days=5)}
    g = AlertGuard(EvenAccumulation(), responses, alert_rules=None)
    result = run_backtest(g, reference, cycle, alerts=[alert("2025-03-06")])
    reconcile(result)
    days = traded_days(result)
    paused = pd.DatetimeIndex(["2025-03-07", "2025-03-10", "2025-03-11", "2025-03-12"])
    assert not days & set(paused)
    assert {pd.Timestamp("2025-03-06"), pd.Timestamp("2025-03-13")} <= days
    assert result.cycles.iloc[0].shortfall_t == 0  # even accumulation catches up after


def test_a_pause_never_blocks_the_last_purchases(reference, cycle):
    """A 30-session pause from 2025-12-01 would stop the deadline buying; the last 5 sessions
    still buy, and nothing else."""
    responses = {"cumulative": Response(pause_days=30)}
    g = AlertGuard(EvenAccumulation(), responses, alert_rules=None, protect_sessions=5)
    result = run_backtest(g, reference, cycle, alerts=[alert("2025-12-01")])
    days = sorted(d for d in traded_days(result) if d > pd.Timestamp("2025-12-01"))
    assert [d.date() for d in days] == [dt.date(2025, 12, d) for d in (25, 26, 29, 30, 31)]
    assert result.cycles.iloc[0].shortfall_t == 0


def test_a_raised_reserve_makes_the_arbitrage_hold_more(reference, cycle):
    """Raising the reserve by 10 % of the obligation all year: the rule holds more allowances
    through the year (on average over the sessions before its final catch-up). The budget is
    lifted: at CNY 60 m the rule's purchases exhaust it in both runs."""
    cycle = dataclasses.replace(cycle, trading_budget=1e9)
    responses = {"cumulative": Response(raise_reserve_share=0.10)}
    alerts = [alert(str(d.date())) for d in reference.loc["2025-01":"2025-12"].index[::15]]
    inner = ReserveArbitrage()
    g = AlertGuard(inner, responses, alert_rules=None, open_sessions=20)
    guarded = run_backtest(g, reference, cycle, alerts=alerts)
    plain = run_backtest(inner, reference, cycle)
    held_guarded = guarded.daily["allowances_t"].iloc[:-20].mean()
    held_plain = plain.daily["allowances_t"].iloc[:-20].mean()
    assert held_guarded > held_plain + 50_000
    assert guarded.cycles.iloc[0].shortfall_t == 0


def test_the_guard_acts_on_its_own_scan_of_the_past(reference, cycle):
    """With the default rules, every cumulative alert the desk's scan fires in 2025 pauses the
    even buyer for the four sessions after its date."""
    fired = scan_prices(
        reference["close"].loc[:"2025-12-31"],
        AlertRules(),
        instrument="CEA",
        market=CEA,
        since=dt.date(2024, 12, 31),
    )
    fired = [a for a in fired if a.rule == "cumulative" and a.date < dt.date(2025, 12, 1)]
    assert len(fired) >= 3
    responses = {"cumulative": Response(pause_days=5)}
    result = run_backtest(AlertGuard(EvenAccumulation(), responses), reference, cycle)
    days = traded_days(result)
    sessions = reference.index
    for a in fired:
        k = sessions.searchsorted(pd.Timestamp(a.date))
        assert not days & set(sessions[k + 1 : k + 5]), a.date
        assert sessions[k + 5] in days


def test_the_guard_does_not_look_ahead(reference, cycle):
    t = pd.Timestamp("2025-08-01")
    changed = reference.copy()
    changed.loc[changed.index > t, "close"] *= 0.6
    g = AlertGuard(ReserveArbitrage())
    before, after = run_backtest(g, reference, cycle), run_backtest(g, changed, cycle)
    pd.testing.assert_frame_equal(
        before.ledger[before.ledger.date <= t], after.ledger[after.ledger.date <= t]
    )
    assert not before.ledger[before.ledger.date > t].equals(after.ledger[after.ledger.date > t])


def test_the_guard_by_name_and_its_errors():
    g = make_strategy(
        "guard",
        {"inner": "reserve", "window": "30", "pause_days": "3", "on": "cumulative,band_lock"},
    )
    assert isinstance(g, AlertGuard) and g.inner.window == 30
    assert set(g.responses) == {"cumulative", "band_lock"}
    assert g.responses["band_lock"].pause_days == 3
    with pytest.raises(ConfigurationError, match="rules are"):
        make_strategy("guard", {"on": "moon_phase"})
    with pytest.raises(ConfigurationError, match="no setting"):
        make_strategy("guard", {"inner": "even", "window": "30"})
    with pytest.raises(ConfigurationError, match="not a strategy"):
        AlertGuard("even")  # type: ignore[arg-type]
