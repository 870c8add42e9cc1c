"""The ICAP price explorer export: one system out of many, its column groups coalesced.

The fixture ``tests/fixtures/icap_prices.csv`` is written by hand in the export's layout: a row
of system names, a row of fields, then dates; the EU ETS changed its series and appears in two
column groups; prices are sparse.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import market_data as md

ICAP = Path(__file__).resolve().parents[1] / "fixtures" / "icap_prices.csv"


def test_format_is_detected_and_systems_listed():
    assert md.detect_format(ICAP) == "icap"
    assert md.icap_systems(ICAP) == ["Switzerland", "China National ETS", "EU ETS", "New Zealand"]


def test_china_secondary_price_in_cny():
    cea = md.load(ICAP, market="cea")
    assert cea.attrs["format"] == "icap" and cea.attrs["currency"] == "CNY"
    # 2024-01-04 has no China price; the EUR conversion column is not read.
    assert list(cea.index.strftime("%Y-%m-%d")) == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-05",
        "2024-01-08",
    ]
    assert list(cea.close) == [70.05, 71.20, 72.10, 72.45]


def test_eu_ets_groups_are_coalesced():
    eua = md.load(ICAP, market="eua")
    assert list(eua.close) == [78.20, 76.50, 75.10, 74.80, 73.05]
    assert eua.index[-1] == pd.Timestamp("2024-01-08")


def test_new_zealand_and_an_explicit_system():
    with pytest.warns(md.DataWarning, match=r"2024-01-02 is a holiday \(Day after New Year"):
        nzu = md.load(ICAP, market="nzu")
    assert list(nzu.close) == [68.50, 68.00, 67.50]
    china = md.load(
        ICAP, market="cea", format="icap", options=md.SourceOptions(system="China National ETS")
    )
    assert list(china.close) == [70.05, 71.20, 72.10, 72.45]


def test_unknown_system_names_what_the_file_holds(write):
    with pytest.raises(md.DataError, match=r"no system matching korea.*holds Switzerland, China"):
        md.load(ICAP, market="cea", options=md.SourceOptions(system="Korea"))


def test_bad_icap_cell_is_named(write):
    text = ICAP.read_text().replace("72.10", "72.1O")
    report = md.check(write("icap.csv", text), market="cea", format="icap")
    assert [(p.row, p.column, p.check) for p in report.errors] == [(6, "close", "number")]


def test_a_system_row_shorter_than_the_field_row_continues_its_last_system(write):
    """A spreadsheet drops a row's trailing blanks: the system over the last columns is the one
    to their left (a crash found by the property tests)."""
    text = ",EU ETS\nDate,Exchange rate,Secondary Market\n2024-01-02,1,78.20\n2024-01-03,1,76.50\n"
    assert list(md.load(write("short.csv", text), market="eua").close) == [78.20, 76.50]
