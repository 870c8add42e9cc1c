"""Variance-targeted GARCH: its likelihood is arch's at fixed parameters, its long run is the
sample variance, and it recovers the parameters of data it generated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from engine.errors import ModelError
from engine.simulate import SimulationSpec, simulate_closes
from engine.targeted import PERSISTENCE_CAP, fit_targeted, loglikelihood
from engine.volatility import VolatilityParams

TRUE = VolatilityParams(
    model="gjr", dist="normal", mu=0.02, omega=0.05, alpha=0.05, gamma=0.06, beta=0.87,
    nu=None, last_variance=1.2, last_residual=0.0, last_price=70.0, last_date="2015-12-31",
    unchanged_prob=0.0,
)  # fmt: skip


@pytest.fixture(scope="module")
def prices() -> pd.Series:
    closes = simulate_closes(TRUE, SimulationSpec(paths=1, days=4000, seed=17))[0]
    return pd.Series(closes, index=pd.bdate_range("2016-01-01", periods=4000))


@pytest.mark.parametrize("mean", ["constant", "ar"])
@pytest.mark.parametrize("model", ["garch", "gjr"])
def test_likelihood_equals_archs_at_the_fitted_parameters(prices, model, mean):
    """With a constant mean or an AR(1) one (the first return conditioned on, arch's backcast
    from the least-squares residuals): arch's likelihood at our parameters, to 1e-12."""
    fit = fit_targeted(prices, model=model, mean=mean)
    p = fit.params
    returns = pd.Series(100 * np.diff(np.log(prices.to_numpy())), name="return_pct")
    o = 1 if model == "gjr" else 0
    means = {"mean": "AR", "lags": 1} if mean == "ar" else {"mean": "Constant"}
    spec = arch_model(returns, **means, vol="GARCH", p=1, o=o, q=1, rescale=False)
    values = [p.mu, *([p.ar] if mean == "ar" else []), p.omega, p.alpha,
              *([p.gamma] if o else []), p.beta]  # fmt: skip
    fixed = spec.fix(values)
    assert fit.diagnostics.loglikelihood == pytest.approx(fixed.loglikelihood, rel=1e-12)
    assert p.last_residual == pytest.approx(float(fixed.resid.iloc[-1]), abs=1e-12)
    if mean == "constant":
        own, _ = loglikelihood(returns.to_numpy(), p.mu, p.alpha, p.gamma, p.beta,
                               float(np.var(returns)))  # fmt: skip
        assert own == pytest.approx(fit.diagnostics.loglikelihood, rel=1e-12)
        assert p.ar == 0.0
    else:
        assert abs(p.ar) < 0.05  # the data have no AR term


def test_long_run_variance_is_the_sample_variance_and_parameters_are_recovered(prices):
    """4,000 days of a GJR-normal with persistence 0.95: alpha 0.05, gamma 0.06, beta 0.87
    come back within a few standard errors (here 0.01-0.03)."""
    fit = fit_targeted(prices, model="gjr")
    p = fit.params
    returns = 100 * np.diff(np.log(prices.to_numpy()))
    assert p.unconditional_variance == pytest.approx(np.var(returns), rel=1e-9)
    assert p.persistence <= PERSISTENCE_CAP + 1e-9
    assert abs(p.alpha - 0.05) < 0.03 and abs(p.gamma - 0.06) < 0.05 and abs(p.beta - 0.87) < 0.05
    assert fit.diagnostics.candidates[0][0] == "gjr-normal-vt"


def test_short_or_flat_samples_are_refused():
    flat = pd.Series(50.0, index=pd.bdate_range("2020-01-01", periods=300))
    with pytest.raises(ModelError, match="flat"):
        fit_targeted(flat, min_observations=100)
    with pytest.raises(ModelError, match="at least 100"):
        fit_targeted(flat.iloc[:50])
