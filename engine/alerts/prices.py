"""The price rules over a history of daily closes: close to close, cumulative over a window,
against a reference price, locked at the band (the settings and how rules fire are described
in ``engine.alerts.settings``; the kernel is ``engine.alerts.scan_nb.scan_series_nb``)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from engine.alerts import scan_nb as nb
from engine.alerts.records import Alert, Severity
from engine.alerts.settings import AlertRules
from engine.errors import ConfigurationError
from engine.markets import MarketRules
from engine.series import checked_closes

INF = math.inf

# column -> (rule, direction)
COLUMNS: dict[int, tuple[str, str]] = {
    nb.C2C_UP: ("close_to_close", "up"),
    nb.C2C_DOWN: ("close_to_close", "down"),
    nb.CUM_UP: ("cumulative", "up"),
    nb.CUM_DOWN: ("cumulative", "down"),
    nb.REF_UP: ("reference", "up"),
    nb.REF_DOWN: ("reference", "down"),
    nb.LOCK_UP: ("band_lock", "up"),
    nb.LOCK_DOWN: ("band_lock", "down"),
}


def _or_inf(value: float | None) -> float:
    return INF if value is None else float(value)


def kernel_settings(rules: AlertRules, market: MarketRules) -> np.ndarray:
    """The kernels' settings vector for ``rules`` on ``market`` (see ``scan_nb``)."""
    vector = np.full(nb.N_SETTINGS, INF)
    c2c, cum, ref, lock = rules.close_to_close, rules.cumulative, rules.reference, rules.band_lock
    if c2c.enabled:
        vector[nb.C2C], vector[nb.C2C_CRIT] = c2c.threshold, _or_inf(c2c.critical)
    if cum.enabled:
        vector[nb.CUM], vector[nb.CUM_CRIT] = cum.threshold, _or_inf(cum.critical)
    vector[nb.WINDOW] = cum.window
    vector[nb.REF_PRICE] = ref.price if ref.active else 1.0
    if ref.active:
        vector[nb.REF], vector[nb.REF_CRIT] = ref.threshold, _or_inf(ref.critical)
    banded = lock.enabled and market.daily_band is not None
    vector[nb.BAND] = market.daily_band if banded else np.nan
    vector[nb.TICK] = market.tick
    vector[nb.LOCK_TICKS] = lock.ticks
    vector[nb.LOCK_CRIT] = _or_inf(lock.critical_sessions)
    vector[nb.REARM] = rules.rearm_share
    return vector


def check_closes(closes: pd.Series, what: str = "closes") -> np.ndarray:
    """``closes`` as a contiguous float64 array, checked (``engine.series.checked_closes``);
    ``ConfigurationError`` names the date."""
    return checked_closes(closes, what, ConfigurationError)


def session_numbers(n: int, session_gaps: np.ndarray | None) -> np.ndarray:
    """Session number of each row from the gaps (sessions since the previous row; the first
    element is ignored), or 0, 1, 2, ... when there are none."""
    if session_gaps is None:
        return np.arange(n, dtype=np.int64)
    gaps = np.asarray(session_gaps)
    if gaps.shape != (n,) or not np.issubdtype(gaps.dtype, np.integer) or (gaps[1:] < 1).any():
        raise ConfigurationError(
            f"session_gaps must be whole numbers >= 1, one per close ({n}), got shape "
            f"{gaps.shape}; use market_data.calendar_for(code).session_gaps(closes.index)"
        )
    steps = gaps.astype(np.int64)
    steps[:1] = 0
    return np.cumsum(steps)


def _pct(value: float) -> str:
    return f"{abs(value) * 100:.1f} %"


def _price(value: float) -> float:
    return round(float(value), 4)


def _day(index: pd.DatetimeIndex, row: int) -> str:
    return index[row].date().isoformat()


