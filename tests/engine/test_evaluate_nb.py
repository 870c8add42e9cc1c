"""The out-of-sample evaluation kernel on paths where every figure is known."""

from __future__ import annotations

import numpy as np
import pytest

from engine import evaluate_nb as ev
from engine.settlement import SettlementTerms

TERMS = {"offset_share": "offset_cap_share", "penalty_multiple": "penalty_multiple",
         "bank_cap": "bank_base_t"}  # fmt: skip


def book_vector(**values: float) -> tuple[np.ndarray, SettlementTerms]:
    """The kernel's book vector and settlement terms (no sales term in the banking cap)."""
    book = np.zeros(ev.N_BOOK)
    book[ev.LIQUIDITY] = 1e9
    book[ev.CCER_LIQUIDITY] = 1e9
    book[ev.BUDGET] = 1e12
    terms = {
        "offset_cap_share": 0.05, "penalty_multiple": 10.0, "penalty_per_t": 0.0,
        "bank_base_t": np.inf, "bank_sales_multiple": 0.0, "shortfall_carried": True,
    }  # fmt: skip
    for name, value in values.items():
        if name in TERMS:
            terms[TERMS[name]] = float(value)
        else:
            book[getattr(ev, name.upper())] = value
    return book, SettlementTerms(**terms)


def run(first, book, prices, *, deadline=None, emissions, true_up=None, true_up_date=None,
        arrivals=None, forward_date=None, ccer_price0=0.0, buy_from=1):  # fmt: skip
    prices = np.atleast_2d(np.asarray(prices, dtype=float))
    n = prices.shape[0]
    deadline = np.full(n, prices[0, -1]) if deadline is None else np.asarray(deadline, float)
    emissions = np.broadcast_to(np.asarray(emissions, float), (n,)).copy()
    true_up = np.zeros(n) if true_up is None else np.asarray(true_up, float)
    dates = prices.shape[1]
    arrivals = np.zeros(dates + 1) if arrivals is None else np.asarray(arrivals, float)
    true_up_date = dates if true_up_date is None else true_up_date
    forward_date = dates if forward_date is None else forward_date
    out = [np.empty(n) for _ in range(4)]
    vector, terms = book
    ev.evaluate_nb(
        np.asarray(first, float), vector, terms, prices, ccer_price0, deadline, emissions, true_up,
        true_up_date, arrivals, forward_date, buy_from, *out,
    )  # fmt: skip
    return out


def test_buying_everything_today_costs_todays_price():
    cost, short, fine, bank = run(
        [1000, 0, 0, 0], book_vector(holdings=0, offset_share=0), [[50, 60, 70]], emissions=1000
    )
    assert cost[0] == 50_000 and short[0] == 0 and fine[0] == 0 and bank[0] == 0


def test_even_buying_of_the_rest():
    """Need 900 after today: 450 on date 1 at 60 and 450 on date 2 at 70, fees 1 %."""
    cost, short, *_ = run(
        [100, 0, 0, 0], book_vector(fee=0.01, offset_share=0), [[50, 60, 70]], emissions=1000
    )
    assert cost[0] == pytest.approx(100 * 50 * 1.01 + 450 * 60 * 1.01 + 450 * 70 * 1.01)
    assert short[0] == pytest.approx(0.0, abs=1e-9)


def test_buying_only_from_a_later_date():
    """From date 2 on only ("buy at the deadline"): all 900 t after today's 100 at 70."""
    cost, short, *_ = run(
        [100, 0, 0, 0], book_vector(fee=0.01, offset_share=0), [[50, 60, 70]], emissions=1000,
        buy_from=2,
    )  # fmt: skip
    assert cost[0] == pytest.approx(100 * 50 * 1.01 + 900 * 70 * 1.01)
    assert short[0] == pytest.approx(0.0, abs=1e-9)


def test_budget_and_liquidity_leave_a_shortfall_that_pays_the_penalty():
    book = book_vector(liquidity=200, offset_share=0, penalty_multiple=5)
    cost, short, fine, _ = run([0, 0, 0, 0], book, [[50, 60, 70]], emissions=1000, deadline=[80])
    # 200 t on each of dates 1 and 2 (the liquidity cap): 600 short at 5 x 80.
    assert short[0] == pytest.approx(600) and fine[0] == pytest.approx(600 * 5 * 80)
    assert cost[0] == pytest.approx(200 * 60 + 200 * 70 + 600 * 400)
    # Budget 30,000: date 1 buys its slice, 500 t at 60, and spends it all; 500 t stay short.
    book = book_vector(budget=30_000, offset_share=0)
    _, short, *_ = run([0, 0, 0, 0], book, [[50, 60, 70]], emissions=1000)
    assert short[0] == pytest.approx(500)


