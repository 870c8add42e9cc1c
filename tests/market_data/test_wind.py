# Vendor header rows are long by nature.
# ruff: noqa: E501
"""Wind exports of other markets: other headers, other units, English or Chinese labels."""

from __future__ import annotations

import pandas as pd
import pytest

import market_data as md

# An EUA futures export from an English-language terminal: volume in lots of 1,000 t, turnover
# in 10^4 EUR, newest first, a blank day, and a source line.
EUA_ENGLISH = """Indicator Name,ICE EUA Futures (Continuous): Close,ICE EUA Futures (Continuous): Open,ICE EUA Futures (Continuous): High,ICE EUA Futures (Continuous): Low,ICE EUA Futures (Continuous): Volume,ICE EUA Futures (Continuous): Turnover
Frequency,Daily,Daily,Daily,Daily,Daily,Daily
Unit,EUR/t,EUR/t,EUR/t,EUR/t,lots,10k EUR
Indicator ID,S001,S002,S003,S004,S005,S006
Source,ICE,ICE,ICE,ICE,ICE,ICE
2025-03-05,69.10,68.20,69.50,68.00,21500,148565
2025-03-04,68.15,70.10,70.30,67.90,25400,173101
2025-03-03,,,,,,
2025-02-28,70.02,69.00,70.40,68.80,19800,138640
Source: Wind
"""

# A pilot market (Guangdong GDEA) from a Chinese terminal: volume in 10^4 t, turnover in 10^4
# CNY, written in GB18030.
GDEA_CHINESE = """指标名称,广州碳排放权交易所:GDEA:收盘价,广州碳排放权交易所:GDEA:成交量,广州碳排放权交易所:GDEA:成交金额
频率,日,日,日
单位,元/吨,万吨,万元
指标ID,G1,G2,G3
来源,广州碳排放权交易所,广州碳排放权交易所,广州碳排放权交易所
2024/6/4,45.20,1.25,56.5
2024/6/3,44.80,0.80,35.84
数据来源：Wind
"""


def test_english_eua_futures_export(write):
    path = write("eua.csv", EUA_ENGLISH)
    assert md.detect_format(path) == "wind"
    eua = md.load(path, market="eua")
    assert eua.attrs["currency"] == "EUR"
    assert list(eua.index.strftime("%Y-%m-%d")) == ["2025-02-28", "2025-03-04", "2025-03-05"]
    last = eua.iloc[-1]
    assert (last.close, last.open, last.high, last.low) == (69.10, 68.20, 69.50, 68.00)
    assert last.volume == 21_500 * 1_000  # lots of 1,000 t
    assert last.turnover == pytest.approx(148_565 * 10_000)


def test_chinese_pilot_export_in_gb18030_with_10k_units(write):
    path = write("gdea.csv", GDEA_CHINESE, encoding="gb18030")
    gdea = md.load(path, market="cea")
    assert list(gdea.close) == [44.80, 45.20]
    assert list(gdea.volume) == [8_000.0, 12_500.0]
    assert list(gdea.turnover) == [358_400.0, 565_000.0]
    assert gdea[["open", "high", "low"]].isna().all().all()


def test_prices_in_the_wrong_currency_for_the_market(write):
    path = write("eua.csv", EUA_ENGLISH)
    with pytest.raises(md.DataError, match="prices are in EUR but market 'cea' trades in CNY"):
        md.load(path, market="cea")


def test_unknown_unit_names_the_column(write):
    path = write("eua.csv", EUA_ENGLISH.replace("Unit,EUR/t,", "Unit,EUR/bbl,"))
    with pytest.raises(md.DataError, match=r"Close'.*unit 'EUR/bbl' is not a price per tonne"):
        md.load(path, market="eua")


def test_missing_unit_row(write):
    text = "\n".join(line for line in GDEA_CHINESE.splitlines() if not line.startswith("单位"))
    with pytest.raises(md.DataError, match="no 单位 \\(unit\\) header row"):
        md.load(write("gdea.csv", text, encoding="gb18030"), market="cea", format="wind")


