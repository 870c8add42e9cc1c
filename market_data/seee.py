"""The Shanghai Environment and Energy Exchange's daily bulletin table, parsed to CSV.

One row per trading day, oldest first: ``trade_date, price_basis, open, high, low, close``, the
listing, block and auction volumes (t) and amounts (CNY), and their totals. ``price_basis`` is
``listed`` (listing-agreement trades) up to 2023-08-25 and ``composite`` from 2023-08-28.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from market_data.errors import DataError
from market_data.frame import Parsed, tidy_from_raw
from market_data.text import Rows, by_column, read_rows

COLUMNS: dict[str, str] = {
    "trade_date": "date",
    "close": "close",
    "open": "open",
    "high": "high",
    "low": "low",
    "total_vol_t": "volume",
    "total_amt_cny": "turnover",
    "price_basis": "price_basis",
}
REQUIRED: tuple[str, ...] = ("trade_date", "close")


def parse_seee(path: str | Path, *, rows: Rows | None = None) -> Parsed:
    """Read a bulletin table into an unvalidated tidy frame; ``rows``: the file's rows when
    already read (a workbook's sheet)."""
    source = str(path)
    rows = read_rows(path) if rows is None else rows
    if not rows:
        raise DataError(f"{source}: no header row and no data (every line is blank)")
    header = [h.strip() for h in rows[0][1]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"an exchange bulletin table has {', '.join(COLUMNS)}"
        )
    body = rows[1:]
    raw = pd.DataFrame({"row": [line for line, _ in body]}, dtype=object)
    for name, cells in zip(header, by_column(body, len(header)), strict=True):
        if name in COLUMNS:
            raw[COLUMNS[name]] = cells
    return tidy_from_raw(raw, source=source, newest_first_allowed=False, empty_days="error")


def looks_like_seee(head: str) -> bool:
    first = head.splitlines()[0] if head else ""
    return "trade_date" in first and "price_basis" in first