def test_ccer_within_the_cap_true_up_forwards_and_banking():
    book = book_vector(holdings=900, ccer_held=80, offset_share=0.05, bank_cap=20,
                       old_forward_cost=7_000)  # fmt: skip
    cost, short, _fine, bank = run(
        [0, 0, 0, 0], book, [[50, 60, 70]], emissions=1000, true_up=[30], true_up_date=1,
        arrivals=[0, 0, 100, 0], deadline=[75],
    )  # fmt: skip
    # Covered by 900 held + 50 CCER (cap 5 % of 1,000) + 30 true-up + 100 forward = 1,080:
    # no purchase; of the 80 t surplus 20 are banked at 75 and 60 sold, 30 on each of dates 1
    # (at 60) and 2 (at 70).
    assert short[0] == 0 and bank[0] == 20
    assert cost[0] == pytest.approx(7_000 - 30 * 60 - 30 * 70 - 20 * 75)


def test_the_excess_beyond_the_bank_is_sold_evenly_down_to_the_floor():
    """2,000 held against 1,000 emitted, 100 t bankable: 900 t to sell, 450 on each of dates 1
    and 2 (fees 1 %, impact 2 % of the price at the 1,000 t liquidity)."""
    book = book_vector(holdings=2_000, offset_share=0, bank_cap=100, fee=0.01, impact=0.02,
                       liquidity=1_000)  # fmt: skip
    cost, short, _, bank = run([0, 0, 0, 0], book, [[50, 60, 70]], emissions=1000)
    proceeds = sum(450 * p * 0.99 - 0.02 * p * 450**2 / 1_000 for p in (60, 70))
    assert short[0] == 0 and bank[0] == 100
    assert cost[0] == pytest.approx(-proceeds - 100 * 70)
    # a 1,700 t floor leaves 300 t to sell: 300 on date 1 (under the 450 slice), none on date 2
    book[0][ev.LOWEST] = 1_700
    cost, short, _, bank = run([0, 0, 0, 0], book, [[50, 60, 70]], emissions=1000)
    assert short[0] == 0 and bank[0] == 100
    assert cost[0] == pytest.approx(-(300 * 60 * 0.99 - 0.02 * 60 * 300**2 / 1_000) - 100 * 70)
    # a 500 t claw-back on date 2 (a negative true-up) counts against the floor from date 1:
    # 2,000 - 500 - 1,500 leaves no room, so nothing is sold and 1,500 stay for the deadline
    book[0][ev.LOWEST] = 1_500
    _, short, _, bank = run(
        [0, 0, 0, 0], book, [[50, 60, 70]], emissions=1000, true_up=[-500], true_up_date=2
    )
    assert short[0] == 0 and bank[0] == 100


def test_what_arrives_later_is_not_bought_now():
    """A 600 t forward delivered at the deadline and a 300 t true-up on date 2: of 1,000 t only
    100 are missing, bought 50 and 50 on dates 1 and 2. A new 200 t forward at 55 on date 1
    covers them instead, and its extra 100 t are banked at the deadline price (70)."""
    book = book_vector(offset_share=0)
    cost, short, *_ = run(
        [0, 0, 0, 0], book, [[50, 60, 70]], emissions=1000, true_up=[300], true_up_date=2,
        arrivals=[0, 0, 0, 600],
    )  # fmt: skip
    assert short[0] == pytest.approx(0) and cost[0] == pytest.approx(50 * 60 + 50 * 70)
    book = book_vector(offset_share=0, forward_price=55)
    cost, short, *_ = run(
        [0, 0, 200, 0], book, [[50, 60, 70]], emissions=1000, true_up=[300], true_up_date=2,
        arrivals=[0, 0, 0, 600], forward_date=1,
    )  # fmt: skip
    assert short[0] == pytest.approx(0) and cost[0] == pytest.approx(200 * 55 - 100 * 70)


def test_paths_are_independent_and_parallel():
    prices = np.array([[50, 60, 70], [50, 40, 30]], float)
    cost, *_ = run([0, 0, 0, 0], book_vector(offset_share=0), prices, emissions=100)
    assert cost[0] == pytest.approx(50 * 60 + 50 * 70) and cost[1] == pytest.approx(
        50 * 40 + 50 * 30
    )


def test_a_ccer_purchase_today_pays_its_own_impact():
    """1,000 t of CCER at 50 today with CCER's 5 % impact at its 10,000 t liquidity: 50,000 +
    0.05 x 50 x 1,000^2 / 10,000 = 50,250; they cover 1,000 of 20,000 t emitted (the cap is
    5 % = 1,000 t), the rest is held."""
    book = book_vector(holdings=19_000, ccer_impact=0.05, ccer_liquidity=10_000)
    cost, short, _, bank = run([0, 0, 0, 1_000], book, [[50, 60, 70]], emissions=20_000,
                               ccer_price0=50.0)  # fmt: skip
    assert cost[0] == pytest.approx(50_250.0) and short[0] == 0 and bank[0] == 0
