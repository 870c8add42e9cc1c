"""Scenarios for the compliance optimiser, and the weighted risk figures computed over them.

A scenario set is S joint draws of what the cycle may bring: CEA and CCER prices at D decision
dates (column 0 is today, known, so equal in every row), the price the penalty is measured at,
verified emissions and the true-up of free allocation still to come. Arrays are validated and
turned into contiguous float64 once, here; errors name the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from engine.errors import ConfigurationError

WEIGHT_SUM_TOLERANCE = 1e-9


def _array(name: str, value: object, ndim: int) -> np.ndarray:
    try:
        array = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigurationError(f"scenarios.{name}: not an array of numbers") from None
    if array.ndim != ndim:
        raise ConfigurationError(
            f"scenarios.{name}: expected {ndim} dimension(s), got shape {array.shape}"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ConfigurationError(f"scenarios.{name}{list(where)} = {array[where]}: not finite")
    return array


def _positive(name: str, array: np.ndarray) -> None:
    if (array <= 0).any():
        where = tuple(int(i) for i in np.argwhere(array <= 0)[0])
        raise ConfigurationError(
            f"scenarios.{name}{list(where)} = {array[where]}: prices must be positive"
        )


@dataclass(frozen=True, eq=False)
class Scenarios:
    """S scenarios over D decision dates (index 0 is today).

    Attributes:
        prices: S x D CEA prices (CNY/t) at the decision dates; column 0 is today's price, the
            same in every row.
        deadline_price: S, the average CEA price of the month before the surrender deadline
            (CNY/t): the penalty is a multiple of it, and banked allowances are valued at it.
        ccer_prices: S x D CCER prices (CNY/t); column 0 the same in every row.
        emissions: S, verified emissions of the cycle (t).
        true_up: S, free allocation still to come (t; negative when allowances go back).
        true_up_date: the decision date (0..D-1) from which the true-up is held.
        weights: S probabilities summing to 1; uniform when omitted.
        decision_dates: the D calendar dates of the decision dates (today first, increasing), or
            ``None`` when the scenarios are not on a calendar (forward quotes need them: their
            delivery dates are placed on these).
    """

    prices: np.ndarray
    deadline_price: np.ndarray
    ccer_prices: np.ndarray
    emissions: np.ndarray
    true_up: np.ndarray
    true_up_date: int
    weights: np.ndarray | None = None
    decision_dates: tuple[dt.date, ...] | None = None

    def __post_init__(self) -> None:
        prices = _array("prices", self.prices, 2)
        n, dates = prices.shape
        if n < 1 or dates < 2:
            raise ConfigurationError(
                f"scenarios.prices: need at least one scenario and two decision dates (today and "
                f"one more), got shape {prices.shape}"
            )
        fields = {
            "prices": prices,
            "deadline_price": _array("deadline_price", self.deadline_price, 1),
            "ccer_prices": _array("ccer_prices", self.ccer_prices, 2),
            "emissions": _array("emissions", self.emissions, 1),
            "true_up": _array("true_up", self.true_up, 1),
        }
        weights = np.full(n, 1.0 / n) if self.weights is None else self.weights
        fields["weights"] = _array("weights", weights, 1)
        for name, array in fields.items():
            shape = (n, dates) if array.ndim == 2 else (n,)
            if array.shape != shape:
                raise ConfigurationError(
                    f"scenarios.{name}: shape {array.shape}, expected {shape} like prices"
                )
        for name in ("prices", "deadline_price", "ccer_prices"):
            _positive(name, fields[name])
        for name in ("prices", "ccer_prices"):
            today = fields[name][:, 0]
            if np.ptp(today) > 1e-9 * abs(today[0]):
                raise ConfigurationError(
                    f"scenarios.{name}[:, 0]: today's price must be the same in every scenario, "
                    f"got {today.min()} to {today.max()}"
                )
        if (fields["emissions"] < 0).any():
            raise ConfigurationError("scenarios.emissions: verified emissions must not be negative")
        weights = fields["weights"]
        if (weights < 0).any() or abs(weights.sum() - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ConfigurationError(
                f"scenarios.weights: must be probabilities summing to 1, got sum {weights.sum()!r}"
                f" and minimum {weights.min()!r}"
            )
        date = self.true_up_date
        if (
            isinstance(date, bool)
            or not isinstance(date, int | np.integer)
            or not (0 <= date < dates)
        ):
            raise ConfigurationError(
                f"scenarios.true_up_date = {date!r}: must be a date index in 0..{dates - 1}"
            )
        if self.decision_dates is not None:
            _check_dates(self.decision_dates, dates)
            object.__setattr__(self, "decision_dates", tuple(self.decision_dates))
        for name, array in fields.items():
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        object.__setattr__(self, "true_up_date", int(date))

    @property
    def count(self) -> int:
        """S, the number of scenarios."""
        return self.prices.shape[0]

    @property
    def dates(self) -> int:
        """D, the number of decision dates (today included)."""
        return self.prices.shape[1]


def _check_dates(value: object, count: int) -> None:
    dates = list(value) if isinstance(value, tuple | list) else None
    if dates is None or len(dates) != count:
        raise ConfigurationError(f"scenarios.decision_dates: need {count}, one per decision date")
    for i, date in enumerate(dates):
        if isinstance(date, dt.datetime) or not isinstance(date, dt.date):
            raise ConfigurationError(f"scenarios.decision_dates[{i}] = {date!r}: not a date")
        if i and date <= dates[i - 1]:
            raise ConfigurationError(f"scenarios.decision_dates[{i}] = {date}: dates must increase")


def weighted_var_cvar(costs: np.ndarray, weights: np.ndarray, alpha: float) -> tuple[float, float]:
    """Value at risk and conditional value at risk at level ``alpha`` of a discrete cost
    distribution (CNY): VaR is the smallest cost whose cumulative weight reaches ``alpha``;
    CVaR = VaR + E[(cost - VaR)+] / (1 - alpha), the Rockafellar-Uryasev value, which is the mean
    of the worst ``1 - alpha`` of the weight (splitting an atom at VaR where needed)."""
    costs = np.asarray(costs, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if not 0.0 < alpha < 1.0:
        raise ConfigurationError(f"alpha = {alpha!r}: must lie in (0, 1)")
    order = np.argsort(costs, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = min(int(np.searchsorted(cumulative, alpha - 1e-12)), costs.size - 1)
    var = float(costs[order][index])
    cvar = var + float(weights @ np.maximum(costs - var, 0.0)) / (1.0 - alpha)
    return var, cvar
