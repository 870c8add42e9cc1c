"""From simulated paths to optimiser scenarios, and their reduction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desk.config.book import load_book
from engine.ccer import CcerBasis
from engine.errors import ConfigurationError
from engine.scenario_build import decision_days, reduce_scenarios, scenarios_from_paths
from engine.simulate import SimulationSpec, simulate_closes
from engine.volatility import VolatilityParams

BOOK = load_book(Path(__file__).resolve().parents[2] / "desk/defaults/power_company_book.toml")
MODEL = VolatilityParams(
    model="garch", dist="normal", mu=0.0, omega=0.05, alpha=0.08, gamma=0.0, beta=0.9,
    nu=None, last_variance=2.0, last_residual=0.0, last_price=70.0, last_date="2026-06-30",
    unchanged_prob=0.0,
)  # fmt: skip


def test_decision_days_end_on_the_deadline():
    assert list(decision_days(25, 10)) == [10, 20, 25]
    assert list(decision_days(30, 10)) == [10, 20, 30]
    with pytest.raises(ConfigurationError):
        decision_days(0, 10)


def test_scenarios_sample_the_paths():
    closes = simulate_closes(MODEL, SimulationSpec(paths=500, days=125, seed=1, band=0.1))
    scen = scenarios_from_paths(closes, 70.0, BOOK, seed=1, every=10, basis=CcerBasis(start=0.0))
    assert scen.prices.shape == (500, 14)  # today + days 10, 20, ..., 120, 125
    np.testing.assert_array_equal(scen.prices[:, 0], 70.0)
    np.testing.assert_array_equal(scen.prices[:, 1], closes[:, 9])
    np.testing.assert_array_equal(scen.prices[:, -1], closes[:, -1])
    np.testing.assert_allclose(scen.deadline_price, closes[:, -21:].mean(axis=1))
    assert scen.true_up_date == 7  # day 62 arrives by the decision date of day 70
    np.testing.assert_array_equal(scen.ccer_prices[:, 0], 70.0)
    assert scen.emissions.mean() == pytest.approx(BOOK.obligation.expected_emissions, rel=0.01)


def test_reduction_keeps_the_weight_and_the_spread():
    closes = simulate_closes(MODEL, SimulationSpec(paths=20_000, days=60, seed=2, band=0.1))
    full = scenarios_from_paths(closes, 70.0, BOOK, seed=2)
    small = reduce_scenarios(full, 200)
    assert small.count == 200 and small.weights.sum() == pytest.approx(1.0)
    driver = full.deadline_price * (full.emissions - full.true_up)
    reduced = small.deadline_price * (small.emissions - small.true_up)
    # The weighted mean of the cost driver within 0.5 % of the full set's.
    assert small.weights @ reduced == pytest.approx(driver.mean(), rel=5e-3)
    # Its 5 % and 95 % points, within a stratum's width.
    for q in (0.05, 0.95):
        order = np.argsort(reduced)
        at = np.searchsorted(np.cumsum(small.weights[order]), q)
        assert reduced[order][at] == pytest.approx(np.quantile(driver, q), rel=0.01)
    with pytest.raises(ConfigurationError, match="cannot reduce"):
        reduce_scenarios(full, 0)
