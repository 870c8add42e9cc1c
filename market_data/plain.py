"""A plain table of dates and prices, CSV or Parquet, for any market.

The date column is ``date`` (or ``trade_date``, ``datetime``, ``time``, ``day``, ``timestamp``)
and the price column ``settle`` or ``settlement`` (a futures exchange's price of the day, which
beats a ``close`` in the same file: a scraped futures ``close`` may be anything), else ``close``
(or ``price``, ``last``), any case; ``open``,
``high``, ``low``, ``volume`` and ``turnover`` are read when present. Other names are given
with ``date_column=`` and ``price_column=``. Rows are oldest first, or newest first throughout.

Volumes are tonnes (``volume_t``, or ``volume`` beside a close), except where a futures
exchange counts contracts: ``volume`` beside a settlement price, and ``contracts`` or ``lots``
anywhere, are multiplied by the market's lot (1,000 t for ICE EUA futures).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from market_data.errors import DataError
from market_data.frame import Parsed, tidy_from_raw
from market_data.text import Rows, by_column, existing_file, header_excerpt, read_rows

DATE_NAMES: tuple[str, ...] = ("date", "trade_date", "datetime", "time", "day", "timestamp")
PRICE_NAMES: tuple[str, ...] = ("settle", "settlement", "close", "price", "last")
SETTLEMENT_NAMES: tuple[str, ...] = ("settle", "settlement")
OPTIONAL: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "volume": ("volume_t", "volume", "contracts", "lots"),
    "turnover": ("turnover", "turnover_cny", "amount"),
}


def _find(columns: list[str], wanted: str | None, names: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    if wanted is not None:
        return lowered.get(wanted.strip().lower())
    return next((lowered[n] for n in names if n in lowered), None)


def _read_parquet(path: Path) -> tuple[list[str], list[int], dict[str, list[str]]]:
    """Column names, record numbers (from 1) and cells as text."""
    try:
        table = pd.read_parquet(path).reset_index()
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from exc
    table = table.drop(columns=["index"], errors="ignore")
    cells: dict[str, list[str]] = {}
    for name in table.columns:
        column = table[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(column):
            column = column.dt.strftime("%Y-%m-%d %H:%M:%S")
        cells[str(name)] = ["" if pd.isna(v) else str(v) for v in column]
    return list(cells), list(range(1, len(table) + 1)), cells


def _read_table(path: Path, rows: Rows | None) -> tuple[list[str], list[int], dict[str, list[str]]]:
    """Column names, line numbers and cells of a CSV file (or of a sheet's ``rows``)."""
    rows = read_rows(path) if rows is None else rows
    if not rows:
        raise DataError(f"{path}: the file is empty")
    header = [h.strip() for h in rows[0][1]]
    body = rows[1:]
    cells = dict(zip(header, by_column(body, len(header)), strict=True))
    return header, [line for line, _ in body], cells


def parse_plain(
    path: str | Path,
    *,
    date_column: str | None = None,
    price_column: str | None = None,
    rows: Rows | None = None,
    lot_t: float = 1.0,
) -> Parsed:
    """Read a date/price table (``.csv`` or ``.parquet``, or a sheet's ``rows``) into an
    unvalidated tidy frame; ``lot_t``: tonnes per contract, for volumes counted in contracts
    (see the module's docstring)."""
    source = str(path)
    path = existing_file(path)
    is_parquet = rows is None and path.suffix.lower() in (".parquet", ".pq")
    columns, lines, cells = _read_parquet(path) if is_parquet else _read_table(path, rows)
    date = _find(columns, date_column, DATE_NAMES)
    price = _find(columns, price_column, PRICE_NAMES)
    if date is None or price is None:
        raise DataError(
            f"{source}: need a date column ({date_column or ' / '.join(DATE_NAMES)}) and a "
            f"price column ({price_column or ' / '.join(PRICE_NAMES)}); found "
            f"{header_excerpt(columns)}"
        )
    raw = pd.DataFrame({"row": lines, "date": cells[date], "close": cells[price]}, dtype=object)
    for role, names in OPTIONAL.items():
        found = _find(columns, None, names)
        if found is not None and found not in (date, price):
            raw[role] = cells[found]
    parsed = tidy_from_raw(raw, source=source, empty_days="error")
    is_settlement = price.strip().lower() in SETTLEMENT_NAMES
    volume = _find(columns, None, OPTIONAL["volume"])
    if volume is not None and "volume" in parsed.frame:
        name = volume.strip().lower()
        if name in ("contracts", "lots") or (name == "volume" and is_settlement):
            parsed.frame["volume"] *= lot_t
    return dataclasses.replace(parsed, close_is_settlement=is_settlement)
