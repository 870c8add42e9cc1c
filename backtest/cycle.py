"""A compliance cycle as the backtester plays it, and the settings of its fills.

A ``Cycle`` is one entity's position and obligation over one trading window that ends on the
surrender deadline: what it holds at the window's first session (pre-allocation and bank), the
true-up that arrives (and reveals the verified emissions) on a date, existing forwards delivered
and paid on their dates, CCER held, pledges, cash, the trading budget, and the realised
emissions. ``Cycle.from_book`` builds one from a ``ComplianceBook``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from engine.book import ComplianceBook, Forward
from engine.errors import ConfigurationError
from engine.forwards import MAX_CARRY_RATE
from engine.markets import MarketRules, market_rules


def _date(where: str, value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ConfigurationError(f"{where} = {value!r}: not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Cycle:
    """One compliance cycle in a backtest (tonnes, the market's currency).

    Attributes:
        year: the cycle's year (whose emissions are surrendered).
        start: trading starts on the first session on or after it.
        deadline: the surrender deadline; the last session on or before it trades, then
            surrenders.
        allowances_t: allowances held at the start (bank and pre-allocation).
        pledged_t: allowances pledged (never sold).
        ccer_t: CCER held; surrendered up to the offset cap.
        cash: cash at the start.
        trading_budget: the most the cycle's purchases (fees and forwards included) may cost.
        reserve_floor_t: the book's compliance reserve, shown to strategies.
        expected_emissions_t, expected_true_up_t: what the entity expects before verification.
        emissions_t, true_up_t: verified emissions (whole tonnes, rounded up) and the true-up
            that arrives (whole tonnes; negative when allowances go back). Holdings, pledges
            and CCER are rounded to whole tonnes too.
        true_up_date: the true-up arrives, and the verified emissions are known, from the first
            session on or after it.
        forwards: existing forwards, delivered and paid on the first session on or after their
            delivery date.
        forward_delivery: delivery date of forwards bought in the backtest (default: the
            session 21 sessions before the deadline session).
    """

    year: int
    start: dt.date
    deadline: dt.date
    allowances_t: float
    pledged_t: float
    ccer_t: float
    cash: float
    trading_budget: float
    reserve_floor_t: float
    expected_emissions_t: float
    expected_true_up_t: float
    emissions_t: float
    true_up_t: float
    true_up_date: dt.date
    forwards: tuple[Forward, ...] = ()
    forward_delivery: dt.date | None = None

    def __post_init__(self) -> None:
        for name in ("start", "deadline", "true_up_date", "forward_delivery"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _date(f"cycle.{name}", value))
        if not self.start <= self.deadline:
            raise ConfigurationError(
                f"cycle {self.year}: start {self.start} is after the deadline {self.deadline}"
            )
        numbers = {
            "allowances_t": self.allowances_t >= 0,
            "pledged_t": 0 <= self.pledged_t <= self.allowances_t,
            "ccer_t": self.ccer_t >= 0,
            "trading_budget": self.trading_budget >= 0,
            "reserve_floor_t": self.reserve_floor_t >= 0,
            "expected_emissions_t": self.expected_emissions_t >= 0,
            "emissions_t": self.emissions_t >= 0,
        }
        for name, ok in numbers.items():
            value = getattr(self, name)
            if not ok or not math.isfinite(value):
                raise ConfigurationError(f"cycle {self.year}: {name} = {value!r} is impossible")
        for name in ("cash", "expected_true_up_t", "true_up_t"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigurationError(f"cycle {self.year}: {name} is not finite")
        object.__setattr__(self, "emissions_t", float(math.ceil(self.emissions_t - 1e-9)))
        for name in ("allowances_t", "pledged_t", "ccer_t"):  # allowances are whole tonnes
            object.__setattr__(self, name, float(round(getattr(self, name))))
        object.__setattr__(self, "true_up_t", float(round(self.true_up_t)))
        for forward in self.forwards:
            if forward.delivery > self.deadline:
                raise ConfigurationError(
                    f"cycle {self.year}: a forward delivers on {forward.delivery}, after the "
                    f"deadline {self.deadline}"
                )

    @classmethod
    def from_book(
        cls,
        book: ComplianceBook,
        *,
        start: object,
        true_up_date: object,
        emissions_t: float | None = None,
        true_up_t: float | None = None,
        forward_delivery: object | None = None,
    ) -> Cycle:
        """The book's cycle traded from ``start`` to its deadline. Realised emissions and true-up
        default to the book's expectations (a stated book on a price history)."""
        ob = book.obligation
        expected_true_up = ob.expected_allocation - ob.preallocated
        return cls(
            year=book.cycle_year,
            start=_date("start", start),
            deadline=book.deadline,
            allowances_t=book.allowances_t,
            pledged_t=book.pledged_t,
            ccer_t=book.ccer_t,
            cash=book.cash,
            trading_budget=book.trading_budget,
            reserve_floor_t=book.reserve_floor_t,
            expected_emissions_t=ob.expected_emissions,
            expected_true_up_t=expected_true_up,
            emissions_t=ob.expected_emissions if emissions_t is None else emissions_t,
            true_up_t=expected_true_up if true_up_t is None else true_up_t,
            true_up_date=_date("true_up_date", true_up_date),
            forwards=book.forwards,
            forward_delivery=None if forward_delivery is None else _date("fd", forward_delivery),
        )


@dataclass(frozen=True)
class FillSettings:
    """How orders fill and what a cycle's end costs, beyond the market's rules.

    Attributes:
        liquidity_share: fills of a session take at most this share of its volume (t).
        fallback_liquidity_t: the cap (t a session) where the source has no volume (NaN): every
            session of simulated paths, and the few days a history lacks it. A session with
            volume 0 fills nothing.
        impact: a fill of ``q`` tonnes moves its price by ``impact x q / cap`` (0.02: 2 % when
            it takes the whole cap), as the optimiser's quadratic cost.
        forward_carry, forward_premium: a forward bought in the backtest is quoted by the
            engine's cost-of-carry model (``engine.forwards``): the previous close x exp(carry x
            years to delivery) + premium, rounded up to the tick (3 % a year, no premium).
        deadline_window: sessions averaged for the deadline price (the penalty's "average of
            the month before the deadline", and the value of banked allowances).
        penalty_multiple: overrides the market's (CEA: 10 x the deadline price a tonne short).
        carry_over: several cycles chain: what is banked opens the next cycle (valued at the
            deadline price, so its cost moves with it), a shortfall is deducted from the next
            cycle's holdings where the rules carry it, and cash runs on. Otherwise each cycle
            starts from its own book.
    """

    liquidity_share: float = 0.2
    fallback_liquidity_t: float = 100_000.0
    impact: float = 0.02
    forward_carry: float = 0.03
    forward_premium: float = 0.0
    deadline_window: int = 21
    penalty_multiple: float | None = None
    carry_over: bool = False

    def __post_init__(self) -> None:
        checks = {
            "liquidity_share": 0 < self.liquidity_share <= 1,
            "fallback_liquidity_t": self.fallback_liquidity_t > 0,
            "impact": 0 <= self.impact < 1,
            "forward_carry": abs(self.forward_carry) <= MAX_CARRY_RATE,
            "forward_premium": math.isfinite(self.forward_premium),
            "deadline_window": self.deadline_window >= 1,
            "penalty_multiple": self.penalty_multiple is None or self.penalty_multiple >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigurationError(
                    f"fill setting {name} = {getattr(self, name)!r} is impossible"
                )


def market_of(rules: MarketRules | str) -> MarketRules:
    rules = market_rules(rules) if isinstance(rules, str) else rules
    if rules.compliance is None:
        raise ConfigurationError(f"market {rules.code!r} has no compliance rules to backtest")
    return rules
