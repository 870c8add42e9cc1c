"""The nightly run on the reference market: outputs, the run record, a repeated night, an entity
that fails beside one that does not, and a run killed halfway."""

from __future__ import annotations

import datetime as dt
import json
import math
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from desk import exit_codes
from desk.cli import cli
from desk.config.desk import default_config_path, load_config
from desk.nightly.run import run_nightly
from engine.errors import ConfigurationError

BOOK = default_config_path().parent / "power_company_book.toml"
SMALL = """
[run]
paths = 2000
scenarios = 40
every = 20
out = "runs"

[markets.cea]
source = "reference"

[optimiser]
frontier = [0.0, 2.0]

[[entities]]
name = "power-co"
book = "{book}"
"""
# Pledges every tonne it holds, so its reserve floor (all its emissions) cannot be met within
# a trading budget of nothing: infeasible.
IMPOSSIBLE = BOOK.read_text().replace("reserve_floor_share = 0.10", "reserve_floor_share = 1.0")
IMPOSSIBLE = IMPOSSIBLE.replace("trading_budget = 60_000_000", "trading_budget = 0")


PINNED = {"model": "garch", "dist": "normal", "mu": 0.0, "omega": 0.05, "alpha": 0.08,
          "gamma": 0.0, "beta": 0.9, "nu": None, "last_variance": 2.0, "last_residual": 0.1,
          "last_price": 89.22, "last_date": "2026-06-30", "unchanged_prob": 0.0,
          "version": 1}  # fmt: skip


def write_config(folder: Path, extra: str = "") -> Path:
    path = folder / "desk.toml"
    path.write_text(SMALL.format(book=BOOK) + extra)
    return path


@pytest.fixture()
def night(tmp_path: Path):
    config = load_config(write_config(tmp_path))
    return run_nightly(config, store=tmp_path / "store.sqlite"), tmp_path


def test_a_night_writes_its_folder_and_its_record(night):
    run, tmp_path = night
    folder = tmp_path / "runs" / "2026-06-30"
    # the first night stores the history's alerts: critical ones nobody acknowledged exit 7
    assert run.folder == folder and run.exit_code == exit_codes.CRITICAL_ALERT
    assert run.alerts_critical and {(a["severity"], a["state"]) for a in run.alerts_critical} == {
        ("critical", "open")
    }
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert names == ["alerts.json", "metrics.json", "power-co/frontier.csv", "power-co/plan.csv",
                     "power-co/plan.json", "report.html", "run.json"]  # fmt: skip
    record = json.loads((folder / "run.json").read_text())
    assert record["seed"] == 0 and record["paths"] == 2000 and record["run_id"] == run.run_id
    assert record["inputs"]["config"]["sha256"] and record["inputs"]["book_power-co"]["sha256"]
    assert record["inputs"]["prices_cea"]["rows"] == 1199
    assert record["solvers"]["power-co"] in ("CLARABEL", "SCS")
    assert record["code"]["carbon_desk"] and record["code"]["cvxpy"]
    steps = record["timings_s"]
    for step in ("load cea", "fit cea", "simulate cea", "plan power-co", "evaluate power-co",
                 "frontier power-co", "alerts", "write", "total"):  # fmt: skip
        assert steps[step] >= 0
    plan = json.loads((folder / "power-co" / "plan.json").read_text())
    assert plan["out_of_sample"]["paths"] == 2000 and len(plan["frontier"]) == 2
    assert {k["name"] for k in plan["kpis"]} >= {"coverage", "compliance-cost saving"}
    # today's decision on 4 disjoint sets of 500 paths; the rules on the same 2,000 paths
    spread = plan["decision_spread"]
    assert (spread["sets"], spread["paths"]) == (4, 500) and len(spread["sell_t"]["values"]) == 4
    versus = plan["vs_best_rule"]
    assert versus["paths"] == 2000 and versus["rule"] in ("deadline", "even", "reserve", "forward")
    assert versus["plan_cost"] == pytest.approx(plan["out_of_sample"]["expected_cost"])
    assert steps["stability power-co"] >= 0 and steps["rules power-co"] >= 0
    # (allowances 2.28 Mt + forwards 0.2 Mt + CCER 50 kt + true-up 0.99 Mt) / 3.28 Mt
    assert plan["coverage"] == pytest.approx(1.0731707, abs=1e-6)
    kpis = {k["name"]: k for k in plan["kpis"]}
    ours, deadline = (
        plan["out_of_sample"]["expected_cost"],
        plan["buy_at_deadline"]["expected_cost"],
    )
    assert kpis["compliance-cost saving"]["value"] == pytest.approx(deadline - ours)
    assert kpis["expected compliance cost"]["value"] == pytest.approx(ours)
    conn = sqlite3.connect(tmp_path / "store.sqlite")
    stored = conn.execute("SELECT record FROM runs WHERE id = ?", (run.run_id,)).fetchone()
    assert json.loads(stored[0]) == record  # the store holds what run.json says


