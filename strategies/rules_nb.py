"""Numba twins of the rule strategies of ``strategies.rules``, for the Monte Carlo backtester.

``decide_nb`` takes what the Python rule reads from its view, as plain numbers, and returns the
tonnes to buy forward, buy spot and sell spot on the session, in that order. It repeats the
rules' arithmetic operation for operation, so that the two backtesters agree to the tonne (the
tests run both on the same paths).
"""

from __future__ import annotations

import math

import numpy as np

from engine._numba import njit

DEADLINE, EVEN, RESERVE, FORWARD = range(4)
FINAL_SESSIONS, WINDOW, LOW, HIGH, CLIP_SHARE, RESERVE_SHARE, LONG_SHARE, HEDGE_RATIO = range(8)
N_PARAMS = 8
DEFAULTS = {
    "final_sessions": 20.0,
    "window": 20.0,
    "low": 0.2,
    "high": 0.8,
    "clip_share": 0.02,
    "reserve_share": 1.0,
    "long_share": 0.2,
    "hedge_ratio": 0.8,
}
_INDEX = {
    "final_sessions": FINAL_SESSIONS,
    "window": WINDOW,
    "low": LOW,
    "high": HIGH,
    "clip_share": CLIP_SHARE,
    "reserve_share": RESERVE_SHARE,
    "long_share": LONG_SHARE,
    "hedge_ratio": HEDGE_RATIO,
}


def params(**values: float) -> np.ndarray:
    """The parameter vector: the defaults, with ``values`` set."""
    vector = np.zeros(N_PARAMS)
    for name, value in {**DEFAULTS, **values}.items():
        vector[_INDEX[name]] = float(value)
    return vector


@njit(cache=True)
def up_nb(tonnes):
    return float(math.ceil(tonnes - 1e-9)) if tonnes > 0 else 0.0


@njit(cache=True)
def down_nb(tonnes):
    return float(math.floor(tonnes + 1e-9)) if tonnes > 0 else 0.0


@njit(cache=True)
def decide_nb(
    code, p, closes, end, index, sessions_left, obligation, covered, sellable, reserve_add
):
    """(forward_t, buy_t, sell_t) of rule ``code`` with parameters ``p``, before a session.

    Args:
        closes, end: closes[:end] are the closes known (up to the previous session).
        index, sessions_left: today's place in the cycle (0 first) and sessions to the deadline
            session, today included.
        obligation, covered, sellable: tonnes, as ``DecisionView`` computes them.
        reserve_add: extra reserve from an alert response (t).
    """
    shortfall = max(obligation - covered, 0.0)
    final = sessions_left <= p[FINAL_SESSIONS]
    if code == EVEN or (code == DEADLINE and final):
        buy = up_nb(shortfall / sessions_left)
        return 0.0, (buy if buy >= 1.0 else 0.0), 0.0
    if code == FORWARD:
        forward = 0.0
        if index == 0:
            forward = up_nb(p[HEDGE_RATIO] * shortfall)
            forward = forward if forward >= 1.0 else 0.0
        buy = 0.0
        if final:
            buy = up_nb((shortfall - forward) / sessions_left)
            buy = buy if buy >= 1.0 else 0.0
        return forward, buy, 0.0
    if code == RESERVE:
        reserve = p[RESERVE_SHARE] * obligation + reserve_add
        if final:
            gap = obligation - covered
            if gap > 0:
                buy = up_nb(gap / sessions_left)
                return 0.0, (buy if buy >= 1.0 else 0.0), 0.0
            sell = down_nb(min(-gap / sessions_left, sellable))
            return 0.0, 0.0, (sell if sell >= 1.0 else 0.0)
        window = int(p[WINDOW])
        if end < window:
            return 0.0, 0.0, 0.0
        lowest = closes[end - window]
        highest = lowest
        for k in range(end - window + 1, end):
            c = closes[k]
            lowest = min(lowest, c)
            highest = max(highest, c)
        if highest - lowest <= 0.0:
            return 0.0, 0.0, 0.0
        z = (closes[end - 1] - lowest) / (highest - lowest)
        clip = down_nb(p[CLIP_SHARE] * obligation)
        if z <= p[LOW]:
            buy = down_nb(min(clip, reserve * (1.0 + p[LONG_SHARE]) - covered))
            return 0.0, (buy if buy >= 1.0 else 0.0), 0.0
        if z >= p[HIGH]:
            sell = down_nb(min(clip, covered - reserve, sellable))
            return 0.0, 0.0, (sell if sell >= 1.0 else 0.0)
    return 0.0, 0.0, 0.0
