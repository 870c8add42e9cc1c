"""Units as data vendors write them (Chinese or English), turned into tidy units.

Tidy units: prices in currency per tonne, volumes in tonnes, turnover in currency.
"""

from __future__ import annotations

import re

CURRENCIES: dict[str, str] = {
    "元": "CNY", "人民币元": "CNY", "人民币": "CNY", "cny": "CNY", "rmb": "CNY", "yuan": "CNY",
    "欧元": "EUR", "eur": "EUR", "€": "EUR",
    "美元": "USD", "usd": "USD", "$": "USD",
    "英镑": "GBP", "gbp": "GBP",
    "新西兰元": "NZD", "nzd": "NZD",
    "韩元": "KRW", "krw": "KRW",
}  # fmt: skip

MULTIPLIERS: dict[str, float] = {
    "": 1.0, "千": 1e3, "万": 1e4, "十万": 1e5, "百万": 1e6, "千万": 1e7, "亿": 1e8,
    "10k": 1e4, "10 thousand": 1e4, "k": 1e3, "thousand": 1e3,
    "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9,
}  # fmt: skip

TONNES: tuple[str, ...] = (
    "吨", "吨二氧化碳当量", "吨二氧化碳", "吨co2", "吨co2e", "吨co2当量",
    "t", "ton", "tons", "tonne", "tonnes", "tco2", "tco2e", "t co2", "t co2e", "tco₂e",
)  # fmt: skip


def _splits(text: str) -> list[tuple[float, str]]:
    """Every way to read ``text`` as a multiplier prefix and a rest, the plain reading first."""
    text = text.strip()
    found = [(1.0, text)]
    for prefix in sorted(MULTIPLIERS, key=len, reverse=True):
        if prefix and text.lower().startswith(prefix) and text[len(prefix) :].strip():
            found.append((MULTIPLIERS[prefix], text[len(prefix) :].strip()))
    return found


def currency_of(text: str) -> str | None:
    return CURRENCIES.get(text.strip().lower())


def price_unit(unit: str) -> str | None:
    """The currency of a price unit such as ``元/吨`` or ``EUR/t``; ``None`` if not a price."""
    parts = re.split(r"\s*/\s*", unit.strip())
    if len(parts) != 2 or parts[1].lower() not in TONNES:
        return None
    return currency_of(parts[0])


def volume_scale(unit: str, lot_t: float) -> float | None:
    """Tonnes per unit of a volume (``万吨`` is 10,000; ``手``/lots is the market's lot)."""
    for multiplier, rest in _splits(unit):
        if rest.lower() in TONNES:
            return multiplier
        if rest.lower() in ("手", "lot", "lots", "contracts"):
            return multiplier * lot_t
    return None


def money_scale(unit: str) -> tuple[float, str] | None:
    """(factor, currency) of a money unit such as ``万元`` or ``EUR``."""
    for multiplier, rest in _splits(unit):
        currency = currency_of(rest)
        if currency is not None:
            return multiplier, currency
    return None
