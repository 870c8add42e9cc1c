"""One meaning everywhere: a desk made by ``carbon init`` keeps its own store; exit 7 is a
critical alert nobody acknowledged, for ``carbon alerts check`` as for ``carbon nightly``
(tests/desk/nightly/test_nightly.py); the alert tables are newest first, in units, unpadded."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from desk import exit_codes
from desk.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def json_lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture()
def desks(tmp_path, monkeypatch):
    """Two desks made by ``carbon init``, nothing in the environment naming a store."""
    monkeypatch.delenv("CARBON_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b"):
        assert run("init", name).exit_code == 0
    return tmp_path / "a" / "desk.toml", tmp_path / "b" / "desk.toml"


def test_two_desks_made_by_init_do_not_share_alerts(desks, tmp_path):
    a, b = desks
    first = run("alerts", "check", "--config", str(a), "--no-volatility", "--json")
    assert first.exit_code == exit_codes.CRITICAL_ALERT, first.output
    alerts = json_lines(first)
    critical = [str(x["id"]) for x in alerts if x["severity"] == "critical"]
    assert critical and len(alerts) > len(critical)
    assert (tmp_path / "a" / "store.sqlite").is_file()  # beside its configuration ...
    assert not (tmp_path / "b" / "store.sqlite").exists()  # ... not the other desk's ...
    assert not (tmp_path / "xdg").exists()  # ... nor the user's, which nobody asked for
    listed = run("alerts", "list", "--config", str(b))
    assert listed.exit_code == exit_codes.CONFIG and "no store at" in listed.output

    # Exit 7 is for a critical alert nobody acknowledged: acknowledged, the check exits 0.
    acked = run("alerts", "ack", *critical, "--config", str(a), "--by", "risk")
    assert acked.exit_code == 0, acked.output
    again = run("alerts", "check", "--config", str(a), "--no-volatility")
    assert again.exit_code == exit_codes.OK, again.output

    # The other desk checks the same prices into its own store: its alerts are all open.
    other = run("alerts", "check", "--config", str(b), "--no-volatility", "--json")
    assert other.exit_code == exit_codes.CRITICAL_ALERT
    assert {x["state"] for x in json_lines(other)} == {"open"}
    assert [(x["rule"], x["date"]) for x in json_lines(other)] == [
        (x["rule"], x["date"]) for x in alerts
    ]
    states = {x["state"] for x in json_lines(run("alerts", "list", "--config", str(a), "--json"))}
    assert states == {"open", "acknowledged"}


def test_the_user_store_only_when_asked(desks, tmp_path):
    a, _ = desks
    result = run("alerts", "check", "--config", str(a), "--store", "user", "--no-volatility")
    assert result.exit_code == exit_codes.CRITICAL_ALERT
    assert (tmp_path / "xdg" / "carbon-desk" / "store.sqlite").is_file()
    assert not (tmp_path / "a" / "store.sqlite").exists()


def test_alert_tables_are_newest_first_in_units_and_unpadded(desks):
    a, _ = desks
    check = run("alerts", "check", "--config", str(a), "--no-volatility")
    listed = run("alerts", "list", "--config", str(a), "--state", "all")
    lines = listed.stdout.splitlines()
    assert lines[1].split() == ["id", "date", "rule", "severity", "state", "message"]
    dates = [line.split()[1] for line in lines[2:]]
    assert len(dates) > 10 and dates == sorted(dates, reverse=True)  # newest first
    assert all(line == line.rstrip() for line in lines)  # piped: no padding to any width
    assert max(map(len, lines)) == max(len(line) for line in lines[2:])  # as wide as a row
    check_dates = [line.split()[1] for line in check.stdout.splitlines()[2:-1]]
    assert check_dates == dates  # the check shows its new alerts in the same order

    first_id = lines[-1].split()[0]  # the oldest: a fall of 12.6 % on the reference market
    shown = run("alerts", "show", first_id, "--config", str(a)).stdout
    figures = next(line for line in shown.splitlines() if line.startswith("figures"))
    assert "move -12.6 %" in figures and "close 50.20 CNY/t" in figures
    assert not re.search(r"\d\.\d{5,}", figures)  # no raw floats
