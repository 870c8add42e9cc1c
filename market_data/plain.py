"""A plain table of dates and prices, CSV or Parquet, for any market.

The date column is ``date`` (or ``trade_date``, ``time``, ``day``, ``timestamp``) and the price
column ``close`` (or ``price``, ``settle``, ``settlement``, ``last``), any case; ``open``,
``high``, ``low``, ``volume`` and ``turnover`` are read when present. Other names are given
with ``date_column=`` and ``price_column=``. Rows are oldest first, or newest first throughout.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from market_data.errors import DataError
from market_data.frame import Parsed, tidy_from_raw
from market_data.text import read_text

DATE_NAMES: tuple[str, ...] = ("date", "trade_date", "time", "day", "timestamp")
PRICE_NAMES: tuple[str, ...] = ("close", "price", "settle", "settlement", "last")
OPTIONAL: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "volume": ("volume", "volume_t"),
    "turnover": ("turnover", "turnover_cny", "amount"),
}


def _find(columns: list[str], wanted: str | None, names: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    if wanted is not None:
        return lowered.get(wanted.strip().lower())
    return next((lowered[n] for n in names if n in lowered), None)


def parse_plain(
    path: str | Path, *, date_column: str | None = None, price_column: str | None = None
) -> Parsed:
    """Read a date/price table (``.csv`` or ``.parquet``) into an unvalidated tidy frame."""
    source = str(path)
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        if not path.is_file():
            raise DataError(f"{source}: no such file")
        try:
            table = pd.read_parquet(path).reset_index()
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise DataError(f"{source}: not a readable Parquet file ({exc})") from exc
        table = table.drop(columns=["index"], errors="ignore").astype(str)
        table = table.replace({"nan": "", "NaT": "", "None": "", "<NA>": ""})
        first_row = 1  # Parquet rows are numbered from 1
    else:
        table = pd.read_csv(io.StringIO(read_text(path)), dtype=str, keep_default_na=False)
        first_row = 2  # line 1 is the header
    columns = list(table.columns)
    date = _find(columns, date_column, DATE_NAMES)
    price = _find(columns, price_column, PRICE_NAMES)
    if date is None or price is None:
        raise DataError(
            f"{source}: need a date column ({date_column or ' / '.join(DATE_NAMES)}) and a "
            f"price column ({price_column or ' / '.join(PRICE_NAMES)}); found {columns}"
        )
    raw = pd.DataFrame({"row": range(first_row, len(table) + first_row)})
    raw["date"] = table[date].to_numpy()
    raw["close"] = table[price].to_numpy()
    for role, names in OPTIONAL.items():
        found = _find(columns, None, names)
        if found is not None and found not in (date, price):
            raw[role] = table[found].to_numpy()
    return tidy_from_raw(raw, source=source)
