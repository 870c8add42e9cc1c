"""Each validation error, on a small hand-made file, names file, row, column and value."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import market_data as md
from engine.markets import CEA, EUA

GOOD = """date,close,open,high,low,volume
2025-03-03,80.00,79.50,80.50,79.00,1000
2025-03-04,81.00,80.00,81.50,79.80,1200
2025-03-05,82.00,81.00,82.40,80.90,900
"""


def only_error(path, market="cea"):
    report = md.check(path, market=market)
    assert len(report.errors) == 1, report.problems
    return report.errors[0]


def with_row(text: str, line: int, row: str) -> str:
    lines = text.splitlines()
    lines[line - 1] = row
    return "\n".join(lines) + "\n"


def test_good_file_has_no_problems(write):
    report = md.check(write("good.csv", GOOD))
    assert report.ok and report.problems == () and report.rows == 3


def test_unparseable_date(write):
    path = write("bad.csv", with_row(GOOD, 3, "2025-13-45,81.00,80.00,81.50,79.80,1200"))
    error = only_error(path)
    assert (error.row, error.column, error.value, error.check) == (3, "date", "2025-13-45", "date")
    assert str(error) == (
        f"{path}, row 3, column 'date', value '2025-13-45': cannot read this as a date "
        "(use YYYY-MM-DD, YYYY/M/D or YYYYMMDD, a year from 1678 to 2261)"
    )


def test_duplicate_date_names_both_rows(write):
    path = write("bad.csv", with_row(GOOD, 4, "2025-03-04,82.00,81.00,82.40,80.90,900"))
    error = only_error(path)
    assert (error.row, error.check, error.value) == (4, "duplicate", "2025-03-04")
    assert "also on row 3" in error.message


def test_dates_written_two_ways_are_the_same_date(write):
    """'2025/3/4' and '2025-03-04' normalise to one date, so the file has a duplicate."""
    text = GOOD.replace("2025-03-05", "2025/3/4 15:00:00")
    error = only_error(write("bad.csv", text))
    assert (error.row, error.check, error.value) == (4, "duplicate", "2025-03-04")


def test_unsorted_dates(write):
    text = GOOD.replace("2025-03-04", "2025-03-06")
    error = only_error(write("bad.csv", text))
    assert (error.row, error.check) == (4, "order")
    assert error.message == "dates out of order: 2025-03-05 comes after 2025-03-06 (row 3)"


@pytest.mark.parametrize("value", ["0", "-3.2"])
def test_non_positive_price(write, value):
    path = write("bad.csv", with_row(GOOD, 3, f"2025-03-04,{value},80.00,81.50,79.80,1200"))
    report = md.check(path)
    price = [p for p in report.errors if p.check == "price"]
    assert [(p.row, p.column, p.value) for p in price] == [(3, "close", float(value))]
    assert price[0].message == "price must be positive"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "eighty"])
def test_non_finite_or_malformed_price(write, value):
    path = write("bad.csv", with_row(GOOD, 2, f"2025-03-03,{value},79.50,80.50,79.00,1000"))
    error = only_error(path)
    assert (error.row, error.column, error.value) == (2, "close", value)
    assert error.message == "not a finite number"


def test_missing_close_on_a_row_with_values(write):
    path = write("bad.csv", with_row(GOOD, 2, "2025-03-03,,79.50,80.50,79.00,1000"))
    error = only_error(path)
    assert (error.row, error.column, error.check) == (2, "close", "missing")


def test_high_below_low(write):
    path = write("bad.csv", with_row(GOOD, 3, "2025-03-04,81.00,80.00,79.00,81.50,1200"))
    report = md.check(path)
    high_low = [p for p in report.errors if p.check == "high_low"]
    assert [(p.row, p.column, p.value) for p in high_low] == [(3, "high", 79.0)]
    assert high_low[0].message == "high is below the low 81.5"


def test_close_outside_range_is_a_warning_on_a_vwap_market_and_an_error_elsewhere(write):
    path = write("bad.csv", with_row(GOOD, 3, "2025-03-04,81.90,80.00,81.50,79.80,1200"))
    cea = md.check(path, market="cea")
    assert cea.ok and [(p.row, p.check) for p in cea.warnings] == [(3, "close_range")]
    assert "VWAP" in cea.warnings[0].message
    eua = md.check(path, market="eua")
    assert [(p.row, p.check, p.value) for p in eua.errors] == [(3, "close_range", 81.9)]
    with pytest.warns(md.DataWarning, match="1 warning in"):
        frame = md.load(path, market="cea")
    assert len(frame.attrs["warnings"]) == 1


def test_move_beyond_the_band(write):
    text = "date,close\n2025-03-03,80.00\n2025-03-04,88.01\n2025-03-05,80.00\n"
    report = md.check(write("bad.csv", text), market="cea")
    band = [p for p in report.errors if p.check == "band"]
    assert [(p.row, p.value) for p in band] == [(3, 88.01)]
    assert band[0].message == (
        "close moved +10.01% from 80.0 on 2025-03-03, beyond the +/-10% daily band over 1 session"
    )
    # 88.00 is exactly +10 %, on the band: allowed. EUA has no band.
    assert md.check(write("ok.csv", text.replace("88.01", "88.00")), market="cea").ok
    assert md.check(write("eua.csv", text), market="eua").ok


def test_band_compounds_over_missing_sessions(write):
    """From Friday 2025-03-07 to Tuesday 2025-03-11 is two sessions: up to 1.1^2 - 1 = 21 %."""
    text = "date,close\n2025-03-07,100.00\n2025-03-11,{}\n"
    assert md.check(write("ok.csv", text.format("121.00")), market="cea").ok
    report = md.check(write("bad.csv", text.format("121.02")), market="cea")
    assert [p.check for p in report.errors] == ["band"]
    assert "over 2 sessions" in report.errors[0].message


def test_load_raises_with_every_error_listed(write):
    text = "date,close\n2025-03-03,-1\n2025-03-04,abc\n2025-03-04,80\n"
    path = write("bad.csv", text)
    with pytest.raises(md.DataError) as caught:
        md.load(path)
    message = str(caught.value)
    assert message.startswith("3 problems in market data:")
    assert f"{path}, row 2, column 'close', value -1.0: price must be positive" in message
    assert f"{path}, row 3, column 'close', value 'abc': not a finite number" in message
    assert "row 4" in message and "duplicate date" in message
    assert len(caught.value.problems) == 3


def test_missing_file_and_missing_columns(tmp_path, write):
    with pytest.raises(md.DataError, match=re.escape(f"{tmp_path / 'none.csv'}: no such file")):
        md.load(tmp_path / "none.csv")
    with pytest.raises(md.DataError, match="need a date column"):
        md.load(write("cols.csv", "when,value\n2025-03-03,80\n"))


def test_negative_volume(write):
    path = write("bad.csv", with_row(GOOD, 4, "2025-03-05,82.00,81.00,82.40,80.90,-5"))
    error = only_error(path)
    assert (error.row, error.column, error.value, error.check) == (4, "volume", -5.0, "negative")


# Property-based: a valid random walk inside the band passes, and a corruption put on a random
# row is reported on exactly that row.

sessions = md.calendar_for("XSHG").sessions("2024-01-01", "2024-12-31")


@st.composite
def banded_history(draw):
    n = draw(st.integers(min_value=2, max_value=60))
    steps = draw(
        st.lists(st.floats(-0.095, 0.095, allow_nan=False), min_size=n - 1, max_size=n - 1)
    )
    close = np.round(50 * np.cumprod([1.0, *[1 + s for s in steps]]), 2)
    return pd.DataFrame({"date": sessions[:n].strftime("%Y-%m-%d"), "close": close})


def to_csv(frame: pd.DataFrame, tmp_path) -> str:
    path = tmp_path / "walk.csv"
    frame.to_csv(path, index=False)
    return path


@settings(max_examples=40, deadline=None)
@given(history=banded_history())
def test_any_walk_inside_the_band_is_valid(tmp_path_factory, history):
    path = to_csv(history, tmp_path_factory.mktemp("walk"))
    assert md.check(path, market="cea").problems == ()


CORRUPTIONS = {
    "price": ("close", lambda v: -v),
    "number": ("close", lambda v: "n/a"),
    "date": ("date", lambda v: "not a date"),
    "band": ("close", lambda v: round(v * 1.5, 2)),
}


@settings(max_examples=60, deadline=None)
@given(
    history=banded_history(),
    kind=st.sampled_from(sorted(CORRUPTIONS)),
    where=st.floats(0, 1, exclude_max=True),
)
def test_a_corrupted_row_is_reported_where_it_is(tmp_path_factory, history, kind, where):
    i = 1 + int(where * (len(history) - 1))  # not the first row: the band needs a previous close
    column, corrupt = CORRUPTIONS[kind]
    history = history.astype(object)
    history.loc[i, column] = corrupt(history.loc[i, column])
    path = to_csv(history, tmp_path_factory.mktemp("bad"))
    report = md.check(path, market="cea")
    flagged = {(p.row, p.check) for p in report.errors}
    assert (i + 2, kind) in flagged  # line i + 2: the header is line 1
    assert all(row >= i + 2 for row, _ in flagged)  # nothing before it is blamed


def test_validate_frame_on_a_frame_made_in_memory():
    frame = md.reference_market()
    assert md.validate_frame(frame, CEA, source="reference") == []
    broken = frame.copy()
    broken.iloc[10, broken.columns.get_loc("close")] = broken.close.iloc[9] * 1.2
    # Rows of an in-memory frame are numbered from 1. EUA: no band, and a close outside the
    # day's range is an error. CEA: a band breach up on row 11 and back down on row 12, and the
    # VWAP close outside the range is a warning.
    eua = md.validate_frame(broken, EUA, source="memory")
    # (The reference market's Shanghai sessions include ICE holidays: warnings of their own.)
    eua = [p for p in eua if p.check != "session"]
    assert [(p.severity, p.row, p.check) for p in eua] == [("error", 11, "close_range")]
    cea = md.validate_frame(broken, CEA, source="memory")
    assert sorted((p.severity, p.row, p.check) for p in cea) == [
        ("error", 11, "band"),
        ("error", 12, "band"),
        ("warning", 11, "close_range"),
    ]


def test_a_subnormal_close_is_a_band_error_not_an_overflow(write):
    """Found by the workbook fuzzer: 4.95 after 2.2e-308 is an infinite move, named as such."""
    path = write("tiny.csv", "date,close\n2025-03-03,2.2250738585072014e-308\n2025-03-04,4.95\n")
    report = md.check(path, market="cea")
    bands = [p for p in report.problems if p.check == "band"]
    assert len(bands) == 1 and "+inf%" in bands[0].message and bands[0].row == 3