def test_a_repeated_night_gives_the_same_plan_and_no_duplicate_alert(night):
    first, tmp_path = night
    before = json.loads((first.folder / "power-co" / "plan.json").read_text())
    assert first.alerts_new, "the first night scans the whole history"
    critical = [str(a["id"]) for a in first.alerts_critical]
    acked = CliRunner().invoke(cli, ["alerts", "ack", *critical, "--by", "risk", "--store",
                                     str(tmp_path / "store.sqlite")])  # fmt: skip
    assert acked.exit_code == exit_codes.OK, acked.output
    second = run_nightly(load_config(tmp_path / "desk.toml"), store=tmp_path / "store.sqlite")
    # exit 7 means a critical alert nobody acknowledged: none is left
    assert first.exit_code == exit_codes.CRITICAL_ALERT and second.exit_code == exit_codes.OK
    assert second.alerts_critical == ()
    after = json.loads((second.folder / "power-co" / "plan.json").read_text())
    for plan in (before, after):  # how long the solver took is not part of the plan
        plan["plan"].pop("solve_time_s")
    assert after["plan"] == before["plan"] and after["out_of_sample"] == before["out_of_sample"]
    assert second.alerts_new == () and len(second.alerts_open) == len(first.alerts_open)
    conn = sqlite3.connect(tmp_path / "store.sqlite")
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    keys = [k for (k,) in conn.execute("SELECT key FROM alerts")]
    assert len(keys) == len(set(keys)) == len(first.alerts_open)


def test_an_infeasible_entity_is_reported_and_the_others_are_planned(tmp_path: Path):
    (tmp_path / "impossible.toml").write_text(IMPOSSIBLE)
    extra = '\n[[entities]]\nname = "stuck"\nbook = "impossible.toml"\n'
    run = run_nightly(load_config(write_config(tmp_path, extra)), store=tmp_path / "s.sqlite")
    assert run.exit_code == exit_codes.INFEASIBLE
    ok, stuck = run.entities
    assert ok.ok and ok.plan is not None and not stuck.ok
    assert "reserve" in str(stuck.error).lower()
    failed = json.loads((run.folder / "stuck" / "plan.json").read_text())
    assert failed["error"]["type"] == "Infeasible"
    assert (run.folder / "power-co" / "plan.csv").is_file()
    assert "no plan tonight: Infeasible: " in (run.folder / "report.html").read_text()


def test_a_changed_plan_or_run_in_the_store_is_found(night):
    run, tmp_path = night
    conn = sqlite3.connect(tmp_path / "store.sqlite")
    conn.execute("UPDATE plans SET plan = replace(plan, '\"seed\":0', '\"seed\":1')")
    conn.commit()
    result = CliRunner().invoke(cli, ["audit", "verify", "--store", str(tmp_path / "store.sqlite")])
    assert result.exit_code == exit_codes.AUDIT_BROKEN
    assert f"plan {run.run_id}/power-co" in result.output


