"""Volatility calibration: the fit is arch's own fit of the same model to the same returns, the
state the simulator starts from is arch's 1-step forecast, and every guard names what is wrong."""

from __future__ import annotations

import dataclasses
import json
import warnings

import arch
import numpy as np
import pandas as pd
import pytest

import market_data as md
from engine import volatility
from engine.errors import ModelError, ModelWarning
from engine.volatility import (
    FitDiagnostics,
    VolatilityParams,
    daily_log_returns,
    fit_volatility,
)

XSHG = md.calendar_for("XSHG")


def arch_fit(returns: pd.Series, model: str, dist: str):
    """The outside reference: arch fitted directly, as its documentation shows."""
    spec = arch.arch_model(
        returns,
        mean="Constant",
        vol="GARCH",
        p=1,
        o=int(model == "gjr"),
        q=1,
        dist=dist,
        rescale=False,
    )
    return spec.fit(disp="off")


def pandas_returns(close: pd.Series, gaps: np.ndarray | None = None) -> pd.Series:
    """100 x log(P_t / P_{t-1}) the pandas way, without the rows after a gap."""
    returns = 100 * np.log(close / close.shift(1))
    if gaps is not None:
        returns = returns[gaps <= 1]
    return returns.iloc[1:] if gaps is None else returns.dropna()


def assert_matches_arch(fit: volatility.VolatilityFit, returns: pd.Series) -> None:
    """Parameters, last state and next variance equal arch's fit of the same model."""
    p = fit.params
    ref = arch_fit(returns, p.model, p.dist)
    names = {"alpha[1]": "alpha", "gamma[1]": "gamma", "beta[1]": "beta"}
    for key, value in ref.params.items():
        assert getattr(p, names.get(key, key)) == pytest.approx(value, rel=1e-6, abs=1e-12), key
    assert p.last_variance == pytest.approx(ref.conditional_volatility.iloc[-1] ** 2, rel=1e-12)
    assert p.last_residual == pytest.approx(ref.resid.iloc[-1], rel=1e-12)
    assert p.next_variance == pytest.approx(ref.forecast(horizon=1).variance.iloc[-1, 0], 1e-10)
    assert fit.diagnostics.bic == pytest.approx(ref.bic, rel=1e-9)
    assert fit.diagnostics.n_obs == ref.nobs == len(returns)


