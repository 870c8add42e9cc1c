"""Wind EDB (economic database) exports: one or more daily indicators, side by side.

The layout, as Wind's EDB saves it: GB18030 text (UTF-8 when re-saved); metadata rows whose first
cell names them (``国家`` country, ``指标名称`` indicator name, ``频率`` frequency, ``单位`` unit,
``指标ID``, ``时间区间`` time range, ``来源`` source, ``更新时间`` updated; or the English
terminal's words), one column per indicator; then ``date,value[,value...]`` rows, oldest or newest
first, ``#N/A`` on days without a value; a blank row and a ``数据来源：Wind`` note at the end.

Each indicator's value is read as the day's close: Chinese analysts export any daily series this
way (carbon futures settlements, exchange rates, indices). With several indicators, ``instrument``
picks one by a word of its name or its ID. A unit that is a price per tonne (``元/吨``,
``欧元/吨二氧化碳当量``) must be in the market's currency; an empty unit is accepted; any other
unit only for a market without a currency (``series``), since it is not a carbon price.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engine.markets import NO_CURRENCY, MarketRules
from market_data.errors import DataError
from market_data.frame import Parsed, is_date, tidy_from_raw
from market_data.names import has_word
from market_data.text import Rows, excerpt, read_rows
from market_data.units import price_unit

METADATA: dict[str, tuple[str, ...]] = {
    "country": ("国家", "地区", "country", "region"),
    "name": ("指标名称", "indicator name", "indicator", "name"),
    "frequency": ("频率", "frequency"),
    "unit": ("单位", "unit", "units"),
    "id": ("指标id", "indicator id", "id", "code"),
    "range": ("时间区间", "time range", "period", "date range"),
    "source": ("来源", "source"),
    "updated": ("更新时间", "update time", "updated", "last updated", "last update"),
}
# Rows that only an EDB export has (a Wind terminal export of prices has the others too).
EDB_ONLY: tuple[str, ...] = ("country", "range", "updated")
NO_VALUE: frozenset[str] = frozenset({"#n/a", "n/a", "na", "nan", "--", "-", "#value!"})
HEAD_LINES = 20  # metadata rows come first: detection looks at no more than this


def metadata_kind(cell: str) -> str | None:
    key = cell.strip().lower()
    for kind, labels in METADATA.items():
        if key in labels:
            return kind
    return None


def looks_like_edb(lines: list[str]) -> bool:
    """Whether the first lines of a file are an EDB export's metadata: a name row and a row
    that only EDB writes (country, time range, update time), before the first dated row."""
    kinds = set()
    for line in lines[:HEAD_LINES]:
        first = line.split(",", 1)[0].strip().strip('"')
        if is_date(first):
            break
        kinds.add(metadata_kind(first))
    return "name" in kinds and any(kind in kinds for kind in EDB_ONLY)


def _pick(names: list[str], ids: list[str], instrument: str | None, source: str) -> int:
    """The position (from 1) of the indicator to read."""
    listed = "; ".join(f"{n} ({i})" if i else n for n, i in zip(names, ids, strict=True))
    positions = list(range(1, len(names) + 1))
    if instrument is not None:
        positions = [
            j
            for j in positions
            if has_word(names[j - 1], instrument) or ids[j - 1].lower() == instrument.lower()
        ]
    if len(positions) == 1:
        return positions[0]
    if not positions:
        raise DataError(f"{source}: no indicator matches {instrument!r}; indicators: {listed}")
    which = (
        "several indicators" if instrument is None else f"several indicators match {instrument!r}"
    )
    raise DataError(
        f"{source}: {which}; pass instrument= with a word of the one wanted. Indicators: {listed}"
    )


def _check_unit(unit: str, name: str, rules: MarketRules, source: str) -> None:
    if not unit or rules.currency == NO_CURRENCY:
        return
    currency = price_unit(unit)
    where = f"{source}, indicator {name!r}"
    if currency is None:
        raise DataError(
            f"{where}: unit {unit!r} is not a price per tonne, so not a {rules.code!r} price; "
            "load a series that is not a carbon price with market 'series'"
        )
    if currency != rules.currency:
        raise DataError(
            f"{where}: prices are in {currency} but market {rules.code!r} trades in "
            f"{rules.currency}; pass the right market"
        )


def parse_edb(
    path: str | Path,
    rules: MarketRules,
    *,
    instrument: str | None = None,
    rows: Rows | None = None,
) -> Parsed:
    """Read a Wind EDB export into an unvalidated tidy frame (one indicator, as the close);
    ``rows``: the file's rows when already read (a workbook's sheet)."""
    source = str(path)
    metadata: dict[str, list[str]] = {}
    body: list[tuple[int, list[str]]] = []
    for line, cells in read_rows(path) if rows is None else rows:
        if not body:
            kind = metadata_kind(cells[0])
            if kind is not None:
                metadata[kind] = [c.strip() for c in cells]
                continue
            if not is_date(cells[0]):
                raise DataError(
                    f"{source}, row {line}: expected a Wind EDB metadata row (指标名称, 单位, "
                    f"...) or a dated row, found {excerpt(cells[0])}"
                )
        body.append((line, cells))
    if "name" not in metadata:
        raise DataError(f"{source}: no 指标名称 (indicator name) row; is this a Wind EDB export?")
    names = [n for n in metadata["name"][1:]]
    while names and not names[-1]:  # trailing empty cells of a spreadsheet
        names.pop()
    if not names:
        raise DataError(f"{source}: the 指标名称 (indicator name) row names no indicator")

    def meta(kind: str, j: int) -> str:
        row = metadata.get(kind, [])
        return row[j] if j < len(row) else ""

    ids = [meta("id", j) for j in range(1, len(names) + 1)]
    j = _pick(names, ids, instrument, source)
    _check_unit(meta("unit", j), names[j - 1], rules, source)
    values = [cells[j].strip() if j < len(cells) else "" for _, cells in body]
    raw = pd.DataFrame(
        {
            "row": [line for line, _ in body],
            "date": [cells[0] for _, cells in body],
            "close": ["" if v.lower() in NO_VALUE else v for v in values],
        },
        dtype="object",
    )
    return tidy_from_raw(raw, source=source)
