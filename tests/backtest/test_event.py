"""The event-driven backtester: reconciliation on every run, no look-ahead, the compliance
events worked by hand, and cycles chained."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from backtest.cycle import Cycle, FillSettings
from backtest.event import run_backtest
from backtest.reconcile import ReconciliationError, reconcile
from engine.errors import ConfigurationError
from engine.forwards import ForwardQuote
from strategies.base import Order
from strategies.rules import (
    BuyAtDeadline,
    EvenAccumulation,
    ForwardHedge,
    ReserveArbitrage,
    Scripted,
)

RULES = (BuyAtDeadline(), EvenAccumulation(), ReserveArbitrage(), ForwardHedge())


@pytest.mark.parametrize("strategy", RULES, ids=lambda s: s.name)
def test_every_rule_reconciles_and_covers_the_obligation(strategy, reference, cycle_2024):
    result = run_backtest(strategy, reference, cycle_2024)
    frame = reconcile(result)
    assert len(frame) == len(result.daily) == result.cycles.loc[2024, "sessions"]
    row = result.cycles.loc[2024]
    assert row.shortfall_t == 0 and row.penalty == 0  # every rule covers the 110 kt in time
    assert row.need_t == 110_000
    assert row.bought_t - row.sold_t >= 110_000  # forwards count as bought
    # cost = cash used - the bank's value, to the cent
    assert row.cost == pytest.approx(cycle_2024.cash - row.cash_end - row.bank_value, abs=0.005)


def test_reconciliation_catches_a_tampered_ledger(reference, cycle_2024):
    result = run_backtest(EvenAccumulation(), reference, cycle_2024)
    result.ledger.loc[5, "fee"] += 0.01
    with pytest.raises(ReconciliationError, match="cash"):
        reconcile(result)


class Recorder:
    """A strategy that buys a little every session and remembers what it saw."""

    name = "recorder"

    def __init__(self):
        self.seen: list[tuple[pd.Timestamp, int, float, float]] = []

    def decide(self, view):
        self.seen.append(
            (view.date, len(view.closes), float(view.closes[-1]), view.cycle.obligation_t)
        )
        return [Order("buy", 1_000.0)]


@pytest.mark.parametrize("strategy", [*RULES, "recorder"], ids=str)
def test_perturbing_prices_after_t_changes_no_decision_up_to_t(strategy, reference, cycle_2024):
    """Prices from session t + 1 on are scaled by 0.7 (and volumes too): every ledger row dated
    up to t is unchanged, and so are the views a recording strategy saw up to t."""
    strategy = Recorder() if strategy == "recorder" else strategy
    t = pd.Timestamp("2025-09-15")
    changed = reference.copy()
    later = changed.index > t
    changed.loc[later, "close"] = (changed.loc[later, "close"] * 0.7).round(2)
    changed.loc[later, "volume"] *= 0.3
    before = run_backtest(strategy, reference, cycle_2024)
    seen = list(getattr(strategy, "seen", []))
    if isinstance(strategy, Recorder):
        strategy.seen.clear()
    after = run_backtest(strategy, changed, cycle_2024)
    upto = before.ledger[before.ledger["date"] <= t]
    pd.testing.assert_frame_equal(upto, after.ledger[after.ledger["date"] <= t])
    assert (after.ledger["date"] > t).any() or (before.ledger["date"] > t).sum() == 0
    if isinstance(strategy, Recorder):
        assert [s for s in seen if s[0] <= t] == [s for s in strategy.seen if s[0] <= t]
        assert all(s[1] == reference.index.get_loc(s[0]) for s in seen)  # closes end yesterday
    # the perturbation reaches the run after t: the daily values differ there
    assert not np.allclose(
        before.daily.loc[before.daily.index > t, "mtm"],
        after.daily.loc[after.daily.index > t, "mtm"],
    )


def test_the_view_is_read_only(reference, cycle_2024):
    class Vandal:
        name = "vandal"

        def decide(self, view):
            view.closes[-1] = 1.0
            return []

    with pytest.raises(ValueError, match="read-only"):
        run_backtest(Vandal(), reference, cycle_2024)


def test_verification_reveals_the_emissions_on_the_true_up_date(reference, cycle_2024):
    recorder = Recorder()
    cycle = dataclasses.replace(cycle_2024, emissions_t=3_300_000.0)
    run_backtest(recorder, reference, cycle)
    obligation = pd.Series({d: o for d, _, _, o in recorder.seen})
    assert (obligation[obligation.index < "2025-06-30"] == cycle.expected_emissions_t).all()
    assert (obligation[obligation.index >= "2025-06-30"] == 3_300_000.0).all()


def test_shortfall_penalty_ccer_cap_and_banking_by_hand(reference, cycle_2024):
    """Nothing bought: short 110 kt + the CCER beyond 5 %... here all 50 kt CCER count (cap
    164 kt), so short = 110,000 t at 10 x the mean of the last 21 closes. Then a company long
    by 300 kt that sold 40 kt: banks 10,000 + 1.5 x 40,000 = 70,000 t, forfeits the rest."""
    idle = run_backtest(Scripted(), reference, cycle_2024)
    row = idle.cycles.loc[2024]
    last21 = reference["close"].loc[:"2025-12-31"].iloc[-21:].mean()
    assert row.shortfall_t == 110_000 and row.ccer_used_t == 50_000
    assert row.deadline_price == pytest.approx(last21)
    assert row.penalty == pytest.approx(round(110_000 * 10 * last21, 2), abs=0.005)
    assert row.cost == pytest.approx(row.penalty, abs=0.005)
    reconcile(idle)

    long_cycle = dataclasses.replace(cycle_2024, allowances_t=cycle_2024.allowances_t + 450_000)
    sell_day = dt.date(2025, 3, 6)  # 310,551 t traded
    seller = Scripted({sell_day: [Order("sell", 40_000.0)]})
    result = run_backtest(seller, reference, long_cycle, fills=FillSettings(liquidity_share=1.0))
    assert result.ledger.tonnes.tolist() == [40_000]
    row = result.cycles.loc[2024]
    surplus = 450_000 - 110_000 - 40_000
    assert row.banked_t == 70_000 and row.forfeited_t == surplus - 70_000
    assert row.bank_value == pytest.approx(round(70_000 * row.deadline_price, 2), abs=0.005)
    reconcile(result)


def test_a_small_ccer_cap_binds(reference, cycle_2024):
    """CCER 200 kt but the cap is 5 % of 3.28 Mt = 164 kt."""
    cycle = dataclasses.replace(cycle_2024, ccer_t=200_000.0)
    row = run_backtest(Scripted(), reference, cycle).cycles.loc[2024]
    assert row.ccer_used_t == pytest.approx(164_000)


def test_cycles_chain_the_bank_and_the_cash(reference, short_book):
    """2023 ends 100 kt long after selling nothing: 10 kt banked opens 2024 (valued at 2023's
    deadline price in 2024's cost), and 2024 starts with 2023's closing cash."""
    c2023 = Cycle.from_book(
        dataclasses.replace(
            short_book, cycle_year=2023, allowances_by_vintage={2023: 2_129_400.0 + 210_000}
        ),
        start="2024-01-01",
        true_up_date="2024-06-28",
    )
    c2024 = Cycle.from_book(short_book, start="2025-01-01", true_up_date="2025-06-30")
    result = run_backtest(
        BuyAtDeadline(), reference, [c2023, c2024], fills=FillSettings(carry_over=True)
    )
    reconcile(result)
    first, second = result.cycles.loc[2023], result.cycles.loc[2024]
    assert first.banked_t == 10_000 and first.forfeited_t == 90_000
    opening = result.events[(result.events.cycle == 2024) & (result.events.event == "opening")]
    assert opening.tonnes.iloc[0] == 2_129_400 + 10_000
    assert opening.cash.iloc[0] == pytest.approx(first.cash_end)
    assert second.bought_t == 100_000  # 110 kt short less the 10 kt carried
    independent = run_backtest(BuyAtDeadline(), reference, c2024).cycles.loc[2024]
    assert second.cost == pytest.approx(
        independent.cost * 100_000 / 110_000 + first.bank_value, rel=0.02
    )


def test_bad_inputs_name_what_is_wrong(reference, cycle_2024):
    with pytest.raises(ConfigurationError, match="no session"):
        run_backtest(EvenAccumulation(), reference.loc[:"2024-06-30"], cycle_2024)
    broken = reference.copy()
    broken.loc["2025-03-03", "close"] = -1.0
    with pytest.raises(ConfigurationError, match="2025-03-03"):
        run_backtest(EvenAccumulation(), broken, cycle_2024)
    with pytest.raises(ConfigurationError, match="overlap"):
        run_backtest(EvenAccumulation(), reference, [cycle_2024, cycle_2024])

    class Wrong:
        name = "wrong"

        def decide(self, view):
            return ["buy 10"]

    with pytest.raises(ConfigurationError, match="not an Order"):
        run_backtest(Wrong(), reference, cycle_2024)


def test_the_forward_strategy_is_quoted_by_the_engine_quote_model(reference, cycle_2024):
    """The forward bought on the cycle's first session costs what ``engine.forwards`` quotes
    on the previous close (cost of carry 2.5 %/yr + 0.5 a tonne), rounded up to the 0.01 tick,
    and is delivered (and paid) on the cycle's delivery date."""
    fills = FillSettings(forward_carry=0.025, forward_premium=0.5)
    result = run_backtest(ForwardHedge(hedge_ratio=0.5), reference, cycle_2024, fills=fills)
    reconcile(result)
    forward = result.ledger[result.ledger["instrument"] == "forward"].iloc[0]
    delivered = result.events[result.events["event"] == "forward delivered"].iloc[-1]
    today = pd.Timestamp(forward["date"])
    previous = float(reference["close"].loc[: today - pd.Timedelta(days=1)].iloc[-1])
    delivery = pd.Timestamp(delivered["date"]).date()
    quote = ForwardQuote("backtest", delivery, 1e9, carry_rate=0.025, premium=0.5)
    expected = np.ceil(quote.price_at(previous, today.date()) * 100 - 1e-9) / 100
    assert forward["price"] == pytest.approx(expected, abs=1e-9)
    assert expected > previous + 0.5  # the carry and the premium are both in it
