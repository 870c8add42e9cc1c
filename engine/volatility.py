"""Volatility models of daily log returns (GARCH(1,1), GJR-GARCH(1,1); normal or Student-t
innovations) and their calibration with ``arch``: the parameters and the starting state of the
path simulator. Returns are in per cent per day, variances in %^2, prices in currency per tonne;
the model is written out on ``VolatilityParams``. arch bounds persistence (alpha + beta + gamma/2)
by 1, so an integrated fit stops on that bound, give or take ~1e-9 of optimiser noise: persistence
within ``STATIONARITY_MARGIN`` of 1 counts as non-stationary.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from engine.errors import ModelError, ModelWarning, bad_params
from engine.samples import ADVISED_OBSERVATIONS, checked_sample
from engine.series import checked_closes
from engine.tail_memory import TailMemory, checked_memory, kind_nb, tail_memory

Model = Literal["garch", "gjr"]
Mean = Literal["constant", "ar"]  # the daily mean: constant, or AR(1) on yesterday's return
Dist = Literal["normal", "t"]  # the innovations arch fits
Shape = Literal["normal", "t", "fhs"]  # ... and what a simulation draws (``VolatilityParams``)
MODELS: tuple[Model, ...] = ("garch", "gjr")
MEANS: tuple[Mean, ...] = ("constant", "ar")
DISTS: tuple[Dist, ...] = ("normal", "t")
SHAPES: tuple[Shape, ...] = (*DISTS, "fhs")
FHS_MIN_RESIDUALS = 100  # an empirical shape needs this many standardised residuals
FHS_WINDOW = 250  # ... and takes the latest this many: a year of sessions, Basel's VaR window

PARAMS_VERSION = 1
STATIONARITY_MARGIN = 1e-6  # persistence >= 1 - margin counts as integrated (non-stationary)

_SLACK = 1e-8  # tolerance on arch's bounds and linear constraints (optimiser noise)
_ARCH_NAMES = {  # arch's names that differ from ours
    "alpha[1]": "alpha", "gamma[1]": "gamma", "beta[1]": "beta",
    "Const": "mu", "return_pct[1]": "ar",  # an AR(1) mean's, on daily_log_returns' series
}  # fmt: skip


def _as_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise bad_params(name, value, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise bad_params(name, value, "must be finite")
    return number


class DayState(NamedTuple):
    """What the model carries from one day to the next (per cent): the day's variance, its
    residual (the shock that feeds tomorrow's variance) and its return (that tomorrow's AR(1)
    mean reads)."""

    variance: float
    residual: float
    return_pct: float


@dataclass(frozen=True)
class VolatilityParams:
    """Daily log returns in per cent: r_t = mu + ar r_{t-1} + e_t, e_t = sigma_t z_t,
    sigma_t^2 = omega + (alpha + gamma 1[e_{t-1} < 0]) e_{t-1}^2 + beta sigma_{t-1}^2,
    z_t standard normal or standardised Student-t(nu) (unit variance, as arch's ``t``), or,
    for ``fhs`` (filtered historical simulation), the market's own standardised residuals.

    ``fhs``: the parameters are a normal fit's (quasi-maximum likelihood), and a simulated day
    draws one uniform u that gives both the day's return, sigma_t Q(u) with Q the empirical
    quantile function of ``shape``, and the news that feeds the variance, sigma_t Phi^-1(u),
    the normal score of the same draw. So the variance runs exactly as the fitted normal
    model's, and the day's return has the market's tails: a big move is big news, as in any
    GARCH, but the fat tails cannot drain the variance (bootstrapping the residuals into the
    recursion, as plain FHS does, made E log(alpha z^2 + beta) fall and the fan collapse).

    Attributes:
        model, dist: ``"garch"`` or ``"gjr"``; ``"normal"``, ``"t"`` or ``"fhs"``.
        mu: mean daily return, % per day (the constant of the mean when ``ar`` is not 0).
        ar: the weight of yesterday's return in today's mean (AR(1), |ar| < 1; 0 for a
            constant mean). Negative where closes are averages of thin trading, which
            overshoot and come back (the CEA's and Guangdong's lag-1 autocorrelation is -0.1).
        omega: variance intercept, %^2.
        alpha, gamma, beta: ARCH, asymmetry (0.0 for GARCH) and GARCH coefficients, as arch
            bounds them: alpha and beta in [0, 1], gamma in [-1, 2] with alpha + gamma >= 0.
        nu: Student-t degrees of freedom (> 2), ``None`` for the normal.
        last_variance: sigma_T^2 of the last fitted day, %^2.
        last_residual: e_T = r_T - mu - ar r_{T-1} of the last fitted day, %.
        last_return: r_T, the last fitted day's return, % (what tomorrow's mean reads).
        last_price: the last close, currency per tonne; last_date its ISO date.
        unchanged_prob: share of daily returns exactly 0 in the fitted sample (thin trading).
        shape: for ``fhs``, the standardised residuals z the day's return is drawn from, sorted
            (read as the quantile function through their midpoints, (k + 1/2) / n); empty
            otherwise.
        tail_bounds, after_fall, after_rise: for ``fhs`` with tail memory
            (``engine.tail_memory``), the standardised residuals below ``tail_bounds[0]`` or
            above ``tail_bounds[1]`` are tail days, and the day after one draws from
            ``after_fall`` or ``after_rise`` instead of ``shape`` (a side whose pool is empty
            has no memory: its tail days are ordinary); all empty without memory.

    Checked once, at construction: a bad value raises ``ModelError`` naming the field. A
    non-stationary set (persistence >= 1) can be built; only ``unconditional_variance`` refuses it.
    """

    model: Model
    dist: Dist
    mu: float
    omega: float
    alpha: float
    gamma: float
    beta: float
    nu: float | None
    last_variance: float
    last_residual: float
    last_price: float
    last_date: str
    unchanged_prob: float
    shape: tuple[float, ...] = ()
    ar: float = 0.0
    last_return: float = 0.0
    tail_bounds: tuple[float, ...] = ()
    after_fall: tuple[float, ...] = ()
    after_rise: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise bad_params("model", self.model, f"must be one of {', '.join(MODELS)}")
        if self.dist not in SHAPES:
            raise bad_params("dist", self.dist, f"must be one of {', '.join(SHAPES)}")
        self._check_shape()
        self._check_tail_memory()
        for name in _FLOAT_FIELDS:
            object.__setattr__(self, name, _as_float(name, getattr(self, name)))
        rules = {
            "omega": (self.omega > 0, "must be positive (%^2)"),
            "alpha": (-_SLACK <= self.alpha <= 1 + _SLACK, "must lie in [0, 1]"),
            "beta": (-_SLACK <= self.beta <= 1 + _SLACK, "must lie in [0, 1]"),
            "last_variance": (self.last_variance > 0, "must be positive (%^2)"),
            "last_price": (self.last_price > 0, "must be positive (currency per tonne)"),
            "unchanged_prob": (0 <= self.unchanged_prob < 1, "must lie in [0, 1)"),
            "ar": (abs(self.ar) < 1, "must lie in (-1, 1) (a stationary mean)"),
        }
        if self.model == "garch":
            rules["gamma"] = (self.gamma == 0, "must be 0.0 for model 'garch'")
        else:
            rules["gamma"] = (-1 - _SLACK <= self.gamma <= 2 + _SLACK, "must lie in [-1, 2]")
        for name, (ok, rule) in rules.items():
            if not ok:
                raise bad_params(name, getattr(self, name), rule)
        if self.alpha + self.gamma < -_SLACK:
            raise bad_params(
                "gamma", self.gamma, f"alpha + gamma must be >= 0 (alpha is {self.alpha})"
            )
        if self.dist != "t" and self.nu is not None:
            raise bad_params("nu", self.nu, f"must be None for dist {self.dist!r}")
        if self.dist == "t":
            nu = _as_float("nu", self.nu)
            if nu <= 2:
                raise bad_params("nu", self.nu, "must exceed 2 for dist 't' (finite variance)")
            object.__setattr__(self, "nu", nu)
        try:
            canonical = date.fromisoformat(self.last_date).isoformat() == self.last_date
        except (TypeError, ValueError):
            canonical = False
        if not canonical:
            raise bad_params("last_date", self.last_date, "must be an ISO date, YYYY-MM-DD")

    def _check_shape(self) -> None:
        try:
            shape = np.asarray(self.shape, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise bad_params("shape", "...", "must be numbers") from None
        if self.dist != "fhs":
            if shape.size:
                raise bad_params(
                    "shape", f"{shape.size} values", f"must be empty for dist {self.dist!r}"
                )
            object.__setattr__(self, "shape", ())
            return
        if shape.size < FHS_MIN_RESIDUALS or not np.all(np.isfinite(shape)):
            raise bad_params(
                "shape", f"{shape.size} values",
                f"dist 'fhs' needs at least {FHS_MIN_RESIDUALS} finite standardised residuals",
            )  # fmt: skip
        object.__setattr__(self, "shape", tuple(float(z) for z in np.sort(shape)))

    def _check_tail_memory(self) -> None:
        memory = checked_memory(self.dist, self.tail_bounds, self.after_fall, self.after_rise)
        bounds, after_fall, after_rise = memory or ((), (), ())
        object.__setattr__(self, "tail_bounds", bounds)
        object.__setattr__(self, "after_fall", after_fall)
        object.__setattr__(self, "after_rise", after_rise)

    @property
    def name(self) -> str:
        """The model's label, e.g. ``"gjr-t"``, ``"garch-fhs-ar"`` with an AR(1) mean,
        ``"garch-fhs-tm"`` with tail memory."""
        return (
            f"{self.model}-{self.dist}"
            + ("-ar" if self.ar else "")
            + ("-tm" if self.tail_bounds else "")
        )

    @property
    def persistence(self) -> float:
        """alpha + beta + gamma/2: how much of today's variance shock is left tomorrow."""
        return self.alpha + self.beta + 0.5 * self.gamma

    @property
    def is_stationary(self) -> bool:
        """Persistence below 1 by more than ``STATIONARITY_MARGIN``."""
        return self.persistence < 1 - STATIONARITY_MARGIN

    @property
    def unconditional_variance(self) -> float:
        """omega / (1 - persistence), %^2 per day; ``ModelError`` for a non-stationary set."""
        if not self.is_stationary:
            raise ModelError(
                f"{self.name}: persistence {self.persistence:.6f} >= 1 (within "
                f"{STATIONARITY_MARGIN:g}): the unconditional variance is infinite; start a "
                "simulation from next_variance, or fit a stationary model"
            )
        return self.omega / (1 - self.persistence)

    @property
    def next_variance(self) -> float:
        """sigma_{T+1}^2, %^2: the variance of the first simulated day (arch's 1-step forecast)."""
        return self.variance_after(self.last_variance, self.last_residual)

    def mean_after(self, return_pct: float) -> float:
        """Tomorrow's mean return (per cent) after a day whose return was ``return_pct``."""
        return self.mu + self.ar * return_pct

    @property
    def shapes(self) -> tuple[tuple[float, ...], ...]:
        """The empirical shapes by kind of day (``engine.tail_memory``): ``shape`` after an
        ordinary day, ``after_fall`` and ``after_rise`` after a tail day (empty without)."""
        return self.shape, self.after_fall, self.after_rise

    @property
    def tail_lines(self) -> tuple[float, float]:
        """The bounds a day's standardised residual is classified by (``TailMemory.lines``):
        -inf and +inf without tail memory, so that every day is ordinary."""
        if not self.tail_bounds:
            return -math.inf, math.inf
        return TailMemory(self.tail_bounds, self.after_fall, self.after_rise).lines

    def kind_after(self, state: DayState) -> int:
        """The kind of the day after ``state`` (``engine.tail_memory``): which of ``shapes``
        it draws from; always ``ORDINARY`` without tail memory."""
        return int(kind_nb(state.residual / math.sqrt(state.variance), *self.tail_lines))

    def residuals(self, returns: np.ndarray) -> np.ndarray:
        """e_t = r_t - mu - ar r_{t-1} of consecutive daily returns (per cent); the first day
        has no yesterday in the array and takes r_{-1} = 0."""
        returns = np.asarray(returns, dtype=np.float64)
        yesterday = np.r_[0.0, returns[:-1]] if returns.size else returns
        return returns - self.mu - self.ar * yesterday

    def variance_after(self, variance: float, shock: float) -> float:
        """The next day's variance (%^2) after a day of ``variance`` and residual ``shock``
        (per cent): the model's recursion."""
        news = self.alpha + (self.gamma if shock < 0 else 0.0)
        return self.omega + news * shock * shock + self.beta * variance

    @property
    def state(self) -> DayState:
        """The last fitted day's state."""
        return DayState(self.last_variance, self.last_residual, self.last_return)

    def step(self, state: DayState, return_pct: float) -> DayState:
        """The state after the next day, whose return was ``return_pct`` (per cent): the one
        rule that runs the model forward over observed returns."""
        variance = self.variance_after(state.variance, state.residual)
        return DayState(variance, return_pct - self.mean_after(state.return_pct), return_pct)

    def at(self, state: DayState, price: float, last_date: str) -> VolatilityParams:
        """The same parameters standing at ``state``, after a close of ``price`` on
        ``last_date`` (ISO)."""
        return dataclasses.replace(
            self, last_variance=state.variance, last_residual=state.residual,
            last_return=state.return_pct, last_price=price, last_date=last_date,
        )  # fmt: skip

    def advanced(self, closes: np.ndarray, last_date: str) -> VolatilityParams:
        """The same model with its state run forward over ``closes``, the closes after
        ``last_price`` (CNY/t, oldest first), the last on ``last_date`` (ISO): each return
        (per cent) becomes the next day's shock. The parameters are not refitted."""
        state, price = self.state, self.last_price
        for close in np.asarray(closes, dtype=np.float64):
            state, price = self.step(state, 100.0 * math.log(close / price)), float(close)
        return self.at(state, price, last_date)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, with ``"version": 1``, for JSON or a configuration file."""
        return {"version": PARAMS_VERSION, **{name: getattr(self, name) for name in _FIELDS}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VolatilityParams:
        """The inverse of ``to_dict``; ``ModelError`` names a missing, unknown or bad field."""
        if not isinstance(data, dict):
            raise ModelError(f"volatility parameters must be a mapping, got {type(data).__name__}")
        if data.get("version") != PARAMS_VERSION:
            raise bad_params("version", data.get("version"), f"must be {PARAMS_VERSION}")
        missing = [name for name in _FIELDS if name not in data and name not in _OPTIONAL]
        unknown = sorted(set(data) - {"version", *_FIELDS})
        if missing or unknown:
            raise ModelError(
                f"VolatilityParams: missing fields {missing}, unknown fields {unknown}; "
                f"expected version, {', '.join(_FIELDS)}"
            )
        return cls(**{name: data[name] for name in _FIELDS if name in data})

    def to_json(self) -> str:
        """``to_dict`` as JSON text (floats written exactly)."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> VolatilityParams:
        """The inverse of ``to_json``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"volatility parameters are not valid JSON: {exc}") from None
        return cls.from_dict(data)


_FIELDS = tuple(item.name for item in fields(VolatilityParams))
_OPTIONAL = (  # written before the shape, the AR mean and the tail memory existed
    "shape", "ar", "last_return", "tail_bounds", "after_fall", "after_rise",
)  # fmt: skip
_TUPLE_FIELDS = ("shape", "tail_bounds", "after_fall", "after_rise")
_FLOAT_FIELDS = tuple(
    name for name in _FIELDS if name not in ("model", "dist", "nu", "last_date", *_TUPLE_FIELDS)
)


@dataclass(frozen=True)
class FitDiagnostics:
    """How the chosen fit went, and which candidates were tried.

    ``std_errors`` are arch's (robust) standard errors under our names, for the parameters the
    model estimates (no gamma for GARCH, no nu for the normal); NaN where arch's covariance has
    none (a fit on a bound). ``candidates`` holds ``(name, bic)`` for every candidate tried,
    lowest BIC first; ``rejected`` holds ``(name, why)`` for those set aside (did not converge,
    non-stationary), so the chosen fit is the first candidate not rejected.
    """

    n_obs: int
    loglikelihood: float
    aic: float
    bic: float
    persistence: float
    converged: bool
    std_errors: dict[str, float]
    unchanged_share: float
    candidates: tuple[tuple[str, float], ...]
    rejected: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class VolatilityFit:
    """A fitted model: the parameters to simulate with, the diagnostics, and arch's result."""

    params: VolatilityParams
    diagnostics: FitDiagnostics
    result: object = field(compare=False, repr=False)  # arch's ARCHModelResult
    residuals: np.ndarray = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def fhs(self, window: int = FHS_WINDOW, *, memory: bool = False) -> VolatilityParams:
        """This normal fit with the empirical shape of its latest ``window`` standardised
        residuals e_t / sigma_t, centred (``dist="fhs"``, see ``VolatilityParams``); their
        spread is kept, so a model that under-forecast the last year's moves is widened.
        ``memory``: with the tail memory of all its residuals (``engine.tail_memory``), when
        the sample has enough tail days. ``ModelError`` for a Student-t fit (its parameters
        assume t shocks) or too few residuals."""
        if self.params.dist != "normal":
            raise ModelError(
                f"filtered historical simulation takes a normal fit, not {self.params.name}"
            )
        residuals = np.asarray(self.residuals, dtype=np.float64)
        z = residuals[-window:]
        z = z[np.isfinite(z)]
        # centred: the drift is the fit's mu, not the window's (a falling year would go on falling)
        params = dataclasses.replace(self.params, dist="fhs", shape=tuple(z - z.mean()))
        tails = tail_memory(residuals) if memory else None
        if tails is None:
            return params
        return dataclasses.replace(
            params, tail_bounds=tails.bounds, after_fall=tails.after_fall,
            after_rise=tails.after_rise,
        )  # fmt: skip


