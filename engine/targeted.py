"""Variance-targeted GARCH(1,1) and GJR-GARCH(1,1) with normal innovations, fitted by maximum
likelihood.

The long-run variance is not estimated but set to the sample variance of the returns fitted
(Engle and Mezrich 1996): omega = s^2 (1 - persistence), with persistence held at most
``PERSISTENCE_CAP``. A fit of the CEA history without the target sits on persistence 1
(integrated GARCH), whose fan widens by omega a day forever; with it, the variance forecast
reverts to the history's level. arch has no variance targeting, so the likelihood is written
here: the recursion of ``engine.volatility``'s model, started from arch's backcast (the
exponentially weighted mean of the first 75 squared residuals of the mean's least-squares fit),
and checked against arch's own likelihood at fixed parameters in the tests. The mean is a
constant or AR(1) on yesterday's return (conditioned on the first return, as arch's ``AR``);
the target is then the variance of the least-squares AR(1) residuals.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import optimize

from engine._numba import njit
from engine.errors import ModelError, ModelWarning
from engine.samples import checked_sample
from engine.volatility import (
    ADVISED_OBSERVATIONS,
    FitDiagnostics,
    Mean,
    Model,
    VolatilityFit,
    VolatilityParams,
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


def mean_regression(returns: np.ndarray, mean: Mean) -> tuple[np.ndarray, np.ndarray]:
    """The returns the mean explains and its regressors: a constant, and for ``"ar"``
    yesterday's return (the first return is then only a regressor, as in arch)."""
    if mean == "ar":
        return returns[1:], np.column_stack([np.ones(returns.size - 1), returns[:-1]])
    return returns, np.ones((returns.size, 1))


def least_squares_residuals(returns: np.ndarray, mean: Mean) -> np.ndarray:
    """The residuals of the mean fitted by least squares: arch's starting values, whose
    residuals give its backcast (and here the variance target)."""
    if mean == "constant":
        return returns - returns.mean()
    y, x = mean_regression(returns, mean)
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    return y - x @ coefficients


def mean_residuals(returns: np.ndarray, mu: float, ar: float | None) -> np.ndarray:
    """The residuals of the mean: returns - mu, or with ``ar`` an AR(1) mean's, the first
    return conditioned on."""
    y, x = mean_regression(returns, "constant" if ar is None else "ar")
    return y - x @ np.array([mu] if ar is None else [mu, ar])


def loglikelihood(
    returns: np.ndarray, mu: float, alpha: float, gamma: float, beta: float, target: float,
    ar: float | None = None, start: float | None = None,
) -> tuple[float, np.ndarray]:  # fmt: skip
    """The normal log-likelihood of ``returns`` (per cent) and the conditional variances; with
    ``ar`` an AR(1) mean, the first return conditioned on. ``start``: the backcast, computed
    from the least-squares residuals when not given (a fit passes it once for all trials)."""
    residuals = mean_residuals(returns, mu, ar)
    if start is None:
        start = backcast(least_squares_residuals(returns, "constant" if ar is None else "ar"))
    omega = target_omega(target, alpha, gamma, beta)
    variances = np.empty(residuals.size)
    variance_nb(residuals, omega, alpha, gamma, beta, start, variances)
    terms = np.log(2 * math.pi) + np.log(variances) + residuals**2 / variances
    return float(-0.5 * terms.sum()), variances


def fit_targeted(
    prices: pd.Series,
    *,
    model: Model = "garch",
    mean: Mean = "constant",
    session_gaps: np.ndarray | None = None,
    min_observations: int = ADVISED_OBSERVATIONS,
) -> VolatilityFit:
    """Fit a variance-targeted ``model`` with normal innovations and a ``mean`` (constant, or
    AR(1) on yesterday's return) to the daily log returns of ``prices`` (see the module).
    Raises ``ModelError`` as ``fit_volatility`` does for a sample no GARCH fit should see, or
    when the optimiser does not converge."""
    returns = daily_log_returns(prices, session_gaps)
    notes = checked_sample(returns, min_observations)
    r = returns.to_numpy()
    gjr, ar = model == "gjr", mean == "ar"
    start_residuals = least_squares_residuals(r, mean)
    start = backcast(start_residuals)
    target = float(np.var(start_residuals if ar else r))
    names = ("mu", *(("ar",) if ar else ()), "alpha", *(("gamma",) if gjr else ()), "beta")
    guess = {"mu": r.mean(), "ar": 0.0, "alpha": 0.05 if gjr else 0.08, "gamma": 0.05,
             "beta": 0.85}  # fmt: skip
    drift = 10 * abs(r.mean()) + 1.0
    limits = {"mu": (-drift, drift), "ar": (-0.99, 0.99), "alpha": (0.0, 1.0),
              "gamma": (-1.0, 2.0), "beta": (0.0, 1.0)}  # fmt: skip
    weight = {"alpha": 1.0, "gamma": 0.5, "beta": 1.0}  # in the persistence

    def unpack(x: np.ndarray) -> tuple[float, float, float, float, float | None]:
        value = dict(zip(names, x, strict=True))
        return value["mu"], value["alpha"], value.get("gamma", 0.0), value["beta"], value.get("ar")

    def objective(x: np.ndarray) -> float:
        mu, alpha, gamma, beta, phi = unpack(x)
        value, _ = loglikelihood(r, mu, alpha, gamma, beta, target, ar=phi, start=start)
        return -value / r.size if math.isfinite(value) else 1e10

    persistence = np.array([weight.get(name, 0.0) for name in names])
    constraints = [{"type": "ineq", "fun": lambda x: PERSISTENCE_CAP - np.dot(persistence, x)}]
    if gjr:
        a, g = names.index("alpha"), names.index("gamma")
        constraints.append({"type": "ineq", "fun": lambda x: x[a] + x[g]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # trial points on the bounds
        solved = optimize.minimize(objective, [guess[n] for n in names], method="SLSQP",
                                   bounds=[limits[n] for n in names], constraints=constraints,
                                   options={"ftol": 1e-10, "maxiter": 500})  # fmt: skip
    label = f"{model}-normal-vt" + ("-ar" if ar else "")
    if not solved.success:
        raise ModelError(f"variance-targeted {label} did not converge: {solved.message}")
    mu, alpha, gamma, beta, phi = unpack(solved.x)
    loglik, variances = loglikelihood(r, mu, alpha, gamma, beta, target, ar=phi, start=start)
    residuals = mean_residuals(r, mu, phi)
    params = VolatilityParams(
        model=model, dist="normal", mu=mu, omega=target_omega(target, alpha, gamma, beta),
        alpha=alpha, gamma=gamma, beta=beta, nu=None, last_variance=float(variances[-1]),
        last_residual=float(residuals[-1]), last_price=float(prices.iloc[-1]),
        last_date=prices.index[-1].date().isoformat(), unchanged_prob=float(np.mean(r == 0)),
        ar=phi or 0.0, last_return=float(r[-1]),
    )  # fmt: skip
    k, n = len(names), residuals.size
    bic = -2 * loglik + k * math.log(n)
    diagnostics = FitDiagnostics(
        n_obs=n, loglikelihood=loglik, aic=-2 * loglik + 2 * k, bic=bic,
        persistence=params.persistence, converged=True,
        std_errors=dict.fromkeys(names, math.nan),
        unchanged_share=params.unchanged_prob, candidates=((label, bic),),
    )  # fmt: skip
    for note in notes:
        warnings.warn(note, ModelWarning, stacklevel=2)
    return VolatilityFit(params, diagnostics, None, residuals / np.sqrt(variances))
