"""The alert guard: wraps any strategy and applies the prepared responses when alerts fire.

Before each session the guard gathers the alerts open then: those the backtester shows in the
view (a desk's store, replayed), and, when it has ``alert_rules``, those that its own scan of the
closes seen so far fires (``engine.alerts.scan_prices``, the same rules the desk runs each
night). A backtest has nobody to resolve an alert, so one is taken as open for
``open_sessions`` sessions from its date. ``engine.alerts.constraints_from_alerts`` turns them,
with the configured ``Response`` of each rule, into today's constraints:

- a pause: no order on a paused session, except that in the last ``protect_sessions`` sessions
  before the deadline the inner strategy's purchases still go through (compliance first: a
  pause must not turn into a penalty);
- a raised reserve: the inner strategy sees ``reserve_add_t`` = the raise x the obligation
  (the reserve-and-arbitrage rule holds that much more), and the guard trims any sale that
  would take what is covered below the book's reserve floor plus the raise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from engine.alerts import AlertRules, Response, constraints_from_alerts, scan_prices
from engine.errors import ConfigurationError
from engine.markets import market_rules
from strategies.base import DecisionView, Order, Strategy, whole_tonnes_down

DEFAULT_RESPONSES: Mapping[str, Response] = {
    "cumulative": Response(pause_days=5, raise_reserve_share=0.05),
    "close_to_close": Response(pause_days=2),
    "band_lock": Response(pause_days=3),
}


@dataclass(frozen=True)
class AlertGuard:
    """``inner`` under the prepared responses to alerts (see the module).

    Attributes:
        inner: the strategy guarded.
        responses: the response of each rule (by rule name); rules without one impose nothing.
        alert_rules: the price rules the guard scans the past closes with; ``None`` to act on
            the view's alerts only.
        market: the market code (its band and tick feed the band-lock rule).
        open_sessions: an alert stays open this many sessions after its date.
        protect_sessions: the last sessions before the deadline, in which a pause never blocks
            the inner strategy's purchases.
    """

    inner: Strategy
    responses: Mapping[str, Response] = field(default_factory=lambda: dict(DEFAULT_RESPONSES))
    alert_rules: AlertRules | None = field(default_factory=AlertRules)
    market: str = "cea"
    open_sessions: int = 20
    protect_sessions: int = 5
    name: ClassVar[str] = "guard"

    def __post_init__(self) -> None:
        if not isinstance(self.inner, Strategy):
            raise ConfigurationError(f"alert guard: inner {self.inner!r} is not a strategy")
        for what in ("open_sessions", "protect_sessions"):
            if getattr(self, what) < 0:
                raise ConfigurationError(f"alert guard: {what} must be >= 0")
        market_rules(self.market)

    def open_alerts(self, view: DecisionView) -> list[Any]:
        """Alerts dated within the last ``open_sessions`` sessions before today."""
        alerts = list(view.alerts)
        if self.alert_rules is not None and view.closes.size >= 2:
            closes = pd.Series(view.closes, index=view.dates, name="close")
            alerts += scan_prices(
                closes,
                self.alert_rules,
                instrument=self.market.upper(),
                market=market_rules(self.market),
            )
        if not alerts:
            return []
        recent = view.dates[-self.open_sessions :] if self.open_sessions else view.dates[:0]
        first = recent[0].date() if len(recent) else view.date.date()
        return [a for a in alerts if first <= a.date < view.date.date()]

    def decide(self, view: DecisionView) -> Sequence[Order]:
        alerts = self.open_alerts(view)
        if not alerts:
            return self.inner.decide(view)
        today = view.date.date()
        sessions = view.dates.append(view.cycle.sessions[view.cycle.index :])
        sessions = sessions.append(pd.bdate_range(sessions[-1] + pd.Timedelta(days=1), periods=60))
        constraints = constraints_from_alerts(alerts, self.responses, today, sessions)
        add = constraints.reserve_floor_add * view.cycle.obligation_t
        guarded = dataclasses.replace(view, reserve_add_t=view.reserve_add_t + add)
        orders = list(self.inner.decide(guarded))
        if constraints.paused(today):
            if view.cycle.sessions_left > self.protect_sessions:
                return []
            orders = [o for o in orders if o.side == "buy"]
        floor = view.cycle.reserve_floor_t + add
        room = view.covered_t() + sum(o.tonnes for o in orders if o.side == "buy") - floor
        out = []
        for order in orders:
            if order.side == "sell":
                tonnes = whole_tonnes_down(min(order.tonnes, room))
                if tonnes < 1:
                    continue
                room -= tonnes
                order = dataclasses.replace(order, tonnes=tonnes, reason=order.reason + " (guard)")
            out.append(order)
        return out


def guard(inner: Strategy, pause_days: Any = 5, raise_reserve_share: Any = 0.05,
          on: str = "cumulative,close_to_close,band_lock",
          open_sessions: Any = 20) -> AlertGuard:  # fmt: skip
    """The guard of ``inner`` by settings given as text (the command line; the registry's
    ``guard`` names the inner strategy): each rule named in ``on`` gets the same response
    (pause ``pause_days`` sessions, raise the reserve by ``raise_reserve_share``)."""
    try:
        response = Response(
            pause_days=int(pause_days), raise_reserve_share=float(raise_reserve_share)
        )
        sessions = int(open_sessions)
    except ValueError as exc:
        raise ConfigurationError(f"alert guard settings: {exc}") from None
    rules = [r.strip() for r in str(on).split(",") if r.strip()]
    known = ("close_to_close", "cumulative", "reference", "band_lock", "volatility")
    unknown = [r for r in rules if r not in known]
    if unknown:
        raise ConfigurationError(f"alert guard on={unknown}: rules are {', '.join(known)}")
    return AlertGuard(inner, {r: response for r in rules}, open_sessions=sessions)
