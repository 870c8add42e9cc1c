"""``carbon audit``: verify the store's audit chain, print its head for publishing elsewhere,
create the audit key, and anchor a store made before the key (``rekey``).

The store is found as for ``carbon alerts`` (``--store``, ``CARBON_STORE``, ``[run] store`` of
``--config``, the default); the key as ``desk.store.audit_key`` says (``--key-file``,
``CARBON_AUDIT_KEY``, ``CARBON_AUDIT_KEY_FILE``, ``[audit] key_file`` of ``--config``,
``~/.config/carbon-desk/audit.key``).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import click

from desk import exit_codes
from desk.cli.common import STORE_OPTION, CarbonGroup
from desk.store import audit
from desk.store.audit_key import AuditKeyError, create_key_file, default_key_path, load_key
from desk.store.sqlite import open_store, store_path

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML file with [run] store and [audit] key_file.",
)
KEY_OPTION = click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The audit key file (default: $CARBON_AUDIT_KEY, $CARBON_AUDIT_KEY_FILE, [audit] "
    "key_file of --config, then ~/.config/carbon-desk/audit.key when it exists).",
)
UNKEYED = (
    "the chain is UNKEYED: whoever can write the store can append or recompute entries "
    "unseen. `carbon audit init-key` makes a key, `carbon audit rekey` anchors this store "
    "under it"
)


def _open(store: Path | None, config_path: Path | None, key_file: Path | None):
    from desk.alerts.settings import read_alert_file

    file = read_alert_file(config_path) if config_path is not None else None
    conn = open_store(store_path(store, file.store if file else None), create=False)
    try:
        audit.use_key(conn, load_key(key_file, file.audit_key_file if file else None))
    except BaseException:
        conn.close()
        raise
    return conn


@click.group(
    name="audit",
    cls=CarbonGroup,
    short_help="The store's audit chain: verify it, print its head, manage its key.",
)
def audit_group() -> None:
    """The audit chain of the store: every alert, change of state, delivery, watermark, run and
    plan, each entry hashed with the one before and authenticated by the audit key.

    \b
    Set up once:  carbon audit init-key      (writes ~/.config/carbon-desk/audit.key, 0600)
    A store made before the key:  carbon audit verify, then carbon audit rekey
    Publish the head elsewhere:   carbon audit head
    Check against it later:       carbon audit verify --head HASH
    verify exits 0 when intact, 8 when broken, 4 for a keyed chain without its key.
    """


def _report(conn: sqlite3.Connection, published: str | None):
    return audit.problems(conn, published_head=published)


@audit_group.command("verify")
@CONFIG_OPTION
@STORE_OPTION
@KEY_OPTION
@click.option("--head", "published", help="A head published earlier (carbon audit head).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def verify_command(
    config_path: Path | None,
    store: Path | None,
    key_file: Path | None,
    published: str | None,
    as_json: bool,
) -> None:
    """Recompute the chain, check every entry's MAC with the audit key, compare every audited
    row with its latest entry, and (--head) check that a published head is still in the chain.

    Exits 0 when intact, 8 when broken (the first broken link is named), 4 when the chain is
    keyed and no key is given (the hashes alone prove nothing against a forger).
    """
    conn = _open(store, config_path, key_file)
    try:
        found, head = _report(conn, published)
    finally:
        conn.close()
    unverifiable = not found and head.keyed and not head.authenticated
    if as_json:
        click.echo(json.dumps({
            "intact": not found and not unverifiable,
            "entries": head.entries,
            "head": head.head,
            "keyed": head.keyed,
            "key_id": head.key_id,
            "authenticated": head.authenticated and head.keyed,
            "problems": [{"seq": p.seq, "kind": p.kind, "key": p.key, "problem": p.problem}
                         for p in found],
        }))  # fmt: skip
    elif found:
        more = f" ({len(found)} problems in all)" if len(found) > 1 else ""
        click.echo(f"audit chain broken at {found[0]}{more}", err=True)
    elif unverifiable:
        click.echo(
            f"error: the chain is keyed (key id {head.key_id}) and no audit key is given: it "
            f"cannot be authenticated (the hashes of its {head.entries} entries agree, which "
            "a forger can arrange); give the key with --key-file or CARBON_AUDIT_KEY",
            err=True,
        )
    else:
        anchored = " and the published head is in it" if published else ""
        keyed = f", every MAC matches key {head.key_id}" if head.keyed else ""
        click.echo(
            f"audit chain intact: {head.entries} entries{keyed}, every audited row matches its "
            f"latest entry{anchored}; head {head.head}"
        )
        if not head.keyed and head.entries:
            click.echo(f"warning: {UNKEYED}", err=True)
    if found:
        sys.exit(exit_codes.AUDIT_BROKEN)
    if unverifiable:
        sys.exit(exit_codes.CONFIG)


@audit_group.command("head")
@CONFIG_OPTION
@STORE_OPTION
@KEY_OPTION
def head_command(config_path: Path | None, store: Path | None, key_file: Path | None) -> None:
    """Print the chain's head hash (only it, on standard output) to publish somewhere the
    store's writers cannot change; `carbon audit verify --head HASH` checks against it later.
    Refuses (exit 8) a broken chain."""
    conn = _open(store, config_path, key_file)
    try:
        found, head = _report(conn, None)
    finally:
        conn.close()
    if found:
        click.echo(f"audit chain broken at {found[0]}: no head to publish", err=True)
        sys.exit(exit_codes.AUDIT_BROKEN)
    click.echo(head.head)
    if not head.keyed and head.entries:
        click.echo(f"warning: {UNKEYED}", err=True)
    elif head.keyed and not head.authenticated:
        click.echo(
            f"warning: no audit key given: the MACs (key {head.key_id}) were not checked",
            err=True,
        )


@audit_group.command("init-key")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the key (default: ~/.config/carbon-desk/audit.key).",
)
@click.option("--force", is_flag=True, help="Replace an existing key (its stores stop verifying).")
def init_key_command(key_file: Path | None, force: bool) -> None:
    """Create the audit key: 32 random bytes as hex, in a file only you can read (0600).

    Keep it outside the store's folder (and back it up: a store keyed with a lost key can no
    longer be authenticated). CARBON_AUDIT_KEY (the hex text) or CARBON_AUDIT_KEY_FILE give it
    to a process instead; a store made before the key is anchored by `carbon audit rekey`.
    """
    key = create_key_file(key_file or default_key_path(), force=force)
    click.echo(f"audit key {key.key_id} written to {key.origin} (mode 0600)")


@audit_group.command("rekey")
@CONFIG_OPTION
@STORE_OPTION
@KEY_OPTION
def rekey_command(config_path: Path | None, store: Path | None, key_file: Path | None) -> None:
    """Anchor a store made before the audit key: check the chain and the rows with hashes
    alone, then authenticate every entry with the key and append an "anchored" entry.

    Run `carbon audit verify` first: what the chain holds now is what the key vouches for.
    Refuses (exit 4) a broken chain, a chain keyed with another key, or no key.
    """
    conn = _open(store, config_path, key_file)
    try:
        key = audit.key_of(conn)
        if key is None:
            raise AuditKeyError(
                "no audit key: `carbon audit init-key` makes one (or give --key-file)"
            )
        audit.ensure_audit_schema(conn)
        head = audit.rekey(conn, key)
    finally:
        conn.close()
    click.echo(
        f"audit chain anchored under key {key.key_id}: {head.entries} entries; head {head.head}"
    )
