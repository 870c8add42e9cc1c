"""``carbon alerts`` (check, list, show, ack, resolve); ``carbon audit`` is ``desk.cli.audit``.

The store is the file named by ``--store``, else ``CARBON_STORE``, else ``[run] store`` of the
``--config`` file (``store.sqlite`` beside it by default), else ``store.sqlite`` in the working
folder; ``user`` names the per-user ``$XDG_DATA_HOME/carbon-desk/store.sqlite``
(``desk.store.sqlite.store_path``).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from desk import exit_codes
from desk.cli.common import (
    SEVERITIES,
    SOURCE_OPTION,
    STATES,
    STORE_OPTION,
    CarbonGroup,
    read_options,
    source_options,
    stream_gone,
)

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML file with an [alerts] section (rules, notifiers) and [run] store.",
)
JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="One JSON object a line instead of a table."
)
SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}


def _store(store: Path | None, config_path: Path | None) -> Path:
    from desk.alerts.settings import read_alert_file
    from desk.store.sqlite import store_path

    configured = read_alert_file(config_path).store if config_path is not None else None
    return store_path(store, configured)


def _open(store: Path | None, config_path: Path | None) -> sqlite3.Connection:
    """An existing store, its alert tables ready (read-only commands never create a store),
    with the ``[audit] key_file`` of ``--config`` (``desk.store.audit_key`` says which key wins)."""
    from desk.alerts.settings import read_alert_file
    from desk.store import alerts as alert_store

    key_file = read_alert_file(config_path).audit_key_file if config_path is not None else None
    return alert_store.open_alert_store(_store(store, config_path), create=False,
                                        key_file=key_file)  # fmt: skip


@click.group(cls=CarbonGroup)
def alerts() -> None:
    """Alerts: check the rules on prices, list them, acknowledge and resolve them.

    \b
    check exits 7 when a critical alert is open (not acknowledged) after the check,
    5 when the volatility model could not be fitted (the price alerts are stored),
    3 for bad market data, 4 for a bad configuration or store, 0 otherwise.
    ack and resolve exit 4 for an unknown id or a change the states do not allow.
    """


@alerts.command("check")
@SOURCE_OPTION
@read_options
@CONFIG_OPTION
@STORE_OPTION
@click.option(
    "--instrument-name",
    help="The instrument's name in the alerts "
    "(default: the market's code, CEA; CEA-reference for the reference market).",
)
@click.option(
    "--volatility/--no-volatility",
    default=True,
    show_default=True,
    help="Fit the volatility model and run the volatility rule (when enabled).",
)
@click.option(
    "--rescan",
    is_flag=True,
    help="Scan the whole history again, not only what is new "
    "since the last check (stored alerts are not stored twice).",
)
@JSON_OPTION
def check_command(
    source: str,
    market: str,
    fmt: str,
    config_path: Path | None,
    store: Path | None,
    instrument_name: str | None,
    volatility: bool,
    rescan: bool,
    as_json: bool,
    **kwargs: Any,
) -> None:
    """Evaluate the alert rules on a price history (all of it on the first check, then what is
    new), store the new alerts, notify, and print them.

    The market decides the default rules (CEA: the band-lock rule on; EUA: off); --config
    overrides them. Exits 7 when a critical alert of the instrument or its books is open
    (not acknowledged) after the check.
    """
    import pandas as pd

    from desk.alerts.check import check_alerts, instrument_for, source_key
    from desk.alerts.settings import AlertConfig, load_alert_config
    from desk.config.sources import load_sources
    from desk.store import alerts as alert_store
    from desk.store.sqlite import store_path
    from engine.alerts import AlertRules
    from engine.markets import market_rules
    from market_data import calendar_for

    rules = market_rules(market)
    if config_path is not None:
        config, file = load_alert_config(config_path, rules)
        path = store_path(store, file.store)
    else:
        config, path = AlertConfig(AlertRules.for_market(rules)), store_path(store)
        file = None
    # The data's warnings: `carbon data show` lists them.
    frame = load_sources((source,), rules, fmt, source_options(kwargs))
    closes = frame["close"]
    gaps = calendar_for(rules.calendar).session_gaps(pd.DatetimeIndex(closes.index))
    conn = alert_store.open_alert_store(path, key_file=file.audit_key_file if config_path else None)
    try:
        result = check_alerts(
            conn,
            closes,
            config,
            market=rules,
            source=source_key(source),
            instrument=instrument_name or instrument_for(rules, source),
            session_gaps=gaps,
            volatility=volatility,
            rescan=rescan,
        )
    finally:
        conn.close()
    try:
        _print_check(result, path, as_json)
    except BrokenPipeError:  # `| head`: the alerts are stored; the exit code below still stands
        stream_gone()
    if result.open_critical:
        sys.exit(exit_codes.CRITICAL_ALERT)
    if result.volatility_error is not None:
        sys.exit(exit_codes.MODEL)


def _print_check(result: Any, path: Path, as_json: bool) -> None:
    from desk.cli.tables import newest_first

    if as_json:
        for alert in newest_first(result.new):
            click.echo(json.dumps(alert.to_dict(), ensure_ascii=False))
    elif result.new:
        _print_table(result.new, "New alerts")
    if not as_json:
        if result.since is None:
            scope = "checked the whole history"
        elif result.since < result.last:
            scope = f"checked the closes after {result.since}"
        else:
            scope = "nothing new since the last check"
        already = result.found - len(result.new)
        click.echo(
            f"{result.instrument}: closes {result.first} to {result.last}, {scope} "
            f"(volatility rule: {result.volatility}); {len(result.new)} new "
            f"alert{'' if len(result.new) == 1 else 's'} stored in {path}"
            + (f", {already} already stored" if already else "")
        )
    for note in result.notes:
        click.echo(f"note: volatility fit: {note}", err=True)
    for alert_id, notifier, error in result.deliveries.failed:
        click.echo(
            f"warning: notifier {notifier} failed for alert {alert_id}: {error}; "
            "it is tried again on the next check",
            err=True,
        )
    if result.deliveries.waiting:
        click.echo(
            f"warning: {result.deliveries.waiting} more deliveries wait for the next check",
            err=True,
        )
    if result.volatility_error is not None:
        text = result.volatility_error
        click.echo(
            f"error: the volatility rule was not evaluated (the price alerts are stored): "
            f"{text} (--no-volatility skips the rule)".replace("\n", " "),
            err=True,
        )
    if result.open_critical:
        count = len(result.open_critical)
        click.echo(
            f"{count} critical alert{'' if count == 1 else 's'} open for "
            f"{result.instrument}: carbon alerts list --state open",
            err=True,
        )


def _print_table(alerts: Any, title: str) -> None:
    """A table for people: one alert a row, newest first (as in the report). The instrument
    has a column only when the alerts are about more than one."""
    from desk.cli.tables import newest_first, print_table

    instruments = sorted({a.instrument for a in alerts})
    if len(instruments) == 1:
        title = f"{title}: {instruments[0]}"
    several = len(instruments) > 1
    columns = ["id", "date", *(["instrument"] if several else []), "rule", "severity", "state",
               "message"]  # fmt: skip
    rows = [
        [str(a.id), a.date.isoformat(), *([a.instrument] if several else []), a.rule,
         a.severity, a.state, a.message]
        for a in newest_first(alerts)
    ]  # fmt: skip
    print_table(columns, rows, title=title, styles=SEVERITY_STYLE)


@alerts.command("list")
@CONFIG_OPTION
@STORE_OPTION
@click.option(
    "--state",
    type=click.Choice(["active", *STATES, "all"]),
    default="active",
    show_default=True,
    help="active: open and acknowledged.",
)
@click.option("--severity", type=click.Choice(SEVERITIES), help="This severity and above.")
@click.option("--rule", "rules", multiple=True, help="Only this rule (repeatable).")
@click.option("--instrument", help="Only this instrument (CEA also lists CEA:<entity>).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Trading dates from this day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Trading dates to this day.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the latest N.")
@JSON_OPTION
def list_command(
    config_path: Path | None,
    store: Path | None,
    state: str,
    severity: str | None,
    rules: tuple[str, ...],
    instrument: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List stored alerts, newest trading date first (the order of the report)."""
    from desk.store import alerts as alert_store

    states = {"active": ("open", "acknowledged"), "all": None}.get(state, (state,))
    conn = _open(store, config_path)
    try:
        found = alert_store.list_alerts(
            conn,
            states=states,
            min_severity=severity,
            rules=rules or None,
            instrument=instrument,
            since=since.date() if since else None,
            until=until.date() if until else None,
            limit=limit,
        )
    finally:
        conn.close()
    from desk.cli.tables import newest_first

    if as_json:
        for alert in newest_first(found):
            click.echo(json.dumps(alert.to_dict(), ensure_ascii=False))
    elif found:
        _print_table(found, f"{len(found)} alert{'' if len(found) == 1 else 's'} ({state})")
    else:
        click.echo(f"no {'' if state == 'all' else state + ' '}alerts match")


