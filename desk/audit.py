"""The audit chain: an append-only table in the store where every stored alert, every change of
an alert's state, and every nightly run and plan leaves an entry that holds the hash of the entry
before it. Changing anything recorded afterwards (an alert row, an audit entry) is detectable.

An entry is ``(seq, kind, key, recorded_at, payload, prev_hash, hash)`` with

    hash = sha256(prev_hash + canonical({"seq", "kind", "key", "recorded_at", "payload"}))

(``canonical``: JSON with sorted keys, no spaces, UTF-8); the first entry's ``prev_hash`` is 64
zeros. ``append`` must run inside the transaction of the write it records, so that a row and its
entry land together or not at all. The table refuses UPDATE and DELETE by trigger, which stops
accidents; a deliberate edit that drops the triggers is what ``verify`` is for.

For the kinds listed in ``AUDITED`` the payload is ``{"event": ..., "record": <the row>}`` and
``verify`` also checks that each row of the kind's table still equals the record of its latest
entry: an edited alert row is caught even though the chain itself is intact. (A column that a
later migration adds is compared once an entry records it; until then it must stay NULL.)

Cutting entries off the end of the chain together with their rows cannot be seen from inside
the file: keep the head hash that ``verify`` returns somewhere else (``carbon nightly`` prints
it) to catch that too.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from desk.store import ensure_schema, now_utc, require_transaction, snapshot

GENESIS = "0" * 64

MIGRATIONS = (
    """
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL UNIQUE
    );
    CREATE INDEX audit_subject ON audit (kind, key, seq);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
    """,
)


@dataclass(frozen=True)
class Audited:
    """A table whose rows are audited: each row's latest ``kind`` entry (keyed by the row's
    ``key_column``) holds the row as ``payload["record"]``."""

    kind: str
    table: str
    key_column: str


ALERTS = Audited(kind="alert", table="alerts", key_column="key")
RUNS = Audited(kind="run", table="runs", key_column="id")
PLANS = Audited(kind="plan", table="plans", key_column="key")
AUDITED: tuple[Audited, ...] = (ALERTS, RUNS, PLANS)  # a table the store lacks is skipped


@dataclass(frozen=True)
class BrokenLink:
    """Where the chain or an audited row stops matching. ``seq`` is the entry (``None`` for a
    row that has no entry at all), ``problem`` says what differs."""

    seq: int | None
    kind: str
    key: str
    problem: str

    def __str__(self) -> str:
        where = "a row with no entry" if self.seq is None else f"entry {self.seq}"
        return f"{where} ({self.kind} {self.key}): {self.problem}"


@dataclass(frozen=True)
class ChainHead:
    """An intact chain: how many entries, and the hash of the last (GENESIS when empty)."""

    entries: int
    head: str


def canonical(value: Any) -> str:
    """The one text of a JSON value that is hashed: sorted keys, no spaces, NaN refused."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(prev_hash: str, seq: int, kind: str, key: str, recorded_at: str, payload: str):
    """The hash of one entry, from the previous hash and the entry's own fields."""
    entry = {
        "seq": seq,
        "kind": kind,
        "key": key,
        "recorded_at": recorded_at,
        "payload": json.loads(payload),
    }
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


def ensure_audit_schema(conn: sqlite3.Connection) -> None:
    ensure_schema(conn, "audit", MIGRATIONS)


def append(conn: sqlite3.Connection, kind: str, key: str, payload: Mapping[str, Any]) -> str:
    """Add an entry for ``kind``/``key`` holding ``payload`` (a JSON-ready mapping) and return
    its hash. Call it inside the transaction of the write it records."""
    require_transaction(conn, "audit.append")
    if not kind or not key:
        raise ValueError(f"an audit entry needs a kind and a key, got {kind!r}, {key!r}")
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (1, GENESIS) if last is None else (last["seq"] + 1, last["hash"])
    text, recorded_at = canonical(dict(payload)), now_utc()
    digest = entry_hash(prev_hash, seq, kind, str(key), recorded_at, text)
    conn.execute(
        "INSERT INTO audit (seq, kind, key, recorded_at, payload, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (seq, kind, str(key), recorded_at, text, prev_hash, digest),
    )
    return digest


def read_record(conn: sqlite3.Connection, audited: Audited, key: str) -> dict[str, Any]:
    """The row of ``audited.table`` whose key column is ``key``, as a plain dict."""
    row = conn.execute(
        f"SELECT * FROM {audited.table} WHERE {audited.key_column} = ?", (key,)
    ).fetchone()
    if row is None:
        raise KeyError(f"no {audited.kind} {key!r} in {audited.table}")
    return dict(zip(row.keys(), tuple(row), strict=True))


def append_row(conn: sqlite3.Connection, audited: Audited, key: str, event: str) -> str:
    """Record the current content of one audited row (``event``: "stored", "acknowledged",
    ...), inside the transaction that wrote it; returns the entry's hash."""
    record = read_record(conn, audited, key)
    return append(conn, audited.kind, key, {"event": event, "record": record})


