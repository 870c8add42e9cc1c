"""Market rules: one frozen object per market, so that a second market is new data, not new code.

Values are the defaults of ``../shared/DESIGN.md``; every one is a setting (``dataclasses.replace``
gives a variant) because markets change their rules. The compliance rules (deadline, offset cap,
banking, penalty, fees) hang from the same object, as ``rules.compliance``.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.compliance import CEA_COMPLIANCE, EUA_COMPLIANCE, ComplianceRules
from engine.errors import ConfigurationError


@dataclass(frozen=True)
class MarketRules:
    """The trading rules of one allowance market.

    Attributes:
        code: short lower-case identifier (``"cea"``).
        name: human-readable name.
        currency: ISO code of the price currency.
        daily_band: listing trades must close within ``+/- daily_band`` of the previous close
            (0.10 is 10 %); ``None`` for a market without a daily limit.
        block_band: the wider band of block trades, or ``None``.
        block_threshold_t: trades of at least this many tonnes are block trades.
        tick: price tick, in currency per tonne.
        lot_t: tonnes in one lot.
        calendar: the exchange calendar code of the ``holidays`` package (``"XSHG"``), or
            ``None`` for a market without a published exchange calendar (weekdays then).
        close_is_vwap: the published close is a volume-weighted average price, so it may sit
            slightly outside the day's high-low range when block trades are included.
        compliance: the compliance cycle's rules, or ``None`` for a market the engine only
            prices.
    """

    code: str
    name: str
    currency: str
    daily_band: float | None
    block_band: float | None
    block_threshold_t: float | None
    tick: float
    lot_t: float
    calendar: str | None
    close_is_vwap: bool
    compliance: ComplianceRules | None = None

    def __post_init__(self) -> None:
        if self.daily_band is not None and not 0.0 < self.daily_band < 1.0:
            raise ConfigurationError(
                f"market {self.code!r}: daily_band must lie in (0, 1), got {self.daily_band}"
            )
        if self.tick <= 0 or self.lot_t <= 0:
            raise ConfigurationError(
                f"market {self.code!r}: tick and lot_t must be positive, "
                f"got tick={self.tick}, lot_t={self.lot_t}"
            )

    @property
    def price_unit(self) -> str:
        return f"{self.currency}/t"


CEA = MarketRules(
    code="cea",
    name="China national ETS allowance (CEA), Shanghai Environment and Energy Exchange",
    currency="CNY",
    daily_band=0.10,
    block_band=0.30,
    block_threshold_t=100_000.0,
    tick=0.01,
    lot_t=1.0,
    calendar="XSHG",
    close_is_vwap=True,
    compliance=CEA_COMPLIANCE,
)

EUA = MarketRules(
    code="eua",
    name="EU ETS allowance (EUA), ICE Endex futures",
    currency="EUR",
    daily_band=None,
    block_band=None,
    block_threshold_t=None,
    tick=0.01,
    lot_t=1_000.0,
    calendar="IFEU",
    close_is_vwap=False,
    compliance=EUA_COMPLIANCE,
)

NZU = MarketRules(
    code="nzu",
    name="New Zealand ETS unit (NZU), secondary spot",
    currency="NZD",
    daily_band=None,
    block_band=None,
    block_threshold_t=None,
    tick=0.01,
    lot_t=1.0,
    calendar="XNZE",
    close_is_vwap=False,
)

MARKETS: dict[str, MarketRules] = {rules.code: rules for rules in (CEA, EUA, NZU)}


def market_rules(code: str) -> MarketRules:
    """The rules of the market named ``code`` (case-insensitive)."""
    try:
        return MARKETS[code.lower()]
    except KeyError:
        known = ", ".join(sorted(MARKETS))
        raise ConfigurationError(f"unknown market {code!r}; known markets: {known}") from None
