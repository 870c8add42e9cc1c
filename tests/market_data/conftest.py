"""Workbooks written on the fly: openpyxl saves the sheets a test builds, from generated rows or
from CSV text, typed as a spreadsheet program types them on a save (numbers as numbers, dates as
dates), which is how the Wind terminal and Excel write them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

DAY = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")


def typed(cell: str) -> object:
    """A CSV cell as a spreadsheet holds it: a number, a date, or text."""
    text = cell.strip()
    if not text:
        return None
    if text.lower().lstrip("+-") not in ("nan", "inf", "infinity"):
        try:
            return float(text)
        except ValueError:
            pass
    day = DAY.fullmatch(text)
    if day:
        try:
            return dt.datetime(*(int(part) for part in day.groups()))
        except ValueError:  # 2025-02-30 stays text
            pass
    return cell


def csv_cells(text: str, *, as_typed: bool = True) -> list[list[object]]:
    """The rows of CSV text, typed (or every cell kept as text)."""
    rows = list(csv.reader(io.StringIO(text)))
    return [[typed(c) if as_typed else c for c in row] for row in rows]


def save_workbook(path: Path, sheets: Mapping[str, Sequence[Sequence[object]]]) -> Path:
    """An .xlsx with one sheet per entry, in order."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


@pytest.fixture()
def xlsx(tmp_path: Path):
    """Write CSV text (or several, one per sheet name) to an .xlsx and return its path."""

    def _xlsx(name: str, sheets: str | Mapping[str, str], *, as_typed: bool = True) -> Path:
        if isinstance(sheets, str):
            sheets = {"Sheet1": sheets}
        cells = {n: csv_cells(t, as_typed=as_typed) for n, t in sheets.items()}
        return save_workbook(tmp_path / name, cells)

    return _xlsx
