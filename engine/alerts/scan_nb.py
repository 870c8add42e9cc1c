"""Numba kernels of the alert scan: plain arrays in, preallocated arrays out, time on axis 0.

Every helper a kernel calls lives in this file: numba's cache tracks a kernel's own file only,
so a helper imported from another module could be stale in the cache after an edit there.

The price rules are evaluated per session on one series of closes (``scan_series_nb``); the
paths kernel (``count_firings_nb``) runs the same function over each simulated path, in parallel
over blocks of paths, and counts the firings. Output columns, one per rule and direction:
``C2C_UP .. LOCK_DOWN``. A fired cell holds the level reached: 1 at the threshold, 2 at the
critical level. Episodes (see ``engine.alerts.settings``): a column fires when its level rises
above the level it has already fired at in the current episode, and re-arms (back to 0) when
its statistic is back within ``rearm_share`` x threshold (move rules) or its condition clears
(band lock); a day the rule cannot be evaluated changes nothing.
"""

from __future__ import annotations

import math

import numpy as np

from engine._numba import njit, prange

# Output columns.
C2C_UP, C2C_DOWN, CUM_UP, CUM_DOWN, REF_UP, REF_DOWN, LOCK_UP, LOCK_DOWN = range(8)
N_COLUMNS = 8

# Settings vector: thresholds are fractions; a rule that is off has an infinite threshold, a
# critical level that is off is infinite; BAND is NaN when the band-lock rule is off.
(C2C, C2C_CRIT, CUM, CUM_CRIT, WINDOW, REF_PRICE, REF, REF_CRIT,
 BAND, TICK, LOCK_TICKS, LOCK_CRIT, REARM) = range(13)  # fmt: skip
N_SETTINGS = 13

MOVE_EPS = 1e-12  # a move within this of its threshold counts as at it (decimal price noise)
ROUNDING_EPS = 1e-9  # in ticks: x.4999999999 is a float's x.5


@njit(cache=True)
def limit_price_nb(previous_close, band, tick):
    """The exchange's limit price: ``previous_close x (1 + band)`` rounded half up to the tick
    (``band`` signed: +0.10 gives the upper limit, -0.10 the lower)."""
    return math.floor(previous_close * (1.0 + band) / tick + 0.5 + ROUNDING_EPS) * tick


@njit(cache=True, inline="always")
def _level(statistic, threshold, critical):
    if statistic > critical + MOVE_EPS:
        return 2
    if statistic > threshold + MOVE_EPS:
        return 1
    return 0


@njit(cache=True, inline="always")
def _episode(state, level, rearm):
    """One day of one column's episode: (the episode's level after today, the level fired
    today or 0). Fires when the level rises above the episode's; re-arms to 0 on ``rearm``."""
    if level > state:
        return level, level
    if level == 0 and rearm:
        return 0, 0
    return state, 0


@njit(cache=True, inline="always")
def _record(fired, moves, anchors, t, column, level, move, anchor):
    fired[t, column] = level
    moves[t, column] = move
    anchors[t, column] = anchor


