"""The alert rules on what the CEA really did: the exchange's bulletins merged with the Wind
export (the series the desk uses, 2021-07-16 to 2026-08-14), sessions of the XSHG calendar."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import market_data as md
from engine.alerts import AlertRules, conditional_volatility, scan_prices, scan_volatility
from engine.alerts import scan_nb as nb
from engine.alerts.pandas_scan import price_firings
from engine.alerts.prices import COLUMNS, kernel_settings, session_numbers
from engine.errors import ModelError
from engine.markets import CEA
from engine.volatility import daily_log_returns, fit_volatility

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def cea(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", md.DataWarning)  # the six composite-VWAP closes
        bulletins = md.load(shared_data / "cea_seee_bulletins.csv", market="cea")
    wind = md.load(shared_data / "cea_wind_export_raw.csv", market="cea")
    closes = md.merge_sources(bulletins, wind).frame["close"]
    gaps = md.calendar_for("XSHG").session_gaps(closes.index)
    return closes, gaps


@pytest.fixture(scope="module")
def alerts(cea):
    closes, gaps = cea
    rules = AlertRules.for_market(CEA)
    return scan_prices(closes, rules, instrument="CEA", market=CEA, session_gaps=gaps)


def first(alerts, rule, direction, start, end):
    found = [
        a
        for a in alerts
        if a.rule == rule
        and a.figures["direction"] == direction
        and pd.Timestamp(start) <= pd.Timestamp(a.date) <= pd.Timestamp(end)
    ]
    return found[0] if found else None


def test_the_series(cea):
    closes, gaps = cea
    assert (len(closes), closes.index[0], closes.index[-1]) == (
        1217,
        pd.Timestamp("2021-07-16"),
        pd.Timestamp("2026-08-14"),
    )
    assert closes["2024-11-13"] == 105.65 and int((gaps > 1).sum()) == 3


def test_cumulative_catches_the_slide_from_november_2024(alerts):
    """105.65 on 2024-11-13 slid for five months at less than 10 % a month; it fires when the
    slide speeds up in April 2025: 76.85 on 2025-04-22 is 12.4 % under the 20-session high."""
    alert = first(alerts, "cumulative", "down", "2024-11-13", "2025-06-30")
    assert alert.date.isoformat() == "2025-04-22" and alert.severity == "warning"
    assert alert.figures["window_high"] == 87.74
    assert alert.figures["window_high_date"] == "2025-03-24"
    assert alert.figures["close"] == 76.85
    assert alert.figures["move"] == pytest.approx(76.85 / 87.74 - 1)


def test_cumulative_catches_the_fall_of_september_october_2025(alerts):
    alert = first(alerts, "cumulative", "down", "2025-08-25", "2025-10-31")
    assert alert.date.isoformat() == "2025-09-08"
    assert (alert.figures["window_high"], alert.figures["window_high_date"]) == (
        72.0,
        "2025-08-11",
    )
    assert alert.figures["close"] == 64.74


def test_cumulative_catches_the_rise_of_july_2026(alerts):
    alert = first(alerts, "cumulative", "up", "2026-06-15", "2026-08-14")
    assert alert.date.isoformat() == "2026-07-22"
    assert (alert.figures["window_low"], alert.figures["window_low_date"]) == (82.68, "2026-06-24")
    assert alert.figures["close"] == 91.03


def test_a_five_session_window_would_miss_two_of_the_three_moves(cea):
    """Why the window defaults to 20 sessions: at 5 the band-limited, thin CEA market never
    moves 10 % inside the window during the 2024-25 slide or the July 2026 rise."""
    closes, gaps = cea
    rules = AlertRules.from_dict({"cumulative": {"window": 5}})
    short = scan_prices(closes, rules, instrument="CEA", market=CEA, session_gaps=gaps)
    assert first(short, "cumulative", "down", "2024-11-13", "2025-06-30") is None
    assert first(short, "cumulative", "up", "2026-06-15", "2026-08-14") is None
    assert first(short, "cumulative", "down", "2025-08-25", "2025-10-31").date.isoformat() == (
        "2025-10-17"
    )


def test_close_to_close_never_fires_on_the_cea(cea, alerts, shared_data):
    """No CEA day moves 10 % (the band); the largest is 9.88 %."""
    closes, _ = cea
    assert closes.pct_change().abs().max() == pytest.approx(0.09877, abs=1e-5)
    assert not [a for a in alerts if a.rule == "close_to_close"]
    assert {a.rule for a in alerts} == {"cumulative"}
    for source in ("cea_wind_export_raw.csv", "cea_seee_bulletins.csv"):  # each file alone
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", md.DataWarning)
            alone = md.load(shared_data / source, market="cea")["close"]
        gaps = md.calendar_for("XSHG").session_gaps(alone.index)
        found = scan_prices(alone, AlertRules(), instrument="CEA", market=CEA, session_gaps=gaps)
        assert found and not [a for a in found if a.rule == "close_to_close"]


def test_no_close_sits_at_the_limit_but_two_come_within_ten_ticks(cea):
    """Band lock at the limit to the tick never fires on the real history (the close is a
    VWAP: a few trades inside the limit pull it off); within 10 ticks it finds the two days
    the whole session traded at one price near the limit."""
    closes, gaps = cea
    rules = AlertRules()
    assert not [
        a
        for a in scan_prices(closes, rules, instrument="CEA", market=CEA, session_gaps=gaps)
        if a.rule == "band_lock"
    ]
    near = AlertRules.from_dict({"band_lock": {"ticks": 10}})
    locks = [
        a
        for a in scan_prices(closes, near, instrument="CEA", market=CEA, session_gaps=gaps)
        if a.rule == "band_lock"
    ]
    assert [
        (a.date.isoformat(), a.figures["direction"], a.figures["limit_price"]) for a in locks
    ] == [
        ("2021-08-04", "up", 58.78),
        ("2026-01-20", "down", 72.9),
    ]
    assert [a.figures["locked_sessions"] for a in locks] == [1, 1]


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"cumulative": {"window": 5}, "rearm_share": 1.0},
        {"reference": {"price": 80.0}, "band_lock": {"ticks": 10}, "cumulative": {"window": 60}},
    ],
)
def test_kernel_and_pandas_agree_on_the_real_history(cea, settings):
    closes, gaps = cea
    rules = AlertRules.from_dict(settings)
    n = len(closes)
    fired = np.zeros((n, nb.N_COLUMNS), dtype=np.int8)
    moves, anchors = np.empty((n, nb.N_COLUMNS)), np.empty((n, nb.N_COLUMNS), dtype=np.int64)
    sessions = session_numbers(n, gaps)
    values = closes.to_numpy(dtype=float, copy=True)
    nb.scan_series_nb(values, sessions, kernel_settings(rules, CEA), fired, moves, anchors)
    reference = price_firings(closes.to_frame(), sessions, rules, CEA)
    assert fired.any()
    for column, (rule, direction) in COLUMNS.items():
        name = f"{rule}_{direction}"
        if name in reference:
            np.testing.assert_array_equal(fired[:, column], reference[name]["close"].to_numpy())


@pytest.fixture(scope="module")
def fit(cea):
    closes, gaps = cea
    return fit_volatility(closes, session_gaps=gaps, allow_nonstationary=True)


def test_conditional_volatility_is_archs_one_session_ahead(cea, fit):
    closes, gaps = cea
    sigma = conditional_volatility(daily_log_returns(closes, gaps), fit.params)
    arch_sigma = fit.result.conditional_volatility
    np.testing.assert_allclose(sigma.to_numpy()[:-1], arch_sigma.to_numpy()[1:], rtol=1e-12)
    assert sigma.iloc[-1] == pytest.approx(np.sqrt(fit.params.next_variance), rel=1e-12)


def test_volatility_on_the_integrated_cea_fit_uses_the_trailing_level(cea, fit):
    closes, gaps = cea
    assert not fit.params.is_stationary
    rules = AlertRules()
    found = scan_volatility(closes, rules, instrument="CEA", params=fit.params, session_gaps=gaps)
    assert found[0].date.isoformat() == "2021-08-04"  # 5.8 % a day after the launch weeks
    assert found[0].figures["sigma_pct"] == pytest.approx(5.77, abs=0.01)
    april_2023 = next(a for a in found if a.date.isoformat() == "2023-04-06")
    assert april_2023.severity == "critical"
    assert april_2023.figures["long_run"] == "trailing 250 sessions"
    assert april_2023.figures["ratio"] == pytest.approx(5.6, abs=0.05)
    later = scan_volatility(
        closes, rules, instrument="CEA", params=fit.params, session_gaps=gaps, since=found[-2].date
    )
    assert later == found[-1:]
    unconditional = dataclasses.replace(
        rules, volatility=dataclasses.replace(rules.volatility, long_run="unconditional")
    )
    with pytest.raises(ModelError, match="unconditional variance is infinite"):
        scan_volatility(closes, unconditional, instrument="CEA", params=fit.params)
