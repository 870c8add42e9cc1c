"""Alerts that last: the alert table, its state machine (open -> acknowledged -> resolved, each
step with who, when and a note), the scan watermarks and the notifier deliveries.

An alert is stored once: the table is unique on the engine's key (rule, instrument, date and the
rule's parameters) and on those columns themselves, and a re-run's duplicates are ignored. Every
stored alert, every change of state, every delivery's outcome and every move of a watermark is
appended to the audit chain in the same transaction (so that marking a delivery ``sent`` or
moving a watermark to 2030 by hand is found by ``carbon audit verify``).
Writers here run inside the caller's ``store.transaction`` so that they can land together with
other writes (the check's watermark, the nightly run's record); readers need none.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from desk.store import audit
from desk.store.sqlite import (
    ensure_schema,
    now_utc,
    open_store,
    require_transaction,
    schema_version,
    transaction,
)
from engine.alerts.records import SEVERITIES, Alert, Severity
from engine.errors import ConfigurationError
from engine.jsonable import jsonable

State = Literal["open", "acknowledged", "resolved"]
STATES: tuple[State, ...] = ("open", "acknowledged", "resolved")
DeliveryStatus = Literal["pending", "sent", "failed"]

MIGRATIONS = (
    """
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        rule TEXT NOT NULL,
        instrument TEXT NOT NULL,
        date TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        message TEXT NOT NULL,
        figures TEXT NOT NULL,
        parameters TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'open'
            CHECK (state IN ('open', 'acknowledged', 'resolved')),
        acknowledged_by TEXT,
        acknowledged_at TEXT,
        acknowledged_note TEXT,
        resolved_by TEXT,
        resolved_at TEXT,
        resolved_note TEXT,
        UNIQUE (rule, instrument, date, parameters)
    );
    CREATE INDEX alerts_by_state ON alerts (state, severity);
    CREATE INDEX alerts_by_date ON alerts (instrument, date);
    CREATE TABLE alert_scans (
        instrument TEXT NOT NULL,
        source TEXT NOT NULL,
        scan TEXT NOT NULL,
        last_date TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (instrument, source, scan)
    );
    CREATE TABLE alert_deliveries (
        alert_id INTEGER NOT NULL REFERENCES alerts (id),
        notifier TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (alert_id, notifier)
    );
    CREATE INDEX alert_deliveries_due ON alert_deliveries (status, notifier);
    """,
    # version 2: deliveries and watermarks are audited; the rows of an older store are adopted
    # into the chain by ``ensure_alert_schema`` in the same transaction
    """
    CREATE INDEX alert_scans_by_date ON alert_scans (last_date);
    """,
)

# the transitions a person may make: target state -> the states it may come from
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "acknowledged": ("open",),
    "resolved": ("open", "acknowledged"),
}


class AlertStateError(ConfigurationError):
    """A change of state that the state machine refuses (acknowledging a resolved alert), or
    one that names no stored alert. Exit code 4 on the command line."""


@dataclass(frozen=True)
class StoredAlert:
    """An alert as the store holds it: the engine's record plus id, source, creation time and
    its state with who moved it, when, and their note."""

    id: int
    key: str
    rule: str
    instrument: str
    date: dt.date
    severity: Severity
    message: str
    figures: Mapping[str, Any]
    parameters: Mapping[str, Any]
    source: str
    created_at: str
    state: State
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None
    acknowledged_note: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    resolved_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``carbon alerts check/list --json`` and of the notifiers."""
        return {
            "id": self.id,
            "key": self.key,
            "rule": self.rule,
            "instrument": self.instrument,
            "date": self.date.isoformat(),
            "severity": self.severity,
            "state": self.state,
            "message": self.message,
            "figures": dict(self.figures),
            "parameters": dict(self.parameters),
            "source": self.source,
            "created_at": self.created_at,
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": self.acknowledged_at,
            "acknowledged_note": self.acknowledged_note,
            "resolved_by": self.resolved_by,
            "resolved_at": self.resolved_at,
            "resolved_note": self.resolved_note,
        }


