"""Market data speed: validation against a row-by-row reference, loading, the reference market.

Run quickly with the default test run; for steadier figures:
``pytest tests/benchmarks --benchmark-min-rounds=10 --benchmark-max-time=2``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import market_data as md
from engine.markets import CEA
from market_data.reference import ReferenceSpec, _simulate

ROWS = 9_000  # weekdays 2005-2039: the span of the calendars


@pytest.fixture(scope="module")
def long_history() -> pd.DataFrame:
    """9,000 weekdays of a banded random walk with OHLC, a few rows broken on purpose."""
    rng = np.random.Generator(np.random.PCG64(1))
    dates = pd.bdate_range("2005-01-03", periods=ROWS, freq="B")
    # A price that stays in the band on weekdays: +/-9 % a day at most.
    close = np.round(60 * np.exp(np.cumsum(rng.uniform(-0.02, 0.02, ROWS))), 2)
    frame = pd.DataFrame(
        {
            "close": close,
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "volume": rng.integers(1, 10**6, ROWS).astype(float),
            "turnover": np.nan,
        },
        index=pd.DatetimeIndex(dates, name="date"),
    )
    frame.iloc[1000, 0] = -1.0  # a price error (the band is not judged against it)
    frame.iloc[5000, 2] = frame.iloc[5000, 3] - 1  # high below low
    return frame


def python_loop_validate(frame: pd.DataFrame, band: float, tick: float) -> int:
    """The obvious row-by-row implementation of the same checks (weekday calendar)."""
    count = 0
    rows = list(frame.itertuples())
    for i, row in enumerate(rows):
        for price in (row.close, row.open, row.high, row.low):
            if price <= 0:
                count += 1
        if row.volume < 0:
            count += 1
        if row.high < row.low:
            count += 1
        sane = row.close > 0 and row.low > 0 and row.high >= row.low
        if sane and (row.close > row.high + tick / 2 or row.close < row.low - tick / 2):
            count += 1
        if i:
            prev = rows[i - 1].close
            k = max(np.busday_count(rows[i - 1].Index.date(), row.Index.date()), 1)
            if prev > 0 and row.close > 0:
                up = prev * (1 + band) ** k + tick / 2
                down = prev * (1 - band) ** k - tick / 2
                if row.close > up or row.close < down:
                    count += 1
    return count


@pytest.mark.benchmark(group="validate 9,000 rows")
def test_validate_vectorised(benchmark, long_history):
    rules = dataclasses.replace(CEA, calendar=None)  # weekdays, as the reference
    problems = benchmark(md.validate_frame, long_history, rules, source="bench")
    assert len(problems) == 2  # price, high_low


@pytest.mark.benchmark(group="validate 9,000 rows")
def test_validate_python_loop_reference(benchmark, long_history):
    count = benchmark.pedantic(
        python_loop_validate, args=(long_history, 0.10, 0.01), rounds=3, iterations=1
    )
    assert count == 2


@pytest.mark.benchmark(group="reference market")
def test_reference_market_generation(benchmark):
    """About five years of a CEA-like market, uncached (the cache makes later calls free)."""
    frame = benchmark(_simulate.__wrapped__, ReferenceSpec(), CEA)
    assert len(frame) == 1199


@pytest.mark.shared_data
@pytest.mark.benchmark(group="load")
def test_load_wind_export(benchmark, shared_data):
    frame = benchmark(md.load, shared_data / "cea_wind_export_raw.csv", market="cea")
    assert len(frame) == 918


# --- ten years of daily prices, as a file: the loaders' targets (issue 15) ---------------------

TEN_YEARS_CSV_MS = 50  # load and validate a CSV of ten years of daily data
TEN_YEARS_XLSX_MS = 500  # the same as an .xlsx


@pytest.fixture(scope="module")
def ten_years(tmp_path_factory) -> tuple[Path, Path, int]:
    """Every Shanghai session of 2015-2024 (2,433) with OHLC, volume and turnover, as a CSV
    and as an .xlsx (dates and numbers typed, as Excel saves them)."""
    import openpyxl

    sessions = md.calendar_for("XSHG").sessions("2015-01-01", "2024-12-31")
    rng = np.random.Generator(np.random.PCG64(7))
    close = np.round(40 * np.exp(np.cumsum(rng.uniform(-0.03, 0.03, len(sessions)))), 2)
    table = pd.DataFrame(
        {
            "date": sessions.strftime("%Y-%m-%d"),
            "close": close,
            "open": close,
            "high": np.round(close * 1.02, 2),
            "low": np.round(close * 0.98, 2),
            "volume": rng.integers(1_000, 10**6, len(sessions)).astype(float),
        }
    )
    table["turnover"] = np.round(table.volume * table.close, 2)
    folder = tmp_path_factory.mktemp("ten_years")
    csv = folder / "ten_years.csv"
    table.to_csv(csv, index=False)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append([dt.datetime.fromisoformat(row.date), *row[1:]])
    xlsx = folder / "ten_years.xlsx"
    book.save(xlsx)
    return csv, xlsx, len(sessions)


@pytest.mark.benchmark(group="load ten years (2,433 sessions)")
def test_load_ten_years_csv(benchmark, ten_years):
    """Target: under 50 ms (min of the rounds, which this shared machine's noise only adds to)."""
    csv, _, rows = ten_years
    frame = benchmark(md.load, csv, market="cea")
    assert len(frame) == rows
    assert benchmark.stats.stats.min * 1000 < TEN_YEARS_CSV_MS


@pytest.mark.benchmark(group="load ten years (2,433 sessions)")
def test_read_ten_years_csv_pandas_floor(benchmark, ten_years):
    """pandas.read_csv with its date parsing alone: no validation, the floor of a load."""
    csv, _, rows = ten_years
    frame = benchmark(pd.read_csv, csv, parse_dates=["date"], index_col="date")
    assert len(frame) == rows


@pytest.mark.benchmark(group="load ten years, .xlsx")
def test_load_ten_years_xlsx(benchmark, ten_years):
    """Target: under 0.5 s; the frame is the CSV's."""
    csv, xlsx, rows = ten_years
    frame = benchmark(md.load, xlsx, market="cea")
    assert len(frame) == rows
    pd.testing.assert_frame_equal(frame, md.load(csv, market="cea"))
    assert benchmark.stats.stats.min * 1000 < TEN_YEARS_XLSX_MS


@pytest.mark.benchmark(group="load ten years, .xlsx")
def test_read_ten_years_xlsx_openpyxl_reference(benchmark, ten_years):
    """openpyxl (read-only mode) reading the cells alone, the other maintained reader."""
    import openpyxl

    def cells(path: Path) -> list[tuple]:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = list(book.worksheets[0].iter_rows(values_only=True))
        book.close()
        return rows

    _, xlsx, rows = ten_years
    assert len(benchmark(cells, xlsx)) == rows + 1
