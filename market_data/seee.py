"""The Shanghai Environment and Energy Exchange's daily bulletin table, parsed to CSV.

One row per trading day, oldest first: ``trade_date, price_basis, open, high, low, close``, the
listing, block and auction volumes (t) and amounts (CNY), and their totals. ``price_basis`` is
``listed`` (listing-agreement trades) up to 2023-08-25 and ``composite`` from 2023-08-28.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from market_data.errors import DataError
from market_data.frame import Parsed, tidy_from_raw
from market_data.text import read_text

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


def parse_seee(path: str | Path) -> Parsed:
    """Read a bulletin table into an unvalidated tidy frame."""
    source = str(path)
    table = pd.read_csv(
        io.StringIO(read_text(path)), dtype=str, keep_default_na=False, skip_blank_lines=False
    )
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"an exchange bulletin table has {', '.join(COLUMNS)}"
        )
    raw = table[[c for c in COLUMNS if c in table.columns]].rename(columns=COLUMNS)
    raw.insert(0, "row", range(2, len(table) + 2))
    return tidy_from_raw(raw, source=source, newest_first_allowed=False)


def looks_like_seee(head: str) -> bool:
    first = head.splitlines()[0] if head else ""
    return "trade_date" in first and "price_basis" in first
