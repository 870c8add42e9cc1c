"""The cvxpy program of the compliance optimiser (``engine.optimiser`` documents the model).

``Program`` is built from the scaled data of one (book, scenarios, settings, rules)
(``engine.optimiser._Data``) in one of two forms:

- **constants** (the default): the scenario data are numbers in the program; only what a sweep
  changes (``engine.optimiser.OVERRIDES``) is a ``cp.Parameter``. Compiling it is cheap once, and
  at 1,000 scenarios much cheaper than the parametric form (the nightly's large programs);
- **parametric**: every number that comes from the scenarios or the book (prices, deadline
  price, emissions, inflows, weights, the scale) is a ``cp.Parameter`` too, so one compiled
  program is re-solved for every data set of the same *structure* (``structure_key``: the tree,
  the scenarios per leaf, the forward quotes' dates, the mode and the cap), as a re-planning
  strategy does on every path (``engine.optimiser_cache.ProblemCache``). A product of two
  Parameters is not DPP, so where a sweep Parameter multiplies data (the offset cap x emissions,
  the penalty multiple x the deadline price, the risk aversion x the tail weights, the liquidity
  x the impact weights) the product is one Parameter, computed when the values are set; and the
  expected cost is written variable by variable (the weighted leaf cash, penalty and bank), so
  that the weights multiply variables, not the per-scenario cost's Parameter terms.

Both forms are the same program: the same variables, rows and coefficients, so the solver's
answers agree to its tolerance (``tests/engine/test_optimiser_cache.py``). With ``phase1``
each constraint family gets a weighted slack and the objective is the weighted slack (the
infeasibility diagnosis, always with constants).
"""

from __future__ import annotations

import hashlib
from typing import Any

import cvxpy as cp
import numpy as np
from scipy import sparse

from engine.errors import OptimisationError
from engine.optimiser_costs import ImpactCost
from engine.optimiser_errors import (
    COST_BUDGET,
    HOLDINGS,
    LIQUIDITY,
    PLEDGE,
    RESERVE_FLOOR,
    TRADING_BUDGET,
)
from engine.optimiser_settings import Mode

MIN_CVAR_TIE_BREAK = 1e-4
"""Weight of E[cost] beside CVaR in mode ``"min_cvar"``: CVaR alone leaves the recourse of the
scenarios outside the tail free, so the plan would report arbitrary trades there."""

PARAMETRIC_BACKEND = "COO"
"""cvxpy's compiler for the parametric form: its first compilation at 30 scenarios x 14 dates
took 0.05 s against 0.20 s with the default (C++) one, as long as the constant form's 0.02-0.03 s;
re-solves do not compile. The constant form keeps cvxpy's default."""

STRUCTURE = ("root", "parent_of", "leaf_path", "leaf_of", "forward_steps")
"""The ``_Data`` arrays a parametric program holds as constants: its structure."""


def structure_key(d: Any, mode: Mode, bank_cap: bool) -> bytes:
    """A digest of everything a parametric program of ``d`` holds as constants: equal keys, one
    compiled program."""
    digest = hashlib.blake2b(digest_size=20)
    flags = (mode, bank_cap, d.S, d.D, d.impact_weights is None, d.ccer_impact_weights is None)
    digest.update(repr(flags).encode())
    for name in STRUCTURE:
        array = getattr(d, name)
        if sparse.issparse(array):
            array = sparse.csr_array(array)
            parts = (array.indptr, array.indices, array.data)
        else:
            parts = (np.asarray(array),)
        digest.update(repr((name, array.shape)).encode())
        for part in parts:
            digest.update(np.ascontiguousarray(part).tobytes())
    return digest.digest()


