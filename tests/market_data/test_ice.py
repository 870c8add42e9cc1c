"""ICE futures files: a datetime column, the settlement as the price, and ICE's calendar."""

from __future__ import annotations

import pytest

import market_data as md

# The layout of a scraped ICE EUA front-month file: ``close`` is an artefact (open + change),
# ``settle`` the price; 2025-03-05 settles above its single trade (high = low).
ICE = """datetime,open,high,low,settle,change,wave,volume,prev_day_open_interest,block_volume,close
2025-03-03,69.00,70.40,68.80,70.02,0.50,69.90,19800.0,100000.0,,69.50
2025-03-04,70.10,70.30,67.90,68.15,-1.87,68.40,25400.0,101000.0,300.0,68.23
2025-03-05,68.20,68.20,68.20,69.10,0.95,,1.0,101500.0,,69.15
"""


def test_ice_layout_reads_the_settlement_as_the_price(write):
    path = write("ice.csv", ICE)
    assert md.detect_format(path) == "plain"
    with pytest.warns(md.DataWarning, match="1 warning"):
        eua = md.load(path, market="eua")
    assert list(eua.index.strftime("%Y-%m-%d")) == ["2025-03-03", "2025-03-04", "2025-03-05"]
    assert list(eua.close) == [70.02, 68.15, 69.10]  # settle, not the scraper's close
    # ICE counts contracts of 1,000 t: 19,800 lots is 19.8 Mt
    assert list(eua.volume) == [19_800_000.0, 25_400_000.0, 1_000.0]


@pytest.mark.parametrize(
    ("header", "factor"),
    [("date,close,volume", 1.0), ("date,settle,volume_t", 1.0), ("date,close,contracts", 1e3),
     ("date,settle,lots", 1e3), ("date,settle,volume", 1e3)],
)  # fmt: skip
def test_volumes_are_tonnes_and_contracts_are_lots(write, header, factor):
    path = write("v.csv", f"{header}\n2025-03-03,70.0,12\n2025-03-04,70.5,30\n")
    assert list(md.load(path, market="eua").volume) == [12 * factor, 30 * factor]


def test_settlements_outside_the_range_are_one_warning_not_errors(write):
    text = ICE.replace("2025-03-04,70.10,70.30,67.90,68.15", "2025-03-04,70.10,70.30,69.90,68.15")
    report = md.check(write("ice.csv", text), market="eua")
    assert report.ok and len(report.warnings) == 1
    note = report.warnings[0]
    assert note.check == "close_range" and note.row is None
    assert "2 settlement price(s) outside" in note.message and "first on row 3" in note.message


def test_a_file_with_close_only_still_checks_its_range(write):
    """Without a settlement the close is a close: outside the range is an error on ICE."""
    text = "\n".join(
        ",".join(c for j, c in enumerate(line.split(",")) if j != 4) for line in ICE.splitlines()
    )
    report = md.check(write("ice.csv", text), market="eua")
    assert [(p.row, p.check) for p in report.errors] == [(4, "close_range")]


@pytest.mark.parametrize(
    ("day", "session"),
    [
        ("2007-01-01", False),  # New Year's Day, before the holidays package's table
        ("2012-01-02", False),  # New Year's Day on a Sunday, observed on the Monday
        ("2011-12-26", False),  # Christmas Day on a Sunday, observed on the Monday
        ("2009-04-10", False),  # Good Friday
        ("2008-12-26", True),  # Boxing Day trades
        ("2009-04-13", True),  # Easter Monday trades
        ("2017-01-02", True),  # New Year observed in the table, but settled with volume
        ("2015-12-25", False),
    ],
)
def test_ice_calendar_before_and_after_the_package_table(day, session):
    assert md.calendar_for("IFEU").is_session(day) is session
