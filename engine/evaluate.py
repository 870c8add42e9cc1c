"""Out-of-sample evaluation of a plan: its here-and-now decision on the full simulation.

The optimiser sees a reduced scenario set, on a tree with a few hundred nodes, at the tree's
prices. ``evaluate_plan`` takes only today's decision (buy, sell, forward, CCER) and
plays it on every path of a (larger) scenario set with the non-anticipative rule of
``engine.evaluate_nb``, under the same costs, budget, liquidity, penalty and banking rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import evaluate_nb as nb
from engine.book import ComplianceBook
from engine.compliance import ComplianceRules
from engine.errors import ConfigurationError
from engine.markets import market_rules
from engine.optimiser import OptimiserSettings
from engine.plan import Plan
from engine.scenarios import Scenarios, weighted_var_cvar
from engine.settlement import terms_of


@dataclass(frozen=True)
class Evaluation:
    """Per path and in summary (CNY and tonnes), weighted by the scenarios' weights.

    Attributes:
        cost, shortfall, penalty, banked: per path.
        expected_cost, var, cvar: of ``cost`` at ``alpha``.
        shortfall_probability: weight of the paths short by more than 0.5 t.
        expected_penalty, expected_shortfall_t: means.
    """

    cost: np.ndarray
    shortfall: np.ndarray
    penalty: np.ndarray
    banked: np.ndarray
    alpha: float
    expected_cost: float
    var: float
    cvar: float
    shortfall_probability: float
    expected_penalty: float
    expected_shortfall_t: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "paths": int(self.cost.size),
            "alpha": self.alpha,
            "expected_cost": self.expected_cost,
            "var": self.var,
            "cvar": self.cvar,
            "shortfall_probability": self.shortfall_probability,
            "expected_penalty": self.expected_penalty,
            "expected_shortfall_t": self.expected_shortfall_t,
        }


def _arrivals(book: ComplianceBook, settings: OptimiserSettings, dates: int) -> np.ndarray:
    """Tonnes of the book's forwards delivered at each date index (index ``dates``: the
    deadline), as the optimiser places them."""
    arrivals = np.zeros(dates + 1)
    where = settings.forward_delivery_index
    indices = (
        [dates - 1 if where is None else where] * len(book.forwards)
        if not isinstance(where, tuple)
        else list(where)
    )
    if len(indices) != len(book.forwards):
        raise ConfigurationError(
            f"forward_delivery_index has {len(indices)} entries for {len(book.forwards)} forwards"
        )
    for forward, index in zip(book.forwards, indices, strict=True):
        arrivals[index] += forward.tonnes
    return arrivals


def evaluate_plan(
    book: ComplianceBook,
    plan: Plan,
    scenarios: Scenarios,
    settings: OptimiserSettings | None = None,
    rules: ComplianceRules | None = None,
) -> Evaluation:
    """The plan's first-stage decision on every scenario of ``scenarios`` (see module)."""
    first = np.array([plan.buy_today_t, plan.sell_today_t, plan.forward_t, plan.ccer_today_t])
    # the hedges as one forward: their cost exactly, held from the latest of their dates
    taken = [h for h in plan.forward_hedges if h.tonnes > 0]
    price = sum(h.tonnes * h.price for h in taken) / plan.forward_t if taken else 0.0
    date = max((h.date_index for h in taken), default=scenarios.prices.shape[1] - 1)
    return _evaluate(book, first, scenarios, settings, rules, 1, price, date)


def evaluate_deadline_buying(
    book: ComplianceBook,
    scenarios: Scenarios,
    settings: OptimiserSettings | None = None,
    rules: ComplianceRules | None = None,
    *,
    last_dates: int = 2,
) -> Evaluation:
    """The benchmark of "buy at the deadline": nothing today, then the shortfall bought (or the
    excess beyond the banking cap sold) in equal slices on the last ``last_dates`` decision
    dates before surrender (with dates every 10 trading days, 2 is the last four weeks), under
    the same costs and rules as a plan."""
    dates = scenarios.prices.shape[1]
    if not 1 <= last_dates < dates:
        raise ConfigurationError(f"last_dates = {last_dates} must lie in [1, {dates - 1}]")
    return _evaluate(book, np.zeros(4), scenarios, settings, rules, dates - last_dates, 0.0,
                     dates - 1)  # fmt: skip


def _evaluate(
    book: ComplianceBook,
    first: np.ndarray,
    scenarios: Scenarios,
    settings: OptimiserSettings | None,
    rules: ComplianceRules | None,
    buy_from: int,
    forward_price: float,
    forward_date: int,
) -> Evaluation:
    settings = settings or OptimiserSettings()
    rules = rules or market_rules(book.market).compliance
    assert rules is not None
    prices = scenarios.prices
    n, dates = prices.shape
    vector = np.zeros(nb.N_BOOK)
    vector[nb.HOLDINGS] = book.allowances_t
    vector[nb.CCER_HELD] = book.ccer_t
    vector[nb.FORWARD_PRICE] = forward_price
    vector[nb.FEE] = rules.fee_rate
    vector[nb.CCER_FEE] = rules.offset_fee_rate
    vector[nb.IMPACT] = settings.impact
    vector[nb.LIQUIDITY] = settings.liquidity_t
    vector[nb.CCER_IMPACT] = settings.ccer_impact
    vector[nb.CCER_LIQUIDITY] = settings.ccer_liquidity_t
    vector[nb.BUDGET] = book.trading_budget
    vector[nb.LOWEST] = max(book.reserve_floor_t, book.pledged_t)
    out = [np.empty(n) for _ in range(4)]
    nb.evaluate_nb(
        first, vector, terms_of(rules, settings.penalty_multiple),
        prices, float(scenarios.ccer_prices[0, 0]), scenarios.deadline_price,
        scenarios.emissions, scenarios.true_up, scenarios.true_up_date,
        _arrivals(book, settings, dates), forward_date, buy_from, *out,
    )  # fmt: skip
    cost, shortfall, penalty, banked = out
    weights = scenarios.weights if scenarios.weights is not None else np.full(n, 1.0 / n)
    var, cvar = weighted_var_cvar(cost, weights, settings.alpha)
    return Evaluation(
        cost=cost,
        shortfall=shortfall,
        penalty=penalty,
        banked=banked,
        alpha=settings.alpha,
        expected_cost=float(weights @ cost),
        var=var,
        cvar=cvar,
        shortfall_probability=float(weights[shortfall > 0.5].sum()),
        expected_penalty=float(weights @ penalty),
        expected_shortfall_t=float(weights @ shortfall),
    )