def daily_log_returns(prices: pd.Series, session_gaps: np.ndarray | None = None) -> pd.Series:
    """Daily log returns in per cent, 100 x log(P_t / P_{t-1}), between consecutive rows.

    ``prices`` are closes in currency per tonne on a sorted, unique ``DatetimeIndex``.
    ``session_gaps`` (same length, from a trading calendar: element i counts the sessions from
    row i-1 to row i) drops every return that spans missing sessions (gap > 1), such as the
    bulletins' January-April holes. The result is indexed by the later date of each pair.
    """
    values = checked_closes(prices, "prices", ModelError)
    index = prices.index
    keep = np.ones(max(len(values) - 1, 0), dtype=bool)
    if session_gaps is not None:
        gaps = np.asarray(session_gaps)
        if gaps.shape != values.shape or not np.issubdtype(gaps.dtype, np.number):
            raise ModelError(
                f"session_gaps must be numbers, one per price ({len(values)}), got shape "
                f"{gaps.shape}; use calendar.session_gaps(prices.index)"
            )
        keep = gaps[1:] <= 1
    returns = 100.0 * np.log(values[1:] / values[:-1])
    return pd.Series(returns[keep], index=index[1:][keep], name="return_pct")


@dataclass(frozen=True)
class _Candidate:
    """One arch fit: its parameters and standard errors under our names, and its warnings."""

    model: Model
    dist: Dist
    result: Any
    params: dict[str, float]
    std_errors: dict[str, float]
    caught: tuple[warnings.WarningMessage, ...]
    name: str = field(init=False)
    bic: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.model}-{self.dist}")
        object.__setattr__(self, "bic", float(self.result.bic))

    @property
    def persistence(self) -> float:
        return self.params["alpha"] + self.params["beta"] + 0.5 * self.params.get("gamma", 0.0)

    def problem(self, allow_nonstationary: bool) -> str | None:
        flag = int(self.result.convergence_flag)
        if flag != 0:
            message = self.result.optimization_result.message
            return f"did not converge (arch's convergence flag {flag}: {message})"
        if self.persistence >= 1 - STATIONARITY_MARGIN and not allow_nonstationary:
            return f"non-stationary (persistence {self.persistence:.6f})"
        if abs(self.params.get("ar", 0.0)) >= 1:
            return f"non-stationary mean (ar {self.params['ar']:.6f})"
        return None


