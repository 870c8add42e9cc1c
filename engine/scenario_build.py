"""Scenarios for the optimiser from simulated price paths, and their reduction.

The simulator gives closes for every trading day to the surrender deadline; the optimiser wants
a few decision dates, the price the penalty is measured at, CCER prices, and emissions and
true-up that move with output. ``scenarios_from_paths`` samples the paths on a grid of decision
dates; ``reduce_scenarios`` keeps a few hundred of thousands of them, with weights.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

import numpy as np

from engine.book import ComplianceBook
from engine.ccer import CcerBasis, ccer_closes
from engine.errors import ConfigurationError
from engine.scenarios import Scenarios


def decision_days(horizon: int, every: int) -> np.ndarray:
    """Trading-day numbers (1..horizon) of the decision dates after today: every ``every`` days,
    the last one on the deadline session."""
    if horizon < 1 or every < 1:
        raise ConfigurationError(f"horizon {horizon} and every {every} must be at least 1")
    days = np.arange(every, horizon + 1, every)
    return days if days.size and days[-1] == horizon else np.append(days, horizon)


def scenarios_from_paths(
    closes: np.ndarray,
    today_price: float,
    book: ComplianceBook,
    *,
    seed: int,
    every: int = 10,
    deadline_window: int = 21,
    true_up_day: int | None = None,
    basis: CcerBasis | None = None,
    calendar: Sequence[dt.date] | None = None,
) -> Scenarios:
    """Scenarios from simulated closes (paths x trading days, day 1 is tomorrow and the last
    column the deadline session).

    Args:
        today_price: today's close (CNY/t): decision date 0.
        every: trading days between decision dates.
        deadline_window: the penalty's "average price of the month before the deadline": the
            mean close of the path's last ``deadline_window`` trading days.
        true_up_day: trading day on which the allocation true-up arrives (default: the middle
            of the horizon); it is held from the first decision date on or after it.
        basis: the CCER basis; CCER prices are the CEA's times (1 + basis) on each path.
        seed: seeds the CCER basis and the obligation's scenarios (output, emissions).
        calendar: today's date then the date of each trading day of ``closes`` (1 + days):
            the scenarios' decision dates are taken from it (forward quotes need them).
    """
    closes = np.ascontiguousarray(closes, dtype=np.float64)
    if closes.ndim != 2 or not np.isfinite(closes).all() or (closes <= 0).any():
        raise ConfigurationError("closes must be a paths x days array of positive prices")
    n, horizon = closes.shape
    days = decision_days(horizon, every)
    basis = basis or CcerBasis()
    ccer = ccer_closes(closes, basis, seed=seed)
    prices = np.hstack([np.full((n, 1), today_price), closes[:, days - 1]])
    ccer_prices = np.hstack([np.full((n, 1), today_price * (1 + basis.start)), ccer[:, days - 1]])
    window = min(deadline_window, horizon)
    deadline_price = closes[:, horizon - window :].mean(axis=1)
    arrival = horizon // 2 if true_up_day is None else true_up_day
    true_up_date = int(np.searchsorted(days, arrival, side="left")) + 1  # 0 is today
    obligation = book.obligation.scenarios(n, seed=seed)
    dates = None
    if calendar is not None:
        if len(calendar) != horizon + 1:
            raise ConfigurationError(
                f"calendar: {len(calendar)} dates for today and {horizon} trading days"
            )
        dates = (calendar[0], *(calendar[int(d)] for d in days))
    return Scenarios(
        prices=prices,
        deadline_price=deadline_price,
        ccer_prices=ccer_prices,
        emissions=obligation.emissions,
        true_up=obligation.true_up,
        true_up_date=min(true_up_date, days.size),
        decision_dates=dates,
    )


def reduce_scenarios(scenarios: Scenarios, count: int) -> Scenarios:
    """``count`` scenarios standing for all of them: sorted by what drives the cost (the
    deadline price times the tonnes still to cover), cut into ``count`` strata of equal weight,
    each represented by its median member with the stratum's weight."""
    n = scenarios.count
    if not 1 <= count <= n:
        raise ConfigurationError(f"cannot reduce {n} scenarios to {count}")
    driver = scenarios.deadline_price * (scenarios.emissions - scenarios.true_up)
    order = np.argsort(driver, kind="stable")
    weights = scenarios.weights
    assert weights is not None
    edges = np.linspace(0, n, count + 1).round().astype(int)
    chosen, chosen_weights = [], []
    for lo, hi in itertools.pairwise(edges):
        members = order[lo:hi]
        chosen.append(members[len(members) // 2])
        chosen_weights.append(weights[members].sum())
    return subset(scenarios, np.array(chosen), np.array(chosen_weights))


def subset(scenarios: Scenarios, index: np.ndarray, weights: np.ndarray | None = None) -> Scenarios:
    """The scenarios at ``index``, with ``weights`` (default: theirs), normalised to 1."""
    if weights is None:
        assert scenarios.weights is not None
        weights = scenarios.weights[index]
    return Scenarios(
        prices=scenarios.prices[index],
        deadline_price=scenarios.deadline_price[index],
        ccer_prices=scenarios.ccer_prices[index],
        emissions=scenarios.emissions[index],
        true_up=scenarios.true_up[index],
        true_up_date=scenarios.true_up_date,
        weights=weights / np.sum(weights),
        decision_dates=scenarios.decision_dates,
    )
