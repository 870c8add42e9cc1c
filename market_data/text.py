"""Reading text files whatever their encoding (UTF-8 with or without BOM, else GB18030) and
whatever their line endings (LF, CRLF, or the bare CR of old Mac spreadsheets)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from market_data.errors import DataError

ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")

# Non-blank records of a table, each with its line (a text file) or row (a sheet) number.
Rows = list[tuple[int, list[str]]]


SHOWN_CHARACTERS = 40  # the most of a file's cell an error message quotes
SHOWN_COLUMNS = 12  # the most column names an error message lists


def excerpt(cell: str) -> str:
    """A cell of the user's file as an error message may quote it: at most 40 characters."""
    cell = cell.strip()
    if len(cell) <= SHOWN_CHARACTERS:
        return repr(cell)
    return repr(cell[: SHOWN_CHARACTERS - 1] + "…") + f" ({len(cell)} characters)"


def header_excerpt(columns: list[str]) -> str:
    """The header of a file that is not the table expected, as an error message describes it:
    the column names when it looks like a table (two or more columns), else only its shape, so
    that a file given by mistake (a password file, a key) is not echoed into logs."""
    if len(columns) < 2:
        width = len(columns[0]) if columns else 0
        return f"one column, a first line of {width} characters: not a table of prices"
    names = ", ".join(excerpt(c) for c in columns[:SHOWN_COLUMNS])
    more = f" and {len(columns) - SHOWN_COLUMNS} more" if len(columns) > SHOWN_COLUMNS else ""
    return f"columns {names}{more}"


def existing_file(path: str | Path) -> Path:
    """``path`` if it names a readable file; a ``DataError`` that says what is wrong if not."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a price file")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return path


def read_text(path: str | Path) -> str:
    """The file's text, decoded as UTF-8 or, failing that, GB18030 (Chinese terminal exports)."""
    data = existing_file(path).read_bytes()
    if not data.strip():
        raise DataError(f"{path}: the file is empty")
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise DataError(f"{path}: the file is neither UTF-8 nor GB18030 text")


def by_column(rows: Rows, width: int) -> list[list[str]]:
    """The cells of ``rows`` column by column, ``width`` columns: short rows padded with blank
    cells, cells beyond the width dropped."""
    padded = [cells[:width] + [""] * (width - len(cells)) for _, cells in rows]
    return [list(column) for column in zip(*padded, strict=True)] if padded else [[]] * width


def read_rows(path: str | Path) -> Rows:
    """Non-empty CSV records with the line each starts on, as an editor numbers lines."""
    reader = csv.reader(io.StringIO(read_text(path)))
    rows = []
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}, row {reader.line_num + 1}: not readable as CSV ({exc})") from exc
    return rows
