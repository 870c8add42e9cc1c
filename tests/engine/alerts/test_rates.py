"""Expected alert rates from simulated paths: exact counts on paths worked out by hand, the
kernel against the pandas implementation on simulated paths, and the Monte Carlo error."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from engine.alerts import AlertRules, alert_rates, count_firings
from engine.alerts.pandas_scan import path_counts
from engine.alerts.prices import COLUMNS
from engine.errors import ConfigurationError
from engine.markets import CEA, EUA
from engine.simulate import SimulationSpec, simulate_closes
from engine.volatility import VolatilityParams

# An integrated, fat-tailed GARCH like the real CEA fit (persistence 1, nu 3).
PARAMS = VolatilityParams(
    model="garch",
    dist="t",
    mu=0.0,
    omega=0.065,
    alpha=0.30,
    gamma=0.0,
    beta=0.70,
    nu=3.0,
    last_variance=1.0,
    last_residual=0.0,
    last_price=80.0,
    last_date="2026-08-14",
    unchanged_prob=0.18,
)


def simulated(paths: int, seed: int) -> np.ndarray:
    spec = SimulationSpec(paths=paths, days=252, seed=seed, band=0.10, unchanged_prob=0.18)
    return simulate_closes(PARAMS, spec)


def test_a_steady_rise_fires_the_cumulative_rule_twice_a_path():
    """+3 % a day: 12.6 % over the window low on day 4 (warning), 23 % on day 7 (critical), and
    never back under 5 % of the 20-session low: two firings, one critical, every path."""
    paths = 80.0 * 1.03 ** np.arange(1, 253)[None, :].repeat(5, axis=0)
    rates = alert_rates(paths, AlertRules(), market=CEA, last_close=80.0)
    assert rates.loc["cumulative", "per_year"] == pytest.approx(2.0)
    assert rates.loc["cumulative", "critical_per_year"] == pytest.approx(1.0)
    assert rates.loc["cumulative", "se"] == 0.0 and rates.loc["cumulative", "p_any"] == 1.0
    assert rates.loc["close_to_close", "per_year"] == 0.0
    assert rates.loc["band_lock", "per_year"] == 0.0
    half_year = alert_rates(paths[:, :126], AlertRules(), market=CEA, last_close=80.0)
    assert half_year.loc["cumulative", "per_year"] == pytest.approx(4.0)  # 2 in half a year


def test_locked_days_and_a_move_of_exactly_the_band():
    """Five sessions locked up (+10 % each, off the tick) then flat. Band lock: warning on day
    1, critical on day 2. Close to close: +10 % is not more than 10 %, never fires. Cumulative:
    day 1 is +10 % (not more), day 2 is +21 %: critical at once."""
    path = np.concatenate([80.0 * 1.1 ** np.arange(1, 6), np.full(247, 80.0 * 1.1**5)])
    counts = count_firings(path[None, :], AlertRules(), market=CEA, last_close=80.0)
    names = {f"{rule}_{direction}": column for column, (rule, direction) in COLUMNS.items()}
    assert counts[0, names["band_lock_up"]].tolist() == [2, 1]
    assert counts[0, names["close_to_close_up"]].tolist() == [0, 0]
    assert counts[0, names["cumulative_up"]].tolist() == [1, 1]
    eua = alert_rates(path[None, :], AlertRules.for_market(EUA), market=EUA, last_close=80.0)
    assert "band_lock" not in eua.index


@pytest.mark.parametrize(
    "settings",
    [{}, {"reference": {"price": 80.0}, "cumulative": {"window": 5}, "band_lock": {"ticks": 3}}],
)
def test_kernel_and_pandas_count_the_same_firings_on_simulated_paths(settings):
    paths = simulated(400, seed=11)
    rules = AlertRules.from_dict(settings)
    counts = count_firings(paths, rules, market=CEA, last_close=80.0)
    reference = path_counts(paths, rules, market=CEA, last_close=80.0)
    assert counts[..., 0].sum() > 100
    for column, (rule, direction) in COLUMNS.items():
        name = f"{rule}_{direction}"
        if name in reference:
            np.testing.assert_array_equal(counts[:, column, 0], reference[name], err_msg=name)


def test_rates_of_two_seeds_agree_within_their_monte_carlo_error():
    rules = AlertRules.from_dict({"reference": {"price": 80.0}})
    first = alert_rates(simulated(3_000, seed=1), rules, market=CEA, last_close=80.0)
    second = alert_rates(simulated(3_000, seed=2), rules, market=CEA, last_close=80.0)
    assert list(first.index) == ["close_to_close", "cumulative", "reference", "band_lock"]
    for rule in ("cumulative", "reference", "band_lock"):
        a, b = first.loc[rule], second.loc[rule]
        assert a.per_year > 0 and 0 < a.se < 0.1 * a.per_year
        assert abs(a.per_year - b.per_year) < 4 * math.hypot(a.se, b.se), rule
        assert a.per_year == pytest.approx(a.up_per_year + a.down_per_year)
    assert first.attrs == {"paths": 3_000, "days": 252, "years": 1.0}


def test_scaling_the_paths_scales_nothing_in_the_rates():
    paths = simulated(300, seed=5)
    rules = AlertRules.from_dict({"reference": {"price": 80.0}})
    base = alert_rates(paths, rules, market=CEA, last_close=80.0)
    scaled_rules = dataclasses.replace(
        rules, reference=dataclasses.replace(rules.reference, price=320.0)
    )
    market = dataclasses.replace(CEA, tick=0.04)
    scaled = alert_rates(paths * 4, scaled_rules, market=market, last_close=320.0)
    assert scaled.equals(base)


def test_bad_paths_are_refused():
    with pytest.raises(ConfigurationError, match="paths x days"):
        alert_rates(np.ones(10), AlertRules(), market=CEA, last_close=80.0)
    with pytest.raises(ConfigurationError, match="positive, finite"):
        alert_rates(np.full((2, 3), np.nan), AlertRules(), market=CEA, last_close=80.0)
    with pytest.raises(ConfigurationError, match="last_close"):
        alert_rates(np.ones((2, 3)), AlertRules(), market=CEA, last_close=0.0)
    with pytest.raises(ConfigurationError, match="sessions_per_year"):
        alert_rates(np.ones((2, 3)), AlertRules(), market=CEA, last_close=1.0, sessions_per_year=0)


def test_python_twin_counts_the_same():
    """CARBON_DISABLE_NUMBA=1 runs the scan kernels as plain Python: the same counts."""
    script = textwrap.dedent(
        """
        import numpy as np
        from engine.alerts import AlertRules, count_firings
        from engine.markets import CEA
        rng = np.random.default_rng(3)
        paths = 80 * np.exp(np.cumsum(rng.normal(0, 0.04, (40, 60)), axis=1))
        paths[:, 10:13] = paths[:, 9:10] * 1.1 ** np.arange(1, 4)  # locked days
        rules = AlertRules.from_dict({"reference": {"price": 85.0}, "cumulative": {"window": 7}})
        print(count_firings(paths, rules, market=CEA, last_close=80.0).tolist())
        """
    )
    outputs = []
    for disabled in ("1", "0"):
        env = {**os.environ, "CARBON_DISABLE_NUMBA": disabled}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        outputs.append(np.array(json.loads(done.stdout)))
    assert outputs[0].sum() > 40
    np.testing.assert_array_equal(outputs[0], outputs[1])
