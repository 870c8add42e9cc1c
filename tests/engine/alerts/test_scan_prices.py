"""The price rules on small hand-made histories: each figure below is worked out by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from engine.alerts import AlertRules, scan_prices
from engine.alerts.scan_nb import limit_price_nb
from engine.errors import ConfigurationError
from engine.markets import CEA, EUA


def series(values, start="2025-03-03") -> pd.Series:
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values)), dtype=float)


def only(rule: str, **settings) -> AlertRules:
    """Every price rule off but ``rule``, which takes ``settings``."""
    data = {name: {"enabled": False} for name in ("close_to_close", "cumulative", "band_lock")}
    data[rule] = {"enabled": True, **settings}
    rearm = data[rule].pop("rearm_share", 0.5)
    return AlertRules.from_dict({**data, "rearm_share": rearm})


def fired(alerts):
    """(row of the date, direction, severity) of each alert, on ``series``' dates."""
    return [(a.date, a.figures["direction"], a.severity) for a in alerts]


def days(closes, *rows):
    return [closes.index[row].date() for row in rows]


def test_close_to_close_fires_once_per_episode_and_escalates():
    closes = series([100, 111, 112, 100, 89, 89.5, 105])
    alerts = scan_prices(closes, only("close_to_close"), instrument="EUA", market=EUA)
    d = days(closes, 1, 3, 6)
    # +11 % warns; +0.9 % re-arms; -10.7 % warns; -11 % is the same episode; +0.6 % re-arms;
    # +17.3 % (above the 15 % critical level) is critical at once
    assert fired(alerts) == [
        (d[0], "up", "warning"),
        (d[1], "down", "warning"),
        (d[2], "up", "critical"),
    ]
    first = alerts[0]
    assert first.figures["move"] == pytest.approx(0.11)
    assert first.figures["previous_close"] == 100 and first.figures["threshold"] == 0.10
    assert "rose 11.0 % in one session" in first.message
    escalation = scan_prices(
        series([100, 111, 130]), only("close_to_close"), instrument="EUA", market=EUA
    )
    assert [a.severity for a in escalation] == ["warning", "critical"]


def test_rearm_share_is_the_hysteresis():
    closes = series([100, 111, 117, 124, 137])  # +11 %, +5.4 %, +6.0 %, +10.5 %
    half = scan_prices(closes, only("close_to_close"), instrument="EUA", market=EUA)
    assert fired(half) == [(closes.index[1].date(), "up", "warning")]  # never back under 5 %
    whole = scan_prices(
        closes, only("close_to_close", rearm_share=1.0), instrument="EUA", market=EUA
    )
    assert [a.date for a in whole] == days(closes, 1, 4)


def test_cumulative_window_high_and_low_with_their_dates():
    closes = series([100, 100, 100, 95, 89, 88, 95, 100])
    alerts = scan_prices(closes, only("cumulative", window=3), instrument="CEA", market=CEA)
    fall, rise = alerts
    assert (fall.date, fall.figures["direction"]) == (closes.index[4].date(), "down")
    assert fall.figures["window_high"] == 100  # the latest of the tied highs
    assert fall.figures["window_high_date"] == closes.index[2].date().isoformat()
    assert fall.figures["move"] == pytest.approx(89 / 100 - 1)
    assert fall.figures["window_sessions"] == 3
    # row 7's window is rows 4..6: its low is 88 (row 5), +13.6 %
    assert (rise.date, rise.figures["direction"]) == (closes.index[7].date(), "up")
    assert rise.figures["window_low"] == 88
    assert rise.figures["move"] == pytest.approx(100 / 88 - 1)
    assert fall.parameters["window"] == 3 and fall.parameters["direction"] == "down"
    assert fall.key != rise.key


def test_cumulative_window_counts_sessions_not_rows():
    closes = series([100, 100, 89])
    rules = only("cumulative", window=3)
    assert len(scan_prices(closes, rules, instrument="CEA", market=CEA)) == 1
    gaps = np.array([1, 1, 5])  # four sessions missing before the last close: empty window
    assert scan_prices(closes, rules, instrument="CEA", market=CEA, session_gaps=gaps) == []
    gaps = np.array([1, 1, 3])  # the window (3 sessions back) still holds the first 100
    assert len(scan_prices(closes, rules, instrument="CEA", market=CEA, session_gaps=gaps)) == 1


def test_reference_price_rearms_and_goes_critical():
    closes = series([100, 109, 111, 104, 112, 121, 79])
    off = {"enabled": False}
    rules = AlertRules.from_dict(
        {
            "close_to_close": off,
            "cumulative": off,
            "band_lock": off,
            "reference": {"price": 100.0, "label": "plan price"},
        }
    )
    alerts = scan_prices(closes, rules, instrument="CEA", market=CEA)
    d = days(closes, 2, 4, 5, 6)
    assert fired(alerts) == [
        (d[0], "up", "warning"),
        (d[1], "up", "warning"),
        (d[2], "up", "critical"),
        (d[3], "down", "critical"),
    ]
    assert alerts[0].figures["reference_price"] == 100.0
    assert "above the plan price of 100.00" in alerts[0].message


