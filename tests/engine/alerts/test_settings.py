"""AlertRules: defaults per market, the plain mapping of an [alerts] section, and bad values
named by key and value."""

from __future__ import annotations

import dataclasses

import pytest

from engine.alerts import AlertRules, CumulativeRule, ReferenceRule
from engine.errors import ConfigurationError
from engine.markets import CEA, EUA


def test_market_defaults_switch_band_lock_by_the_band():
    assert AlertRules.for_market(CEA).band_lock.enabled
    assert not AlertRules.for_market(EUA).band_lock.enabled
    rules = AlertRules.for_market(CEA)
    assert (rules.cumulative.window, rules.cumulative.threshold) == (20, 0.10)
    assert rules.close_to_close.threshold == 0.10 and rules.reference.price is None
    assert not rules.reference.active


def test_round_trip_through_a_plain_mapping():
    rules = AlertRules.from_dict(
        {
            "rearm_share": 1.0,
            "cumulative": {"window": 5, "threshold": 0.08, "critical": False},
            "reference": {"price": 92.0, "label": "plan price"},
            "volatility": {"long_run": "trailing", "ratio": 2.5},
            "coverage": {"floor_share": 0.9, "critical_days": 10},
        }
    )
    assert rules.cumulative == CumulativeRule(window=5, threshold=0.08, critical=None)
    assert rules.reference == ReferenceRule(price=92.0, label="plan price")
    assert rules.volatility.ratio == 2.5 and rules.coverage.floor_share == 0.9
    assert rules.rearm_share == 1.0
    assert AlertRules.from_dict(rules.to_dict()) == rules
    assert rules.to_dict()["cumulative"]["critical"] is None


def test_from_dict_keeps_what_it_leaves_out_from_the_base():
    base = AlertRules.for_market(EUA)
    rules = AlertRules.from_dict({"cumulative": {"window": 10}}, base=base)
    assert rules.cumulative.window == 10 and not rules.band_lock.enabled
    assert rules.close_to_close == base.close_to_close


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"cumulativ": {}}, "alerts.cumulativ = {}: unknown"),
        ({"cumulative": {"windows": 5}}, "alerts.cumulative.windows = 5: unknown"),
        ({"cumulative": {"window": 0}}, "alerts.cumulative.window = 0"),
        ({"cumulative": {"window": 2.5}}, "alerts.cumulative.window = 2.5"),
        ({"close_to_close": {"threshold": 10}}, "alerts.close_to_close.threshold = 10"),
        ({"close_to_close": {"threshold": "10%"}}, "alerts.close_to_close.threshold = '10%'"),
        ({"cumulative": {"critical": 0.05}}, "alerts.cumulative.critical = 0.05: must exceed"),
        ({"reference": {"price": -3}}, "alerts.reference.price = -3"),
        ({"band_lock": {"enabled": "yes"}}, "alerts.band_lock.enabled = 'yes'"),
        ({"band_lock": {"ticks": -1}}, "alerts.band_lock.ticks = -1"),
        ({"volatility": {"long_run": "forever"}}, "alerts.volatility.long_run = 'forever'"),
        ({"volatility": {"ratio": 0.5}}, "alerts.volatility.ratio = 0.5"),
        ({"volatility": {"critical_pct": 3.0}}, "alerts.volatility.critical_pct = 3.0"),
        ({"coverage": {"critical_days": 120}}, "alerts.coverage.critical_days = 120"),
        ({"pledge": {"severity": "critical"}}, "alerts.pledge.severity = 'critical'"),
        ({"rearm_share": 1.5}, "alerts.rearm_share = 1.5"),
        ({"cumulative": 5}, "alerts.cumulative = 5"),
    ],
)
def test_bad_settings_name_the_key_and_the_value(data, named):
    with pytest.raises(ConfigurationError) as caught:
        AlertRules.from_dict(data)
    assert named in str(caught.value)


def test_parameters_are_the_settings_that_make_an_alert_distinct():
    rules = AlertRules()
    assert rules.parameters("cumulative") == {
        "threshold": 0.10,
        "critical": 0.20,
        "window": 20,
        "rearm_share": 0.5,
    }
    changed = dataclasses.replace(rules, cumulative=CumulativeRule(window=10))
    assert changed.parameters("cumulative")["window"] == 10


def test_counts_are_bounded():
    """A window of 2**70 sessions (or any count past 40 years of sessions) is refused."""
    from engine.alerts.settings import MOST

    with pytest.raises(ConfigurationError, match="window"):
        AlertRules.from_dict({"cumulative": {"window": 2**70}})
    with pytest.raises(ConfigurationError, match=f"from 1 to {MOST:,}"):
        AlertRules.from_dict({"cumulative": {"window": MOST + 1}})
    assert AlertRules.from_dict({"cumulative": {"window": MOST}}).cumulative.window == MOST
