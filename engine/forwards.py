"""Forward hedges from counterparty quotes: the quote model that the optimiser, the nightly and
the backtester share.

A counterparty (a bank, a broker, another entity) offers to sell allowances for delivery on a
date, up to a number of tonnes, at either

- a fixed price (currency/t), or
- cost of carry: ``spot x exp(carry_rate x years to delivery) + premium`` (``carry_price``),
  the spot being the last close when the quote is taken (years are days / 365).

The price is paid on delivery, in every scenario: a forward is a here-and-now decision. A quote
is checked when it is made (``ForwardQuote``) and again against the night it is used in
(``price_quotes``: delivery not before today and not after the surrender deadline). Pure: no
files, no printing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine._numba import njit
from engine.errors import ForwardQuoteError

DAYS_PER_YEAR = 365.0
MAX_CARRY_RATE = 1.0  # 100 % a year: beyond it a "carry" is a typo


def years_between(today: dt.date, delivery: dt.date) -> float:
    """Years from ``today`` to ``delivery`` (days / 365; 0 when delivery is not later)."""
    return max((delivery - today).days, 0) / DAYS_PER_YEAR


def carry_price(spot: float, years: float, rate: float, premium: float) -> float:
    """``spot x exp(rate x years) + premium``: the cost-of-carry forward price (currency/t)."""
    return spot * math.exp(rate * years) + premium


carry_price_nb = njit(cache=True)(carry_price)
"""The numba twin of ``carry_price`` (the Monte Carlo backtest kernel prices with it)."""


@dataclass(frozen=True)
class ForwardQuote:
    """A counterparty's offer to sell allowances forward.

    Attributes:
        name: who quotes ("bank-a"): it names the hedge in the plan; unique among an entity's
            quotes.
        delivery: the date the allowances are delivered (and paid).
        max_t: the most tonnes on offer (t, >= 0).
        price: a fixed price (currency/t), or ``None`` for a cost-of-carry quote.
        carry_rate: the cost of carry, a share a year (0.025: 2.5 %/yr), or ``None`` for a
            fixed price.
        premium: currency/t on top of the carried spot (cost-of-carry quotes only).
    """

    name: str
    delivery: dt.date
    max_t: float
    price: float | None = None
    carry_rate: float | None = None
    premium: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ForwardQuoteError(f"forward quote name {self.name!r}: give a non-blank name")
        if isinstance(self.delivery, dt.datetime) or not isinstance(self.delivery, dt.date):
            self._fail("delivery", "must be a date")
        if not _finite(self.max_t) or self.max_t < 0:
            self._fail("max_t", "must be a finite number of tonnes, not negative")
        if (self.price is None) == (self.carry_rate is None):
            self._fail("price", "give either a fixed price or a carry_rate (with a premium)")
        if self.price is not None and not (_finite(self.price) and self.price > 0):
            self._fail("price", "must be a positive, finite price")
        if self.carry_rate is not None and not (
            _finite(self.carry_rate) and abs(self.carry_rate) <= MAX_CARRY_RATE
        ):
            self._fail("carry_rate", f"must be a finite rate a year within +/-{MAX_CARRY_RATE}")
        if not _finite(self.premium):
            self._fail("premium", "must be finite")
        if self.price is not None and self.premium != 0:
            self._fail("premium", "applies to a cost-of-carry quote: fold it into the price")

    def _fail(self, name: str, rule: str) -> None:
        value = getattr(self, name)
        shown = value.isoformat() if isinstance(value, dt.date) else repr(value)
        raise ForwardQuoteError(
            f"forward quote {self.name!r}: {name} = {shown} {rule}",
            quote=self.name,
            field=name,
        )

    def price_at(self, spot: float, today: dt.date) -> float:
        """The quote's price (currency/t) when the spot (the last close) is ``spot`` on
        ``today``."""
        if self.price is not None:
            return float(self.price)
        assert self.carry_rate is not None
        if not (_finite(spot) and spot > 0):
            raise ForwardQuoteError(
                f"forward quote {self.name!r}: spot = {spot!r} must be a positive price",
                quote=self.name, field="spot",
            )  # fmt: skip
        price = carry_price(spot, years_between(today, self.delivery), self.carry_rate,
                            self.premium)  # fmt: skip
        if not price > 0:
            self._fail("premium", f"leaves a price of {price:.4f} at a spot of {spot}")
        return price

    def check_dates(self, today: dt.date, deadline: dt.date) -> None:
        """A quote usable tonight delivers from ``today`` to the surrender ``deadline``."""
        if self.delivery < today:
            self._fail("delivery", f"is before today ({today.isoformat()}): the quote is stale")
        if self.delivery > deadline:
            self._fail(
                "delivery", f"is after the surrender deadline {deadline.isoformat()}: too late"
            )


@dataclass(frozen=True)
class ForwardOffer:
    """A quote priced tonight and placed on the decision grid: delivered into holdings from
    decision date ``date_index`` (the first on or after its delivery) at ``price``."""

    quote: ForwardQuote
    price: float
    date_index: int


def delivery_index(dates: Sequence[dt.date], delivery: dt.date) -> int:
    """The decision date (0 is today) from which a delivery on ``delivery`` is held: the first
    on or after it (0 when it is today or earlier; the last when it is later than every date)."""
    for index, date in enumerate(dates):
        if date >= delivery:
            return index
    return len(dates) - 1


def price_quotes(
    quotes: Sequence[ForwardQuote], spot: float, dates: Sequence[dt.date], deadline: dt.date
) -> tuple[ForwardOffer, ...]:
    """The quotes priced at ``spot`` on ``dates[0]`` (today) and placed on the decision
    ``dates``; each must deliver from today to the ``deadline``, and names must be unique."""
    names = [q.name for q in quotes]
    for name in names:
        if names.count(name) > 1:
            raise ForwardQuoteError(
                f"forward quote {name!r} is given twice: name each quote once", quote=name,
                field="name",
            )  # fmt: skip
    today = dates[0]
    offers = []
    for quote in quotes:
        quote.check_dates(today, deadline)
        offers.append(
            ForwardOffer(quote, quote.price_at(spot, today), delivery_index(dates, quote.delivery))
        )
    return tuple(offers)


@dataclass(frozen=True)
class ForwardHedge:
    """The plan's hedge on one quote.

    Attributes:
        quote: the quote's name.
        delivery: its delivery date.
        price: what a tonne costs (currency/t, paid on delivery).
        tonnes: tonnes to buy forward tonight (<= ``max_t``).
        max_t: the most tonnes on offer.
        shadow_price: what one more tonne on offer would be worth (currency/t of the objective:
            0 unless the plan takes all that is offered).
        date_index: the decision date from which the hedge is held.
    """

    quote: str
    delivery: dt.date
    price: float
    tonnes: float
    max_t: float
    shadow_price: float
    date_index: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (the run record's ``plan.forward_hedges`` entries)."""
        return {
            "quote": self.quote,
            "delivery": self.delivery.isoformat(),
            "price": self.price,
            "tonnes": self.tonnes,
            "max_t": self.max_t,
            "shadow_price": self.shadow_price,
        }


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
