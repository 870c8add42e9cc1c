"""The alert store: where it lives, its schema and migrations, storing alerts once, the state
machine, filters, watermarks, deliveries, and real concurrent processes (a reader never blocks
or breaks a writer; a writer killed mid-transaction leaves the store consistent)."""

from __future__ import annotations

import datetime as dt
import json
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from pathlib import Path

import pytest

from desk.store import audit
from desk.store.alerts import (
    MIGRATIONS,
    AlertStateError,
    acknowledge,
    deliveries_due,
    deliveries_of,
    get_alert,
    insert_alerts,
    list_alerts,
    open_alert_store,
    open_critical,
    record_delivery,
    resolve,
    set_watermark,
    watermark,
)
from desk.store.sqlite import (
    StoreError,
    default_store_path,
    ensure_schema,
    open_store,
    schema_version,
    store_path,
    transaction,
)
from engine.alerts.records import Alert

REPO = Path(__file__).resolve().parents[3]


def make_alert(day: int, rule="cumulative", severity="warning", instrument="CEA", threshold=0.1):
    date = dt.date(2024, 1, 1) + dt.timedelta(days=day)
    return Alert(
        rule=rule,
        instrument=instrument,
        date=date,
        severity=severity,
        message=f"{instrument} moved on {date}",
        figures={"close": 80.0 + day, "move": 0.11, "window_sessions": 20},
        parameters={"threshold": threshold, "window": 20},
    )


@pytest.fixture()
def conn(tmp_path):
    connection = open_alert_store(tmp_path / "store.sqlite")
    yield connection
    connection.close()


def store(conn, alerts, **kwargs):
    with transaction(conn):
        return insert_alerts(conn, alerts, source="test", **kwargs)


# -- where the store lives -----------------------------------------------------------------


