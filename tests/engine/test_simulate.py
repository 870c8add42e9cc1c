"""The path simulator against theory, against arch's own simulation, and its promises."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from scipy import stats

from engine.ccer import CcerBasis, ccer_closes
from engine.errors import ConfigurationError, ModelError
from engine.simulate import SimulationSpec, simulate_closes, simulate_fan, simulate_log_closes
from engine.volatility import VolatilityParams

GARCH_NORMAL = VolatilityParams(
    model="garch", dist="normal", mu=0.02, omega=0.05, alpha=0.08, gamma=0.0, beta=0.85,
    nu=None, last_variance=2.0, last_residual=-1.0, last_price=80.0, last_date="2026-06-30",
    unchanged_prob=0.2,
)  # fmt: skip
GJR_T = dataclasses.replace(GARCH_NORMAL, model="gjr", dist="t", alpha=0.06, gamma=0.06, nu=6.0)


def test_same_seed_same_paths_and_chunks_are_the_same_paths():
    spec = SimulationSpec(paths=500, days=30, seed=11, band=0.1)
    a = simulate_closes(GJR_T, spec)
    np.testing.assert_array_equal(a, simulate_closes(GJR_T, spec))
    np.testing.assert_array_equal(simulate_closes(GJR_T, spec, first_path=200, paths=300), a[200:])
    logs = simulate_log_closes(GJR_T, spec)
    tail = simulate_log_closes(GJR_T, spec, first_path=200, paths=300)
    np.testing.assert_array_equal(tail, logs[200:])
    np.testing.assert_array_max_ulp(np.exp(logs), a, maxulp=1)  # the kernel's own exp
    other = simulate_closes(GJR_T, dataclasses.replace(spec, seed=12))
    assert not np.array_equal(a, other)


def test_bit_identical_whatever_the_number_of_threads():
    """The same seed in processes with NUMBA_NUM_THREADS 1 and 2 gives the same bytes."""
    script = textwrap.dedent(
        """
        import hashlib, dataclasses
        from engine.simulate import SimulationSpec, simulate_closes, simulate_fan
        from engine.volatility import VolatilityParams
        p = VolatilityParams(model="gjr", dist="t", mu=0.02, omega=0.05, alpha=0.06,
            gamma=0.06, beta=0.85, nu=6.0, last_variance=2.0, last_residual=-1.0,
            last_price=80.0, last_date="2026-06-30", unchanged_prob=0.2)
        spec = SimulationSpec(paths=3001, days=40, seed=5, band=0.1, unchanged_prob=0.2)
        paths = simulate_closes(p, spec)
        fan = simulate_fan(p, spec, levels=(70.0, 90.0), chunk_paths=1000)
        digest = hashlib.sha256(paths.tobytes())
        digest.update(fan.quantiles.to_numpy().tobytes())
        digest.update(fan.mean.to_numpy().tobytes())
        print(digest.hexdigest())
        """
    )
    digests = set()
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    assert len(digests) == 1


def test_no_day_moves_beyond_the_band():
    spec = SimulationSpec(paths=2000, days=252, seed=3, band=0.10)
    wild = dataclasses.replace(GJR_T, last_variance=30.0, nu=2.5)  # 5 % a day, fat tails
    closes = simulate_closes(wild, spec)
    ratio = closes[:, 1:] / closes[:, :-1]
    first = closes[:, 0] / wild.last_price
    assert ratio.max() <= 1.1 * (1 + 1e-12) and ratio.min() >= 0.9 * (1 - 1e-12)
    assert first.max() <= 1.1 * (1 + 1e-12) and first.min() >= 0.9 * (1 - 1e-12)
    assert (ratio > 1.0999).mean() > 0.0005  # the band binds on some days


def _returns(params: VolatilityParams, spec: SimulationSpec) -> np.ndarray:
    """Daily log returns in per cent, day 1 from the last price."""
    logs = simulate_log_closes(params, spec)
    start = np.full((spec.paths, 1), math.log(params.last_price))
    return 100 * np.diff(np.hstack([start, logs]), axis=1)


def test_long_run_variance_is_omega_over_one_minus_persistence():
    """Band off: after 300 days the variance of a day's return is omega / (1 - alpha - beta -
    gamma / 2) = 0.05 / 0.06 = 0.833 %^2, within 4 Monte Carlo standard errors."""
    spec = SimulationSpec(paths=40_000, days=320, seed=4)
    r = _returns(GJR_T, spec)[:, 300:]
    per_path = (r - GJR_T.mu) ** 2
    estimate = per_path.mean()
    error = per_path.mean(axis=1).std(ddof=1) / math.sqrt(spec.paths)
    assert GJR_T.unconditional_variance == pytest.approx(0.05 / 0.06)
    assert abs(estimate - 0.05 / 0.06) < 4 * error


def test_kurtosis_of_garch_normal():
    """Normal GARCH(1,1): kurtosis 3 (1 - (a + b)^2) / (1 - (a + b)^2 - 2 a^2) = 3.3140 for
    a = 0.08, b = 0.85, within 4 Monte Carlo standard errors (batched over paths)."""
    a, b = GARCH_NORMAL.alpha, GARCH_NORMAL.beta
    theory = 3 * (1 - (a + b) ** 2) / (1 - (a + b) ** 2 - 2 * a**2)
    assert theory == pytest.approx(3.3140, abs=1e-4)
    spec = SimulationSpec(paths=60_000, days=260, seed=8)
    e = _returns(GARCH_NORMAL, spec)[:, 200:] - GARCH_NORMAL.mu
    batches = np.array_split(e, 30)
    kurt = [np.mean(x**4) / np.mean(x**2) ** 2 for x in batches]
    estimate = np.mean(np.concatenate([x.ravel() ** 4 for x in batches])) / np.mean(e**2) ** 2
    error = np.std(kurt, ddof=1) / math.sqrt(len(kurt))
    assert abs(estimate - theory) < 4 * error


def _arch_fixed(params: VolatilityParams, n: int = 1000, seed: int = 0):
    """An arch model with our parameters fixed on a series, and our params with its last
    state (so both simulations start from the same place)."""
    rng = np.random.default_rng(seed)
    returns = pd.Series(rng.standard_normal(n) * 1.2 + 0.02)
    o = 1 if params.model == "gjr" else 0
    model = arch_model(returns, mean="Constant", vol="GARCH", p=1, o=o, q=1, dist=params.dist)
    values = [params.mu, params.omega, params.alpha]
    values += [params.gamma] if o else []
    values += [params.beta] + ([params.nu] if params.dist == "t" else [])
    fixed = model.fix(values)
    ours = dataclasses.replace(
        params,
        last_variance=float(fixed.conditional_volatility.iloc[-1] ** 2),
        last_residual=float(fixed.resid.iloc[-1]),
    )
    return fixed, ours


@pytest.mark.parametrize("params", [GARCH_NORMAL, GJR_T], ids=["garch-normal", "gjr-t"])
def test_returns_match_archs_own_simulation(params):
    """Two-sample Kolmogorov-Smirnov tests of day-1, day-5 and 20-day returns against arch's
    forecast(method="simulation") of the same model from the same state: p > 0.001 each."""
    fixed, ours = _arch_fixed(params)
    horizon, paths = 20, 20_000
    forecast = fixed.forecast(
        horizon=horizon,
        method="simulation",
        simulations=paths,
        reindex=False,
        rng=np.random.default_rng(1).standard_normal
        if params.dist == "normal"
        else lambda size: (
            stats.t(params.nu).rvs(size, random_state=2) * math.sqrt((params.nu - 2) / params.nu)
        ),
    )
    theirs = forecast.simulations.values[-1]  # paths x horizon, per cent
    mine = _returns(ours, SimulationSpec(paths=paths, days=horizon, seed=9))
    assert ours.next_variance == pytest.approx(forecast.variance.iloc[-1, 0])
    for label, a, b in [
        ("day 1", mine[:, 0], theirs[:, 0]),
        ("day 5", mine[:, 4], theirs[:, 4]),
        ("20 days", mine.sum(axis=1), theirs.sum(axis=1)),
    ]:
        assert stats.ks_2samp(a, b).pvalue > 0.001, label


def test_the_first_days_start_from_archs_one_step_forecast():
    """E[e_1^2] = next_variance and E[e_2^2] = omega + persistence x next_variance (band off),
    within 4 Monte Carlo standard errors: a first day started from last_variance instead
    (12 % off here) fails."""
    params = GJR_T
    e = _returns(params, SimulationSpec(paths=200_000, days=2, seed=13)) - params.mu
    day1, day2 = e[:, 0] ** 2, e[:, 1] ** 2
    expected1 = params.next_variance
    expected2 = params.omega + params.persistence * params.next_variance
    assert abs(day1.mean() - expected1) < 4 * day1.std() / math.sqrt(len(day1))
    assert abs(day2.mean() - expected2) < 4 * day2.std() / math.sqrt(len(day2))
    assert abs(params.last_variance - expected1) > 8 * day1.std() / math.sqrt(len(day1))


def test_no_mean_price_for_student_t_without_a_band():
    fan = simulate_fan(GJR_T, SimulationSpec(paths=2000, days=10, seed=1))
    assert fan.mean.isna().all() and fan.std.isna().all()
    assert fan.quantiles.notna().all().all()
    banded = simulate_fan(GJR_T, SimulationSpec(paths=2000, days=10, seed=1, band=0.1))
    assert banded.mean.notna().all()


def test_fan_does_not_depend_on_the_chunk_size():
    spec = SimulationSpec(paths=9000, days=30, seed=4, band=0.1)
    small = simulate_fan(GJR_T, spec, levels=(75.0,), chunk_paths=3000)
    large = simulate_fan(GJR_T, spec, levels=(75.0,), chunk_paths=7000)
    pd.testing.assert_frame_equal(small.quantiles, large.quantiles)
    pd.testing.assert_frame_equal(small.exceedance, large.exceedance)
    np.testing.assert_allclose(small.mean, large.mean, rtol=1e-12)  # float sums: to rounding


def test_thin_trading_share():
    spec = SimulationSpec(paths=4000, days=100, seed=2, unchanged_prob=0.25)
    closes = simulate_closes(GARCH_NORMAL, spec)
    unchanged = (np.diff(closes, axis=1) == 0).mean()
    assert abs(unchanged - 0.25) < 4 * math.sqrt(0.25 * 0.75 / closes.size)


def test_fan_statistics_equal_direct_ones():
    spec = SimulationSpec(paths=20_000, days=60, seed=6, band=0.1)
    closes = simulate_closes(GJR_T, spec)
    fan = simulate_fan(GJR_T, spec, levels=(70.0, 80.0, 90.0), chunk_paths=3000)
    np.testing.assert_allclose(fan.mean, closes.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(fan.std, closes.std(axis=0, ddof=1), rtol=1e-9)
    for q in (0.05, 0.5, 0.95):
        direct = np.quantile(closes, q, axis=0)
        # within one histogram step (in log price) of the exact sample quantile
        assert np.max(np.abs(np.log(fan.quantiles[q].to_numpy() / direct))) < 2 * fan.grid_step
    high, low = closes.max(axis=1), closes.min(axis=1)
    for level in (70.0, 80.0, 90.0):
        row = fan.exceedance.loc[level]
        assert row.p_above == (high >= level).mean() and row.p_below == (low <= level).mean()
        assert row.p_above_at_end == pytest.approx((closes[:, -1] >= level).mean(), abs=2e-3)
    assert fan.outside_grid == 0.0 and fan.terminal[1].sum() == spec.paths


def test_fan_memory_does_not_grow_with_paths():
    """Peak memory of a process (ru_maxrss) grows the same for 20,000 and 200,000 paths."""
    script = textwrap.dedent(
        """
        import resource, sys
        from engine.simulate import SimulationSpec, simulate_fan
        from engine.volatility import VolatilityParams
        p = VolatilityParams(model="gjr", dist="t", mu=0.02, omega=0.05, alpha=0.06,
            gamma=0.06, beta=0.85, nu=6.0, last_variance=2.0, last_residual=-1.0,
            last_price=80.0, last_date="2026-06-30", unchanged_prob=0.0)
        simulate_fan(p, SimulationSpec(paths=100, days=252, band=0.1))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fan = simulate_fan(p, SimulationSpec(paths=int(sys.argv[1]), days=252, band=0.1))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) / 1024, fan.memory_bytes / 1e6)
        """
    )
    growth = {}
    for paths in (20_000, 200_000):
        done = subprocess.run(
            [sys.executable, "-c", script, str(paths)], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        growth[paths], accounted = map(float, done.stdout.split())
        assert accounted < 80  # MB, the working memory the function accounts for
    assert growth[200_000] < growth[20_000] + 10  # MB: not ten times more


def test_ccer_follows_cea_with_its_own_basis():
    spec = SimulationSpec(paths=3000, days=400, seed=5, band=0.1)
    cea = simulate_closes(GJR_T, spec)
    basis = CcerBasis(start=0.08, mean=-0.02, reversion=0.05, vol=0.005)
    ccer = ccer_closes(cea, basis, seed=spec.seed)
    np.testing.assert_array_equal(ccer, ccer_closes(cea, basis, seed=spec.seed))
    np.testing.assert_array_equal(cea, simulate_closes(GJR_T, spec))  # CEA paths untouched
    implied = ccer / cea - 1
    assert implied[:, 0].mean() == pytest.approx(0.08 + 0.05 * (-0.02 - 0.08), abs=1e-3)
    # Long-run: mean -0.02 (a discount), s.d. vol / sqrt(1 - (1 - k)^2) = 0.0160.
    assert implied[:, -1].mean() == pytest.approx(-0.02, abs=1e-3)
    assert implied[:, -1].std() == pytest.approx(0.005 / math.sqrt(1 - 0.95**2), rel=0.05)
    with pytest.raises(ConfigurationError, match="reversion must lie in"):
        CcerBasis(reversion=0.0)


def test_bad_specs_and_explosive_params():
    with pytest.raises(ConfigurationError, match="at least one path"):
        SimulationSpec(paths=0)
    with pytest.raises(ConfigurationError, match="band must lie in"):
        SimulationSpec(band=1.5)
    with pytest.raises(ConfigurationError, match="unchanged_prob must lie in"):
        SimulationSpec(unchanged_prob=1.0)
    explosive = dataclasses.replace(GARCH_NORMAL, alpha=0.3, beta=0.8)
    with pytest.raises(ModelError, match="variance explodes"):
        simulate_closes(explosive, SimulationSpec(paths=1, days=1))


def test_integrated_garch_simulates():
    """A fit on arch's persistence bound (as the real CEA gives) still simulates a fan."""
    integrated = dataclasses.replace(GARCH_NORMAL, alpha=0.15, beta=0.85)
    fan = simulate_fan(integrated, SimulationSpec(paths=5000, days=252, seed=1, band=0.1))
    assert np.isfinite(fan.quantiles.to_numpy()).all() and fan.outside_grid < 1e-4


