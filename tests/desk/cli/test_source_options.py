"""One set of source options on every command that reads prices, and hints that run as printed."""

from __future__ import annotations

import shlex

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import market_data as md
from desk import exit_codes
from desk.cli import cli

READ = {
    "--market", "--format", "--sheet", "--segment", "--instrument", "--system",
    "--date-column", "--price-column", "--strict", "--keep-outliers",
}  # fmt: skip
COMMANDS = (
    ("data", "show"),
    ("data", "validate"),
    ("simulate",),
    ("backtest",),
    ("model", "validate"),
    ("alerts", "check"),
)


def options_of(path: tuple[str, ...]) -> set[str]:
    command = cli
    for name in path:  # the commands are imported when asked for (desk.cli.common.LazyGroup)
        command = command.get_command(click.Context(command), name)  # type: ignore[attr-defined]
    return {flag for p in command.params for flag in p.opts}


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_that_reads_prices_has_the_same_options(path):
    options = options_of(path)
    assert options >= READ, READ - options
    assert path == ("data", "validate") or "--source" in options


def save(path, sheets: dict[str, list[list[object]]]):
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def closes_sheet(frame: pd.DataFrame) -> list[list[object]]:
    return [["date", "close"]] + [[d.to_pydatetime(), c] for d, c in frame["close"].items()]


def test_the_hint_repeats_the_options_and_runs_as_printed(tmp_path):
    rows = [["date", "close"], *([f"2024-06-0{d}", 38.0 + d] for d in range(3, 8))]
    rows[2][1], rows[4][1] = -1.0, "x"
    book = save(
        tmp_path / "pilots.xlsx", {"CEA": [["date", "close"], ["2024-06-03", 90]], "GDEA": rows}
    )
    runner = CliRunner()
    args = ["--source", str(book), "--market", "gdea", "--sheet", "GDEA"]
    result = runner.invoke(cli, ["data", "show", *args])
    assert result.exit_code == exit_codes.DATA
    hint = f"carbon data validate {book} --market gdea --sheet GDEA"
    assert result.output.endswith(f"({hint} lists them all)\n"), result.output
    again = runner.invoke(cli, shlex.split(hint)[1:])
    assert again.exit_code == exit_codes.DATA
    assert again.output.count("error: ") == 2 and "2 errors, 0 warnings" in again.output


def test_a_backtest_hint_names_the_book_market_and_the_format(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,close\n2025-03-03,-1\n2025-03-04,x\n")
    result = CliRunner().invoke(
        cli, ["backtest", "--strategy", "deadline", "--source", str(bad), "--format", "plain",
              "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == exit_codes.DATA
    assert f"(carbon data validate {bad} --format plain lists them all)" in result.output


def test_backtest_reads_with_the_options_and_its_market_must_be_the_books(tmp_path):
    plain = tmp_path / "p.csv"
    plain.write_text("date,close\n2025-03-03,70\n")
    runner = CliRunner()
    out = ["--out", str(tmp_path / "out")]
    backtest = ["backtest", "--strategy", "deadline"]
    wrong = runner.invoke(cli, [*backtest, "--source", str(plain), "--format", "seee", *out])
    assert wrong.exit_code == exit_codes.DATA and "missing column(s) trade_date" in wrong.output
    other = runner.invoke(cli, [*backtest, "--market", "eua", *out])
    assert other.exit_code == exit_codes.CONFIG
    assert "is for market 'cea'" in other.output


def test_simulate_reads_a_sheet_of_a_workbook(tmp_path):
    reference = md.reference_market()
    book = save(tmp_path / "prices.xlsx", {"notes": [["made up"]], "CEA": closes_sheet(reference)})
    runner = CliRunner()
    base = ["simulate", "--source", str(book), "--model", "garch", "--dist", "normal"]
    base += ["--paths", "50", "--days", "5", "--out"]
    unchosen = runner.invoke(cli, [*base, str(tmp_path / "a")])
    assert unchosen.exit_code == exit_codes.DATA
    assert "several sheets with data (1 'notes', 2 'CEA')" in unchosen.output
    result = runner.invoke(cli, [*base, str(tmp_path / "b"), "--sheet", "2"])
    assert result.exit_code == 0, result.output
    assert f"on closes to {reference.index[-1].date()}" in result.output
    wrong = runner.invoke(cli, [*base, str(tmp_path / "c"), "--sheet", "CEA", "--format", "edb"])
    assert wrong.exit_code == exit_codes.DATA


def test_show_counts_the_flagged_rows_and_the_outliers_left_out(tmp_path):
    days = pd.bdate_range("2024-06-03", periods=12)
    closes = np.array([38.0, 38.2, 38.1, 38.4, 38.3, 38.5, 3850.0, 38.6, 38.4, 38.7, 38.8, 38.6])
    path = tmp_path / "gd.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": closes}).to_csv(path, index=False)
    runner = CliRunner()
    shown = runner.invoke(cli, ["data", "show", "--source", str(path), "--market", "gdea"])
    assert shown.exit_code == 0, shown.output
    assert "outlier 1" in shown.output and "1 outlier (--keep-outliers keeps them)" in shown.output
    assert "11" in shown.output
    as_json = runner.invoke(
        cli,
        ["data", "show", "--source", str(path), "--market", "gdea", "--json", "--keep-outliers"],
    )
    record = __import__("json").loads(as_json.output)
    assert record["rows"] == 12 and record["left_out"] == [] and ["outlier", 1] in record["flagged"]
    for command in (["data", "show", "--source"], ["data", "validate"]):
        strict = runner.invoke(cli, [*command, str(path), "--market", "gdea", "--strict"])
        assert strict.exit_code == exit_codes.DATA, command
    assert runner.invoke(cli, ["data", "validate", str(path), "--market", "gdea"]).exit_code == 0
