"""What a backtest returns: the ledger, daily holdings and value, compliance events, one row per
cycle, and the metrics; and the risk figures across simulated paths.

Definitions (the market's currency, tonnes):

- **compliance cost** of a cycle = purchases + fees + forwards paid + penalty - sales - the
  value of what is banked (at the deadline price) + the value of a bank carried in. It equals the
  cash the cycle used less the bank's value;
- **need** = verified emissions - allowances at the start - true-up - existing forwards - usable
  CCER (t, at least 0): what had to be acquired; **cost per tonne** = cost / need, beside the
  cycle's **average market price** (mean close over the window) as their ratio;
- **savings** against "buy at the deadline": its cost - this strategy's, on the same prices;
- **carbon-asset return**: mark-to-market P&L of the carbon position (cash + allowances x close
  + forwards at (close - forward price), allocation inflows taken out at the price they arrive
  at) over the cycle, before surrender, as a share of the allowances' value at the start;
  **maximum drawdown**: the largest fall of that P&L from a running peak (currency);
- across paths: mean, VaR and CVaR (at ``alpha``) of the cost, and the probability of a
  shortfall (more than 0.5 t short).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.jsonable import jsonable
from engine.scenarios import weighted_var_cvar

SHORT_EVENT_T = 0.5
LEDGER_COLUMNS = (
    "date",
    "cycle",
    "instrument",
    "kind",
    "side",
    "requested_t",
    "limit",
    "tonnes",
    "price",
    "value",
    "fee",
    "status",
    "reason",
)
DAILY_COLUMNS = ("date", "cycle", "close", "allowances_t", "forwards_due_t", "cash", "mtm", "pnl")
EVENT_COLUMNS = ("date", "cycle", "event", "tonnes", "cash", "price")


@dataclass(frozen=True)
class BacktestResult:
    """One strategy through one or several cycles on one price history.

    Attributes:
        strategy: its name.
        ledger: one row per order: date, cycle, instrument (allowance/forward), kind
            (listing/block/otc), side, requested_t, limit, tonnes (filled), price, value, fee,
            status (``backtest.fills_nb.STATUS_NAMES``), reason.
        daily: per session: close, allowances_t, forwards_due_t, cash, mtm, pnl (before the
            deadline session's surrender).
        events: opening, true-up, forward deliveries, surrender, CCER use, penalty, bank,
            forfeit, each with tonnes and cash.
        cycles: one row per cycle (the metrics of ``cycle_metrics``).
    """

    strategy: str
    ledger: pd.DataFrame
    daily: pd.DataFrame
    events: pd.DataFrame
    cycles: pd.DataFrame

    @property
    def total_cost(self) -> float:
        return float(self.cycles["cost"].sum())

    def metrics(self, baseline: BacktestResult | None = None) -> dict[str, Any]:
        """Totals over the cycles, each cycle's row, and savings against ``baseline`` (the
        "buy at the deadline" result on the same prices) when given."""
        c = self.cycles
        totals = {
            "strategy": self.strategy,
            "cycles": len(c),
            "total_cost": float(c["cost"].sum()),
            "penalties": float(c["penalty"].sum()),
            "shortfall_t": float(c["shortfall_t"].sum()),
            "fees": float(self.ledger["fee"].sum()) if len(self.ledger) else 0.0,
            "trades": int((self.ledger["tonnes"] > 0).sum()) if len(self.ledger) else 0,
            "rejected": int((self.ledger["tonnes"] == 0).sum()) if len(self.ledger) else 0,
            "max_drawdown": float(c["max_drawdown"].max()) if len(c) else 0.0,
        }
        if baseline is not None:
            totals["savings_vs_deadline"] = baseline.total_cost - self.total_cost
        rows = []
        for cycle, row in c.iterrows():
            record = {"cycle": int(cycle), **{k: jsonable(v) for k, v in row.items()}}
            if baseline is not None and cycle in baseline.cycles.index:
                record["savings_vs_deadline"] = float(baseline.cycles.loc[cycle, "cost"] - row.cost)
            rows.append(record)
        return {**totals, "per_cycle": rows}


def drawdown(pnl: np.ndarray) -> float:
    """The largest fall of ``pnl`` from its running peak (currency, >= 0)."""
    if pnl.size == 0:
        return 0.0
    return float(np.max(np.maximum.accumulate(pnl) - pnl))


@dataclass(frozen=True)
class PathResults:
    """One strategy on N simulated paths of one cycle: per path, and in summary.

    Attributes:
        cost, shortfall_t, penalty, banked_t, bought_t, sold_t, fees: per path (currency, t).
        alpha: the VaR/CVaR level.
    """

    strategy: str
    cost: np.ndarray
    shortfall_t: np.ndarray
    penalty: np.ndarray
    banked_t: np.ndarray
    bought_t: np.ndarray
    sold_t: np.ndarray
    fees: np.ndarray
    alpha: float = 0.95

    def summary(self, baseline: PathResults | None = None) -> dict[str, Any]:
        """Mean, VaR, CVaR of cost, P(shortfall), mean penalty; savings against ``baseline``
        (path by path, the same paths) when given."""
        n = self.cost.size
        var, cvar = weighted_var_cvar(self.cost, np.full(n, 1.0 / n), self.alpha)
        out = {
            "strategy": self.strategy,
            "paths": n,
            "mean_cost": float(self.cost.mean()),
            "var": var,
            "cvar": cvar,
            "alpha": self.alpha,
            "shortfall_probability": float((self.shortfall_t > SHORT_EVENT_T).mean()),
            "mean_penalty": float(self.penalty.mean()),
            "mean_bought_t": float(self.bought_t.mean()),
            "mean_sold_t": float(self.sold_t.mean()),
        }
        if baseline is not None:
            savings = baseline.cost - self.cost
            out["mean_savings_vs_deadline"] = float(savings.mean())
            out["savings_positive_share"] = float((savings > 0).mean())
        return out
