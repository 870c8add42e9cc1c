"""Pilot markets: rules as data, a soft band, weekend rows, and absurd prices flagged."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import market_data as md
from desk import exit_codes
from desk.cli import cli
from engine.markets import MARKETS

PILOTS = ("bea", "tjea", "shea", "cqea", "hbea", "gdea", "szea", "fjea")


def closes(*rows: tuple[str, float]) -> str:
    return "date,close\n" + "".join(f"{day},{close}\n" for day, close in rows)


# Two weeks of a thin pilot market around 50 CNY/t (weekdays of June 2024).
DAYS = [f"2024-06-{d:02d}" for d in (3, 4, 5, 6, 7, 11, 12, 13, 14, 17, 18, 19, 20, 21)]
CALM = [50.0, 50.5, 50.2, 49.8, 50.1, 50.6, 51.0, 50.7, 50.3, 50.9, 51.2, 50.8, 51.1, 51.4]


def test_every_pilot_market_and_ccer_are_rules():
    for code in (*PILOTS, "ccer"):
        rules = MARKETS[code]
        assert rules.currency == "CNY" and rules.calendar == "XSHG"
        assert rules.tick == 0.01 and rules.lot_t == 1.0
        assert not rules.band_is_firm  # limits uncertain: checked softly
    assert MARKETS["gdea"].daily_band == 0.10 and MARKETS["bea"].daily_band == 0.20
    assert MARKETS["cea"].band_is_firm


def test_a_pilot_close_beyond_the_band_is_a_warning(write):
    """+15 % in a day: an error on the CEA, whose band is firm; a warning on Guangdong."""
    path = write("p.csv", closes(("2024-06-03", 10.0), ("2024-06-04", 11.5)))
    with pytest.raises(md.DataError, match=r"close moved \+15.00% .* beyond the \+/-10%"):
        md.load(path, market="cea")
    with pytest.warns(md.DataWarning, match="1 warning"):
        frame = md.load(path, market="gdea")
    assert "auction or block trades" in frame.attrs["warnings"][0]


def test_weekend_rows_of_a_pilot_are_a_warning(write):
    path = write("p.csv", closes(("2024-06-07", 50.0), ("2024-06-08", 50.2), ("2024-06-11", 50.1)))
    report = md.check(path, market="gdea")
    assert report.ok
    assert [(p.row, p.check) for p in report.warnings] == [(3, "session")]
    assert "2024-06-08 is a Saturday" in report.warnings[0].message


@pytest.mark.parametrize(("factor", "row"), [(10_000.0, 6), (1 / 30, 11)])
def test_an_absurd_close_is_flagged_with_its_row_and_value(write, factor, row):
    """A close 10,000 times its neighbours, or a thirtieth of them, is named (row = line)."""
    prices = list(CALM)
    prices[row - 2] = round(prices[row - 2] * factor, 2)
    path = write("p.csv", closes(*zip(DAYS, prices, strict=True)))
    report = md.check(path, market="gdea")
    outliers = [p for p in report.warnings if p.check == "outlier"]
    assert [(p.row, p.value) for p in outliers] == [(row, prices[row - 2])]
    assert str(path) in str(outliers[0]) and "absurd close" in outliers[0].message


def test_calm_and_trending_prices_are_not_outliers(write):
    """A steady slide to a third of the price over two weeks is a market, not a typo."""
    slide = [60.0 * 0.92**i for i in range(len(DAYS))]
    for prices in (CALM, slide):
        report = md.check(write("p.csv", closes(*zip(DAYS, prices, strict=True))), market="gdea")
        assert not [p for p in report.problems if p.check == "outlier"]


def test_the_command_line_accepts_the_pilot_codes(write):
    path = write("p.csv", closes(*zip(DAYS, CALM, strict=True)))
    runner = CliRunner()
    for code in (*PILOTS, "ccer", "series"):
        result = runner.invoke(cli, ["data", "show", "--source", str(path), "--market", code])
        assert result.exit_code == 0, (code, result.output)
    result = runner.invoke(cli, ["data", "show", "--source", str(path), "--market", "xyz"])
    assert result.exit_code == exit_codes.USAGE