@dataclass(frozen=True)
class Delivery:
    """One alert's delivery to one notifier: pending, sent or failed, after ``attempts``
    tries (one per check that tried), with the last error."""

    alert: StoredAlert
    notifier: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    updated_at: str


def ensure_alert_schema(conn: sqlite3.Connection) -> None:
    """Make (or migrate) the alert tables and the audit chain they write to. Taking a store
    from version 1 records its deliveries and watermarks in the chain ("adopted")."""
    audit.ensure_audit_schema(conn)
    if schema_version(conn, "alerts") == len(MIGRATIONS):
        return
    with transaction(conn):
        legacy = 0 < schema_version(conn, "alerts") < 2
        ensure_schema(conn, "alerts", MIGRATIONS)
        if legacy:
            adopt_unaudited(conn)


def adopt_unaudited(conn: sqlite3.Connection) -> int:
    """Record in the chain the deliveries and watermarks that have no entry yet (those of a
    store made before they were audited); returns how many. Call inside a transaction."""
    require_transaction(conn, "adopt_unaudited")
    adopted = 0
    for table, sql in (
        (audit.DELIVERIES, "SELECT alert_id, notifier FROM alert_deliveries"),
        (audit.SCANS, "SELECT instrument, source, scan FROM alert_scans"),
    ):
        for row in conn.execute(sql).fetchall():
            key = table.key_of(dict(zip(row.keys(), tuple(row), strict=True)))
            if not audit.history(conn, table.kind, key):
                audit.append_row(conn, table, tuple(row), "adopted")
                adopted += 1
    return adopted


def open_alert_store(
    path: str | Path, *, create: bool = True, key_file: str | Path | None = None
) -> sqlite3.Connection:
    """``store.open_store`` with the alert tables ready (``key_file``: the configuration's
    audit key file, ``desk.store.audit_key``)."""
    conn = open_store(path, create=create, key_file=key_file)
    try:
        ensure_alert_schema(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def severity_rank(severity: str) -> int:
    """0 for info, 1 for warning, 2 for critical."""
    return SEVERITIES.index(severity)  # type: ignore[arg-type]


def insert_alerts(
    conn: sqlite3.Connection,
    alerts: Iterable[Alert],
    *,
    source: str,
    notifiers: Mapping[str, str] | None = None,
    now: str | None = None,
) -> list[StoredAlert]:
    """Store the alerts not stored yet, each with its audit entry and a pending delivery to
    every notifier (name -> least severity) that takes its severity; return the new ones.
    Call inside ``store.transaction``."""
    require_transaction(conn, "insert_alerts")
    now = now or now_utc()
    new: list[StoredAlert] = []
    for alert in alerts:
        cursor = conn.execute(
            "INSERT INTO alerts (key, rule, instrument, date, severity, message, figures, "
            "parameters, source, created_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "'open') ON CONFLICT DO NOTHING",
            (
                alert.key,
                alert.rule,
                alert.instrument,
                alert.date.isoformat(),
                alert.severity,
                alert.message,
                audit.canonical(jsonable(alert.figures)),
                audit.canonical(jsonable(alert.parameters)),
                source,
                now,
            ),
        )
        if cursor.rowcount == 0:
            continue  # stored by an earlier run
        audit.append_row(conn, audit.ALERTS, alert.key, "stored")
        stored = _one(conn, "key = ?", alert.key)
        for name, least in (notifiers or {}).items():
            if severity_rank(alert.severity) >= severity_rank(least):
                conn.execute(
                    "INSERT INTO alert_deliveries (alert_id, notifier, status, attempts, "
                    "updated_at) VALUES (?, ?, 'pending', 0, ?)",
                    (stored.id, name, now),
                )
                audit.append_row(conn, audit.DELIVERIES, (stored.id, name), "pending")
        new.append(stored)
    return new


def acknowledge(
    conn: sqlite3.Connection,
    alert_id: int,
    *,
    by: str,
    note: str | None = None,
    now: str | None = None,
) -> StoredAlert:
    """Mark an open alert as seen by ``by``. Call inside ``store.transaction``."""
    return _move(conn, alert_id, "acknowledged", by, note, now)


