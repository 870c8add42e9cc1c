"""Excel workbooks (``.xlsx``, ``.xlsm``, ``.xls``): the same layouts as the CSV files, one sheet.

A workbook is read through python-calamine (a maintained Rust reader of both the Office Open XML
and the old binary formats) and its chosen sheet turned into the rows of text cells that the CSV
loaders read, so every layout loads from a workbook exactly as from its CSV: dates become
``YYYY-MM-DD`` (with the time when it is not midnight), numbers their shortest exact text
(``48.13``; a whole number without ``.0``), blank cells ``""``. Row numbers are the sheet's, as
Excel shows them.

Which sheet: the one named or numbered (from 1, as the tabs are counted) by ``sheet``; without
it, the only sheet that has cells, and an error that lists the sheets when several have.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from market_data.errors import DataError
from market_data.text import Rows, existing_file

SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm", ".xls")
# The first bytes of a zip archive (xlsx, xlsm) and of an OLE2 compound file (xls).
MAGIC: tuple[bytes, ...] = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def is_workbook(path: str | Path) -> bool:
    """Whether a file is an Excel workbook, by its suffix or, whatever its name, its first
    bytes (a workbook saved as ``prices.csv`` is still a workbook)."""
    path = existing_file(path)
    if path.suffix.lower() in SUFFIXES:
        return True
    with path.open("rb") as handle:
        head = handle.read(8)
    return any(head.startswith(magic) for magic in MAGIC)


def cell_text(value: object) -> str:
    """A cell as the text a CSV export of it would hold."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _open(path: Path):
    from python_calamine import CalamineWorkbook  # a workbook is the rarer case: import late

    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for each broken part
        raise DataError(f"{path}: not a readable Excel workbook ({exc})") from exc


def _cells(workbook, name: str, path: Path) -> list[list[object]]:
    try:
        return workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as exc:
        raise DataError(f"{path}, sheet {name!r}: not readable ({exc})") from exc


def _listing(names: list[str]) -> str:
    return ", ".join(f"{i} {n!r}" for i, n in enumerate(names, start=1))


def _choose(
    workbook, names: list[str], sheet: str | int | None, path: Path
) -> tuple[str, list[list[object]]]:
    """The chosen sheet's name and cells."""
    if not names:
        raise DataError(f"{path}: the workbook has no sheets")
    if sheet is None:
        filled = [(n, cells) for n in names if _has_cells(cells := _cells(workbook, n, path))]
        if len(filled) == 1:
            return filled[0]
        if not filled:
            raise DataError(f"{path}: every sheet of the workbook is empty")
        raise DataError(
            f"{path}: the workbook has several sheets with data ({_listing(names)}); "
            "pick one with --sheet NAME or --sheet NUMBER (from 1)"
        )
    wanted = str(sheet).strip()
    name = next((n for n in names if n == wanted), None)
    name = name or next((n for n in names if n.strip().lower() == wanted.lower()), None)
    if name is None and wanted.isdigit() and 1 <= int(wanted) <= len(names):
        name = names[int(wanted) - 1]
    if name is None:
        raise DataError(
            f"{path}: no sheet {wanted!r}; the sheets are {_listing(names)} "
            "(--sheet takes a name or a number from 1)"
        )
    return name, _cells(workbook, name, path)


def _has_cells(cells: list[list[object]]) -> bool:
    return any(cell_text(c).strip() for row in cells for c in row)


def read_sheet(path: str | Path, sheet: str | int | None = None) -> tuple[str, Rows]:
    """The chosen sheet's name and its non-blank rows of text cells, with their row numbers."""
    path = existing_file(path)
    workbook = _open(path)
    name, cells = _choose(workbook, list(workbook.sheet_names), sheet, path)
    rows: Rows = []
    for number, row in enumerate(cells, start=1):
        text = [cell_text(c) for c in row]
        while text and not text[-1].strip():  # a sheet's used range is as wide as its widest row
            text.pop()
        if text:
            rows.append((number, text))
    if not rows:
        raise DataError(f"{path}, sheet {name!r}: the sheet is empty")
    return name, rows