def test_two_instruments_need_a_choice(write):
    text = """指标名称,A:收盘价,B:收盘价
单位,元/吨,元/吨
2024/6/4,45.2,30.1
"""
    path = write("two.csv", text)
    with pytest.raises(md.DataError, match="several columns could be the close"):
        md.load(path, market="cea")
    picked = md.load(path, market="cea", options=md.SourceOptions(instrument="B:"))
    assert list(picked.close) == [30.1]


def test_a_malformed_row_in_a_wind_export(write):
    text = GDEA_CHINESE.replace("2024/6/3,44.80", "2024/6/31,44.80")
    report = md.check(write("gdea.csv", text, encoding="gb18030"), market="cea")
    assert [(p.row, p.column, p.value) for p in report.errors] == [(7, "date", "2024/6/31")]


def test_duplicate_day_in_a_wind_export(write):
    text = GDEA_CHINESE.replace("2024/6/3,44.80", "2024/6/4,44.80")
    report = md.check(write("gdea.csv", text, encoding="gb18030"), market="cea")
    assert [(p.row, p.check) for p in report.errors] == [(7, "duplicate")]
    assert report.errors[0].message == "duplicate date: 2024-06-04 is also on row 6"


def test_newest_first_is_the_layout_not_an_error(write):
    frame = md.load(write("gdea.csv", GDEA_CHINESE, encoding="gb18030"), market="cea")
    assert frame.index.equals(pd.DatetimeIndex(["2024-06-03", "2024-06-04"], name="date"))


# A pilot export as Wind writes it when an indicator was picked twice: the day's turnover twice
# under one name, beside the cumulative turnover.
REPEATED = """指标名称,P:收盘价:配额,P:当日成交量:配额,P:当日成交额:配额,P:当日成交额:配额,P:累计成交额:配额
频率,日,日,日,日,日
单位,元/吨,吨,元,元,元
指标ID,S1,S2,S3,S3,S5
来源,X,X,X,X,X
2024/6/4,45.20,100,4520,4520,1004520
2024/6/3,44.80,50,2240,2240,1000000
2024/6/2,,,,,997760
数据来源：Wind
"""


def test_repeated_identical_columns_collapse_and_daily_beats_cumulative(write):
    frame = md.load(write("p.csv", REPEATED, encoding="gb18030"), market="gdea")
    assert list(frame.turnover) == [2240.0, 4520.0]  # the day's, not the cumulative 1,004,520
    assert list(frame.volume) == [50.0, 100.0]


def test_repeated_columns_that_differ_are_refused(write):
    text = REPEATED.replace("2024/6/3,44.80,50,2240,2240", "2024/6/3,44.80,50,2240,2250")
    with pytest.raises(md.DataError, match=r"several columns could be the turnover") as caught:
        md.load(write("p.csv", text, encoding="gb18030"), market="gdea")
    assert "differ on row 7: '2240' vs '2250'" in str(caught.value)


def test_a_cumulative_column_alone_is_not_the_days_figure(write):
    text = "\n".join(
        ",".join(c for j, c in enumerate(line.split(",")) if j not in (3, 4))
        for line in REPEATED.splitlines()
    )
    frame = md.load(write("p.csv", text, encoding="gb18030"), market="gdea")
    assert frame.turnover.isna().all()


def test_fields_match_whole_words(write):
    """ "Open" is not "Open Interest", "Settle" is not "Previous Settle"; a settlement read as
    the close may lie outside the day's range (one warning)."""
    text = """Indicator Name,F: Open Interest,F: Previous Settle,F: Settle,F: Open,F: High,F: Low
Unit,lots,EUR/t,EUR/t,EUR/t,EUR/t,EUR/t
2025-03-04,900,70.1,70.9,70.2,70.6,70.0
2025-03-03,800,69.0,70.1,69.5,70.1,69.4
"""
    path = write("f.csv", text)
    with pytest.warns(md.DataWarning, match="1 warning"):
        frame = md.load(path, market="eua")
    assert list(frame.close) == [70.1, 70.9] and list(frame.open) == [69.5, 70.2]
    assert "settlement price(s) outside" in frame.attrs["warnings"][0]
