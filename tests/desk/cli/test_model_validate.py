"""``carbon model validate``: three files, a ranking, the red-zone exit code, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from desk import exit_codes
from desk.cli import cli
from engine.validation import TrafficLight


def validate(*args: str):
    return CliRunner().invoke(cli, ["model", "validate", *args], catch_exceptions=False)


def test_reference_market_writes_the_page_the_scores_and_the_summary(tmp_path):
    out = tmp_path / "v"
    result = validate(
        "--max-origins",
        "4",
        "--paths",
        "500",
        "--horizons",
        "1,5,20",
        "--models",
        "garch-normal,gjr-t,fallback",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"validation.html", "scores.csv", "summary.json"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["market"] == "cea" and len(summary["origins"]) == 4
    assert {c["candidate"] for c in summary["candidates"]} == {"garch-normal", "gjr-t", "fallback"}
    assert summary["chosen"] == summary["candidates"][0]["candidate"]
    assert f"chosen: {summary['chosen']}" in result.output
    scores = pd.read_csv(out / "scores.csv")
    assert scores["horizon"].between(1, 20).all()
    assert set(scores["candidate"]) == {"garch-normal", "gjr-t", "fallback"}
    assert scores.groupby(["candidate", "origin"]).size().max() <= 20
    page = (out / "validation.html").read_text()
    assert f"Basel zone {summary['zone']}" in page and page.count("data:image/png;base64,") == 3
    assert "Kupiec POF" in page and "Christoffersen independence" in page


def test_a_model_in_the_red_zone_exits_9(tmp_path, monkeypatch):
    """The command's exit code follows the chosen model's zone: with the light forced red
    (12 exceedances of 250; red zones of real fits are rare on generated data, where a GARCH
    refitted monthly adapts), the run still writes its files, then exits 9."""
    red = TrafficLight("red", 12, 250, 0.99999)
    monkeypatch.setattr("engine.validation.choice.basel_traffic_light", lambda hits, p: red)
    out = tmp_path / "v"
    result = validate(
        "--max-origins",
        "2",
        "--paths",
        "200",
        "--horizons",
        "1,5",
        "--models",
        "garch-normal",
        "--out",
        str(out),
    )
    assert result.exit_code == exit_codes.MODEL_RED == 9, result.output
    assert "Basel zone red" in result.output and (out / "summary.json").exists()


def test_too_short_a_history_names_what_is_missing(tmp_path):
    source = tmp_path / "short.csv"
    days = pd.bdate_range("2024-01-01", periods=150)
    pd.DataFrame(
        {"date": days.strftime("%Y-%m-%d"), "close": np.linspace(50, 60, 150).round(2)}
    ).to_csv(source, index=False)
    result = CliRunner().invoke(
        cli,
        [
            "model",
            "validate",
            "--source",
            str(source),
            "--market",
            "eua",
            "--out",
            str(tmp_path / "v"),
        ],
    )
    assert result.exit_code == exit_codes.MODEL
    assert "no origin to validate from: every origin needs 250 daily returns" in result.output
    assert "the data have 149 daily returns in 150 closes" in result.output
    bad = validate("--horizons", "1,x", "--out", str(tmp_path / "w"))
    assert bad.exit_code == exit_codes.USAGE
