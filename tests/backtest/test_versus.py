"""The plan against the best rule: the rule with the lowest E[cost] + lambda x CVaR wins, the
difference is paired (scipy's related t-test), and the book's sunk forwards leave the rules'
costs as they leave the plan's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from backtest.result import PathResults
from backtest.versus import objective, versus_best_rule


def results(name: str, cost: np.ndarray) -> PathResults:
    zeros = np.zeros_like(cost)
    return PathResults(name, cost, zeros, zeros, zeros, zeros, zeros, zeros)


def test_the_best_rule_by_the_plans_objective_and_a_paired_t():
    rng = np.random.Generator(np.random.PCG64(3))
    common = rng.normal(10e6, 2e6, 400)
    plan = common - 0.3e6 + rng.normal(0, 0.1e6, 400)
    calm = common + rng.normal(0, 0.1e6, 400)  # lower mean + CVaR than the fat-tailed one
    wild = common - 0.5e6 + rng.standard_t(2, 400) * 1e6
    rules = {"even": results("even", calm + 5e6), "reserve": results("reserve", wild + 5e6)}
    versus = versus_best_rule(plan, rules, lambda_=1.0, alpha=0.95, currency="CNY", sunk=5e6)
    assert objective(calm, 1.0, 0.95) < objective(wild, 1.0, 0.95)
    assert versus.rule == "even"
    assert versus.rule_cost == pytest.approx(calm.mean())  # the sunk 5 m taken out
    assert versus.difference == pytest.approx((plan - calm).mean())
    assert versus.t_stat == pytest.approx(stats.ttest_rel(plan, calm).statistic)
    assert versus.t_stat < -20  # 0.3 m a path cheaper, against 0.14 m of paired noise
    assert versus.to_dict()["currency"] == "CNY" and versus.paths == 400
