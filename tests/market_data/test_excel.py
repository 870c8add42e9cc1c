# Vendor header rows are long by nature.
# ruff: noqa: E501
"""Excel workbooks: every CSV layout loads from a workbook, detected, to the same frame; sheets."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import market_data as md
from engine.errors import ConfigurationError
from market_data.excel import cell_text
from market_data.text import read_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

WIND = """指标名称,广东:收盘价:碳排放权配额(GDEA),广东:成交均价:碳排放权配额(GDEA),广东:当日成交量:碳排放权配额(GDEA),广东:当日成交额:碳排放权配额(GDEA),广东:当日成交额:碳排放权配额(GDEA),广东:累计成交额:碳排放权配额(GDEA)
频率,日,日,日,日,日,日
单位,元/吨,元/吨,吨,元,元,元
指标ID,S1,S2,S3,S4,S4,S6
来源,广州碳排放权交易所,广州碳排放权交易所,广州碳排放权交易所,广州碳排放权交易所,广州碳排放权交易所,广州碳排放权交易所
2025/5/6,38.02,38.02,933,35472.6,35472.6,5.77157259664E9
2025/5/5,,,,,,5.77153712404E9
2025/4/30,37.95,37.9,1200,45480,45480,5.77150165144E9
2025/4/29,38.4,38.31,2.5E3,95775,95775,5.77140587644E9
,,,,,,
数据来源：Wind,,,,,,
"""

EDB = """国家,中国
指标名称,期货结算价:EUA:连续,期货结算价:UKA:连续
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

BULLETINS = """trade_date,price_basis,open,high,low,close,close_chg_pct,total_vol_t,total_amt_cny
2023-08-24,listed,71.2,71.5,70.9,71.3,0.1,100000.0,7130000.0
2023-08-25,listed,71.3,71.9,71.0,71.6,0.42,50000.0,3580000.0
2023-08-28,composite,71.6,72.0,71.1,70.45,-1.61,250000.0,17612500.0
"""

PLAIN = """date,close,open,high,low,volume
2024-06-03,90.12,90.00,90.50,89.80,12000
2024-06-04,91.30,90.10,91.40,90.00,8000
2024-06-05,90.85,91.30,91.50,90.60,15000
"""

ICE = """datetime,open,high,low,settle,change,wave,volume,prev_day_open_interest,block_volume,close
2025-03-03,69.00,70.40,68.80,70.02,0.50,69.90,19800.0,100000.0,,69.50
2025-03-04,70.10,70.30,67.90,68.15,-1.87,68.40,25400.0,101000.0,300.0,68.23
2025-03-05,68.20,68.20,68.20,69.10,0.95,,1.0,101500.0,,69.15
"""

LAYOUTS = {  # name: (CSV text, market, options, the format detected)
    "wind": (WIND, "gdea", md.SourceOptions(), "wind"),
    "edb": (EDB, "eua", md.SourceOptions(instrument="EUA"), "edb"),
    "seee": (BULLETINS, "cea", md.SourceOptions(), "seee"),
    "icap": (read_text(FIXTURES / "icap_prices.csv"), "eua", md.SourceOptions(), "icap"),
    "plain": (PLAIN, "cea", md.SourceOptions(), "plain"),
    "ice": (ICE, "eua", md.SourceOptions(), "plain"),
}


