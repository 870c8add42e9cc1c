"""``carbon simulate``: fits, simulates and writes three files, atomically and reproducibly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import market_data as md
from desk import exit_codes
from desk.cli import cli
from desk.models.choice import cache_folder, choose_model
from desk.store.files import write_all_atomic
from engine.markets import CEA
from engine.volatility import VolatilityParams


def simulate(*args: str):
    return CliRunner().invoke(cli, ["simulate", *args], catch_exceptions=False)


def test_reference_run_writes_the_fan_the_table_and_the_model(tmp_path):
    out = tmp_path / "run"
    result = simulate("--paths", "2000", "--days", "60", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    closes = md.reference_market()["close"]
    gaps = md.calendar_for("XSHG").session_gaps(closes.index)
    choice = choose_model(closes, gaps, CEA, cache_dir=cache_folder(), seed=3)
    assert f"model {choice.name} (validated choice) on closes to 2026-06-30" in result.output
    assert f"note: model chosen by its validated forecasts: {choice.reason}" in result.output
    assert {p.name for p in out.iterdir()} == {"fan.png", "quantiles.csv", "model.json"}
    assert (out / "fan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    table = pd.read_csv(out / "quantiles.csv")
    sessions = md.calendar_for("XSHG").sessions("2026-07-01", "2026-12-31")[:60]
    assert list(table["date"]) == list(sessions.strftime("%Y-%m-%d"))
    assert list(table.columns) == [
        "day", "date", "q01", "q05", "q25", "q50", "q75", "q95", "q99", "mean", "std",
    ]  # fmt: skip
    assert (table["q05"] <= table["q50"]).all() and (table["q50"] <= table["q95"]).all()

    pinned = VolatilityParams.from_json((out / "model.json").read_text())
    assert pinned == choice.params


def test_same_seed_same_table_and_a_pinned_model_gives_it_again(tmp_path):
    args = ("--paths", "1000", "--days", "20", "--seed", "9")
    simulate(*args, "--out", str(tmp_path / "a"))
    simulate(*args, "--out", str(tmp_path / "b"))
    first = (tmp_path / "a" / "quantiles.csv").read_text()
    assert first == (tmp_path / "b" / "quantiles.csv").read_text()
    result = simulate(
        *args, "--out", str(tmp_path / "c"), "--model-file", str(tmp_path / "a" / "model.json")
    )
    assert "(loaded from" in result.output
    assert first == (tmp_path / "c" / "quantiles.csv").read_text()


@pytest.mark.shared_data
def test_real_cea_named_model_needs_the_integrated_fit_to_be_allowed(shared_data, tmp_path):
    """A model named on the command line is refused on its persistence bound without
    --allow-integrated; the validated choice (the default) is used as validated."""
    source = str(shared_data / "cea_seee_bulletins.csv")
    runner = CliRunner()
    named = ["simulate", "--source", source, "--out", str(tmp_path), "--model", "garch"]
    refused = runner.invoke(cli, named)
    assert refused.exit_code == exit_codes.MODEL
    assert "non-stationary" in refused.output and "--allow-integrated" in refused.output
    assert not any(tmp_path.iterdir())  # nothing written
    allowed = runner.invoke(cli, [*named, "--paths", "1000", "--allow-integrated", "--thin"])
    assert allowed.exit_code == 0, allowed.output
    assert "on closes to 2026-08-14" in allowed.output and "persistence 1.0000" in allowed.output
    chosen = runner.invoke(cli, ["simulate", "--source", source, "--out", str(tmp_path / "v"),
                                 "--paths", "1000"])  # fmt: skip
    assert chosen.exit_code == 0, chosen.output
    assert "(validated choice) on closes to 2026-08-14" in chosen.output


def test_an_interrupted_write_leaves_the_old_files(tmp_path):
    """The table is written, the chart fails halfway: both old files stay, no temporaries."""
    table, chart = tmp_path / "quantiles.csv", tmp_path / "fan.png"
    table.write_text("old table")
    chart.write_text("old chart")

    def half_then_fail(path: Path) -> None:
        path.write_text("new, half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_all_atomic({table: lambda path: path.write_text("new table"), chart: half_then_fail})
    assert (table.read_text(), chart.read_text()) == ("old table", "old chart")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fan.png", "quantiles.csv"]