def test_store_path_precedence(tmp_path):
    env = {"CARBON_STORE": str(tmp_path / "env.sqlite"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    configured = tmp_path / "configured.sqlite"
    assert store_path(tmp_path / "option.sqlite", configured, env) == tmp_path / "option.sqlite"
    assert store_path(None, configured, env) == tmp_path / "env.sqlite"
    assert store_path(None, configured, {**env, "CARBON_STORE": ""}) == configured
    xdg = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    user = tmp_path / "xdg" / "carbon-desk" / "store.sqlite"
    # nothing named: the working directory's store, never the user's unasked
    assert store_path(None, None, xdg) == Path.cwd() / "store.sqlite"
    # "user" names the per-user store, wherever a store is named
    assert store_path("user", configured, xdg) == user
    assert store_path(None, configured, {**xdg, "CARBON_STORE": "user"}) == user
    assert store_path(None, "user", xdg) == user
    home = Path.home() / ".local" / "share" / "carbon-desk" / "store.sqlite"
    assert default_store_path({}) == home
    assert default_store_path({"XDG_DATA_HOME": "relative/dir"}) == home  # the spec: ignore it
    assert store_path("~/x.sqlite", None, {}) == Path.home() / "x.sqlite"


# -- opening and migrating -------------------------------------------------------------------


def test_open_store_settings_and_schema(conn):
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    assert schema_version(conn, "alerts") == 2 and schema_version(conn, "audit") == 2
    before = conn.total_changes
    open_alert_store(Path(conn.execute("PRAGMA database_list").fetchone()[2])).close()
    ensure_schema(conn, "alerts", MIGRATIONS)
    assert conn.total_changes == before  # opening again writes nothing


def test_migrations_apply_once_in_order(tmp_path):
    conn = open_store(tmp_path / "s.sqlite")
    v1 = ("CREATE TABLE things (id INTEGER PRIMARY KEY);",)
    v2 = (
        *v1,
        "ALTER TABLE things ADD COLUMN name TEXT;\nCREATE INDEX things_name ON things (name);",
    )
    assert ensure_schema(conn, "things", v1) == 1
    assert ensure_schema(conn, "things", v1) == 1
    assert ensure_schema(conn, "things", v2) == 2
    columns = [row[1] for row in conn.execute("PRAGMA table_info(things)")]
    assert columns == ["id", "name"]
    with pytest.raises(
        StoreError, match="version 2 of the 'things' tables; this carbon-desk knows"
    ):
        ensure_schema(conn, "things", v1)
    # a failing migration leaves the previous version and no half-made table
    bad = (*v2, "CREATE TABLE more (id INTEGER);\nCREATE TABLE things (id INTEGER);")
    with pytest.raises(sqlite3.OperationalError):
        ensure_schema(conn, "things", bad)
    assert schema_version(conn, "things") == 2
    assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'more'").fetchone() is None


def test_store_that_cannot_be_used(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create the store's folder"):
        open_store(blocker / "store.sqlite")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="is not a carbon store"):
        open_store(garbage)
    assert garbage.read_bytes() == b"this is not sqlite" * 100  # untouched
    with pytest.raises(StoreError, match=r"no store at .*carbon alerts check creates one"):
        open_store(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()


def _as_unprivileged(check) -> tuple[int, str]:
    """Run ``check()`` in a forked child that drops to ``nobody`` first when the tests run as
    root (root writes read-only files), and return its exit code and what it wrote. A fork,
    not a subprocess: the child needs no access to the interpreter's files (root's home)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        code = 1
        try:
            os.close(read)
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            message = check()
            code = 0
        except BaseException as exc:
            message = "".join(traceback.format_exception(exc))
        finally:
            os.write(write, str(message).encode())
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), text


def test_read_only_store():
    """A store its user may read but not write: opening it to write is a StoreError that says
    to check the permissions (run as ``nobody`` when the tests run as root)."""
    base = Path(tempfile.mkdtemp(prefix="carbon-ro-"))
    path = base / "ro" / "store.sqlite"
    try:
        open_alert_store(path).close()
        os.chmod(base, 0o755)
        os.chmod(path.parent, 0o555)
        os.chmod(path, 0o444)

        def check() -> str:
            reader = sqlite3.connect(f"file:{path}?immutable=1", uri=True)  # readable
            assert reader.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
            reader.close()
            try:
                conn = open_alert_store(path)
                store(conn, [make_alert(1)])
            except StoreError as exc:
                return f"refused: {exc}"
            return "written"

        code, text = _as_unprivileged(check)
        assert code == 0, text
        assert text.startswith("refused: ") and "permissions" in text, text
    finally:
        os.chmod(path.parent, 0o700)
        shutil.rmtree(base, ignore_errors=True)


# -- storing once ----------------------------------------------------------------------------


def test_an_alert_is_stored_once(conn):
    alerts = [make_alert(1), make_alert(2, severity="critical")]
    new = store(conn, [*alerts, make_alert(1)])  # a duplicate within the batch, too
    assert [a.key for a in new] == [a.key for a in alerts]
    assert [a.id for a in new] == [1, 2] and all(a.state == "open" for a in new)
    assert store(conn, alerts) == []  # the same night again
    # the same move under another threshold is another alert
    again = store(conn, [make_alert(1, threshold=0.15)])
    assert len(again) == 1 and again[0].id == 3
    assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 3
    stored = get_alert(conn, 1)
    assert stored.to_dict() | {"created_at": None} == {
        "id": 1, "key": alerts[0].key, "rule": "cumulative", "instrument": "CEA",
        "date": "2024-01-02", "severity": "warning", "state": "open",
        "message": "CEA moved on 2024-01-02",
        "figures": {"close": 81.0, "move": 0.11, "window_sessions": 20},
        "parameters": {"threshold": 0.1, "window": 20}, "source": "test", "created_at": None,
        "acknowledged_by": None, "acknowledged_at": None, "acknowledged_note": None,
        "resolved_by": None, "resolved_at": None, "resolved_note": None,
    }  # fmt: skip


def test_figures_are_json_ready(conn):
    import numpy as np

    alert = Alert("reference", "CEA", dt.date(2024, 3, 1), "info", "m",
                  {"move": np.float64(0.12), "nan": float("nan"), "day": dt.date(2024, 2, 1)},
                  {"price": 92})  # fmt: skip
    (stored,) = store(conn, [alert])
    assert stored.figures == {"move": 0.12, "nan": None, "day": "2024-02-01"}


def test_writers_refuse_to_run_outside_a_transaction(conn):
    with pytest.raises(RuntimeError, match="inside `with transaction"):
        insert_alerts(conn, [make_alert(1)], source="test")
    store(conn, [make_alert(1)])
    with pytest.raises(RuntimeError):
        acknowledge(conn, 1, by="alice")
    with pytest.raises(RuntimeError):
        audit.append(conn, "run", "r1", {})


# -- the state machine -----------------------------------------------------------------------


def test_acknowledge_then_resolve(conn):
    store(conn, [make_alert(1), make_alert(2)])
    with transaction(conn):
        seen = acknowledge(conn, 1, by=" alice ", note="hedged", now="2024-01-03T08:00:00Z")
    assert (seen.state, seen.acknowledged_by, seen.acknowledged_note, seen.acknowledged_at) == (
        "acknowledged", "alice", "hedged", "2024-01-03T08:00:00Z",
    )  # fmt: skip
    with transaction(conn):
        done = resolve(conn, 1, by="bob", note="back in range")
        direct = resolve(conn, 2, by="bob")  # open -> resolved is allowed
    assert (done.state, done.resolved_by, done.acknowledged_by) == ("resolved", "bob", "alice")
    assert direct.state == "resolved" and direct.acknowledged_by is None
    events = [h["payload"]["event"] for h in audit.history(conn, "alert", seen.key)]
    assert events == ["stored", "acknowledged", "resolved"]


@pytest.mark.parametrize(
    ("steps", "last", "message"),
    [
        (["resolve"], "resolve", "alert 1 is already resolved \\(by bob at .*\\); only open or"),
        (["ack"], "ack", "alert 1 is already acknowledged \\(by bob .*only open alerts can be"),
        (["resolve"], "ack", "already resolved"),
        ([], "ack99", "no alert with id 99 in this store"),
        ([], "nobody", "say who acknowledged alert 1"),
    ],
)
def test_refused_changes(conn, steps, last, message):
    store(conn, [make_alert(1)])
    do = {
        "ack": lambda: acknowledge(conn, 1, by="bob"),
        "resolve": lambda: resolve(conn, 1, by="bob"),
        "ack99": lambda: acknowledge(conn, 99, by="bob"),
        "nobody": lambda: acknowledge(conn, 1, by="  "),
    }
    for step in steps:
        with transaction(conn):
            do[step]()
    entries = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    with pytest.raises(AlertStateError, match=message), transaction(conn):
        do[last]()
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == entries
    assert audit.verify(conn) is None


def test_a_refused_change_rolls_back_the_whole_transaction(conn):
    store(conn, [make_alert(1), make_alert(2)])
    with pytest.raises(AlertStateError), transaction(conn):
        acknowledge(conn, 1, by="alice")
        acknowledge(conn, 99, by="alice")
    assert get_alert(conn, 1).state == "open"
    assert [
        h["payload"]["event"] for h in audit.history(conn, "alert", get_alert(conn, 1).key)
    ] == ["stored"]


# -- reading ---------------------------------------------------------------------------------


def test_list_filters_match_a_brute_force_filter(conn):
    alerts = [
        make_alert(day, rule=rule, severity=severity, instrument=instrument)
        for day in range(0, 40, 3)
        for rule, severity in (("cumulative", "warning"), ("band_lock", "critical"),
                               ("volatility", "info"))
        for instrument in ("CEA", "CEA:power-co", "CEA-reference", "EUA")
    ]  # fmt: skip
    store(conn, alerts)
    with transaction(conn):
        for alert_id in range(1, 60, 4):
            acknowledge(conn, alert_id, by="a")
        for alert_id in range(1, 60, 8):
            resolve(conn, alert_id, by="b")
    everything = list_alerts(conn)
    assert len(everything) == len(alerts)
    rank = {"info": 0, "warning": 1, "critical": 2}
    cases = [
        {"states": ("open",)},
        {"states": ("open", "acknowledged"), "min_severity": "warning"},
        {"rules": ("band_lock", "volatility"), "instrument": "CEA"},
        {"instrument": "CEA", "since": dt.date(2024, 1, 10), "until": dt.date(2024, 1, 25)},
        {"min_severity": "critical", "limit": 5},
    ]
    for case in cases:
        expected = [
            a for a in everything
            if a.state in case.get("states", (a.state,))
            and rank[a.severity] >= rank[case.get("min_severity", "info")]
            and a.rule in case.get("rules", (a.rule,))
            and (a.instrument in ("CEA", "CEA:power-co") if "instrument" in case else True)
            and case.get("since", a.date) <= a.date <= case.get("until", a.date)
        ]  # fmt: skip
        expected.sort(key=lambda a: (a.date, a.id))
        if "limit" in case:
            expected = sorted(expected, key=lambda a: (a.date, a.id))[-case["limit"] :]
        assert [a.id for a in list_alerts(conn, **case)] == [a.id for a in expected], case
    assert {a.instrument for a in open_critical(conn, "CEA")} == {"CEA", "CEA:power-co"}


def test_watermarks(conn):
    assert watermark(conn, "CEA", "reference", "prices") is None
    with transaction(conn):
        set_watermark(conn, "CEA", "reference", "prices", dt.date(2026, 6, 30))
        set_watermark(conn, "CEA", "reference", "volatility", dt.date(2026, 6, 1))
    with transaction(conn):
        set_watermark(conn, "CEA", "reference", "prices", dt.date(2026, 7, 1))
    assert watermark(conn, "CEA", "reference", "prices") == dt.date(2026, 7, 1)
    assert watermark(conn, "CEA", "reference", "volatility") == dt.date(2026, 6, 1)
    assert watermark(conn, "CEA", "/data/cea.csv", "prices") is None


def test_deliveries_follow_each_notifiers_least_severity(conn):
    alerts = [make_alert(1, severity="info"), make_alert(2), make_alert(3, severity="critical")]
    store(conn, alerts, notifiers={"log": "info", "hook": "critical"})
    due = deliveries_due(conn, ["log", "hook"])
    assert [(d.alert.id, d.notifier, d.status, d.attempts) for d in due] == [
        (1, "log", "pending", 0), (2, "log", "pending", 0),
        (3, "hook", "pending", 0), (3, "log", "pending", 0),
    ]  # fmt: skip
    assert deliveries_due(conn, ["other"]) == [] and deliveries_due(conn, []) == []
    with transaction(conn):
        record_delivery(conn, 3, "hook", error="HTTP 500")
        record_delivery(conn, 3, "log", error=None)
    (failed,) = [d for d in deliveries_due(conn, ["hook"])]
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 1, "HTTP 500")
    with transaction(conn):
        record_delivery(conn, 3, "hook", error=None)
    assert [(d.notifier, d.status, d.attempts) for d in deliveries_of(conn, 3)] == [
        ("hook", "sent", 2), ("log", "sent", 1),
    ]  # fmt: skip


# -- real processes --------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import datetime as dt, json, sys, time
    from desk.store.alerts import insert_alerts, open_alert_store
    from desk.store.sqlite import transaction
    from engine.alerts.records import Alert

    path, name, count, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    conn = open_alert_store(path)
    for start in range(0, count, batch):
        alerts = [
            Alert("cumulative", name, dt.date(2000, 1, 1) + dt.timedelta(days=i), "warning",
                  f"{name} {i}", {"move": 0.1 + i / 1e6}, {"threshold": 0.1})
            for i in range(start, min(count, start + batch))
        ]
        with transaction(conn):
            insert_alerts(conn, alerts, source="writer", notifiers={"hook": "info"})
            if start + batch >= count // 2 and sys.argv[5:] == ["stall"]:
                print("inside", flush=True)  # mid-transaction, rows written: kill me here
                time.sleep(120)
        print(f"committed {min(count, start + batch)}", flush=True)
    print(json.dumps({"committed": count}), flush=True)
    """
)

READER = textwrap.dedent(
    """
    import json, os, sys, time
    from desk.store.alerts import list_alerts, open_alert_store
    from desk.store.sqlite import snapshot

    path, stop, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
    conn = open_alert_store(path)
    outside = open_alert_store(path)
    reads, seen, problems, overtaken = 0, 0, [], 0
    while not os.path.exists(stop):
        with snapshot(conn):  # a long read: the writer must not wait for it
            alerts = list_alerts(conn)
            entries = conn.execute("SELECT count(*) FROM audit WHERE kind = 'alert'").fetchone()[0]
            time.sleep(hold)
            again = len(list_alerts(conn))
            # commits that landed while this snapshot was held: writers did not wait for it
            now = outside.execute("SELECT count(*) FROM alerts").fetchone()[0]
            overtaken += now > len(alerts)
        if entries != len(alerts) or again != len(alerts) or len(alerts) < seen:
            problems.append([len(alerts), entries, again, seen])
        seen, reads = len(alerts), reads + 1
    print(json.dumps({"reads": reads, "seen": seen, "problems": problems,
                      "overtaken": overtaken}), flush=True)
    """
)


def _python(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def test_readers_never_block_or_break_writers(tmp_path):
    """Two writers store 300 alerts each in batches of 10 while a reader holds 0.5 s snapshots
    in a loop and the ``carbon alerts list`` command runs: no writer waits for the reader
    (writers commit while a snapshot is held: the reader sees, from a second connection, more
    alerts than its snapshot holds; a property of the locking, not of the machine's speed),
    every snapshot is consistent (as many audit entries as alerts, unchanged within the
    snapshot, never fewer than before), and the store ends with 600 alerts and an intact
    chain."""
    path = tmp_path / "store.sqlite"
    open_alert_store(path).close()
    stop = tmp_path / "stop"
    reader = _python(READER, str(path), str(stop), "0.5")
    time.sleep(1.0)  # the reader is reading
    writers = [_python(WRITER, str(path), name, "300", "10") for name in ("CEA", "EUA")]
    listed = []
    while any(w.poll() is None for w in writers):
        command = [sys.executable, "-m", "desk", "alerts", "list", "--state", "all", "--json",
                   "--store", str(path)]  # fmt: skip
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        listed.append(len(done.stdout.splitlines()))
    results = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        results.append(json.loads(out.splitlines()[-1]))
    stop.touch()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    report = json.loads(out)
    assert report["problems"] == [] and report["reads"] >= 2
    assert report["overtaken"] >= 1  # commits landed while a snapshot was held
    assert [r["committed"] for r in results] == [300, 300]
    assert listed == sorted(listed) and all(0 <= n <= 600 for n in listed)
    conn = open_alert_store(path)
    assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 600
    assert audit.verify(conn) is None
    conn.close()


def test_a_writer_killed_mid_transaction_leaves_the_store_consistent(tmp_path):
    """A writer stores 100 alerts in batches of 20 and is killed (SIGKILL) inside the third
    transaction, after writing its rows: the store opens, passes integrity_check, holds exactly
    the 40 committed alerts with their audit entries and deliveries, the chain verifies, and the
    next writer carries on from there."""
    path = tmp_path / "store.sqlite"
    writer = _python(WRITER, str(path), "CEA", "100", "20", "stall")
    lines = []
    while not lines or lines[-1] != "inside":
        line = writer.stdout.readline().strip()
        assert line or writer.poll() is None, writer.stderr.read()
        lines.append(line)
    os.kill(writer.pid, signal.SIGKILL)
    writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert lines[:-1] == ["committed 20", "committed 40"]
    assert Path(f"{path}-wal").exists()  # the unfinished transaction's pages may be in it

    conn = open_alert_store(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counts = [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
              for table in ("alerts", "audit", "alert_deliveries")]  # fmt: skip
    assert counts == [40, 80, 40]  # an entry for each alert and one for each delivery
    assert audit.verify(conn) is None
    orphans = conn.execute(
        "SELECT count(*) FROM alerts a WHERE NOT EXISTS "
        "(SELECT 1 FROM audit WHERE kind = 'alert' AND key = a.key)"
    ).fetchone()[0]
    assert orphans == 0
    conn.close()

    again = _python(WRITER, str(path), "CEA", "100", "20")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    conn = open_alert_store(path)
    assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 100
    assert audit.verify(conn) is None
    conn.close()
