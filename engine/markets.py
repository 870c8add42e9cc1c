"""Market rules: one frozen object per market, so that a second market is new data, not new code.

Values are the defaults of ``../shared/DESIGN.md``; every one is a setting (``dataclasses.replace``
gives a variant) because markets change their rules. The compliance rules (deadline, offset cap,
banking, penalty, fees) hang from the same object, as ``rules.compliance``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.compliance import CEA_COMPLIANCE, EUA_COMPLIANCE, ComplianceRules
from engine.errors import ConfigurationError

NO_CURRENCY = "XXX"  # ISO 4217's code for "no currency involved"


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
        band_is_firm: every published close respects ``daily_band``, so a close beyond it is
            an error in the data. ``False`` where the limit is uncertain, changed over the years
            or the close may include auction and block trades (the pilot markets): a close
            beyond the band is then a warning.
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
    band_is_firm: bool = True

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
        """``CNY/t``; empty for a series without a currency (``SERIES``)."""
        return "" if self.currency == NO_CURRENCY else f"{self.currency}/t"


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


def _pilot(code: str, name: str, band: float | None, block_band: float | None) -> MarketRules:
    """A pilot market: CNY, the Shanghai exchange's calendar (China's public holidays, as the
    CEA), a tick of 0.01 CNY and a lot of 1 t; a close may be a VWAP or include auction and block
    trades, and the band is checked softly (``band_is_firm=False``)."""
    return MarketRules(
        code=code,
        name=name,
        currency="CNY",
        daily_band=band,
        block_band=block_band,
        block_threshold_t=None,
        tick=0.01,
        lot_t=1.0,
        calendar="XSHG",
        close_is_vwap=True,
        band_is_firm=False,
    )


# The eight pilot markets. Price limits of listed trading, from each exchange's trading rules as
# last published (the bands changed over the years and are not known for every period, hence
# checked softly):
# - Beijing: Beijing Green Exchange (formerly China Beijing Environment Exchange), 碳排放权交易
#   规则: public trading within +/-20 % of the previous close.
# - Tianjin: Tianjin Climate Exchange, 碳排放权交易规则: +/-10 %.
# - Shanghai: Shanghai Environment and Energy Exchange, 上海碳排放配额交易规则: listing +/-10 %,
#   block +/-30 %.
# - Chongqing: Chongqing Carbon Emission Trading Centre (重庆联合产权交易所), 碳排放权交易细则:
#   +/-20 %.
# - Hubei: Hubei Emission Exchange, 碳排放权交易规则: +/-10 %.
# - Guangdong: China Emissions Exchange Guangzhou, 广东省碳排放配额交易规则 (listed bidding
#   +/-10 %, block +/-30 %); the real series moves beyond 10 % on some days (2016-06-08).
# - Shenzhen: China Emissions Exchange Shenzhen, 深圳排放权交易所交易规则: +/-10 %, block
#   +/-30 %.
# - Fujian: Haixia Equity Exchange, 福建省碳排放权交易规则: +/-10 %.
BEA = _pilot("bea", "Beijing pilot ETS allowance (BEA), Beijing Green Exchange", 0.20, None)
TJEA = _pilot("tjea", "Tianjin pilot ETS allowance (TJEA), Tianjin Climate Exchange", 0.10, None)
SHEA = _pilot(
    "shea", "Shanghai pilot ETS allowance (SHEA), Shanghai Environment and Energy Exchange",
    0.10, 0.30,
)  # fmt: skip
CQEA = _pilot(
    "cqea", "Chongqing pilot ETS allowance (CQEA), Chongqing Carbon Emission Trading Centre",
    0.20, None,
)  # fmt: skip
HBEA = _pilot("hbea", "Hubei pilot ETS allowance (HBEA), Hubei Emission Exchange", 0.10, None)
GDEA = _pilot(
    "gdea", "Guangdong pilot ETS allowance (GDEA), China Emissions Exchange Guangzhou",
    0.10, 0.30,
)  # fmt: skip
SZEA = _pilot(
    "szea", "Shenzhen pilot ETS allowance (SZEA), China Emissions Exchange Shenzhen", 0.10, 0.30
)
FJEA = _pilot("fjea", "Fujian pilot ETS allowance (FJEA), Haixia Equity Exchange", 0.10, None)

# CCER (relaunched 2024) on the Beijing Green Exchange: 温室气体自愿减排交易和结算细则 (2024),
# listing trades within +/-10 % of the previous close, block trades (>= 100,000 t) within
# +/-30 %. Thin, young market whose published price may include block trades: checked softly.
CCER = replace(
    CEA,
    code="ccer",
    name="China Certified Emission Reduction (CCER), Beijing Green Exchange",
    band_is_firm=False,
    compliance=None,
)

# Any daily series that is not an allowance price (an exchange rate, an index): no band, plain
# weekdays, and currency "XXX" (ISO 4217's "no currency"), so the loaders check no unit.
SERIES = MarketRules(
    code="series",
    name="A daily series without market rules (an exchange rate, an index)",
    currency=NO_CURRENCY,
    daily_band=None,
    block_band=None,
    block_threshold_t=None,
    tick=0.0001,
    lot_t=1.0,
    calendar=None,
    close_is_vwap=False,
)

MARKETS: dict[str, MarketRules] = {
    rules.code: rules
    for rules in (CEA, EUA, NZU, BEA, TJEA, SHEA, CQEA, HBEA, GDEA, SZEA, FJEA, CCER, SERIES)
}


def market_rules(code: str) -> MarketRules:
    """The rules of the market named ``code`` (case-insensitive)."""
    try:
        return MARKETS[code.lower()]
    except KeyError:
        known = ", ".join(sorted(MARKETS))
        raise ConfigurationError(f"unknown market {code!r}; known markets: {known}") from None
