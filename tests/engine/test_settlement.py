"""The one settlement rule, on hand-computed cases, and the same cases through its four
consumers: the optimiser's reported cost (and its objective, where its convex form is exact),
the out-of-sample evaluation, the Monte Carlo kernel and the event-driven backtester.

Every case: CEA rules (penalty 10 x the deadline price, CCER within 5 % of the emissions, banking
10,000 t + 1.5 x net sales), verified emissions 100,000 t, price 60 CNY/t on every session (so
the deadline price, the average of the last month, is 60), and nothing that can trade: a
trading budget of 0 and every allowance pledged. The cost is the settlement's alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from backtest.cycle import Cycle
from backtest.event import run_backtest
from backtest.montecarlo import run_paths
from engine.book import ComplianceBook, Obligation, Pledge
from engine.compliance import CEA_COMPLIANCE, EUA_COMPLIANCE
from engine.errors import ConfigurationError, Infeasible
from engine.evaluate import evaluate_deadline_buying
from engine.optimiser import ComplianceOptimiser, OptimiserSettings
from engine.scenarios import Scenarios
from engine.settlement import (
    DeadlinePosition,
    by_vintage,
    settle,
    settle_nb,
    settle_paths,
    terms_of,
)
from strategies.rules import BuyAtDeadline

EMISSIONS, PRICE = 100_000.0, 60.0
TERMS = terms_of(CEA_COMPLIANCE)
SETTINGS = OptimiserSettings(lambda_=0.0, liquidity_t=1e6, impact=0.0, ccer_impact=0.0)
# (name, allowances by vintage, CCER, true-up, expected cost, shortfall, banked)
CASES = [
    # 4,000 t over: banked within the 10,000 t cap, worth 4,000 x 60
    ("surplus within the cap", {2025: 104_000.0}, 0.0, 0.0, -240_000.0, 0.0, 4_000.0),
    # 30,000 t over, no sales: 10,000 t banked, 20,000 t forfeited
    ("surplus over the cap", {2025: 130_000.0}, 0.0, 0.0, -600_000.0, 0.0, 10_000.0),
    # 2,000 t CCER + 90,000 t: 8,000 t short at 10 x 60
    ("shortfall with penalty", {2025: 90_000.0}, 2_000.0, 0.0, 4_800_000.0, 8_000.0, 0.0),
    # 8,000 t CCER, 5,000 t usable; 95,000 of 96,000 t surrendered, 1,000 t banked
    ("CCER over the 5 % cap", {2025: 96_000.0}, 8_000.0, 0.0, -60_000.0, 0.0, 1_000.0),
    # 105,000 t over three vintages, 5,000 t banked
    (
        "several vintages",
        {2023: 30_000.0, 2024: 40_000.0, 2025: 35_000.0},
        0.0,
        0.0,
        -300_000.0,
        0.0,
        5_000.0,
    ),
]
# a true-up that takes back 20,000 t of 15,000 held: 5,000 t below zero, owed like emissions:
# 105,000 t short at 600 (the optimiser refuses it: holdings may not go negative)
DEFICIT = ("a deficit", {2025: 15_000.0}, 0.0, -20_000.0, 63_000_000.0, 105_000.0, 0.0)


def test_the_rule_on_hand_computed_cases():
    for name, vintages, ccer, true_up, cost, short, banked in [*CASES, DEFICIT]:
        held = sum(vintages.values()) + true_up
        position = DeadlinePosition(held, ccer, 0.0, EMISSIONS, PRICE)
        for rule in (settle, settle_nb):
            done = rule(TERMS, position)
            assert done.cost == pytest.approx(cost, abs=1e-6), name
            assert done.shortfall_t == short and done.banked_t == banked, name
            assert done.carried_shortfall_t == short  # the CEA carries the shortfall
            assert done.surrendered_t + done.ccer_used_t + short == EMISSIONS + max(-held, 0)
    # CCER over the cap: 5,000 of 8,000 t used; over the cap: 20,000 t forfeited
    assert settle(TERMS, DeadlinePosition(96_000, 8_000, 0, EMISSIONS, PRICE)).ccer_used_t == 5e3
    assert settle(TERMS, DeadlinePosition(130_000, 0, 0, EMISSIONS, PRICE)).forfeited_t == 2e4


def test_net_sales_widen_the_banking_cap_and_the_eu_ets_has_none():
    # 130,000 t held after selling 10,000 t net: cap 10,000 + 1.5 x 10,000 = 25,000 t
    done = settle(TERMS, DeadlinePosition(130_000, 0, 10_000, EMISSIONS, PRICE))
    assert done.banked_t == 25_000 and done.forfeited_t == 5_000
    # net purchases count as no sales
    done = settle(TERMS, DeadlinePosition(130_000, 0, -10_000, EMISSIONS, PRICE))
    assert done.banked_t == 10_000
    # EU ETS: EUR 100 a tonne short, no multiple, unlimited banking, no offsets
    eua = terms_of(EUA_COMPLIANCE)
    done = settle(eua, DeadlinePosition(90_000, 5_000, 0, EMISSIONS, 80.0))
    assert done.ccer_used_t == 0 and done.shortfall_t == 10_000 and done.penalty == 1_000_000
    assert settle(eua, DeadlinePosition(1e9, 0, 0, EMISSIONS, 80.0)).forfeited_t == 0
    # an override of the multiple (the backtest's and the optimiser's setting)
    assert terms_of(CEA_COMPLIANCE, 5.0).penalty_multiple == 5.0


def test_settle_paths_is_the_rule_per_scenario():
    held = np.array([104_000.0, 90_000.0, -5_000.0])
    done = settle_paths(TERMS, held, 2_000.0, 0.0, EMISSIONS, PRICE)
    for i, h in enumerate(held):
        one = settle(TERMS, DeadlinePosition(h, 2_000.0, 0.0, EMISSIONS, PRICE))
        assert tuple(field[i] for field in done) == pytest.approx(tuple(one))


def test_allowances_are_surrendered_oldest_vintage_first_and_the_newest_banked():
    vintages = {2025: 35_000.0, 2023: 30_000.0, 2024: 40_000.0}
    split = by_vintage(vintages, surrendered_t=100_000.0, banked_t=4_000.0)
    assert split == {
        2023: (30_000.0, 0.0, 0.0),
        2024: (40_000.0, 0.0, 0.0),
        2025: (30_000.0, 4_000.0, 1_000.0),
    }
    with pytest.raises(ConfigurationError, match="exceed the 105,000 t held"):
        by_vintage(vintages, surrendered_t=100_000.0, banked_t=6_000.0)


def _book(vintages: dict[int, float], ccer: float) -> ComplianceBook:
    obligation = Obligation(
        expected_output=EMISSIONS, base_output=EMISSIONS, output_sd_share=0.0, intensity=1.0,
        intensity_sd_share=0.0, benchmark=1.0,
    )  # fmt: skip
    held = sum(vintages.values())
    return ComplianceBook(
        entity="Settlement Test", market="cea", cycle_year=2025, allowances_by_vintage=vintages,
        ccer_t=ccer, forwards=(), pledges=(Pledge(held, loan=1.0, trigger_ltv=0.5, call_ltv=0.6),),
        cash=0.0, trading_budget=0.0, reserve_floor_share=0.0, obligation=obligation,
    )  # fmt: skip


def _scenarios(true_up: float) -> Scenarios:
    prices = np.full((1, 3), PRICE)
    return Scenarios(
        prices=prices, deadline_price=np.array([PRICE]), ccer_prices=prices,
        emissions=np.array([EMISSIONS]), true_up=np.array([true_up]), true_up_date=1,
    )  # fmt: skip


def _cycle(vintages: dict[int, float], ccer: float, true_up: float) -> Cycle:
    held = sum(vintages.values())
    return Cycle(
        year=2025, start=dt.date(2026, 1, 1), deadline=dt.date(2026, 12, 31), allowances_t=held,
        pledged_t=held, ccer_t=ccer, cash=0.0, trading_budget=0.0, reserve_floor_t=0.0,
        expected_emissions_t=EMISSIONS, expected_true_up_t=true_up, emissions_t=EMISSIONS,
        true_up_t=true_up, true_up_date=dt.date(2026, 6, 30),
    )  # fmt: skip


SESSIONS = pd.bdate_range("2026-01-05", "2026-12-31")
PRICES = pd.Series(PRICE, index=pd.DatetimeIndex([pd.Timestamp("2025-12-31"), *SESSIONS]))


def _event_cost(vintages, ccer, true_up) -> float:
    result = run_backtest(BuyAtDeadline(), PRICES, _cycle(vintages, ccer, true_up))
    return float(result.cycles["cost"].iloc[0])


def _monte_carlo_cost(vintages, ccer, true_up) -> float:
    paths = np.full((2, SESSIONS.size), PRICE)
    result = run_paths(
        BuyAtDeadline(), paths, _cycle(vintages, ccer, true_up), prefix=PRICES.iloc[:1],
        sessions=SESSIONS,
    )  # fmt: skip
    assert result.cost[0] == result.cost[1]
    return float(result.cost[0])


def _evaluation_cost(vintages, ccer, true_up) -> float:
    book, scenarios = _book(vintages, ccer), _scenarios(true_up)
    return float(evaluate_deadline_buying(book, scenarios, SETTINGS, last_dates=1).cost[0])


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_four_consumers_settle_alike(case):
    _, vintages, ccer, true_up, cost, _, _ = case
    plan = ComplianceOptimiser(_book(vintages, ccer), _scenarios(true_up), SETTINGS).solve()
    assert plan.scenario_cost[0] == pytest.approx(cost, rel=1e-8, abs=0.01)  # on solver noise
    # no sales: the program's convex banking cap is exact, so its objective is the rule's cost
    assert plan.objective == pytest.approx(cost, rel=1e-7, abs=1.0)
    assert _evaluation_cost(vintages, ccer, true_up) == pytest.approx(cost, abs=1e-6)
    assert _monte_carlo_cost(vintages, ccer, true_up) == cost
    assert _event_cost(vintages, ccer, true_up) == cost


def test_a_deficit_is_owed_like_emissions_by_every_consumer_but_the_optimiser():
    _, vintages, ccer, true_up, cost, _, _ = DEFICIT
    assert _evaluation_cost(vintages, ccer, true_up) == pytest.approx(cost)
    assert _monte_carlo_cost(vintages, ccer, true_up) == cost
    assert _event_cost(vintages, ccer, true_up) == cost
    with pytest.raises(Infeasible, match="non-negative holdings"):
        ComplianceOptimiser(_book(vintages, ccer), _scenarios(true_up), SETTINGS).solve()


def test_a_carried_shortfall_comes_off_the_next_cycle():
    """Cycle 2025 ends 8,000 t short (90,000 held, 2,000 CCER): the next cycle opens with its
    own 100,000 t less the 8,000 t still owed."""
    from backtest.cycle import FillSettings

    first = _cycle({2025: 90_000.0}, 2_000.0, 0.0)
    second = dataclasses.replace(
        first, year=2026, start=dt.date(2027, 1, 1), deadline=dt.date(2027, 6, 30),
        allowances_t=100_000.0, pledged_t=0.0, ccer_t=0.0, true_up_date=dt.date(2027, 3, 1),
    )  # fmt: skip
    prices = pd.concat([PRICES, pd.Series(PRICE, index=pd.bdate_range("2027-01-04", "2027-06-30"))])
    result = run_backtest(
        BuyAtDeadline(), prices, [first, second], fills=FillSettings(carry_over=True)
    )
    assert result.cycles.loc[2025, "shortfall_t"] == 8_000
    opening = result.events[(result.events["event"] == "opening")]
    assert opening["tonnes"].tolist() == [90_000.0, 92_000.0]


def test_where_the_convex_banking_cap_differs_from_the_rule():
    """A long book sells 20,000 t on each of 3 dates (the liquidity cap) at 60, no fees: 140,000
    t are left for 100,000 t of emissions. The program banks its 10,000 t base and forfeits
    30,000 t; the rule's cap is 10,000 + 1.5 x 60,000 = 100,000 t, so it banks all 40,000 t:
    the reported cost is 30,000 x 60 = 1.8 m below the objective."""
    rules = dataclasses.replace(CEA_COMPLIANCE, fee_rate=0.0, offset_fee_rate=0.0)
    book = dataclasses.replace(_book({2025: 200_000.0}, 0.0), pledges=(), trading_budget=1e9)
    settings = dataclasses.replace(SETTINGS, liquidity_t=20_000.0)
    plan = ComplianceOptimiser(book, _scenarios(0.0), settings, rules=rules).solve()
    assert plan.objective == pytest.approx(-60_000 * PRICE - 10_000 * PRICE, rel=1e-6)
    assert plan.expected_cost == pytest.approx(-60_000 * PRICE - 40_000 * PRICE, rel=1e-6)
    assert plan.expected_valued_bank_t == pytest.approx(40_000, rel=1e-6)
