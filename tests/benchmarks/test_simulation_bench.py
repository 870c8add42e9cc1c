"""The path simulator's speed: against arch's own simulation and a vectorised numpy recursion.

100,000 paths x 252 days. Each benchmark records its peak memory (tracemalloc: NumPy's and
numba-output allocations) and its path-steps, so the summary prints ns per path-step and the
ratios. The full figures: ``pytest tests/benchmarks --benchmark-min-rounds=5``.

Two comparisons, because allocating a fresh 200 MB result costs as much as simulating into it on
this machine (page faults): the kernel and the numpy recursion write into a buffer allocated
once (the algorithm's cost per path-step), while the comparison with arch is end to end, as a
user calls each (``simulate_closes`` against ``forecast``), allocation and all. arch returns the
simulated returns; ``simulate_log_closes`` returns their running sum (the same information) and
``simulate_closes`` the prices, an exponential more a path-step: both are measured.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from engine import simulate_nb as nb
from engine.simulate import (
    SimulationSpec,
    innovations_table,
    kernel_params,
    shape_array,
    simulate_closes,
    simulate_log_closes,
)
from engine.volatility import VolatilityParams

PATHS, DAYS = 100_000, 252
GJR_T = VolatilityParams(
    model="gjr", dist="t", mu=0.03, omega=0.08, alpha=0.07, gamma=0.05, beta=0.86, nu=5.0,
    last_variance=3.0, last_residual=-1.5, last_price=70.0, last_date="2026-06-30",
    unchanged_prob=0.0,
)  # fmt: skip
GARCH_T = dataclasses.replace(GJR_T, model="garch", gamma=0.0, alpha=0.1)
_Z = np.random.default_rng(3).standard_t(5.0, 250) * math.sqrt(3 / 5)
GJR_FHS = dataclasses.replace(GJR_T, dist="fhs", nu=None, shape=tuple(_Z - _Z.mean()))
GJR_FHS_TM = dataclasses.replace(  # tail memory: a table of three, one read by each day's kind
    GJR_FHS, tail_bounds=(-1.6, 1.6), after_fall=tuple(_Z[:100] - 0.5),
    after_rise=tuple(_Z[100:200] + 0.3),
)  # fmt: skip


def peak_mb(function) -> float:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def numba_kernel(params: VolatilityParams, band: float | None):
    """The kernel into a buffer allocated (and touched) once."""
    spec = SimulationSpec(paths=PATHS, days=DAYS, seed=1, band=band)
    vector, table = kernel_params(params, spec), innovations_table(params)
    shape = shape_array(params)
    out = np.zeros((PATHS, DAYS))

    def run() -> np.ndarray:
        nb.simulate_paths_nb(out, vector, table, shape, 1, 0, False)
        return out

    run()  # compiled (or loaded from the cache) outside the timing
    return run


def numpy_recursion(params: VolatilityParams, band: float | None):
    """The same recursion, a loop over days vectorised over paths (NumPy's generator), into a
    buffer allocated once."""
    spec = SimulationSpec(paths=PATHS, days=DAYS, seed=1, band=band)
    v = kernel_params(params, spec)
    scale = math.sqrt((params.nu - 2) / params.nu)
    out = np.zeros((PATHS, DAYS))

    def run() -> np.ndarray:
        rng = np.random.default_rng(1)
        variance = np.full(PATHS, v[nb.VAR0])
        latent = np.full(PATHS, v[nb.LOG_PRICE0])
        close = latent.copy()
        for t in range(DAYS):
            shock = np.sqrt(variance) * rng.standard_t(params.nu, PATHS) * scale
            latent += v[nb.MU] + shock
            close = np.minimum(np.maximum(latent, close + v[nb.LOG_DOWN]), close + v[nb.LOG_UP])
            out[:, t] = close
            weight = v[nb.ALPHA] + v[nb.GAMMA] * (shock < 0)
            variance = v[nb.OMEGA] + weight * shock * shock + v[nb.BETA] * variance
        return out

    return run


def arch_simulation(params: VolatilityParams):
    """arch's forecast(method="simulation") of the same model (arch has no band)."""
    returns = pd.Series(np.random.default_rng(0).standard_normal(1000))
    model = arch_model(returns, mean="Constant", vol="GARCH", p=1, o=0, q=1, dist="t")
    fixed = model.fix([params.mu, params.omega, params.alpha, params.beta, params.nu])

    def run():
        return fixed.forecast(
            horizon=DAYS, method="simulation", simulations=PATHS, reindex=False
        ).simulations.values

    return run


@pytest.mark.benchmark(group="kernel 100k x 252, GJR-t, band on")
def test_numba_kernel(benchmark):
    run = numba_kernel(GJR_T, band=0.10)
    benchmark.extra_info.update(path_steps=PATHS * DAYS)
    out = benchmark(run)
    assert out.shape == (PATHS, DAYS) and np.isfinite(out).all()


@pytest.mark.benchmark(group="kernel 100k x 252, GJR-t, band on")
def test_numba_kernel_fhs(benchmark):
    """The same kernel drawing the day's return from an empirical shape (one more read a
    draw), its variance fed by the normal draw at the same uniform."""
    run = numba_kernel(GJR_FHS, band=0.10)
    benchmark.extra_info.update(path_steps=PATHS * DAYS)
    out = benchmark(run)
    assert out.shape == (PATHS, DAYS) and np.isfinite(out).all()


@pytest.mark.benchmark(group="kernel 100k x 252, GJR-t, band on")
def test_numba_kernel_fhs_tail_memory(benchmark):
    """The same with tail memory: the day's table is one of three, by the kind of the day
    before (its standardised residual against the tail bounds, one division a draw)."""
    run = numba_kernel(GJR_FHS_TM, band=0.10)
    benchmark.extra_info.update(path_steps=PATHS * DAYS)
    out = benchmark(run)
    assert out.shape == (PATHS, DAYS) and np.isfinite(out).all()


@pytest.mark.benchmark(group="kernel 100k x 252, GJR-t, band on")
def test_numpy_vectorised_reference(benchmark):
    run = numpy_recursion(GJR_T, band=0.10)
    benchmark.extra_info.update(path_steps=PATHS * DAYS)
    out = benchmark.pedantic(run, rounds=3, iterations=1)
    assert out.shape == (PATHS, DAYS)


@pytest.mark.benchmark(group="vs arch: 100k x 252, GARCH-t, no band")
def test_simulate_closes(benchmark):
    spec = SimulationSpec(paths=PATHS, days=DAYS, seed=1)
    simulate_closes(GARCH_T, SimulationSpec(paths=10, days=DAYS))  # compiled outside the timing
    benchmark.extra_info.update(
        path_steps=PATHS * DAYS, peak_mb=peak_mb(lambda: simulate_closes(GARCH_T, spec))
    )
    out = benchmark(simulate_closes, GARCH_T, spec)
    assert np.isfinite(out).all()


@pytest.mark.benchmark(group="vs arch: 100k x 252, GARCH-t, no band")
def test_simulate_log_closes(benchmark):
    """The simulator's own output, the log closes: the running sum of the returns, which is
    what arch's ``simulations.values`` holds (returns), without the exponential into prices."""
    spec = SimulationSpec(paths=PATHS, days=DAYS, seed=1)
    simulate_log_closes(GARCH_T, SimulationSpec(paths=10, days=DAYS))  # compiled outside
    benchmark.extra_info.update(
        path_steps=PATHS * DAYS, peak_mb=peak_mb(lambda: simulate_log_closes(GARCH_T, spec))
    )
    out = benchmark(simulate_log_closes, GARCH_T, spec)
    assert np.isfinite(out).all()


@pytest.mark.benchmark(group="vs arch: 100k x 252, GARCH-t, no band")
def test_arch_simulation_reference(benchmark):
    run = arch_simulation(GARCH_T)
    benchmark.extra_info.update(path_steps=PATHS * DAYS, peak_mb=peak_mb(run))  # untimed
    out = benchmark.pedantic(run, rounds=2, iterations=1)
    assert out.shape == (1, PATHS, DAYS)  # one forecast origin


@pytest.mark.benchmark(group="first call: compile all kernels (cache=True)")
def test_first_call_compile_time(benchmark, tmp_path):
    """A fresh process with an empty numba cache compiles; a second one loads the cache."""
    script = textwrap.dedent(
        """
        import time
        start = time.perf_counter()
        from engine.simulate import SimulationSpec, simulate_fan
        from engine.volatility import VolatilityParams
        p = VolatilityParams(model="gjr", dist="t", mu=0.03, omega=0.08, alpha=0.07,
            gamma=0.05, beta=0.86, nu=5.0, last_variance=3.0, last_residual=-1.5,
            last_price=70.0, last_date="2026-06-30", unchanged_prob=0.0)
        simulate_fan(p, SimulationSpec(paths=100, days=10, band=0.1))
        print(time.perf_counter() - start)
        """
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def fresh_process() -> float:
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        return float(done.stdout)

    start = time.perf_counter()
    cold = benchmark.pedantic(fresh_process, rounds=1, iterations=1)
    warm = fresh_process()
    benchmark.extra_info.update(cold_s=cold, warm_s=warm, wall_s=time.perf_counter() - start)
    assert warm < cold