def quiet_load(path: Path, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", md.DataWarning)
        return md.load(path, **kwargs)


def assert_same_frame(from_csv: pd.DataFrame, from_workbook: pd.DataFrame) -> None:
    """Equal frames, and equal attributes but for the file's name."""
    pd.testing.assert_frame_equal(from_csv, from_workbook)

    assert unnamed(from_csv.attrs) == unnamed(from_workbook.attrs)


def unnamed(attrs: dict) -> dict:
    """Attributes without the file's name, taken out of the texts that quote it too."""
    source = attrs["source"]
    return {
        k: tuple(t.replace(source, "FILE") for t in v) if isinstance(v, tuple) else v
        for k, v in attrs.items()
        if k != "source"
    }


@pytest.mark.parametrize("as_typed", [True, False], ids=["typed cells", "text cells"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_loads_from_a_workbook_as_from_its_csv(layout, as_typed, write, xlsx):
    text, market, options, fmt = LAYOUTS[layout]
    csv_path = write(f"{layout}.csv", text)
    book = xlsx(f"{layout}.xlsx", text, as_typed=as_typed)
    assert md.detect_format(book) == fmt
    from_csv = quiet_load(csv_path, market=market, options=options)
    from_workbook = quiet_load(book, market=market, options=options)
    assert from_workbook.attrs["format"] == fmt
    assert_same_frame(from_csv, from_workbook)


def test_a_workbook_saved_under_a_csv_name_is_still_read_as_one(xlsx):
    book = xlsx("prices.xlsx", PLAIN)
    disguised = book.with_name("prices.csv")
    book.rename(disguised)
    assert list(md.load(disguised, market="cea").close) == [90.12, 91.30, 90.85]


def test_problems_name_the_sheet_row(xlsx):
    book = xlsx("bad.xlsx", PLAIN.replace("91.30,90.10", "-91.30,90.10"))
    with pytest.raises(md.DataError, match=r"bad.xlsx, row 3, column 'close', value -91.3"):
        md.load(book, market="cea")


def test_one_sheet_with_prices_loads_beside_empty_ones(xlsx):
    book = xlsx("one.xlsx", {"Notes": "", "CEA": PLAIN, "Empty": ""})
    assert len(md.load(book, market="cea")) == 3


def test_several_sheets_need_a_choice_and_the_error_lists_them(xlsx):
    book = xlsx("pilots.xlsx", {"CEA": PLAIN, "GDEA": WIND})
    with pytest.raises(
        md.DataError, match=r"several sheets with data \(1 'CEA', 2 'GDEA'\).*--sheet"
    ):
        md.load(book, market="cea")
    by_name = quiet_load(book, market="gdea", options=md.SourceOptions(sheet="GDEA"))
    by_number = quiet_load(book, market="gdea", options=md.SourceOptions(sheet=2))
    by_text_number = quiet_load(book, market="gdea", options=md.SourceOptions(sheet="2"))
    assert list(by_name.close) == [38.4, 37.95, 38.02]
    assert_same_frame(by_name, by_number)
    assert_same_frame(by_name, by_text_number)
    assert md.detect_format(book, sheet="cea") == "plain"  # names match in any case


def test_an_unknown_sheet_lists_the_sheets(xlsx):
    book = xlsx("pilots.xlsx", {"CEA": PLAIN, "GDEA": WIND})
    for wanted in ("Hubei", 3, 0):
        with pytest.raises(md.DataError, match=r"no sheet .*1 'CEA', 2 'GDEA'"):
            md.load(book, market="cea", options=md.SourceOptions(sheet=wanted))


def test_sheet_is_refused_for_a_text_file(write):
    with pytest.raises(ConfigurationError, match="sheet applies to an Excel workbook"):
        md.load(write("p.csv", PLAIN), options=md.SourceOptions(sheet="CEA"))


def test_an_empty_or_broken_workbook_is_a_data_error(tmp_path, xlsx):
    with pytest.raises(md.DataError, match="every sheet of the workbook is empty"):
        md.load(xlsx("empty.xlsx", {"A": "", "B": ""}))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip archive")
    with pytest.raises(md.DataError, match="not a readable Excel workbook"):
        md.load(broken)


def test_cells_read_as_a_csv_export_writes_them():
    import datetime as dt

    assert cell_text(48.13) == "48.13"
    assert cell_text(21725000.0) == "21725000"
    assert cell_text(dt.datetime(2025, 5, 7)) == "2025-05-07"
    assert cell_text(dt.datetime(2025, 5, 7, 16, 30)) == "2025-05-07 16:30:00"
    assert cell_text(dt.date(2025, 5, 7)) == "2025-05-07"
    assert cell_text("") == "" and cell_text(None) == ""
    assert cell_text(float("nan")) == "nan"  # read as not a number, reported with its row


def test_xls_workbooks_load_too(tmp_path, write):
    xlwt = pytest.importorskip("xlwt")
    import datetime as dt

    book = xlwt.Workbook()
    sheet = book.add_sheet("CEA")
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(PLAIN.strip().splitlines()):
        for c, cell in enumerate(row.split(",")):
            if r and c == 0:
                sheet.write(r, c, dt.datetime.strptime(cell, "%Y-%m-%d"), dates)
            else:
                sheet.write(r, c, cell if r == 0 else float(cell))
    path = tmp_path / "cea.xls"
    book.save(str(path))
    assert_same_frame(md.load(write("cea.csv", PLAIN)), md.load(path))


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "market"), [("cea_wind_export_raw.csv", "cea"), ("gdea_wind_export_raw.csv", "gdea")]
)
def test_xlsx_save_of_a_real_wind_export_gives_the_same_frame(shared_data, xlsx, name, market):
    """The real Wind CSV, saved as a workbook as the terminal saves it (numbers and dates
    typed), loads to the frame of the CSV: 918 CEA days, 2,475 Guangdong days."""
    path = shared_data / name
    book = xlsx(name.replace(".csv", ".xlsx"), read_text(path))
    assert md.detect_format(book) == "wind"
    from_csv = quiet_load(path, market=market)
    from_workbook = quiet_load(book, market=market)
    assert len(from_workbook) == {"cea": 918, "gdea": 2475}[market]
    assert_same_frame(from_csv, from_workbook)