def garch_returns(n: int, seed: int, *, gamma: float = 0.0, t_dof: float | None = None):
    """Returns (per cent) from GJR-GARCH(1,1): omega 0.1, alpha 0.1 (0.05 with gamma), beta 0.85."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 0.1, 0.05 if gamma else 0.1, 0.85
    z = rng.standard_normal(n + 200)
    if t_dof is not None:
        z = rng.standard_t(t_dof, n + 200) / np.sqrt(t_dof / (t_dof - 2))
    out, var = np.empty(n + 200), omega / (1 - alpha - beta - gamma / 2)
    for t in range(n + 200):
        out[t] = np.sqrt(var) * z[t]
        var = omega + (alpha + gamma * (out[t] < 0)) * out[t] ** 2 + beta * var
    return out[200:]


def prices_from(returns: np.ndarray, start: float = 50.0) -> pd.Series:
    """Closes in CNY/t on business days whose log returns are ``returns`` (per cent)."""
    path = start * np.exp(np.concatenate([[0.0], np.cumsum(returns) / 100]))
    return pd.Series(path, index=pd.bdate_range("2021-07-16", periods=len(path)), name="close")


PARAMS = VolatilityParams(
    model="gjr",
    dist="t",
    mu=0.02,
    omega=0.1,
    alpha=0.08,
    gamma=0.06,
    beta=0.85,
    nu=5.0,
    last_variance=2.5,
    last_residual=-1.5,
    last_price=71.3,
    last_date="2025-05-07",
    unchanged_prob=0.2,
)


# --- the reference market (always there) -------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> pd.Series:
    return md.reference_market()["close"]


@pytest.fixture(scope="module")
def reference_fit(reference):
    return fit_volatility(reference)


def test_reference_market_picks_the_stationary_garch_normal_and_equals_arch(
    reference, reference_fit
):
    fit, diag = reference_fit, reference_fit.diagnostics
    assert (fit.params.model, fit.params.dist) == ("garch", "normal")
    assert_matches_arch(fit, pandas_returns(reference))
    # 1,199 closes, 1,198 returns, 22.9% of them unchanged (no thin-trading warning: 0.229 < 0.35)
    assert diag.n_obs == 1198 and diag.unchanged_share == pytest.approx(0.2287, abs=1e-4)
    assert diag.bic == pytest.approx(4429.16, abs=0.01)
    assert diag.persistence == pytest.approx(0.9164, abs=1e-4)
    assert fit.params.unconditional_variance == pytest.approx(0.2143 / (1 - 0.9164), rel=1e-3)
    assert (fit.params.last_price, fit.params.last_date) == (89.22, "2026-06-30")
    # the Student-t candidates have lower BIC but sit on arch's bound alpha + beta = 1 (nu ~2.2):
    # they are tried, recorded, and set aside
    assert [name for name, _ in diag.candidates] == [
        "garch-t",
        "gjr-t",
        "garch-normal",
        "gjr-normal",
    ]
    assert [name for name, _ in diag.rejected] == ["garch-t", "gjr-t"]
    assert all("non-stationary (persistence 1.000000)" in why for _, why in diag.rejected)
    assert set(diag.std_errors) == {"mu", "omega", "alpha", "beta"}
    assert diag.converged


def test_candidates_are_sorted_by_bic_and_the_best_usable_one_wins(reference_fit):
    diag = reference_fit.diagnostics
    bics = [bic for _, bic in diag.candidates]
    assert bics == sorted(bics) and len(bics) == 4
    usable = [(bic, name) for name, bic in diag.candidates if name not in dict(diag.rejected)]
    assert min(usable) == (diag.bic, reference_fit.params.name)


def test_each_recorded_bic_is_archs(reference):
    returns = pandas_returns(reference)
    for name, bic in fit_volatility(reference).diagnostics.candidates:
        model, dist = name.split("-")
        assert bic == pytest.approx(arch_fit(returns, model, dist).bic, rel=1e-9), name


def test_a_simulated_gjr_t_series_is_recognised():
    prices = prices_from(garch_returns(1500, seed=7, gamma=0.12, t_dof=5.0))
    fit = fit_volatility(prices)
    assert fit.params.name == "gjr-t" and fit.diagnostics.candidates[0][0] == "gjr-t"
    assert fit.diagnostics.rejected == ()
    assert fit.params.gamma == pytest.approx(0.12, abs=0.08)
    assert fit.params.nu == pytest.approx(5.0, abs=2.0)
    assert_matches_arch(fit, pandas_returns(prices))


def test_an_integrated_fit_is_refused_unless_allowed(reference):
    with pytest.raises(ModelError, match=r"garch-t non-stationary \(persistence 1\.000000\)"):
        fit_volatility(reference, model="garch", dist="t")
    fit = fit_volatility(reference, model="garch", dist="t", allow_nonstationary=True)
    assert fit.params.nu == pytest.approx(2.169, abs=1e-3)
    assert fit.params.persistence == pytest.approx(1.0, abs=1e-6)
    assert_matches_arch(fit, pandas_returns(reference))
    with pytest.raises(ModelError, match="unconditional variance is infinite"):
        _ = fit.params.unconditional_variance


# --- the real CEA history -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def wind(shared_data) -> pd.DataFrame:
    return md.load(shared_data / "cea_wind_export_raw.csv", market="cea")


@pytest.fixture(scope="module")
def bulletins(shared_data) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", md.DataWarning)
        return md.load(shared_data / "cea_seee_bulletins.csv", market="cea")


@pytest.mark.shared_data
def test_real_cea_is_integrated_in_every_candidate(wind):
    gaps = XSHG.session_gaps(wind.index)
    with pytest.raises(ModelError) as caught:
        fit_volatility(wind["close"], session_gaps=gaps)
    message = str(caught.value)
    assert "of the 915 daily returns to 2025-05-07" in message
    for name in ("garch-normal", "garch-t", "gjr-normal", "gjr-t"):
        assert f"{name} non-stationary (persistence 1.000000)" in message
    assert "pass allow_nonstationary=True" in message


@pytest.mark.shared_data
def test_real_cea_wind_fit_equals_arch(wind):
    gaps = XSHG.session_gaps(wind.index)
    fit = fit_volatility(wind["close"], session_gaps=gaps, allow_nonstationary=True)
    p, diag = fit.params, fit.diagnostics
    # 918 days, two returns across a missing session dropped: 915 returns, 22.4% unchanged
    assert diag.n_obs == 915 and p.unchanged_prob == pytest.approx(0.2240, abs=1e-4)
    assert p.name == "garch-t" and diag.bic == pytest.approx(2979.62, abs=0.01)
    assert (p.alpha, p.beta, p.nu) == pytest.approx((0.2621, 0.7379, 2.840), abs=1e-3)
    assert (p.last_price, p.last_date) == (71.3, "2025-05-07")
    assert_matches_arch(fit, pandas_returns(wind["close"], gaps))


@pytest.mark.shared_data
def test_real_cea_bulletins_drop_the_january_april_gaps_and_equal_arch(bulletins):
    gaps = XSHG.session_gaps(bulletins.index)
    assert (gaps > 1).sum() == 4  # the holes of 2022, 2023, 2024 and 2025
    returns = daily_log_returns(bulletins["close"], gaps)
    assert len(returns) == 858
    assert not returns.index.isin(bulletins.index[gaps > 1]).any()
    fit = fit_volatility(
        bulletins["close"], model="gjr", dist="t", session_gaps=gaps, allow_nonstationary=True
    )
    assert fit.diagnostics.n_obs == 858 and fit.diagnostics.bic == pytest.approx(2918.76, 0.01)
    assert fit.params.gamma == pytest.approx(0.0213, abs=1e-3)
    # 0.9999999995: below 1 by float noise only, so still counted as on the bound
    assert not fit.params.is_stationary
    assert_matches_arch(fit, pandas_returns(bulletins["close"], gaps))


# --- parameters: formulas, validation, JSON ---------------------------------------------------


def test_next_variance_is_the_gjr_recursion_with_the_negative_shock_term():
    # 0.1 + (0.08 + 0.06) x 1.5^2 + 0.85 x 2.5 = 2.54
    assert PARAMS.next_variance == pytest.approx(2.54, rel=1e-12)
    up = dataclasses.replace(PARAMS, last_residual=1.5)  # no asymmetry term: 2.405
    assert up.next_variance == pytest.approx(2.405, rel=1e-12)
    assert PARAMS.persistence == pytest.approx(0.96) and PARAMS.is_stationary
    assert PARAMS.unconditional_variance == pytest.approx(0.1 / 0.04)


def test_persistence_of_one_builds_but_has_no_unconditional_variance():
    integrated = dataclasses.replace(PARAMS, model="garch", gamma=0.0, alpha=0.15, beta=0.85)
    assert integrated.persistence == 1.0 and not integrated.is_stationary
    with pytest.raises(ModelError, match=r"persistence 1\.000000 >= 1.*start a simulation"):
        _ = integrated.unconditional_variance


def test_json_round_trip_gives_an_equal_object():
    text = PARAMS.to_json()
    assert json.loads(text)["version"] == 1
    assert VolatilityParams.from_json(text) == PARAMS
    normal = dataclasses.replace(PARAMS, dist="normal", nu=None)
    assert VolatilityParams.from_dict(normal.to_dict()) == normal


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "egarch"}, r"model is 'egarch': must be one of garch, gjr"),
        ({"dist": "skewt"}, r"dist is 'skewt': must be one of normal, t"),
        ({"omega": -0.1}, r"omega is -0\.1: must be positive"),
        ({"omega": "0.1"}, r"omega is '0\.1': must be a number"),
        ({"alpha": 1.5}, r"alpha is 1\.5: must lie in \[0, 1\]"),
        ({"beta": -0.2}, r"beta is -0\.2: must lie in \[0, 1\]"),
        ({"gamma": -0.1}, r"gamma is -0\.1: alpha \+ gamma must be >= 0"),
        ({"model": "garch"}, r"gamma is 0\.06: must be 0\.0 for model 'garch'"),
        ({"nu": 2.0}, r"nu is 2\.0: must exceed 2"),
        ({"nu": None}, r"nu is None: must be a number"),
        ({"dist": "normal"}, r"nu is 5\.0: must be None for dist 'normal'"),
        ({"last_variance": 0.0}, r"last_variance is 0\.0: must be positive"),
        ({"last_price": float("nan")}, r"last_price is nan: must be finite"),
        ({"last_date": "yesterday"}, r"last_date is 'yesterday': must be an ISO date"),
        ({"last_date": "20250507"}, r"last_date is '20250507': must be an ISO date, YYYY-MM-DD"),
        ({"unchanged_prob": 1.0}, r"unchanged_prob is 1\.0: must lie in \[0, 1\)"),
        ({"version": 2}, r"version is 2: must be 1"),
        ({"tau": 1.0}, r"unknown fields \['tau'\]"),
    ],
)
def test_from_json_names_the_bad_field(change, message):
    data = PARAMS.to_dict() | change
    with pytest.raises(ModelError, match=message):
        VolatilityParams.from_json(json.dumps(data))


def test_construction_checks_and_malformed_text():
    with pytest.raises(ModelError, match=r"missing fields \['beta'\]"):
        VolatilityParams.from_dict({k: v for k, v in PARAMS.to_dict().items() if k != "beta"})
    with pytest.raises(ModelError, match="not valid JSON"):
        VolatilityParams.from_json("{omega: 1")
    with pytest.raises(ModelError, match=r"VolatilityParams\.alpha is -0\.5"):
        dataclasses.replace(PARAMS, alpha=-0.5)
    assert isinstance(dataclasses.replace(PARAMS, mu=np.float64(0.5)).mu, float)


# --- guards -----------------------------------------------------------------------------------


def test_too_few_returns_need_an_explicit_lower_minimum():
    prices = prices_from(garch_returns(300, seed=1))
    with pytest.raises(
        ModelError,
        match=r"300 daily returns; arch's advice is 500 or more.*"
        r"pass min_observations=300 to fit anyway",
    ):
        fit_volatility(prices, model="garch", dist="normal")
    fit = fit_volatility(prices, model="garch", dist="normal", min_observations=250)
    assert fit.diagnostics.n_obs == 300 and fit.params.is_stationary
    with pytest.raises(ModelError, match="80 daily returns: a GARCH fit needs at least 100"):
        fit_volatility(prices.iloc[:81], min_observations=50)


def test_flat_series_are_refused():
    dates = pd.bdate_range("2022-01-03", periods=600)
    with pytest.raises(ModelError, match="flat: 0 distinct non-zero daily returns in 599"):
        fit_volatility(pd.Series(58.0, index=dates))
    two_prices = pd.Series(np.where(np.arange(600) % 2, 58.0, 58.01), index=dates)
    with pytest.raises(ModelError, match="flat: 2 distinct non-zero daily returns"):
        fit_volatility(two_prices)


def zero_some(returns: np.ndarray, share: float, seed: int = 3) -> np.ndarray:
    thinned = returns.copy()
    quiet = np.random.default_rng(seed).choice(len(returns), round(share * len(returns)), False)
    thinned[quiet] = 0.0
    return thinned


def test_thin_trading_warns_above_35_percent_and_fails_at_half():
    thin = prices_from(zero_some(garch_returns(800, seed=0), 0.40))
    with pytest.warns(ModelWarning, match=r"thin trading: 40% of the 800 daily returns"):
        fit = fit_volatility(thin, model="garch", dist="normal")
    assert fit.params.unchanged_prob == 0.40
    too_thin = prices_from(zero_some(garch_returns(800, seed=0), 0.55))
    with pytest.raises(
        ModelError, match=r"55% of the 800 daily returns are exactly 0 \(at least 50%"
    ):
        fit_volatility(too_thin, model="garch", dist="normal")


def test_a_fifth_unchanged_like_the_real_cea_does_not_warn():
    prices = prices_from(zero_some(garch_returns(800, seed=0), 0.20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_volatility(prices, model="garch", dist="normal")
    assert fit.params.unchanged_prob == 0.20


def test_badly_scaled_prices_are_refused():
    tiny = prices_from(garch_returns(600, seed=2) * 1e-6)  # moves of ~1e-6 % a day
    with pytest.raises(
        ModelError,
        match=r"s\.d\. of the daily returns is 1\.\d+e-06 %.*"
        r"another quantity or unit",
    ):
        fit_volatility(tiny)
    volume = md.reference_market()["volume"]  # tonnes, not CNY/t: swings of ~200% a day
    with pytest.raises(ModelError, match=r"s\.d\. of the daily returns is 2\d\d %"):
        fit_volatility(volume)


def slow_t_fits(monkeypatch) -> None:
    """arch with two optimiser iterations for Student-t fits: they stop before converging."""

    original = arch.arch_model

    def patched(*args, **kwargs):
        spec = original(*args, **kwargs)
        if kwargs["dist"] == "t":
            fit = spec.fit
            spec.fit = lambda **kw: fit(**kw, options={"maxiter": 2})
        return spec

    monkeypatch.setattr(arch, "arch_model", patched)  # fit_volatility imports it when it fits


def test_a_fit_that_did_not_converge_is_skipped_in_auto_mode(monkeypatch):
    slow_t_fits(monkeypatch)
    prices = prices_from(garch_returns(800, seed=0))
    fit = fit_volatility(prices, model="garch")  # arch's ConvergenceWarning does not leak
    assert fit.params.name == "garch-normal"
    ((name, why),) = fit.diagnostics.rejected
    assert name == "garch-t" and why.startswith("did not converge (arch's convergence flag ")
    assert {name for name, _ in fit.diagnostics.candidates} == {"garch-normal", "garch-t"}
    with pytest.raises(ModelError, match=r"garch-t did not converge .*Try model='auto'"):
        fit_volatility(prices, model="garch", dist="t")


def test_other_arch_warnings_become_model_warnings(monkeypatch):
    original = arch.arch_model

    def noisy(*args, **kwargs):
        spec = original(*args, **kwargs)
        fit = spec.fit

        def fit_with_a_warning(**kw):
            warnings.warn("overflow encountered in square", RuntimeWarning, stacklevel=1)
            return fit(**kw)

        spec.fit = fit_with_a_warning
        return spec

    monkeypatch.setattr(arch, "arch_model", noisy)
    prices = prices_from(garch_returns(600, seed=0))
    with pytest.warns(ModelWarning, match="arch warned while fitting garch-normal: overflow"):
        fit_volatility(prices, model="garch", dist="normal")


def test_unknown_choices_are_named():
    prices = prices_from(garch_returns(600, seed=0))
    with pytest.raises(ModelError, match="model 'egarch' is unknown"):
        fit_volatility(prices, model="egarch")  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="dist 'skewt' is unknown"):
        fit_volatility(prices, dist="skewt")  # type: ignore[arg-type]


# --- daily log returns ------------------------------------------------------------------------


def test_returns_across_missing_sessions_are_dropped():
    dates = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-08", "2024-01-09"])
    prices = pd.Series([50.0, 51.0, 60.0, 59.0], index=dates)
    gaps = np.array([1, 1, 3, 1])
    returns = daily_log_returns(prices, gaps)
    assert list(returns.index) == [dates[1], dates[3]]
    assert returns.to_numpy() == pytest.approx(100 * np.log([51 / 50, 59 / 60]), rel=1e-15)
    assert len(daily_log_returns(prices)) == 3 and returns.name == "return_pct"
    with pytest.raises(ModelError, match=r"one per price \(4\), got shape \(3,\)"):
        daily_log_returns(prices, gaps[:3])


@pytest.mark.parametrize(
    ("dates", "values", "message"),
    [
        (["2024-01-03", "2024-01-02", "2024-01-04"], [50, 51, 52], "2024-01-02 follows 2024-01-03"),
        (["2024-01-02", "2024-01-02", "2024-01-04"], [50, 51, 52], "2024-01-02 appears more than"),
        (["2024-01-02", "2024-01-03", "2024-01-04"], [50, 0, 52], "price on 2024-01-03 is 0.0"),
        (["2024-01-02", "2024-01-03", "2024-01-04"], [50, 51, -1], "price on 2024-01-04 is -1.0"),
        (["2024-01-02", "2024-01-03", "2024-01-04"], [50, np.nan, 52], "2024-01-03 is nan"),
    ],
)
def test_bad_prices_are_named(dates, values, message):
    prices = pd.Series(values, index=pd.DatetimeIndex(dates), dtype=float)
    with pytest.raises(ModelError, match=message):
        daily_log_returns(prices)


def test_prices_need_a_series_on_dates():
    with pytest.raises(ModelError, match="need a DatetimeIndex, got RangeIndex"):
        daily_log_returns(pd.Series([50.0, 51.0]))
    with pytest.raises(ModelError, match="pandas Series of closes, got DataFrame"):
        daily_log_returns(md.reference_market())  # type: ignore[arg-type]


def test_diagnostics_compare_without_the_arch_result(reference_fit):
    twin = dataclasses.replace(reference_fit, result=None)
    assert twin == reference_fit and "result" not in repr(twin)
    assert isinstance(reference_fit.diagnostics, FitDiagnostics)