@njit(cache=True)
def scan_series_nb(closes, sessions, settings, fired, moves, anchors):
    """Scan one series of closes (currency per tonne) for the price rules.

    Args:
        closes: (days,) positive closes.
        sessions: (days,) int64 session numbers in the exchange's calendar, increasing; rows
            t - 1 and t are consecutive sessions when they differ by 1.
        settings: (N_SETTINGS,) as laid out above.
        fired: (days, N_COLUMNS) int8, out: the level fired (0 none, 1 threshold, 2 critical).
        moves: (days, N_COLUMNS) float64, out where a column fired (left as it was elsewhere):
            the move, P_t / P_{t-1} - 1 for close to close and band lock, P_t / low - 1 and
            P_t / high - 1 for the cumulative rule, P_t / reference - 1.
        anchors: (days, N_COLUMNS) int64, out where a column fired: the row compared with (the
            previous close; the window's low or high, the latest if tied; for band lock the
            first row of the locked streak; -1 for the reference price).

    The episode state of each column is a local scalar (an array would be reloaded from memory
    at every step: five times slower).
    """
    n = closes.shape[0]
    fired[:, :] = 0
    rearm = settings[REARM]
    c2c, c2c_crit = settings[C2C], settings[C2C_CRIT]
    cum, cum_crit, window = settings[CUM], settings[CUM_CRIT], settings[WINDOW]
    ref_price, ref, ref_crit = settings[REF_PRICE], settings[REF], settings[REF_CRIT]
    band, tick, lock_crit = settings[BAND], settings[TICK], settings[LOCK_CRIT]
    c2c_on, cum_on, ref_on = c2c < np.inf, cum < np.inf, ref < np.inf
    lock_on = band == band  # not NaN
    tolerance = (settings[LOCK_TICKS] + 0.5) * tick
    c2c_up = c2c_down = cum_up = cum_down = ref_up = ref_down = lock_up = lock_down = 0
    streak_up, streak_down = 0, 0
    # The window's high and low: monotone queues of rows (closes decreasing in ``highs``,
    # increasing in ``lows``), so each row enters and leaves once: O(days), whatever the window.
    highs = np.empty(n, dtype=np.int64)
    lows = np.empty(n, dtype=np.int64)
    high_head, high_tail, low_head, low_tail = 0, 0, 0, 0
    for t in range(n):
        close = closes[t]
        consecutive = t > 0 and sessions[t] - sessions[t - 1] == 1
        if consecutive and c2c_on:
            change = close / closes[t - 1] - 1.0
            level = _level(change, c2c, c2c_crit)
            c2c_up, hit = _episode(c2c_up, level, change <= rearm * c2c)
            if hit:
                _record(fired, moves, anchors, t, C2C_UP, hit, change, t - 1)
            level = _level(-change, c2c, c2c_crit)
            c2c_down, hit = _episode(c2c_down, level, -change <= rearm * c2c)
            if hit:
                _record(fired, moves, anchors, t, C2C_DOWN, hit, change, t - 1)
        if cum_on:
            if t > 0:  # row t - 1 enters the window; a later close evicts lower (higher) ones
                while high_tail > high_head and closes[highs[high_tail - 1]] <= closes[t - 1]:
                    high_tail -= 1
                highs[high_tail] = t - 1
                high_tail += 1
                while low_tail > low_head and closes[lows[low_tail - 1]] >= closes[t - 1]:
                    low_tail -= 1
                lows[low_tail] = t - 1
                low_tail += 1
            while high_tail > high_head and sessions[t] - sessions[highs[high_head]] > window:
                high_head += 1
            while low_tail > low_head and sessions[t] - sessions[lows[low_head]] > window:
                low_head += 1
            if high_tail > high_head:
                at_high, at_low = highs[high_head], lows[low_head]
                rise = close / closes[at_low] - 1.0
                level = _level(rise, cum, cum_crit)
                cum_up, hit = _episode(cum_up, level, rise <= rearm * cum)
                if hit:
                    _record(fired, moves, anchors, t, CUM_UP, hit, rise, at_low)
                fall = close / closes[at_high] - 1.0
                level = _level(-fall, cum, cum_crit)
                cum_down, hit = _episode(cum_down, level, -fall <= rearm * cum)
                if hit:
                    _record(fired, moves, anchors, t, CUM_DOWN, hit, fall, at_high)
        if ref_on:
            change = close / ref_price - 1.0
            level = _level(change, ref, ref_crit)
            ref_up, hit = _episode(ref_up, level, change <= rearm * ref)
            if hit:
                _record(fired, moves, anchors, t, REF_UP, hit, change, -1)
            level = _level(-change, ref, ref_crit)
            ref_down, hit = _episode(ref_down, level, -change <= rearm * ref)
            if hit:
                _record(fired, moves, anchors, t, REF_DOWN, hit, change, -1)
        if not consecutive:
            streak_up, streak_down = 0, 0
        elif lock_on:
            previous = closes[t - 1]
            slack = tolerance + ROUNDING_EPS * tick * previous
            up = close >= limit_price_nb(previous, band, tick) - slack
            down = close <= limit_price_nb(previous, -band, tick) + slack
            streak_up = streak_up + 1 if up else 0
            streak_down = streak_down + 1 if down else 0
            change = close / previous - 1.0
            level = 0 if streak_up == 0 else (2 if streak_up >= lock_crit else 1)
            lock_up, hit = _episode(lock_up, level, streak_up == 0)
            if hit:
                _record(fired, moves, anchors, t, LOCK_UP, hit, change, t - streak_up + 1)
            level = 0 if streak_down == 0 else (2 if streak_down >= lock_crit else 1)
            lock_down, hit = _episode(lock_down, level, streak_down == 0)
            if hit:
                _record(fired, moves, anchors, t, LOCK_DOWN, hit, change, t - streak_down + 1)


