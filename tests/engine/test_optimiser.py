"""The compliance optimiser against closed forms, its own duals and the empirical risk figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from desk.config.book import load_book
from engine import optimiser_errors
from engine.book import ComplianceBook, Forward, Obligation, Pledge
from engine.compliance import CEA_COMPLIANCE
from engine.errors import ConfigurationError, ForwardQuoteError, Infeasible, SolverFailed
from engine.forwards import ForwardQuote
from engine.optimiser import ComplianceOptimiser, OptimiserSettings
from engine.scenarios import Scenarios, weighted_var_cvar

EXAMPLE = Path(__file__).resolve().parents[2] / "desk/defaults/power_company_book.toml"
# No fees, no banking value: what is bought beyond the need is worth nothing.
FRICTIONLESS = dataclasses.replace(
    CEA_COMPLIANCE, fee_rate=0.0, offset_fee_rate=0.0, banking_base_t=0.0
)
NO_IMPACT = OptimiserSettings(lambda_=0.0, liquidity_t=1e6, impact=0.0, ccer_impact=0.0)
TODAY = dt.date(2025, 3, 3)


def calendar(dates: int) -> tuple[dt.date, ...]:
    """Decision dates two weeks apart from ``TODAY``."""
    return tuple(TODAY + dt.timedelta(days=14 * i) for i in range(dates))


def quote(price: float, max_t: float, date_index: int, name: str = "bank") -> ForwardQuote:
    """A fixed-price quote delivered on decision date ``date_index`` of ``calendar``."""
    return ForwardQuote(name, calendar(date_index + 1)[-1], max_t, price=price)


def make_book(
    allowances_t: float = 100_000.0,
    *,
    ccer_t: float = 0.0,
    pledged_t: float = 0.0,
    trading_budget: float = 1e9,
    reserve_floor_share: float = 0.0,
    expected_emissions_t: float = 150_000.0,
) -> ComplianceBook:
    obligation = Obligation(
        expected_output=expected_emissions_t, base_output=expected_emissions_t,
        output_sd_share=0.05, intensity=1.0, intensity_sd_share=0.0, benchmark=1.0,
    )  # fmt: skip
    pledges = (Pledge(pledged_t, loan=1.0, trigger_ltv=0.5, call_ltv=0.6),) if pledged_t else ()
    return ComplianceBook(
        entity="Test Power", market="cea", cycle_year=2025,
        allowances_by_vintage={2025: allowances_t}, ccer_t=ccer_t, forwards=(), pledges=pledges,
        cash=0.0, trading_budget=trading_budget, reserve_floor_share=reserve_floor_share,
        obligation=obligation,
    )  # fmt: skip


def make_scenarios(
    prices, *, emissions=150_000.0, deadline=None, ccer=None, true_up=0.0, weights=None
) -> Scenarios:
    prices = np.atleast_2d(np.asarray(prices, dtype=float))
    n = prices.shape[0]
    deadline = prices[:, -1] if deadline is None else np.broadcast_to(deadline, (n,))
    ccer = np.full_like(prices, 500.0) if ccer is None else np.broadcast_to(ccer, prices.shape)
    return Scenarios(
        prices=prices, deadline_price=deadline, ccer_prices=ccer,
        emissions=np.broadcast_to(emissions, (n,)), true_up=np.broadcast_to(true_up, (n,)),
        true_up_date=0, weights=weights, decision_dates=calendar(prices.shape[1]),
    )  # fmt: skip


def random_scenarios(n: int, dates: int, seed: int, scale: float = 1.0) -> Scenarios:
    rng = np.random.Generator(np.random.PCG64(seed))
    steps = rng.normal(0.0, 0.05, (n, dates))
    steps[:, 0] = 0.0
    prices = 60.0 * np.exp(np.cumsum(steps, axis=1))
    ccer = prices * rng.uniform(0.9, 1.1, (n, 1))
    ccer[:, 0] = 60.0
    return make_scenarios(
        prices * scale,
        emissions=rng.normal(150_000, 8_000, n),
        deadline=prices[:, -1] * scale * rng.uniform(0.95, 1.05, n),
        ccer=ccer * scale,
        true_up=rng.normal(5_000, 3_000, n),
    )


def test_one_scenario_without_frictions_buys_the_need_at_the_cheapest_date():
    # All allowances pledged and prices never rising: no round trip can earn anything, so the
    # 50,000 t short (150,000 emitted - 100,000 held) are bought at the cheapest date, the last.
    prices = [60.0, 58.0, 55.0, 52.0]
    optimiser = ComplianceOptimiser(
        make_book(100_000, pledged_t=100_000), make_scenarios(prices), NO_IMPACT,
        rules=FRICTIONLESS,
    )  # fmt: skip
    plan = optimiser.solve()
    assert plan.status == "optimal" and plan.solver == "CLARABEL"
    # without fees a buy and a sale on the same date cancel at no cost: compare net trades
    net_t = plan.expected_buy_t - plan.expected_sell_t
    np.testing.assert_allclose(net_t, [0, 0, 0, 50_000], atol=1e-2)
    assert plan.expected_cost == pytest.approx(50_000 * 52.0, rel=1e-7)
    assert plan.expected_shortfall_t == pytest.approx(0.0, abs=1e-3)
    assert plan.shortfall_probability == 0.0 and plan.expected_penalty == pytest.approx(0, abs=1)
    # the one scenario's cost is its VaR and its CVaR
    assert plan.var == plan.cvar == pytest.approx(plan.expected_cost, rel=1e-12)
    json.dumps(plan.to_dict())
    assert list(plan.schedule().columns) == ["buy_t", "sell_t", "ccer_buy_t", "liquidity_value"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_scenario_without_frictions_against_an_independent_linear_program(seed):
    """Prices that rise and fall make round trips pay (one scenario: its tree is its path); scipy's
    linprog on a plain formulation of the same deterministic problem gives the same cost."""
    rng = np.random.Generator(np.random.PCG64(seed))
    dates, held, emitted, cap, deadline = 6, 100_000.0, 150_000.0, 30_000.0, 61.0
    prices = np.concatenate([[60.0], 60.0 * np.exp(np.cumsum(rng.normal(0, 0.05, dates - 1)))])
    settings = dataclasses.replace(NO_IMPACT, liquidity_t=cap)
    plan = ComplianceOptimiser(
        make_book(held), make_scenarios(prices, deadline=deadline), settings, rules=FRICTIONLESS
    ).solve()
    # x = (buy_0..buy_5, sell_0..sell_5, shortfall); cost = p.(buy - sell) + 10 x 61 x shortfall
    cost = np.concatenate([prices, -prices, [10 * deadline]])
    cumulative = np.tril(np.ones((dates, dates)))
    holdings = np.hstack([-cumulative, cumulative, np.zeros((dates, 1))])  # -h_d + held <= 0
    cover = np.concatenate([-np.ones(dates), np.ones(dates), [-1.0]])  # held + net + short >= E
    result = linprog(
        cost,
        A_ub=np.vstack([holdings, cover]),
        b_ub=np.concatenate([np.full(dates, held), [held - emitted]]),
        bounds=[(0, cap)] * (2 * dates) + [(0, None)],
    )
    assert result.status == 0
    assert plan.objective == pytest.approx(result.fun, rel=1e-7)
    assert plan.expected_cost == pytest.approx(result.fun, rel=1e-7)


def test_later_trades_cannot_see_which_scenario_they_are_in():
    """Two scenarios at 60 until the last date, then 40 or 80. A desk cannot tell them apart
    before the last date, so whatever it buys before is bought in both. Hindsight would buy at
    60 in the dear scenario only and at 40 in the cheap one: E[cost] 2.5 m. Without it every
    split of the 50,000 t between 60 now and the last date's price costs 3.0 m in expectation,
    and CVaR (the dear scenario) is lowest when all is bought at 60 before the split."""
    prices = [[60.0, 60.0, 40.0], [60.0, 60.0, 80.0]]
    book = make_book(100_000, pledged_t=100_000)  # nothing to sell: no round trips
    optimiser = ComplianceOptimiser(book, make_scenarios(prices), NO_IMPACT, rules=FRICTIONLESS)
    assert optimiser.solve().expected_cost == pytest.approx(3_000_000, rel=1e-7)
    plan = optimiser.solve(lambda_=1.0)
    assert plan.expected_cost == pytest.approx(3_000_000, rel=1e-7)
    assert plan.cvar == pytest.approx(3_000_000, rel=1e-7)
    bought_before = plan.expected_buy_t[:2].sum() - plan.expected_sell_t[:2].sum()
    assert bought_before == pytest.approx(50_000, rel=1e-6)


def test_cheap_forward_is_taken_up_to_its_cap():
    # prices never rise and nothing may be sold: no round trips, closed-form costs
    prices = np.array([[60.0, 58.0, 57.0], [60.0, 59.0, 58.0], [60.0, 55.0, 52.0]])
    settings = dataclasses.replace(NO_IMPACT, lambda_=1.0, forwards=(quote(50.0, 20_000.0, 2),))
    book = make_book(100_000, pledged_t=100_000)
    plan = ComplianceOptimiser(book, make_scenarios(prices), settings, rules=FRICTIONLESS).solve()
    assert plan.forward_t == pytest.approx(20_000, abs=1e-2)
    # the rest of the 50,000 t at each scenario's cheapest price
    costs = 20_000 * 50.0 + 30_000 * np.array([57.0, 58.0, 52.0])
    np.testing.assert_allclose(plan.scenario_cost, costs, rtol=1e-7)


@pytest.mark.parametrize(
    ("rules", "gap"),
    [(FRICTIONLESS, 60.0 - 40.0), (CEA_COMPLIANCE, 60.0 * 1.003 - 40.0 * 1.006)],
)
def test_ccer_cap_binds_and_its_shadow_price_is_the_price_gap(rules, gap):
    scenarios = make_scenarios([60.0, 60.0, 60.0], emissions=200_000.0, ccer=40.0, deadline=55.0)
    plan = ComplianceOptimiser(make_book(100_000), scenarios, NO_IMPACT, rules=rules).solve()
    cap_t = 0.05 * 200_000
    assert plan.expected_ccer_use_t == pytest.approx(cap_t, rel=1e-7)
    net_t = plan.expected_buy_t.sum() - plan.expected_sell_t.sum()
    assert net_t == pytest.approx(100_000 - cap_t, rel=1e-7)
    # one more tonne of CCER cap replaces a tonne of CEA by a CCER: worth the gap (fees in)
    assert plan.ccer_cap_value == pytest.approx(gap, rel=1e-6)


def test_penalty_above_one_buys_the_shortfall_away_and_a_small_budget_forces_it():
    scenarios = make_scenarios([[60.0, 58.0, 50.0], [60.0, 57.0, 55.0]], deadline=60.0)
    book = make_book(100_000, pledged_t=100_000)  # nothing to sell: no round trips
    optimiser = ComplianceOptimiser(book, scenarios, NO_IMPACT, rules=FRICTIONLESS)
    for multiple in (1.05, 1.5, 10.0):
        plan = optimiser.solve(penalty_multiple=multiple)
        assert plan.expected_shortfall_t == pytest.approx(0.0, abs=1e-2)
        assert plan.shortfall_probability == 0.0
    # at half the deadline price, paying the penalty is cheaper than buying at 50 to 60
    plan = optimiser.solve(penalty_multiple=0.5)
    assert plan.expected_shortfall_t == pytest.approx(50_000, rel=1e-6)
    assert plan.expected_penalty == pytest.approx(50_000 * 0.5 * 60, rel=1e-6)
    # CNY 1,000,000 buys 20,000 t at 50 in the first scenario, 18,182 t at 55 in the second
    plan = optimiser.solve(trading_budget=1_000_000.0)
    short = np.array([50_000 - 1e6 / 50, 50_000 - 1e6 / 55])
    assert plan.expected_shortfall_t == pytest.approx(short.mean(), rel=1e-6)
    assert plan.shortfall_probability == 1.0
    assert plan.expected_penalty == pytest.approx(10 * 60 * short.mean(), rel=1e-6)
    # one more CNY buys 1/p t that saves the 600 CNY/t penalty less its price p
    assert plan.budget_value == pytest.approx(0.5 * (600 - 50) / 50 + 0.5 * (600 - 55) / 55)


def test_program_cvar_is_the_empirical_weighted_cvar_of_the_solved_costs():
    scenarios = random_scenarios(40, 6, seed=1)
    settings = OptimiserSettings(lambda_=2.0, liquidity_t=40_000.0, impact=0.05)
    plan = ComplianceOptimiser(make_book(100_000), scenarios, settings).solve()
    var, cvar = weighted_var_cvar(plan.scenario_cost, scenarios.weights, 0.95)
    assert (plan.var, plan.cvar) == (var, cvar)
    assert plan.program_cvar == pytest.approx(cvar, rel=1e-6)
    # 40 equal weights at 95 %: CVaR is the mean of the two worst costs
    assert cvar == pytest.approx(np.sort(plan.scenario_cost)[-2:].mean(), rel=1e-12)
    assert plan.expected_cost == pytest.approx(plan.scenario_cost.mean(), rel=1e-12)


def test_weighted_var_cvar_against_brute_force():
    rng = np.random.Generator(np.random.PCG64(7))
    for _ in range(200):
        n = int(rng.integers(1, 30))
        costs = rng.normal(0, 1, n)
        weights = rng.dirichlet(np.ones(n))
        alpha = float(rng.uniform(0.5, 0.99))
        var, cvar = weighted_var_cvar(costs, weights, alpha)
        # brute force: the Rockafellar-Uryasev minimum over eta is attained at a cost
        ru = [eta + weights @ np.maximum(costs - eta, 0) / (1 - alpha) for eta in costs]
        assert cvar == pytest.approx(min(ru), rel=1e-12, abs=1e-12)
        assert costs.max() >= cvar >= var - 1e-12 and cvar >= weights @ costs - 1e-12


def test_scaling_every_price_by_k_scales_the_optimal_cost_by_k():
    plans = [
        ComplianceOptimiser(
            make_book(100_000), random_scenarios(12, 5, seed=3, scale=k),
            dataclasses.replace(NO_IMPACT, lambda_=1.0, forwards=(quote(59.0 * k, 1e4, 4),)),
            rules=FRICTIONLESS,
        ).solve()
        for k in (1.0, 3.0)
    ]  # fmt: skip
    base, scaled = plans
    assert scaled.objective == pytest.approx(3 * base.objective, rel=1e-6)
    assert scaled.expected_cost == pytest.approx(3 * base.expected_cost, rel=1e-6)
    assert scaled.cvar == pytest.approx(3 * base.cvar, rel=1e-6)


def test_adding_a_costly_scenario_never_lowers_the_cvar_of_a_fixed_decision():
    """CVaR is concave in the scenario weights: mixing in a scenario whose cost under the fixed
    decision is at least the current CVaR can only raise it (a cheap one may lower it)."""
    scenarios = random_scenarios(30, 5, seed=5)
    plan = ComplianceOptimiser(make_book(100_000), scenarios, OptimiserSettings()).solve()
    costs, weights = plan.scenario_cost, scenarios.weights
    rng = np.random.Generator(np.random.PCG64(11))
    for _ in range(200):
        share = float(rng.uniform(1e-3, 0.5))
        added = plan.cvar + float(rng.exponential(1e6)) * rng.integers(0, 2)
        mixed = np.append(costs, added), np.append(weights * (1 - share), share)
        assert weighted_var_cvar(*mixed, 0.95)[1] >= plan.cvar - 1e-6 * abs(plan.cvar)
    # duplicating the worst scenario (same decision, same cost) with any weight
    worst = int(np.argmax(costs))
    mixed = np.append(costs, costs[worst]), np.append(weights * 0.9, 0.1)
    assert weighted_var_cvar(*mixed, 0.95)[1] >= plan.cvar


def test_infeasible_budget_under_a_floor_that_needs_buying_names_both():
    # the floor is 0.75 x 200,000 = 150,000 t on every date, today included: 50,000 t to buy now
    book = make_book(
        100_000, trading_budget=1_000_000.0, reserve_floor_share=0.75, expected_emissions_t=2e5
    )
    optimiser = ComplianceOptimiser(
        book, make_scenarios([60.0, 58.0, 62.0]), NO_IMPACT, rules=FRICTIONLESS
    )
    with pytest.raises(Infeasible, match="trading budget") as caught:
        optimiser.solve()
    error = caught.value
    assert set(error.families) == {"trading budget", "reserve floor"}
    assert "trading budget (CNY 1,000,000)" in str(error) and "(150,000 t)" in str(error)
    # alone: 2,000,000 CNY more buys the 50,000 t; or a floor 1e6 / 60 = 16,667 t above holdings
    assert error.relaxations["trading budget"] == pytest.approx(2_000_000, rel=1e-5)
    assert error.relaxations["reserve floor"] == pytest.approx(50_000 - 1e6 / 60, rel=1e-5)


def test_infeasible_floor_beyond_the_liquidity_cap_names_both():
    book = make_book(100_000, reserve_floor_share=0.75, expected_emissions_t=2e5)
    settings = dataclasses.replace(NO_IMPACT, liquidity_t=20_000.0)
    optimiser = ComplianceOptimiser(book, make_scenarios([60.0, 58.0, 62.0]), settings)
    with pytest.raises(Infeasible) as caught:
        optimiser.solve()
    error = caught.value
    assert set(error.families) == {"reserve floor", "liquidity cap"}
    assert error.relaxations["liquidity cap"] == pytest.approx(30_000, rel=1e-5)
    assert error.relaxations["reserve floor"] == pytest.approx(30_000, rel=1e-5)
    assert "liquidity cap (20,000 t per date and side)" in str(error)
    # the same optimiser solves once the floor is within reach
    assert optimiser.solve(reserve_floor_t=120_000.0).buy_today_t == pytest.approx(2e4, rel=1e-6)


def test_a_pledge_that_a_negative_true_up_breaks_is_named():
    book = make_book(100_000, pledged_t=90_000.0)
    scenarios = make_scenarios([60.0, 58.0, 62.0], true_up=-30_000.0)  # at date 0
    settings = dataclasses.replace(NO_IMPACT, liquidity_t=10_000.0)
    with pytest.raises(Infeasible, match="pledged allowances") as caught:
        ComplianceOptimiser(book, scenarios, settings).solve()
    assert set(caught.value.families) == {"pledge", "liquidity cap"}


def test_a_true_up_that_takes_back_more_than_is_held_names_non_negative_holdings():
    """15,000 t held, a true-up on the last date takes back 20,000 t: 5,000 t below zero up to
    the deadline. With no budget to buy them, the holdings and the budget are both named (it was
    "trading budget" alone: the deadline's holdings had no slack in the diagnosis)."""
    prices = np.array([[60.0, 58.0, 62.0]])
    scenarios = Scenarios(
        prices=prices, deadline_price=np.array([62.0]), ccer_prices=prices * 10,
        emissions=np.array([0.0]), true_up=np.array([-20_000.0]), true_up_date=2,
    )  # fmt: skip
    book = make_book(15_000, trading_budget=0.0)
    with pytest.raises(Infeasible, match="non-negative holdings") as caught:
        ComplianceOptimiser(book, scenarios, NO_IMPACT, rules=FRICTIONLESS).solve()
    error = caught.value
    assert set(error.families) == {"non-negative holdings", "trading budget"}
    assert error.relaxations["non-negative holdings"] == pytest.approx(5_000, rel=1e-5)
    assert error.relaxations["trading budget"] == pytest.approx(5_000 * 58.0, rel=1e-5)
    assert "holdings would go 5,000 t below zero" in str(error)


def test_resolving_reuses_the_problem_and_the_frontier_is_monotone():
    scenarios = random_scenarios(30, 6, seed=2)
    optimiser = ComplianceOptimiser(make_book(100_000), scenarios, OptimiserSettings())
    problem = optimiser.problem
    assert problem.is_dcp(dpp=True)
    names = {p.name() for p in problem.parameters()}
    assert {"lambda", "liquidity", "trading_budget", "holdings_floor", "offset_cap_share",
            "penalty_multiple", "banking_base", "allowances", "ccer_held"} <= names  # fmt: skip
    # the scenario matrices are constants, not Parameters
    assert all(p.size <= 1 for p in problem.parameters())
    frontier = optimiser.frontier([0.0, 0.25, 1.0, 4.0, 16.0])
    assert optimiser.problem is problem
    cvar, expected = frontier["cvar"].to_numpy(), frontier["expected_cost"].to_numpy()
    tolerance = 1e-6 * np.abs(cvar).max()
    assert np.all(np.diff(cvar) <= tolerance) and np.all(np.diff(expected) >= -tolerance)
    assert cvar[0] - cvar[-1] > 1e3  # risk aversion buys a real reduction of CVaR


def test_a_what_if_on_the_holdings_re_solves_to_the_rebuilt_plan():
    """Holdings are Parameters: solve(allowances_t=, ccer_t=) on the built program gives the plan
    of a program built from the changed book, and a sale today is capped by the new holdings."""
    scenarios = random_scenarios(20, 6, seed=4)
    settings = OptimiserSettings(lambda_=1.0, liquidity_t=60_000.0, impact=0.02)
    book = make_book(100_000, pledged_t=30_000.0)
    optimiser = ComplianceOptimiser(book, scenarios, settings)
    problem = optimiser.problem
    for allowances, ccer in ((60_000.0, 0.0), (180_000.0, 4_000.0)):
        what_if = optimiser.solve(allowances_t=allowances, ccer_t=ccer)
        changed = dataclasses.replace(book, allowances_by_vintage={2025: allowances}, ccer_t=ccer)
        rebuilt = ComplianceOptimiser(changed, scenarios, settings).solve()
        assert optimiser.problem is problem
        assert what_if.expected_cost == pytest.approx(rebuilt.expected_cost, rel=1e-6, abs=1.0)
        assert what_if.buy_today_t == pytest.approx(rebuilt.buy_today_t, abs=1.0)
        assert what_if.sell_today_t == pytest.approx(rebuilt.sell_today_t, abs=1.0)
        assert what_if.sell_today_t <= allowances - 30_000.0 + 1.0
    # 180,000 t held against ~150,000 t of emissions: a surplus to sell, none to buy
    assert what_if.buy_today_t < 1.0 and what_if.expected_shortfall_t < 1.0
    with pytest.raises(ConfigurationError, match="below the 30,000 t pledged"):
        optimiser.solve(allowances_t=20_000.0)


def test_min_cvar_mode_honours_the_cost_budget():
    scenarios = random_scenarios(30, 5, seed=4)
    book = make_book(100_000)
    mean_only = ComplianceOptimiser(book, scenarios, OptimiserSettings(lambda_=0.0)).solve()
    budget = mean_only.expected_cost + 200_000.0
    settings = OptimiserSettings(mode="min_cvar", cost_budget=budget)
    optimiser = ComplianceOptimiser(book, scenarios, settings)
    plan = optimiser.solve()
    assert plan.expected_cost <= budget + 1.0
    assert plan.cvar <= mean_only.cvar + 1.0
    with pytest.raises(Infeasible, match="expected-cost budget") as caught:
        optimiser.solve(cost_budget=mean_only.expected_cost - 1e6)
    assert caught.value.families == ("expected-cost budget",)


def test_a_failed_solve_falls_back_and_then_raises_naming_both(monkeypatch):
    scenarios = random_scenarios(10, 4, seed=6)
    optimiser = ComplianceOptimiser(make_book(100_000), scenarios, OptimiserSettings())
    reference = optimiser.solve()
    monkeypatch.setitem(optimiser_errors.SOLVER_OPTIONS, "CLARABEL", {"max_iter": 2})
    plan = optimiser.solve()
    assert plan.solver == "SCS" and plan.status in ("optimal", "optimal_inaccurate")
    assert plan.expected_cost == pytest.approx(reference.expected_cost, rel=1e-3)
    monkeypatch.setitem(optimiser_errors.SOLVER_OPTIONS, "SCS", {"max_iters": 2})
    with pytest.raises(SolverFailed, match=r"CLARABEL returned user_limit; then the fallback SCS"):
        optimiser.solve()


def test_bad_inputs_name_the_field():
    good = make_scenarios([[60.0, 58.0], [60.0, 61.0]])
    fields = dataclasses.asdict(good)
    cases = [
        ({"prices": [[60.0, -1.0], [60.0, 61.0]]}, r"scenarios\.prices\[0, 1\] = -1\.0"),
        ({"prices": [[60.0, 58.0], [61.0, 61.0]]}, r"prices\[:, 0\]: today's price"),
        ({"deadline_price": [60.0]}, r"deadline_price: shape \(1,\)"),
        ({"emissions": [1.0, np.nan]}, r"emissions\[1\] = nan: not finite"),
        ({"weights": [0.7, 0.7]}, "weights: must be probabilities"),
        ({"true_up_date": 2}, r"true_up_date = 2: must be a date index in 0\.\.1"),
    ]
    for change, message in cases:
        with pytest.raises(ConfigurationError, match=message):
            Scenarios(**{**fields, **change})
    with pytest.raises(ConfigurationError, match="lambda_ = -1"):
        OptimiserSettings(lambda_=-1.0)
    with pytest.raises(ConfigurationError, match="cost_budget = None"):
        OptimiserSettings(mode="min_cvar")
    book = dataclasses.replace(make_book(), forwards=(Forward(1_000.0, 50.0, TODAY),))
    with pytest.raises(ConfigurationError, match="forward_delivery_index = 5"):
        ComplianceOptimiser(book, good, OptimiserSettings(forward_delivery_index=5))
    hedge = OptimiserSettings(forwards=(quote(50, 1, 1),))
    with pytest.raises(ConfigurationError, match="need the scenarios' calendar dates"):
        ComplianceOptimiser(book, dataclasses.replace(good, decision_dates=None), hedge)
    with pytest.raises(ConfigurationError, match=r"decision_dates\[1\] = 2025-03-03: dates"):
        dataclasses.replace(good, decision_dates=(TODAY, TODAY))
    late = OptimiserSettings(forwards=(ForwardQuote("late", dt.date(2027, 1, 4), 1.0, 50.0),))
    with pytest.raises(ForwardQuoteError, match=r"'late': delivery = .* after the surrender dead"):
        ComplianceOptimiser(book, good, late)
    stale = OptimiserSettings(forwards=(ForwardQuote("old", dt.date(2025, 3, 1), 1.0, 50.0),))
    with pytest.raises(ForwardQuoteError, match=r"'old': delivery = .* before today \(2025-03-03"):
        ComplianceOptimiser(book, good, stale)
    optimiser = ComplianceOptimiser(make_book(), good, rules=dataclasses.replace(
        CEA_COMPLIANCE, banking_base_t=None))  # fmt: skip
    with pytest.raises(ConfigurationError, match="unknown overrides"):
        optimiser.solve(lam=1.0)
    with pytest.raises(ConfigurationError, match="no banking cap"):
        optimiser.solve(banking_base_t=1.0)
    with pytest.raises(ConfigurationError, match=r"liquidity_t = 0\.0 is impossible"):
        optimiser.solve(liquidity_t=0.0)
    assert optimiser.solve().banking_cap_value is None


def test_the_example_book_plans_without_trouble():
    book = load_book(EXAMPLE)
    rng = np.random.Generator(np.random.PCG64(8))
    outcomes = book.obligation.scenarios(25, seed=8)
    steps = rng.normal(0.0, 0.04, (25, 8))
    steps[:, 0] = 0.0
    prices = 60.0 * np.exp(np.cumsum(steps, axis=1))
    scenarios = Scenarios(
        prices=prices, deadline_price=prices[:, -1], ccer_prices=prices * 1.05,
        emissions=outcomes.emissions, true_up=outcomes.true_up, true_up_date=5,
        decision_dates=calendar(8),
    )  # fmt: skip
    settings = OptimiserSettings(forwards=(quote(58.0, 200_000.0, 4),))
    plan = ComplianceOptimiser(book, scenarios, settings).solve()
    assert plan.status == "optimal" and plan.sell_today_t <= book.sellable_t
    assert plan.shortfall_probability == 0.0  # covered to 107 %: no scenario should be short
    assert plan.expected_ccer_use_t <= 0.05 * outcomes.emissions.mean() + 1.0


def test_ccer_purchases_have_a_liquidity_cap_and_an_impact_cost():
    """A book 600,000 t short over 3 dates with 200,000 t of allowance liquidity a date (impact
    2 % at full liquidity) and CCER at a 3 % premium, capped at 5 % of 2.4 Mt = 120,000 t. With an
    unlimited, frictionless CCER market the plan buys the whole 120,000 t cap of CCER, the only
    unlimited market; with CCER's own 20,000 t a date and 5 % impact it buys at most 20,000 t a
    date, and fewer: each tonne's impact is weighed against the allowances'."""
    prices = np.full((1, 3), 60.0)
    scenarios = make_scenarios(prices, emissions=2_400_000.0, ccer=61.8, deadline=60.0)
    book = make_book(1_800_000, expected_emissions_t=2_400_000.0)
    unlimited = OptimiserSettings(
        lambda_=0.0, liquidity_t=200_000.0, impact=0.02, ccer_liquidity_t=1e9, ccer_impact=0.0
    )
    plan = ComplianceOptimiser(book, scenarios, unlimited, rules=FRICTIONLESS).solve()
    assert plan.expected_ccer_buy_t.sum() == pytest.approx(120_000, rel=1e-4)
    capped = dataclasses.replace(unlimited, ccer_liquidity_t=20_000.0, ccer_impact=0.05)
    plan = ComplianceOptimiser(book, scenarios, capped, rules=FRICTIONLESS).solve()
    assert plan.expected_ccer_buy_t.max() <= 20_000.0 + 1e-3
    assert plan.expected_ccer_buy_t.sum() < 60_000.0
    # the reported cost carries the CCER impact: 0.05 x 61.8 x q^2 / 20,000 per date
    ccer = plan.expected_ccer_buy_t
    allowances = plan.expected_buy_t - plan.expected_sell_t
    expected = (
        60.0 * allowances.sum()
        + (0.02 * 60.0 * (plan.expected_buy_t**2 + plan.expected_sell_t**2)).sum() / 200_000.0
        + 61.8 * ccer.sum()
        + (0.05 * 61.8 * ccer**2).sum() / 20_000.0
    )
    assert plan.expected_cost == pytest.approx(expected, rel=1e-6)
    assert plan.expected_shortfall_t == pytest.approx(0.0, abs=1.0)
