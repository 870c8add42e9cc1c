"""``carbon optimise``: the example book end to end, and a plan that cannot exist."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from desk import exit_codes
from desk.cli import cli

EXAMPLE = Path(__file__).resolve().parents[3] / "desk/defaults/power_company_book.toml"
SMALL = ("--paths", "2000", "--scenarios", "40", "--seed", "7")


def optimise(*args: str):
    return CliRunner().invoke(cli, ["optimise", *args])


def test_example_book_gives_a_plan_with_its_out_of_sample_risk(tmp_path):
    result = optimise("--book", str(EXAMPLE), *SMALL, "--out", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    assert "126 trading days to the deadline" in result.output  # 2026-07-01 .. 2026-12-31
    record = json.loads((tmp_path / "a" / "plan.json").read_text())
    assert record["deadline"] == "2026-12-31" and record["scenarios"] == 40
    assert record["plan"]["status"] == "optimal"
    oos = record["out_of_sample"]
    assert oos["paths"] == 2000 and oos["cvar"] >= oos["var"] >= min(0, oos["expected_cost"])
    schedule = pd.read_csv(tmp_path / "a" / "plan.csv")
    assert len(schedule) == 1 + 13  # today and every 10th of 126 days, the last on day 126
    assert optimise("--book", str(EXAMPLE), *SMALL, "--out", str(tmp_path / "b")).exit_code == 0
    second = json.loads((tmp_path / "b" / "plan.json").read_text())
    assert second["out_of_sample"] == oos  # same seed, same paths, same plan


def test_an_impossible_book_names_what_cannot_hold(tmp_path):
    text = EXAMPLE.read_text()
    text = text.replace("trading_budget = 60_000_000", "trading_budget = 1_000")
    text = text.replace("reserve_floor_share = 0.10", "reserve_floor_share = 0.95")
    book = tmp_path / "tight.toml"
    book.write_text(text)
    result = optimise("--book", str(book), *SMALL, "--out", str(tmp_path / "c"))
    assert result.exit_code == exit_codes.INFEASIBLE, result.output
    # A floor of 95 % of 3.28 Mt (3,116,000 t) from 2,279,400 t held and the 200,000 t forward
    # delivered today (30 June 2026, the reference market's last close) needs 636,600 t today,
    # 436,600 t more than the 200,000 t a date can trade.
    assert result.output.startswith(
        "error: infeasible: the reserve floor and the liquidity cap cannot both hold."
    )
    assert "come down by 436,600 t" in result.output and "436,600 t more" in result.output
    assert not (tmp_path / "c" / "plan.json").exists()


def test_a_missing_book(tmp_path):
    result = optimise("--book", str(tmp_path / "none.toml"), "--out", str(tmp_path))
    assert result.exit_code == exit_codes.CONFIG
    assert "no such book file" in result.output


def test_optimise_and_the_nightly_give_the_same_plan_for_the_same_settings(tmp_path):
    """The nightly's small test configuration (2,000 paths, 40 scenarios, every 20 days, seed
    0) through both commands: the same decision to the tonne (they once differed by 16 kt)."""
    from desk.config.desk import load_config
    from desk.nightly.run import run_nightly
    from tests.desk.nightly.test_nightly import write_config

    args = ("--paths", "2000", "--scenarios", "40", "--every", "20", "--seed", "0")
    result = optimise("--book", str(EXAMPLE), *args, "--out", str(tmp_path / "plan"))
    assert result.exit_code == 0, result.output
    alone = json.loads((tmp_path / "plan" / "plan.json").read_text())["plan"]
    night = run_nightly(load_config(write_config(tmp_path)), store=tmp_path / "store.sqlite")
    planned = json.loads((night.folder / "power-co" / "plan.json").read_text())["plan"]
    for decision in ("buy_today_t", "sell_today_t", "ccer_today_t"):
        assert alone[decision] == pytest.approx(planned[decision], abs=0.5), decision
