"""The rule strategies: buy at the deadline, even accumulation, reserve and arbitrage, forward
hedge, and a scripted order list.

Each is a frozen dataclass of its settings with a ``decide(view)`` that reads only the view
(``strategies.base``). Quantities are whole tonnes: purchases round a need up, sales round a
surplus down. In every rule, *covered* is allowances held + forwards due + the true-up still to
come + usable CCER, and the *obligation* is the expected emissions until verification and the
verified ones after (the true-up date), so no rule knows the year's emissions before the entity
does.

``kernel()`` gives the Monte Carlo backtester the rule as a code and a parameter vector for the
numba twin in ``strategies.rules_nb``; the tests check that the two agree path by path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from engine.errors import ConfigurationError
from strategies import rules_nb as nb
from strategies.base import DecisionView, Order, whole_tonnes_down, whole_tonnes_up


def _check(name: str, value: float, ok: bool, rule: str) -> None:
    if not ok:
        raise ConfigurationError(f"strategy setting {name} = {value!r}: {rule}")


def _catch_up(view: DecisionView, target_t: float, reason: str) -> list[Order]:
    """Trade towards ``target_t`` covered in equal slices over the sessions left: buy
    ceil(gap / sessions left), or sell floor(excess / sessions left) within what is sellable."""
    left = view.cycle.sessions_left
    gap = target_t - view.covered_t()
    if gap > 0:
        tonnes = whole_tonnes_up(gap / left)
        return [Order("buy", tonnes, reason=reason)] if tonnes >= 1 else []
    tonnes = whole_tonnes_down(min(-gap / left, view.position.sellable_t))
    return [Order("sell", tonnes, reason=reason)] if tonnes >= 1 else []


def _buy_slice(view: DecisionView, reason: str) -> list[Order]:
    """Buy ceil(shortfall / sessions left) when short (nothing is sold)."""
    tonnes = whole_tonnes_up(view.shortfall_t() / view.cycle.sessions_left)
    return [Order("buy", tonnes, reason=reason)] if tonnes >= 1 else []


@dataclass(frozen=True)
class BuyAtDeadline:
    """Buy the shortfall in the last ``final_sessions`` sessions before surrender, in equal
    slices (ceil(shortfall / sessions left) a session): what many entities actually do."""

    final_sessions: int = 20
    name: ClassVar[str] = "deadline"

    def __post_init__(self) -> None:
        _check("final_sessions", self.final_sessions, self.final_sessions >= 1, "at least 1")

    def decide(self, view: DecisionView) -> Sequence[Order]:
        if view.cycle.sessions_left > self.final_sessions:
            return []
        return _buy_slice(view, "deadline")

    def kernel(self) -> tuple[int, np.ndarray]:
        return nb.DEADLINE, nb.params(final_sessions=self.final_sessions)


@dataclass(frozen=True)
class EvenAccumulation:
    """Buy the shortfall in equal slices over the whole cycle: ceil(shortfall / sessions left)
    every session, so a slice grows back after a partial fill and adjusts to verification."""

    name: ClassVar[str] = "even"

    def decide(self, view: DecisionView) -> Sequence[Order]:
        return _buy_slice(view, "even")

    def kernel(self) -> tuple[int, np.ndarray]:
        return nb.EVEN, nb.params()


@dataclass(frozen=True)
class ReserveArbitrage:
    """A compliance reserve plus trading around it (GB/T 46412's "reserve + trading").

    The reserve is ``reserve_share`` x the obligation (plus what an alert response adds).
    Before the last ``final_sessions`` sessions, with the previous close at ``z`` of its range
    over the last ``window`` closes (0 the low, 1 the high):

    - ``z <= low``: buy a clip (``clip_share`` x the obligation) while covered stays within
      ``(1 + long_share)`` x the reserve;
    - ``z >= high``: sell a clip of the surplus above the reserve (within what is sellable);
    - otherwise, or without ``window`` closes or with a flat range: nothing.

    In the last ``final_sessions`` sessions it only trades towards covering the obligation
    exactly, in equal slices: buying what is missing, selling the surplus (the reserve guards
    the year; past the banking cap a surplus at the deadline is forfeited).
    """

    window: int = 20
    low: float = 0.2
    high: float = 0.8
    clip_share: float = 0.02
    reserve_share: float = 1.0
    long_share: float = 0.2
    final_sessions: int = 20
    name: ClassVar[str] = "reserve"

    def __post_init__(self) -> None:
        _check("window", self.window, self.window >= 2, "at least 2 closes")
        _check("low", self.low, 0.0 <= self.low < self.high, f"must lie in [0, high={self.high})")
        _check("high", self.high, self.high <= 1.0, "must be at most 1")
        _check("clip_share", self.clip_share, 0 < self.clip_share <= 1, "must lie in (0, 1]")
        _check("reserve_share", self.reserve_share, self.reserve_share >= 0, "must be >= 0")
        _check("long_share", self.long_share, self.long_share >= 0, "must be >= 0")
        _check("final_sessions", self.final_sessions, self.final_sessions >= 1, "at least 1")

    def reserve_t(self, view: DecisionView) -> float:
        return self.reserve_share * view.cycle.obligation_t + view.reserve_add_t

    def decide(self, view: DecisionView) -> Sequence[Order]:
        reserve = self.reserve_t(view)
        if view.cycle.sessions_left <= self.final_sessions:
            return _catch_up(view, view.cycle.obligation_t, "reserve: final")
        closes = view.closes[-self.window :]
        if closes.size < self.window:
            return []
        lowest, highest = float(closes.min()), float(closes.max())
        if highest - lowest <= 0.0:
            return []
        z = (float(closes[-1]) - lowest) / (highest - lowest)
        clip = whole_tonnes_down(self.clip_share * view.cycle.obligation_t)
        covered = view.covered_t()
        if z <= self.low:
            tonnes = whole_tonnes_down(min(clip, reserve * (1.0 + self.long_share) - covered))
            return [Order("buy", tonnes, reason="reserve: low")] if tonnes >= 1 else []
        if z >= self.high:
            surplus = min(clip, covered - reserve, view.position.sellable_t)
            tonnes = whole_tonnes_down(surplus)
            return [Order("sell", tonnes, reason="reserve: high")] if tonnes >= 1 else []
        return []

    def kernel(self) -> tuple[int, np.ndarray]:
        return nb.RESERVE, nb.params(
            final_sessions=self.final_sessions,
            window=self.window,
            low=self.low,
            high=self.high,
            clip_share=self.clip_share,
            reserve_share=self.reserve_share,
            long_share=self.long_share,
        )


@dataclass(frozen=True)
class ForwardHedge:
    """Lock ``hedge_ratio`` of the expected shortfall with a forward on the cycle's first
    session (at the quoted forward price, delivered on the cycle's forward delivery date), then
    buy what is still short at the deadline as ``BuyAtDeadline`` does."""

    hedge_ratio: float = 0.8
    final_sessions: int = 20
    name: ClassVar[str] = "forward"

    def __post_init__(self) -> None:
        _check("hedge_ratio", self.hedge_ratio, 0 <= self.hedge_ratio <= 1, "must lie in [0, 1]")
        _check("final_sessions", self.final_sessions, self.final_sessions >= 1, "at least 1")

    def decide(self, view: DecisionView) -> Sequence[Order]:
        orders: list[Order] = []
        if view.cycle.index == 0:
            tonnes = whole_tonnes_up(self.hedge_ratio * view.shortfall_t())
            if tonnes >= 1:
                orders.append(Order("buy", tonnes, instrument="forward", reason="forward hedge"))
        if view.cycle.sessions_left <= self.final_sessions:
            hedged = sum(o.tonnes for o in orders)
            tonnes = whole_tonnes_up((view.shortfall_t() - hedged) / view.cycle.sessions_left)
            if tonnes >= 1:
                orders.append(Order("buy", tonnes, reason="deadline"))
        return orders

    def kernel(self) -> tuple[int, np.ndarray]:
        return nb.FORWARD, nb.params(
            final_sessions=self.final_sessions, hedge_ratio=self.hedge_ratio
        )


@dataclass(frozen=True)
class Scripted:
    """A fixed order list: ``orders[date]`` on that session (tests, what-ifs, replaying a desk's
    actual trades)."""

    orders: Mapping[dt.date, Sequence[Order]] = field(default_factory=dict)
    name: ClassVar[str] = "scripted"

    def decide(self, view: DecisionView) -> Sequence[Order]:
        return tuple(self.orders.get(pd.Timestamp(view.date).date(), ()))


RULES: dict[str, type] = {
    cls.name: cls for cls in (BuyAtDeadline, EvenAccumulation, ReserveArbitrage, ForwardHedge)
}
