"""The book rules, for one entity's book on one date: coverage against the reserve floor as the
deadline nears, and each pledge loan's loan-to-value (settings in ``engine.alerts.settings``).

A book is evaluated at one date, with no history, so "once per episode" is kept through the
alerts a person has not resolved yet: given ``open_alerts``, an alert that is already open with
the same rule, instrument and parameters at the same or a higher severity is not raised again;
an escalation (warning to critical) is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from engine.alerts.records import SEVERITIES, Alert, Severity
from engine.alerts.settings import AlertRules
from engine.book import ComplianceBook
from engine.errors import ConfigurationError
from engine.markets import market_rules


def _coverage(
    book: ComplianceBook, price: float, date: dt.date, rules: AlertRules, instrument: str
) -> Alert | None:
    rule = rules.coverage
    days_left = (book.deadline - date).days
    floor_share = rule.floor_share if rule.floor_share is not None else book.reserve_floor_share
    if not rule.enabled or days_left < 0 or days_left > rule.days_before_deadline:
        return None
    if floor_share <= 0:
        return None
    compliance = market_rules(book.market).compliance
    assert compliance is not None  # a book's market has compliance rules (checked by the book)
    emissions = book.obligation.expected_emissions
    usable_ccer = min(book.ccer_t, compliance.offset_cap_t(emissions))
    true_up = book.obligation.expected_allocation - book.obligation.preallocated
    covered = book.allowances_t + book.forwards_t + usable_ccer
    if rule.include_true_up:
        covered += true_up
    floor_t = floor_share * emissions
    if covered >= floor_t:
        return None
    critical = rule.critical_days is not None and days_left <= rule.critical_days
    severity: Severity = "critical" if critical else rule.severity
    gap_t = floor_t - covered
    unit = market_rules(book.market).price_unit
    figures: dict[str, Any] = {
        "allowances_t": book.allowances_t,
        "forwards_t": book.forwards_t,
        "usable_ccer_t": usable_ccer,
        "expected_true_up_t": true_up,
        "covered_t": covered,
        "expected_emissions_t": emissions,
        "coverage": covered / emissions,
        "floor_share": floor_share,
        "floor_t": floor_t,
        "gap_t": gap_t,
        "gap_value": gap_t * price,
        "price": price,
        "deadline": book.deadline.isoformat(),
        "days_to_deadline": days_left,
    }
    message = (
        f"{instrument}: holdings, forwards and usable CCER cover {covered / emissions:.1%} of "
        f"expected emissions on {date}, below the reserve floor of {floor_share:.0%}: "
        f"{gap_t:,.0f} t short (about {gap_t * price:,.0f} at {price:.2f} {unit}), "
        f"{days_left} days before the deadline {book.deadline}"
    )
    parameters = rules.parameters("coverage") | {"floor_share": floor_share}
    return Alert("coverage", instrument, date, severity, message, figures, parameters)


def _pledges(
    book: ComplianceBook, price: float, date: dt.date, rules: AlertRules, instrument: str
) -> list[Alert]:
    if not rules.pledge.enabled:
        return []
    unit = market_rules(book.market).price_unit
    alerts = []
    for number, pledge in enumerate(book.pledges, start=1):
        ltv = pledge.ltv(price)
        if ltv < pledge.trigger_ltv:
            continue
        called = ltv >= pledge.call_ltv
        severity: Severity = "critical" if called else rules.pledge.severity
        collateral = pledge.tonnes * price
        figures = {
            "ltv": ltv,
            "trigger_ltv": pledge.trigger_ltv,
            "call_ltv": pledge.call_ltv,
            "loan": pledge.loan,
            "tonnes": pledge.tonnes,
            "price": price,
            "collateral_value": collateral,
            "price_at_trigger": pledge.price_at(pledge.trigger_ltv),
            "price_at_call": pledge.price_at(pledge.call_ltv),
            "tonnes_to_trigger": pledge.loan / (pledge.trigger_ltv * price) - pledge.tonnes,
            "repay_to_trigger": pledge.loan - pledge.trigger_ltv * collateral,
        }
        level = "margin-call level" if called else "trigger"
        limit = pledge.call_ltv if called else pledge.trigger_ltv
        message = (
            f"{instrument}: pledge {number} ({pledge.tonnes:,.0f} t against a loan of "
            f"{pledge.loan:,.0f}) is at loan-to-value {ltv:.1%} at {price:.2f} {unit} on {date}, "
            f"past its {level} {limit:.0%}: pledge {figures['tonnes_to_trigger']:,.0f} t more or "
            f"repay {figures['repay_to_trigger']:,.0f} to return to the trigger"
        )
        parameters = {
            "pledge": number,
            "trigger_ltv": pledge.trigger_ltv,
            "call_ltv": pledge.call_ltv,
            "loan": pledge.loan,
            "tonnes": pledge.tonnes,
        }
        alerts.append(Alert("pledge", instrument, date, severity, message, figures, parameters))
    return alerts


def _already_open(alert: Alert, open_alerts: list[Alert]) -> bool:
    rank = SEVERITIES.index(alert.severity)
    return any(
        other.rule == alert.rule
        and other.instrument == alert.instrument
        and dict(other.parameters) == dict(alert.parameters)
        and SEVERITIES.index(other.severity) >= rank
        for other in open_alerts
    )


def scan_book(
    book: ComplianceBook,
    price: float,
    date: dt.date,
    rules: AlertRules,
    *,
    instrument: str,
    open_alerts: Iterable[Alert] = (),
) -> list[Alert]:
    """Coverage and pledge alerts for ``book`` at ``price`` (currency per tonne) on ``date``.

    Coverage: allowances + forwards + usable CCER (offset cap applied; + the expected true-up
    when the rule says so) below the reserve floor share of expected emissions, within
    ``days_before_deadline`` calendar days of the surrender deadline (critical within
    ``critical_days``); not evaluated after the deadline or without a floor. Pledge: each loan's
    loan-to-value at ``price`` at or past its trigger (the rule's severity) or its margin-call
    level (critical); the figures say how many tonnes to pledge, or how much to repay, to bring
    it back to the trigger. ``open_alerts``: see the module's docstring.
    """
    if isinstance(price, bool) or not isinstance(price, (int, float)) or not price > 0:
        raise ConfigurationError(f"price = {price!r}: must be a positive price per tonne")
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise ConfigurationError(f"date = {date!r}: must be a datetime.date")
    price = float(price)
    found = [
        alert for alert in (_coverage(book, price, date, rules, instrument),) if alert is not None
    ]
    found += _pledges(book, price, date, rules, instrument)
    still_open = list(open_alerts)
    return [alert for alert in found if not _already_open(alert, still_open)]
