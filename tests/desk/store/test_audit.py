"""The audit chain: hashes recomputed by hand, an alert and its entry landing together or not at
all, and tampering (a raw UPDATE of an alert row, of an audit row, a deleted or forged row) found
and named by ``verify`` and by ``carbon audit verify``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3

import pytest
from click.testing import CliRunner

from desk import exit_codes
from desk.cli import cli
from desk.store import audit
from desk.store.alerts import acknowledge, insert_alerts, open_alert_store, resolve
from desk.store.sqlite import ensure_schema, transaction
from engine.alerts.records import Alert


def _alert(day: int, severity: str = "warning") -> Alert:
    return Alert("cumulative", "CEA", dt.date(2025, 9, 1) + dt.timedelta(days=day), severity,
                 f"CEA fell on day {day}", {"close": 64.74 - day, "move": -0.101},
                 {"threshold": 0.1, "window": 20})  # fmt: skip


@pytest.fixture()
def path(tmp_path):
    return tmp_path / "store.sqlite"


@pytest.fixture()
def conn(path):
    connection = open_alert_store(path)
    with transaction(connection):
        insert_alerts(connection, [_alert(0), _alert(1), _alert(2, "critical")], source="test")
    with transaction(connection):
        acknowledge(connection, 1, by="alice", note="seen")
        resolve(connection, 3, by="bob", note="hedged")
    yield connection
    connection.close()


def _raw(path):
    """A separate plain connection, as someone editing the file by hand would use."""
    return sqlite3.connect(path, isolation_level=None)


def test_hashes_follow_the_documented_formula(conn):
    rows = conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    prev = "0" * 64
    for row in rows:
        entry = {key: row[key] for key in ("seq", "kind", "key", "recorded_at")}
        entry["payload"] = json.loads(row["payload"])
        text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert row["prev_hash"] == prev
        assert row["hash"] == hashlib.sha256((prev + text).encode()).hexdigest()
        prev = row["hash"]
    found, head = audit.problems(conn)
    assert found == [] and head == audit.ChainHead(5, prev)
    # each entry holds the row as it was then
    last = json.loads(rows[-1]["payload"])
    assert last["event"] == "resolved" and last["record"]["resolved_note"] == "hedged"
    assert last["record"] == dict(conn.execute("SELECT * FROM alerts WHERE id = 3").fetchone())


def test_a_row_and_its_entry_land_together_or_not_at_all(conn):
    with pytest.raises(ZeroDivisionError), transaction(conn):
        insert_alerts(conn, [_alert(10)], source="test")
        acknowledge(conn, 2, by="carol")
        _ = 1 / 0  # the run fails before the transaction ends
    assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 3
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 5
    assert conn.execute("SELECT state FROM alerts WHERE id = 2").fetchone()[0] == "open"
    assert audit.verify(conn) is None


def test_audit_rows_refuse_update_and_delete(conn, path):
    raw = _raw(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE audit SET payload = '{}' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM audit WHERE seq = 5")
    raw.close()
    assert audit.verify(conn) is None


def _tamper(path, *statements):
    """Edit the file as a determined person would: drop the guards, then change rows."""
    raw = _raw(path)
    raw.execute("DROP TRIGGER IF EXISTS audit_no_update")
    raw.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for statement in statements:
        raw.execute(statement)
    raw.close()


def test_an_edited_alert_row_is_found(conn, path):
    key = conn.execute("SELECT key FROM alerts WHERE id = 3").fetchone()[0]
    _tamper(path, "UPDATE alerts SET state = 'open', resolved_by = NULL WHERE id = 3")
    broken = audit.verify(conn)
    assert (broken.seq, broken.kind, broken.key) == (5, "alert", key)
    assert "state is 'open' in alerts, 'resolved' as audited" in broken.problem
    assert "resolved_by is None in alerts, 'bob' as audited" in broken.problem


def test_edited_figures_are_found(conn, path):
    _tamper(path, 'UPDATE alerts SET figures = \'{"close":70.0,"move":-0.05}\' WHERE id = 2')
    broken = audit.verify(conn)
    assert broken.seq == 2 and broken.problem.startswith('figures is \'{"close":70.0')


def test_an_edited_audit_row_is_found(conn, path):
    _tamper(path, "UPDATE audit SET payload = replace(payload, 'alice', 'mallory') WHERE seq = 4")
    broken = audit.verify(conn)
    assert (broken.seq, broken.kind) == (4, "alert")
    assert "does not hash to its stored hash" in broken.problem


def test_an_audit_row_rewritten_with_a_new_hash_breaks_the_next_link(conn, path):
    row = conn.execute("SELECT * FROM audit WHERE seq = 2").fetchone()
    payload = json.loads(row["payload"])
    payload["record"]["severity"] = "info"
    text = audit.canonical(payload)
    forged = audit.entry_hash(
        row["prev_hash"], 2, row["kind"], row["key"], row["recorded_at"], text
    )
    _tamper(path, f"UPDATE audit SET payload = '{text}', hash = '{forged}' WHERE seq = 2",
            "UPDATE alerts SET severity = 'info' WHERE id = 2")  # fmt: skip
    broken = audit.verify(conn)
    assert broken.seq == 3
    assert "is not the hash of entry 2" in broken.problem


def test_deleted_and_forged_rows_are_found(conn, path):
    _tamper(path, "DELETE FROM audit WHERE seq = 3")
    assert audit.verify(conn).problem == "entries 3 to 3 are missing"
    found, _ = audit.problems(conn)
    # alert 3 has lost its 'stored' entry but its latest ('resolved', seq 5) still matches;
    # the chain break is the first link named
    assert [b.seq for b in found] == [4]


def test_rows_without_entries_and_entries_without_rows(tmp_path):
    conn = open_alert_store(tmp_path / "s.sqlite")
    with transaction(conn):
        insert_alerts(conn, [_alert(0), _alert(1)], source="test")
    _tamper(tmp_path / "s.sqlite",
            "INSERT INTO alerts (key, rule, instrument, date, severity, message, figures, "
            "parameters, source, created_at) VALUES ('forged', 'cumulative', 'CEA', "
            "'2025-09-09', 'critical', 'm', '{}', '{}', 'x', 'now')",
            "DELETE FROM alerts WHERE id = 1")  # fmt: skip
    found, _ = audit.problems(conn)
    assert [(b.seq, b.key) for b in found] == [(1, _alert(0).key), (None, "forged")]
    assert found[0].problem == "its row is missing from alerts"
    assert found[1].problem == "a row of alerts that no audit entry records"
    conn.close()


def test_other_audited_tables(tmp_path):
    """The lead's runs and plans use the same append and the same check."""
    conn = open_alert_store(tmp_path / "s.sqlite")
    ensure_schema(conn, "things", ("CREATE TABLE things (id TEXT PRIMARY KEY, body TEXT);",))
    things = audit.Audited("thing", "things", "id")
    with transaction(conn):
        conn.execute("INSERT INTO things VALUES ('r1', 'plan A')")
        head = audit.append_row(conn, things, "r1", "stored")
    assert audit.problems(conn, (things,))[1].head == head
    conn.execute("UPDATE things SET body = 'plan B' WHERE id = 'r1'")
    assert audit.verify(conn, (things,)).problem == (
        "body is 'plan B' in things, 'plan A' as audited"
    )
    assert audit.verify(conn, ()) is None  # the chain alone is intact
    # a later migration adds a column: old rows still verify while it is NULL
    conn.execute("UPDATE things SET body = 'plan A' WHERE id = 'r1'")
    ensure_schema(conn, "things", ("CREATE TABLE things (id TEXT PRIMARY KEY, body TEXT);",
                                   "ALTER TABLE things ADD COLUMN owner TEXT;"))  # fmt: skip
    assert audit.verify(conn, (things,)) is None
    conn.execute("UPDATE things SET owner = 'eve' WHERE id = 'r1'")
    assert audit.verify(conn, (things,)).problem == (
        "owner is 'eve' in things, '<no column>' as audited"
    )
    conn.close()


