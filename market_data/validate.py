"""Checks of a tidy frame against the market's rules; every problem names its row and value."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from engine.markets import MarketRules
from market_data.calendar import calendar_for
from market_data.errors import DataWarning, Problem, ValidationReport
from market_data.frame import PRICE_COLUMNS, Parsed


def validate_frame(
    frame: pd.DataFrame,
    rules: MarketRules,
    *,
    source: str,
    rows: np.ndarray | None = None,
) -> list[Problem]:
    """Problems with the values of a tidy, date-ordered frame.

    Checks: prices positive; high not below low; close within high-low (a warning where the
    market publishes a VWAP close, an error elsewhere); volume and turnover not negative; and on a
    banded market, no close further from the previous close than the band allows over the
    sessions between them ((1 + band)^k - 1 up, 1 - (1 - band)^k down, for k sessions), with half
    a tick of rounding allowed.
    """
    if rows is None:
        rows = np.arange(1, len(frame) + 1)
    problems: list[Problem] = []

    def add(severity, check: str, mask: np.ndarray, column: str, message) -> None:
        for i in np.flatnonzero(mask):
            value = frame[column].iat[i]
            text = message(i) if callable(message) else message
            problems.append(Problem(severity, check, source, int(rows[i]), column, value, text))

    for column in PRICE_COLUMNS:
        add("error", "price", frame[column].to_numpy() <= 0, column, "price must be positive")
    for column in ("volume", "turnover"):
        add("error", "negative", frame[column].to_numpy() < 0, column, "must not be negative")

    high, low, close = (frame[c].to_numpy() for c in ("high", "low", "close"))
    add("error", "high_low", high < low, "high", lambda i: f"high is below the low {low[i]}")

    slack = rules.tick / 2
    outside = (close > high + slack) | (close < low - slack)
    if rules.close_is_vwap:
        message = "close outside the day's high-low range (this source publishes a VWAP close)"
        add("warning", "close_range", outside, "close", lambda i: f"{message}: {low[i]}-{high[i]}")
    else:
        add("error", "close_range", outside, "close", lambda i: f"close outside {low[i]}-{high[i]}")

    if rules.daily_band is not None and len(frame) > 1:
        problems.extend(_band_problems(frame, rules, source, rows))
    return problems


def _band_problems(
    frame: pd.DataFrame, rules: MarketRules, source: str, rows: np.ndarray
) -> list[Problem]:
    band = rules.daily_band
    assert band is not None
    close = frame["close"].to_numpy()
    sessions = calendar_for(rules.calendar).session_gaps(pd.DatetimeIndex(frame.index))
    prev = close[:-1]
    k = sessions[1:]
    upper = prev * (1 + band) ** k + rules.tick / 2
    lower = prev * (1 - band) ** k - rules.tick / 2
    problems = []
    priced = (prev > 0) & (close[1:] > 0)  # non-positive prices are reported on their own
    for j in np.flatnonzero(priced & ((close[1:] > upper) | (close[1:] < lower))):
        i = j + 1
        move = close[i] / prev[j] - 1
        span = "1 session" if k[j] == 1 else f"{k[j]} sessions"
        message = (
            f"close moved {move:+.2%} from {prev[j]} on {frame.index[j].date()}, beyond the "
            f"+/-{band:.0%} daily band over {span}"
        )
        problems.append(Problem("error", "band", source, int(rows[i]), "close", close[i], message))
    return problems


def report(parsed: Parsed, rules: MarketRules, source: str) -> ValidationReport:
    """Parsing problems and value problems of one source, in row order."""
    problems = parsed.problems + validate_frame(
        parsed.frame, rules, source=source, rows=parsed.rows
    )
    problems.sort(key=lambda p: (p.row or 0, p.severity))
    return ValidationReport(source=source, rows=len(parsed.frame), problems=tuple(problems))


def accept(parsed: Parsed, rules: MarketRules, source: str) -> ValidationReport:
    """Raise ``DataError`` with every error; emit each warning as a ``DataWarning``."""
    result = report(parsed, rules, source)
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
