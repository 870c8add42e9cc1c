"""Tonight's plan against the rule strategies, on the same simulated paths.

The rules (``strategies.rules.RULES``: buy at the deadline, even, reserve, forward) are played
by the Monte Carlo backtester (``backtest.montecarlo.run_paths``) on the first ``paths`` of the
night's simulation, with the same emissions and true-up draws as the plan's scenarios; the
plan's cost on each of those paths is its out-of-sample evaluation (``engine.evaluate``). The
best rule is the one with the lowest expected cost + lambda x CVaR, the plan's own objective;
the difference is paired path by path, so its t-statistic is not blurred by the paths'
common noise.

Two differences of accounting are settled here: the book's existing forwards are paid whatever
the strategy, so their price (``sunk``) is taken out of the rules' costs, as the evaluation
leaves it out of the plan's; and the rules are played as the backtester plays them: the buying
rules never sell, so a long book's surplus beyond the banking cap is worth nothing to them,
where the plan may sell it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest.cycle import Cycle, FillSettings
from backtest.montecarlo import run_paths
from backtest.result import PathResults
from engine.book import ComplianceBook
from engine.errors import ConfigurationError
from engine.scenarios import weighted_var_cvar
from strategies.registry import make_strategy
from strategies.rules import RULES


@dataclass(frozen=True)
class Versus:
    """The plan against the best rule on the same paths (currency, tonnes).

    Attributes:
        rule: the best rule's name; ``objectives`` every rule's expected cost + lambda x CVaR.
        plan_cost, rule_cost: expected costs on the paths.
        plan_objective, rule_objective: expected cost + ``lambda_`` x CVaR at ``alpha``.
        difference, t_stat: mean of plan - rule per path, and its paired t-statistic.
        rule_shortfall_probability: the best rule's share of paths left short.
    """

    rule: str
    plan_cost: float
    rule_cost: float
    plan_objective: float
    rule_objective: float
    difference: float
    t_stat: float
    rule_shortfall_probability: float
    objectives: dict[str, float]
    lambda_: float
    alpha: float
    paths: int
    currency: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def objective(cost: np.ndarray, lambda_: float, alpha: float) -> float:
    """Expected cost + ``lambda_`` x CVaR at ``alpha`` of equally likely ``cost``."""
    weights = np.full(cost.size, 1.0 / cost.size)
    _, cvar = weighted_var_cvar(cost, weights, alpha)
    return float(cost.mean() + lambda_ * cvar)


def rules_on_paths(
    book: ComplianceBook,
    closes: np.ndarray,
    sessions: pd.DatetimeIndex,
    prefix: pd.Series,
    *,
    emissions_t: np.ndarray,
    true_up_t: np.ndarray,
    fills: FillSettings | None = None,
) -> dict[str, PathResults]:
    """Every rule on ``closes`` (paths x sessions to the deadline), from the book's position."""
    if closes.shape[1] != len(sessions):
        raise ConfigurationError(
            f"{closes.shape[1]} simulated days against {len(sessions)} sessions to the deadline"
        )
    cycle = Cycle.from_book(book, start=sessions[0], true_up_date=sessions[len(sessions) // 2])
    results = {}
    for name in RULES:
        results[name] = run_paths(
            make_strategy(name), closes, cycle, prefix=prefix, sessions=sessions,
            emissions_t=emissions_t, true_up_t=true_up_t, market=book.market, fills=fills,
        )  # fmt: skip
    return results


def versus_best_rule(
    plan_cost: np.ndarray,
    rules: dict[str, PathResults],
    *,
    lambda_: float,
    alpha: float,
    currency: str,
    sunk: float = 0.0,
) -> Versus:
    """The plan's per-path costs against the best of ``rules`` on the same paths; ``sunk`` is
    taken out of every rule's cost (see the module)."""
    plan_cost = np.asarray(plan_cost, dtype=np.float64)
    n = plan_cost.size
    if n < 2 or any(r.cost.size != n for r in rules.values()):
        raise ConfigurationError("the plan and the rules need the same paths, at least two")
    costs = {name: r.cost - sunk for name, r in rules.items()}
    objectives = {name: objective(c, lambda_, alpha) for name, c in costs.items()}
    best = min(objectives, key=objectives.__getitem__)
    difference = plan_cost - costs[best]
    sd = float(difference.std(ddof=1))
    t_stat = float(difference.mean() / (sd / math.sqrt(n))) if sd > 0 else 0.0
    return Versus(
        rule=best,
        plan_cost=float(plan_cost.mean()),
        rule_cost=float(costs[best].mean()),
        plan_objective=objective(plan_cost, lambda_, alpha),
        rule_objective=objectives[best],
        difference=float(difference.mean()),
        t_stat=t_stat,
        rule_shortfall_probability=float(np.mean(rules[best].shortfall_t > 0.5)),
        objectives=objectives,
        lambda_=lambda_,
        alpha=alpha,
        paths=n,
        currency=currency,
    )
