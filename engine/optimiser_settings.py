"""How the compliance optimiser optimises: its settings, one frozen dataclass and the one place
their defaults are written (the desk's configuration schema and commands read them from here;
cvxpy is imported only to check the solvers' names, so reading a default is light).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

from engine.errors import ConfigurationError
from engine.forwards import ForwardQuote

Mode = Literal["mean_cvar", "min_cvar"]
SOLVER = "CLARABEL"
"""Primary solver: an interior-point conic solver (the impact term is a second-order cone)."""
FALLBACK_SOLVER = "SCS"
"""Tried once when the primary fails (slower: a first-order method)."""


@functools.cache
def installed_solvers() -> frozenset[str]:
    """The solvers cvxpy finds, asked once a process: asking tries to import every solver it
    knows (about 1 ms; the optimised strategy builds settings at every re-plan)."""
    import cvxpy as cp  # here: the settings' defaults are read without the solvers

    return frozenset(cp.installed_solvers())


@dataclass(frozen=True)
class OptimiserSettings:
    """How to optimise.

    Attributes:
        lambda_: risk aversion: weight of CVaR beside expected cost (mode ``"mean_cvar"``).
        alpha: CVaR level (0.95: the mean of the worst 5 % of costs).
        liquidity_t: most tonnes traded per date and side (the one default: the desk's
            configuration and commands read it from here).
        impact: market impact: trading ``q`` tonnes in a date costs ``impact x price x q^2 /
            liquidity_t`` currency on top of the price (0.02: 2 % of the price at full
            liquidity).
        ccer_liquidity_t, ccer_impact: the same for CCER purchases, a thinner market (an
            assumption: no CCER volumes are at hand; 20,000 t a date, 5 % at full liquidity).
        forwards: the counterparty quotes a hedge may be bought on tonight (``engine.forwards``;
            the scenarios must carry their ``decision_dates``); none by default.
        forward_delivery_index: date index at which the book's existing forwards deliver: one
            index for all, one per forward, or ``None`` for the last date.
        penalty_multiple: penalty per tonne short as a multiple of the deadline price; ``None``
            takes the market's rule.
        mode: ``"mean_cvar"`` or ``"min_cvar"``.
        cost_budget: E[cost] limit (currency) of mode ``"min_cvar"``.
        tree_leaves: most nodes of the scenario tree at the last date from splits by price
            (``engine.tree``): later trades are one decision per node, shared by the scenarios
            with a common history.
        tree_need_splits: binary splits of every node by the scenario's net need (emissions -
            true-up) on the true-up date, when verification makes it known (1: up to twice
            ``tree_leaves`` leaves).
        solvers: the primary solver and the fallback tried once when it fails (cvxpy names).
            Clarabel handles the conic impact term; on a pure LP (``impact=0``) HiGHS was ~3x
            faster at 1,000 x 26 (it prints a banner to stdout once per process).
    """

    lambda_: float = 1.0
    alpha: float = 0.95
    liquidity_t: float = 200_000.0
    impact: float = 0.02
    ccer_liquidity_t: float = 20_000.0
    ccer_impact: float = 0.05
    forwards: tuple[ForwardQuote, ...] = ()
    forward_delivery_index: int | tuple[int, ...] | None = None
    penalty_multiple: float | None = None
    mode: Mode = "mean_cvar"
    cost_budget: float | None = None
    tree_leaves: int = 64
    tree_need_splits: int = 1
    solvers: tuple[str, str] = (SOLVER, FALLBACK_SOLVER)

    def __post_init__(self) -> None:
        checks = {
            "lambda_": self.lambda_ >= 0,
            "alpha": 0 < self.alpha < 1,
            "liquidity_t": self.liquidity_t > 0,
            "impact": self.impact >= 0,
            "ccer_liquidity_t": self.ccer_liquidity_t > 0,
            "ccer_impact": self.ccer_impact >= 0,
            "forwards": isinstance(self.forwards, tuple)
            and all(isinstance(q, ForwardQuote) for q in self.forwards),
            "penalty_multiple": self.penalty_multiple is None or self.penalty_multiple >= 0,
            "mode": self.mode in ("mean_cvar", "min_cvar"),
            "cost_budget": (self.cost_budget is not None) == (self.mode == "min_cvar"),
            "tree_leaves": isinstance(self.tree_leaves, int) and self.tree_leaves >= 1,
            "tree_need_splits": isinstance(self.tree_need_splits, int)
            and self.tree_need_splits >= 0,
            "solvers": len(self.solvers) == 2 and set(self.solvers) <= installed_solvers(),
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not ok or (isinstance(value, float) and not math.isfinite(value)):
                raise ConfigurationError(f"optimiser setting {name} = {value!r} is impossible")