def test_the_command_line_names_a_bad_key_and_exits_4(tmp_path: Path):
    path = write_config(tmp_path, "\n[targets]\ncoverage = 1\n")
    result = CliRunner().invoke(cli, ["nightly", "--config", str(path)])
    assert result.exit_code == exit_codes.CONFIG
    assert "targets.coverage = 1 is not a known key" in result.output


def test_json_logs_one_object_a_line_per_step(tmp_path: Path):
    path = write_config(tmp_path)
    result = CliRunner().invoke(
        cli, ["nightly", "--config", str(path), "--store", str(tmp_path / "s.sqlite"),
              "--log-format", "json"],
    )  # fmt: skip
    assert result.exit_code == exit_codes.CRITICAL_ALERT, result.output  # the history's
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    done = {e["step"] for e in events if e.get("event") == "step done"}
    assert {"load cea", "plan power-co", "alerts", "write"} <= done
    assert events[-1]["event"] == "run done" and events[-1]["exit_code"] == 7
    assert events[-1]["alerts_critical"] > 0


def test_a_night_killed_halfway_leaves_the_last_complete_folder(tmp_path: Path):
    """Kill the process while it writes the run folder: the folder of the previous run stays
    whole, no staging folder is mistaken for a run, and the store still verifies."""
    path = write_config(tmp_path)
    store = tmp_path / "s.sqlite"
    command = [sys.executable, "-m", "desk", "nightly", "--config", str(path), "--store",
               str(store), "--quiet"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, timeout=300)
    assert done.returncode == exit_codes.CRITICAL_ALERT, done.stderr  # the history's alerts
    folder = tmp_path / "runs" / "2026-06-30"
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if any(p.name.startswith(".2026-06-30-new-") for p in (tmp_path / "runs").iterdir()):
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before
    result = CliRunner().invoke(cli, ["audit", "verify", "--store", str(store)])
    assert result.exit_code == 0, result.output


def test_a_night_piped_into_head_keeps_its_exit_code(tmp_path: Path, closed_pipe):
    """``carbon nightly | head -1``, with a notifier that writes the alerts to that same
    output: the notifier's deliveries fail and wait for the next night, the run is stored
    whole, and the night exits with its own code."""
    path = write_config(tmp_path, '\n[[alerts.notifiers]]\nkind = "jsonl"\npath = "-"\n')
    store = tmp_path / "s.sqlite"
    done = closed_pipe([sys.executable, "-m", "desk", "nightly", "--config", str(path),
                        "--store", str(store), "--quiet"])  # fmt: skip
    assert done.returncode == exit_codes.CRITICAL_ALERT, done.stderr
    assert "Traceback" not in done.stderr
    record = json.loads((tmp_path / "runs" / "2026-06-30" / "run.json").read_text())
    assert record["run_id"]
    with sqlite3.connect(store) as conn:
        alerts = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
        waiting = conn.execute(
            "SELECT count(*) FROM alert_deliveries WHERE status IN ('pending', 'failed')"
        ).fetchone()[0]
        failed = conn.execute("SELECT count(*) FROM alert_deliveries WHERE status = 'failed'")
        assert failed.fetchone()[0] > 0
    assert alerts > 0 and waiting == alerts


def test_a_closed_stderr_does_not_stop_the_night(tmp_path: Path, closed_pipe):
    """``carbon nightly --log-format json 2>&1 | ...`` whose reader left: the step log is
    lost, the run is not."""
    path = write_config(tmp_path)
    done = closed_pipe([sys.executable, "-m", "desk", "nightly", "--config", str(path),
                        "--store", str(tmp_path / "s.sqlite"), "--log-format", "json"],
                       closed="stderr")  # fmt: skip
    assert done.returncode == exit_codes.CRITICAL_ALERT
    assert json.loads(done.stdout.splitlines()[-1])["event"] == "run done"
    assert (tmp_path / "runs" / "2026-06-30" / "run.json").is_file()


