"""Cached (parametric, compiled once per structure) programs give the plans that programs built
afresh give: the same decisions to 1e-6 of the obligation and the same objective, on books with
forwards, pledges, quotes, both modes and with and without impact."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.book import Forward
from engine.errors import ConfigurationError
from engine.optimiser import ComplianceOptimiser, OptimiserSettings
from engine.optimiser_cache import ProblemCache
from tests.engine.test_optimiser import TODAY, make_book, quote, random_scenarios

SCENARIOS, DATES = 16, 6  # equal weights and no ties: every seed gives the same tree
DECISIONS = ("buy_today_t", "sell_today_t", "forward_t", "ccer_today_t")
SCHEDULES = ("expected_buy_t", "expected_sell_t", "expected_ccer_buy_t")

CASES = {
    "plain": (make_book(100_000.0), OptimiserSettings()),
    "pledged, short, tight budget": (
        make_book(40_000.0, pledged_t=30_000.0, trading_budget=8e6, reserve_floor_share=0.1),
        OptimiserSettings(lambda_=2.0, liquidity_t=60_000.0),
    ),
    "existing forward, no impact": (
        dataclasses.replace(make_book(80_000.0), forwards=(Forward(20_000.0, 58.0, TODAY),)),
        OptimiserSettings(impact=0.0, ccer_impact=0.0, forward_delivery_index=3),
    ),
    "forward quotes": (
        make_book(90_000.0),
        OptimiserSettings(forwards=(quote(59.0, 30_000.0, 2), quote(61.0, 50_000.0, 4, "b"))),
    ),
    "min_cvar": (
        make_book(100_000.0),
        OptimiserSettings(mode="min_cvar", cost_budget=4e6, lambda_=0.0),
    ),
}


def scenarios(seed: int):
    return dataclasses.replace(random_scenarios(SCENARIOS, DATES, seed), true_up_date=3)


def assert_same_plan(cached, fresh, obligation_t: float) -> None:
    tolerance = 1e-6 * obligation_t  # 0.15 t of 150,000 t
    for name in DECISIONS:
        assert getattr(cached, name) == pytest.approx(getattr(fresh, name), abs=tolerance), name
    for name in SCHEDULES:
        np.testing.assert_allclose(getattr(cached, name), getattr(fresh, name), atol=tolerance)
    np.testing.assert_allclose(cached.scenario_cost, fresh.scenario_cost, rtol=1e-6)
    assert cached.objective == pytest.approx(fresh.objective, rel=1e-8)
    assert cached.cvar == pytest.approx(fresh.cvar, rel=1e-7)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_cached_program_re_solved_on_new_data_gives_the_fresh_plan(case):
    book, settings = CASES[case]
    cache = ProblemCache()
    first = None
    for seed in (1, 2, 3):
        sc = scenarios(seed)
        cached = ComplianceOptimiser(book, sc, settings, cache=cache)
        plan = cached.solve()
        first = first or cached.problem
        assert cached.problem is first  # one compiled program for the three data sets
        assert_same_plan(plan, ComplianceOptimiser(book, sc, settings).solve(), 150_000.0)
    assert (cache.stats.compiled, cache.stats.reused) == (1, 2)


def test_overrides_on_a_cached_program_match_the_fresh_program():
    book, settings = CASES["plain"]
    cache = ProblemCache()
    ComplianceOptimiser(book, scenarios(1), settings, cache=cache).solve()
    cached = ComplianceOptimiser(book, scenarios(2), settings, cache=cache)
    for overrides in ({"lambda_": 3.0}, {"liquidity_t": 30_000.0, "penalty_multiple": 1.5}):
        # a program built for each (a re-solve of the fresh one hands Clarabel the new data
        # in the last solve's scaling, which moves the answer within the solver's tolerance)
        fresh = ComplianceOptimiser(book, scenarios(2), settings).solve(**overrides)
        assert_same_plan(cached.solve(**overrides), fresh, 150_000.0)
    assert cache.stats.compiled == 1


def test_another_structure_gets_its_own_program():
    book, settings = CASES["plain"]
    cache = ProblemCache()
    a = ComplianceOptimiser(book, scenarios(1), settings, cache=cache)
    a.solve()
    longer = dataclasses.replace(random_scenarios(SCENARIOS, DATES + 2, 1), true_up_date=3)
    b = ComplianceOptimiser(book, longer, settings, cache=cache)
    assert_same_plan(b.solve(), ComplianceOptimiser(book, longer, settings).solve(), 150_000.0)
    assert b.problem is not a.problem and cache.stats.compiled == 2


def test_the_same_input_is_answered_from_memory_and_other_values_are_solved():
    book, settings = CASES["plain"]
    cache = ProblemCache()
    plan = ComplianceOptimiser(book, scenarios(1), settings, cache=cache).solve()
    again = ComplianceOptimiser(book, scenarios(1), settings, cache=cache).solve()
    assert again is plan and cache.stats.known_plans == 1
    other = ComplianceOptimiser(book, scenarios(1), settings, cache=cache).solve(lambda_=4.0)
    assert other is not plan and cache.stats.known_plans == 1


def test_the_stores_are_bounded():
    book, settings = CASES["plain"]
    cache = ProblemCache(programs=1, plans=2)
    for dates in (DATES, DATES + 1, DATES + 2):
        sc = dataclasses.replace(random_scenarios(SCENARIOS, dates, 1), true_up_date=3)
        ComplianceOptimiser(book, sc, settings, cache=cache).solve()
    assert len(cache._programs) == 1 and len(cache._plans) == 2
    with pytest.raises(ConfigurationError, match="programs = 0"):
        ProblemCache(programs=0)