BLOCK = 64  # paths one thread scans in turn, with one set of buffers


@njit(cache=True, parallel=True)
def count_firings_nb(paths, last_close, settings, counts):
    """Count the firings of each column on each simulated path.

    Args:
        paths: (days, n_paths) closes, day 1 first (a transposed view of the simulator's
            paths x days array is fine: each path is then contiguous).
        last_close: the last observed close, the session before day 1 (it seeds the first
            day's close-to-close move and the first windows).
        settings: as for ``scan_series_nb``.
        counts: (n_paths, N_COLUMNS, 2) int64, out: firings of any level, and critical ones.
    """
    days, n_paths = paths.shape
    sessions = np.arange(days + 1)
    for block in prange((n_paths + BLOCK - 1) // BLOCK):
        closes = np.empty(days + 1)
        fired = np.empty((days + 1, N_COLUMNS), dtype=np.int8)
        moves = np.empty((days + 1, N_COLUMNS))
        anchors = np.empty((days + 1, N_COLUMNS), dtype=np.int64)
        for path in range(block * BLOCK, min((block + 1) * BLOCK, n_paths)):
            closes[0] = last_close
            for t in range(days):
                closes[t + 1] = paths[t, path]
            scan_series_nb(closes, sessions, settings, fired, moves, anchors)
            for column in range(N_COLUMNS):
                counts[path, column, 0] = 0
                counts[path, column, 1] = 0
            for t in range(1, days + 1):
                for column in range(N_COLUMNS):
                    level = fired[t, column]
                    if level > 0:
                        counts[path, column, 0] += 1
                        if level == 2:
                            counts[path, column, 1] += 1


@njit(cache=True)
def conditional_variance_nb(residuals, omega, alpha, gamma, beta, first_variance, out):
    """GARCH / GJR recursion: out[0] = first_variance, out[t] = omega + (alpha + gamma
    1[e_{t-1} < 0]) e_{t-1}^2 + beta out[t-1] for t = 1 .. len(out) - 1 (at most one more than
    the residuals); residuals e_t in per cent, variances in %^2."""
    n = out.shape[0]
    if n == 0:
        return
    out[0] = first_variance
    for t in range(1, n):
        shock = residuals[t - 1]
        weight = alpha + (gamma if shock < 0.0 else 0.0)
        out[t] = omega + weight * shock * shock + beta * out[t - 1]


@njit(cache=True)
def episodes_nb(levels, rearm, fired):
    """Episode firing of one column: ``levels`` (days,) int8, ``rearm`` (days,) bool; ``fired``
    (days,) int8, out: the level fired each day (0 none)."""
    state = 0
    for t in range(levels.shape[0]):
        state, fired[t] = _episode(state, levels[t], rearm[t])
