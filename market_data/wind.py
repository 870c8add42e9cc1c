"""Wind terminal exports of daily series (the CEA, EUA futures, the pilot markets, ...).

The layout, as Wind saves it: GB18030 text (UTF-8 when re-saved); header rows whose first cell
names them (``指标名称`` indicator name, ``频率`` frequency, ``单位`` unit, ``指标ID``, ``来源``
source; or the English terminal's ``Indicator Name``, ``Frequency``, ``Unit``, ...); then one row
per calendar day, newest first, empty on days without trading; and a source note at the end.

Each column is recognised by its indicator name (close ``收盘价``/``最新价``/``结算价``, open
``开盘价``, high ``最高价``, low ``最低价``, volume ``成交量``, turnover ``成交金额``; or the
English words) and converted by its unit (``万吨`` is 10,000 t, ``手`` one lot of the market).
An export with listing and block trades besides the total (``挂牌``, ``大宗``) gives the total
by default; ``segment`` picks another.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from engine.markets import MarketRules
from market_data.errors import DataError
from market_data.frame import Parsed, is_date, parse_numbers, tidy_from_raw
from market_data.names import field_kind, has_word
from market_data.text import Rows, by_column, excerpt, read_rows
from market_data.units import money_scale, price_unit, volume_scale

Segment = Literal["total", "listed", "block"]

HEADER_ROWS: dict[str, tuple[str, ...]] = {
    "name": ("指标名称", "indicator name", "indicator", "name"),
    "frequency": ("频率", "frequency"),
    "unit": ("单位", "unit", "units"),
    "id": ("指标id", "indicator id", "id", "code"),
    "source": ("来源", "source"),
}

# Each quantity's field names, in order of preference: a close beats a latest price, which beats a
# settlement price. Fields match whole (see ``market_data.names``): "Open" is not "Open Interest".
ROLES: dict[str, tuple[str, ...]] = {
    "close": (
        "收盘价", "最新价", "结算价",
        "close", "close price", "closing price", "last", "last price",
        "settle", "settlement", "settlement price",
    ),
    "open": ("开盘价", "open", "open price", "opening price"),
    "high": ("最高价", "high", "high price"),
    "low": ("最低价", "low", "low price"),
    "volume": ("成交量", "volume"),
    "turnover": ("成交金额", "成交额", "turnover", "amount", "value traded"),
}  # fmt: skip
SETTLEMENT_WORDS: tuple[str, ...] = ("结算价", "settle", "settlement", "settlement price")

SEGMENTS: dict[str, tuple[str, ...]] = {
    "listed": ("挂牌", "listing", "listed"),
    "block": ("大宗", "block"),
}


@dataclass(frozen=True)
class WindColumn:
    position: int
    name: str
    unit: str


def _header_kind(cell: str) -> str | None:
    key = cell.strip().lower()
    for kind, labels in HEADER_ROWS.items():
        if key in labels:
            return kind
    return None


def _segment_of(name: str) -> str:
    for segment, words in SEGMENTS.items():
        if any(has_word(name, word) for word in words):
            return segment
    return "total"


def _cells(body: list[tuple[int, list[str]]], position: int) -> list[str]:
    return [cells[position].strip() if position < len(cells) else "" for _, cells in body]


def _without_repeats(
    columns: list[WindColumn], body: list[tuple[int, list[str]]]
) -> list[WindColumn]:
    """Columns that repeat an earlier one (same name, same cells) collapse into it: Wind writes
    an indicator twice when it was picked twice. Same-named columns whose cells differ stay,
    and are refused if a quantity is read from them (see ``_pick``)."""
    kept: list[WindColumn] = []
    for column in columns:
        twin = any(
            c.name == column.name
            and c.unit == column.unit
            and _cells(body, c.position) == _cells(body, column.position)
            for c in kept
        )
        if not twin:
            kept.append(column)
    return kept


def _pick(
    columns: list[WindColumn], role: str, source: str, body: list[tuple[int, list[str]]]
) -> WindColumn | None:
    """The column of a quantity: the first of its field names that some column has; a daily
    figure beats a cumulative one, which is never read as the day's figure."""
    for word in ROLES[role]:
        kinds = {c.position: field_kind(c.name, word) for c in columns}
        hits = [c for c in columns if kinds[c.position] not in (None, "cumulative")]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            names = "; ".join(f"{c.name} (column {c.position + 1})" for c in hits)
            differ = ""
            first, second = hits[0], hits[1]
            if first.name == second.name:
                for line, cells in body:
                    a, b = (
                        cells[c.position].strip() if c.position < len(cells) else ""
                        for c in (first, second)
                    )
                    if a != b:
                        differ = f"; the same-named columns differ on row {line}: {a!r} vs {b!r}"
                        break
            raise DataError(
                f"{source}: several columns could be the {role} ({names}){differ}; "
                "pass instrument= with a word that picks one, or remove the extra column"
            )
    return None


