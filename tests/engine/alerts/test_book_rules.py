"""Coverage and pledge rules on a power company's book (the example book's figures)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from engine.alerts import AlertRules, CoverageRule, scan_book
from engine.book import ComplianceBook
from engine.errors import ConfigurationError

BOOK = ComplianceBook.from_dict(
    {
        "entity": "Example Power Co.",
        "market": "cea",
        "cycle_year": 2025,  # surrendered by 2026-12-31
        "ccer_t": 50_000,
        "cash": 30_000_000,
        "trading_budget": 60_000_000,
        "reserve_floor_share": 0.10,
        "allowances_by_vintage": {"2024": 150_000, "2025": 2_129_400},
        "obligation": {
            "expected_output": 4_000_000,
            "base_output": 3_900_000,
            "output_sd_share": 0.05,
            "intensity": 0.82,  # 3.28 Mt expected emissions
            "intensity_sd_share": 0.02,
            "benchmark": 0.78,
            "preallocation_share": 0.70,
        },
        "forwards": [{"tonnes": 200_000, "price": 72.0, "delivery": "2026-06-30"}],
        "pledges": [{"tonnes": 500_000, "loan": 20_000_000, "trigger_ltv": 0.6, "call_ltv": 0.7}],
    }
)
# Held 2,279,400 + forwards 200,000 + CCER 50,000 (under the 5 % cap of 164,000) = 2,529,400 t,
# 77.1 % of 3,280,000 t expected emissions.
COVERED = 2_529_400
EMISSIONS = 3_280_000
FLOOR_90 = dataclasses.replace(AlertRules(), coverage=CoverageRule(floor_share=0.9))


def coverage(alerts):
    return [a for a in alerts if a.rule == "coverage"]


def test_coverage_below_the_floor_near_the_deadline():
    day = dt.date(2026, 10, 15)  # 77 days before 2026-12-31
    (alert,) = coverage(scan_book(BOOK, 70.0, day, FLOOR_90, instrument="CEA:power"))
    assert alert.severity == "warning" and alert.date == day
    assert alert.figures["covered_t"] == COVERED
    assert alert.figures["coverage"] == pytest.approx(COVERED / EMISSIONS)
    assert alert.figures["gap_t"] == pytest.approx(0.9 * EMISSIONS - COVERED)
    assert alert.figures["gap_value"] == pytest.approx((0.9 * EMISSIONS - COVERED) * 70.0)
    assert alert.figures["days_to_deadline"] == 77
    assert "cover 77.1% of expected emissions" in alert.message
    late = scan_book(BOOK, 70.0, dt.date(2026, 12, 10), FLOOR_90, instrument="CEA:power")
    assert [a.severity for a in coverage(late)] == ["critical"]  # 21 days left


def test_no_coverage_alert_far_from_the_deadline_above_the_floor_or_after_it():
    early = dt.date(2026, 9, 1)  # 121 days before
    assert coverage(scan_book(BOOK, 70.0, early, FLOOR_90, instrument="CEA:power")) == []
    near = dt.date(2026, 12, 1)
    assert coverage(scan_book(BOOK, 70.0, near, AlertRules(), instrument="CEA:power")) == []
    after = dt.date(2027, 1, 4)
    assert coverage(scan_book(BOOK, 70.0, after, FLOOR_90, instrument="CEA:power")) == []


def test_the_expected_true_up_counts_when_the_rule_says_so():
    # true-up: 0.78 x 4,000,000 - 0.7 x 0.78 x 3,900,000 = 990,600 t: covered 107 %
    rules = dataclasses.replace(
        AlertRules(), coverage=CoverageRule(floor_share=0.9, include_true_up=True)
    )
    day = dt.date(2026, 12, 1)
    assert coverage(scan_book(BOOK, 70.0, day, rules, instrument="CEA:power")) == []
    assert BOOK.coverage() == pytest.approx((COVERED + 990_600) / EMISSIONS)


@pytest.mark.parametrize(
    ("price", "severity"),
    [(70.0, None), (66.67, None), (66.66, "warning"), (57.15, "warning"), (57.14, "critical")],
)
def test_pledge_trigger_is_a_warning_and_the_call_is_critical(price, severity):
    """20 m loan on 500,000 t: LTV 0.6 at 66.67 CNY/t, 0.7 at 57.14."""
    found = [
        a
        for a in scan_book(BOOK, price, dt.date(2026, 3, 2), AlertRules(), instrument="CEA:power")
        if a.rule == "pledge"
    ]
    assert [a.severity for a in found] == ([] if severity is None else [severity])
    if found:
        alert = found[0]
        assert alert.figures["ltv"] == pytest.approx(20_000_000 / (500_000 * price))
        more = alert.figures["tonnes_to_trigger"]
        assert 20_000_000 / ((500_000 + more) * price) == pytest.approx(0.6)
        repaid = 20_000_000 - alert.figures["repay_to_trigger"]
        assert repaid / (500_000 * price) == pytest.approx(0.6)
        assert alert.parameters["pledge"] == 1


def test_an_open_alert_is_not_raised_again_but_an_escalation_is():
    day = dt.date(2026, 3, 2)
    warned = scan_book(BOOK, 60.0, day, AlertRules(), instrument="CEA:power")
    assert [a.severity for a in warned] == ["warning"]
    next_day = dt.date(2026, 3, 3)
    again = scan_book(
        BOOK, 59.0, next_day, AlertRules(), instrument="CEA:power", open_alerts=warned
    )
    assert again == []
    worse = scan_book(
        BOOK, 55.0, next_day, AlertRules(), instrument="CEA:power", open_alerts=warned
    )
    assert [a.severity for a in worse] == ["critical"]
    other = scan_book(
        BOOK, 59.0, next_day, AlertRules(), instrument="CEA:other", open_alerts=warned
    )
    assert len(other) == 1


def test_bad_price_or_date():
    with pytest.raises(ConfigurationError, match="price"):
        scan_book(BOOK, 0.0, dt.date(2026, 3, 2), AlertRules(), instrument="CEA:power")
    with pytest.raises(ConfigurationError, match="date"):
        scan_book(BOOK, 60.0, "2026-03-02", AlertRules(), instrument="CEA:power")
