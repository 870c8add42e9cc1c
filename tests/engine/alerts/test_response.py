"""Open alerts into trading constraints: pauses counted in sessions or weekdays, the largest
reserve raise, severities below a response's minimum ignored."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from engine.alerts import (
    Alert,
    Response,
    TradingConstraints,
    constraints_from_alerts,
    responses_from_dict,
)
from engine.errors import ConfigurationError


def alert(rule: str, day: str, severity: str = "warning") -> Alert:
    return Alert(rule, "CEA", dt.date.fromisoformat(day), severity, f"{rule} on {day}")


# A week with a holiday on Wednesday 2025-10-01 (sessions of a made-up calendar).
SESSIONS = pd.DatetimeIndex(
    ["2025-09-29", "2025-09-30", "2025-10-02", "2025-10-03", "2025-10-06", "2025-10-07"]
)
RESPONSES = {
    "cumulative": Response(pause_days=3),
    "volatility": Response(raise_reserve_share=0.05),
    "pledge": Response(pause_days=1, raise_reserve_share=0.10, min_severity="critical"),
}


def test_a_pause_counts_sessions_from_the_alerts_day():
    alerts = [alert("cumulative", "2025-09-30")]
    today = dt.date(2025, 10, 2)
    # sessions 09-30, 10-02, 10-03: the holiday does not count
    result = constraints_from_alerts(alerts, RESPONSES, today, SESSIONS)
    assert result.paused_until == dt.date(2025, 10, 3)
    assert result.paused(dt.date(2025, 10, 3)) and not result.paused(dt.date(2025, 10, 6))
    assert result.reasons == (alerts[0].key,)
    # without a calendar, weekdays: 09-30, 10-01, 10-02
    weekdays = constraints_from_alerts(alerts, RESPONSES, today)
    assert weekdays.paused_until == dt.date(2025, 10, 2)


def test_a_pause_that_has_ended_constrains_nothing():
    alerts = [alert("cumulative", "2025-09-29")]  # 09-29, 09-30, 10-02
    result = constraints_from_alerts(alerts, RESPONSES, dt.date(2025, 10, 3), SESSIONS)
    assert result == TradingConstraints(None, 0.0, ())


def test_the_largest_reserve_raise_holds_and_raises_do_not_add_up():
    alerts = [alert("volatility", "2025-09-29"), alert("volatility", "2025-10-02")]
    result = constraints_from_alerts(alerts, RESPONSES, dt.date(2025, 10, 6), SESSIONS)
    assert result.reserve_floor_add == 0.05 and result.paused_until is None
    assert result.reserve_floor(0.80) == pytest.approx(0.85)
    both = [*alerts, alert("pledge", "2025-10-06", "critical")]
    result = constraints_from_alerts(both, RESPONSES, dt.date(2025, 10, 6), SESSIONS)
    assert result.reserve_floor_add == 0.10
    assert result.paused_until == dt.date(2025, 10, 6)
    assert len(result.reasons) == 3


def test_below_the_minimum_severity_a_later_alert_or_no_response_changes_nothing():
    alerts = [
        alert("pledge", "2025-10-02", "warning"),  # the pledge response needs critical
        alert("cumulative", "2025-10-07"),  # after today
        alert("coverage", "2025-10-02", "critical"),  # no response configured
    ]
    result = constraints_from_alerts(alerts, RESPONSES, dt.date(2025, 10, 3), SESSIONS)
    assert result == TradingConstraints(None, 0.0, ())


def test_a_pause_past_the_calendar_given_is_an_error():
    alerts = [alert("cumulative", "2025-10-06")]
    with pytest.raises(ConfigurationError, match="runs past the last session"):
        constraints_from_alerts(alerts, RESPONSES, dt.date(2025, 10, 6), SESSIONS)


def test_responses_from_a_plain_mapping():
    responses = responses_from_dict(
        {"cumulative": {"pause_days": 2}, "pledge": {"raise_reserve_share": 0.1}}
    )
    assert responses == {
        "cumulative": Response(pause_days=2),
        "pledge": Response(raise_reserve_share=0.1),
    }
    assert Response.from_dict(responses["pledge"].to_dict()) == responses["pledge"]
    with pytest.raises(ConfigurationError, match=r"alerts.responses.cumulative.pause: unknown"):
        responses_from_dict({"cumulative": {"pause": 2}})
    with pytest.raises(ConfigurationError, match=r"alerts.responses.pledge: .*pause_days = -1"):
        responses_from_dict({"pledge": {"pause_days": -1}})
    with pytest.raises(ConfigurationError, match="raise_reserve_share = 5"):
        Response(raise_reserve_share=5)
    with pytest.raises(ConfigurationError, match="min_severity"):
        Response(min_severity="urgent")
