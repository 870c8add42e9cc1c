"""The optimised strategy on the real CEA history 2021-2025 with the example book: it costs no
more than the best rule and is never short, although the first cycles have fewer than 250
closes (it plans them on the even slice, then the short-history model)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from backtest.history import compare, cost_table, stated_cycles
from desk.config.book import load_book
from engine.markets import market_rules
from market_data.calendar import calendar_for
from strategies.registry import make_strategy
from strategies.rules import RULES

pytestmark = pytest.mark.shared_data

BOOK = Path(__file__).resolve().parents[2] / "desk/defaults/power_company_book.toml"


@pytest.fixture(scope="module")
def results(real_cea):
    prices = real_cea
    book = load_book(BOOK)
    rules = market_rules(book.market)
    gaps = calendar_for(rules.calendar).session_gaps(pd.DatetimeIndex(prices.index))
    strategies = [make_strategy("optimised"), *(make_strategy(name) for name in RULES)]
    cycles = stated_cycles(book, prices.index)
    return compare(strategies, prices, cycles, market=rules.code, session_gaps=gaps)


def test_it_costs_no_more_than_the_best_rule_and_is_never_short(results):
    table = cost_table(results)
    assert list(table.index[:-1]) == [2021, 2022, 2023, 2024, 2025]
    total = table.loc["total"]
    best_rule = min(total[name] for name in RULES)
    # measured: optimised 34.68 m CNY against even 37.31 m, the best rule
    assert total["optimised"] <= best_rule
    assert total["optimised"] == pytest.approx(34.68, abs=0.05)
    optimised = results["optimised"].cycles
    assert (optimised["shortfall_t"] == 0).all() and (optimised["penalty"] == 0).all()
