"""Forward quotes: the quote model, and the optimiser's hedges and their shadow prices against a
closed form, a hand-built linear program and finite differences."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import numpy as np
import pytest
from scipy.optimize import linprog

from engine.errors import ForwardQuoteError
from engine.forwards import (
    ForwardQuote,
    carry_price,
    carry_price_nb,
    delivery_index,
    price_quotes,
)
from engine.optimiser import ComplianceOptimiser, OptimiserSettings
from tests.engine.test_optimiser import FRICTIONLESS, TODAY, calendar, make_book, make_scenarios

DEADLINE = dt.date(2026, 12, 31)


def test_a_carry_quote_is_spot_carried_at_its_rate_plus_the_premium():
    bank = ForwardQuote("bank", dt.date(2026, 6, 30), 100_000, carry_rate=0.025, premium=0.5)
    today = dt.date(2025, 6, 30)
    assert bank.price_at(60.0, today) == pytest.approx(60.0 * math.exp(0.025) + 0.5, rel=1e-15)
    assert carry_price_nb(60.0, 1.0, 0.025, 0.5) == carry_price(60.0, 1.0, 0.025, 0.5)
    fixed = ForwardQuote("broker", dt.date(2026, 6, 30), 5_000, price=61.0)
    assert fixed.price_at(60.0, today) == 61.0 and fixed.price_at(90.0, today) == 61.0
    # delivered today: no carry, the premium only
    assert bank.price_at(60.0, bank.delivery) == pytest.approx(60.5, rel=1e-15)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_t": -1.0}, r"'q': max_t = -1\.0 must be a finite number of tonnes, not negative"),
        ({"max_t": math.inf}, "max_t = inf"),
        ({"price": 60.0, "carry_rate": 0.02}, "give either a fixed price or a carry_rate"),
        ({"carry_rate": None}, "give either a fixed price or a carry_rate"),
        ({"price": 0.0, "carry_rate": None}, "price = 0.0 must be a positive, finite price"),
        ({"carry_rate": 2.0}, r"carry_rate = 2\.0 must be a finite rate a year within"),
        ({"premium": math.nan}, "premium = nan must be finite"),
        ({"price": 60.0, "carry_rate": None, "premium": 1.0}, "fold it into the price"),
        ({"name": " "}, "give a non-blank name"),
        ({"delivery": "2026-01-01"}, "delivery = '2026-01-01' must be a date"),
    ],
)
def test_an_impossible_quote_is_refused_naming_the_field(fields, message):
    base = {"name": "q", "delivery": dt.date(2026, 1, 1), "max_t": 1.0, "carry_rate": 0.02}
    with pytest.raises(ForwardQuoteError, match=message):
        ForwardQuote(**{**base, **fields})


def test_quotes_are_placed_on_the_decision_dates_and_checked_against_the_night():
    dates = (dt.date(2025, 3, 3), dt.date(2025, 3, 17), dt.date(2025, 3, 31))
    assert [delivery_index(dates, d) for d in (dates[0], dt.date(2025, 3, 4), dates[2])] == [
        0,
        1,
        2,
    ]
    assert delivery_index(dates, dt.date(2025, 12, 1)) == 2  # after the grid: the last date
    quotes = [ForwardQuote("a", dt.date(2025, 3, 10), 1.0, price=50.0)]
    offers = price_quotes(quotes, 60.0, dates, DEADLINE)
    assert offers[0].date_index == 1 and offers[0].price == 50.0
    with pytest.raises(ForwardQuoteError, match="'a' is given twice") as error:
        price_quotes(quotes * 2, 60.0, dates, DEADLINE)
    assert error.value.quote == "a" and error.value.field == "name"
    with pytest.raises(ForwardQuoteError, match="after the surrender deadline 2025-03-05"):
        price_quotes(quotes, 60.0, dates, dt.date(2025, 3, 5))
    with pytest.raises(ForwardQuoteError, match=r"premium = -70\.0 leaves a price of"):
        ForwardQuote("b", dates[1], 1.0, carry_rate=0.0, premium=-70.0).price_at(60.0, dates[0])


# Two scenarios over three dates at 64 until the last date, then 55 or 72 (so the tree, which
# splits on the last date, is exact: nobody can tell them apart before); deadline price the last.
# 100,000 t held, all pledged; 150,000 t to cover.
PRICES = [[64.0, 64.0, 55.0], [64.0, 64.0, 72.0]]
BANK = ForwardQuote("bank", calendar(3)[2], 5_000.0, carry_rate=0.025, premium=-1.5)
QUOTES = (
    ForwardQuote("broker", calendar(2)[1], 10_000.0, price=61.5),
    BANK,
    ForwardQuote("dear", calendar(3)[2], 10_000.0, price=80.0),
)
EXPECTED_COST = OptimiserSettings(lambda_=0.0, liquidity_t=1e6, impact=0.0, forwards=QUOTES)
LIQUIDITY = 30_000.0
WITH_CVAR = OptimiserSettings(
    lambda_=1.0, alpha=0.5, liquidity_t=LIQUIDITY, impact=0.0, forwards=QUOTES
)


def _optimiser(settings: OptimiserSettings) -> ComplianceOptimiser:
    book = make_book(100_000, pledged_t=100_000)
    return ComplianceOptimiser(book, make_scenarios(PRICES), settings, rules=FRICTIONLESS)


def test_hedges_and_their_shadow_prices_against_the_closed_form():
    """Minimising E[cost], a tonne is worth 63.5 on the last date (55 or 72), and 64 today and
    on date 1. The bank's hedge (delivered on the last date) replaces a purchase there and saves
    63.5 - p a tonne; the broker's, delivered on date 1, is best sold there at 64 (and the need
    bought on the last date), so one more tonne on offer saves 64 - 61.5 = 2.5; the dear quote
    (80) is worth nothing and not taken.
    """
    plan = _optimiser(EXPECTED_COST).solve()
    hedges = {h.quote: h for h in plan.forward_hedges}
    bank_price = 64.0 * math.exp(0.025 * 28 / 365) - 1.5
    assert hedges["bank"].price == pytest.approx(bank_price, rel=1e-12)
    assert [hedges[q].tonnes for q in ("broker", "bank")] == pytest.approx([10_000, 5_000], abs=0.1)
    assert hedges["dear"].tonnes == pytest.approx(0.0, abs=0.1)
    assert plan.forward_t == pytest.approx(15_000, abs=0.2)
    assert hedges["broker"].shadow_price == pytest.approx(2.5, rel=1e-5)
    assert hedges["bank"].shadow_price == pytest.approx(63.5 - bank_price, rel=1e-5)
    assert hedges["dear"].shadow_price == pytest.approx(0.0, abs=1e-5)
    # the hedges (the broker's sold at 64), and the other 45,000 t at 55 or 72
    hedged = 10_000 * (61.5 - 64.0) + 5_000 * bank_price
    np.testing.assert_allclose(plan.scenario_cost, hedged + 45_000 * np.array([55.0, 72.0]))
    record = json.loads(json.dumps(plan.to_dict()))["forward_hedges"][1]
    assert record == {
        "quote": "bank", "delivery": "2025-03-31", "price": pytest.approx(bank_price),
        "tonnes": pytest.approx(5_000, abs=0.1), "max_t": 5_000.0,
        "shadow_price": pytest.approx(63.5 - bank_price, rel=1e-5),
    }  # fmt: skip


def test_hedges_and_shadow_prices_against_a_hand_built_linear_program():
    """E[cost] + CVaR_0.5 (the dear scenario's cost, where round trips pay) with 30,000 t a date
    written as a plain LP for scipy's HiGHS: one decision today and one on date 1 (the scenarios
    cannot be told apart yet), one per scenario on date 2, sales allowed, shortfall at the
    penalty. Objective, hedges, and the hedges' shadow prices from the marginals of their upper
    bounds."""
    prices = np.array(PRICES)
    quote_prices = np.array([q.price_at(64.0, TODAY) for q in QUOTES])
    penalty = FRICTIONLESS.penalty_multiple * prices[:, -1] + (FRICTIONLESS.penalty_per_t or 0)
    # x = [buy0, sell0, buy1, sell1, buy2 (s1, s2), sell2 (s1, s2), f x3, short x2, eta, u x2]
    n, F, SH, ETA, U = 16, 8, 11, 13, 14
    cost = np.zeros((2, n))  # cost_s = cost[s] . x
    rows, bounds = [], []
    for s in range(2):
        cost[s, :4] = [64.0, -64.0, 64.0, -64.0]
        cost[s, 4 + s], cost[s, 6 + s] = prices[s, 2], -prices[s, 2]
        cost[s, F : F + 3] = quote_prices
        cost[s, SH + s] = penalty[s]
        net = np.zeros(n)  # the tonnes held beyond the 100,000 t pledged, by date
        for d, columns in enumerate(([0], [2], [4 + s])):
            net[columns] = 1.0
            net[[c + (1 if d < 2 else 2) for c in columns]] = -1.0
            net[F : F + 3] = [d >= 1, d >= 2, d >= 2]  # the broker delivers on date 1
            rows.append(-net.copy()), bounds.append(0.0)
        cover = -net
        cover[SH + s] = -1.0  # 100,000 + net + short >= 150,000
        rows.append(cover), bounds.append(-50_000.0)
        row = cost[s].copy()  # cost_s - eta - u_s <= 0
        row[ETA], row[U + s] = -1.0, -1.0
        rows.append(row), bounds.append(0.0)
    objective = 0.5 * cost.sum(axis=0)  # E[cost] + CVaR_0.5 = eta + E[u] / 0.5
    objective[ETA] += 1.0
    objective[U : U + 2] += 0.5 / 0.5
    variable_bounds = (
        [(0, LIQUIDITY), (0, 0)] + [(0, LIQUIDITY)] * 6 + [(0, q.max_t) for q in QUOTES]
        + [(0, None)] * 2 + [(None, None)] + [(0, None)] * 2
    )  # fmt: skip
    result = linprog(objective, A_ub=np.array(rows), b_ub=np.array(bounds), bounds=variable_bounds)
    assert result.status == 0
    plan = _optimiser(WITH_CVAR).solve()
    assert plan.objective == pytest.approx(result.fun, rel=1e-7)
    np.testing.assert_allclose(plan.scenario_cost, cost @ result.x, rtol=1e-6)
    tonnes = [h.tonnes for h in plan.forward_hedges]
    np.testing.assert_allclose(tonnes, result.x[F : F + 3], atol=0.5)
    marginal = -result.upper.marginals[F : F + 3]  # what one more tonne of bound saves
    shadow = [h.shadow_price for h in plan.forward_hedges]
    np.testing.assert_allclose(shadow, marginal, rtol=1e-5, atol=1e-5)
    # a hedged tonne replaces one bought today at 64 in both E[cost] and CVaR: 2 x (64 - p)
    np.testing.assert_allclose(shadow[:2], 2 * (64.0 - quote_prices[:2]), rtol=1e-5)


def test_shadow_prices_against_finite_differences():
    """One more 1,000 t on offer lowers the optimal objective (E[cost] + CVaR) by 1,000 x the
    shadow price."""
    base = _optimiser(WITH_CVAR).solve()
    for i, hedge in enumerate(base.forward_hedges):
        quotes = list(QUOTES)
        quotes[i] = dataclasses.replace(QUOTES[i], max_t=QUOTES[i].max_t + 1_000.0)
        more = _optimiser(dataclasses.replace(WITH_CVAR, forwards=tuple(quotes))).solve()
        saved = (base.objective - more.objective) / 1_000.0
        assert saved == pytest.approx(hedge.shadow_price, rel=1e-5, abs=1e-5), hedge.quote


def test_without_quotes_the_plan_has_no_hedge():
    plan = _optimiser(dataclasses.replace(WITH_CVAR, forwards=())).solve()
    assert plan.forward_hedges == () and plan.forward_t == 0.0
    assert plan.to_dict()["forward_hedges"] == []
