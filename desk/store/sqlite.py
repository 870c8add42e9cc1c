"""The desk's SQLite store: where the file lives, how it is opened, and how its tables are made.

One file holds the alerts, their deliveries, the scan watermarks and the audit chain (and the
nightly runs and plans). The file, its ``-wal`` and ``-shm`` (SQLite gives them the database's
mode) and the folders made for it are private to their owner: 0600 and 0700.

It runs in WAL mode: a reader works on a snapshot and never blocks a writer, a writer never
breaks a reader, and a writer killed mid-transaction leaves the last committed state (SQLite
rolls the unfinished transaction back when the file is next opened).

Each family of tables has a name and a list of migrations (DDL scripts); ``ensure_schema`` applies
the ones a store has not had yet, inside one transaction, and records the version reached in
``schema_versions``. Calling it again is a no-op that writes nothing, so readers can call it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from desk.store.files import PRIVATE_FILE, make_private, make_private_folder
from engine.errors import ConfigurationError

STORE_ENV = "CARBON_STORE"
APP_FOLDER = "carbon-desk"
STORE_FILE = "store.sqlite"
USER_STORE = "user"  # --store user, CARBON_STORE=user, [run] store = "user": the per-user store
BUSY_TIMEOUT_S = 30.0  # how long a writer waits for another writer before giving up

_VERSIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_versions (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL CHECK (version >= 0),
    applied_at TEXT NOT NULL
)
"""


class StoreError(ConfigurationError):
    """The store cannot be opened, created or written, is not a carbon store, or was written by
    a newer carbon-desk. The message names the file and says what to do."""


def default_store_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/carbon-desk/store.sqlite``, or ``~/.local/share/carbon-desk/...`` when
    ``XDG_DATA_HOME`` is unset or not absolute (as the XDG base directory spec says)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / APP_FOLDER / STORE_FILE


def store_path(
    explicit: str | Path | None = None,
    configured: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Which store file to use: the ``--store`` option first, then the ``CARBON_STORE``
    environment variable, then the configuration's store (``[run] store``, or ``store.sqlite``
    beside the configuration file: a desk's store lives with it), then ``store.sqlite`` in
    the working directory. ``user`` in any of them names the per-user store
    (``default_store_path``), shared by every desk of the user. ``~`` is expanded; an empty
    value counts as unset."""
    environ = os.environ if environ is None else environ
    for value in (explicit, environ.get(STORE_ENV), configured):
        if value is not None and str(value).strip():
            return named_store(value, environ)
    return Path.cwd() / STORE_FILE


def named_store(value: str | Path, environ: Mapping[str, str] | None = None) -> Path:
    """The store a setting names: ``user`` is the per-user store, anything else a path."""
    if str(value).strip() == USER_STORE:
        return default_store_path(environ)
    return Path(value).expanduser()


def now_utc() -> str:
    """The time stamp written to the store: UTC, to the second, ISO 8601 with a ``Z``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StoreConnection(sqlite3.Connection):
    """A store's connection; ``audit_key`` is the key its audit entries are authenticated
    with (``desk.store.audit_key``): ``None`` for none, ``MISSING`` until it is looked up."""

    audit_key: object = None
    audit_key_file: Path | None = None


MISSING = object()


def _create_private(path: Path) -> None:
    """Create the store file empty and 0600 (an empty file is an empty SQLite database), so
    that it and the ``-wal`` and ``-shm`` SQLite makes with its mode are never open to others;
    an existing one is made private when it is ours."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            make_private(existing)
        return
    except OSError as exc:
        raise StoreError(f"cannot create the store {path}: {exc.strerror}") from None
    os.close(handle)


def open_store(
    path: str | Path, *, create: bool = True, key_file: str | Path | None = None
) -> sqlite3.Connection:
    """Open (and with ``create``, make) the store at ``path``: WAL journal, foreign keys on,
    a busy timeout for concurrent writers, rows as ``sqlite3.Row``, autocommit between the
    explicit transactions of ``transaction``. Raises ``StoreError`` when the file cannot be
    made, opened or written, is not a SQLite database, or (without ``create``) does not exist.
    ``key_file`` is the configuration's audit key file (``desk.store.audit_key.load_key`` says which
    key wins); the key is read when the first audit entry is written or checked.
    """
    path = Path(path).expanduser()
    if not create and not path.is_file():
        raise StoreError(
            f"no store at {path} (carbon alerts check creates one; --store or {STORE_ENV} "
            "names another)"
        )
    try:
        make_private_folder(path.parent)
    except OSError as exc:
        folder = path.parent
        raise StoreError(f"cannot create the store's folder {folder}: {exc.strerror}") from None
    _create_private(path)
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=StoreConnection
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store {path}: {exc}") from None
    conn.audit_key = MISSING
    conn.audit_key_file = None if key_file is None else Path(key_file)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")  # a committed alert survives a power cut
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"the store {path} cannot use WAL mode (journal mode {mode})")
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'"
        ).fetchone()
        if exists is None:
            with transaction(conn):
                conn.execute(_VERSIONS_DDL)
    except StoreError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(_explain(path, exc)) from None
    return conn


def _explain(path: Path, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "not a database" in text:
        return f"{path} is not a carbon store (SQLite says: {text}); name another with --store"
    if "readonly" in text or "unable to open" in text:
        return f"cannot write the store {path} ({text}); check the file's permissions"
    if "locked" in text or "busy" in text:
        return f"the store {path} stayed locked by another writer for {BUSY_TIMEOUT_S:g} s"
    return f"the store {path}: {text}"


def _unwritable(exc: sqlite3.Error) -> bool:
    """A read-only file or folder, a full disk, a lock: the store, not the statement."""
    text = str(exc)
    return any(word in text for word in ("readonly", "unable to open", "disk", "full", "locked"))


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction (``BEGIN IMMEDIATE``: the write lock is taken at once, so two
    writers queue instead of failing halfway). Commits when the block ends, rolls back when it
    raises; every write of a block lands, or none does."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise StoreError(_explain(_file_of(conn), exc)) from None
    try:
        yield conn
    except BaseException as exc:
        if conn.in_transaction:  # SQLite may have rolled back already (a full disk)
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError) and _unwritable(exc):
            raise StoreError(_explain(_file_of(conn), exc)) from None
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreError(_explain(_file_of(conn), exc)) from None


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: every query of the block sees the same committed state, whatever
    writers commit meanwhile (WAL keeps the snapshot; the writers are not blocked)."""
    if conn.in_transaction:  # already inside a transaction: it is the snapshot
        yield conn
        return
    conn.execute("BEGIN DEFERRED")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def require_transaction(conn: sqlite3.Connection, what: str) -> None:
    """Writers that must land together with others (an alert and its audit entry) refuse to
    run outside a transaction."""
    if not conn.in_transaction:
        raise RuntimeError(f"{what} must be called inside `with transaction(conn):`")


