"""The audit chain: an append-only table in the store where every stored alert, every change of
an alert's state, every delivery and scan watermark, and every nightly run and plan leaves an
entry that holds the hash of the entry before it. Changing anything recorded afterwards (an
alert row, a delivery, a watermark, an audit entry) is detectable.

An entry is ``(seq, kind, key, recorded_at, payload, prev_hash, hash)`` with

    hash = sha256(prev_hash + canonical({"seq", "kind", "key", "recorded_at", "payload"}))

(``canonical``: JSON with sorted keys, no spaces, UTF-8); the first entry's ``prev_hash`` is 64
zeros. ``append`` must run inside the transaction of the write it records, so that a row and its
entry land together or not at all. The table refuses UPDATE and DELETE by trigger, which stops
accidents; a deliberate edit that drops the triggers is what ``verify`` is for.

**Keyed.** Hashes alone can be recomputed by anyone who can write the file. With an audit key
(``desk.store.audit_key``: kept outside the store) every entry also gets ``mac = HMAC-SHA256(key,
hash)`` in the ``audit_mac`` table; since each hash covers the one before it, the MAC of the
last entry authenticates the whole chain. ``verify`` with the key finds an entry appended or
rewritten without it (a MAC missing after a keyed entry, or one that does not match). A store
made before the key is *unkeyed*: ``verify`` says so, writes with a key are refused until
``rekey`` (``carbon audit rekey``) checks it and anchors it under the key.

For the kinds listed in ``AUDITED`` the payload is ``{"event": ..., "record": <the row>}`` and
``verify`` also checks that each row of the kind's table still equals the record of its latest
entry: an edited alert row is caught even though the chain itself is intact. (A column that a
later migration adds is compared once an entry records it; until then it must stay NULL.)

Cutting entries off the end of the chain together with their rows and MACs cannot be seen from
inside the file: publish the head (``carbon audit head``; ``carbon nightly`` prints it)
somewhere else and check against it (``carbon audit verify --head HASH``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from desk.store.audit_key import AuditKey, AuditKeyError, load_key
from desk.store.sqlite import MISSING, ensure_schema, now_utc, require_transaction, snapshot

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
    """
    CREATE TABLE audit_mac (
        seq INTEGER PRIMARY KEY REFERENCES audit (seq),
        key_id TEXT NOT NULL,
        mac TEXT NOT NULL
    );
    CREATE TRIGGER audit_mac_no_update BEFORE UPDATE ON audit_mac
    BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
    CREATE TRIGGER audit_mac_no_delete BEFORE DELETE ON audit_mac
    BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
    """,
)


@dataclass(frozen=True)
class Audited:
    """A table whose rows are audited: each row's latest ``kind`` entry (keyed by the row's
    ``key_column``, or by its columns joined with "/") holds the row as ``payload["record"]``."""

    kind: str
    table: str
    key_column: str | tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.key_column,) if isinstance(self.key_column, str) else self.key_column

    def key_of(self, record: Mapping[str, Any]) -> str:
        return "/".join(str(record[c]) for c in self.columns)


ALERTS = Audited(kind="alert", table="alerts", key_column="key")
DELIVERIES = Audited(kind="delivery", table="alert_deliveries", key_column=("alert_id", "notifier"))
SCANS = Audited(kind="scan", table="alert_scans", key_column=("instrument", "source", "scan"))
RUNS = Audited(kind="run", table="runs", key_column="id")
PLANS = Audited(kind="plan", table="plans", key_column="key")
AUDITED: tuple[Audited, ...] = (ALERTS, DELIVERIES, SCANS, RUNS, PLANS)  # missing tables: skipped


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
    """The chain: how many entries, the hash of the last (GENESIS when empty), how many carry
    a MAC, the id of the key they were made with (``None``: unkeyed), and whether a key was
    given to check them (``authenticated``: every MAC checked against it)."""

    entries: int
    head: str
    macs: int = 0
    key_id: str | None = None
    authenticated: bool = False

    @property
    def keyed(self) -> bool:
        return self.macs > 0


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


def key_of(conn: sqlite3.Connection) -> AuditKey | None:
    """The audit key of this connection (looked up once, ``desk.store.audit_key.load_key``, with the
    configuration's key file given to ``open_store``); ``None``: no key anywhere."""
    key = getattr(conn, "audit_key", MISSING)
    if key is MISSING:
        key = load_key(configured=getattr(conn, "audit_key_file", None))
        with contextlib.suppress(AttributeError):  # a plain connection: looked up each time
            conn.audit_key = key  # type: ignore[attr-defined]
    return key  # type: ignore[return-value]


def use_key(conn: sqlite3.Connection, key: AuditKey | None) -> None:
    """Make ``key`` this connection's audit key (``carbon audit --key-file``)."""
    conn.audit_key = key  # type: ignore[attr-defined]


def _mac_state(conn: sqlite3.Connection) -> tuple[bool, str | None]:
    """(whether any entry has a MAC, the key id of the last MAC); one indexed read."""
    if not _exists(conn, "audit_mac"):
        return False, None
    last = conn.execute("SELECT key_id FROM audit_mac ORDER BY seq DESC LIMIT 1").fetchone()
    return last is not None, None if last is None else last["key_id"]


def append(conn: sqlite3.Connection, kind: str, key: str, payload: Mapping[str, Any]) -> str:
    """Add an entry for ``kind``/``key`` holding ``payload`` (a JSON-ready mapping) and return
    its hash; with an audit key, its MAC too. Call it inside the transaction of the write it
    records. Raises ``AuditKeyError`` when the chain is keyed and no key or another key is
    given, and when a key is given for an unkeyed chain that ``rekey`` has not anchored."""
    require_transaction(conn, "audit.append")
    if not kind or not key:
        raise ValueError(f"an audit entry needs a kind and a key, got {kind!r}, {key!r}")
    audit_key = key_of(conn)
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (1, GENESIS) if last is None else (last["seq"] + 1, last["hash"])
    _check_key(conn, audit_key, seq - 1)
    text, recorded_at = canonical(dict(payload)), now_utc()
    digest = entry_hash(prev_hash, seq, kind, str(key), recorded_at, text)
    conn.execute(
        "INSERT INTO audit (seq, kind, key, recorded_at, payload, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (seq, kind, str(key), recorded_at, text, prev_hash, digest),
    )
    if audit_key is not None:
        conn.execute(
            "INSERT INTO audit_mac (seq, key_id, mac) VALUES (?, ?, ?)",
            (seq, audit_key.key_id, audit_key.mac(digest)),
        )
    return digest


def _check_key(conn: sqlite3.Connection, audit_key: AuditKey | None, entries: int) -> None:
    macs, key_id = _mac_state(conn)
    where = _store_name(conn)
    if macs and audit_key is None:
        raise AuditKeyError(
            f"the audit chain of {where} is keyed (key id {key_id}) and no audit key is given: "
            "set CARBON_AUDIT_KEY or CARBON_AUDIT_KEY_FILE, or [audit] key_file"
        )
    if macs and audit_key is not None and audit_key.key_id != key_id:
        raise AuditKeyError(
            f"the audit key from {audit_key.origin} (key id {audit_key.key_id}) is not the "
            f"key of {where} (key id {key_id})"
        )
    if not macs and entries and audit_key is not None and not getattr(conn, "anchoring", False):
        raise AuditKeyError(
            f"the audit chain of {where} ({entries} entries) was made without an audit key: "
            "check it with `carbon audit verify`, then anchor it under the key with "
            "`carbon audit rekey`"
        )


def _store_name(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return row[2] if row and row[2] else "the store"


def read_record(
    conn: sqlite3.Connection, audited: Audited, key: str | tuple[Any, ...]
) -> dict[str, Any]:
    """The row of ``audited.table`` whose key column is ``key`` (a tuple: one value per key
    column), as a plain dict."""
    values = key if isinstance(key, tuple) else (key,)
    where = " AND ".join(f"{c} = ?" for c in audited.columns)
    row = conn.execute(f"SELECT * FROM {audited.table} WHERE {where}", values).fetchone()
    if row is None:
        raise KeyError(f"no {audited.kind} {key!r} in {audited.table}")
    return dict(zip(row.keys(), tuple(row), strict=True))


def append_row(
    conn: sqlite3.Connection, audited: Audited, key: str | tuple[Any, ...], event: str
) -> str:
    """Record the current content of one audited row (``event``: "stored", "acknowledged",
    ...), inside the transaction that wrote it; returns the entry's hash."""
    record = read_record(conn, audited, key)
    return append(conn, audited.kind, audited.key_of(record), {"event": event, "record": record})


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
    conn: sqlite3.Connection,
    audited: Iterable[Audited] = AUDITED,
    *,
    published_head: str | None = None,
) -> tuple[list[BrokenLink], ChainHead]:
    """Every place where the chain, its MACs or an audited row stops matching, first link
    first, and the chain's head. The MACs are checked with the connection's key (``key_of``);
    without one, only that no unkeyed entry follows a keyed one. ``published_head``: a head
    published earlier, which must be the hash of an entry of the chain."""
    audit_key = key_of(conn)
    with snapshot(conn):  # the chain and the rows as of one moment, whatever writers do
        return _problems(conn, tuple(audited), audit_key, published_head)


def _problems(
    conn: sqlite3.Connection,
    audited: tuple[Audited, ...],
    audit_key: AuditKey | None,
    published_head: str | None,
) -> tuple[list[BrokenLink], ChainHead]:
    found: list[BrokenLink] = []
    latest: dict[tuple[str, str], tuple[int, Any]] = {}
    macs = {r["seq"]: r for r in _table_rows(conn, "audit_mac")}
    expected_prev, expected_seq, entries = GENESIS, 1, 0
    first_keyed: int | None = None
    hashes: set[str] = set()
    for row in _table_rows(conn, "audit", "ORDER BY seq"):
        seq, kind, key = row["seq"], row["kind"], row["key"]
        entries += 1
        hashes.add(row["hash"])
        problem = _link_problem(row, expected_prev, expected_seq)
        mac = macs.pop(seq, None)
        if problem is None:
            problem = _mac_problem(row, mac, first_keyed, audit_key)
        if mac is not None and first_keyed is None:
            first_keyed = seq
        if problem:
            found.append(BrokenLink(seq, kind, key, problem))
        try:
            latest[(kind, key)] = (seq, json.loads(row["payload"]))
        except ValueError:
            latest[(kind, key)] = (seq, None)
        expected_prev, expected_seq = row["hash"], seq + 1
    for seq in sorted(macs):
        found.append(BrokenLink(seq, "audit_mac", str(seq), "a MAC for an entry that is missing"))
    for table in audited:
        found.extend(_row_problems(conn, table, latest))
    if published_head is not None and published_head not in hashes | {GENESIS}:
        found.append(BrokenLink(None, "audit", "head", (
            f"the published head {published_head[:12]}... is the hash of no entry: entries "
            "were cut off the end or rewritten since it was published")))  # fmt: skip
    found.sort(key=lambda b: (b.seq is None, b.seq or 0))
    mac_rows = [r for r in _table_rows(conn, "audit_mac", "ORDER BY seq")]
    key_id = mac_rows[-1]["key_id"] if mac_rows else None
    head = ChainHead(entries, expected_prev, len(mac_rows), key_id, audit_key is not None)
    if audit_key is not None and entries and not mac_rows:
        found.append(BrokenLink(None, "audit", "key", (
            f"the chain is unkeyed ({entries} entries made without an audit key) while a key "
            f"is given ({audit_key.origin}): if it verifies without the key, `carbon audit "
            "rekey` anchors it")))  # fmt: skip
    return found, head


def _mac_problem(
    row: sqlite3.Row,
    mac: sqlite3.Row | None,
    first_keyed: int | None,
    audit_key: AuditKey | None,
) -> str | None:
    if mac is None:
        if first_keyed is not None:
            return (
                f"the entry has no MAC although entry {first_keyed} before it has one: it was "
                "appended without the audit key"
            )
        return None
    if audit_key is None:
        return None
    if mac["key_id"] != audit_key.key_id:
        return (
            f"the entry's MAC was made with key id {mac['key_id']}, not with the key given "
            f"({audit_key.key_id}, from {audit_key.origin})"
        )
    if not hmac.compare_digest(str(mac["mac"]), audit_key.mac(row["hash"])):
        return "the entry's MAC does not match its hash: it was written without the audit key"
    return None


def verify(conn: sqlite3.Connection, audited: Iterable[Audited] = AUDITED) -> BrokenLink | None:
    """The first broken link of the chain (by ``seq``; rows without an entry come last), or
    ``None`` when the chain and every audited row are intact."""
    found, _ = problems(conn, audited)
    return found[0] if found else None


def rekey(conn: sqlite3.Connection, audit_key: AuditKey) -> ChainHead:
    """Anchor a chain under ``audit_key`` (the migration of a store made before the key):
    check the chain and every audited row with hashes alone, refuse when anything is broken
    or when entries carry MACs of another key, record the audited rows that have no entry yet
    (deliveries and watermarks of a store made before they were audited), then give every
    entry without a MAC its MAC and append an ``anchored`` entry. Returns the new head."""
    from desk.store.sqlite import transaction

    use_key(conn, None)
    conn.anchoring = True  # type: ignore[attr-defined]
    try:
        with transaction(conn):
            found, _ = _problems(conn, AUDITED, None, None)
            orphans = [b for b in found if b.seq is None and b.kind in ("delivery", "scan")]
            broken = [b for b in found if b not in orphans]
            if broken:
                raise AuditKeyError(
                    f"the audit chain is broken at {broken[0]}: it cannot be anchored under a "
                    "key (carbon audit verify lists every problem)"
                )
            other = conn.execute(
                "SELECT key_id FROM audit_mac WHERE key_id != ? LIMIT 1", (audit_key.key_id,)
            ).fetchone()
            if other is not None:
                raise AuditKeyError(
                    f"the chain already holds MACs of key id {other['key_id']}, not of the key "
                    f"from {audit_key.origin} ({audit_key.key_id}): verify with that key"
                )
            use_key(conn, audit_key)
            before = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
            for orphan in orphans:
                table = DELIVERIES if orphan.kind == "delivery" else SCANS
                record = _orphan_record(conn, table, orphan.key)
                append(conn, table.kind, orphan.key, {"event": "adopted", "record": record})
            for row in conn.execute(
                "SELECT a.seq, a.hash FROM audit a LEFT JOIN audit_mac m ON m.seq = a.seq "
                "WHERE m.seq IS NULL ORDER BY a.seq"
            ).fetchall():
                conn.execute(
                    "INSERT INTO audit_mac (seq, key_id, mac) VALUES (?, ?, ?)",
                    (row["seq"], audit_key.key_id, audit_key.mac(row["hash"])),
                )
            append(conn, "audit", "anchor", {"event": "anchored", "key_id": audit_key.key_id,
                                             "entries_before": before})  # fmt: skip
    finally:
        conn.anchoring = False  # type: ignore[attr-defined]
    return problems(conn)[1]


def _orphan_record(conn: sqlite3.Connection, audited: Audited, key: str) -> dict[str, Any]:
    for row in _table_rows(conn, audited.table):
        record = dict(zip(row.keys(), tuple(row), strict=True))
        if audited.key_of(record) == key:
            return record
    raise KeyError(f"no {audited.kind} {key!r} in {audited.table}")


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
        key = audited.key_of(record)
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


def _exists(conn: sqlite3.Connection, table: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        is not None
    )


def _table_rows(conn: sqlite3.Connection, table: str, order: str = "") -> list[sqlite3.Row]:
    """Every row of ``table``; none when the store has no such table (yet)."""
    return conn.execute(f"SELECT * FROM {table} {order}").fetchall() if _exists(conn, table) else []


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
