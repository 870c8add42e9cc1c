"""Alert rules and the scan kernels that evaluate them: price moves (close to close, cumulative
over a window, against a reference price, locked at the band), conditional volatility, a book's
coverage and its pledge loans; the expected rate of each rule from simulated paths; and the
prepared response (pause trading, raise the reserve) as constraints for strategies.

How rules fire (once per episode, re-arming when the move is back within half its threshold)
and every setting are described in ``engine.alerts.settings``.
"""

from engine.alerts.book import scan_book
from engine.alerts.prices import scan_prices
from engine.alerts.rates import alert_rates, count_firings
from engine.alerts.records import SEVERITIES, Alert, Severity
from engine.alerts.response import (
    Response,
    TradingConstraints,
    constraints_from_alerts,
    responses_from_dict,
)
from engine.alerts.settings import (
    PRICE_RULES,
    AlertRules,
    BandLockRule,
    CloseToCloseRule,
    CoverageRule,
    CumulativeRule,
    PledgeRule,
    ReferenceRule,
    VolatilityRule,
)
from engine.alerts.volatility import conditional_volatility, scan_volatility

__all__ = [
    "PRICE_RULES",
    "SEVERITIES",
    "Alert",
    "AlertRules",
    "BandLockRule",
    "CloseToCloseRule",
    "CoverageRule",
    "CumulativeRule",
    "PledgeRule",
    "ReferenceRule",
    "Response",
    "Severity",
    "TradingConstraints",
    "VolatilityRule",
    "alert_rates",
    "conditional_volatility",
    "constraints_from_alerts",
    "count_firings",
    "responses_from_dict",
    "scan_book",
    "scan_prices",
    "scan_volatility",
]
