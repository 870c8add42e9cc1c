"""The rule strategies' decisions on views built by hand, and their numba twins on the same."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigurationError
from strategies import rules_nb as nb
from strategies.base import CycleView, DecisionView, Order, Position, Strategy, read_only
from strategies.rules import (
    RULES,
    BuyAtDeadline,
    EvenAccumulation,
    ForwardHedge,
    ReserveArbitrage,
    Scripted,
)

SESSIONS = pd.bdate_range("2025-01-01", periods=100)


def view(index=0, held=900.0, obligation=1_000.0, closes=(50.0,) * 30, pledged=0.0,
         forwards=0.0, to_come=0.0, ccer=0.0, reserve_add=0.0) -> DecisionView:  # fmt: skip
    closes = np.asarray(closes, dtype=float)
    return DecisionView(
        date=SESSIONS[index],
        dates=pd.bdate_range(end=SESSIONS[index] - pd.Timedelta(days=1), periods=closes.size),
        closes=read_only(closes),
        volumes=read_only(np.full(closes.size, np.nan)),
        position=Position(
            allowances_t=held,
            pledged_t=pledged,
            ccer_t=ccer,
            forwards_due_t=forwards,
            cash=0.0,
            spent=0.0,
            net_sold_t=0.0,
        ),
        cycle=CycleView(
            year=2024,
            sessions=SESSIONS,
            index=index,
            deadline=dt.date(2025, 12, 31),
            obligation_t=obligation,
            verified=False,
            true_up_to_come_t=to_come,
            offset_cap_t=0.05 * obligation,
            reserve_floor_t=0.0,
            trading_budget=1e9,
            forward_price=52.0,
            forward_delivery=dt.date(2025, 12, 1),
        ),
        reserve_add_t=reserve_add,
    )


def twin(strategy, v: DecisionView) -> tuple[float, float, float]:
    """The numba rule's (forward, buy, sell) on the same view."""
    code, params = strategy.kernel()
    return nb.decide_nb(
        code,
        params,
        np.asarray(v.closes),
        v.closes.size,
        v.cycle.index,
        v.cycle.sessions_left,
        v.cycle.obligation_t,
        v.covered_t(),
        v.position.sellable_t,
        v.reserve_add_t,
    )


def as_tuple(orders) -> tuple[float, float, float]:
    out = [0.0, 0.0, 0.0]
    for o in orders:
        slot = 0 if o.instrument == "forward" else (1 if o.side == "buy" else 2)
        out[slot] += o.tonnes
    return tuple(out)


def check(strategy, v, expected):
    orders = strategy.decide(v)
    assert as_tuple(orders) == expected
    assert twin(strategy, v) == expected


def test_view_arithmetic():
    v = view(held=700, forwards=100, to_come=150, ccer=80, obligation=1_000)
    assert v.usable_ccer_t == 50 and v.covered_t() == 1_000 and v.shortfall_t() == 0
    assert view(held=500, pledged=600).position.sellable_t == 0
    assert v.cycle.sessions_left == 100 and v.last_close == 50.0


def test_buy_at_deadline_waits_then_buys_equal_slices():
    s = BuyAtDeadline(final_sessions=20)
    check(s, view(index=79, held=900), (0.0, 0.0, 0.0))  # 21 sessions left
    check(s, view(index=80, held=900), (0.0, 5.0, 0.0))  # 100 t over 20 sessions
    check(s, view(index=80, held=899.5), (0.0, 6.0, 0.0))  # 100.5 / 20 rounded up
    check(s, view(index=99, held=930), (0.0, 70.0, 0.0))  # the last session: all of it
    check(s, view(index=99, held=1_200), (0.0, 0.0, 0.0))  # covered: nothing to sell


def test_even_accumulation_buys_from_the_first_session():
    check(EvenAccumulation(), view(index=0, held=800), (0.0, 2.0, 0.0))  # 200 / 100
    check(EvenAccumulation(), view(index=50, held=800), (0.0, 4.0, 0.0))  # 200 / 50


def test_reserve_and_arbitrage_buys_low_sells_high_around_the_reserve():
    s = ReserveArbitrage(window=10, low=0.2, high=0.8, clip_share=0.05, long_share=0.2)
    rising = np.linspace(40, 60, 30)
    falling = rising[::-1]
    check(s, view(held=900, closes=falling), (0.0, 50.0, 0.0))  # at the low: a 50 t clip
    check(s, view(held=1_180, closes=falling), (0.0, 20.0, 0.0))  # up to 1.2 x the reserve
    check(s, view(held=900, closes=rising), (0.0, 0.0, 0.0))  # high, but nothing above reserve
    check(s, view(held=1_030, closes=rising), (0.0, 0.0, 30.0))  # sells the 30 t surplus
    check(s, view(held=1_030, closes=rising, pledged=1_010), (0.0, 0.0, 20.0))  # sellable 20
    check(s, view(held=1_200, closes=rising, reserve_add=150), (0.0, 0.0, 50.0))  # a clip
    middle = np.r_[np.tile([40.0, 60.0], 15)[:29], 50.0]  # z = 0.5
    check(s, view(held=900, closes=middle), (0.0, 0.0, 0.0))
    check(s, view(held=900, closes=np.full(30, 50.0)), (0.0, 0.0, 0.0))  # flat: no signal
    check(s, view(held=900, closes=falling[-5:]), (0.0, 0.0, 0.0))  # too little history


def test_reserve_and_arbitrage_only_catches_up_at_the_end():
    s = ReserveArbitrage(final_sessions=20, reserve_share=1.1)
    # towards the obligation (1,000 t), not the 1.1 x reserve, whatever the price
    check(s, view(index=90, held=900, closes=np.linspace(60, 40, 30)), (0.0, 10.0, 0.0))
    check(s, view(index=90, held=1_300, closes=np.linspace(60, 40, 30)), (0.0, 0.0, 30.0))


def test_forward_hedge_locks_the_ratio_on_the_first_session():
    s = ForwardHedge(hedge_ratio=0.75, final_sessions=20)
    check(s, view(index=0, held=600), (300.0, 0.0, 0.0))  # 0.75 x 400
    check(s, view(index=1, held=600, forwards=300), (0.0, 0.0, 0.0))
    check(s, view(index=85, held=600, forwards=300), (0.0, 7.0, 0.0))  # 100 t / 15 rounded up
    orders = s.decide(view(index=0, held=600))
    assert orders[0].instrument == "forward" and orders[0].side == "buy"


def test_scripted_replays_its_list():
    day = SESSIONS[3].date()
    s = Scripted({day: [Order("sell", 5.0, limit=49.0)]})
    assert s.decide(view(index=3)) == (Order("sell", 5.0, limit=49.0),)
    assert s.decide(view(index=4)) == ()


def test_strategies_meet_the_interface():
    for cls in RULES.values():
        assert isinstance(cls(), Strategy)
    assert set(RULES) == {"deadline", "even", "reserve", "forward"}


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ReserveArbitrage(low=0.9, high=0.5), "low"),
        (lambda: ReserveArbitrage(window=1), "window"),
        (lambda: ForwardHedge(hedge_ratio=1.5), "hedge_ratio"),
        (lambda: BuyAtDeadline(final_sessions=0), "final_sessions"),
        (lambda: Order("hold", 5.0), "side"),
        (lambda: Order("buy", -5.0), "tonnes"),
        (lambda: Order("buy", 5.0, limit=0.0), "limit"),
        (lambda: Order("sell", 5.0, instrument="forward"), "forward"),
    ],
)
def test_bad_settings_and_orders_are_refused(make, match):
    with pytest.raises(ConfigurationError, match=match):
        make()
