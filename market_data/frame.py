"""The tidy daily frame every loader returns, and the parsing that turns raw cells into it.

A tidy frame has a ``DatetimeIndex`` named ``date`` (ascending, unique, tz-naive, midnight) and
float columns ``close, open, high, low`` (currency per tonne), ``volume`` (tonnes) and
``turnover`` (currency), NaN where the source has no value; plus ``price_basis`` (text) where the
source publishes one. ``frame.attrs`` carries ``market``, ``source``, ``format`` and ``currency``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from market_data.errors import DataError, Problem

PRICE_COLUMNS: tuple[str, ...] = ("close", "open", "high", "low")
NUMERIC_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume", "turnover")

# Year-first layouts only, so that no date can be read two ways; tried in order, each on the
# cells the formats before it could not read.
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
)


@dataclass(frozen=True)
class Parsed:
    """A tidy frame (not yet validated), the source row of each of its rows, and the problems
    met while reading cells. ``close_is_settlement``: the close column holds an exchange's
    settlement price, which may lie outside the day's traded high-low."""

    frame: pd.DataFrame
    rows: np.ndarray
    problems: list[Problem]
    close_is_settlement: bool = False


DATE_HINT = "use YYYY-MM-DD, YYYY/M/D or YYYYMMDD, a year from 1678 to 2261"
# The years a date can have here (pandas' nanosecond timestamps end in 1677 and 2262).
EARLIEST, LATEST = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31")


def _texts(raw: pd.Series) -> np.ndarray:
    """Cells as stripped text, ``""`` where blank (plain Python on a list: on the few thousand
    cells of a price file several times faster than pandas' string methods)."""
    return np.array(
        [
            v.strip() if type(v) is str else "" if v is None or v != v else str(v).strip()
            for v in raw.to_numpy(dtype=object)  # an Arrow string array iterates slowly
        ],
        dtype=object,
    )


def parse_dates(raw: pd.Series) -> pd.Series:
    """Dates from text cells in any of ``DATE_FORMATS``, normalised to midnight; NaT where no
    format fits."""
    text = _texts(raw)
    parsed = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    filled = text != ""
    for fmt in DATE_FORMATS:
        todo = filled & np.isnat(parsed)
        if fmt == "%Y%m%d":  # eight digits exactly: strptime would read 2025111 as 2025-11-01
            todo &= np.array([len(t) == 8 and t.isascii() and t.isdigit() for t in text], bool)
        if not todo.any():
            continue
        found = pd.to_datetime(pd.Series(text[todo], dtype=object), format=fmt, errors="coerce")
        found = found.where((found >= EARLIEST) & (found <= LATEST))  # else NaT: not a date here
        parsed[todo] = found.to_numpy().astype("datetime64[ns]")
    days = parsed.astype("datetime64[D]").astype("datetime64[ns]")  # midnight
    return pd.Series(days, index=raw.index)


def is_date(cell: str) -> bool:
    """Whether one cell is a date that ``parse_dates`` reads (the scalar twin, for telling
    header rows from dated rows without building a Series per cell)."""
    text = cell.strip()
    for fmt in DATE_FORMATS:
        if fmt == "%Y%m%d" and not (len(text) == 8 and text.isdigit()):
            continue
        try:
            day = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return EARLIEST <= day <= LATEST
    return False


_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _numbers(text: np.ndarray) -> np.ndarray:
    """Numbers from stripped text cells (see ``parse_numbers``)."""
    cells = [t.replace(",", "") if "," in t and _GROUPED.fullmatch(t) else t for t in text]
    return pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").to_numpy("float64")


def parse_numbers(raw: pd.Series) -> pd.Series:
    """Numbers from text cells: ``1.2E7`` understood, commas only as thousands separators
    (``1,234,567.5``; ``70,10`` is not a number), NaN where the cell is blank or not a number."""
    return pd.Series(_numbers(_texts(raw)), index=raw.index)


