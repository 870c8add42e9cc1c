"""An AR(1) mean, r_t = mu + ar r_{t-1} + e_t: the fit against arch's ``AR`` mean, the kernel
against a NumPy recursion on the same draws, the validation's filter and ``advanced`` against
arch's conditional mean and variance, and the validation's choice on data that have one."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from engine.errors import ModelError
from engine.random_nb import (
    fill_from_table_nb,
    fill_u64_nb,
    quantile_of_shape,
    table_uniform,
    unit,
)
from engine.simulate import SimulationSpec, innovations_table, simulate_closes, simulate_log_closes
from engine.tail_memory import ORDINARY
from engine.targeted import fit_targeted
from engine.validation import ValidationSpec, candidate, validate
from engine.validation.rolling import VAR_QUANTILES, _Filter
from engine.volatility import VolatilityParams, daily_log_returns, fit_volatility

AR = -0.2  # as strong as a thin market's VWAP closes (the CEA's lag-1 autocorrelation is -0.13)
TRUE = VolatilityParams(
    model="garch", dist="normal", mu=0.02, omega=0.05, alpha=0.08, gamma=0.0, beta=0.87,
    nu=None, last_variance=1.2, last_residual=0.0, last_price=70.0, last_date="2015-12-31",
    unchanged_prob=0.0, ar=AR,
)  # fmt: skip


@pytest.fixture(scope="module")
def prices() -> pd.Series:
    closes = simulate_closes(TRUE, SimulationSpec(paths=1, days=4000, seed=3))[0]
    return pd.Series(closes, index=pd.bdate_range("2016-01-01", periods=4000), name="close")


def _arch(returns: pd.Series):
    return arch_model(returns, mean="AR", lags=1, vol="GARCH", p=1, q=1, rescale=False)


def test_fit_equals_archs_ar_mean_and_recovers_the_weight(prices):
    """4,000 sessions drawn with ar -0.2: the fit is arch's to 1e-9 and finds ar within 0.03
    (two standard errors); the state is arch's last residual and the last return."""
    fit = fit_volatility(prices, model="garch", dist="normal", mean="ar")
    returns = daily_log_returns(prices)
    ref = _arch(returns).fit(disp="off")
    p = fit.params
    ours = [p.mu, p.ar, p.omega, p.alpha, p.beta]
    np.testing.assert_allclose(ours, ref.params.to_numpy(), rtol=1e-9, atol=1e-12)
    assert abs(p.ar - AR) < 0.03
    assert p.last_residual == pytest.approx(float(ref.resid.iloc[-1]), abs=1e-12)
    assert p.last_return == returns.iloc[-1]
    assert p.last_variance == pytest.approx(float(ref.conditional_volatility.iloc[-1]) ** 2)


_RNG = np.random.default_rng(11)
_DRAWS = _RNG.standard_t(4, 250)
SHAPE = tuple((_DRAWS - _DRAWS.mean()) / _DRAWS.std())


@pytest.mark.parametrize("thin, shape", [(0.0, ()), (0.2, SHAPE)], ids=["normal", "fhs-thin"])
def test_kernel_equals_a_numpy_recursion_on_the_same_draws(thin, shape):
    """Each day's mean reads yesterday's published move: held in the band, 0 on a thin day
    (whose residual is minus the mean); the variance is fed by the shock (for ``fhs`` the
    normal score of the draw, the return read from the shape): the kernel to 1e-12 in log
    price, with the band binding and thin days on some days."""
    dist = "fhs" if shape else "normal"
    params = dataclasses.replace(
        TRUE, dist=dist, shape=shape, last_variance=9.0, last_residual=2.0, last_return=3.0
    )
    spec = SimulationSpec(paths=24, days=60, seed=5, band=0.04, unchanged_prob=thin)
    logs = simulate_log_closes(params, spec)
    down, up = math.log(0.96), math.log(1.04)
    draws = 2 if thin else 1  # a thin day's draw follows the day's innovation in the stream
    clipped = quiet_days = 0
    for i in range(spec.paths):
        z = np.empty(spec.days * draws)
        bits = np.empty(spec.days * draws, dtype=np.uint64)
        fill_from_table_nb(z, spec.seed, i, innovations_table(params))
        fill_u64_nb(bits, spec.seed, i)
        z, thin_bits, bits = z[::draws], bits[1::draws], bits[::draws]
        day = z
        if shape:
            day = quantile_of_shape(np.asarray(params.shape), [table_uniform(b) for b in bits])
        variance, close = params.next_variance / 1e4, math.log(params.last_price)
        last = params.last_return / 100
        for t in range(spec.days):
            sd = math.sqrt(variance)
            mean = params.mu / 100 + params.ar * last
            quiet = bool(thin) and unit(thin_bits[t]) < thin
            move = 0.0 if quiet else min(max(mean + sd * day[t], down), up)
            clipped += not quiet and move != mean + sd * day[t]
            quiet_days += quiet
            close, last = close + move, move
            assert logs[i, t] == pytest.approx(close, abs=1e-12)
            shock = -mean if quiet else sd * z[t]
            variance = params.omega / 1e4 + params.alpha * shock**2 + params.beta * variance
    assert clipped >= 5
    assert quiet_days >= (100 if thin else 0)