def resolve(
    conn: sqlite3.Connection,
    alert_id: int,
    *,
    by: str,
    note: str | None = None,
    now: str | None = None,
) -> StoredAlert:
    """Close an open or acknowledged alert. Call inside ``store.transaction``."""
    return _move(conn, alert_id, "resolved", by, note, now)


def _move(
    conn: sqlite3.Connection,
    alert_id: int,
    target: str,
    by: str,
    note: str | None,
    now: str | None,
) -> StoredAlert:
    require_transaction(conn, f"moving an alert to {target}")
    if not by or not by.strip():
        raise AlertStateError(f"say who {target} alert {alert_id} (--by NAME)")
    alert = get_alert(conn, alert_id)
    if alert is None:
        raise AlertStateError(
            f"no alert with id {alert_id} in this store (carbon alerts list shows the ids)"
        )
    if alert.state not in TRANSITIONS[target]:
        raise AlertStateError(_refusal(alert, target))
    conn.execute(
        f"UPDATE alerts SET state = ?, {target}_by = ?, {target}_at = ?, {target}_note = ? "
        "WHERE id = ?",
        (target, by.strip(), now or now_utc(), note, alert_id),
    )
    audit.append_row(conn, audit.ALERTS, alert.key, target)
    moved = get_alert(conn, alert_id)
    assert moved is not None
    return moved


def _refusal(alert: StoredAlert, target: str) -> str:
    if alert.state == "resolved":
        done = f"already resolved (by {alert.resolved_by} at {alert.resolved_at})"
    else:
        done = f"already acknowledged (by {alert.acknowledged_by} at {alert.acknowledged_at})"
    allowed = " or ".join(TRANSITIONS[target])
    return f"alert {alert.id} is {done}; only {allowed} alerts can be {target}"


def get_alert(conn: sqlite3.Connection, alert_id: int) -> StoredAlert | None:
    row = conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    return None if row is None else _from_row(row)


def _one(conn: sqlite3.Connection, where: str, value: Any) -> StoredAlert:
    return _from_row(conn.execute(f"SELECT * FROM alerts WHERE {where}", (value,)).fetchone())


def list_alerts(
    conn: sqlite3.Connection,
    *,
    states: Sequence[str] | None = None,
    min_severity: str | None = None,
    rules: Sequence[str] | None = None,
    instrument: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int | None = None,
) -> list[StoredAlert]:
    """The stored alerts that pass every filter given, oldest trading date first (then by id).
    ``instrument`` also matches its entities' books (``"CEA"`` matches ``"CEA:power-co"``);
    ``limit`` keeps the most recent ones."""
    where, values = [], []
    if states:
        where.append(f"state IN ({', '.join('?' * len(states))})")
        values += list(states)
    if min_severity:
        kept = SEVERITIES[severity_rank(min_severity) :]
        where.append(f"severity IN ({', '.join('?' * len(kept))})")
        values += list(kept)
    if rules:
        where.append(f"rule IN ({', '.join('?' * len(rules))})")
        values += list(rules)
    if instrument:
        where.append("(instrument = ? OR substr(instrument, 1, ?) = ?)")
        values += [instrument, len(instrument) + 1, instrument + ":"]
    if since:
        where.append("date >= ?")
        values.append(since.isoformat())
    if until:
        where.append("date <= ?")
        values.append(until.isoformat())
    sql = "SELECT * FROM alerts" + (" WHERE " + " AND ".join(where) if where else "")
    if limit is not None:
        sql = f"SELECT * FROM ({sql} ORDER BY date DESC, id DESC LIMIT {int(limit)})"
    rows = conn.execute(sql + " ORDER BY date, id", values).fetchall()
    return [_from_row(row) for row in rows]


def open_critical(conn: sqlite3.Connection, instrument: str | None = None) -> list[StoredAlert]:
    """The critical alerts still open (for ``instrument`` and its books, when given)."""
    return list_alerts(conn, states=("open",), min_severity="critical", instrument=instrument)


