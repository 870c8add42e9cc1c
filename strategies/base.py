"""The one interface of every strategy: what it sees at a decision time, and what it returns.

At each trading session the backtester hands the strategy a ``DecisionView`` of what is known
*before that session trades*: closes and volumes up to the previous session (read-only NumPy
views: writing to them raises), the entity's own position, the compliance cycle (its sessions,
the deadline, the obligation as known then) and the alerts open then. The strategy returns a
sequence of ``Order`` s, which the backtester fills at the session's price under the exchange's
rules. Strategies never see a price of the session they trade in, nor any later one: the
backtester alone holds realised prices.

Tonnes of CO2 (one allowance is one tonne), prices per tonne and cash in the market's currency
(its rules' ``currency``: CNY, EUR, NZD).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from engine.errors import ConfigurationError

Side = Literal["buy", "sell"]
Instrument = Literal["allowance", "forward"]


@dataclass(frozen=True)
class Order:
    """An order for one session.

    Attributes:
        side: ``"buy"`` or ``"sell"``.
        tonnes: tonnes wanted (the exchange fills whole lots: a purchase rounded up, a sale
            down; ``backtest.fills_nb.order_lots_nb``).
        limit: the worst price accepted (currency/t): a buy fills only at or below it, a sale at
            or
            above it; ``None`` takes the session's price. A limit outside the day's band (the
            block band for a block trade) is refused by the exchange.
        instrument: ``"allowance"`` (spot, on the exchange) or ``"forward"`` (a forward
            purchase at the quoted forward price, delivered on ``delivery``).
        delivery: the forward's delivery date (default: the cycle's forward delivery date).
        reason: a word on why (kept in the ledger).
    """

    side: Side
    tonnes: float
    limit: float | None = None
    instrument: Instrument = "allowance"
    delivery: dt.date | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.side not in ("buy", "sell"):
            raise ConfigurationError(f"order side {self.side!r}: use 'buy' or 'sell'")
        if not (isinstance(self.tonnes, int | float) and math.isfinite(self.tonnes)) or (
            self.tonnes <= 0
        ):
            raise ConfigurationError(f"order tonnes {self.tonnes!r}: must be a positive number")
        if self.limit is not None and not (math.isfinite(self.limit) and self.limit > 0):
            raise ConfigurationError(f"order limit {self.limit!r}: must be a positive price")
        if self.instrument not in ("allowance", "forward"):
            raise ConfigurationError(
                f"order instrument {self.instrument!r}: use 'allowance' or 'forward'"
            )
        if self.instrument == "forward" and self.side != "buy":
            raise ConfigurationError("a forward order must be a purchase (side 'buy')")


@dataclass(frozen=True)
class Position:
    """The entity's own position at the start of the session (before it trades).

    Attributes:
        allowances_t: allowances held, pledged ones included.
        pledged_t: allowances pledged against loans (they cannot be sold).
        ccer_t: CCER offsets held.
        forwards_due_t: forward purchases not yet delivered.
        cash: cash of the carbon book (currency; negative when financed).
        spent: purchases with their fees in this cycle, forwards included (currency), against the
            trading budget.
        net_sold_t: tonnes sold less tonnes bought in this cycle (for the banking cap).
    """

    allowances_t: float
    pledged_t: float
    ccer_t: float
    forwards_due_t: float
    cash: float
    spent: float
    net_sold_t: float

    @property
    def sellable_t(self) -> float:
        """What may be sold today: allowances held less the pledged ones (those bought today are
        not held yet at the start of the session)."""
        return max(self.allowances_t - self.pledged_t, 0.0)


@dataclass(frozen=True)
class CycleView:
    """The compliance cycle as known at the decision.

    Attributes:
        year: the cycle's year (whose emissions are surrendered).
        sessions: every trading session of the cycle's window, to the deadline session (dates
            only: the calendar is public).
        index: today's position in ``sessions`` (0 is the first session).
        deadline: the surrender deadline.
        obligation_t: the emissions to cover: expected until verification, verified after.
        verified: whether ``obligation_t`` is the verified figure.
        true_up_to_come_t: free allocation still to arrive (expected until it arrives; 0 after).
        offset_cap_t: the most CCER that counts against ``obligation_t``.
        reserve_floor_t: the book's compliance reserve (its floor share x expected emissions).
        trading_budget: the most the cycle's purchases may cost (currency).
        forward_price: today's quote for a forward delivered on ``forward_delivery``
            (currency/t; the cost-of-carry model of ``engine.forwards``).
        forward_delivery: the default delivery date of new forwards.
    """

    year: int
    sessions: pd.DatetimeIndex
    index: int
    deadline: dt.date
    obligation_t: float
    verified: bool
    true_up_to_come_t: float
    offset_cap_t: float
    reserve_floor_t: float
    trading_budget: float
    forward_price: float
    forward_delivery: dt.date

    @property
    def sessions_left(self) -> int:
        """Sessions from today to the deadline session, both included (1 on the last)."""
        return len(self.sessions) - self.index


@dataclass(frozen=True)
class DecisionView:
    """Everything a strategy may know when it decides before the session ``date`` trades.

    ``dates``, ``closes`` and ``volumes`` run to the previous session (earlier cycles
    included) and are read-only; ``volumes`` is NaN where the source has none. ``alerts`` are
    the alerts dated before today. ``reserve_add_t`` is extra reserve asked for by an alert
    response (see ``strategies.guard``).
    """

    date: pd.Timestamp
    dates: pd.DatetimeIndex
    closes: np.ndarray
    volumes: np.ndarray
    position: Position
    cycle: CycleView
    alerts: tuple[Any, ...] = ()
    reserve_add_t: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def last_close(self) -> float:
        """The previous session's close (currency/t)."""
        return float(self.closes[-1])

    @property
    def usable_ccer_t(self) -> float:
        return min(self.position.ccer_t, self.cycle.offset_cap_t)

    def covered_t(self) -> float:
        """Allowances + forwards due + true-up to come + usable CCER (t)."""
        p = self.position
        return p.allowances_t + p.forwards_due_t + self.cycle.true_up_to_come_t + self.usable_ccer_t

    def shortfall_t(self) -> float:
        """Tonnes still to acquire to cover the obligation as known today (0 when covered)."""
        return max(self.cycle.obligation_t - self.covered_t(), 0.0)


@runtime_checkable
class Strategy(Protocol):
    """A decision policy. ``decide`` must use only the view; ``name`` labels its results."""

    name: str

    def decide(self, view: DecisionView) -> Sequence[Order]: ...


def read_only(array: np.ndarray) -> np.ndarray:
    """A view of ``array`` that raises on any write."""
    view = array.view()
    view.flags.writeable = False
    return view


def whole_tonnes_up(tonnes: float) -> float:
    """Tonnes rounded up to whole tonnes (what is bought to cover a need)."""
    return float(math.ceil(tonnes - 1e-9)) if tonnes > 0 else 0.0


def whole_tonnes_down(tonnes: float) -> float:
    """Tonnes rounded down to whole tonnes (what is sold out of a surplus)."""
    return float(math.floor(tonnes + 1e-9)) if tonnes > 0 else 0.0
