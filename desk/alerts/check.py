"""One check of the alert rules on a price history: scan what is new since the last check,
store the new alerts with their audit entries and watermarks in one transaction, then deliver
them to the notifiers.

The price rules always run. The volatility rule needs a fitted GARCH model: it runs when the
rules enable it, by default on a fit that may be integrated (persistence 1, as the real CEA
history gives: the rule then measures sigma against its trailing level, see
``engine.alerts.settings``). A fit that fails (too few closes, a flat series) does not stop the
check: the price alerts are stored, the failure comes back in ``CheckResult.volatility_error``,
and the volatility watermark stays where it was, so the next check that can fit scans the days
it missed.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from desk.alerts.notify import DeliveryReport, deliver_pending, notifier_levels
from desk.alerts.settings import AlertConfig
from desk.store.alerts import StoredAlert, insert_alerts, open_critical, set_watermark, watermark
from desk.store.sqlite import transaction
from engine.alerts import Alert, scan_prices, scan_volatility
from engine.errors import ModelError, ModelWarning
from engine.markets import MarketRules
from engine.volatility import fit_volatility
from market_data import REFERENCE, DataError

PRICES, VOLATILITY = "prices", "volatility"


def instrument_for(market: MarketRules, source: str) -> str:
    """The instrument's name in the alerts: the market's code in capitals (``"CEA"``), and
    ``"CEA-reference"`` for the embedded reference market, so that its made-up prices never
    stand in for (or block, as duplicates) the real market's alerts in a shared store."""
    code = market.code.upper()
    return f"{code}-reference" if str(source) == REFERENCE else code


def source_key(source: str | Path) -> str:
    """How the store names a source: ``"reference"``, or the file's absolute path."""
    return REFERENCE if str(source) == REFERENCE else str(Path(source).expanduser().resolve())


@dataclass(frozen=True)
class CheckResult:
    """What one check did.

    Attributes:
        instrument, source: what was checked (``source`` as the store names it).
        first, last: the dates of the first and last close of the history.
        since: the price watermark before the check (``None``: the first check, or a rescan).
        found: alerts the scans returned for the new days (stored now or by an earlier run).
        new: the alerts stored by this check, oldest first.
        open_critical: the critical alerts of this instrument (and its books) still open.
        volatility: "scanned", "up to date", "off" (disabled), or "failed".
        volatility_error: why the volatility rule could not run, when it failed.
        deliveries: what the notifiers did (this check's alerts and earlier failed ones).
        notes: warnings of the volatility fit worth a look.
    """

    instrument: str
    source: str
    first: dt.date
    last: dt.date
    since: dt.date | None
    found: int
    new: tuple[StoredAlert, ...]
    open_critical: tuple[StoredAlert, ...]
    volatility: str
    volatility_error: str | None
    deliveries: DeliveryReport
    notes: tuple[str, ...] = ()


def check_alerts(
    conn: sqlite3.Connection,
    closes: pd.Series,
    config: AlertConfig,
    *,
    market: MarketRules,
    source: str,
    instrument: str,
    session_gaps: np.ndarray | None = None,
    volatility: bool = True,
    allow_integrated: bool = True,
    rescan: bool = False,
) -> CheckResult:
    """Evaluate the rules of ``config`` on ``closes`` (currency per tonne, DatetimeIndex) for
    the days after this instrument and source's watermark (every day on the first check, or
    with ``rescan``), store the new alerts, and deliver what is due to ``config.notifiers``.
    ``allow_integrated=False`` refuses an integrated volatility fit (the real CEA history then
    gets no volatility alerts, only ``volatility_error``)."""
    if closes.empty:
        raise DataError(f"{source}: no closes to check")
    last = closes.index[-1].date()
    since = None if rescan else watermark(conn, instrument, source, PRICES)
    found: list[Alert] = []
    if since is None or since < last:
        found += scan_prices(
            closes,
            config.rules,
            instrument=instrument,
            market=market,
            since=since,
            session_gaps=session_gaps,
        )
    status, error, notes, vol_alerts = _volatility(
        conn,
        closes,
        config,
        instrument,
        source,
        session_gaps,
        volatility and config.rules.volatility.enabled,
        allow_integrated,
        rescan,
    )
    found = sorted(found + vol_alerts, key=lambda a: (a.date, a.rule))  # ids in date order
    with transaction(conn):
        new = insert_alerts(conn, found, source=source, notifiers=notifier_levels(config.notifiers))
        set_watermark(conn, instrument, source, PRICES, last)
        if status == "scanned":
            set_watermark(conn, instrument, source, VOLATILITY, last)
    report = deliver_pending(conn, config.notifiers)
    return CheckResult(
        instrument=instrument,
        source=source,
        first=closes.index[0].date(),
        last=last,
        since=since,
        found=len(found),
        new=tuple(sorted(new, key=lambda a: (a.date, a.id))),
        open_critical=tuple(open_critical(conn, instrument)),
        volatility=status,
        volatility_error=error,
        deliveries=report,
        notes=notes,
    )


def _volatility(
    conn: sqlite3.Connection,
    closes: pd.Series,
    config: AlertConfig,
    instrument: str,
    source: str,
    session_gaps: np.ndarray | None,
    enabled: bool,
    allow_integrated: bool,
    rescan: bool,
) -> tuple[str, str | None, tuple[str, ...], list[Alert]]:
    """(status, error, notes, alerts) of the volatility rule."""
    if not enabled:
        return "off", None, (), []
    since = None if rescan else watermark(conn, instrument, source, VOLATILITY)
    if since is not None and since >= closes.index[-1].date():
        return "up to date", None, (), []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = fit_volatility(
                closes, session_gaps=session_gaps, allow_nonstationary=allow_integrated
            )
            alerts = scan_volatility(
                closes,
                config.rules,
                instrument=instrument,
                params=fit.params,
                since=since,
                session_gaps=session_gaps,
            )
    except ModelError as exc:
        return "failed", str(exc), (), []
    for other in (w for w in caught if not issubclass(w.category, ModelWarning)):
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    notes = [str(w.message) for w in caught if issubclass(w.category, ModelWarning)]
    return "scanned", None, tuple(dict.fromkeys(notes)), alerts
