"""Plain date/price tables, CSV and Parquet."""

from __future__ import annotations

import pandas as pd
import pytest

import market_data as md


def test_csv_and_parquet_read_the_same(tmp_path):
    frame = md.reference_market().iloc[:50]
    csv_path, parquet_path = tmp_path / "ref.csv", tmp_path / "ref.parquet"
    frame.drop(columns="price_basis").to_csv(csv_path)
    frame.drop(columns="price_basis").to_parquet(parquet_path)
    from_csv = md.load(csv_path)
    from_parquet = md.load(parquet_path)
    columns = ["close", "open", "high", "low", "volume", "turnover"]
    pd.testing.assert_frame_equal(from_csv[columns], frame[columns], check_freq=False)
    pd.testing.assert_frame_equal(from_parquet[columns], frame[columns], check_freq=False)
    assert from_parquet.attrs["format"] == "plain"


def test_parquet_problem_names_the_record(tmp_path):
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"date": ["2025-03-03", "2025-03-04"], "price": [80.0, -1.0]}).to_parquet(path)
    report = md.check(path)
    assert [(p.row, p.column, p.value) for p in report.errors] == [(2, "close", -1.0)]


def test_newest_first_throughout_is_reversed(write):
    frame = md.load(write("p.csv", "Date,Price\n2025-03-05,82\n2025-03-04,81\n2025-03-03,80\n"))
    assert list(frame.close) == [80.0, 81.0, 82.0]


def test_named_columns(write):
    path = write("p.csv", "day_of_trade,settle_eur\n2025-03-03,70.1\n2025-03-04,70.5\n")
    with pytest.raises(md.DataError, match="need a date column"):
        md.load(path, market="eua")
    options = md.SourceOptions(date_column="day_of_trade", price_column="settle_eur")
    frame = md.load(path, market="eua", options=options)
    assert list(frame.close) == [70.1, 70.5] and frame.attrs["currency"] == "EUR"


def test_corrupt_parquet(write):
    with pytest.raises(md.DataError, match="not a readable Parquet file"):
        md.load(write("bad.parquet", "this is not parquet"))


def test_unknown_format_and_market():
    with pytest.raises(md.DataError, match="unknown format 'xls'"):
        md.check(__file__, format="xls")
    with pytest.raises(ValueError, match=r"unknown market 'xyz'; known markets: bea, ccer, cea, "):
        md.load("reference", market="xyz")
