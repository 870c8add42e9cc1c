"""The compliance optimiser: a multistage stochastic program on a scenario tree, for one entity
and one cycle.

Decisions are taken on a tree of the scenarios (``engine.tree``): today (node 0) one decision for
all, at each later date one per node, shared by the scenarios that have had the same history of
prices so far. Per node ``buy``, ``sell`` and ``ccer_buy``; today also a forward hedge per
counterparty quote (``engine.forwards``: ``f_k <= max_t``, delivered at its date). Per
scenario, at the deadline, ``ccer_use``, ``shortfall`` and the valued bank ``valued_bank``, which
may see everything (surrender follows verification). A node trades at the weighted mean price of
its scenarios on its date (the tree's prices); the deadline price, the emissions and the true-up
stay the scenario's own.

- holdings: per node, today's allowances plus the trades on its path (and each hedge from its
  delivery date on), a recursion over the tree; with the least any of its scenarios has
  received by then (existing forwards, the true-up from ``true_up_date``), they stay >=
  max(reserve floor, pledged, 0); ``sell`` today <= sellable (pledged allowances, and today's
  purchases, cannot be sold today);
- trades per node and side <= ``liquidity_t``, costing a fee and the convex impact
  ``impact x price x trade^2 / liquidity_t`` (trading the whole liquidity in one date costs
  ``impact`` of the price on top): one small second-order cone per node
  (``engine.optimiser_costs.ImpactCost``); CCER purchases likewise, with their own
  ``ccer_liquidity_t`` and ``ccer_impact``;
- CCERs used <= held + bought on the path, and <= ``offset_cap_share`` x emissions;
- surrendered = emissions - CCER used - shortfall, between 0 and the holdings at the deadline;
  the bank is what is left, valued at the deadline price up to ``banking_base_t``. This is the
  convex (LP) form of the settlement rule (``engine.settlement``), and it differs from the rule
  in one place only: the rule's cap is ``base + banking_sales_multiple x max(net sales, 0)``,
  whose sales term makes the cap non-convex in the decisions (it would reward selling with
  banking room), so the program uses the base alone: a conservative cap. Where a scenario sells
  more than it buys and banks more than the base, the rule banks more and the reported cost is
  below the program's; elsewhere the two are equal (``tests/engine/test_settlement.py``). No cap
  where the market has none;
- purchase spend along each path (allowances and CCERs with their fees, the hedges at their
  quotes' prices) <= trading budget;
- cost = purchases - sales + fees + impact + CCER cost + hedge cost + penalty (multiple x
  deadline price x shortfall, plus any fixed penalty per tonne) - value of the valued bank. The
  existing forwards' price is sunk: out of cost and budget. The shortfall still owed next cycle
  (``shortfall_carried``) is not priced on top of the penalty. The plan reports each scenario's
  cost with its trades and the settlement rule itself (``engine.settlement.settle_paths``).

The cash paid along a path is one variable per leaf, so a scenario's rows touch a handful of
variables and the program grows linearly with the scenario count.

Objective: ``"mean_cvar"`` minimises E[cost] + lambda x CVaR_alpha(cost) (Rockafellar-Uryasev),
``"min_cvar"`` minimises CVaR subject to E[cost] <= ``cost_budget``. What a sweep changes is a
``cp.Parameter`` of a DPP problem built once; the scenario data are constants (as Parameters they
made the first solve of a 1,000-scenario program ~20x slower). A caller that re-solves many
small programs of one structure with new data (a re-planning strategy on paths) passes a
``engine.optimiser_cache.ProblemCache``: the program is then compiled once per structure with the
data as Parameters too (``engine.optimiser_program``) and a known input's plan is not re-solved.
The program takes the scenarios leaf by leaf of the tree; the plan reports them in their own
order. Internally tonnes are scaled by the expected emissions and
money by that times today's price, so the solvers see numbers near 1. Without fees a buy and a
sale at one node cancel at no cost, so only net trades are determined then.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable

import cvxpy as cp
import numpy as np
import pandas as pd
from scipy import sparse

from engine.book import ComplianceBook
from engine.compliance import ComplianceRules
from engine.errors import ConfigurationError, OptimisationError
from engine.forwards import ForwardHedge, price_quotes
from engine.markets import market_rules
from engine.optimiser_cache import ProblemCache
from engine.optimiser_costs import impact_cost
from engine.optimiser_errors import (
    COST_BUDGET,
    INFEASIBLE_STATUSES,
    TRADING_BUDGET,
    diagnose_infeasible,
    solve_with_fallback,
)
from engine.optimiser_program import Program
from engine.optimiser_settings import OptimiserSettings
from engine.plan import Plan
from engine.scenarios import Scenarios, weighted_var_cvar
from engine.settlement import settle_paths, terms_of
from engine.tree import ScenarioTree, scenario_tree

SHORTFALL_EVENT_T = 0.5
"""A scenario counts as short when its shortfall exceeds this many tonnes."""

OVERRIDES = (
    "lambda_", "liquidity_t", "trading_budget", "reserve_floor_t", "offset_cap_share",
    "penalty_multiple", "banking_base_t", "cost_budget", "allowances_t", "ccer_t",
)  # fmt: skip
"""What ``solve(**overrides)`` may change without rebuilding: each is a ``cp.Parameter``.
``allowances_t`` and ``ccer_t`` are the holdings today (a what-if on the book's position; the
pledged tonnes stay pledged, so ``allowances_t`` may not fall below them)."""


class _Data:
    """The scaled constant data of one (book, scenarios, settings, rules)."""

    def __init__(self, book, scenarios: Scenarios, settings: OptimiserSettings, rules) -> None:
        sc = scenarios
        self.S, self.D = sc.count, sc.dates
        self.weights = sc.weights
        self.tonne = max(float(sc.weights @ sc.emissions), 1.0)  # Q: tonnes per unit
        self.price = float(sc.prices[0, 0])  # CNY/t per unit price
        self.money = self.tonne * self.price
        delivery = settings.forward_delivery_index
        delivery = self.D - 1 if delivery is None else delivery
        if isinstance(delivery, tuple):
            if len(delivery) != len(book.forwards):
                raise ConfigurationError(
                    f"optimiser setting forward_delivery_index has {len(delivery)} indices for "
                    f"the book's {len(book.forwards)} forwards"
                )
        else:
            delivery = (delivery,) * len(book.forwards)
        inflow = np.zeros((self.S, self.D))  # today's holdings are Parameters, not inflows
        for forward, index in zip(book.forwards, delivery, strict=True):
            inflow[:, _index("forward_delivery_index", index, self.D)] += forward.tonnes
        inflow[:, sc.true_up_date] += sc.true_up
        self.inflow_t = inflow
        self.tree = tree = scenario_tree(
            sc.prices, sc.weights, settings.tree_leaves, need=sc.emissions - sc.true_up,
            need_date=sc.true_up_date, need_splits=settings.tree_need_splits,
        )  # fmt: skip
        N, node = tree.count, tree.node
        received = np.cumsum(inflow / self.tonne, axis=1)
        self.lowest_inflow = np.full(N, np.inf)
        np.minimum.at(self.lowest_inflow, node.ravel(), received.ravel())
        self.offers = ()
        if settings.forwards:
            if sc.decision_dates is None:
                raise ConfigurationError(
                    "forward quotes need the scenarios' calendar dates (decision_dates)"
                )
            self.offers = price_quotes(
                settings.forwards, self.price, sc.decision_dates, book.deadline
            )
        # per quote: price and cap (scaled), and the nodes of its delivery date (N x K)
        self.forward_prices = np.array([o.price for o in self.offers]) / self.price
        self.forward_caps = np.array([o.quote.max_t for o in self.offers]) / self.tonne
        at = np.array([o.date_index for o in self.offers], dtype=np.int64)
        self.forward_steps = (tree.date[:, None] == at[None, :]).astype(np.float64)
        self.root = np.zeros(N)
        self.root[0] = 1.0
        children = np.flatnonzero(tree.parent >= 0)
        self.parent_of = sparse.csr_array(
            (np.ones(children.size), (children, tree.parent[children])), shape=(N, N)
        )
        leaves = tree.nodes_at(self.D - 1)
        self.leaf_path = tree.ancestry()[leaves]  # L x N: the nodes on each leaf's path
        # the program takes the scenarios leaf by leaf: its structure is then the tree and the
        # count of scenarios per leaf, whichever scenarios they are
        order = np.argsort(node[:, -1], kind="stable")
        self.leaf_of = sparse.csr_array(
            (np.ones(self.S), (np.arange(self.S), node[order, -1] - leaves[0])),
            shape=(self.S, leaves.size),
        )
        self.pledged = book.pledged_t / self.tonne
        self.fee, self.offset_fee = rules.fee_rate, rules.offset_fee_rate
        # the tree's prices: a node trades at the weighted mean price of its scenarios
        price, ccer_price = tree.mean(sc.prices), tree.mean(sc.ccer_prices)
        self.tree_prices, self.tree_ccer_prices = price[node], ccer_price[node]  # S x D, CNY/t
        p, pc = price / self.price, ccer_price / self.price
        self.buy_prices, self.sell_prices = p * (1 + self.fee), p * (1 - self.fee)
        self.ccer_prices = pc * (1 + self.offset_fee)
        self.impact_weights = settings.impact * p if settings.impact > 0 else None
        self.ccer_impact_weights = settings.ccer_impact * pc if settings.ccer_impact > 0 else None
        self.ccer_liquidity = settings.ccer_liquidity_t / self.tonne
        self.ccer_inverse_liquidity = 1 / self.ccer_liquidity
        if self.ccer_impact_weights is not None:
            self.ccer_impact_cost = self.ccer_impact_weights * self.ccer_liquidity
        self.penalty_per_t = (rules.penalty_per_t or 0.0) / self.price
        self.alpha = settings.alpha
        # per scenario, in the program's order
        self.final_inflow = received[order, -1]
        self.deadline = sc.deadline_price[order] / self.price
        self.emissions = sc.emissions[order] / self.tonne
        self.weights_by_leaf = sc.weights[order]
        self.tail_weights = self.weights_by_leaf / (1 - self.alpha)
        self.leaf_weights = self.leaf_of.T @ self.weights_by_leaf  # L
        self.weighted_deadline = self.weights_by_leaf * self.deadline
        self.weighted_penalty_per_t = self.weights_by_leaf * self.penalty_per_t
        highest = max(self.buy_prices.max(), self.ccer_prices.max())
        self.slack_bound = (
            100.0
            * (
                1
                + np.abs(inflow / self.tonne).sum(axis=1).max()
                + self.emissions.max()
                + self.pledged
            )
            * (1 + max(highest, self.forward_prices.max(initial=0.0)))
        )


def _index(name: str, value: object, dates: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < dates:
        raise ConfigurationError(
            f"optimiser setting {name} = {value!r}: must be a date index in 0..{dates - 1}"
        )
    return int(value)


class ComplianceOptimiser:
    """The compliance program of one book over one scenario set, built once and re-solved.

    ``solve(**overrides)`` sets the Parameters (the settings' values, or those named in
    ``OVERRIDES`` for this call only) and re-solves; ``frontier(lambdas)`` sweeps the risk
    aversion. ``rules`` defaults to the book's market's compliance rules (fees, offset cap,
    banking base, penalty); pass a ``dataclasses.replace`` variant for a what-if.
    """

    def __init__(
        self,
        book: ComplianceBook,
        scenarios: Scenarios,
        settings: OptimiserSettings | None = None,
        rules: ComplianceRules | None = None,
        cache: ProblemCache | None = None,
    ) -> None:
        started = time.perf_counter()
        self.book, self.scenarios = book, scenarios
        self.settings = settings = settings or OptimiserSettings()
        rules = rules or market_rules(book.market).compliance
        assert rules is not None  # a ComplianceBook's market has compliance rules
        self.rules = rules
        penalty = settings.penalty_multiple
        self._defaults: dict[str, float | None] = {
            "lambda_": settings.lambda_,
            "liquidity_t": settings.liquidity_t,
            "trading_budget": book.trading_budget,
            "reserve_floor_t": book.reserve_floor_t,
            "offset_cap_share": rules.offset_cap_share or 0.0,
            "penalty_multiple": penalty if penalty is not None else rules.penalty_multiple or 0.0,
            "banking_base_t": rules.banking_base_t,
            "cost_budget": settings.cost_budget,
            "allowances_t": book.allowances_t,
            "ccer_t": book.ccer_t,
        }
        self._data = _Data(book, scenarios, settings, rules)
        self._bank_cap = rules.banking_base_t is not None
        self._cache = cache
        self._program: Program | None = None
        if cache is None:
            self._program = Program(self._data, settings.mode, self._bank_cap, phase1=False)
        self._phase1: Program | None = None
        self.build_seconds = time.perf_counter() - started

    @property
    def _model(self) -> Program:
        """The program: built here, or with a cache the compiled one of this structure (taken
        when first solved, so that a plan the cache knows needs none)."""
        if self._program is None:
            assert self._cache is not None
            self._program = self._cache.program(self._data, self.settings.mode, self._bank_cap)
        return self._program

    @property
    def tree(self) -> ScenarioTree:
        """The scenario tree the later decisions sit on."""
        return self._data.tree

    @property
    def problem(self) -> cp.Problem:
        """The compiled program (the same object across re-solves; with a cache, shared with
        the other optimisers of this structure: its values are the last solve's)."""
        return self._model.problem

    def parameter_values(self, **overrides: float) -> dict[str, float | None]:
        """The Parameter values a solve with these overrides uses (tonnes, CNY)."""
        unknown = sorted(set(overrides) - set(OVERRIDES))
        if unknown:
            raise ConfigurationError(f"unknown overrides {unknown}; known: {', '.join(OVERRIDES)}")
        values = {**self._defaults}
        for name, value in overrides.items():
            if name == "banking_base_t" and not self._bank_cap:
                raise ConfigurationError("banking_base_t: the market's rules have no banking cap")
            if name == "cost_budget" and self.settings.mode != "min_cvar":
                raise ConfigurationError("cost_budget applies to mode 'min_cvar' only")
            if name == "lambda_" and self.settings.mode != "mean_cvar":
                raise ConfigurationError("lambda_ applies to mode 'mean_cvar' only")
            value = float(value)
            ok = math.isfinite(value) and (value >= 0 or name == "cost_budget")
            ok = ok and (name != "liquidity_t" or value > 0)
            ok = ok and (name != "offset_cap_share" or value <= 1)
            if not ok:
                raise ConfigurationError(f"override {name} = {value!r} is impossible")
            if name == "allowances_t" and value < self.book.pledged_t:
                raise ConfigurationError(
                    f"override allowances_t = {value:,.0f} is below the {self.book.pledged_t:,.0f}"
                    " t pledged: release a pledge in the book instead"
                )
            values[name] = value
        return values

    def solve(self, **overrides: float) -> Plan:
        """Solve with the settings' Parameter values, changed by ``overrides`` for this call.

        Raises:
            Infeasible: naming the constraint families that cannot hold together.
            SolverFailed: when the primary solver and the fallback both fail.
        """
        values = self.parameter_values(**overrides)
        key = None
        if self._cache is not None:  # the same inputs and values: the same plan
            key = self._cache.plan_key(self.book, self.scenarios, self.settings, self.rules, values)
            known = self._cache.known_plan(key)
            if known is not None:
                return known
        self._model.set(values, self._data)
        # a program from the cache was last solved on other data: a fresh solver, so that its
        # answer is the one a program built for these data gives
        solver, status, seconds, notes = solve_with_fallback(
            self._model.problem, self.settings.solvers, "the compliance program",
            warm_start=self._cache is None, canon_backend=self._model.canon_backend,
        )  # fmt: skip
        if status in INFEASIBLE_STATUSES:
            raise self._diagnose(values)
        plan = self._plan(values, solver, status, seconds, notes)
        if self._cache is not None and key is not None:
            self._cache.remember(key, plan)
            # a kept program is never warm-started: drop the solver cvxpy keeps for that
            # (about half of a kept program's memory)
            solvers = getattr(self._model.problem, "_solver_cache", None)
            if isinstance(solvers, dict):
                solvers.clear()
        return plan

    def frontier(self, lambdas: Iterable[float]) -> pd.DataFrame:
        """Expected cost and CVaR (CNY) per risk aversion, re-solving the built program."""
        if self.settings.mode != "mean_cvar":
            raise ConfigurationError("a frontier over lambda needs mode 'mean_cvar'")
        columns = ("expected_cost", "cvar", "var", "shortfall_probability", "buy_today_t",
                   "sell_today_t", "forward_t", "ccer_today_t")  # fmt: skip
        rows = []
        for lam in lambdas:
            plan = self.solve(lambda_=float(lam))
            rows.append({"lambda_": float(lam), **{c: getattr(plan, c) for c in columns}})
        return pd.DataFrame(rows).set_index("lambda_")

    def _plan(self, values, solver: str, status: str, seconds: float, notes) -> Plan:
        m, d, sc = self._model, self._data, self.scenarios
        q, w = d.tonne, d.weights

        def tonnes(variable: cp.Variable) -> np.ndarray:
            return np.maximum(np.asarray(variable.value, dtype=np.float64), 0.0) * q

        node = d.tree.node
        buy, sell, ccer_buy = (tonnes(v)[node] for v in (m.buy, m.sell, m.ccer_buy))
        buy0, sell0, ccer0 = buy[0, 0], sell[0, 0], ccer_buy[0, 0]
        forward = tonnes(m.forward) if m.forward is not None else np.zeros(0)
        offer_prices = np.array([o.price for o in d.offers])
        # per-scenario costs recomputed from the decisions and the settlement rule, in CNY
        fee, offset_fee, settings = self.rules.fee_rate, self.rules.offset_fee_rate, self.settings
        prices, ccer_prices = d.tree_prices, d.tree_ccer_prices  # what the program traded at
        spend = ((1 + fee) * prices * buy + (1 + offset_fee) * ccer_prices * ccer_buy).sum(1)
        spend += offer_prices @ forward
        sales = ((1 - fee) * prices * sell).sum(1)
        impact = impact_cost(settings.impact, prices, (buy, sell), values["liquidity_t"])
        impact += impact_cost(
            settings.ccer_impact, ccer_prices, (ccer_buy,), settings.ccer_liquidity_t
        )
        final = (
            d.inflow_t.sum(1) + values["allowances_t"] + buy.sum(1) - sell.sum(1) + forward.sum()
        )
        rules = dataclasses.replace(
            self.rules,
            offset_cap_share=values["offset_cap_share"],
            banking_base_t=values["banking_base_t"],
        )
        done = settle_paths(
            terms_of(rules, values["penalty_multiple"]), final,
            values["ccer_t"] + ccer_buy.sum(1), sell.sum(1) - buy.sum(1) - forward.sum(),
            sc.emissions, sc.deadline_price,
        )  # fmt: skip
        cost = spend - sales + impact + done.cost
        shortfall, penalty = done.shortfall_t, done.penalty
        var, cvar = weighted_var_cvar(cost, w, d.alpha)

        def dual(constraint) -> float:
            return float(np.sum(constraint.dual_value)) if constraint is not None else 0.0

        duals = sum(np.asarray(c.dual_value, dtype=np.float64) for c in m.liquidity_rows)
        liquidity_value = np.bincount(d.tree.date, weights=duals, minlength=d.D)
        caps = m.forward_caps
        hedge_values = np.zeros(0) if caps is None else np.asarray(caps.dual_value) * d.price
        hedges = tuple(
            ForwardHedge(o.quote.name, o.quote.delivery, o.price, float(t), o.quote.max_t,
                         float(value), o.date_index)
            for o, t, value in zip(d.offers, forward, hedge_values, strict=True)
        )  # fmt: skip
        return Plan(
            buy_today_t=float(buy0),
            sell_today_t=float(sell0),
            forward_t=float(forward.sum()),
            ccer_today_t=float(ccer0),
            expected_buy_t=w @ buy,
            expected_sell_t=w @ sell,
            expected_ccer_buy_t=w @ ccer_buy,
            expected_ccer_use_t=float(w @ done.ccer_used_t),
            expected_shortfall_t=float(w @ shortfall),
            expected_bank_t=float(w @ (done.banked_t + done.forfeited_t)),
            expected_valued_bank_t=float(w @ done.banked_t),
            expected_cost=float(w @ cost),
            var=var,
            cvar=cvar,
            program_cvar=float(m.cvar.value) * d.money,
            alpha=d.alpha,
            shortfall_probability=float(w @ (shortfall > SHORTFALL_EVENT_T)),
            expected_penalty=float(w @ penalty),
            scenario_cost=cost,
            ccer_cap_value=dual(m.ccer_cap) * d.price,
            banking_cap_value=dual(m.bank_cap) * d.price if m.bank_cap is not None else None,
            budget_value=dual(m.budget_rows),
            liquidity_value=liquidity_value * d.price,
            objective=float(m.problem.value) * d.money,
            mode=self.settings.mode,
            lambda_=float(values["lambda_"]),
            solver=solver,
            solve_time_s=seconds,
            status=status,
            solver_notes=notes,
            forward_hedges=hedges,
        )

    def _diagnose(self, values: dict[str, float | None]) -> OptimisationError:
        if self._phase1 is None:
            self._phase1 = Program(self._data, self.settings.mode, self._bank_cap, phase1=True)
        self._phase1.set(values, self._data)
        units = {f: self._data.tonne for f in self._phase1.slack}
        units.update({TRADING_BUDGET: self._data.money, COST_BUDGET: self._data.money})
        return diagnose_infeasible(
            self._phase1, self.settings.solvers, values, units, self.book.pledged_t
        )
