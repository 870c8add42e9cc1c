"""What a person wants to know about a price history at a glance."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from engine.markets import MarketRules
from market_data.calendar import calendar_for
from market_data.errors import DataError
from market_data.merge import basis_changes


@dataclass(frozen=True)
class Gap:
    after: str
    before: str
    missing_sessions: int


@dataclass(frozen=True)
class Summary:
    """Range, size, last close, daily log-return statistics, gaps against the market's calendar,
    price-basis changes, the source's warnings, the rows its warnings flagged by kind of check
    (most first: ``(("session", 15), ("missing", 5))``) and the outlier rows left out."""

    market: str
    source: str
    currency: str
    first: str
    last: str
    rows: int
    last_close: float
    min_close: float
    max_close: float
    mean_return_pct: float
    daily_vol_pct: float
    annual_vol_pct: float
    largest_rise_pct: float
    largest_fall_pct: float
    unchanged_share_pct: float
    sessions_expected: int
    sessions_missing: int
    longest_gaps: tuple[Gap, ...]
    basis_changes: tuple[tuple[str, str, str], ...]
    warnings: tuple[str, ...]
    flagged: tuple[tuple[str, int], ...] = ()
    left_out: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


def summarise(frame: pd.DataFrame, rules: MarketRules, *, gaps_shown: int = 3) -> Summary:
    """Summary of a tidy frame. Returns are taken between consecutive trading days of the
    market's calendar only; volatility is their s.d., annualised with the calendar's sessions
    a year (2015-2024 average: 243 for Shanghai)."""
    if frame.empty:
        raise DataError("cannot summarise an empty price history")
    close = frame["close"]
    calendar = calendar_for(rules.calendar)
    index = pd.DatetimeIndex(frame.index)
    expected = calendar.sessions(index[0], index[-1])
    steps = calendar.session_gaps(index)
    # Returns between consecutive trading days only: a move across a gap in the data is not a
    # daily move.
    consecutive = steps[1:] == 1
    returns = np.log(close).diff().iloc[1:][consecutive]
    moves = close.pct_change().iloc[1:][consecutive]
    order = np.argsort(-steps, kind="stable")[:gaps_shown]
    gaps = tuple(
        Gap(str(index[i - 1].date()), str(index[i].date()), int(steps[i] - 1))
        for i in sorted(order)
        if steps[i] > 1
    )
    changes = basis_changes(frame)
    daily_vol = float(returns.std()) if len(returns) > 1 else float("nan")
    return Summary(
        market=rules.code,
        source=str(frame.attrs.get("source", "")),
        currency=str(frame.attrs.get("currency", rules.currency)),
        first=str(index[0].date()),
        last=str(index[-1].date()),
        rows=len(frame),
        last_close=float(close.iloc[-1]),
        min_close=float(close.min()),
        max_close=float(close.max()),
        mean_return_pct=100 * float(returns.mean()) if len(returns) else float("nan"),
        daily_vol_pct=100 * daily_vol,
        annual_vol_pct=100 * daily_vol * float(np.sqrt(calendar.sessions_per_year())),
        largest_rise_pct=100 * float(moves.max()) if len(moves) else float("nan"),
        largest_fall_pct=100 * float(moves.min()) if len(moves) else float("nan"),
        unchanged_share_pct=100 * float((moves == 0).mean()) if len(moves) else float("nan"),
        sessions_expected=len(expected),
        sessions_missing=len(expected.difference(index)),
        longest_gaps=gaps,
        basis_changes=tuple(
            (str(day.date()), str(row.before), str(row.after)) for day, row in changes.iterrows()
        ),
        warnings=tuple(frame.attrs.get("warnings", ())),
        flagged=tuple(
            sorted(dict(frame.attrs.get("flagged", {})).items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        left_out=tuple(frame.attrs.get("left_out", ())),
    )
