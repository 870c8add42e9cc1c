"""Wind EDB series exports: metadata rows, #N/A days, a source note; one indicator or several."""

from __future__ import annotations

import pytest

import market_data as md

# An exchange rate as Wind's EDB writes it (the layout of CFETS USD/CNY, made-up values).
FX = """国家,中国
指标名称,CFETS:即期汇率:美元兑人民币
频率,日
单位,
指标ID,M0000001
时间区间,2025-01-02:2025-01-08
来源,中国货币网
更新时间,20250108
2025/1/2,7.1879
2025/1/3,7.1882
2025/1/4,#N/A
2025/1/5,#N/A
2025/1/6,7.1901
2025/1/7,7.1920

数据来源：Wind
"""

# Two carbon futures settlements side by side, in EUR per tonne of CO2 equivalent.
TWO = """指标名称,期货结算价:EUA:连续,期货结算价:UKA:连续
频率,日,日
单位,欧元/吨二氧化碳当量,欧元/吨二氧化碳当量
指标ID,E1,E2
时间区间,2025-03-03:2025-03-05,2025-03-03:2025-03-05
来源,ICE,ICE
更新时间,20250305,20250305
2025-03-03,69.10,40.20
2025-03-04,68.15,#N/A
2025-03-05,70.02,41.00
数据来源：Wind
"""


def test_single_indicator_exchange_rate(write):
    path = write("fx.csv", FX, encoding="gb18030")
    assert md.detect_format(path) == "edb"
    frame = md.load(path, market="series")
    assert frame.attrs["format"] == "edb"
    assert list(frame.index.strftime("%Y-%m-%d")) == [
        "2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07",
    ]  # fmt: skip
    assert list(frame.close) == [7.1879, 7.1882, 7.1901, 7.1920]
    assert frame[["open", "high", "low", "volume"]].isna().all().all()


def test_newest_first_edb(write):
    head, body = FX.split("2025/1/2", 1)
    lines = ("2025/1/2" + body).split("\n")
    dated = [line for line in lines if line.startswith("2025")]
    text = head + "\n".join(reversed(dated)) + "\n\n数据来源：Wind\n"
    frame = md.load(write("fx.csv", text, encoding="gb18030"), market="series")
    assert list(frame.close) == [7.1879, 7.1882, 7.1901, 7.1920]


def test_two_indicators_need_a_word_and_the_error_lists_them(write):
    path = write("two.csv", TWO, encoding="gb18030")
    assert md.detect_format(path) == "edb"
    with pytest.raises(md.DataError, match="several indicators") as caught:
        md.load(path, market="eua")
    assert "期货结算价:EUA:连续 (E1)" in str(caught.value)
    assert "期货结算价:UKA:连续 (E2)" in str(caught.value)
    eua = md.load(path, market="eua", options=md.SourceOptions(instrument="eua"))
    assert list(eua.close) == [69.10, 68.15, 70.02]
    uka = md.load(path, market="eua", options=md.SourceOptions(instrument="E2"))
    assert list(uka.close) == [40.20, 41.00]
    with pytest.raises(md.DataError, match="no indicator matches 'nzu'"):
        md.load(path, market="eua", options=md.SourceOptions(instrument="nzu"))


def test_units_are_checked_against_the_market(write):
    path = write("two.csv", TWO, encoding="gb18030")
    pick = md.SourceOptions(instrument="eua")
    with pytest.raises(md.DataError, match="prices are in EUR but market 'cea' trades in CNY"):
        md.load(path, market="cea", options=pick)
    odd = write("odd.csv", TWO.replace("欧元/吨二氧化碳当量", "%"), encoding="gb18030")
    with pytest.raises(md.DataError, match="unit '%' is not a price per tonne"):
        md.load(odd, market="eua", options=pick)
    assert len(md.load(odd, market="series", options=pick)) == 3


def test_an_unreadable_value_is_named(write):
    text = FX.replace("2025/1/6,7.1901", "2025/1/6,7.19x")
    report = md.check(write("fx.csv", text, encoding="gb18030"), market="series")
    assert [(p.row, p.column, p.value) for p in report.errors] == [(13, "close", "7.19x")]
