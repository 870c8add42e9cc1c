"""Out-of-sample evaluation of a plan against the optimiser's own figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest

from engine.book import ComplianceBook, Forward, Obligation
from engine.compliance import CEA_COMPLIANCE
from engine.evaluate import evaluate_plan
from engine.optimiser import ComplianceOptimiser, OptimiserSettings
from engine.scenarios import Scenarios

# Fees of 3 per mille a side and no banking value: a round trip (buy now, sell later) costs more
# than the few cents these paths rise, so the program does not trade round trips.
RULES = dataclasses.replace(CEA_COMPLIANCE, fee_rate=0.003, banking_base_t=0.0)
SETTINGS = OptimiserSettings(lambda_=0.0, liquidity_t=1e6, impact=0.0)


def book(allowances_t=100_000.0, forwards=()) -> ComplianceBook:
    obligation = Obligation(
        expected_output=150_000.0, base_output=150_000.0, output_sd_share=0.05, intensity=1.0,
        intensity_sd_share=0.0, benchmark=1.0,
    )  # fmt: skip
    return ComplianceBook(
        entity="Test", market="cea", cycle_year=2025, allowances_by_vintage={2025: allowances_t},
        ccer_t=0.0, forwards=forwards, pledges=(), cash=0.0, trading_budget=1e9,
        reserve_floor_share=0.0, obligation=obligation,
    )  # fmt: skip


def scenarios(prices, emissions=150_000.0) -> Scenarios:
    prices = np.atleast_2d(np.asarray(prices, dtype=float))
    n = prices.shape[0]
    return Scenarios(
        prices=prices, deadline_price=prices[:, -1], ccer_prices=np.full_like(prices, 500.0),
        emissions=np.broadcast_to(emissions, (n,)), true_up=np.zeros(n), true_up_date=0,
    )  # fmt: skip


def test_a_plan_that_buys_all_today_costs_the_same_out_of_sample():
    """Prices only creep up: the plan buys the 50,000 t short today, and every path of the full
    simulation costs exactly that, 50,000 x 60 x 1.003."""
    reduced = scenarios([[60.0, 60.05, 60.1], [60.0, 60.02, 60.04]])
    plan = ComplianceOptimiser(book(), reduced, SETTINGS, rules=RULES).solve()
    assert plan.buy_today_t == pytest.approx(50_000, rel=1e-5)
    rises = np.cumsum(np.abs(np.random.default_rng(1).normal(0, 0.5, (500, 2))), axis=1)
    full = scenarios(np.hstack([np.full((500, 1), 60.0), 60.0 + rises]))
    evaluation = evaluate_plan(book(), plan, full, SETTINGS, rules=RULES)
    assert evaluation.expected_cost == pytest.approx(50_000 * 60.0 * 1.003, rel=1e-5)
    assert evaluation.expected_cost == pytest.approx(plan.expected_cost, rel=1e-5)
    assert evaluation.shortfall_probability == 0.0
    assert evaluation.cvar == pytest.approx(evaluation.expected_cost, rel=1e-6)


def test_out_of_sample_is_no_cheaper_than_in_sample_on_a_fine_tree():
    """40 scenarios over 6 dates: the tree splits on every date, down to one or two scenarios a
    node, so in sample later trades all but know their path; out of sample the rule does not:
    on the same scenarios the out-of-sample cost is at least the plan's (weighted mean)."""
    rng = np.random.default_rng(3)
    steps = np.hstack([np.zeros((40, 1)), rng.normal(0, 0.05, (40, 5))])
    prices = 60.0 * np.exp(np.cumsum(steps, axis=1))
    reduced = scenarios(prices)
    plan = ComplianceOptimiser(book(), reduced, SETTINGS, rules=RULES).solve()
    evaluation = evaluate_plan(book(), plan, reduced, SETTINGS, rules=RULES)
    assert evaluation.expected_cost >= plan.expected_cost - 1e-6 * abs(plan.expected_cost)
    assert evaluation.cost.shape == (40,) and np.isfinite(evaluation.cost).all()


def test_existing_forwards_arrive_where_the_optimiser_puts_them():
    forwards = (Forward(tonnes=50_000.0, price=55.0, delivery=dt.date(2026, 6, 30)),)
    prices = scenarios([[60.0, 60.05, 60.1]])
    owned = book(forwards=forwards)
    plan = ComplianceOptimiser(owned, prices, SETTINGS, rules=RULES).solve()
    evaluation = evaluate_plan(owned, plan, prices, SETTINGS, rules=RULES)
    # 100,000 held + 50,000 forward (price sunk) cover 150,000: nothing to buy, nothing short.
    assert plan.buy_today_t == pytest.approx(0.0, abs=1e-2)
    assert evaluation.expected_cost == pytest.approx(0.0, abs=1.0)
    assert evaluation.expected_shortfall_t == pytest.approx(0.0, abs=1e-3)
    assert not math.isnan(evaluation.var)
