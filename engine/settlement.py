"""The compliance settlement at the surrender deadline: the one rule every consumer calls.

``settle(terms, position)`` is a pure function of named tuples; ``settle_nb`` is the same
function compiled by numba (as ``arch`` compiles its recursions), so the optimiser's reported
cost, the out-of-sample evaluation (``engine.evaluate_nb``), the Monte Carlo kernels
(``backtest.montecarlo_nb``) and the event-driven backtester (``backtest.event``) settle alike.

The rule, in tonnes and currency per tonne:

1. CCER first, within the offset cap: ``ccer_used = min(ccer held, offset_cap_share x
   emissions)``;
2. then allowances, oldest vintage first (``by_vintage``): ``surrendered = min(allowances held,
   emissions - ccer_used)``; every vintage held is of the cycle or older (no borrowing, which
   ``ComplianceBook`` refuses), so all may be surrendered;
3. what is still missing is short, and so is a deficit (allowances held below zero: a true-up
   that took back more than was held must be returned like the emissions): ``shortfall``;
4. the penalty is ``(penalty_multiple x deadline price + penalty_per_t) x shortfall``, the
   deadline price being the average of the month before the deadline;
5. the surplus is banked up to ``bank_base_t + bank_sales_multiple x max(net sales, 0)``
   (``inf`` base: no cap) and valued at the deadline price; the rest is forfeited;
6. where ``shortfall_carried``, the shortfall is still owed next cycle (``carried_shortfall_t``);
   it is not priced here: a chained backtest takes it from the next cycle's holdings.

``cost = penalty - bank value``: what the settlement adds to a cycle's trading cost.
Amounts are exact; the backtesters' cash ledgers round what they pay to the cent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from engine._numba import njit
from engine.errors import ConfigurationError


class SettlementTerms(NamedTuple):
    """The market's settlement rules for one cycle (see module)."""

    offset_cap_share: float
    penalty_multiple: float
    penalty_per_t: float
    bank_base_t: float
    bank_sales_multiple: float
    shortfall_carried: bool


class DeadlinePosition(NamedTuple):
    """What an entity brings to the deadline.

    Attributes:
        allowances_t: allowances held after the last session's trades, every vintage together
            (negative after a true-up that took back more than was held).
        ccer_t: CCER held.
        net_sales_t: tonnes sold less tonnes bought in the cycle (widens the banking cap).
        emissions_t: verified emissions.
        deadline_price: average price of the month before the deadline (currency per tonne).
    """

    allowances_t: float
    ccer_t: float
    net_sales_t: float
    emissions_t: float
    deadline_price: float


class Settlement(NamedTuple):
    """The outcome of ``settle`` (tonnes; currency for ``penalty``, ``bank_value``, ``cost``)."""

    ccer_used_t: float
    surrendered_t: float
    shortfall_t: float
    penalty: float
    banked_t: float
    forfeited_t: float
    bank_value: float
    carried_shortfall_t: float
    cost: float


NO_CAP = math.inf
"""``bank_base_t`` of a market without a banking cap."""


def terms_of(rules: Any, penalty_multiple: float | None = None) -> SettlementTerms:
    """The settlement terms of ``rules``; ``penalty_multiple`` overrides the rules' multiple."""
    multiple = rules.penalty_multiple if penalty_multiple is None else penalty_multiple
    return SettlementTerms(
        offset_cap_share=float(rules.offset_cap_share or 0.0),
        penalty_multiple=float(multiple or 0.0),
        penalty_per_t=float(rules.penalty_per_t or 0.0),
        bank_base_t=NO_CAP if rules.banking_base_t is None else float(rules.banking_base_t),
        bank_sales_multiple=float(rules.banking_sales_multiple),
        shortfall_carried=bool(rules.shortfall_carried),
    )


@njit(cache=True)
def offset_cap_t(terms: SettlementTerms, emissions_t: float) -> float:
    """The most CCER (t) that may be surrendered against ``emissions_t``."""
    return terms.offset_cap_share * max(emissions_t, 0.0)


@njit(cache=True)
def penalty_per_t(terms: SettlementTerms, deadline_price: float) -> float:
    """What one tonne short costs at this deadline price."""
    return terms.penalty_multiple * deadline_price + terms.penalty_per_t


