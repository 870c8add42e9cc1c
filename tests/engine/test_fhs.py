"""Filtered historical simulation with the variance fed by normal scores (``dist="fhs"``):
the kernel against a NumPy recursion on the same draws, the shape's quantile function against
NumPy's, the parameters' checks and the fit's residuals against arch's."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import stats

from engine.errors import ModelError
from engine.random_nb import (
    cdf_of_shape,
    fill_from_table_nb,
    fill_u64_nb,
    quantile_of_shape,
    table_uniform,
)
from engine.simulate import SimulationSpec, innovations_table, simulate_log_closes
from engine.targeted import fit_targeted, loglikelihood
from engine.validation import candidate
from engine.validation.rolling import _cdf, _quantiles
from engine.volatility import FHS_MIN_RESIDUALS, FHS_WINDOW, VolatilityParams, fit_volatility
from market_data.reference import reference_market

NORMAL = VolatilityParams(
    model="gjr", dist="normal", mu=0.02, omega=0.05, alpha=0.06, gamma=0.06, beta=0.85,
    nu=None, last_variance=9.0, last_residual=-1.0, last_price=80.0, last_date="2026-06-30",
    unchanged_prob=0.0,
)  # fmt: skip
# a skewed, fat-tailed shape: a centred, unit-variance mix that a normal cannot mimic
_RNG = np.random.default_rng(7)
_DRAWS = np.r_[_RNG.standard_t(3, 240) * 0.6, _RNG.normal(-3.0, 0.5, 10)]
SHAPE = tuple((_DRAWS - _DRAWS.mean()) / _DRAWS.std())
FHS = dataclasses.replace(NORMAL, dist="fhs", shape=SHAPE)


def test_kernel_equals_a_numpy_recursion_on_the_same_draws():
    """Each day: u from the stream's 64 bits (the normal table's reading of them), the return
    sigma Q_shape(u) held in the band, the variance fed by sigma z, z the normal draw of the
    same bits: the kernel to 1e-12 in log price."""
    spec = SimulationSpec(paths=32, days=80, seed=4, band=0.05)
    logs = simulate_log_closes(FHS, spec)
    shape = np.asarray(FHS.shape)
    down, up = math.log(0.95), math.log(1.05)
    clipped = 0
    for i in range(spec.paths):
        z, bits = np.empty(spec.days), np.empty(spec.days, dtype=np.uint64)
        fill_from_table_nb(z, spec.seed, i, innovations_table(FHS))
        fill_u64_nb(bits, spec.seed, i)
        u = np.array([table_uniform(b) for b in bits])
        np.testing.assert_allclose(z, stats.norm.ppf(u), atol=1e-6)  # the same reading
        day = quantile_of_shape(shape, u)
        variance, close = FHS.next_variance / 1e4, math.log(FHS.last_price)
        for t in range(spec.days):
            sd = math.sqrt(variance)
            move = min(max(FHS.mu / 100 + sd * day[t], down), up)
            clipped += move != FHS.mu / 100 + sd * day[t]
            close += move
            assert logs[i, t] == pytest.approx(close, abs=1e-12)
            news = sd * z[t]
            weight = FHS.alpha + FHS.gamma * (news < 0)
            variance = FHS.omega / 1e4 + weight * news * news + FHS.beta * variance
    assert clipped >= 5  # the band bound on some days


def test_first_day_has_the_shape_and_the_variance_runs_as_the_normal_models():
    """Day 1: the return's quantiles are the shape's (not the normal's); the variance path is
    the normal fit's draw for draw, so the s.d. of the 250-day log return is the normal's
    within Monte Carlo error."""
    spec = SimulationSpec(paths=100_000, days=250, seed=2)
    fhs, normal = simulate_log_closes(FHS, spec), simulate_log_closes(NORMAL, spec)
    first = (fhs[:, 0] - math.log(80.0)) * 100.0
    levels = np.array([0.01, 0.05, 0.5, 0.95, 0.99])
    expected = FHS.mu + math.sqrt(FHS.next_variance) * quantile_of_shape(np.sort(SHAPE), levels)
    share_below = (first[:, None] <= expected).mean(axis=0)  # 4 s.e. of a share of 100,000
    np.testing.assert_array_less(
        np.abs(share_below - levels), 4 * np.sqrt(levels * (1 - levels) / 1e5)
    )
    assert abs(np.quantile(first, 0.01) - expected[0]) < abs(
        np.quantile((normal[:, 0] - math.log(80.0)) * 100.0, 0.01) - expected[0]
    )
    sd_fhs, sd_normal = np.std(fhs[:, -1]), np.std(normal[:, -1])
    assert sd_fhs == pytest.approx(sd_normal, rel=0.03)


def test_quantile_and_cdf_of_a_shape_are_inverse_and_match_the_kernels_reading():
    shape = np.sort(np.asarray(SHAPE))
    u = np.linspace(0.001, 0.999, 997)
    z = quantile_of_shape(shape, u)
    inner = (u > 0.5 / shape.size) & (u < 1 - 0.5 / shape.size)
    np.testing.assert_allclose(cdf_of_shape(shape, z[inner]), u[inner], atol=1e-12)
    assert quantile_of_shape(shape, [0.0, 1.0]).tolist() == [shape[0], shape[-1]]  # flat beyond
    # between the cells' ends it is the residuals' own quantile function, (k + 1/2) / n
    k = np.arange(shape.size)
    on_grid = np.round((k + 0.5) / shape.size * 8192) / 8192
    inside_grid = np.abs(on_grid - (k + 0.5) / shape.size) < 1e-12
    np.testing.assert_allclose(quantile_of_shape(shape, on_grid[inside_grid]), shape[inside_grid])
    assert cdf_of_shape(shape, np.array([shape[0] - 1, shape[-1] + 1])).tolist() == [0.0, 1.0]
    # the validation's one-day quantiles and PIT read the same function
    levels = np.array([0.01, 0.05, 0.95, 0.99])
    np.testing.assert_allclose(_quantiles(FHS, levels), quantile_of_shape(shape, levels))
    assert _cdf(FHS, float(z[500])) == pytest.approx(u[500], abs=1e-12)


def test_params_check_the_shape_and_round_trip_through_json():
    assert FHS.shape == tuple(sorted(SHAPE))  # stored sorted
    assert FHS.name == "gjr-fhs" and FHS.nu is None
    with pytest.raises(ModelError, match="shape"):
        dataclasses.replace(NORMAL, dist="fhs", shape=SHAPE[: FHS_MIN_RESIDUALS - 1])
    with pytest.raises(ModelError, match="shape"):
        dataclasses.replace(NORMAL, dist="fhs", shape=(*SHAPE[:-1], math.nan))
    with pytest.raises(ModelError, match="must be empty"):
        dataclasses.replace(NORMAL, shape=SHAPE)
    assert VolatilityParams.from_json(FHS.to_json()) == FHS
    old = json.loads(NORMAL.to_json())
    del old["shape"]  # written before the shape existed
    assert VolatilityParams.from_dict(old) == NORMAL


def test_fit_residuals_are_archs_and_the_shape_is_the_last_year_centred():
    prices = reference_market()["close"].iloc[:900]
    fit = fit_volatility(prices, model="garch", dist="normal", allow_nonstationary=True)
    np.testing.assert_allclose(fit.residuals, np.asarray(fit.result.std_resid), rtol=1e-12)
    params = fit.fhs()
    tail = fit.residuals[-FHS_WINDOW:]
    np.testing.assert_allclose(params.shape, np.sort(tail - tail.mean()), atol=1e-12)
    assert dataclasses.replace(params, dist="normal", shape=()) == fit.params
    with pytest.raises(ModelError, match="normal fit"):
        fit_volatility(prices, model="garch", dist="t", allow_nonstationary=True).fhs()
    targeted = fit_targeted(prices, model="garch")
    r = 100.0 * np.diff(np.log(prices.to_numpy()))
    # the targeted fit's residuals: the return less mu over its own conditional s.d.
    p = targeted.params
    _, variances = loglikelihood(r, p.mu, p.alpha, p.gamma, p.beta, float(np.var(r)))
    np.testing.assert_allclose(targeted.residuals, (r - p.mu) / np.sqrt(variances), rtol=1e-9)
    assert candidate("garch-fhs-vt").fit(prices, np.ones(900, np.int64), 250)[0].dist == "fhs"