def _verify(*args):
    return CliRunner().invoke(cli, ["audit", "verify", *args], catch_exceptions=False)


def test_carbon_audit_verify(conn, path):
    result = _verify("--store", str(path))
    assert result.exit_code == 0
    head = conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert result.stdout == (
        f"audit chain intact: 5 entries, every audited row matches its latest entry; head {head}\n"
    )
    assert result.stderr.startswith("warning: the chain is UNKEYED: whoever can write the store")
    key = conn.execute("SELECT key FROM alerts WHERE id = 1").fetchone()[0]
    _tamper(path, "UPDATE alerts SET state = 'resolved' WHERE id = 1",
            "UPDATE audit SET key = 'x' WHERE seq = 3")  # fmt: skip
    result = _verify("--store", str(path))
    assert result.exit_code == exit_codes.AUDIT_BROKEN == 8
    assert result.stderr.startswith(
        "audit chain broken at entry 3 (alert x): the entry's content does not hash"
    )
    assert "(3 problems in all)" in result.stderr
    report = json.loads(_verify("--store", str(path), "--json").stdout)
    assert report["intact"] is False and report["entries"] == 5
    # the edited entry, the subject 'x' it now names (no such row), and alert 1's row
    assert [(p["seq"], p["key"]) for p in report["problems"]] == [(3, "x"), (3, "x"), (4, key)]


def test_carbon_audit_verify_without_a_store(tmp_path):
    result = _verify("--store", str(tmp_path / "none.sqlite"))
    assert result.exit_code == exit_codes.CONFIG
    assert result.stderr.startswith("error: no store at ")
