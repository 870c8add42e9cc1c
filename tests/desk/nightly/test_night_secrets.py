"""A night with a webhook whose token comes from the environment: the token is in no file the
night writes (run folder, store, its -wal and -shm, the notifier's file), and every file and
folder it writes is private to its owner (0600, 0700), whatever the umask."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from desk.config.desk import default_config_path, load_config
from desk.nightly.run import run_nightly

BOOK = default_config_path().parent / "power_company_book.toml"
TOKEN = "tok-3f9a1c7e5b2d4f60a8c1e9b7d3f5a2c4"
CONFIG = """
[run]
paths = 2000
scenarios = 40
every = 20
out = "runs"
store = "state/store.sqlite"

[markets.cea]
source = "reference"

[optimiser]
frontier = []

[[entities]]
name = "power-co"
book = "{book}"

[alerts]
[alerts.close_to_close]
threshold = 0.01                  # low: the night has alerts to deliver

[[alerts.notifiers]]
kind = "webhook"
name = "hook"
url = "http://127.0.0.1:9/carbon?channel=desk"
token_env = "CARBON_WEBHOOK_TOKEN"
min_severity = "info"
timeout_s = 2
retries = 0

[[alerts.notifiers]]
kind = "jsonl"
path = "log/alerts.jsonl"
"""


@pytest.fixture()
def night(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CARBON_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.delenv("CARBON_STORE", raising=False)
    home = tmp_path / "desk"
    home.mkdir()
    (home / "desk.toml").write_text(CONFIG.format(book=BOOK))
    config = load_config(home / "desk.toml")
    store = home / "state" / "store.sqlite"
    old = os.umask(0o002)  # a permissive umask: the modes must not come from it
    try:
        run = run_nightly(config)
        # a second reader keeps the -wal and -shm in place to be read and checked
        reader = sqlite3.connect(store)
        reader.execute("SELECT count(*) FROM audit").fetchone()
        run_nightly(config)  # again: a night that replaces its folder
    finally:
        os.umask(old)
    yield run, home, store
    reader.close()


def written(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*") if p.name != "desk.toml")


def test_the_token_is_in_no_file_the_night_writes(night):
    run, home, store = night
    files = [p for p in written(home) if p.is_file()]
    names = {p.name for p in files}
    assert {"run.json", "report.html", "alerts.json", "store.sqlite", "store.sqlite-wal",
            "store.sqlite-shm", "alerts.jsonl"} <= names  # fmt: skip
    hits = [p for p in files if TOKEN.encode() in p.read_bytes()]
    assert hits == []
    # the webhook was tried (and failed), so the token was read and sent
    conn = sqlite3.connect(store)
    failed = conn.execute(
        "SELECT count(*), min(last_error) FROM alert_deliveries WHERE notifier = 'hook' "
        "AND status = 'failed'"
    ).fetchone()
    conn.close()
    assert failed[0] > 0 and failed[1].startswith("POST http://127.0.0.1:9/carbon?<redacted>")
    assert "channel=desk" not in failed[1]
    record = json.loads((run.folder / "run.json").read_text())
    assert 'token_env = "CARBON_WEBHOOK_TOKEN"' in record["configuration"]
    print(f"\ntoken planted in the environment; {len(files)} files written, 0 hold it")


def test_everything_the_night_writes_is_private(night):
    _, home, _ = night
    modes = {str(p.relative_to(home)): stat.S_IMODE(p.stat().st_mode) for p in written(home)}
    wrong = {name: f"{mode:04o}" for name, mode in modes.items()
             if mode != (0o700 if (home / name).is_dir() else 0o600)}  # fmt: skip
    assert wrong == {}
    assert len(modes) >= 12
    print(f"\n{len(modes)} files and folders written, every one 0600 or 0700")


def test_the_store_records_a_configuration_with_its_credentials_redacted(tmp_path: Path):
    from desk.store.alerts import open_alert_store
    from desk.store.runs import record_run

    conn = open_alert_store(tmp_path / "s.sqlite")
    text = f'[[alerts.notifiers]]\nurl = "https://u:{TOKEN}@h.example.com"\n' + (
        f'headers = {{ Authorization = "Bearer {TOKEN}" }}\n'
    )
    record_run(conn, "r1", "2026-06-30", 0, {"configuration": text}, {})
    conn.close()
    assert TOKEN.encode() not in (tmp_path / "s.sqlite").read_bytes()
