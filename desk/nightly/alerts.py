"""Step 4 of the night: every alert rule, stored once and notified.

Per market, the price and volatility rules run through ``desk.alerts.check.check_alerts`` (what
``carbon alerts check`` runs: only the days after the store's watermark, so a repeated night
stores nothing twice). Per entity, the coverage and pledge rules run on its book at tonight's
close, under the instrument ``"<MARKET>:<entity>"``. A rule that cannot run (a volatility fit
that fails) is reported, not fatal: the other alerts are stored.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from desk.alerts.check import check_alerts as check_market
from desk.alerts.check import instrument_for, source_key
from desk.alerts.notify import notifier_levels
from desk.alerts.settings import parse_alert_config
from desk.config.desk import DeskConfig
from desk.store.alerts import insert_alerts, list_alerts, open_critical
from desk.store.sqlite import transaction
from engine.alerts import Alert, scan_book
from market_data import calendar_for


@dataclass
class NightAlerts:
    """The night's alerts as JSON-ready dicts: ``new`` (stored tonight), ``open`` (not resolved,
    for the instruments of this run), ``critical`` (the open critical ones nobody acknowledged:
    the night exits 7 for them, as ``carbon alerts check`` does) and ``problems`` (rules or
    notifiers that failed)."""

    new: list[dict[str, Any]] = field(default_factory=list)
    open: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    critical: list[dict[str, Any]] = field(default_factory=list)


def check_alerts(conn: sqlite3.Connection, config: DeskConfig, markets, entities) -> NightAlerts:
    out = NightAlerts()
    instruments = []
    for code, m in markets.items():
        settings = parse_alert_config(config.alerts, m.rules, base=config.path.parent)
        closes = m.prices["close"]
        instrument = instrument_for(m.rules, m.source.source)
        instruments.append(instrument)
        source = source_key(m.source.source)
        # The books first, so that the market's check delivers their alerts with its own, once.
        books = []
        day = dt.date.fromisoformat(m.params.last_date)
        for night in entities:
            if night.entity.book.market != code:
                continue
            name = f"{instrument}:{night.entity.name}"
            still_open = [_engine_alert(a) for a in list_alerts(
                conn, states=("open", "acknowledged"), instrument=name)]  # fmt: skip
            books += scan_book(night.entity.book, m.params.last_price, day, settings.rules,
                               instrument=name, open_alerts=still_open)  # fmt: skip
        with transaction(conn):
            stored = insert_alerts(conn, books, source=source,
                                   notifiers=notifier_levels(settings.notifiers))  # fmt: skip
        gaps = calendar_for(m.rules.calendar).session_gaps(pd.DatetimeIndex(closes.index))
        result = check_market(conn, closes, settings, market=m.rules, source=source,
                              instrument=instrument, session_gaps=gaps)  # fmt: skip
        out.new += [a.to_dict() for a in (*result.new, *stored)]
        if result.volatility_error:
            out.problems.append(f"{instrument} volatility rule: {result.volatility_error}")
        out.problems += [f"notifier: {f}" for f in _failures(result.deliveries)]
    for instrument in instruments:
        out.open += [a.to_dict() for a in list_alerts(conn, states=("open", "acknowledged"),
                                                      instrument=instrument)]  # fmt: skip
        out.critical += [a.to_dict() for a in open_critical(conn, instrument)]
    out.open.sort(key=lambda a: (a["date"], a["id"]), reverse=True)
    out.critical.sort(key=lambda a: (a["date"], a["id"]), reverse=True)
    return out


def _engine_alert(stored) -> Alert:
    return Alert(stored.rule, stored.instrument, stored.date, stored.severity, stored.message,
                 dict(stored.figures), dict(stored.parameters))  # fmt: skip


def _failures(report) -> list[str]:
    return [f"alert {alert_id} to {name}: {error}" for alert_id, name, error in report.failed]