@njit(cache=True)
def banking_cap_t(terms: SettlementTerms, net_sales_t: float) -> float:
    """Tonnes that may be banked after ``net_sales_t`` of net sales (net purchases: the base)."""
    return terms.bank_base_t + terms.bank_sales_multiple * max(net_sales_t, 0.0)


def settle(terms: SettlementTerms, position: DeadlinePosition) -> Settlement:
    """Settle ``position`` at the deadline under ``terms`` (see module)."""
    emissions = max(position.emissions_t, 0.0)
    ccer_used = min(max(position.ccer_t, 0.0), offset_cap_t(terms, emissions))
    need = emissions - ccer_used
    held = max(position.allowances_t, 0.0)
    surrendered = min(held, need)
    deficit = max(-position.allowances_t, 0.0)
    shortfall = need - surrendered + deficit
    price = position.deadline_price
    penalty = penalty_per_t(terms, price) * shortfall
    surplus = held - surrendered
    banked = min(surplus, banking_cap_t(terms, position.net_sales_t))
    bank_value = banked * price
    carried = shortfall if terms.shortfall_carried else 0.0
    return Settlement(
        ccer_used_t=ccer_used,
        surrendered_t=surrendered,
        shortfall_t=shortfall,
        penalty=penalty,
        banked_t=banked,
        forfeited_t=surplus - banked,
        bank_value=bank_value,
        carried_shortfall_t=carried,
        cost=penalty - bank_value,
    )


settle_nb = njit(cache=True)(settle)
"""``settle`` compiled: the kernels call it inline."""


@njit(cache=True)
def _settle_paths_nb(terms, allowances, ccer, net_sales, emissions, deadline_price, out):
    for i in range(allowances.size):
        s = settle_nb(
            terms,
            DeadlinePosition(allowances[i], ccer[i], net_sales[i], emissions[i], deadline_price[i]),
        )
        for j in range(len(s)):
            out[j, i] = s[j]


def settle_paths(
    terms: SettlementTerms,
    allowances_t: np.ndarray,
    ccer_t: np.ndarray,
    net_sales_t: np.ndarray,
    emissions_t: np.ndarray,
    deadline_price: np.ndarray,
) -> Settlement:
    """``settle`` per scenario: a ``Settlement`` of arrays (the inputs broadcast together)."""
    arrays = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (allowances_t, ccer_t, net_sales_t,
                                                    emissions_t, deadline_price))
    )  # fmt: skip
    flat = [np.ascontiguousarray(a).ravel() for a in arrays]
    out = np.empty((len(Settlement._fields), flat[0].size))
    _settle_paths_nb(terms, *flat, out)
    return Settlement(*(row.reshape(arrays[0].shape) for row in out))


def by_vintage(
    allowances_by_vintage: Mapping[int, float], surrendered_t: float, banked_t: float
) -> dict[int, tuple[float, float, float]]:
    """Per vintage, ``(surrendered, banked, forfeited)`` tonnes of a settlement that surrendered
    ``surrendered_t`` and banked ``banked_t`` of these holdings: the oldest vintages are
    surrendered first, the newest are banked, what lies between is forfeited."""
    vintages = sorted(allowances_by_vintage)
    total = sum(max(allowances_by_vintage[v], 0.0) for v in vintages)
    if surrendered_t + banked_t > total + 1e-6:
        raise ConfigurationError(
            f"by_vintage: {surrendered_t:,.0f} t surrendered and {banked_t:,.0f} t banked exceed "
            f"the {total:,.0f} t held"
        )
    out: dict[int, tuple[float, float, float]] = {}
    to_surrender, to_bank = surrendered_t, banked_t
    for vintage in vintages:  # oldest first
        held = max(allowances_by_vintage[vintage], 0.0)
        used = min(held, to_surrender)
        to_surrender -= used
        out[vintage] = (used, 0.0, held - used)
    for vintage in reversed(vintages):  # newest banked first
        used, _, left = out[vintage]
        kept = min(left, to_bank)
        to_bank -= kept
        out[vintage] = (used, kept, left - kept)
    return out
