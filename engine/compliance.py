"""Compliance rules of a market: when to surrender, what offsets and banking allow, what a
shortfall costs, and what trading costs.

Defaults are the facts of ``../shared/DESIGN.md``; every value is a setting
(``dataclasses.replace``), because markets change their rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.errors import ConfigurationError


@dataclass(frozen=True)
class ComplianceRules:
    """What a compliance cycle requires and allows.

    Attributes:
        surrender_month, surrender_day: the deadline's date ...
        surrender_years_after: ... in the year this many years after the cycle's year (the CEA's
            2025 cycle is surrendered by 31 Dec 2026: 12, 31, 1).
        offset_cap_share: offsets (CCER) may cover at most this share of verified emissions;
            ``None`` where offsets are not accepted (the EU ETS since 2021).
        banking_base_t, banking_sales_multiple: surplus may be carried into the next cycle up
            to ``banking_base_t + banking_sales_multiple x net sales`` tonnes (CEA power:
            10,000 t + 1.5 x net sales); ``None`` for unlimited banking. What exceeds the cap is
            worthless after the deadline.
        borrowing: whether next cycle's allowances may be surrendered now.
        penalty_multiple: a shortfall costs this multiple of the average price of the month
            before the deadline, per tonne (CEA: 5 to 10; the default assumes the top), or
        penalty_per_t: a fixed penalty per tonne (EU ETS: EUR 100), or both.
        shortfall_carried: the shortfall is still owed: deducted from next year's allocation
            (CEA) or surrendered the next year (EU ETS).
        fee_rate, offset_fee_rate: fees per side as a share of the traded value (pilot markets
            charge 2 to 5 per mille; CCER on the Beijing Green Exchange 6 per mille).
    """

    surrender_month: int
    surrender_day: int
    surrender_years_after: int
    offset_cap_share: float | None
    banking_base_t: float | None
    banking_sales_multiple: float
    borrowing: bool
    penalty_multiple: float | None
    penalty_per_t: float | None
    shortfall_carried: bool
    fee_rate: float
    offset_fee_rate: float

    def __post_init__(self) -> None:
        try:
            dt.date(2024, self.surrender_month, self.surrender_day)
        except ValueError:
            raise ConfigurationError(
                f"surrender deadline {self.surrender_month}/{self.surrender_day} is not a date"
            ) from None
        checks = {
            "surrender_years_after": self.surrender_years_after >= 0,
            "offset_cap_share": self.offset_cap_share is None or 0 <= self.offset_cap_share <= 1,
            "banking_base_t": self.banking_base_t is None or self.banking_base_t >= 0,
            "banking_sales_multiple": self.banking_sales_multiple >= 0,
            "penalty_multiple": self.penalty_multiple is None or self.penalty_multiple >= 0,
            "penalty_per_t": self.penalty_per_t is None or self.penalty_per_t >= 0,
            "fee_rate": 0 <= self.fee_rate < 0.1,
            "offset_fee_rate": 0 <= self.offset_fee_rate < 0.1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigurationError(
                    f"compliance rule {name} = {getattr(self, name)!r} is impossible"
                )
        if self.penalty_multiple is None and self.penalty_per_t is None:
            raise ConfigurationError("a market needs a penalty: a multiple, a fixed amount or both")

    def deadline(self, cycle_year: int) -> dt.date:
        """The surrender deadline of the cycle of ``cycle_year``."""
        return dt.date(
            cycle_year + self.surrender_years_after, self.surrender_month, self.surrender_day
        )

    def penalty_per_tonne(self, deadline_month_average: float) -> float:
        """What one tonne short costs, given the average price of the month before the
        deadline (currency per tonne); the surrender still owed comes on top where
        ``shortfall_carried``. The rule is ``engine.settlement``'s."""
        from engine import settlement  # here: market rules load without numba (carbon --help)

        return settlement.penalty_per_t(settlement.terms_of(self), deadline_month_average)

    def banking_cap_t(self, net_sales_t: float) -> float:
        """Tonnes that may be carried forward after ``net_sales_t`` tonnes of net sales in the
        cycle (net purchases count as no sales); infinite without a cap."""
        from engine import settlement

        return settlement.banking_cap_t(settlement.terms_of(self), net_sales_t)

    def offset_cap_t(self, verified_emissions_t: float) -> float:
        """The most offsets (tonnes) that may be surrendered against these emissions."""
        from engine import settlement

        return settlement.offset_cap_t(settlement.terms_of(self), verified_emissions_t)


CEA_COMPLIANCE = ComplianceRules(
    surrender_month=12,
    surrender_day=31,
    surrender_years_after=1,
    offset_cap_share=0.05,
    banking_base_t=10_000.0,
    banking_sales_multiple=1.5,
    borrowing=False,
    penalty_multiple=10.0,
    penalty_per_t=None,
    shortfall_carried=True,
    fee_rate=0.003,
    offset_fee_rate=0.006,
)

EUA_COMPLIANCE = ComplianceRules(
    surrender_month=9,
    surrender_day=30,
    surrender_years_after=1,
    offset_cap_share=None,
    banking_base_t=None,
    banking_sales_multiple=0.0,
    borrowing=False,
    penalty_multiple=None,
    penalty_per_t=100.0,
    shortfall_carried=True,
    fee_rate=0.0005,
    offset_fee_rate=0.0,
)