def _describe(
    rule: str,
    direction: str,
    t: int,
    closes: np.ndarray,
    moves: np.ndarray,
    anchors: np.ndarray,
    column: int,
    index: pd.DatetimeIndex,
    rules: AlertRules,
    market: MarketRules,
    instrument: str,
    critical: bool,
) -> tuple[str, dict[str, Any]]:
    """The one-line message and the figures of one firing."""
    close, move, anchor = float(closes[t]), float(moves[t, column]), int(anchors[t, column])
    unit, day = market.price_unit, _day(index, t)
    verb = "rose" if direction == "up" else "fell"
    setting = getattr(rules, rule)
    level = setting.critical if critical and rule != "band_lock" else None
    limit_text = f"critical level {_pct(level)}" if level is not None else ""
    figures: dict[str, Any] = {"close": _price(close), "move": move, "direction": direction}
    if rule == "close_to_close":
        threshold = rules.close_to_close.threshold
        figures |= {"previous_close": _price(closes[anchor]), "previous_date": _day(index, anchor)}
        message = (
            f"{instrument} {verb} {_pct(move)} in one session to {close:.2f} {unit} on {day} "
            f"(from {closes[anchor]:.2f} on {_day(index, anchor)}; "
            f"{limit_text or 'threshold ' + _pct(threshold)})"
        )
    elif rule == "cumulative":
        threshold, window = rules.cumulative.threshold, rules.cumulative.window
        side = "low" if direction == "up" else "high"
        figures |= {
            f"window_{side}": _price(closes[anchor]),
            f"window_{side}_date": _day(index, anchor),
            "window_sessions": window,
        }
        message = (
            f"{instrument} {verb} {_pct(move)} from the {window}-session {side} of "
            f"{closes[anchor]:.2f} {unit} on {_day(index, anchor)} to {close:.2f} on {day} "
            f"({limit_text or 'threshold ' + _pct(threshold)})"
        )
    elif rule == "reference":
        reference = rules.reference
        threshold = reference.threshold
        figures |= {"reference_price": reference.price, "reference": reference.label}
        message = (
            f"{instrument} at {close:.2f} {unit} on {day} is {_pct(move)} "
            f"{'above' if direction == 'up' else 'below'} the {reference.label} of "
            f"{reference.price:.2f} ({limit_text or 'threshold ' + _pct(threshold)})"
        )
    else:
        band = float(market.daily_band or 0.0)
        previous = float(closes[t - 1])
        signed = band if direction == "up" else -band
        limit = float(nb.limit_price_nb(previous, signed, market.tick))
        sessions = t - anchor + 1
        threshold = band
        figures |= {
            "previous_close": _price(previous),
            "limit_price": _price(limit),
            "band": band,
            "locked_sessions": sessions,
            "first_locked_date": _day(index, anchor),
        }
        which = "upper" if direction == "up" else "lower"
        run = "" if sessions == 1 else f", {sessions} sessions in a row"
        message = (
            f"{instrument} closed at {close:.2f} {unit} on {day}, locked at the {which} limit "
            f"{limit:.2f} (+/-{band:.0%} of {previous:.2f}){run}: the true move is larger"
        )
    figures["threshold"] = threshold
    if level is not None:
        figures["critical"] = level
    return message, figures


def scan_prices(
    closes: pd.Series,
    rules: AlertRules,
    *,
    instrument: str,
    market: MarketRules,
    since: dt.date | None = None,
    session_gaps: np.ndarray | None = None,
) -> list[Alert]:
    """Alerts of the price rules over a daily close history, oldest first.

    Args:
        closes: closes in currency per tonne on a sorted DatetimeIndex of trading dates.
        rules: the settings (``AlertRules.for_market(market)`` for the defaults).
        instrument: what the alerts are about (``"CEA"``).
        market: the market's rules: its daily band and tick (band-lock rule), its currency.
        since: only alerts dated after this day are returned; the whole history still feeds
            the windows and the episodes, so a re-run does not re-fire an episode under way.
        session_gaps: sessions since the previous row for each row, from the exchange's
            calendar (``market_data.calendar_for(market.calendar).session_gaps(closes.index)``);
            without it, consecutive rows are taken as consecutive sessions. Close to close and
            band lock are evaluated only between consecutive sessions; the cumulative window
            counts sessions.

    Each alert's figures carry the close, the move (a fraction), the threshold and what the
    close was compared with (previous close, window high or low and its date, reference price,
    limit price); its parameters are the rule's settings and the direction (``"up"`` or
    ``"down"``), so the same move under other settings is another alert.
    """
    values = check_closes(closes)
    index = pd.DatetimeIndex(closes.index)
    sessions = session_numbers(len(values), session_gaps)
    n = len(values)
    fired = np.zeros((n, nb.N_COLUMNS), dtype=np.int8)
    moves = np.full((n, nb.N_COLUMNS), np.nan)
    anchors = np.full((n, nb.N_COLUMNS), -1, dtype=np.int64)
    nb.scan_series_nb(values, sessions, kernel_settings(rules, market), fired, moves, anchors)

    first = 0 if since is None else int(index.searchsorted(pd.Timestamp(since), side="right"))
    alerts = []
    rows, columns = np.nonzero(fired[first:])
    for t, column in sorted(zip(rows + first, columns, strict=True)):
        rule, direction = COLUMNS[int(column)]
        setting = getattr(rules, rule)
        severity: Severity = "critical" if fired[t, column] == 2 else setting.severity
        message, figures = _describe(
            rule, direction, int(t), values, moves, anchors, int(column), index, rules, market,
            instrument, severity == "critical",
        )  # fmt: skip
        parameters = rules.parameters(rule) | {"direction": direction}
        if rule == "band_lock":
            parameters["band"] = market.daily_band
            parameters["tick"] = market.tick
        alerts.append(
            Alert(rule, instrument, index[t].date(), severity, message, figures, parameters)
        )
    return alerts
