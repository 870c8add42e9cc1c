"""The keyed audit chain: entries authenticated by HMAC-SHA256 under a key kept outside the
store. Appending an entry without the key (with the project's own ``append_row``), rewriting one
and recomputing every later hash, or cutting entries off the end is found; a store made before
the key is reported unkeyed until ``carbon audit rekey`` anchors it."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat

import pytest
from click.testing import CliRunner

from desk import exit_codes
from desk.cli import cli
from desk.store import audit
from desk.store.alerts import acknowledge, insert_alerts, open_alert_store, set_watermark
from desk.store.audit_key import AuditKeyError, create_key_file, load_key
from desk.store.sqlite import open_store, transaction
from engine.alerts.records import Alert


@pytest.fixture(autouse=True)
def no_key_around(monkeypatch, tmp_path):
    """No key from the machine running the tests: a private config home, no key variables."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("CARBON_AUDIT_KEY", raising=False)
    monkeypatch.delenv("CARBON_AUDIT_KEY_FILE", raising=False)


def _alert(day: int, severity: str = "warning") -> Alert:
    return Alert("cumulative", "CEA", dt.date(2025, 9, 1) + dt.timedelta(days=day), severity,
                 f"CEA fell on day {day}", {"close": 64.74 - day}, {"threshold": 0.1})  # fmt: skip


@pytest.fixture()
def key(tmp_path):
    return create_key_file(tmp_path / "keys" / "audit.key")


def _fill(path, key_file=None, day=0):
    """Two alerts (with a delivery each), a watermark, an acknowledgement: six entries."""
    conn = open_alert_store(path, key_file=key_file)
    with transaction(conn):
        new = insert_alerts(conn, [_alert(day), _alert(day + 1, "critical")], source="t",
                            notifiers={"log": "info"})  # fmt: skip
        set_watermark(conn, "CEA", "t", "prices", dt.date(2025, 9, 2 + day))
    with transaction(conn):
        acknowledge(conn, new[0].id, by="alice")
    return conn


def _raw(path):
    raw = sqlite3.connect(path, isolation_level=None)
    for trigger in ("audit_no_update", "audit_no_delete", "audit_mac_no_update",
                    "audit_mac_no_delete"):  # fmt: skip
        raw.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    return raw


def run(*args):
    return CliRunner().invoke(cli, ["audit", *args], catch_exceptions=False)


def test_init_key_writes_a_private_key_and_refuses_to_overwrite(tmp_path):
    result = run("init-key")
    assert result.exit_code == 0, result.output
    path = tmp_path / "config" / "carbon-desk" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(bytes.fromhex(path.read_text().strip())) == 32
    assert load_key().key_id in result.stdout  # found where init-key put it
    again = run("init-key")
    assert again.exit_code == exit_codes.CONFIG and "already holds an audit key" in again.stderr
    path.chmod(0o644)
    with pytest.raises(AuditKeyError, match=r"open to other users \(mode 0644\): chmod 600"):
        load_key()


def test_every_entry_carries_a_mac_under_the_key(tmp_path, key):
    conn = _fill(tmp_path / "s.sqlite", key.origin)
    found, head = audit.problems(conn)
    # two alerts, two deliveries, a watermark, an acknowledgement: six entries, six MACs
    assert found == [] and (head.entries, head.macs, head.key_id) == (6, 6, key.key_id)
    for row in conn.execute("SELECT a.hash, m.mac FROM audit a JOIN audit_mac m USING (seq)"):
        assert row["mac"] == key.mac(row["hash"])
    conn.close()


def test_an_entry_appended_without_the_key_is_found(tmp_path, key):
    """The issue's forgery: edit an alert, then append a correctly hashed entry for it with
    the project's own append_row, from a connection that has no key."""
    path = tmp_path / "s.sqlite"
    _fill(path, key.origin).close()
    raw = _raw(path)
    raw.execute("UPDATE alerts SET state = 'resolved', resolved_by = 'mallory' WHERE id = 2")
    raw.close()
    forger = open_store(path)  # the entry append_row would write, without the key's MAC
    record = audit.read_record(forger, audit.ALERTS, _alert(1, "critical").key)
    last = forger.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    text = audit.canonical({"event": "resolved", "record": record})
    digest = audit.entry_hash(last["hash"], 7, "alert", record["key"], "2026-01-01T00:00:00Z",
                              text)  # fmt: skip
    forger.execute("INSERT INTO audit VALUES (7, 'alert', ?, '2026-01-01T00:00:00Z', ?, ?, ?)",
                   (record["key"], text, last["hash"], digest))  # fmt: skip
    forger.close()
    conn = open_store(path, key_file=key.origin)
    broken = audit.verify(conn)
    assert broken.seq == 7 and "has no MAC although entry 1 before it has one" in broken.problem
    conn.close()
    # an honest writer without the key is refused before it writes anything
    honest = open_store(path)
    with pytest.raises(AuditKeyError, match=r"is keyed \(key id .*\) and no audit key is given"):
        audit.use_key(honest, None)
        with transaction(honest):
            audit.append_row(honest, audit.ALERTS, _alert(0).key, "stored")
    honest.close()