@alerts.command("show")
@click.argument("alert_id", type=int)
@CONFIG_OPTION
@STORE_OPTION
@JSON_OPTION
def show_command(alert_id: int, config_path: Path | None, store: Path | None, as_json: bool):
    """The alert ALERT_ID in full: figures, parameters, state, history and deliveries."""
    from desk.cli.tables import currency_of, figure, print_table
    from desk.store import alerts as alert_store
    from desk.store import audit

    conn = _open(store, config_path)
    try:
        alert = alert_store.get_alert(conn, alert_id)
        if alert is None:
            raise alert_store.AlertStateError(
                f"no alert with id {alert_id} in this store (carbon alerts list shows the ids)"
            )
        history = audit.history(conn, audit.ALERTS.kind, alert.key)
        deliveries = alert_store.deliveries_of(conn, alert_id)
    finally:
        conn.close()
    events = [
        {"event": h["payload"].get("event"), "recorded_at": h["recorded_at"], "seq": h["seq"]}
        for h in history
    ]
    sent = [
        {
            "notifier": d.notifier,
            "status": d.status,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "updated_at": d.updated_at,
        }
        for d in deliveries
    ]
    if as_json:
        record = alert.to_dict() | {"history": events, "deliveries": sent}
        click.echo(json.dumps(record, ensure_ascii=False))
        return
    currency = currency_of(alert.instrument)
    rows = []
    for name, value in alert.to_dict().items():
        if name in ("figures", "parameters"):
            value = ", ".join(f"{k.replace('_', ' ')} {figure(k, v, currency)}"
                              for k, v in value.items())  # fmt: skip
        if value is not None and name not in ("id", "key"):
            rows.append([name.replace("_", " "), str(value)])
    for event in events:
        rows.append(["audit", f"{event['event']} at {event['recorded_at']} (entry {event['seq']})"])
    for d in sent:
        error = f", {d['last_error']}" if d["last_error"] else ""
        tries = f"tr{'y' if d['attempts'] == 1 else 'ies'}"
        rows.append(["delivery", f"{d['notifier']}: {d['status']} after {d['attempts']} {tries}"
                                 f"{error}"])  # fmt: skip
    print_table(["what", "value"], rows, title=f"Alert {alert.id} ({alert.key})", header=False)


