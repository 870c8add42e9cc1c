"""Checks of a tidy frame against the market's rules; every problem names its row and value."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Literal

import numpy as np
import pandas as pd

from engine.markets import MarketRules
from market_data.calendar import FIRST_YEAR, LAST_YEAR, calendar_for
from market_data.errors import DataWarning, Problem, ValidationReport
from market_data.frame import PRICE_COLUMNS, Parsed
from market_data.outliers import absurd_closes

# A band to check: a fraction, none, or the market's own.
Band = float | Literal["market"] | None


def validate_frame(
    frame: pd.DataFrame,
    rules: MarketRules,
    *,
    source: str,
    rows: np.ndarray | None = None,
    band: Band = "market",
    close_is_settlement: bool = False,
) -> list[Problem]:
    """Problems with the values of a tidy, date-ordered frame.

    Checks: dates within the trading calendar's years; prices positive; high not below low;
    close within high-low (a warning where the market publishes a VWAP close or the close is a
    settlement price, an error elsewhere); volume and turnover not negative; a row on a day the
    market's calendar has no session on a weekend or a published holiday (a warning: some
    exchanges publish weekend rows, and a vendor may repeat a close on a holiday); absurd
    closes, many times the closes around them or a fraction of them (a warning, see
    ``market_data.outliers``); and on a banded market, no close further from the previous close
    than the band allows over the sessions between them: for k sessions, ``(1 + band)^k - 1`` up
    and ``1 - (1 - band)^k`` down, plus half a tick of the exchange's rounding of each day's limit
    price (an error, or a warning where the market's band is not firm).

    Args:
        rows: the source row of each frame row (numbered from 1 when not given).
        band: the daily band to check (``None`` for none); by default the market's.
        close_is_settlement: the close is an exchange's settlement price, which may lie outside
            the day's traded range (a futures contract on a thin day).
    """
    if rows is None:
        rows = np.arange(1, len(frame) + 1)
    band = rules.daily_band if band == "market" else band
    problems: list[Problem] = []

    def add(severity, check: str, mask: np.ndarray, column: str, message) -> None:
        for i in np.flatnonzero(mask):
            value = frame[column].iat[i]
            text = message(i) if callable(message) else message
            problems.append(Problem(severity, check, source, int(rows[i]), column, value, text))

    index = pd.DatetimeIndex(frame.index)
    calendar = calendar_for(rules.calendar)
    outside = ~((index.year >= FIRST_YEAR) & (index.year <= LAST_YEAR))
    for i in np.flatnonzero(outside):
        day = index[i].date().isoformat()
        problems.append(
            Problem(
                "error", "date", source, int(rows[i]), "date", day,
                f"outside the trading calendar's years {FIRST_YEAR}-{LAST_YEAR}",
            )
        )  # fmt: skip

    for column in PRICE_COLUMNS:
        add("error", "price", frame[column].to_numpy() <= 0, column, "price must be positive")
    for column in ("volume", "turnover"):
        add("error", "negative", frame[column].to_numpy() < 0, column, "must not be negative")

    high, low, close = (frame[c].to_numpy() for c in ("high", "low", "close"))
    add("error", "high_low", high < low, "high", lambda i: f"high is below the low {low[i]}")

    slack = rules.tick / 2
    sane = (close > 0) & (low > 0) & (high >= low)  # otherwise reported above
    off = sane & ((close > high + slack) | (close < low - slack))
    if close_is_settlement:  # normal for futures: one warning for the whole file
        problems.extend(_settlement_note(off, index, close, low, high, source, rows))
    elif rules.close_is_vwap:
        message = "close outside the day's high-low range (this source publishes a VWAP close)"
        add("warning", "close_range", off, "close", lambda i: f"{message}: {low[i]}-{high[i]}")
    else:
        add("error", "close_range", off, "close", lambda i: f"close outside {low[i]}-{high[i]}")

    flagged, median = absurd_closes(close)
    add(
        "warning", "outlier", flagged, "close",
        lambda i: f"absurd close: {close[i] / median[i]:.3g} times the median {median[i]:.6g} "
        "of the closes around it (a mistyped price?)",
    )  # fmt: skip

    if not outside.any() and len(index):
        # Weekends, and holidays where the table is published, not estimated (see
        # market_data.calendar): a Saturday row is unusual everywhere.
        code = rules.calendar or "weekdays"
        sessions = calendar.sessions(index.min(), index.max())
        closed = ~index.isin(sessions)
        weekend = (index.day_of_week >= 5) & closed
        add(
            "warning", "session", np.asarray(weekend, dtype=bool), "close",
            lambda i: f"{index[i].date()} is a {index[i].day_name()}, not a session of the "
            f"{code} calendar",
        )  # fmt: skip
        known = np.array(
            [calendar.holiday_is_known(d) for d in index[closed & ~weekend]], dtype=bool
        )
        holiday = np.zeros(len(index), dtype=bool)
        holiday[np.flatnonzero(closed & ~weekend)[known]] = True
        add(
            "warning", "session", holiday, "close",
            lambda i: f"{index[i].date()} is a holiday ({calendar.holiday_name(index[i])}), "
            f"not a session of the {code} calendar",
        )  # fmt: skip
    if band is not None and len(frame) > 1 and not outside.any():
        gaps = calendar.session_gaps(index)
        severity = "error" if rules.band_is_firm else "warning"
        problems.extend(_band_problems(frame, band, rules.tick, gaps, source, rows, severity))
    return problems


def _settlement_note(
    off: np.ndarray,
    index: pd.DatetimeIndex,
    close: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    source: str,
    rows: np.ndarray,
) -> list[Problem]:
    """One warning for the settlements outside the day's traded range, if any."""
    if not off.any():
        return []
    i = int(np.flatnonzero(off)[0])
    message = (
        f"{off.sum()} settlement price(s) outside the day's traded high-low range, normal "
        f"for a futures settlement on a thin day; the first on row {rows[i]} "
        f"({index[i].date()}: {close[i]} against {low[i]}-{high[i]})"
    )
    return [Problem("warning", "close_range", source, None, "close", None, message)]


def _band_problems(
    frame: pd.DataFrame,
    band: float,
    tick: float,
    sessions: np.ndarray,
    source: str,
    rows: np.ndarray,
    severity: Literal["error", "warning"] = "error",
) -> list[Problem]:
    close = frame["close"].to_numpy()
    prev = close[:-1]
    k = sessions[1:]
    # Each day's limit is rounded to the tick: up to half a tick per session, compounded. Over
    # thousands of sessions (a mistyped year) the band overflows to no limit at all.
    with np.errstate(over="ignore"):
        up, down = (1 + band) ** k, (1 - band) ** k
        upper = prev * up + tick / 2 * (up - 1) / band
        lower = prev * down - tick / 2 * (1 - down) / band
    problems = []
    priced = (prev > 0) & (close[1:] > 0)  # non-positive prices are reported on their own
    for j in np.flatnonzero(priced & ((close[1:] > upper) | (close[1:] < lower))):
        i = j + 1
        with np.errstate(over="ignore"):  # a subnormal previous close: an infinite move
            move = close[i] / prev[j] - 1
        span = "1 session" if k[j] == 1 else f"{k[j]} sessions"
        message = (
            f"close moved {move:+.2%} from {prev[j]} on {frame.index[j].date()}, beyond the "
            f"+/-{band:.0%} daily band over {span}"
        )
        if severity == "warning":
            message += " (this market's limits changed over the years, and its close may include"
            message += " auction or block trades)"
        problems.append(Problem(severity, "band", source, int(rows[i]), "close", close[i], message))
    return problems


def report(
    parsed: Parsed, rules: MarketRules, source: str, band: Band = "market", *, strict: bool = False
) -> ValidationReport:
    """Parsing problems and value problems of one source, in row order; ``strict``: every
    warning is an error."""
    problems = parsed.problems + validate_frame(
        parsed.frame,
        rules,
        source=source,
        rows=parsed.rows,
        band=band,
        close_is_settlement=parsed.close_is_settlement,
    )
    if strict:
        problems = [_as_error(p) for p in problems]
    problems.sort(key=lambda p: (p.row or 0, p.severity))
    return ValidationReport(source=source, rows=len(parsed.frame), problems=tuple(problems))


def _as_error(problem: Problem) -> Problem:
    if problem.severity == "error":
        return problem
    message = f"{problem.message} (a warning, an error under strict checking)"
    return dataclasses.replace(problem, severity="error", message=message)


def accept(
    parsed: Parsed, rules: MarketRules, source: str, band: Band = "market", *, strict: bool = False
) -> ValidationReport:
    """Raise ``DataError`` with every error (every warning too, if ``strict``); emit the
    warnings as one ``DataWarning``."""
    result = report(parsed, rules, source, band, strict=strict)
    result.raise_for_errors()
    if result.warnings:
        count = len(result.warnings)
        warnings.warn(
            f"{count} warning{'s' if count != 1 else ''} in {source} "
            f"(listed in frame.attrs['warnings']); first: {result.warnings[0]}",
            DataWarning,
            stacklevel=3,
        )
    return result
