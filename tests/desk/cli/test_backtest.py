"""``carbon backtest``: history and simulated paths end to end, and the errors a user can fix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from desk import exit_codes
from desk.cli import cli

EXAMPLE = Path(__file__).resolve().parents[3] / "desk/defaults/power_company_book.toml"


def backtest(*args: str):
    return CliRunner().invoke(cli, ["backtest", "--book", str(EXAMPLE), *args])


def test_history_mode_on_the_reference_market(tmp_path):
    out = tmp_path / "h"
    result = backtest(
        "--strategy",
        "reserve",
        "--params",
        "window=30,low=0.1",
        "--years",
        "2024",
        "--years",
        "2025",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "ledger.csv",
        "metrics.json",
        "costs.csv",
        "cost_distribution.png",
        "holdings.png",
    }
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cycles"] == [2023, 2024] and metrics["strategy"]["strategy"] == "reserve"
    assert set(metrics["comparison"]) == {"reserve", "deadline", "even", "forward"}
    costs = pd.read_csv(out / "costs.csv", index_col=0)
    assert list(costs.index) == ["2024", "2025", "total"]
    total = costs.loc["total"]
    assert total["reserve saves"] == pytest.approx(total["deadline"] - total["reserve"], abs=1e-3)
    assert metrics["strategy"]["savings_vs_deadline"] == pytest.approx(
        (total["deadline"] - total["reserve"]) * 1e6, abs=1e3
    )
    ledger = pd.read_csv(out / "ledger.csv")
    assert set(ledger["strategy"]) == {"reserve", "deadline", "even", "forward"}
    assert "2024" in result.output and "reserve saves" in result.output


def test_paths_mode_writes_the_cost_distribution(tmp_path):
    out = tmp_path / "p"
    result = backtest("--strategy", "even", "--paths", "300", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["paths"] == 300 and metrics["deadline"] == "2026-12-31"
    summary = metrics["strategy"]
    assert summary["strategy"] == "even" and summary["cvar"] >= summary["var"]
    costs = pd.read_csv(out / "costs.csv", index_col="path")
    assert costs.shape == (300, 4)
    assert summary["mean_cost"] == pytest.approx(costs["even"].mean(), rel=1e-9)
    again = tmp_path / "q"
    assert backtest("--strategy", "even", "--paths", "300", "--seed", "3", "--out",
                    str(again)).exit_code == 0  # fmt: skip
    assert json.loads((again / "metrics.json").read_text())["comparison"] == metrics["comparison"]


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (("--strategy", "hodl"), exit_codes.USAGE, "known: all"),
        (("--strategy", "reserve", "--params", "colour=red"), exit_codes.CONFIG, "no setting"),
        (("--strategy", "reserve", "--params", "window=ten"), exit_codes.CONFIG, "not an int"),
        (("--strategy", "even", "--years", "2019"), exit_codes.CONFIG, "not covered"),
        (("--strategy", "even", "--paths", "5", "--years", "2024"), exit_codes.USAGE, "--years"),
        (("--strategy", "all", "--params", "low=0.1"), exit_codes.CONFIG, "one --strategy"),
        (("--strategy", "guard", "--paths", "2001"), exit_codes.CONFIG, "no numba kernel"),
    ],
)
def test_errors_name_what_to_fix(tmp_path, args, code, text):
    result = backtest(*args, "--out", str(tmp_path / "x"))
    assert result.exit_code == code, result.output
    assert text in result.output


def test_costs_are_labelled_in_the_books_currency(tmp_path):
    """An EUA book's costs are EUR, not CNY, in the output and the charts' labels."""
    book = (Path(__file__).parents[3] / "desk/defaults/power_company_book.toml").read_text()
    (tmp_path / "eua_book.toml").write_text(book.replace('market = "cea"', 'market = "eua"'))
    days = pd.bdate_range(end="2026-06-30", periods=700)
    steps = np.random.default_rng(4).normal(0, 0.02, len(days))
    prices = pd.DataFrame({"date": days.strftime("%Y-%m-%d"),
                           "close": (70 * np.exp(np.cumsum(steps))).round(2)})  # fmt: skip
    prices.to_csv(tmp_path / "eua.csv", index=False)
    result = CliRunner().invoke(
        cli,
        ["backtest", "--strategy", "even", "--book", str(tmp_path / "eua_book.toml"), "--source",
         str(tmp_path / "eua.csv"), "--paths", "200", "--out", str(tmp_path / "bt")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "200 paths, cost EUR m" in result.output and "CNY" not in result.output