def test_python_twin_gives_the_same_paths():
    """CARBON_DISABLE_NUMBA=1 runs the kernels as plain Python: same numbers."""
    script = textwrap.dedent(
        """
        import warnings
        warnings.simplefilter("error")  # the twin wraps its integers as numba does, silently
        from engine.simulate import SimulationSpec, simulate_closes
        from engine.volatility import VolatilityParams
        p = VolatilityParams(model="gjr", dist="t", mu=0.02, omega=0.05, alpha=0.06,
            gamma=0.06, beta=0.85, nu=6.0, last_variance=2.0, last_residual=-1.0,
            last_price=80.0, last_date="2026-06-30", unchanged_prob=0.2)
        spec = SimulationSpec(paths=6, days=15, seed=5, band=0.1, unchanged_prob=0.2)
        print(repr(simulate_closes(p, spec).tolist()))
        """
    )
    outputs = []
    for disabled in ("1", "0"):
        env = {**os.environ, "CARBON_DISABLE_NUMBA": disabled}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        outputs.append(np.array(eval(done.stdout)))
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-13)


def test_a_clipped_day_feeds_its_whole_shock_to_the_next_variance():
    """The variance recursion runs on the day's shock, not on the band-clipped move, so the
    band cannot drain a fat-tailed fit's variance: the kernel equals a NumPy recursion on the
    same draws (path i reads stream i), on paths where the band binds."""
    from engine.random_nb import fill_from_table_nb
    from engine.simulate import innovations_table

    wild = dataclasses.replace(GJR_T, last_variance=30.0, nu=2.5, unchanged_prob=0.0)
    spec = SimulationSpec(paths=64, days=60, seed=9, band=0.10)
    logs = simulate_log_closes(wild, spec)
    down, up = math.log(0.9), math.log(1.1)
    clipped = 0
    for i in range(spec.paths):
        z = np.empty(spec.days)
        fill_from_table_nb(z, spec.seed, i, innovations_table(wild))
        variance, close = wild.next_variance / 1e4, math.log(wild.last_price)
        for t in range(spec.days):
            shock = math.sqrt(variance) * z[t]
            move = min(max(wild.mu / 100 + shock, down), up)
            clipped += move != wild.mu / 100 + shock
            close += move
            assert logs[i, t] == pytest.approx(close, abs=1e-12)
            weight = wild.alpha + wild.gamma * (shock < 0)
            variance = wild.omega / 1e4 + weight * shock * shock + wild.beta * variance
    assert clipped >= 25  # the band bound on enough days to tell the two recursions apart