def _file_of(conn: sqlite3.Connection) -> Path:
    row = conn.execute("PRAGMA database_list").fetchone()
    return Path(row[2]) if row and row[2] else Path(":memory:")


def schema_version(conn: sqlite3.Connection, name: str) -> int:
    """The version of the table family ``name`` in this store (0: never made)."""
    row = conn.execute("SELECT version FROM schema_versions WHERE name = ?", (name,)).fetchone()
    return 0 if row is None else int(row[0])


def ensure_schema(conn: sqlite3.Connection, name: str, migrations: Sequence[str]) -> int:
    """Bring the table family ``name`` to version ``len(migrations)``: migration ``i`` (from
    0) takes the family from version ``i`` to ``i + 1``. The missing ones run in one transaction
    with the version record, so a store is never left half-migrated. Never edit a migration
    that has shipped: append a new one. Returns the version; raises ``StoreError`` when the
    store is newer than this code."""
    target = len(migrations)
    current = schema_version(conn, name)
    if current == target:
        return current  # the usual case: nothing written, so readers may call it freely
    if current > target:
        raise StoreError(
            f"the store {_file_of(conn)} has version {current} of the {name!r} tables; this "
            f"carbon-desk knows version {target}: upgrade carbon-desk"
        )
    inside = conn.in_transaction  # a caller's transaction (a migration that also writes rows)
    with contextlib.nullcontext(conn) if inside else transaction(conn):
        current = schema_version(conn, name)  # again, under the write lock
        for script in migrations[current:]:
            for statement in _statements(script):
                conn.execute(statement)
        if current < target:
            conn.execute(
                "INSERT INTO schema_versions (name, version, applied_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET version = excluded.version, "
                "applied_at = excluded.applied_at",
                (name, target, now_utc()),
            )
    return target


def _statements(script: str) -> Iterator[str]:
    """The statements of a DDL script, one at a time (``executescript`` would commit the
    transaction the migration runs in)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip().strip(";").strip():
                yield pending
            pending = ""
    if pending.strip():
        raise ValueError(f"migration ends inside a statement: {pending.strip()[:60]!r}")