def history(conn: sqlite3.Connection, kind: str, key: str) -> list[dict[str, Any]]:
    """The entries of one subject, oldest first: seq, recorded_at, payload, hash."""
    rows = conn.execute(
        "SELECT seq, recorded_at, payload, hash FROM audit WHERE kind = ? AND key = ? ORDER BY seq",
        (kind, key),
    ).fetchall()
    return [
        {
            "seq": r["seq"],
            "recorded_at": r["recorded_at"],
            "payload": json.loads(r["payload"]),
            "hash": r["hash"],
        }
        for r in rows
    ]


def problems(
    conn: sqlite3.Connection, audited: Iterable[Audited] = AUDITED
) -> tuple[list[BrokenLink], ChainHead]:
    """Every place where the chain or an audited row stops matching, first link first, and
    the chain's head."""
    with snapshot(conn):  # the chain and the rows as of one moment, whatever writers do
        return _problems(conn, tuple(audited))


def _problems(
    conn: sqlite3.Connection, audited: tuple[Audited, ...]
) -> tuple[list[BrokenLink], ChainHead]:
    found: list[BrokenLink] = []
    latest: dict[tuple[str, str], tuple[int, Any]] = {}
    expected_prev, expected_seq, entries = GENESIS, 1, 0
    for row in _table_rows(conn, "audit", "ORDER BY seq"):
        seq, kind, key = row["seq"], row["kind"], row["key"]
        entries += 1
        problem = _link_problem(row, expected_prev, expected_seq)
        if problem:
            found.append(BrokenLink(seq, kind, key, problem))
        try:
            latest[(kind, key)] = (seq, json.loads(row["payload"]))
        except ValueError:
            latest[(kind, key)] = (seq, None)
        expected_prev, expected_seq = row["hash"], seq + 1
    for table in audited:
        found.extend(_row_problems(conn, table, latest))
    found.sort(key=lambda b: (b.seq is None, b.seq or 0))
    return found, ChainHead(entries, expected_prev)


def verify(conn: sqlite3.Connection, audited: Iterable[Audited] = AUDITED) -> BrokenLink | None:
    """The first broken link of the chain (by ``seq``; rows without an entry come last), or
    ``None`` when the chain and every audited row are intact."""
    found, _ = problems(conn, audited)
    return found[0] if found else None


def _link_problem(row: sqlite3.Row, expected_prev: str, expected_seq: int) -> str | None:
    if row["seq"] != expected_seq:
        return (
            f"entries {expected_seq} to {row['seq'] - 1} are missing"
            if row["seq"] > expected_seq
            else f"seq {row['seq']} is out of order (expected {expected_seq})"
        )
    if row["prev_hash"] != expected_prev:
        return (
            f"prev_hash {row['prev_hash'][:12]}... is not the hash of entry "
            f"{expected_seq - 1} ({expected_prev[:12]}...): an earlier entry was rewritten"
        )
    try:
        digest = entry_hash(
            row["prev_hash"],
            row["seq"],
            row["kind"],
            row["key"],
            row["recorded_at"],
            row["payload"],
        )
    except (ValueError, TypeError):
        return "the payload is not valid JSON: the entry was edited"
    if digest != row["hash"]:
        return (
            f"the entry's content does not hash to its stored hash ({row['hash'][:12]}...; "
            f"recomputed {digest[:12]}...): the entry was edited"
        )
    return None


def _row_problems(
    conn: sqlite3.Connection, audited: Audited, latest: Mapping[tuple[str, str], tuple[int, Any]]
) -> list[BrokenLink]:
    found, seen = [], set()
    for row in _table_rows(conn, audited.table):
        record = dict(zip(row.keys(), tuple(row), strict=True))
        key = str(record[audited.key_column])
        seen.add(key)
        entry = latest.get((audited.kind, key))
        if entry is None:
            found.append(
                BrokenLink(
                    None, audited.kind, key, f"a row of {audited.table} that no audit entry records"
                )
            )
            continue
        seq, payload = entry
        stored = payload.get("record") if isinstance(payload, Mapping) else None
        if not isinstance(stored, Mapping):
            found.append(BrokenLink(seq, audited.kind, key, "the latest entry holds no record"))
        else:
            # a column added by a later migration is NULL in rows its entries never recorded
            record = {k: v for k, v in record.items() if k in stored or v is not None}
            if canonical(record) != canonical(dict(stored)):
                problem = _differences(audited, record, stored)
                found.append(BrokenLink(seq, audited.kind, key, problem))
    for (kind, key), (seq, payload) in latest.items():
        deleted = isinstance(payload, Mapping) and payload.get("event") == "deleted"
        if kind == audited.kind and key not in seen and not deleted:
            found.append(BrokenLink(seq, kind, key, f"its row is missing from {audited.table}"))
    return found


def _table_rows(conn: sqlite3.Connection, table: str, order: str = "") -> list[sqlite3.Row]:
    """Every row of ``table``; none when the store has no such table (yet)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return conn.execute(f"SELECT * FROM {table} {order}").fetchall() if exists else []


def _differences(audited: Audited, row: Mapping[str, Any], stored: Mapping[str, Any]) -> str:
    parts = []
    for column in sorted(set(row) | set(stored)):
        now, then = row.get(column, "<no column>"), stored.get(column, "<no column>")
        if canonical(now) != canonical(then):
            parts.append(f"{column} is {_short(now)} in {audited.table}, {_short(then)} as audited")
    return "; ".join(parts)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