def _ours(values: pd.Series) -> dict[str, float]:
    return {_ARCH_NAMES.get(key, key): float(value) for key, value in values.items()}


def _fit_candidate(returns: pd.Series, model: Model, dist: Dist, mean: Mean) -> _Candidate:
    """One arch fit, with every warning arch emits caught (arch resets warning filters)."""
    from arch import arch_model  # imported here: reading a pinned model needs no arch

    o = 1 if model == "gjr" else 0
    ar = {"mean": "AR", "lags": 1} if mean == "ar" else {"mean": "Constant"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = arch_model(returns, **ar, vol="GARCH", p=1, o=o, q=1, dist=dist, rescale=False)
        result = spec.fit(disp="off")
        std_err = result.std_err  # the covariance is computed lazily: its warnings belong here
    return _Candidate(model, dist, result, _ours(result.params), _ours(std_err), tuple(caught))


def fit_volatility(
    prices: pd.Series,
    *,
    model: Literal["auto", "garch", "gjr"] = "auto",
    dist: Literal["auto", "normal", "t"] = "auto",
    mean: Mean = "constant",
    session_gaps: np.ndarray | None = None,
    min_observations: int = ADVISED_OBSERVATIONS,
    allow_nonstationary: bool = False,
) -> VolatilityFit:
    """Fit a GARCH-family model to the daily log returns (per cent) of ``prices`` with arch.

    Every candidate of the (model, dist) grid is fitted (``"auto"`` tries both) with ``mean``
    (``"constant"``, or ``"ar"``: AR(1) on yesterday's return, arch's ``AR`` mean, which
    conditions on the first return; across a gap dropped by ``session_gaps`` yesterday is the
    last return before it, as the validation's filter also reads it); the lowest BIC among
    those that converged and are stationary wins. ``session_gaps`` drops returns across
    missing sessions (see ``daily_log_returns``). Raises ``ModelError`` for fewer than
    ``min_observations`` returns (never fewer than 100), a flat, too thin or badly scaled
    series, or when no candidate is left: each failed candidate is named with its reason.
    ``allow_nonstationary=True`` keeps a fit on the persistence bound (integrated GARCH), which
    can be simulated from ``next_variance`` but has no unconditional variance. Warns
    (``ModelWarning``) for thin trading (more than 35 % unchanged days) and passes on, as
    ``ModelWarning``, any warning arch gave while fitting the chosen model.
    """
    if model not in ("auto", *MODELS):
        raise ModelError(f"model {model!r} is unknown; use 'auto', 'garch' or 'gjr'")
    if dist not in ("auto", *DISTS):
        raise ModelError(f"dist {dist!r} is unknown; use 'auto', 'normal' or 't'")
    if mean not in MEANS:
        raise ModelError(f"mean {mean!r} is unknown; use 'constant' or 'ar'")
    returns = daily_log_returns(prices, session_gaps)
    notes = checked_sample(returns, min_observations)
    grid = [
        (m, d)
        for m in (MODELS if model == "auto" else (model,))
        for d in (DISTS if dist == "auto" else (dist,))
    ]
    tried = [_fit_candidate(returns, m, d, mean) for m, d in grid]
    tried.sort(key=lambda c: (math.isnan(c.bic), c.bic))  # lowest BIC first, NaN last
    problems = {c.name: c.problem(allow_nonstationary) for c in tried}
    kept = [c for c in tried if problems[c.name] is None]
    if not kept:
        reasons = ", ".join(f"{name} {why}" for name, why in problems.items())
        advice = "a shorter window (the last 500 to 750 days)"
        if model != "auto" or dist != "auto":
            advice = "model='auto' and dist='auto', or " + advice
        if any("non-stationary" in str(why) for why in problems.values()):
            reasons += (
                f". Persistence alpha + beta + gamma/2 within {STATIONARITY_MARGIN:g} of 1 "
                "(arch's bound) means variance shocks never die out"
            )
            advice += ", or pass allow_nonstationary=True to simulate from next_variance anyway"
        raise ModelError(
            f"no usable volatility fit of the {len(returns)} daily returns to "
            f"{prices.index[-1].date()}: {reasons}. Try {advice}"
        )
    chosen = kept[0]
    result = chosen.result
    unchanged = float(np.mean(returns.to_numpy() == 0))
    fitted = VolatilityParams(
        model=chosen.model,
        dist=chosen.dist,
        **({"gamma": 0.0, "nu": None} | chosen.params),
        last_variance=float(result.conditional_volatility.iloc[-1]) ** 2,
        last_residual=float(result.resid.iloc[-1]),
        last_return=float(returns.iloc[-1]),
        last_price=float(prices.iloc[-1]),
        last_date=prices.index[-1].date().isoformat(),
        unchanged_prob=unchanged,
    )
    residuals = np.asarray(result.std_resid, dtype=np.float64)
    diagnostics = FitDiagnostics(
        n_obs=int(result.nobs),
        loglikelihood=float(result.loglikelihood),
        aic=float(result.aic),
        bic=chosen.bic,
        persistence=fitted.persistence,
        converged=True,
        std_errors=chosen.std_errors,
        unchanged_share=unchanged,
        candidates=tuple((c.name, c.bic) for c in tried),
        rejected=tuple((name, why) for name, why in problems.items() if why is not None),
    )
    for note in notes:
        warnings.warn(note, ModelWarning, stacklevel=2)
    from arch.utility.exceptions import ConvergenceWarning, DataScaleWarning

    covered = (ConvergenceWarning, DataScaleWarning)  # arch warnings our checks already cover
    texts = [str(m.message) for m in chosen.caught if not issubclass(m.category, covered)]
    for text in dict.fromkeys(texts):  # each distinct text once
        message = f"arch warned while fitting {chosen.name}: {text}"
        warnings.warn(message, ModelWarning, stacklevel=2)
    return VolatilityFit(fitted, diagnostics, result, residuals)
