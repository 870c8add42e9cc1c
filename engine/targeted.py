"""Variance-targeted GARCH(1,1) and GJR-GARCH(1,1) with normal innovations, fitted by maximum
likelihood.

The long-run variance is not estimated but set to the sample variance of the returns fitted
(Engle and Mezrich 1996): omega = s^2 (1 - persistence), with persistence held at most
``PERSISTENCE_CAP``. A fit of the CEA history without the target sits on persistence 1
(integrated GARCH), whose fan widens by omega a day forever; with it, the variance forecast
reverts to the history's level. arch has no variance targeting, so the likelihood is written
here: the recursion of ``engine.volatility``'s model, started from arch's backcast (the
exponentially weighted mean of the first 75 squared residuals), and checked against arch's own
likelihood at fixed parameters in the tests.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import optimize

from engine._numba import njit
from engine.errors import ModelError, ModelWarning
from engine.volatility import (
    ADVISED_OBSERVATIONS,
    FitDiagnostics,
    Model,
    VolatilityFit,
    VolatilityParams,
    _check_sample,
    daily_log_returns,
)

PERSISTENCE_CAP = 0.99  # alpha + beta + gamma/2 at most: a half-life of 69 sessions or less
BACKCAST_SPAN = 75  # arch's backcast: the first 75 squared residuals, weights 0.94^k


def backcast(residuals: np.ndarray) -> float:
    """arch's starting variance: the 0.94-weighted mean of the first 75 squared residuals."""
    tau = min(BACKCAST_SPAN, residuals.size)
    weights = 0.94 ** np.arange(tau)
    return float(np.sum(residuals[:tau] ** 2 * weights / weights.sum()))


@njit(cache=True)
def variance_nb(residuals, omega, alpha, gamma, beta, start, out):
    """sigma_t^2 of the GJR recursion over ``residuals`` (per cent), sigma_0^2 from ``start``
    (the backcast, which also stands in for e_{-1}^2, as arch does)."""
    variance, shock2, negative = start, start, 0.5
    for t in range(residuals.shape[0]):
        variance = omega + (alpha + gamma * negative) * shock2 + beta * variance
        out[t] = variance
        shock2 = residuals[t] * residuals[t]
        negative = 1.0 if residuals[t] < 0.0 else 0.0


def target_omega(target: float, alpha: float, gamma: float, beta: float) -> float:
    """omega such that the long-run variance is ``target``: target (1 - persistence)."""
    return target * (1.0 - alpha - beta - 0.5 * gamma)


def loglikelihood(
    returns: np.ndarray, mu: float, alpha: float, gamma: float, beta: float, target: float
) -> tuple[float, np.ndarray]:
    """The normal log-likelihood of ``returns`` (per cent) and the conditional variances."""
    residuals = returns - mu
    omega = target_omega(target, alpha, gamma, beta)
    variances = np.empty(residuals.size)
    variance_nb(residuals, omega, alpha, gamma, beta, backcast(returns - returns.mean()),
                variances)  # fmt: skip
    terms = np.log(2 * math.pi) + np.log(variances) + residuals**2 / variances
    return float(-0.5 * terms.sum()), variances


def fit_targeted(
    prices: pd.Series,
    *,
    model: Model = "garch",
    session_gaps: np.ndarray | None = None,
    min_observations: int = ADVISED_OBSERVATIONS,
) -> VolatilityFit:
    """Fit a variance-targeted ``model`` with normal innovations to the daily log returns of
    ``prices`` (see the module). Raises ``ModelError`` as ``fit_volatility`` does for a sample
    no GARCH fit should see, or when the optimiser does not converge."""
    returns = daily_log_returns(prices, session_gaps)
    notes = _check_sample(returns, min_observations)
    r = returns.to_numpy()
    target = float(np.var(r))
    gjr = model == "gjr"
    names = ("mu", "alpha", "gamma", "beta") if gjr else ("mu", "alpha", "beta")

    def unpack(x: np.ndarray) -> tuple[float, float, float, float]:
        return (x[0], x[1], x[2], x[3]) if gjr else (x[0], x[1], 0.0, x[2])

    def objective(x: np.ndarray) -> float:
        value, _ = loglikelihood(r, *unpack(x), target)
        return -value / r.size if math.isfinite(value) else 1e10

    persistence = [0.0, 1.0, 0.5, 1.0] if gjr else [0.0, 1.0, 1.0]
    start = [r.mean(), 0.05, 0.05, 0.85] if gjr else [r.mean(), 0.08, 0.85]
    bounds = [(-10 * abs(r.mean()) - 1.0, 10 * abs(r.mean()) + 1.0), (0.0, 1.0)]
    bounds += [(-1.0, 2.0), (0.0, 1.0)] if gjr else [(0.0, 1.0)]
    constraints = [{"type": "ineq", "fun": lambda x: PERSISTENCE_CAP - np.dot(persistence, x)}]
    if gjr:
        constraints.append({"type": "ineq", "fun": lambda x: x[1] + x[2]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # trial points on the bounds
        solved = optimize.minimize(objective, start, method="SLSQP", bounds=bounds,
                                   constraints=constraints,
                                   options={"ftol": 1e-10, "maxiter": 500})  # fmt: skip
    if not solved.success:
        raise ModelError(f"variance-targeted {model}-normal did not converge: {solved.message}")
    mu, alpha, gamma, beta = unpack(solved.x)
    loglik, variances = loglikelihood(r, mu, alpha, gamma, beta, target)
    k = len(names)
    params = VolatilityParams(
        model=model, dist="normal", mu=mu, omega=target_omega(target, alpha, gamma, beta),
        alpha=alpha, gamma=gamma, beta=beta, nu=None, last_variance=float(variances[-1]),
        last_residual=float(r[-1] - mu), last_price=float(prices.iloc[-1]),
        last_date=prices.index[-1].date().isoformat(), unchanged_prob=float(np.mean(r == 0)),
    )  # fmt: skip
    bic = -2 * loglik + k * math.log(r.size)
    diagnostics = FitDiagnostics(
        n_obs=r.size, loglikelihood=loglik, aic=-2 * loglik + 2 * k, bic=bic,
        persistence=params.persistence, converged=True,
        std_errors=dict.fromkeys(names, math.nan),
        unchanged_share=params.unchanged_prob, candidates=((f"{model}-normal-vt", bic),),
    )  # fmt: skip
    for note in notes:
        warnings.warn(note, ModelWarning, stacklevel=2)
    return VolatilityFit(params, diagnostics, None, (r - mu) / np.sqrt(variances))