def book_variant(folder: Path, name: str, **changes: str) -> str:
    text = BOOK.read_text()
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    (folder / name).write_text(text)
    return name


def cycle(year: int, delivery: str) -> dict[str, str]:
    """The example book moved to another cycle (its vintages and forward with it)."""
    return {
        "cycle_year = 2025": f"cycle_year = {year}",
        "2025 = 2_129_400": f"{year} = 2_129_400",
        "2024 = 150_000": f"{year - 1} = 150_000",
        'delivery = "2026-06-30"': delivery,
    }


def test_a_pledge_alert_is_raised_once_however_many_nights_it_stays(tmp_path: Path):
    """A margin call (loan-to-value 0.90 at 89 CNY/t against a call at 0.70) fires on the first
    night and stays open; the next night does not store it again."""
    book = book_variant(tmp_path, "pledged.toml", **{"loan = 20_000_000": "loan = 40_000_000"})
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace(str(BOOK), str(tmp_path / book)))
    config = load_config(path)
    store = tmp_path / "s.sqlite"
    first = run_nightly(config, as_of=dt.date(2026, 6, 29), store=store)
    pledges = [a for a in first.alerts_new if a["rule"] == "pledge"]
    assert [a["severity"] for a in pledges] == ["critical"]
    assert first.exit_code == exit_codes.CRITICAL_ALERT
    second = run_nightly(config, as_of=dt.date(2026, 6, 30), store=store)
    assert [a for a in second.alerts_new if a["rule"] == "pledge"] == []


def test_the_deadline_benchmark_works_in_the_last_sessions(tmp_path: Path):
    """Seven sessions before the 2025-12-31 deadline of the 2024 cycle: one decision date."""
    book = book_variant(tmp_path, "late.toml", **cycle(2024, 'delivery = "2025-12-30"'))
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace(str(BOOK), str(tmp_path / book)))
    run = run_nightly(load_config(path), as_of=dt.date(2025, 12, 22), store=tmp_path / "s.sqlite")
    (entity,) = run.entities
    assert entity.ok, entity.error
    assert entity.days_to_deadline == 7 and entity.benchmark is not None


def test_an_entity_past_its_deadline_fails_alone_and_the_alerts_still_run(tmp_path: Path):
    book = book_variant(tmp_path, "old.toml", **cycle(2023, 'delivery = "2024-06-28"'))
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace(str(BOOK), str(tmp_path / book)))
    run = run_nightly(load_config(path), store=tmp_path / "s.sqlite")
    (entity,) = run.entities
    assert not entity.ok and "0 trading day(s) left" in str(entity.error)
    assert run.exit_code == exit_codes.CONFIG and run.alerts_new
    assert "nothing simulated" in (run.folder / "report.html").read_text()


def test_a_pinned_model_of_another_day_is_refused(tmp_path: Path):
    model = tmp_path / "model.json"
    model.write_text(json.dumps({**PINNED, "last_date": "2026-06-01"}))
    path = write_config(tmp_path)
    pinned = 'source = "reference"\nmodel_file = "model.json"'
    path.write_text(path.read_text().replace('source = "reference"', pinned))
    with pytest.raises(ConfigurationError, match="fitted on closes to 2026-06-01"):
        run_nightly(load_config(path), store=tmp_path / "s.sqlite")


def test_entities_whose_folders_would_collide_are_refused(tmp_path: Path):
    extra = f'\n[[entities]]\nname = "power co"\nbook = "{BOOK}"\n'
    with pytest.raises(ConfigurationError, match="'power-co', which is taken"):
        load_config(write_config(tmp_path, extra))
    extra = f'\n[[entities]]\nname = "run.json"\nbook = "{BOOK}"\n'
    with pytest.raises(ConfigurationError, match=r"'run\.json', which is taken"):
        load_config(write_config(tmp_path, extra))


