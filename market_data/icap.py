"""ICAP Allowance Price Explorer exports: many emissions trading systems in one table.

The layout: two header rows, then one row per date. The first header row names the system over
each of its columns (a blank cell continues the system to its left); the second names the field
(``Date``, ``Exchange rate``, ``Primary Market``, ``Secondary Market``, and the same fields
converted to EUR or USD, written ``... (EUR)`` or ``... in EUR``). A system that changed its
price series appears in two column groups; their values are coalesced, the first non-blank cell
winning. Prices are sparse: a system without a price on a date has a blank cell there.

The loader reads one system's secondary-market price as the close. Prices are taken to be in the
market's currency: a field marked with another currency is never read. Rows out of date order are
sorted, with a warning; a date twice is an error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from engine.markets import MarketRules
from market_data.errors import DataError
from market_data.frame import Parsed, tidy_from_raw
from market_data.text import Rows, excerpt, read_rows
from market_data.units import currency_of

# Words of the names ICAP gives the systems of the markets the engine knows.
SYSTEM_NAMES: dict[str, tuple[str, ...]] = {
    "cea": ("china national", "china"),
    "eua": ("eu ets", "european union"),
    "nzu": ("new zealand", "nz ets"),
}

_CURRENCY_IN_FIELD = re.compile(r"(?:\(|\bin\s+)([A-Za-z€$]{1,3})\)?\s*$")


def _read(path: str | Path, rows: Rows | None = None) -> tuple[list[str], list[str], Rows]:
    source = str(path)
    rows = read_rows(path) if rows is None else rows
    if len(rows) < 3:
        raise DataError(f"{source}: an ICAP export has two header rows and then data rows")
    (_, systems), (line, fields) = rows[0], rows[1]
    filled: list[str] = []
    # A blank cell continues the system to its left, and so do the cells a shorter row lacks
    # (a spreadsheet drops the trailing blanks).
    for j in range(max(len(systems), len(fields))):
        cell = systems[j].strip() if j < len(systems) else ""
        filled.append(cell or (filled[-1] if filled else ""))
    if not fields or fields[0].strip().lower() != "date":
        raise DataError(
            f"{source}, row {line}: the second header row of an ICAP export starts with "
            f"'Date', found {excerpt(fields[0] if fields else '')}"
        )
    return filled, [f.strip() for f in fields], rows[2:]


def icap_systems(path: str | Path, *, rows: Rows | None = None) -> list[str]:
    """The systems an ICAP export holds, in column order."""
    systems, _, _ = _read(path, rows)
    return list(dict.fromkeys(s for s in systems[1:] if s))


def _field_currency(field: str) -> str | None:
    match = _CURRENCY_IN_FIELD.search(field)
    return None if match is None else currency_of(match.group(1))


def _choose_system(systems: list[str], wanted: tuple[str, ...], source: str) -> str:
    """The one system whose name matches the first of ``wanted`` that matches any."""
    names = list(dict.fromkeys(s for s in systems[1:] if s))
    for word in wanted:
        exact = [s for s in names if s.lower() == word]
        hits = exact or [s for s in names if word in s.lower()]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise DataError(
                f"{source}: several systems match {word!r} ({', '.join(hits)}); "
                "pass system= with the full name of one"
            )
    raise DataError(
        f"{source}: no system matching {' / '.join(wanted)}; the file holds {', '.join(names)}"
    )


def parse_icap(
    path: str | Path,
    rules: MarketRules,
    *,
    system: str | None = None,
    field: str = "secondary",
    rows: Rows | None = None,
) -> Parsed:
    """Read one system's prices from an ICAP export into an unvalidated tidy frame.

    Args:
        system: the system's name as ICAP writes it (or words of it); by default the names of
            ``rules.code`` (``"china"`` for the CEA, ``"eu ets"`` for the EUA, ...).
        field: ``"secondary"`` (the secondary-market price) or ``"primary"`` (auctions).
        rows: the file's rows when already read (a workbook's sheet).
    """
    source = str(path)
    systems, fields, body = _read(path, rows)
    wanted = (system.lower(),) if system else SYSTEM_NAMES.get(rules.code, (rules.code,))
    chosen = _choose_system(systems, wanted, source)
    positions = [
        j
        for j in range(1, len(fields))
        if systems[j] == chosen
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
    # Rows out of date order (an export re-sorted by another column) are sorted, with a warning.
    return tidy_from_raw(raw, source=source, unsorted="sort")


def looks_like_icap(head: str) -> bool:
    lines = head.splitlines()
    return len(lines) > 1 and lines[1].lower().startswith("date,") and "market" in lines[1].lower()