class Program:
    """The compliance program of one ``_Data`` (see the module); ``set`` gives it values."""

    def __init__(
        self, d: Any, mode: Mode, bank_cap: bool, phase1: bool, parametric: bool = False
    ) -> None:
        self.parametric = parametric
        self.canon_backend = PARAMETRIC_BACKEND if parametric else None
        self._loaded: dict[str, cp.Parameter] = {}  # data Parameters, by _Data attribute
        self._products: list[tuple[cp.Parameter, cp.Parameter, str]] = []
        S, N, L = d.S, d.tree.count, d.leaf_path.shape[0]
        self.lam = cp.Parameter(nonneg=True, name="lambda")
        self.liquidity = cp.Parameter(pos=True, name="liquidity")
        self.inv_liquidity = cp.Parameter(pos=True, name="inverse_liquidity")
        self.budget = cp.Parameter(nonneg=True, name="trading_budget")
        self.floor = cp.Parameter(nonneg=True, name="reserve_floor")
        self.lowest = cp.Parameter(nonneg=True, name="holdings_floor")
        self.cap_share = cp.Parameter(nonneg=True, name="offset_cap_share")
        self.penalty = cp.Parameter(nonneg=True, name="penalty_multiple")
        self.allowances = cp.Parameter(nonneg=True, name="allowances")
        self.sellable = cp.Parameter(nonneg=True, name="sellable_allowances")
        self.ccer_held = cp.Parameter(nonneg=True, name="ccer_held")
        self.bank_base = cp.Parameter(nonneg=True, name="banking_base") if bank_cap else None
        self.cost_budget = cp.Parameter(name="cost_budget") if mode == "min_cvar" else None
        families = [TRADING_BUDGET, RESERVE_FLOOR, LIQUIDITY, PLEDGE, HOLDINGS]
        families += [COST_BUDGET] if mode == "min_cvar" else []
        slack: dict[str, Any] = {f: 0.0 for f in families}
        self.slack_weight: dict[str, cp.Parameter] = {}
        if phase1:
            slack = {f: cp.Variable(nonneg=True, name=f) for f in families}
            self.slack_weight = {f: cp.Parameter(nonneg=True, name=f) for f in families}
            self.slack_bound = cp.Parameter(pos=True, name="slack_bound")
        self.slack = slack
        data, times = (lambda name: self._data(d, name)), (lambda p, name: self._times(d, p, name))

        # one decision per node of the tree; node 0 is today
        self.buy = cp.Variable(N, nonneg=True, name="buy")
        self.sell = cp.Variable(N, nonneg=True, name="sell")
        self.ccer_buy = cp.Variable(N, nonneg=True, name="ccer_buy")
        K = len(d.offers)  # one hedge per counterparty quote
        self.forward = cp.Variable(K, nonneg=True, name="forward") if K else None
        self.ccer_use = cp.Variable(S, nonneg=True, name="ccer_use")
        self.shortfall = cp.Variable(S, nonneg=True, name="shortfall")
        self.valued_bank = cp.Variable(S, nonneg=True, name="valued_bank")
        # per node, the allowances held after its trades (less the inflows); per leaf, the
        # CCERs held and the cash paid along its path
        self.traded = h = cp.Variable(N, name="traded_holdings")
        self.ccer_stock = cp.Variable(L, name="ccer_stock")
        self.cash = cp.Variable(L, name="cash")
        net = self.buy - self.sell
        spend = d.leaf_path @ (
            cp.multiply(data("buy_prices"), self.buy)
            + cp.multiply(data("ccer_prices"), self.ccer_buy)
        )
        self.forward_caps = None
        if self.forward is not None:
            net = net + d.forward_steps @ self.forward
            spend = spend + data("forward_prices") @ self.forward
            self.forward_caps = self.forward <= data("forward_caps")
        cash = spend - d.leaf_path @ cp.multiply(data("sell_prices"), self.sell)
        constraints = [self.ccer_buy <= data("ccer_liquidity")]  # optional trades: not a family
        impacts = []
        if d.impact_weights is not None:
            weights = times(self.liquidity, "impact_weights")
            impacts.append(ImpactCost([self.buy, self.sell], weights, self.inv_liquidity, "impact"))
        if d.ccer_impact_weights is not None:
            weights, inverse = data("ccer_impact_cost"), data("ccer_inverse_liquidity")
            impacts.append(ImpactCost([self.ccer_buy], weights, inverse, "ccer"))
        for term in impacts:
            constraints += term.constraints
            cash = cash + term.cash(d.leaf_path)
        constraints += [self.forward_caps] if self.forward_caps is not None else []
        constraints += [
            h - d.parent_of @ h == net + self.allowances * d.root,
            self.ccer_stock == d.leaf_path @ self.ccer_buy + self.ccer_held,
            self.cash == cash,
            self.sell[0] <= self.sellable + slack[PLEDGE],
        ]
        held = h + data("lowest_inflow")  # the least any of the node's scenarios holds
        if phase1:
            constraints += [
                held >= self.floor - slack[RESERVE_FLOOR],
                held >= d.pledged - slack[PLEDGE],
                held >= -slack[HOLDINGS],
            ]
        else:  # one row per node: the highest of the floor, the pledge and zero
            constraints.append(held >= self.lowest)
        cap = self.liquidity + slack[LIQUIDITY]
        self.liquidity_rows = [self.buy <= cap, self.sell <= cap]
        constraints += self.liquidity_rows
        self.budget_rows = spend <= self.budget + slack[TRADING_BUDGET]
        constraints.append(self.budget_rows)

        # per scenario (the program's order: leaf by leaf)
        final = d.leaf_of @ h[N - L :] + data("final_inflow")  # the leaves are the last nodes
        emissions = data("emissions")
        surrendered = emissions - self.ccer_use - self.shortfall
        self.ccer_cap = self.ccer_use <= times(self.cap_share, "emissions")
        constraints += [
            self.ccer_use <= d.leaf_of @ self.ccer_stock,
            self.ccer_cap,
            # holdings at the deadline are >= 0 too; relaxed, a deficit is surrendered as a
            # negative amount and paid as a shortfall, as the settlement rule does
            surrendered >= -slack[HOLDINGS],
            surrendered <= final,
            self.valued_bank <= final - surrendered,
        ]
        self.bank_cap = None
        if self.bank_base is not None:
            self.bank_cap = self.valued_bank <= self.bank_base
            constraints.append(self.bank_cap)
        penalty_price = times(self.penalty, "deadline") + data("penalty_per_t")
        cost = d.leaf_of @ self.cash + cp.multiply(penalty_price, self.shortfall)
        cost = cost - cp.multiply(data("deadline"), self.valued_bank)
        if parametric:  # weights x (Parameters x variables) is not DPP: weigh each variable
            penalty_weights = times(self.penalty, "weighted_deadline") + data(
                "weighted_penalty_per_t"
            )
            expected = (
                data("leaf_weights") @ self.cash
                + penalty_weights @ self.shortfall
                - data("weighted_deadline") @ self.valued_bank
            )
        else:
            expected = data("weights_by_leaf") @ cost
        if self.cost_budget is not None:
            constraints.append(expected <= self.cost_budget + slack[COST_BUDGET])
        if phase1:
            constraints += [t <= self.slack_bound for t in slack.values()]
            objective = cp.sum([self.slack_weight[f] * slack[f] for f in families])
        else:
            self.eta = cp.Variable(name="var")
            self.excess = cp.Variable(S, nonneg=True, name="excess")
            constraints.append(self.excess >= cost - self.eta)
            # CVaR = eta + E[excess] / (1 - alpha); tail_weights = weights / (1 - alpha)
            self.cvar = self.eta + data("tail_weights") @ self.excess
            if mode == "min_cvar":  # a small weight on E[cost] settles the untailed scenarios
                objective = self.cvar + MIN_CVAR_TIE_BREAK * expected
            else:
                tail = times(self.lam, "tail_weights") @ self.excess
                objective = expected + self.lam * self.eta + tail
        self.problem = cp.Problem(cp.Minimize(objective), constraints)
        if not self.problem.is_dcp(dpp=True):
            raise OptimisationError("the compliance program is not DPP: a Parameter is misused")

    def _data(self, d: Any, name: str) -> Any:
        """``d.name``: the number itself, or in the parametric form a Parameter holding it."""
        if not self.parametric:
            return getattr(d, name)
        if name not in self._loaded:
            self._loaded[name] = cp.Parameter(np.shape(getattr(d, name)), name=name)
        return self._loaded[name]

    def _times(self, d: Any, parameter: cp.Parameter, name: str) -> Any:
        """``parameter x d.name``; in the parametric form one Parameter holding the product."""
        if not self.parametric:
            return parameter * getattr(d, name)
        product = cp.Parameter(np.shape(getattr(d, name)), name=f"{parameter.name()}_{name}")
        self._products.append((product, parameter, name))
        return product

    def set(self, values: dict[str, float | None], d: Any) -> None:
        """Set every Parameter from unscaled ``values`` (tonnes, CNY) and, in the parametric form,
        from the data ``d`` (of this program's structure)."""
        self.lam.value = values["lambda_"]
        self.liquidity.value = values["liquidity_t"] / d.tonne
        self.inv_liquidity.value = d.tonne / values["liquidity_t"]
        self.budget.value = values["trading_budget"] / d.money
        self.floor.value = values["reserve_floor_t"] / d.tonne
        self.lowest.value = max(self.floor.value, d.pledged)
        self.cap_share.value = values["offset_cap_share"]
        self.penalty.value = values["penalty_multiple"]
        self.allowances.value = values["allowances_t"] / d.tonne
        self.sellable.value = max(self.allowances.value - d.pledged, 0.0)
        self.ccer_held.value = values["ccer_t"] / d.tonne
        if self.bank_base is not None:
            self.bank_base.value = values["banking_base_t"] / d.tonne
        if self.cost_budget is not None:
            self.cost_budget.value = values["cost_budget"] / d.money
        if self.slack_weight:
            held = values["reserve_floor_t"] + values["allowances_t"] + values["ccer_t"]
            self.slack_bound.value = d.slack_bound * (1 + held / d.tonne)
        for name, parameter in self._loaded.items():
            parameter.value = getattr(d, name)
        for product, parameter, name in self._products:
            product.value = parameter.value * getattr(d, name)