def test_a_market_source_takes_the_read_options(tmp_path):
    """[markets.<code>] reads a workbook's sheet and a plain table's columns as the commands'
    source options do; an unknown format names its key."""
    import openpyxl

    import market_data as md

    closes = md.reference_market()["close"]
    book = openpyxl.Workbook()
    book.active.title = "notes"
    book.active.append(["nothing here"])
    sheet = book.create_sheet("CEA")
    sheet.append(["Trade day", "Settle price"])
    for day, close in closes.items():
        sheet.append([day.date().isoformat(), float(close)])
    book.save(tmp_path / "cea.xlsx")
    text = (
        default_config_path()
        .read_text()
        .replace(
            'source = "reference"',
            'source = "cea.xlsx"\nsheet = "CEA"\ndate_column = "Trade day"\n'
            'price_column = "Settle price"',
        )
    )
    (tmp_path / "desk.toml").write_text(text)
    (tmp_path / "power_company_book.toml").write_text(
        (default_config_path().parent / "power_company_book.toml").read_text()
    )
    config = load_config(tmp_path / "desk.toml")
    source = config.markets["cea"]
    assert (source.options.sheet, source.options.date_column) == ("CEA", "Trade day")
    run = run_nightly(config, out=tmp_path / "runs", store=tmp_path / "s.sqlite")
    assert run.markets["cea"].prices["close"].equals(closes)
    (tmp_path / "desk.toml").write_text(text.replace('sheet = "CEA"', 'format = "excel"'))
    with pytest.raises(ConfigurationError, match=r"markets\.cea\.format"):
        load_config(tmp_path / "desk.toml")


QUOTES = """
[[markets.cea.forwards]]
name = "bank"
carry_rate = 0.025
premium = 0.5
delivery = {delivery}
max_t = 100_000
"""


def test_a_night_proposes_hedges_on_the_quotes_and_says_the_currency(tmp_path: Path):
    path = write_config(tmp_path)
    text = path.read_text().replace('source = "reference"\n', 'source = "reference"\n' + QUOTES)
    path.write_text(text.format(delivery="2026-11-30"))
    result = CliRunner().invoke(
        cli, ["nightly", "--config", str(path), "--store", str(tmp_path / "s.sqlite")]
    )
    # a first night: the history's critical alerts are open and nobody acknowledged them
    assert result.exit_code == exit_codes.CRITICAL_ALERT, result.output
    record = json.loads((tmp_path / "runs/2026-06-30/power-co/plan.json").read_text())
    assert record["currency"] == "CNY"
    (hedge,) = record["plan"]["forward_hedges"]
    assert set(hedge) == {"quote", "delivery", "price", "tonnes", "max_t", "shadow_price"}
    # the bank's cost of carry on the last close, 89.22 on 2026-06-30, 153 days to delivery
    assert hedge["price"] == pytest.approx(89.22 * math.exp(0.025 * 153 / 365) + 0.5, rel=1e-12)
    assert hedge["quote"] == "bank" and hedge["delivery"] == "2026-11-30"
    assert 0 <= hedge["tonnes"] <= hedge["max_t"] + 1e-3 and hedge["shadow_price"] >= -1e-6
    assert record["plan"]["forward_t"] == pytest.approx(hedge["tonnes"])
    assert "E[cost] CNY " in result.output and "hedge bank: " in result.output
    assert "CNY/t, delivered 2026-11-30; one more tonne on offer is worth" in result.output


def test_a_stale_quote_fails_its_entity_naming_the_quote_and_exits_4(tmp_path: Path):
    path = write_config(tmp_path)
    text = path.read_text().replace('source = "reference"\n', 'source = "reference"\n' + QUOTES)
    path.write_text(text.format(delivery="2026-03-31"))
    run = run_nightly(load_config(path), store=tmp_path / "s.sqlite")
    (entity,) = run.entities
    assert run.exit_code == exit_codes.CONFIG
    message = "forward quote 'bank': delivery = 2026-03-31 is before today (2026-06-30)"
    assert message in str(entity.error)