def test_simulated_returns_have_the_autocorrelation_of_the_weight():
    """20,000 simulated sessions without a band: lag-1 autocorrelation -0.2 within 0.02 (its
    standard error is 0.007)."""
    logs = simulate_log_closes(TRUE, SimulationSpec(paths=1, days=20_000, seed=8))[0]
    returns = np.diff(logs)
    assert np.corrcoef(returns[1:], returns[:-1])[0, 1] == pytest.approx(AR, abs=0.02)


def test_filter_and_advanced_follow_archs_conditional_mean_and_variance(prices):
    """Fitted on the first 3,000 closes and run forward over the next 1,000 with the
    parameters fixed: each day's VaR quantile is arch's conditional mean plus its volatility
    times the normal quantile, and ``advanced`` ends in arch's state (arch's backcast, from the
    longer sample, is forgotten after 3,000 sessions: 0.95^3000)."""
    params = fit_volatility(prices.iloc[:3000], model="garch", dist="normal", mean="ar").params
    returns = daily_log_returns(prices)
    fixed = _arch(returns).fix([params.mu, params.ar, params.omega, params.alpha, params.beta])
    later = returns.iloc[2999:]
    expected_mean = (later - fixed.resid.iloc[2999:]).to_numpy()
    expected_sd = fixed.conditional_volatility.iloc[2999:].to_numpy()
    model = _Filter(params, ValidationSpec())
    z05 = model.z[ORDINARY][list(VAR_QUANTILES).index(0.05)]
    for t, r in enumerate(later.to_numpy()):
        q05 = model.forecast(previous=1.0)[1]
        assert q05 == pytest.approx(expected_mean[t] + expected_sd[t] * z05, abs=1e-9)
        model.observe(r)
    moved = params.advanced(prices.iloc[3000:].to_numpy(), prices.index[-1].date().isoformat())
    assert moved.last_residual == pytest.approx(float(fixed.resid.iloc[-1]), abs=1e-9)
    assert moved.last_return == pytest.approx(float(returns.iloc[-1]), abs=1e-12)
    assert moved.last_variance == pytest.approx(float(expected_sd[-1]) ** 2, rel=1e-9)
    assert model.day == pytest.approx(moved.state)


def test_variance_targeting_recovers_the_weight(prices):
    fit = fit_targeted(prices, model="garch", mean="ar")
    assert abs(fit.params.ar - AR) < 0.03 and fit.params.name == "garch-normal-ar"
    assert fit.diagnostics.candidates[0][0] == "garch-normal-vt-ar"


def test_the_weight_round_trips_and_is_checked():
    assert VolatilityParams.from_json(TRUE.to_json()) == TRUE
    old = {k: v for k, v in TRUE.to_dict().items() if k not in ("ar", "last_return")}
    assert VolatilityParams.from_dict(old).ar == 0.0  # written before the AR mean existed
    with pytest.raises(ModelError, match=r"VolatilityParams.ar is 1.0: must lie in \(-1, 1\)"):
        dataclasses.replace(TRUE, ar=1.0)
    with pytest.raises(ModelError, match="mean 'ma' is unknown"):
        fit_volatility(pd.Series(dtype=float), mean="ma")  # type: ignore[arg-type]


def test_the_validation_chooses_the_ar_mean_where_the_data_have_one(prices):
    """On the 4,000 sessions drawn with ar -0.2, the AR(1) candidates score a lower CRPS than
    the same models with a constant mean, and one of them is chosen."""
    spec = ValidationSpec(horizons=(1, 5, 20), paths=1000, seed=1, min_observations=500,
                          max_origins=30)  # fmt: skip
    names = ("garch-fhs", "garch-fhs-ar", "garch-fhs-vt", "garch-fhs-vt-ar")
    result = validate(prices, np.ones(len(prices)), spec, tuple(candidate(n) for n in names))
    score = result.summary["score"]
    assert score["garch-fhs-ar"] < score["garch-fhs"]
    assert score["garch-fhs-vt-ar"] < score["garch-fhs-vt"]
    assert result.chosen.endswith("-ar")
