"""Every file in ../shared/data loads, and the figures known about them hold."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import market_data as md
from engine.markets import CEA

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def wind(shared_data):
    return md.load(shared_data / "cea_wind_export_raw.csv", market="cea")


@pytest.fixture(scope="module")
def bulletins(shared_data):
    with pytest.warns(md.DataWarning, match="6 warnings"):
        return md.load(shared_data / "cea_seee_bulletins.csv", market="cea")


def test_wind_export_reads_gb18030_newest_first_with_empty_days(wind):
    assert wind.attrs["format"] == "wind"
    assert len(wind) == 918
    assert wind.index[0] == pd.Timestamp("2021-07-16")
    assert wind.index[-1] == pd.Timestamp("2025-05-07")
    assert wind.index.is_monotonic_increasing and wind.index.is_unique
    first = wind.iloc[0]
    assert (first.close, first.open, first.high, first.low) == (51.23, 48.0, 51.8, 48.0)
    assert first.volume == 4_103_953.0
    assert first.turnover == pytest.approx(210_230_053.25)
    assert wind.loc["2021-12-24", "close"] == 48.13  # the known vendor error


def test_wind_export_equals_its_utf8_reencoding(wind, shared_data):
    """The raw export and the re-encoded copy are the same data in two layouts."""
    daily = md.load(shared_data / "cea_wind_daily.csv", market="cea")
    assert daily.attrs["format"] == "plain"
    pd.testing.assert_frame_equal(wind, daily, check_like=True, check_freq=False)


def test_wind_export_segments(shared_data):
    """Listing and block series; a day without block trades is not a block-trading day (Wind
    repeats the total's prices there, so those rows are dropped)."""
    path = shared_data / "cea_wind_export_raw.csv"
    listed = md.load(path, options=md.SourceOptions(segment="listed"))
    block = md.load(path, options=md.SourceOptions(segment="block"))
    total = md.load(path)
    assert listed.loc["2021-07-21", "volume"] == 112_000
    assert block.loc["2021-07-21", "volume"] == 100_000
    assert (len(listed), len(block)) == (917, 450)
    assert not (block.volume == 0).any()
    # Wind has the total but no segments on 2022-08-05; where both segments traded, they add up
    # to the total on 418 of 450 days (the rest are the vendor's inconsistencies).
    assert total.index.difference(listed.index).equals(pd.DatetimeIndex(["2022-08-05"]))
    both = block.index
    adds_up = np.isclose(listed.volume[both] + block.volume, total.volume[both])
    assert adds_up.sum() == 418


def test_wind_rows_are_named_by_file_line(shared_data, tmp_path):
    """The export validates clean; line 6 is its newest day (after five header rows), so a
    negative close written there is reported on row 6."""
    path = shared_data / "cea_wind_export_raw.csv"
    report = md.check(path, market="cea")
    assert report.rows == 918 and report.problems == ()
    lines = path.read_bytes().split(b"\r\n" if b"\r\n" in path.read_bytes() else b"\n")
    assert lines[5].startswith(b"2025/5/7,71.3,")
    lines[5] = lines[5].replace(b"2025/5/7,71.3,", b"2025/5/7,-71.3,", 1)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\n".join(lines))
    errors = md.check(broken, market="cea").errors
    assert [(p.row, p.column, p.value, p.check) for p in errors][:1] == [
        (6, "close", -71.3, "price")
    ]


def test_bulletins(bulletins):
    assert bulletins.attrs["format"] == "seee"
    assert len(bulletins) == 863
    assert bulletins.index[0] == pd.Timestamp("2021-07-16")
    assert bulletins.index[-1] == pd.Timestamp("2026-08-14")
    assert bulletins.loc["2026-08-14", "close"] == 98.21
    basis = bulletins["price_basis"]
    assert set(basis[:"2023-08-25"]) == {"listed"}
    assert set(basis["2023-08-28":]) == {"composite"}
    assert (basis == "composite").sum() == 533


def test_bulletins_vwap_closes_outside_the_range_are_warnings(shared_data):
    report = md.check(shared_data / "cea_seee_bulletins.csv", market="cea")
    assert report.ok and len(report.warnings) == 6
    first = report.warnings[0]
    assert (first.row, first.column, first.value) == (366, "close", 81.43)
    assert "VWAP" in first.message and "81.45-81.88" in first.message


def test_bulletins_band_holds_across_the_missing_months(bulletins):
    """Dec 2024 -> May 2025 moves 29.8 % across 93 missing sessions; it is no band breach, and
    no move between consecutive trading days exceeds 10 %."""
    summary = md.summarise(bulletins, CEA)
    assert summary.largest_fall_pct == pytest.approx(-9.877, abs=1e-3)
    assert summary.largest_rise_pct == pytest.approx(9.843, abs=1e-3)
    assert summary.sessions_missing == 369


def test_nzu_spot_plain_csv(shared_data):
    # 23 weekend prices, and 3 on New Zealand holidays (2013-03-29 Good Friday, 2014-06-02,
    # 2016-02-08): a broker's spot price, not an exchange's.
    with pytest.warns(md.DataWarning, match="26 warnings") as caught:
        nzu = md.load(shared_data / "nzu_spot.csv", market="nzu")
    assert "2010-05-29 is a Saturday" in str(caught[0].message)
    assert nzu.attrs["currency"] == "NZD"
    assert len(nzu) == 2268
    assert nzu.index[0] == pd.Timestamp("2010-05-14")
    assert nzu.index[-1] == pd.Timestamp("2026-07-03")
    assert nzu.close.iloc[0] == 17.75 and nzu.close.iloc[-1] == 54.0
    assert nzu[["open", "high", "low", "volume"]].isna().all().all()


def test_merge_surfaces_the_2021_12_24_disagreement_and_keeps_the_basis_change(bulletins, wind):
    merged = md.merge_sources(bulletins, wind, tolerance=0.001)
    close = merged.disagreements[merged.disagreements.column == "close"]
    assert list(close.index) == [pd.Timestamp("2021-12-24")]
    assert close.iloc[0].primary == 49.52 and close.iloc[0].secondary == 48.13
    assert close.iloc[0].relative_difference == pytest.approx(49.52 / 48.13 - 1)

    frame = merged.frame
    assert len(frame) == 1217 and len(merged.filled) == 354
    assert frame.loc["2021-12-24", "close"] == 49.52  # the exchange's figure wins
    assert frame.loc["2024-03-01", "source"].endswith("cea_wind_export_raw.csv")
    assert frame.loc["2022-03-01", "price_basis"] == "listed"  # filled, basis of its time
    assert frame.loc["2024-03-01", "price_basis"] == "composite"
    changes = merged.basis_changes
    assert list(changes.index) == [pd.Timestamp("2023-08-28")]
    assert (changes.iloc[0].before, changes.iloc[0].after) == ("listed", "composite")


def test_merge_with_wind_preferred_keeps_the_basis_change(bulletins, wind):
    merged = md.merge_sources(wind, bulletins)
    assert merged.frame["price_basis"].notna().all()
    assert list(merged.basis_changes.index) == [pd.Timestamp("2023-08-28")]
    assert merged.frame.loc["2021-12-24", "close"] == 48.13  # Wind preferred, so Wind's figure
    assert merged.frame.loc["2026-08-14", "close"] == 98.21  # filled from the bulletins


def test_every_real_trading_day_is_a_shanghai_session(bulletins, wind):
    calendar = md.calendar_for("XSHG")
    days = bulletins.index.union(wind.index)
    sessions = calendar.sessions(days[0], days[-1])
    assert days.difference(sessions).empty
    # The files together miss 15 sessions: 2025-01-14, 2025-01-16 and 2025-05-08..26.
    assert len(sessions.difference(days)) == 15
    assert not calendar.is_session("2024-02-09")  # Spring Festival eve, exchange closed


# Each shared file and the market it is loaded under; nothing else is passed.
MARKETS = {
    "cea_seee_bulletins.csv": "cea",
    "cea_wind_daily.csv": "cea",
    "cea_wind_export_raw.csv": "cea",
    "eua_ice_front_month.csv": "eua",
    "gdea_wind_export_raw.csv": "gdea",
    "nzu_spot.csv": "nzu",
    "usdcny_wind_edb.csv": "series",
}


def test_all_shared_files_load_without_errors(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", md.DataWarning)
        for path in sorted(shared_data.glob("*.csv")):
            frame = md.load(path, market=MARKETS.get(path.name, "cea"))
            assert len(frame) > 800, path.name


def test_guangdong_wind_export(shared_data):
    """The daily turnover twice and a cumulative one; +12.4 % after 2016-06-08, 15 weekend rows and
    one holiday row (2025-04-04, Qingming: the close of the day before repeated, no volume) are
    warnings; five days of block trades only (no close) are left out."""
    path = shared_data / "gdea_wind_export_raw.csv"
    with pytest.warns(md.DataWarning, match="22 warnings"):
        gdea = md.load(path, market="gdea")
    assert len(gdea) == 2475 and gdea.attrs["format"] == "wind"
    assert gdea.index[0] == pd.Timestamp("2013-12-19") and gdea.close.iloc[0] == 60.17
    assert gdea.iloc[-1].turnover == 35_472.6  # the day's, not the cumulative 5.77e9
    checks = [p.check for p in md.check(path, market="gdea").warnings]
    assert (checks.count("band"), checks.count("session"), checks.count("missing")) == (1, 16, 5)


def test_usdcny_wind_edb_export(shared_data):
    path = shared_data / "usdcny_wind_edb.csv"
    assert md.detect_format(path) == "edb"
    usdcny = md.load(path, market="series")
    assert len(usdcny) == 10_993  # 16,206 rows less the #N/A days
    assert (usdcny.index[0], usdcny.close.iloc[0]) == (pd.Timestamp("1981-01-02"), 1.5341)
    assert (usdcny.index[-1], usdcny.close.iloc[-1]) == (pd.Timestamp("2025-05-15"), 7.2132)


def test_ice_eua_front_month(shared_data):
    """The settlement is the price; 688 settlements outside the traded range are one warning,
    and the 34 weekend rows of 2012-2014 are warnings."""
    path = shared_data / "eua_ice_front_month.csv"
    with pytest.warns(md.DataWarning, match="35 warnings"):
        eua = md.load(path, market="eua")
    assert len(eua) == 3356 and eua.close.iloc[-1] == 44.33  # settle; the file's close is 44.78
    assert "688 settlement price(s)" in eua.attrs["warnings"][0]