def test_limit_price_is_rounded_half_up_to_the_tick():
    assert limit_price_nb(53.44, 0.10, 0.01) == pytest.approx(58.78)  # 58.784
    assert limit_price_nb(10.05, 0.10, 0.01) == pytest.approx(11.06)  # 11.055 -> up
    assert limit_price_nb(10.05, -0.10, 0.01) == pytest.approx(9.05)  # 9.045 -> up
    assert limit_price_nb(81.00, -0.10, 0.01) == pytest.approx(72.90)


def test_band_lock_at_the_limit_to_the_tick():
    rules = only("band_lock")
    locked = scan_prices(series([53.44, 58.78]), rules, instrument="CEA", market=CEA)
    assert [(a.figures["direction"], a.figures["limit_price"]) for a in locked] == [("up", 58.78)]
    assert "locked at the upper limit 58.78" in locked[0].message
    assert scan_prices(series([53.44, 58.77]), rules, instrument="CEA", market=CEA) == []
    near = only("band_lock", ticks=1)
    assert len(scan_prices(series([53.44, 58.77]), near, instrument="CEA", market=CEA)) == 1
    down = scan_prices(series([81.0, 72.9]), rules, instrument="CEA", market=CEA)
    assert [a.figures["direction"] for a in down] == ["down"]
    assert scan_prices(series([53.44, 58.78]), rules, instrument="EUA", market=EUA) == []


def test_band_lock_streak_goes_critical_and_a_gap_breaks_it():
    closes = series([50.0, 55.0, 60.5, 66.55, 66.0, 72.6])
    alerts = scan_prices(closes, only("band_lock"), instrument="CEA", market=CEA)
    assert fired(alerts) == [
        (closes.index[1].date(), "up", "warning"),
        (closes.index[2].date(), "up", "critical"),
        (closes.index[5].date(), "up", "warning"),
    ]
    assert alerts[1].figures["locked_sessions"] == 2
    assert alerts[1].figures["first_locked_date"] == closes.index[1].date().isoformat()
    gaps = np.array([1, 2, 1, 1, 1, 1])  # a missing session before 55.0: no lock to see there
    gapped = scan_prices(closes, only("band_lock"), instrument="CEA", market=CEA, session_gaps=gaps)
    assert gapped[0].date == closes.index[2].date() and gapped[0].severity == "warning"


def test_since_returns_later_alerts_and_keeps_the_episode_state():
    closes = series([100, 100, 100, 95, 89, 88, 87])
    rules = only("cumulative", window=3)
    everything = scan_prices(closes, rules, instrument="CEA", market=CEA)
    assert [a.date for a in everything] == days(closes, 4)
    since = closes.index[4].date()
    assert scan_prices(closes, rules, instrument="CEA", market=CEA, since=since) == []
    # without the history the same tail looks like a fresh fall
    tail = closes.iloc[2:]
    assert len(scan_prices(tail, rules, instrument="CEA", market=CEA)) == 1


def test_alerts_are_the_same_alerts_on_a_rerun():
    closes = series([100, 100, 100, 95, 89, 88, 95, 100])
    rules = only("cumulative", window=3)
    first = scan_prices(closes, rules, instrument="CEA", market=CEA)
    again = scan_prices(closes, rules, instrument="CEA", market=CEA)
    assert [a.key for a in first] == [a.key for a in again]
    other = scan_prices(closes, only("cumulative", window=4), instrument="CEA", market=CEA)
    assert {a.key for a in first}.isdisjoint({a.key for a in other})
    assert all(isinstance(a.date, dt.date) for a in first)


@pytest.mark.parametrize(
    ("closes", "message"),
    [
        ([100.0, -1.0], "is -1.0; closes must be positive"),
        ([100.0, np.nan], "is nan; closes must be positive"),
    ],
)
def test_bad_closes_name_the_date(closes, message):
    with pytest.raises(ConfigurationError, match=message):
        scan_prices(series(closes), AlertRules(), instrument="CEA", market=CEA)


def test_bad_index_and_gaps_are_refused():
    closes = series([100.0, 101.0, 102.0])
    with pytest.raises(ConfigurationError, match="not in date order"):
        scan_prices(closes.iloc[::-1], AlertRules(), instrument="CEA", market=CEA)
    with pytest.raises(ConfigurationError, match="appears more than once"):
        twice = pd.concat([closes, closes.iloc[:1]])
        scan_prices(twice.sort_index(), AlertRules(), instrument="CEA", market=CEA)
    with pytest.raises(ConfigurationError, match="DatetimeIndex"):
        scan_prices(closes.reset_index(drop=True), AlertRules(), instrument="CEA", market=CEA)
    with pytest.raises(ConfigurationError, match="session_gaps"):
        scan_prices(closes, AlertRules(), instrument="CEA", market=CEA, session_gaps=[1, 1])