def parse_wind(
    path: str | Path,
    rules: MarketRules,
    *,
    segment: Segment = "total",
    instrument: str | None = None,
    rows: Rows | None = None,
) -> Parsed:
    """Read a Wind export into an unvalidated tidy frame (prices in the market's currency);
    ``rows``: the file's rows when already read (a workbook's sheet)."""
    source = str(path)
    header: dict[str, list[str]] = {}
    body: list[tuple[int, list[str]]] = []
    for line, cells in read_rows(path) if rows is None else rows:
        if not body:
            kind = _header_kind(cells[0])
            if kind is not None:
                header[kind] = cells
                continue
            if not is_date(cells[0]):
                raise DataError(
                    f"{source}, row {line}: expected a Wind header row "
                    f"(指标名称, 单位, ...) or a dated row, found {excerpt(cells[0])}"
                )
        body.append((line, cells))

    for kind in ("name", "unit"):
        if kind not in header:
            raise DataError(
                f"{source}: no {HEADER_ROWS[kind][0]} ({HEADER_ROWS[kind][1]}) header row; "
                "is this a Wind export?"
            )
    names, units = header["name"], header["unit"]
    columns = [
        WindColumn(j, names[j].strip(), units[j].strip() if j < len(units) else "")
        for j in range(1, len(names))
    ]
    columns = [c for c in _without_repeats(columns, body) if _segment_of(c.name) == segment]
    if instrument is not None:
        columns = [c for c in columns if has_word(c.name, instrument)]
    picked = {role: _pick(columns, role, source, body) for role in ROLES}
    if picked["close"] is None:
        available = "; ".join(n.strip() for n in names[1:]) or "none"
        raise DataError(
            f"{source}: no close price column for segment {segment!r}"
            f"{'' if instrument is None else f' and instrument {instrument!r}'}; "
            f"columns: {available}"
        )

    scale = _scales(picked, rules, source)
    width = len(names)
    if segment != "total" and picked["volume"] is not None:
        body = [(line, _without_idle_segment(cells, picked, width)) for line, cells in body]
    cells_of = by_column(body, width)
    raw = pd.DataFrame(
        {
            "row": [line for line, _ in body],
            "date": cells_of[0],
            **{
                role: cells_of[column.position]
                for role, column in picked.items()
                if column is not None
            },
        },
        dtype="object",
    )
    # Wind leaves the close empty on a day without listed trades, even when the day has block
    # trades (volume, turnover, average price): that day has no close, it is not an error.
    parsed = tidy_from_raw(raw, source=source, scale=scale, missing_close="warning")
    close = picked["close"]
    is_settlement = any(field_kind(close.name, word) for word in SETTLEMENT_WORDS)
    return dataclasses.replace(parsed, close_is_settlement=is_settlement)


def _without_idle_segment(
    cells: list[str], picked: dict[str, WindColumn | None], width: int
) -> list[str]:
    """A segment with no volume on a day did not trade: Wind repeats the total's prices there,
    so the segment's cells are blanked and the day is read as a day without trading."""
    cells = cells + [""] * width
    volume = picked["volume"]
    assert volume is not None
    if parse_numbers(pd.Series([cells[volume.position]])).iat[0] == 0:
        for column in picked.values():
            if column is not None:
                cells[column.position] = ""
    return cells


def _scales(
    picked: dict[str, WindColumn | None], rules: MarketRules, source: str
) -> dict[str, float]:
    """Factors from each column's unit to the tidy unit; prices must be in the market's
    currency."""
    scale: dict[str, float] = {}
    for role, column in picked.items():
        if column is None:
            continue
        where = f"{source}, column {column.name!r}"
        if role in ("close", "open", "high", "low"):
            this = price_unit(column.unit)
            if this is None:
                raise DataError(f"{where}: unit {column.unit!r} is not a price per tonne")
            if this != rules.currency:
                raise DataError(
                    f"{source}: prices are in {this} but market {rules.code!r} trades in "
                    f"{rules.currency}; pass the right market"
                )
        elif role == "volume":
            factor = volume_scale(column.unit, rules.lot_t)
            if factor is None:
                raise DataError(f"{where}: volume unit {column.unit!r} is not tonnes or lots")
            scale[role] = factor
        else:
            money = money_scale(column.unit)
            if money is None:
                raise DataError(f"{where}: turnover unit {column.unit!r} is not an amount")
            if money[1] != rules.currency:
                raise DataError(f"{where}: turnover in {money[1]}, not {rules.currency}")
            scale[role] = money[0]
    return scale
