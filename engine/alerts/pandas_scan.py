"""The price rules written a second time, in plain pandas, as the reference the numba kernel is
tested and benchmarked against (``tests/engine/alerts``, ``tests/benchmarks``).

It shares no code with ``engine.alerts.scan_nb``: the windows are pandas rolling maxima and
minima over the closes laid on the full session grid (a missing session is NaN, so "the
previous session" and "the last ``window`` sessions" come out of ``shift`` and ``rolling``), and
the episodes (fire when a level is first reached since the last re-arm) are cumulative sums
reset at the re-arming days, with no loop over time. Many series at once: one column each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.alerts.settings import AlertRules
from engine.markets import MarketRules

EPS = 1e-12  # as the kernel: a move within this of its threshold counts as at it


def _levels(statistic: pd.DataFrame, threshold: float, critical: float | None) -> pd.DataFrame:
    level = (statistic > threshold + EPS).astype(float)
    if critical is not None:
        level += (statistic > critical + EPS).astype(float)
    return level


def _since_rearm(hit: pd.DataFrame, rearm: pd.DataFrame) -> pd.DataFrame:
    """How many days ``hit`` has held since the last re-arming day (that day excluded)."""
    total = hit.astype(float).cumsum()
    base = total.where(rearm).ffill().fillna(0.0)
    return total - base


def episodes(level: pd.DataFrame, rearm: pd.DataFrame) -> pd.DataFrame:
    """The level fired each day: the first day at level >= 1 since the last re-arm fires its
    level; the first day at level 2 since then fires 2 if that first day did not."""
    first_any = (level >= 1) & (_since_rearm(level >= 1, rearm) == 1)
    first_critical = (level >= 2) & (_since_rearm(level >= 2, rearm) == 1)
    fired = level.where(first_any, 0.0)
    return fired.mask(first_critical & ~first_any, 2.0)


def _move_rule(
    statistic: pd.DataFrame, threshold: float, critical: float | None, rearm_share: float
) -> pd.DataFrame:
    level = _levels(statistic, threshold, critical)
    return episodes(level, statistic <= rearm_share * threshold)


def price_firings(
    closes: pd.DataFrame, sessions: np.ndarray, rules: AlertRules, market: MarketRules
) -> dict[str, pd.DataFrame]:
    """The level fired by each price rule and direction (keys ``"close_to_close_up"`` ..
    ``"band_lock_down"``), each a frame like ``closes`` (rows: days, one column per series).

    ``sessions``: the session number of each row (increasing integers); rules that are off are
    left out.
    """
    frame = closes.set_axis(pd.Index(sessions)).astype(float)
    grid = frame.reindex(pd.RangeIndex(int(sessions[0]), int(sessions[-1]) + 1))
    previous = grid.shift(1).reindex(frame.index)  # NaN when the previous session is missing
    share = rules.rearm_share
    out: dict[str, pd.DataFrame] = {}

    c2c = rules.close_to_close
    if c2c.enabled:
        change = frame / previous - 1
        out["close_to_close_up"] = _move_rule(change, c2c.threshold, c2c.critical, share)
        out["close_to_close_down"] = _move_rule(-change, c2c.threshold, c2c.critical, share)

    cum = rules.cumulative
    if cum.enabled:
        before = grid.shift(1)
        high = before.rolling(cum.window, min_periods=1).max().reindex(frame.index)
        low = before.rolling(cum.window, min_periods=1).min().reindex(frame.index)
        out["cumulative_up"] = _move_rule(frame / low - 1, cum.threshold, cum.critical, share)
        out["cumulative_down"] = _move_rule(1 - frame / high, cum.threshold, cum.critical, share)

    ref = rules.reference
    if ref.active:
        change = frame / ref.price - 1
        out["reference_up"] = _move_rule(change, ref.threshold, ref.critical, share)
        out["reference_down"] = _move_rule(-change, ref.threshold, ref.critical, share)

    lock = rules.band_lock
    if lock.enabled and market.daily_band is not None:
        band, tick = market.daily_band, market.tick
        evaluated = previous.notna()
        slack = (lock.ticks + 0.5) * tick + 1e-9 * tick * previous
        for direction, sign in (("up", 1.0), ("down", -1.0)):
            limit = np.floor(previous * (1 + sign * band) / tick + 0.5 + 1e-9) * tick
            locked = (frame >= limit - slack) if sign > 0 else (frame <= limit + slack)
            locked &= evaluated
            streak = _since_rearm(locked, ~locked)
            level = locked.astype(float)
            if lock.critical_sessions is not None:
                level += (streak >= lock.critical_sessions).astype(float)
            out[f"band_lock_{direction}"] = episodes(level, evaluated & ~locked)
    return {name: fired.astype(np.int8).set_axis(closes.index) for name, fired in out.items()}


def path_counts(
    paths: np.ndarray, rules: AlertRules, *, market: MarketRules, last_close: float
) -> dict[str, np.ndarray]:
    """Firings per path of each price rule and direction over simulated paths (paths x days),
    the session before day 1 closing at ``last_close``."""
    days = paths.shape[1]
    frame = pd.DataFrame(np.vstack([np.full(paths.shape[0], last_close), paths.T]))
    fired = price_firings(frame, np.arange(days + 1), rules, market)
    return {name: (levels.iloc[1:] > 0).sum().to_numpy() for name, levels in fired.items()}