def test_an_entry_rewritten_with_every_later_hash_recomputed_is_found(tmp_path, key):
    path = tmp_path / "s.sqlite"
    _fill(path, key.origin).close()
    raw = _raw(path)
    raw.row_factory = sqlite3.Row
    rows = raw.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    prev = rows[0]["prev_hash"]
    for row in rows:  # the whole chain rehashed after editing entry 2's record
        payload = json.loads(row["payload"])
        if row["seq"] == 3:  # alert 2's "stored" entry
            payload["record"]["severity"] = "info"
        text = audit.canonical(payload)
        digest = audit.entry_hash(prev, row["seq"], row["kind"], row["key"],
                                  row["recorded_at"], text)  # fmt: skip
        raw.execute("UPDATE audit SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    (text, prev, digest, row["seq"]))  # fmt: skip
        prev = digest
    raw.execute("UPDATE alerts SET severity = 'info' WHERE id = 2")
    raw.close()
    conn = open_store(path)
    assert audit.problems(conn, audit.AUDITED)[0] == []  # the hashes alone agree ...
    audit.use_key(conn, key)
    broken = audit.verify(conn)  # ... the MACs do not
    assert broken.seq == 3 and "MAC does not match its hash" in broken.problem
    conn.close()
    result = run("verify", "--store", str(path))  # keyed, and no key given: exit 4, not "ok"
    assert result.exit_code == exit_codes.CONFIG and "cannot be authenticated" in result.stderr
    result = run("verify", "--store", str(path), "--key-file", key.origin)
    assert result.exit_code == exit_codes.AUDIT_BROKEN
    assert result.stderr.startswith("audit chain broken at entry 3 (alert ")


def test_another_key_is_named(tmp_path, key):
    path = tmp_path / "s.sqlite"
    _fill(path, key.origin).close()
    other = create_key_file(tmp_path / "other.key")
    result = run("verify", "--store", str(path), "--key-file", other.origin, "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == exit_codes.AUDIT_BROKEN and report["key_id"] == key.key_id
    assert f"made with key id {key.key_id}, not with the key given" in report["problems"][0][
        "problem"]  # fmt: skip
    with pytest.raises(AuditKeyError, match=f"is not the key of .* .key id {key.key_id}"):
        _fill(path, other.origin, day=10)


def test_head_and_verify_against_a_published_head(tmp_path, key, monkeypatch):
    path = tmp_path / "s.sqlite"
    monkeypatch.setenv("CARBON_AUDIT_KEY", key.secret.hex())
    conn = _fill(path)
    conn.close()
    head = run("head", "--store", str(path))
    assert head.exit_code == 0 and len(head.stdout.strip()) == 64 and head.stderr == ""
    published = head.stdout.strip()
    conn = open_alert_store(path)
    with transaction(conn):
        insert_alerts(conn, [_alert(5)], source="t")
    conn.close()
    ok = run("verify", "--store", str(path), "--head", published)
    assert ok.exit_code == 0, ok.output
    assert "every MAC matches key" in ok.stdout and "the published head is in it" in ok.stdout
    # cut the last three entries off with their MACs and rows: consistent inside the file ...
    raw = _raw(path)
    raw.execute("DELETE FROM audit_mac WHERE seq > 4")
    raw.execute("DELETE FROM audit WHERE seq > 4")
    raw.execute("DELETE FROM alerts WHERE id = 3")
    raw.execute("DELETE FROM alert_scans")
    raw.execute("UPDATE alerts SET state = 'open', acknowledged_by = NULL, acknowledged_at = NULL")
    raw.close()
    assert run("verify", "--store", str(path)).exit_code == 0
    # ... but not against the head published before
    cut = run("verify", "--store", str(path), "--head", published)
    assert cut.exit_code == exit_codes.AUDIT_BROKEN
    assert "is the hash of no entry: entries were cut off the end" in cut.stderr


def test_a_store_made_before_the_key_is_unkeyed_until_rekey(tmp_path, key):
    path = tmp_path / "s.sqlite"
    _fill(path).close()  # no key anywhere: unkeyed, as every store before this change
    plain = run("verify", "--store", str(path))
    assert plain.exit_code == 0 and "UNKEYED" in plain.stderr
    # with the key now set up, writes are refused until the store is anchored ...
    with pytest.raises(AuditKeyError, match=r"made without an audit key.*carbon audit rekey"):
        _fill(path, key.origin, day=10)
    keyed = run("verify", "--store", str(path), "--key-file", key.origin)
    assert keyed.exit_code == exit_codes.AUDIT_BROKEN and "the chain is unkeyed" in keyed.stderr
    # ... a broken store is not anchored ...
    raw = _raw(path)
    raw.execute("UPDATE alerts SET message = 'edited' WHERE id = 1")
    assert run("rekey", "--store", str(path), "--key-file", key.origin).exit_code == 4
    raw.execute("UPDATE alerts SET message = 'CEA fell on day 0' WHERE id = 1")
    raw.close()
    # ... an intact one is
    done = run("rekey", "--store", str(path), "--key-file", key.origin)
    assert done.exit_code == 0 and f"anchored under key {key.key_id}: 7 entries" in done.stdout
    after = run("verify", "--store", str(path), "--key-file", key.origin)
    assert after.exit_code == 0 and after.stderr == "", after.output
    conn = _fill(path, key.origin, day=20)  # and written to again, keyed
    assert audit.verify(conn) is None
    conn.close()


def test_the_store_and_its_journal_are_private(tmp_path):
    path = tmp_path / "deep" / "store.sqlite"
    conn = _fill(path)
    names = [path, path.with_name("store.sqlite-wal"), path.with_name("store.sqlite-shm")]
    modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in names}
    conn.close()
    assert modes == dict.fromkeys(modes, 0o600)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
