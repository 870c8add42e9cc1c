"""ICAP Allowance Price Explorer exports: many emissions trading systems in one table.

The layout: two header rows, then one row per date. The first header row names the system over
each of its columns (a blank cell continues the system to its left); the second names the field
(``Date``, ``Exchange rate``, ``Primary Market``, ``Secondary Market``, and the same fields
converted to EUR or USD, written ``... (EUR)`` or ``... in EUR``). A system that changed its
price series appears in two column groups; their values are coalesced, the first non-blank cell
winning. Prices are sparse: a system without a price on a date has a blank cell there.

The loader reads one system's secondary-market price in its own currency as the close.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from engine.markets import MarketRules
from market_data.errors import DataError
from market_data.frame import Parsed, tidy_from_raw
from market_data.text import read_text
from market_data.units import currency_of

# Names ICAP uses for the systems of the markets the engine knows.
SYSTEM_NAMES: dict[str, tuple[str, ...]] = {
    "cea": ("china national", "china"),
    "eua": ("eu ets", "european union"),
    "nzu": ("new zealand", "nz ets"),
}

_CURRENCY_IN_FIELD = re.compile(r"(?:\(|\bin\s+)([A-Za-z€$]{1,3})\)?\s*$")


def _read(path: str | Path) -> tuple[list[str], list[str], list[tuple[int, list[str]]]]:
    source = str(path)
    reader = csv.reader(io.StringIO(read_text(path)))
    rows = [(reader.line_num, cells) for cells in reader if cells]
    if len(rows) < 3:
        raise DataError(f"{source}: an ICAP export has two header rows and then data rows")
    (_, systems), (_, fields) = rows[0], rows[1]
    filled: list[str] = []
    for cell in systems:
        filled.append(cell.strip() or (filled[-1] if filled else ""))
    if not fields or fields[0].strip().lower() != "date":
        raise DataError(
            f"{source}, row 2: the second header row of an ICAP export starts with 'Date', "
            f"found {fields[0] if fields else ''!r}"
        )
    return filled, [f.strip() for f in fields], rows[2:]


def icap_systems(path: str | Path) -> list[str]:
    """The systems an ICAP export holds, in column order."""
    systems, _, _ = _read(path)
    return list(dict.fromkeys(s for s in systems[1:] if s))


def _field_currency(field: str) -> str | None:
    match = _CURRENCY_IN_FIELD.search(field)
    return None if match is None else currency_of(match.group(1))


def parse_icap(
    path: str | Path, rules: MarketRules, *, system: str | None = None, field: str = "secondary"
) -> Parsed:
    """Read one system's prices from an ICAP export into an unvalidated tidy frame.

    Args:
        system: words of the system's name as ICAP writes it; by default the names of
            ``rules.code`` (``"china"`` for the CEA, ``"eu ets"`` for the EUA, ...).
        field: ``"secondary"`` (the secondary-market price) or ``"primary"`` (auctions).
    """
    source = str(path)
    systems, fields, body = _read(path)
    wanted = (system.lower(),) if system else SYSTEM_NAMES.get(rules.code, (rules.code,))
    chosen = next((name for name in wanted if any(name in s.lower() for s in systems[1:])), None)
    if chosen is None:
        raise DataError(
            f"{source}: no system matching {' / '.join(wanted)}; "
            f"the file holds {', '.join(icap_systems(path))}"
        )
    positions = [
        j
        for j in range(1, len(fields))
        if chosen in systems[j].lower()
        and field in fields[j].lower()
        and _field_currency(fields[j]) in (None, rules.currency)
    ]
    if not positions:
        raise DataError(f"{source}: system {chosen!r} has no {field}-market price column")

    def coalesce(cells: list[str]) -> str:
        return next((cells[j] for j in positions if j < len(cells) and cells[j].strip()), "")

    raw = pd.DataFrame(
        {
            "row": [line for line, _ in body],
            "date": [cells[0] for _, cells in body],
            "close": [coalesce(cells) for _, cells in body],
        },
        dtype="object",
    )
    return tidy_from_raw(raw, source=source)


def looks_like_icap(head: str) -> bool:
    lines = head.splitlines()
    return len(lines) > 1 and lines[1].lower().startswith("date,") and "market" in lines[1].lower()