def _from_row(row: sqlite3.Row) -> StoredAlert:
    return StoredAlert(
        id=row["id"],
        key=row["key"],
        rule=row["rule"],
        instrument=row["instrument"],
        date=dt.date.fromisoformat(row["date"]),
        severity=row["severity"],
        message=row["message"],
        figures=json.loads(row["figures"]),
        parameters=json.loads(row["parameters"]),
        source=row["source"],
        created_at=row["created_at"],
        state=row["state"],
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_note=row["acknowledged_note"],
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
        resolved_note=row["resolved_note"],
    )


# -- what has been scanned ---------------------------------------------------------------------


def watermark(conn: sqlite3.Connection, instrument: str, source: str, scan: str) -> dt.date | None:
    """The last trading date that ``scan`` ("prices", "volatility") has covered for this
    instrument and source, or ``None`` before the first run."""
    row = conn.execute(
        "SELECT last_date FROM alert_scans WHERE instrument = ? AND source = ? AND scan = ?",
        (instrument, source, scan),
    ).fetchone()
    return None if row is None else dt.date.fromisoformat(row["last_date"])


def set_watermark(
    conn: sqlite3.Connection,
    instrument: str,
    source: str,
    scan: str,
    last_date: dt.date,
    now: str | None = None,
) -> None:
    """Record that ``scan`` has covered the history to ``last_date`` (a watermark never moves
    back: a check of an older history, as a backdated night, leaves it). Call inside the
    transaction that stores the scan's alerts, so the two land together. A move is recorded
    in the audit chain; a check that covers nothing new writes nothing."""
    require_transaction(conn, "set_watermark")
    before = watermark(conn, instrument, source, scan)
    if before is not None and before >= last_date:
        return
    conn.execute(
        "INSERT INTO alert_scans (instrument, source, scan, last_date, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (instrument, source, scan) DO UPDATE SET "
        "last_date = max(last_date, excluded.last_date), updated_at = excluded.updated_at",
        (instrument, source, scan, last_date.isoformat(), now or now_utc()),
    )
    audit.append_row(conn, audit.SCANS, (instrument, source, scan), "moved")


# -- deliveries --------------------------------------------------------------------------------


def deliveries_due(conn: sqlite3.Connection, notifiers: Iterable[str]) -> list[Delivery]:
    """The pending and failed deliveries to the named notifiers, oldest alert first."""
    names = list(notifiers)
    if not names:
        return []
    rows = conn.execute(
        "SELECT d.notifier, d.status, d.attempts, d.last_error, d.updated_at AS d_updated_at, "
        "a.* FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id "
        f"WHERE d.status IN ('pending', 'failed') AND d.notifier IN ({', '.join('?' * len(names))})"
        " ORDER BY a.id, d.notifier",
        names,
    ).fetchall()
    return [_delivery(row) for row in rows]


def deliveries_of(conn: sqlite3.Connection, alert_id: int) -> list[Delivery]:
    """Every delivery of one alert, by notifier name."""
    rows = conn.execute(
        "SELECT d.notifier, d.status, d.attempts, d.last_error, d.updated_at AS d_updated_at, "
        "a.* FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.id = ? "
        "ORDER BY d.notifier",
        (alert_id,),
    ).fetchall()
    return [_delivery(row) for row in rows]


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        alert=_from_row(row),
        notifier=row["notifier"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        updated_at=row["d_updated_at"],
    )


def record_delivery(
    conn: sqlite3.Connection,
    alert_id: int,
    notifier: str,
    *,
    error: str | None,
    now: str | None = None,
) -> None:
    """Count one try of a delivery: sent when ``error`` is ``None``, else failed (and due
    again on the next check). Call inside ``store.transaction``."""
    require_transaction(conn, "record_delivery")
    cursor = conn.execute(
        "UPDATE alert_deliveries SET status = ?, attempts = attempts + 1, last_error = ?, "
        "updated_at = ? WHERE alert_id = ? AND notifier = ?",
        ("sent" if error is None else "failed", error, now or now_utc(), alert_id, notifier),
    )
    if cursor.rowcount:
        event = "sent" if error is None else "failed"
        audit.append_row(conn, audit.DELIVERIES, (alert_id, notifier), event)
