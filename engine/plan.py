"""A solved compliance plan: the here-and-now decisions, the schedule in expectation, the risk
figures and the shadow prices (``engine.optimiser`` builds it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.forwards import ForwardHedge


@dataclass(frozen=True, eq=False)
class Plan:
    """A solved plan. Tonnes (t), the market's currency, and shadow prices as currency of
    objective per unit.

    Attributes:
        buy_today_t, sell_today_t, forward_t, ccer_today_t: the here-and-now decisions
            (``forward_t`` is the sum of the hedges).
        expected_buy_t, expected_sell_t, expected_ccer_buy_t: D, weighted mean trades per date.
        expected_ccer_use_t, expected_shortfall_t, expected_bank_t: at the deadline (the bank is
            every tonne left after surrender; ``expected_valued_bank_t`` what of it is valued).
        expected_cost, var, cvar: of the per-scenario costs ``scenario_cost`` (CNY, recomputed
            from the decisions at the tree's prices, in sample), VaR and CVaR at ``alpha``,
            weighted and empirical (``engine.evaluate`` gives the out-of-sample figures);
            ``program_cvar`` is the program's eta + E[(cost - eta)+] / (1 - alpha), equal to
            ``cvar`` at the optimum when the objective weighs CVaR (``lambda_ > 0`` or
            ``"min_cvar"``).
        shortfall_probability: weight of the scenarios short by more than 0.5 t.
        expected_penalty: CNY.
        ccer_cap_value: what one more tonne of CCER cap in every scenario is worth (CNY/t).
        banking_cap_value: the same for the banking base (CNY/t); ``None`` without a cap.
        budget_value: what one more CNY of trading budget is worth (CNY/CNY).
        liquidity_value: D, what one more tonne of liquidity per date is worth (CNY/t).
        objective: the optimised objective (CNY; CVaR + 1e-4 x E[cost] in mode
            ``"min_cvar"``). Shadow prices are derivatives of it, so they include the CVaR term.
        solver, solve_time_s, status, solver_notes: who solved, in how long (seconds, fallback
            included), the cvxpy status, and the solvers' warnings, caught.
        forward_hedges: one per counterparty quote: the tonnes bought forward tonight on it,
            its price, and what one more tonne on offer would be worth (``engine.forwards``).
    """

    buy_today_t: float
    sell_today_t: float
    forward_t: float
    ccer_today_t: float
    expected_buy_t: np.ndarray
    expected_sell_t: np.ndarray
    expected_ccer_buy_t: np.ndarray
    expected_ccer_use_t: float
    expected_shortfall_t: float
    expected_bank_t: float
    expected_valued_bank_t: float
    expected_cost: float
    var: float
    cvar: float
    program_cvar: float
    alpha: float
    shortfall_probability: float
    expected_penalty: float
    scenario_cost: np.ndarray
    ccer_cap_value: float
    banking_cap_value: float | None
    budget_value: float
    liquidity_value: np.ndarray
    objective: float
    mode: str
    lambda_: float
    solver: str
    solve_time_s: float
    status: str
    solver_notes: tuple[str, ...] = ()
    forward_hedges: tuple[ForwardHedge, ...] = ()

    def schedule(self) -> pd.DataFrame:
        """Expected trades (t) per decision date (0 is today)."""
        return pd.DataFrame(
            {
                "buy_t": self.expected_buy_t,
                "sell_t": self.expected_sell_t,
                "ccer_buy_t": self.expected_ccer_buy_t,
                "liquidity_value": self.liquidity_value,
            },
            index=pd.RangeIndex(self.expected_buy_t.size, name="date"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: arrays become lists."""
        out: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, tuple):
                value = [v.to_dict() if isinstance(v, ForwardHedge) else v for v in value]
            out[item.name] = value
        return out
