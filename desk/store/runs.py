"""Nightly runs and their plans in the store, each recorded in the audit chain.

A run row holds ``run.json``'s record (inputs with their hashes, configuration, code version,
seed, timings, solvers); a plan row holds one entity's ``plan.json``. Both are written in one
transaction with their audit entries (``desk.store.audit``), so ``carbon audit verify`` finds a
later change to any of them. Running a night again records a second run (it is a second event); its
plans are the same numbers, because the seed is.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping
from typing import Any

from desk.store import audit
from desk.store.redact import redact_text
from desk.store.sqlite import ensure_schema, now_utc, transaction

MIGRATIONS = (
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        as_of TEXT NOT NULL,
        created_at TEXT NOT NULL,
        exit_code INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX runs_as_of ON runs (as_of);
    CREATE TABLE plans (
        key TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id),
        entity TEXT NOT NULL,
        plan TEXT NOT NULL
    );
    """,
)

RUNS, PLANS = audit.RUNS, audit.PLANS


def ensure_run_schema(conn: sqlite3.Connection) -> None:
    audit.ensure_audit_schema(conn)
    ensure_schema(conn, "runs", MIGRATIONS)


def new_run_id(as_of: str) -> str:
    """A run's id: its date and 8 random hex digits (two runs of one night differ)."""
    return f"{as_of}-{uuid.uuid4().hex[:8]}"


def record_run(
    conn: sqlite3.Connection,
    run_id: str,
    as_of: str,
    exit_code: int,
    record: Mapping[str, Any],
    plans: Mapping[str, Mapping[str, Any]],
) -> str:
    """Store a run and its plans (entity -> plan.json content) with their audit entries, in
    one transaction. Returns the audit chain's head after it. The record's copy of the
    configuration is stored with its credentials redacted (``desk.store.redact.redact_text``), as
    ``desk.config.desk`` already gives it."""
    ensure_run_schema(conn)
    record = dict(record)
    if isinstance(record.get("configuration"), str):
        record["configuration"] = redact_text(record["configuration"])
    head = ""
    with transaction(conn):
        conn.execute(
            "INSERT INTO runs (id, as_of, created_at, exit_code, record) VALUES (?, ?, ?, ?, ?)",
            (run_id, as_of, now_utc(), exit_code, audit.canonical(record)),
        )
        head = audit.append_row(conn, RUNS, run_id, "stored")
        for entity, plan in plans.items():
            key = f"{run_id}/{entity}"
            conn.execute(
                "INSERT INTO plans (key, run_id, entity, plan) VALUES (?, ?, ?, ?)",
                (key, run_id, entity, audit.canonical(dict(plan))),
            )
            head = audit.append_row(conn, PLANS, key, "stored")
    return head


def runs(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The latest runs, newest first: id, as_of, created_at, exit_code."""
    ensure_run_schema(conn)
    rows = conn.execute(
        "SELECT id, as_of, created_at, exit_code FROM runs ORDER BY created_at DESC, id DESC "
        "LIMIT ?",
        (limit,),
    ).fetchall()
    return [dict(row) for row in rows]


def plan_of(conn: sqlite3.Connection, run_id: str, entity: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT plan FROM plans WHERE run_id = ? AND entity = ?", (run_id, entity)
    ).fetchone()
    if row is None:
        raise KeyError(f"no plan of {entity!r} in run {run_id!r}")
    return json.loads(row["plan"])
