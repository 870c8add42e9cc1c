"""The fill transition, one exchange rule at a time, on figures worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backtest import fills_nb as fx

CASH = 1_000_000.0


def rules(**values: float) -> np.ndarray:
    vector = np.zeros(fx.N_RULES)
    vector[fx.FEE_RATE] = 0.003
    vector[fx.LOT] = 1.0
    vector[fx.TICK] = 0.01
    vector[fx.BLOCK_THRESHOLD] = 100_000.0
    vector[fx.BUDGET] = 1e12
    for name, value in values.items():
        vector[getattr(fx, name.upper())] = value
    return vector


def day(price=50.0, previous=50.0, cap=1e9, band=0.10, block_band=0.30) -> np.ndarray:
    vector = np.zeros(fx.N_DAY)
    vector[fx.PRICE] = price
    vector[fx.LOW], vector[fx.HIGH] = fx.band_limits(previous, 1, band, 0.01)
    vector[fx.BLOCK_LOW], vector[fx.BLOCK_HIGH] = fx.band_limits(previous, 1, block_band, 0.01)
    vector[fx.CAP] = cap
    return vector


def state(held=0.0, cap=1e9, locked=0.0):
    return (held, locked, CASH, 0.0, 0.0, 0.0, cap)


def execute(st, side, tonnes, limit=math.nan, d=None, r=None):
    d = day() if d is None else d
    return fx.execute_nb(st, side, float(tonnes), float(limit), d, rules() if r is None else r)


def test_a_buy_fills_at_the_price_with_the_fee_in_cents():
    """1,234 t at 50.37: value 62,156.58, fee 0.3 % = 186.469... -> 186.47."""
    new, (q, price, value, fee, status) = execute(state(), fx.BUY, 1234, d=day(price=50.37))
    assert (q, price, status) == (1234.0, 50.37, fx.FILLED)
    assert value == 62_156.58 and fee == 186.47
    assert new[fx.CASH] == pytest.approx(CASH - 62_156.58 - 186.47, abs=1e-9)
    assert new[fx.HELD] == 1234 and new[fx.LOCKED] == 1234 and new[fx.SPENT] == value + fee


def test_a_sale_receives_the_value_less_the_fee():
    new, (q, price, value, fee, status) = execute(state(held=500), fx.SELL, 200)
    assert (q, price, value, fee, status) == (200.0, 50.0, 10_000.0, 30.0, fx.FILLED)
    assert new[fx.CASH] == CASH + 9_970.0 and new[fx.HELD] == 300 and new[fx.SOLD] == 200


def test_purchases_round_up_to_lots_and_sales_down_so_a_need_is_always_bought():
    """A purchase is rounded up (the rest of a need under one lot would otherwise never be
    bought), a sale down (never more than asked); a sale under one lot is rejected."""
    _, fill = execute(state(), fx.BUY, 10.2)
    assert fill[0] == 11.0 and fill[4] == fx.FILLED
    _, fill = execute(state(), fx.BUY, 0.7)
    assert fill[0] == 1.0
    _, fill = execute(state(), fx.BUY, 2_500, r=rules(lot=1_000.0))  # EUA-like lots
    assert fill[0] == 3_000
    _, fill = execute(state(), fx.BUY, 3_000 + 1e-7, r=rules(lot=1_000.0))  # float noise
    assert fill[0] == 3_000
    _, fill = execute(state(held=5_000), fx.SELL, 2_500, r=rules(lot=1_000.0))
    assert fill[0] == 2_000
    _, fill = execute(state(held=5_000), fx.SELL, 10.9)
    assert fill[0] == 10.0
    _, fill = execute(state(held=5_000), fx.SELL, 0.7)
    assert fill[4] == fx.REJECTED_LOT and fill[0] == 0
    # a purchase rounded up still stops at the liquidity left, in whole lots
    _, fill = execute(state(cap=2_500), fx.BUY, 2_200, r=rules(lot=1_000.0))
    assert fill[0] == 2_000 and fill[4] == fx.PARTIAL_LIQUIDITY


def test_a_limit_outside_the_band_is_refused_but_a_block_trade_has_the_wider_band():
    """Previous close 50: listing band 45.00..55.00, block band 35.00..65.00."""
    _, fill = execute(state(), fx.BUY, 1_000, limit=58.0)
    assert fill[4] == fx.REJECTED_BAND
    _, fill = execute(state(), fx.BUY, 150_000, limit=58.0)  # a block trade
    assert fill[4] == fx.FILLED and fill[0] == 150_000
    _, fill = execute(state(), fx.SELL, 100, limit=44.99)
    assert fill[4] == fx.REJECTED_BAND
    _, fill = execute(state(held=100), fx.SELL, 100, limit=45.0)
    assert fill[4] == fx.FILLED


def test_a_limit_the_price_does_not_reach_fills_nothing():
    st = state(held=1_000)
    for side, limit in ((fx.BUY, 49.99), (fx.SELL, 50.01)):
        new, fill = execute(st, side, 100, limit=limit)
        assert fill[4] == fx.REJECTED_LIMIT and new == st
    _, fill = execute(st, fx.BUY, 100, limit=50.0)
    assert fill[4] == fx.FILLED


def test_the_liquidity_cap_is_shared_by_the_sessions_fills():
    d = day(cap=1_500.0)
    st = state(cap=1_500.0)
    st, first = execute(st, fx.BUY, 1_000, d=d)
    st, second = execute(st, fx.BUY, 1_000, d=d)
    assert first[4] == fx.FILLED and second[4] == fx.PARTIAL_LIQUIDITY and second[0] == 500
    _, third = execute(st, fx.BUY, 10, d=d)
    assert third[4] == fx.REJECTED_NO_LIQUIDITY
    _, none = execute(state(cap=0.0), fx.BUY, 10, d=day(cap=0.0))  # a day without volume
    assert none[4] == fx.REJECTED_NO_LIQUIDITY


def test_t_plus_one_and_pledges_limit_sales():
    """Held 1,000 of which 300 pledged: 700 sellable; bought today cannot be sold today."""
    r = rules(pledged=300.0)
    st = state(held=1_000)
    st, bought = execute(st, fx.BUY, 400, r=r)
    assert bought[4] == fx.FILLED and st[fx.HELD] == 1_400
    st, sold = execute(st, fx.SELL, 1_000, r=r)
    assert sold[4] == fx.PARTIAL_SELLABLE and sold[0] == 700
    _, again = execute(st, fx.SELL, 1, r=r)
    assert again[4] == fx.REJECTED_SELLABLE


def test_impact_moves_the_price_within_the_band_on_the_tick():
    """50 x (1 + 0.02 x 500 / 1,000) = 50.50 for a buy; a sale gets 49.50; impact that would
    pass the band stops at its edge."""
    r = rules(impact=0.02)
    _, buy = execute(state(cap=1_000), fx.BUY, 500, d=day(cap=1_000.0), r=r)
    _, sell = execute(state(held=500, cap=1_000), fx.SELL, 500, d=day(cap=1_000.0), r=r)
    assert (buy[1], sell[1]) == (50.5, 49.5)
    _, edge = execute(
        state(cap=1_000), fx.BUY, 1_000, d=day(price=54.9, cap=1_000.0), r=rules(impact=0.5)
    )
    assert edge[1] == 55.0


def test_the_trading_budget_limits_purchases():
    """Budget 10,000 at 50 + 0.3 %: 199 t (9,979.85 with fee), then nothing."""
    r = rules(budget=10_000.0)
    st, fill = execute(state(), fx.BUY, 1_000, r=r)
    assert fill[4] == fx.PARTIAL_BUDGET and fill[0] == 199
    assert st[fx.SPENT] == pytest.approx(9_950 + 29.85) and st[fx.SPENT] <= 10_000
    _, fill = execute(st, fx.BUY, 1, r=r)
    assert fill[4] == fx.REJECTED_BUDGET


def test_a_forward_fills_at_the_quote_within_the_budget():
    q, value, fee, status = fx.forward_nb(999.5, 60.0, 0.0, rules())  # rounded up
    assert (q, value, fee, status) == (1_000.0, 60_000.0, 180.0, fx.FILLED)
    q, value, fee, status = fx.forward_nb(1_000.0, 60.0, 0.0, rules(budget=30_000.0))
    assert status == fx.PARTIAL_BUDGET and q == 498 and value + fee <= 30_000


def test_band_limits_compound_over_missing_sessions():
    assert fx.band_limits(50.0, 1, 0.10, 0.01) == (45.0, 55.0)
    low, high = fx.band_limits(50.0, 3, 0.10, 0.01)
    assert low == pytest.approx(36.45) and high == pytest.approx(66.55)
    assert fx.band_limits(50.0, 1, None, 0.01) == (0.0, math.inf)


def test_cents_round_half_up():
    assert fx.cents_nb(0.125) == 0.13 and fx.cents_nb(2.0049) == 2.0 and fx.cents_nb(-0.004) == 0
