"""The alert scan over simulated paths: the numba kernel against the plain pandas
implementation of the same rules (``engine.alerts.pandas_scan``), in the same run.

10,000 paths x 252 days of a CEA-like integrated GARCH-t with the band and thin days, every
price rule on (close to close, cumulative over 20 sessions, reference price, band lock). Both
sides count the firings per path and rule from the same paths, and must agree. The summary
prints ``reference / kernel`` (medians) and ns per path-step.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.alerts import AlertRules, count_firings
from engine.alerts.pandas_scan import path_counts
from engine.alerts.prices import COLUMNS
from engine.markets import CEA
from engine.simulate import SimulationSpec, simulate_closes
from engine.volatility import VolatilityParams

PATHS, DAYS = 10_000, 252
GROUP = "alert scan 10k x 252, all price rules"
PARAMS = VolatilityParams(
    model="garch", dist="t", mu=0.0, omega=0.065, alpha=0.30, gamma=0.0, beta=0.70, nu=3.0,
    last_variance=1.0, last_residual=0.0, last_price=80.0, last_date="2026-08-14",
    unchanged_prob=0.18,
)  # fmt: skip
RULES = AlertRules.from_dict({"reference": {"price": 80.0}})


@pytest.fixture(scope="module")
def paths() -> np.ndarray:
    spec = SimulationSpec(paths=PATHS, days=DAYS, seed=7, band=0.10, unchanged_prob=0.18)
    return simulate_closes(PARAMS, spec)


@pytest.fixture(scope="module")
def expected(paths) -> dict[str, np.ndarray]:
    """The pandas implementation's counts, computed once (untimed) for the kernel's check."""
    return path_counts(paths, RULES, market=CEA, last_close=80.0)


@pytest.mark.benchmark(group=GROUP)
def test_alert_scan_kernel(benchmark, paths, expected):
    count_firings(paths[:2], RULES, market=CEA, last_close=80.0)  # compiled outside the timing
    benchmark.extra_info.update(path_steps=PATHS * DAYS)
    counts = benchmark(count_firings, paths, RULES, market=CEA, last_close=80.0)
    for column, (rule, direction) in COLUMNS.items():
        np.testing.assert_array_equal(counts[:, column, 0], expected[f"{rule}_{direction}"])
    assert counts[..., 0].sum() > PATHS  # the rules do fire


@pytest.mark.benchmark(group=GROUP)
def test_alert_scan_pandas_reference(benchmark, paths, expected):
    benchmark.extra_info.update(path_steps=PATHS * DAYS)
    counts = benchmark.pedantic(
        path_counts, args=(paths, RULES), kwargs={"market": CEA, "last_close": 80.0}, rounds=3
    )
    for name, values in expected.items():
        np.testing.assert_array_equal(counts[name], values)