def tidy_from_raw(
    raw: pd.DataFrame,
    *,
    source: str,
    scale: Mapping[str, float] | None = None,
    newest_first_allowed: bool = True,
    empty_days: Literal["drop", "error"] = "drop",
    missing_close: Literal["error", "warning"] = "error",
    unsorted: Literal["error", "sort"] = "error",
) -> Parsed:
    """Turn a table of raw text cells into a tidy frame.

    Args:
        raw: one row per source row, with columns ``row`` (the source row number), ``date``
            (text) and any of ``NUMERIC_COLUMNS`` and ``price_basis`` (text).
        source: the name used in problems (a file path).
        scale: a factor per numeric column that converts the source unit into the tidy one
            (10,000 for a volume in 10^4 t).
        newest_first_allowed: a source written newest first (most of its dates go down) is read
            in reverse; otherwise such a file is unsorted.
        empty_days: what a dated row without any value means: a day without trading that the
            source lists anyway (``"drop"``: Wind writes every calendar day, ICAP prices are
            sparse), or a missing price (``"error"``).
        missing_close: what a dated row with values but no close is: an error, or a warning
            and the row left out (a pilot market's day of block or auction trades only, which
            publishes a volume and an average price but no close).
        unsorted: what dates out of order are: an error, or (``"sort"``, for a source whose
            rows carry no order of their own, such as ICAP's export) a warning, the rows sorted
            by date. Duplicate dates are errors either way.

    Rows whose date and values are all blank, and undated notes without values (Wind's trailing
    source line), are dropped. Everything else that cannot be read becomes a ``Problem``;
    unreadable rows are left out of the frame.
    """
    scale = dict(scale or {})
    problems: list[Problem] = []
    numeric = [c for c in NUMERIC_COLUMNS if c in raw.columns]
    if "close" not in numeric:
        raise DataError(f"{source}: no close column")
    texts = {c: _texts(raw[c]) for c in numeric}
    blank = pd.DataFrame({c: texts[c] == "" for c in numeric}, index=raw.index)
    dates = parse_dates(raw["date"])
    no_values = blank.all(axis=1).to_numpy()
    drop = no_values & (dates.isna().to_numpy() | (empty_days == "drop"))
    raw, blank, dates = (x.loc[~drop].reset_index(drop=True) for x in (raw, blank, dates))
    texts = {c: t[~drop] for c, t in texts.items()}
    rows = raw["row"].to_numpy(dtype=np.int64)
    if len(raw) == 0:
        raise DataError(f"{source}: no rows with prices")

    def problem(
        i: int, column: str, value: object, message: str, check: str, severity: str = "error"
    ) -> None:
        problems.append(Problem(severity, check, source, int(rows[i]), column, value, message))

    for i in np.flatnonzero(dates.isna().to_numpy()):
        problem(i, "date", raw["date"].iat[i], f"cannot read this as a date ({DATE_HINT})", "date")

    values: dict[str, np.ndarray] = {}
    for column in numeric:
        number = _numbers(texts[column])
        if column in scale:  # to tidy units; rounding drops the float noise of the product
            number = np.round(number * scale[column], 6)
        bad = ~blank[column].to_numpy() & ~np.isfinite(number)
        for i in np.flatnonzero(bad):
            problem(i, column, raw[column].iat[i], "not a finite number", "number")
        values[column] = number
    if missing_close == "error":
        for i in np.flatnonzero(blank["close"].to_numpy()):
            problem(i, "close", "", "the close is missing", "missing")
    else:
        message = (
            "no close on a day with other values (block or auction trades only?); row left out"
        )
        for i in np.flatnonzero(blank["close"].to_numpy() & dates.notna().to_numpy()):
            problem(i, "close", "", message, "missing", "warning")
        for i in np.flatnonzero(blank["close"].to_numpy() & dates.isna().to_numpy()):
            problem(i, "close", "", "the close is missing", "missing")

    frame = pd.DataFrame(
        {c: values.get(c, np.full(len(raw), np.nan)) for c in NUMERIC_COLUMNS},
        index=pd.DatetimeIndex(dates, name="date"),
    )
    if "price_basis" in raw.columns:
        basis = raw["price_basis"].astype("string").str.strip()
        frame["price_basis"] = basis.mask(basis == "").to_numpy()
    readable = np.ones(len(frame), dtype=bool)
    for column in numeric:
        readable &= np.isfinite(values[column]) | blank[column].to_numpy()
    readable &= ~blank["close"].to_numpy()

    # Order and duplicates are judged on every dated row, readable values or not.
    dated = dates.notna().to_numpy()
    frame, rows, readable = frame.loc[dated], rows[dated], readable[dated]
    steps = np.diff(frame.index.to_numpy()).astype(np.int64)
    if newest_first_allowed and (steps < 0).sum() > (steps > 0).sum():
        frame, rows, readable = frame.iloc[::-1], rows[::-1], readable[::-1]
    values = frame.index.to_numpy()
    if unsorted == "sort" and (values[1:] < values[:-1]).any():
        first = int(np.flatnonzero(values[1:] < values[:-1])[0]) + 1
        message = (
            f"dates out of order ({frame.index[first].date()} after "
            f"{frame.index[first - 1].date()}); the rows were sorted by date"
        )
        problems.append(
            Problem("warning", "order", source, int(rows[first]), "date", None, message)
        )
        order = np.argsort(values, kind="stable")
        frame, rows, readable = frame.iloc[order], rows[order], readable[order]
    problems.extend(_order_problems(frame.index, rows, source))
    frame, rows = frame.loc[readable], rows[readable]
    return Parsed(frame=frame, rows=np.ascontiguousarray(rows), problems=problems)


def _order_problems(index: pd.DatetimeIndex, rows: np.ndarray, source: str) -> list[Problem]:
    """Duplicate dates, and dates that go backwards."""
    problems: list[Problem] = []
    values = index.to_numpy()
    for i in np.flatnonzero(values[1:] <= values[:-1]) + 1:
        day = index[i].date().isoformat()
        row = int(rows[i])
        if values[i] == values[i - 1]:  # blame the later line of the file
            row, other = max(row, int(rows[i - 1])), min(row, int(rows[i - 1]))
            message = f"duplicate date: {day} is also on row {other}"
            check = "duplicate"
        else:
            before = index[i - 1].date().isoformat()
            message = f"dates out of order: {day} comes after {before} (row {rows[i - 1]})"
            check = "order"
        problems.append(Problem("error", check, source, row, "date", day, message))
    return problems


def finish(frame: pd.DataFrame, **attrs: object) -> pd.DataFrame:
    """A validated frame as loaders hand it out: contiguous float64 columns and metadata."""
    out = frame.copy()
    out.index = pd.DatetimeIndex(out.index, name="date")
    for column in NUMERIC_COLUMNS:
        out[column] = out[column].astype("float64")
    out.attrs = dict(attrs)
    return out
