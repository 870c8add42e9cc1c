"""The Shanghai trading calendar the simulator and backtester will use."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import market_data as md
from market_data import TradingCalendar, calendar_for


@pytest.fixture(scope="module")
def xshg() -> TradingCalendar:
    return calendar_for("XSHG")


def test_sessions_per_year(xshg):
    """Trading days a year, from the exchange's published holiday schedules."""
    counts = {y: len(xshg.sessions(f"{y}-01-01", f"{y}-12-31")) for y in range(2021, 2026)}
    assert counts == {2021: 243, 2022: 242, 2023: 242, 2024: 242, 2025: 243}


def test_public_holidays_and_weekends_are_closed(xshg):
    national_day_2025 = pd.date_range("2025-10-01", "2025-10-08")
    assert not any(xshg.is_session(d) for d in national_day_2025)
    assert xshg.is_session("2025-10-09")
    assert not xshg.is_session("2025-09-28")  # a Sunday made a working day: exchanges stay shut
    assert not xshg.is_session("2024-02-09")  # Spring Festival eve: the exchange's own closure
    assert not xshg.is_session("2026-02-16")


def test_next_and_previous(xshg):
    assert xshg.next_session("2025-09-30") == pd.Timestamp("2025-10-09")
    assert xshg.previous_session("2025-10-09") == pd.Timestamp("2025-09-30")
    assert xshg.next_session("2025-03-07") == pd.Timestamp("2025-03-10")


def test_session_gaps(xshg):
    dates = pd.DatetimeIndex(["2025-09-29", "2025-09-30", "2025-10-09", "2025-10-13"])
    # 10-01..08 are holidays, so 09-30 -> 10-09 is consecutive; 10-10 is missing before 10-13.
    np.testing.assert_array_equal(xshg.session_gaps(dates), [1, 1, 1, 2])


def test_extra_closures_and_sessions():
    custom = TradingCalendar(
        "XSHG", extra_closures=(dt.date(2025, 3, 3),), extra_sessions=(dt.date(2025, 3, 8),)
    )
    assert not custom.is_session("2025-03-03")
    assert custom.is_session("2025-03-08")
    assert len(custom.sessions("2025-03-01", "2025-03-09")) == 5


def test_other_exchanges_and_errors():
    ice = calendar_for("IFEU")
    assert not ice.is_session("2026-04-03")  # Good Friday
    assert calendar_for(None).is_session("2026-04-03")  # plain weekdays
    with pytest.raises(ValueError, match="unknown exchange calendar 'XXXX'"):
        TradingCalendar("XXXX")
    with pytest.raises(ValueError, match="outside the calendar's years"):
        calendar_for("XSHG").sessions("2070-01-01", "2070-12-31")
    with pytest.raises(ValueError, match="no session before 1970-01-01"):
        calendar_for("XSHG").previous_session("1970-01-01")
    with pytest.raises(ValueError, match="no session after 2060-12-31"):
        calendar_for("XSHG").next_session("2060-12-31")


def test_xshg_holidays_are_the_published_chinese_holidays_but_the_exchanges_own():
    """2013-2026: the exchange table's weekday holidays are the State Council's (as
    chinese_calendar has them), plus 2024-02-09, Spring Festival's eve, a working day on which
    the exchange closed."""
    chinese_calendar = pytest.importorskip("chinese_calendar")
    weekdays = pd.bdate_range("2013-01-01", "2026-12-31")
    xshg = md.calendar_for("XSHG")
    closed = {d.date() for d in weekdays if not xshg.is_session(d)}
    public = {d.date() for d in weekdays if not chinese_calendar.is_workday(d.date())}
    assert len(public) == 253
    assert closed - public == {dt.date(2024, 2, 9)} and public <= closed


def test_a_row_on_a_published_holiday_is_a_warning_an_estimated_one_is_not(write):
    text = "date,close\n2025-09-30,60\n2025-10-08,61\n2025-10-09,61.5\n"
    report = md.check(write("cea.csv", text), market="cea")
    assert [(p.row, p.check) for p in report.warnings] == [(3, "session")]
    assert "2025-10-08 is a holiday (Day off (substituted" in report.warnings[0].message
    # 2027: the table is the package's estimate until the State Council publishes the year.
    later = "date,close\n2027-09-30,60\n2027-10-01,61\n2027-10-04,61.5\n"
    assert md.check(write("later.csv", later), market="cea").warnings == ()
    assert md.calendar_for("XSHG").holiday_is_known("2026-10-01")
    assert not md.calendar_for("XSHG").holiday_is_known("2027-10-01")


@pytest.mark.shared_data
def test_real_rows_on_holidays(shared_data):
    """No CEA row is on a Shanghai holiday; one Guangdong row is, 2025-04-04 (Qingming), where
    Wind repeats the close of the day before with no volume."""
    for name, market, expected in (
        ("cea_wind_export_raw.csv", "cea", []),
        ("cea_seee_bulletins.csv", "cea", []),
        ("gdea_wind_export_raw.csv", "gdea", ["2025-04-04"]),
    ):
        report = md.check(shared_data / name, market=market)
        found = [p.message[:10] for p in report.warnings if "is a holiday" in p.message]
        assert found == expected, name
