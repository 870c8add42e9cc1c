"""Properties of the price rules over generated histories and settings: the numba kernel and the
plain pandas implementation (``engine.alerts.pandas_scan``) fire the same levels on the same
days; scaling every price (and the tick, and the reference price) by a constant fires the same
alerts; a history with no move over the threshold fires none."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.alerts import AlertRules, scan_prices
from engine.alerts import scan_nb as nb
from engine.alerts.pandas_scan import price_firings
from engine.alerts.prices import COLUMNS, kernel_settings, session_numbers
from engine.markets import CEA

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def histories(draw, min_size: int = 2, max_size: int = 60):
    """Closes from a random walk of daily log moves up to +/-15 %, some sessions missing."""
    n = draw(st.integers(min_size, max_size))
    steps = draw(st.lists(st.floats(-0.15, 0.15), min_size=n - 1, max_size=n - 1))
    start = draw(st.floats(5.0, 200.0))
    closes = start * np.exp(np.concatenate([[0.0], np.cumsum(steps)]))
    closes = np.round(closes, 2) if draw(st.booleans()) else closes  # on the tick, or not
    closes = np.maximum(closes, 0.01)
    steps_between = st.lists(st.sampled_from([1, 1, 1, 2, 3]), min_size=n - 1, max_size=n - 1)
    gaps = np.array([1, *draw(steps_between)])
    return closes, gaps


@st.composite
def alert_rules(draw):
    def levels():
        threshold = draw(st.floats(0.01, 0.3))
        critical = draw(st.one_of(st.none(), st.floats(0.005, 0.3).map(lambda x: threshold + x)))
        return {"threshold": threshold, "critical": critical}

    return AlertRules.from_dict(
        {
            "close_to_close": {"enabled": draw(st.booleans()), **levels()},
            "cumulative": {"window": draw(st.integers(1, 12)), **levels()},
            "reference": {
                "price": draw(st.one_of(st.none(), st.floats(5.0, 200.0))),
                **levels(),
            },
            "band_lock": {
                "enabled": draw(st.booleans()),
                "ticks": draw(st.integers(0, 5)),
                "critical_sessions": draw(st.one_of(st.none(), st.integers(1, 4))),
            },
            "rearm_share": draw(st.floats(0.0, 1.0)),
        }
    )


def kernel_fired(closes, gaps, rules, market):
    n = len(closes)
    fired = np.zeros((n, nb.N_COLUMNS), dtype=np.int8)
    moves, anchors = np.empty((n, nb.N_COLUMNS)), np.empty((n, nb.N_COLUMNS), dtype=np.int64)
    sessions = session_numbers(n, gaps)
    nb.scan_series_nb(
        np.ascontiguousarray(closes, dtype=float),
        sessions,
        kernel_settings(rules, market),
        fired,
        moves,
        anchors,
    )
    return fired


@SETTINGS
@given(history=histories(), rules=alert_rules(), band=st.sampled_from([0.05, 0.10, 0.2]))
def test_kernel_and_pandas_fire_the_same_levels_on_the_same_days(history, rules, band):
    closes, gaps = history
    market = dataclasses.replace(CEA, daily_band=band)
    fired = kernel_fired(closes, gaps, rules, market)
    frame = pd.DataFrame({"closes": closes})
    reference = price_firings(frame, session_numbers(len(closes), gaps), rules, market)
    for column, (rule, direction) in COLUMNS.items():
        name = f"{rule}_{direction}"
        if name in reference:
            np.testing.assert_array_equal(
                fired[:, column], reference[name]["closes"].to_numpy(), err_msg=name
            )
        else:  # the rule is off
            assert not fired[:, column].any(), name


def _summary(alerts):
    return [(a.rule, a.date, a.severity, a.figures["direction"]) for a in alerts]


@SETTINGS
@given(history=histories(), rules=alert_rules(), power=st.integers(-4, 10))
def test_scaling_every_price_fires_the_same_alerts(history, rules, power):
    """Powers of two scale floats exactly, so every comparison comes out the same; the tick
    and the reference price scale with the prices (a price in fen instead of yuan)."""
    closes, gaps = history
    scale = 2.0**power
    index = pd.bdate_range("2024-01-01", periods=len(closes))
    base = scan_prices(
        pd.Series(closes, index=index), rules, instrument="CEA", market=CEA, session_gaps=gaps
    )
    price = rules.reference.price
    scaled_rules = dataclasses.replace(
        rules,
        reference=dataclasses.replace(
            rules.reference, price=None if price is None else price * scale
        ),
    )
    market = dataclasses.replace(CEA, tick=CEA.tick * scale)
    scaled = scan_prices(
        pd.Series(closes * scale, index=index),
        scaled_rules,
        instrument="CEA",
        market=market,
        session_gaps=gaps,
    )
    assert _summary(scaled) == _summary(base)
    assert [a.figures["move"] for a in scaled] == [a.figures["move"] for a in base]


@SETTINGS
@given(
    size=st.integers(2, 80),
    low=st.floats(10.0, 500.0),
    threshold=st.floats(0.02, 0.10),
    shares=st.data(),
)
def test_no_move_over_the_threshold_fires_nothing(size, low, threshold, shares):
    """Closes anywhere in [low, low x (1 + threshold) x 0.99], in any order: no close is 10 %
    off another, the reference price sits inside the range, so no price rule can fire (and the
    +/-10 % band cannot be reached either)."""
    high = low * (1 + threshold) * 0.99
    draws = shares.draw(st.lists(st.floats(0.0, 1.0), min_size=size, max_size=size))
    closes = pd.Series(
        low + (high - low) * np.array(draws), index=pd.bdate_range("2024-01-01", periods=size)
    )
    reference = low + (high - low) * shares.draw(st.floats(0.0, 1.0))
    rules = AlertRules.from_dict(
        {
            name: {"threshold": threshold, "critical": False}
            for name in ("close_to_close", "cumulative")
        }
        | {
            "reference": {"price": reference, "threshold": threshold},
            "cumulative": {"threshold": threshold, "window": shares.draw(st.integers(1, 40))},
        }
    )
    assert scan_prices(closes, rules, instrument="CEA", market=CEA) == []
