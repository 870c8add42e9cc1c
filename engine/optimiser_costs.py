"""Cost terms of the compliance optimiser, as small objects (cvxportfolio's style).

``ImpactCost`` is the convex market impact of one market's trades on the scenario tree: trading
``q`` tonnes at a node costs ``impact x price x q^2 / liquidity_t`` on top of the price (trading
the whole liquidity in one date costs ``impact`` of the price). Allowances (buys and sales) and
CCER purchases each have one, with their own ``impact`` and ``liquidity_t``
(``OptimiserSettings``). ``impact_cost`` is the same cost recomputed from decisions, in
currency, for the plan's reported cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import cvxpy as cp
import numpy as np

IMPACT_LEG = 1e-2
"""Constant leg of each node's impact cone, as a share of the liquidity: it keeps a node that
does not trade off the cone's apex, where the interior point stalls; it is taken back out."""


class ImpactCost:
    """Per node, an epigraph ``e >= sum (trade / liquidity)^2`` of the trades in units of the
    liquidity (so ``e`` is near 1 at full liquidity whatever the market's size: a thin CCER
    market next to a deep allowance market stays well scaled), tight at the optimum (its weight
    in every cost is positive): one small second-order cone per node. The cost is
    ``impact x price x liquidity x e``.

    Args:
        trades: the node's trades (scaled tonnes), one expression of length N per side.
        cost_weights: ``impact x price x liquidity`` per node (scaled money), N: numbers, a
            Parameter, or a Parameter times numbers (where a sweep changes the liquidity).
        inverse_liquidity: one over the most traded per node and side (scaled tonnes), a
            number or a Parameter.
        name: the epigraph variable's name.
    """

    def __init__(
        self,
        trades: Sequence[cp.Expression],
        cost_weights: np.ndarray | cp.Expression,
        inverse_liquidity: cp.Parameter | float,
        name: str,
    ) -> None:
        n = trades[0].shape[0]
        self.epigraph = cp.Variable(n, nonneg=True, name=name)
        legs = cp.vstack([*(inverse_liquidity * t for t in trades), np.full(n, IMPACT_LEG)])
        self.constraints = [self.epigraph >= cp.quad_over_lin(legs, 1.0, axis=0)]
        self.cost_weights = cost_weights

    def cash(self, leaf_path: np.ndarray) -> cp.Expression:
        """The impact paid along each leaf's path (scaled money), the constant leg removed."""
        return leaf_path @ cp.multiply(self.cost_weights, self.epigraph - IMPACT_LEG**2)


def impact_cost(
    impact: float, prices: np.ndarray, trades: Sequence[np.ndarray], liquidity_t: float
) -> np.ndarray:
    """Per scenario, ``impact x price x trade^2 / liquidity_t`` summed over dates and sides
    (currency); ``prices`` and each of ``trades`` are scenarios x dates."""
    squares = sum(np.square(t) for t in trades)
    return (impact * prices * squares).sum(axis=1) / liquidity_t
