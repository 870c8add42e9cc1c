"""Today's decision re-solved on disjoint scenario sets: each set is the optimiser's own solve
on those paths, and the spread reports their percentiles."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import ConfigurationError
from engine.optimiser import ComplianceOptimiser, OptimiserSettings
from engine.scenario_build import reduce_scenarios, subset
from engine.stability import decision_spread
from tests.engine.test_optimiser import make_book, random_scenarios

SETTINGS = OptimiserSettings(lambda_=0.5, liquidity_t=40_000.0)


def test_each_set_is_the_optimisers_solve_on_its_paths():
    book, scenarios = make_book(100_000), random_scenarios(90, 4, seed=5)
    spread = decision_spread(book, scenarios, SETTINGS, sets=3, count=10)
    assert (spread.sets, spread.paths, spread.scenarios) == (3, 30, 10)
    for k in range(3):
        alone = reduce_scenarios(subset(scenarios, np.arange(k, 90, 3)), 10)
        plan = ComplianceOptimiser(book, alone, SETTINGS).solve()
        assert spread.decisions["buy_today_t"][k] == pytest.approx(plan.buy_today_t)
        assert spread.decisions["sell_today_t"][k] == pytest.approx(plan.sell_today_t)
    # the 50,000 t short are bought across the dates; the sets disagree on how much today
    buys = spread.decisions["buy_today_t"]
    assert buys.max() > 0
    record = spread.to_dict()
    assert record["buy_t"]["median"] == pytest.approx(np.median(buys))
    assert record["buy_t"]["p95"] == pytest.approx(np.percentile(buys, 95))
    assert record["buy_t"]["sd"] == pytest.approx(np.std(buys, ddof=1))
    assert set(record) == {"sets", "scenarios", "paths", "buy_t", "sell_t", "forward_t", "ccer_t"}


def test_impossible_spreads_are_named():
    book, scenarios = make_book(100_000), random_scenarios(20, 3, seed=1)
    with pytest.raises(ConfigurationError, match="at least 2"):
        decision_spread(book, scenarios, SETTINGS, sets=1, count=5)
    with pytest.raises(ConfigurationError, match="4 sets of 5, fewer than the 10"):
        decision_spread(book, scenarios, SETTINGS, sets=4, count=10)