def _login() -> str:
    """The login name, or nothing (then --by must be given) where the system has none."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def _move_command(target: str):
    verb = {"acknowledged": "acknowledge", "resolved": "resolve"}[target]

    @click.argument("alert_ids", nargs=-1, required=True, type=int)
    @click.option(
        "--by",
        default=_login,
        show_default="your login name",
        help="Who does it (recorded in the audit chain).",
    )
    @click.option("--note", help="Why, or what was done.")
    @CONFIG_OPTION
    @STORE_OPTION
    @JSON_OPTION
    def command(
        alert_ids: tuple[int, ...],
        by: str,
        note: str | None,
        config_path: Path | None,
        store: Path | None,
        as_json: bool,
    ) -> None:
        from desk.store import alerts as alert_store
        from desk.store.sqlite import transaction

        conn = _open(store, config_path)
        move = alert_store.acknowledge if target == "acknowledged" else alert_store.resolve
        try:
            with transaction(conn):  # all of them, or none
                moved = [move(conn, alert_id, by=by, note=note) for alert_id in alert_ids]
        finally:
            conn.close()
        for alert in moved:
            if as_json:
                click.echo(json.dumps(alert.to_dict(), ensure_ascii=False))
            else:
                click.echo(
                    f"alert {alert.id} ({alert.rule}, {alert.instrument}, {alert.date}) "
                    f"{target} by {by.strip()}" + (f": {note}" if note else "")
                )

    command.__doc__ = (
        f"{verb.capitalize()} the alerts ALERT_IDS (their ids), all or none "
        f"({'open' if target == 'acknowledged' else 'open or acknowledged'} ones)."
    )
    return command


alerts.command("ack")(_move_command("acknowledged"))
alerts.command("resolve")(_move_command("resolved"))
