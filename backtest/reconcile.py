"""Reconciliation: a backtest's cash and holdings recomputed from its ledger and events alone.

``reconcile`` rebuilds, for every cycle, the daily cash and allowances from the opening event,
the fills (value and fee), the forward deliveries, the true-up and the penalty, and compares them
with what the backtester recorded: to the cent and to the tonne. It raises
``ReconciliationError`` naming the cycle, the date and both figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.result import BacktestResult
from engine.errors import EngineError

CENT = 0.005


class ReconciliationError(EngineError, AssertionError):
    """The ledger and the recorded cash or holdings disagree."""


def reconcile(result: BacktestResult) -> pd.DataFrame:
    """Per cycle and session: recorded and recomputed cash and allowances (and the differences);
    raises ``ReconciliationError`` beyond half a cent or any fraction of a tonne."""
    frames = []
    for year in result.cycles.index:
        ledger = result.ledger[result.ledger["cycle"] == year]
        events = result.events[result.events["cycle"] == year]
        daily = result.daily[result.daily["cycle"] == year]
        opening = events[events["event"] == "opening"].iloc[0]
        sign = np.where(ledger["side"].to_numpy() == "buy", 1.0, -1.0)
        spot = ledger["instrument"].to_numpy() == "allowance"
        value, fee = ledger["value"].to_numpy(), ledger["fee"].to_numpy()
        cash_flow = np.where(spot, -sign * value, 0.0) - fee
        tonnes_flow = np.where(spot, sign * ledger["tonnes"].to_numpy(), 0.0)
        by_day = (
            pd.DataFrame(
                {"cash": cash_flow, "allowances": tonnes_flow},
                index=pd.DatetimeIndex(ledger["date"]),
            )
            .groupby(level=0)
            .sum()
        )
        moves = events[events["event"].isin(["forward delivered", "true-up"])]
        inflow = (
            pd.DataFrame(
                {"cash": moves["cash"].to_numpy(), "allowances": moves["tonnes"].to_numpy()},
                index=pd.DatetimeIndex(moves["date"]),
            )
            .groupby(level=0)
            .sum()
        )
        flows = by_day.add(inflow, fill_value=0.0).reindex(daily.index, fill_value=0.0)
        rebuilt = flows.cumsum()
        rebuilt["cash"] += opening["cash"]
        rebuilt["allowances"] += opening["tonnes"]
        frame = pd.DataFrame(
            {
                "cycle": year,
                "cash": daily["cash"],
                "cash_rebuilt": rebuilt["cash"],
                "allowances_t": daily["allowances_t"],
                "allowances_rebuilt": rebuilt["allowances"],
            }
        )
        _check(frame, year, "cash", "cash_rebuilt", CENT)
        _check(frame, year, "allowances_t", "allowances_rebuilt", 1e-6)
        end = events.set_index("event")
        penalty = float(end.loc["penalty", "cash"])
        final_cash = float(rebuilt["cash"].iloc[-1]) + penalty
        recorded = float(result.cycles.loc[year, "cash_end"])
        if abs(final_cash - recorded) > CENT:
            raise ReconciliationError(
                f"cycle {year}: cash after surrender {recorded:,.2f} but the ledger gives "
                f"{final_cash:,.2f}"
            )
        held = float(rebuilt["allowances"].iloc[-1])
        used = float(end.loc["allowances surrendered", "tonnes"])
        left = float(end.loc["banked", "tonnes"] + end.loc["forfeited", "tonnes"])
        if abs(held - used - left) > 1e-6:
            raise ReconciliationError(
                f"cycle {year}: {held:,.0f} t held at the deadline, but {used:,.0f} t "
                f"surrendered + {left:,.0f} t banked or forfeited"
            )
        frames.append(frame)
    return pd.concat(frames)


def _check(frame: pd.DataFrame, year: int, recorded: str, rebuilt: str, tolerance: float) -> None:
    gap = (frame[recorded] - frame[rebuilt]).abs()
    if (gap > tolerance).any():
        date = gap.idxmax()
        raise ReconciliationError(
            f"cycle {year}, {pd.Timestamp(date).date()}: {recorded} {frame.loc[date, recorded]!r} "
            f"but the ledger gives {frame.loc[date, rebuilt]!r}"
        )
