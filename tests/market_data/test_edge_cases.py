"""Inputs that are easy to get wrong: empty files, folders, odd numbers, misplaced rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import market_data as md
from engine.errors import ConfigurationError
from market_data.frame import parse_dates, parse_numbers
from market_data.units import money_scale, volume_scale


def test_empty_header_only_and_folder(write, tmp_path):
    with pytest.raises(md.DataError, match=r"empty\.csv: the file is empty"):
        md.load(write("empty.csv", ""))
    with pytest.raises(md.DataError, match=r"header\.csv: no rows with prices"):
        md.check(write("header.csv", "date,close\n"))
    with pytest.raises(md.DataError, match="is a folder, not a price file"):
        md.load(tmp_path)


def test_options_that_do_not_apply_are_refused(write):
    path = write("p.csv", "date,close\n2025-03-03,80\n")
    with pytest.raises(ConfigurationError, match="segment does not apply to a 'plain' source"):
        md.load(path, options=md.SourceOptions(segment="block"))
    with pytest.raises(ConfigurationError, match="system does not apply"):
        md.check(path, options=md.SourceOptions(system="China"))
    with pytest.raises(ConfigurationError, match="reference market takes no format"):
        md.load("reference", format="wind")


def test_commas_only_as_thousands_separators():
    numbers = parse_numbers(pd.Series(["1,234,567.5", "70,10", "1,23", "-2,000", " 5 ", ""]))
    np.testing.assert_array_equal(
        numbers.to_numpy(), [1_234_567.5, np.nan, np.nan, -2000.0, 5.0, np.nan]
    )


def test_eight_digit_dates_only():
    dates = parse_dates(pd.Series(["20250305", "2025111", "2025/3/5 09:30:00"]))
    assert dates.iloc[0] == pd.Timestamp("2025-03-05") and pd.isna(dates.iloc[1])
    assert dates.iloc[2] == pd.Timestamp("2025-03-05")


def test_units_with_prefixes_that_look_alike():
    assert money_scale("KRW") == (1.0, "KRW")  # not "k" x "RW"
    assert money_scale("10k EUR") == (1e4, "EUR")
    assert money_scale("亿元") == (1e8, "CNY")
    assert volume_scale("万吨", 1.0) == 1e4 and volume_scale("lots", 1000.0) == 1000.0
    assert volume_scale("barrels", 1.0) is None


def test_a_misplaced_last_row_is_the_one_named(write):
    text = "date,close\n2025-03-03,80\n2025-03-04,80\n2025-03-05,80\n2025-03-06,80\n2025-03-01,80\n"
    report = md.check(write("p.csv", text))
    assert [(p.row, p.check) for p in report.errors] == [(6, "order")]


def test_row_numbers_count_lines_not_records(write):
    text = 'date,close,note\n2025-03-03,80,"two\nlines"\n\n2025-03-04,-81,x\n'
    report = md.check(write("p.csv", text))
    assert [(p.row, p.column) for p in report.errors] == [(5, "close")]


def test_dates_outside_the_calendar_are_named(write):
    report = md.check(write("p.csv", "date,close\n2025-03-03,80\n2205-03-04,81\n"))
    assert [(p.row, p.check, p.value) for p in report.errors] == [(3, "date", "2205-03-04")]
    assert "outside the trading calendar's years 1970-2060" in report.errors[0].message


def test_a_dated_row_without_values(write):
    """A plain table's empty day is a missing price; a Wind export's is a day without trading."""
    report = md.check(write("p.csv", "date,close,volume\n2025-03-03,80,1\n2025-03-04,,\n"))
    assert [(p.row, p.check) for p in report.errors] == [(3, "missing")]


def test_blank_price_basis_is_unknown_not_a_basis(write):
    text = (
        "trade_date,price_basis,close\n2025-03-03,listed,80\n2025-03-04,,80.5\n"
        "2025-03-05,composite,81\n"
    )
    frame = md.load(write("b.csv", text))
    assert frame["price_basis"].isna().tolist() == [False, True, False]
    changes = md.basis_changes(frame)
    assert changes.empty  # a gap in the basis is no change; listed -> composite is not adjacent
    merged = md.merge_sources(frame, frame.drop(columns="price_basis"))
    assert list(merged.basis_changes.itertuples(index=False)) == [("listed", "composite")]


def test_band_allows_the_exchanges_rounding_over_missing_sessions(write):
    """80.05 -> 88.06 -> 96.87 is two legal limit-up days (each limit rounded to the tick); with
    the middle day missing the file must still validate."""
    full = "date,close\n2025-03-07,80.05\n2025-03-10,88.06\n2025-03-11,96.87\n"
    gap = "date,close\n2025-03-07,80.05\n2025-03-11,96.87\n"
    assert md.check(write("full.csv", full), market="cea").ok
    assert md.check(write("gap.csv", gap), market="cea").ok
    assert not md.check(write("over.csv", gap.replace("96.87", "96.89")), market="cea").ok


WIND_SEGMENTS = """指标名称,CEA:收盘价,CEA:成交量,大宗协议交易(CEA):收盘价,大宗协议交易(CEA):成交量
单位,元/吨,吨,元/吨,吨
2025/3/5,66.00,500000,67.50,300000
2025/3/4,60.00,100000,60.00,0
2025/3/3,59.00,200000,60.00,100000
"""


def test_block_segment_uses_the_block_band_and_skips_idle_days(write):
    path = write("w.csv", WIND_SEGMENTS)
    block = md.load(path, options=md.SourceOptions(segment="block"))
    assert list(block.close) == [60.00, 67.50]  # 2025-03-04 had no block trade
    # 60 -> 67.5 is +12.5 % over two sessions: inside the +/-30 % block band.
    assert md.check(path, options=md.SourceOptions(segment="block")).ok
    assert md.check(path).ok  # the total moved 59 -> 60 -> 66: within 10 % a day


def test_icap_ambiguous_system(write):
    text = (
        ",Beijing pilot,Beijing pilot,Shanghai pilot,Shanghai pilot\n"
        "Date,Exchange rate,Secondary Market,Exchange rate,Secondary Market\n"
        "2024-01-02,7.8,90.1,7.8,70.2\n"
    )
    path = write("icap.csv", text)
    with pytest.raises(md.DataError, match="several systems match 'pilot'"):
        md.load(path, market="cea", options=md.SourceOptions(system="pilot"))
    beijing = md.load(path, market="cea", options=md.SourceOptions(system="Beijing pilot"))
    assert list(beijing.close) == [90.1]


# Three crashes of the past: each is now read, or refused with the project's DataError (exit 3).


def test_bare_cr_line_endings_are_read(write):
    """Old Mac spreadsheets end lines with a bare CR; the csv module raised csv.Error."""
    path = write("cr.csv", "date,close\r2025-03-03,80\r2025-03-04,81\r")
    frame = md.load(path)
    assert list(frame.close) == [80.0, 81.0]
    report = md.check(write("cr2.csv", "date,close\r2025-03-03,80\r2025-03-04,-81\r"))
    assert [(p.row, p.column) for p in report.errors] == [(3, "close")]


def test_unreadable_csv_is_a_data_error(write):
    path = write("huge.csv", "date,close\n2025-03-03," + "8" * 200_000 + "\n")
    with pytest.raises(md.DataError, match="not readable as CSV"):
        md.load(path)


def test_dates_outside_pandas_range_are_named(write):
    """Year 1500 or 9999 once raised pandas' OutOfBoundsDatetime."""
    path = write("old.csv", "date,close\n1500-01-02,80\n2025-03-04,81\n99991231,82\n")
    report = md.check(path)
    assert [(p.row, p.column, p.value) for p in report.errors] == [
        (2, "date", "1500-01-02"),
        (4, "date", "99991231"),
    ]
    assert "a year from 1678 to 2261" in report.errors[0].message


def test_an_all_blank_bulletin_file_is_a_data_error(write):
    """Only commas and spaces: once an IndexError."""
    with pytest.raises(md.DataError, match="every line is blank"):
        md.load(write("blank.csv", ",,,\n , ,\n"), format="seee")


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("date,close\n2025-03-03," + "8" * 200_000 + "\n", []),
        ("date,close\n1500-01-02,80\n", []),
        (",,,\n , ,\n", ["--format", "seee"]),
    ],
)
def test_the_command_line_exits_with_the_data_code(write, text, args):
    from click.testing import CliRunner

    from desk import exit_codes
    from desk.cli import cli

    path = write("bad.csv", text)
    result = CliRunner().invoke(cli, ["data", "show", "--source", str(path), *args])
    assert result.exit_code == exit_codes.DATA, result.output
    assert "Traceback" not in result.output
