"""Rolling-origin evaluation of a volatility model on a price history.

At each origin (every month-end by default) the candidate is refitted on the closes up to the
origin only, and ``paths`` price paths are simulated ``max(horizons)`` sessions ahead. Every
later close within that many sessions is scored against its forecast: its PIT (hence the
coverage of the 50 % and 90 % bands) on every session ahead, and its CRPS at the named
horizons. Between two origins the fitted model's variance is filtered forward day by day
(parameters fixed, as a desk refits monthly), which gives one-day value-at-risk forecasts for
every session after the first origin, and ten-day ones for consecutive ten-session blocks.
Session counts come from the caller's ``session_gaps`` (a trading calendar): a close ``h``
sessions after the origin is scored at horizon ``h`` even when the data miss a session between.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from engine.alerts.scan_nb import ROUNDING_EPS, limit_price_nb
from engine.errors import ConfigurationError, ModelError
from engine.fallback import fallback_params
from engine.random_nb import cdf_of_shape, quantile_of_shape
from engine.series import checked_closes
from engine.simulate import SimulationSpec, simulate_log_closes
from engine.tail_memory import ORDINARY
from engine.targeted import fit_targeted
from engine.validation.scores import crps, inside, pit
from engine.volatility import (
    STATIONARITY_MARGIN,
    FitDiagnostics,
    Model,
    Shape,
    VolatilityParams,
    fit_volatility,
)

HORIZONS: tuple[int, ...] = (1, 5, 10, 20, 60, 250)
VAR_LEVELS: tuple[float, ...] = (0.95, 0.99)
VAR_HORIZONS: tuple[int, ...] = (1, 10)
BANDS: tuple[float, ...] = (0.5, 0.9)
FALLBACK_NAME = "fallback"


@dataclass(frozen=True)
class Candidate:
    """A model to validate: a fitted (model, dist) pair, or the short-history fallback
    (``engine.fallback.fallback_params``), which is not fitted. ``fhs`` is a normal fit
    simulated with the empirical shape of its standardised residuals
    (``VolatilityFit.fhs``); ``ar`` gives the mean an AR(1) term on yesterday's return;
    ``tail_memory`` gives an ``fhs`` shape its tail memory (``engine.tail_memory``)."""

    model: Model
    dist: Shape
    fallback: bool = False
    targeted: bool = False  # variance targeting (engine.targeted; normal and fhs only)
    ar: bool = False  # an AR(1) mean
    tail_memory: bool = False  # the day after a tail day draws from that tail's followers

    @property
    def name(self) -> str:
        if self.fallback:
            return FALLBACK_NAME
        tags = ((self.targeted, "-vt"), (self.ar, "-ar"), (self.tail_memory, "-tm"))
        suffix = "".join(tag for on, tag in tags if on)
        return f"{self.model}-{self.dist}{suffix}"

    def fit(
        self, prices: pd.Series, gaps: np.ndarray, min_observations: int
    ) -> tuple[VolatilityParams, FitDiagnostics | None]:
        """The parameters at the last of ``prices`` and the fit's diagnostics (``None`` for
        the fallback, which is not fitted). Integrated fits are accepted (the validation
        judges them); ``ModelError`` for a fit that fails or explodes."""
        if self.fallback:
            return fallback_params(prices, gaps), None
        mean = "ar" if self.ar else "constant"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # thin-trading and arch notes: the scores judge
            if self.targeted:
                fit = fit_targeted(prices, model=self.model, mean=mean, session_gaps=gaps,
                                   min_observations=min_observations)  # fmt: skip
            else:
                fit = fit_volatility(
                    prices,
                    model=self.model,
                    dist="t" if self.dist == "t" else "normal",
                    mean=mean,
                    session_gaps=gaps,
                    min_observations=min_observations,
                    allow_nonstationary=True,
                )
        if fit.params.persistence > 1.0 + STATIONARITY_MARGIN:
            raise ModelError(f"explosive fit (persistence {fit.params.persistence:.6f})")
        params = fit.fhs(memory=self.tail_memory) if self.dist == "fhs" else fit.params
        return params, fit.diagnostics

    def params(
        self, prices: pd.Series, gaps: np.ndarray, min_observations: int
    ) -> tuple[VolatilityParams, float]:
        """The parameters at the last of ``prices``, and the fit's BIC (inf for the fallback)."""
        params, diagnostics = self.fit(prices, gaps, min_observations)
        return params, diagnostics.bic if diagnostics is not None else math.inf


# what successive validations of one growing history keep (see ``evaluate_candidate``)
OriginMemory = MutableMapping[tuple, Any]

FALLBACK = Candidate("garch", "normal", fallback=True)
CANDIDATES: tuple[Candidate, ...] = (
    Candidate("garch", "normal"),
    Candidate("gjr", "normal"),
    Candidate("garch", "t"),
    Candidate("gjr", "t"),
    Candidate("garch", "normal", targeted=True),
    Candidate("gjr", "normal", targeted=True),
    Candidate("garch", "fhs"),
    Candidate("gjr", "fhs"),
    Candidate("garch", "fhs", targeted=True),
    Candidate("gjr", "fhs", targeted=True),
    Candidate("garch", "fhs", ar=True),
    Candidate("garch", "fhs", targeted=True, ar=True),
    Candidate("garch", "fhs", tail_memory=True),
    Candidate("garch", "fhs", targeted=True, tail_memory=True),
    FALLBACK,
)


def candidate(name: str) -> Candidate:
    """The candidate named ``name``: ``garch-normal``, ``gjr-t``, ..., or ``fallback``."""
    for known in CANDIDATES:
        if known.name == name.strip().lower():
            return known
    names = ", ".join(c.name for c in CANDIDATES)
    raise ConfigurationError(f"unknown model {name!r}; candidates are {names}")


@dataclass(frozen=True)
class ValidationSpec:
    """How to validate.

    Attributes:
        horizons: sessions ahead whose CRPS is reported; the longest sets how far each origin
            simulates, and the PIT is scored on every session up to it.
        paths: simulated paths per origin.
        seed: the same seed gives the same scores; every origin and candidate uses it (common
            random numbers, so candidates differ by their model, not their draws).
        band: the market's daily band (0.10 for the CEA), or ``None``.
        tick: the market's price tick: the band's limits are the exchange's limit prices,
            rounded to it (``None``: the band's exact edges).
        min_observations: returns a fit needs; origins with fewer are skipped.
        origins: the origins, or ``None`` for the last close of every calendar month with
            ``min_observations`` daily returns before it.
        max_origins: keep only the latest this many origins (``None``: all).
    """

    horizons: tuple[int, ...] = HORIZONS
    paths: int = 10_000
    seed: int = 0
    band: float | None = None
    tick: float | None = None
    min_observations: int = 250
    origins: tuple[pd.Timestamp, ...] | None = None
    max_origins: int | None = None

    def __post_init__(self) -> None:
        if not self.horizons or min(self.horizons) < 1:
            raise ConfigurationError(f"horizons must be whole sessions >= 1, got {self.horizons}")
        if self.paths < 100:
            raise ConfigurationError(f"validation needs at least 100 paths, got {self.paths}")
        if self.max_origins is not None and self.max_origins < 1:
            raise ConfigurationError(f"max_origins must be at least 1, got {self.max_origins}")
        object.__setattr__(self, "horizons", tuple(sorted(set(self.horizons))))

    @property
    def longest(self) -> int:
        return self.horizons[-1]


@dataclass(frozen=True)
class CandidateScores:
    """One candidate's out-of-sample record.

    Attributes:
        forecasts: one row per origin and later close within the longest horizon: ``origin``,
            ``date``, ``horizon`` (sessions ahead), ``realised`` close, ``pit``, ``in50`` and
            ``in90`` (inside the central bands), ``crps`` of the log close (NaN off the named
            horizons).
        var: one row per forecast of value-at-risk: ``date`` (the day the loss is realised),
            ``horizon`` (1 or 10 sessions), ``return_pct`` (log return, per cent), the forecast
            quantiles ``q01, q05, q95, q99`` (per cent), ``pit`` (one-day only) and ``session``
            (the calendar's session number of ``date``: the tests count a transition only
            between forecasts one horizon apart).
        fits: one row per origin: ``origin``, ``bic``, ``persistence``, ``nu`` (NaN for the
            normal), ``error`` (why the fit failed, else empty).
    """

    candidate: Candidate
    forecasts: pd.DataFrame
    var: pd.DataFrame
    fits: pd.DataFrame


def daily_returns_through(index: pd.DatetimeIndex, session_gaps: np.ndarray | None) -> np.ndarray:
    """Per close, how many daily returns (between closes one session apart) a fit to it has:
    a weekly stretch of the history gives none."""
    daily = np.ones(len(index), dtype=np.int64)
    if session_gaps is not None:
        daily = (np.asarray(session_gaps) <= 1).astype(np.int64)
    daily[:1] = 0
    return np.cumsum(daily)


def month_end_origins(
    index: pd.DatetimeIndex, min_observations: int, session_gaps: np.ndarray | None = None
) -> pd.DatetimeIndex:
    """The last date of each calendar month in ``index`` with at least ``min_observations``
    daily returns up to it (counted with ``session_gaps``, every row a session without them)
    and at least one later close."""
    dates = pd.Series(index, index=index)
    ends = pd.DatetimeIndex(dates.groupby(index.to_period("M")).max().to_numpy())
    position = index.get_indexer(ends)
    enough = daily_returns_through(index, session_gaps)[position] >= min_observations
    return ends[enough & (position < len(index) - 1)]


def choose_origins(
    index: pd.DatetimeIndex, spec: ValidationSpec, session_gaps: np.ndarray | None = None
) -> pd.DatetimeIndex:
    """The origins ``spec`` asks for, checked against the data: ``ModelError`` when none is
    left, naming what is missing."""
    if spec.origins is None:
        origins = month_end_origins(index, spec.min_observations, session_gaps)
    else:
        origins = pd.DatetimeIndex(sorted(set(spec.origins)))
        missing = origins.difference(index)
        if len(missing):
            raise ModelError(
                f"origin {missing[0].date()} is not a date of the prices (an origin must be a "
                "day with a close)"
            )
        last = origins[index.get_indexer(origins) >= len(index) - 1]
        if len(last):
            raise ModelError(f"origin {last[0].date()} has no later close to score")
    if spec.max_origins is not None:
        origins = origins[-spec.max_origins :]
    if not len(origins):
        counts = daily_returns_through(index, session_gaps)
        enough = np.flatnonzero(counts >= spec.min_observations)
        where = (
            f"the first would be {index[enough[0]].date()}"
            if len(enough)
            else f"the data have {counts[-1]} daily returns in {len(index)} closes"
        )
        raise ModelError(
            f"no origin to validate from: every origin needs {spec.min_observations} daily "
            f"returns before it and a later close ({where}, the last close is "
            f"{index[-1].date()}); use a longer history or a smaller min_observations"
        )
    return origins


def _quantiles(params: VolatilityParams, levels: np.ndarray, kind: int = ORDINARY) -> np.ndarray:
    """Quantiles of the standardised innovation z at ``levels`` (for ``fhs``, of the shape of
    that ``kind`` of day)."""
    if params.dist == "fhs":
        return quantile_of_shape(params.shapes[kind], levels)
    if params.dist == "t":
        nu = float(params.nu)  # type: ignore[arg-type]
        return stats.t.ppf(levels, nu) * math.sqrt((nu - 2.0) / nu)
    return stats.norm.ppf(levels)


def _cdf(params: VolatilityParams, z: float, kind: int = ORDINARY) -> float:
    if params.dist == "fhs":
        return float(cdf_of_shape(params.shapes[kind], z))
    if params.dist == "t":
        nu = float(params.nu)  # type: ignore[arg-type]
        return float(stats.t.cdf(z / math.sqrt((nu - 2.0) / nu), nu))
    return float(stats.norm.cdf(z))


VAR_QUANTILES = np.array([0.01, 0.05, 0.95, 0.99])
VAR_COLUMNS = ("q01", "q05", "q95", "q99")


def limits_pct(previous: float, band: float | None, tick: float | None) -> tuple[float, float]:
    """The lowest and highest return (per cent) the band allows after ``previous``: to the
    exchange's limit prices (``engine.alerts.scan_nb.limit_price_nb``, rounded half up to
    the tick), so that a close at the limit is inside them; the band's exact edges without a
    tick; none without a band."""
    if band is None:
        return -math.inf, math.inf
    if tick is None:
        return 100.0 * math.log1p(-band), 100.0 * math.log1p(band)
    slack = ROUNDING_EPS * tick  # a float's decimal noise in the close or the limit
    low = float(limit_price_nb(previous, -band, tick)) - slack
    high = float(limit_price_nb(previous, band, tick)) + slack
    return 100.0 * math.log(low / previous), 100.0 * math.log(high / previous)


class _Filter:
    """The fitted model run forward over the returns after its origin: one-day VaR and PIT
    for each session, and the state (last variance, residual and return) to simulate from."""

    def __init__(self, params: VolatilityParams, spec: ValidationSpec) -> None:
        self.params = params
        kinds = [k for k, shape in enumerate(params.shapes) if shape or k == ORDINARY]
        self.z = {kind: _quantiles(params, VAR_QUANTILES, kind) for kind in kinds}
        self.band, self.tick = spec.band, spec.tick
        self.day = params.state

    def forecast(self, previous: float) -> np.ndarray:
        """Tomorrow's return quantiles (per cent) after a close of ``previous``, held inside
        the band's limits."""
        variance = self.params.variance_after(self.day.variance, self.day.residual)
        z = self.z[self.params.kind_after(self.day)]
        q = self.params.mean_after(self.day.return_pct) + math.sqrt(variance) * z
        return np.clip(q, *limits_pct(previous, self.band, self.tick))

    def observe(self, return_pct: float) -> float:
        """Take in the day's return; its PIT under the forecast."""
        kind = self.params.kind_after(self.day)
        self.day = self.params.step(self.day, return_pct)
        return _cdf(self.params, self.day.residual / math.sqrt(self.day.variance), kind)

    def state(self, price: float, day: pd.Timestamp) -> VolatilityParams:
        return self.params.at(self.day, price, day.date().isoformat())


@dataclass(frozen=True)
class _History:
    """The arrays every origin of one candidate's evaluation reads."""

    prices: pd.Series
    gaps: np.ndarray
    values: np.ndarray
    index: pd.DatetimeIndex
    log_close: np.ndarray
    session: np.ndarray  # session number of each close
    valid: np.ndarray  # a return that spans no missing session
    returns: np.ndarray  # per cent

    @classmethod
    def of(cls, prices: pd.Series, session_gaps: np.ndarray) -> _History:
        values = checked_closes(prices, "prices", ModelError)
        gaps = np.asarray(session_gaps, dtype=np.int64)
        log_close = np.log(values)
        return cls(prices, gaps, values, pd.DatetimeIndex(prices.index), log_close,
                   np.cumsum(gaps), np.r_[False, gaps[1:] <= 1],
                   np.r_[np.nan, 100.0 * np.diff(log_close)])  # fmt: skip


@dataclass(frozen=True)
class _Origin:
    """One origin's part of a candidate's record, and the next ten-day block's start."""

    fit: tuple
    forecasts: pd.DataFrame | None
    var: list[tuple]
    due: int


def evaluate_candidate(
    prices: pd.Series,
    session_gaps: np.ndarray,
    cand: Candidate,
    spec: ValidationSpec,
    origins: pd.DatetimeIndex,
    memory: OriginMemory | None = None,
) -> CandidateScores:
    """The rolling-origin record of one candidate (see the module's docstring). ``memory``
    keeps, for validations of one growing history (a backtest walking forward), each origin's
    fit and, once every close it scores is known, its whole record: both see only closes that
    a longer history repeats."""
    history = _History.of(prices, session_gaps)
    positions = history.index.get_indexer(origins)
    forecasts, var_rows, fit_rows = [], [], []
    due = history.session[positions[0]] if len(positions) else 0
    last = len(history.values) - 1
    for k, i in enumerate(positions):
        end = positions[k + 1] if k + 1 < len(positions) else last
        key = (cand.name, history.index[i], spec, int(due))
        complete = (
            k + 1 < len(positions)
            and history.session[last] - history.session[end] >= 10
            and history.session[last] - history.session[i] >= spec.longest
        )
        if memory is not None and key in memory:
            record = memory[key]
        else:
            record = _origin(history, cand, spec, i, end, due, memory)
            if memory is not None and complete:
                memory[key] = record
        fit_rows.append(record.fit)
        if record.forecasts is not None:
            forecasts.append(record.forecasts)
        var_rows.extend(record.var)
        due = record.due
    columns = ["origin", "bic", "persistence", "nu", "error"]
    empty = pd.DataFrame(
        columns=["origin", "date", "horizon", "realised", "pit", "in50", "in90", "crps"]
    )
    var_columns = ["date", "horizon", "return_pct", *VAR_COLUMNS, "pit", "session"]
    return CandidateScores(
        cand,
        pd.concat(forecasts, ignore_index=True) if forecasts else empty,
        pd.DataFrame(var_rows, columns=var_columns),
        pd.DataFrame(fit_rows, columns=columns),
    )


def _fit_at(
    history: _History, cand: Candidate, i: int, spec: ValidationSpec, memory: OriginMemory | None
) -> tuple[VolatilityParams, float] | str:
    """The candidate fitted on the closes up to ``i`` (parameters, BIC), or why it failed."""
    key = (cand.name, history.index[i], spec.min_observations)
    if memory is not None and key in memory:
        return memory[key]
    try:
        found: tuple[VolatilityParams, float] | str = cand.params(
            history.prices.iloc[: i + 1], history.gaps[: i + 1], spec.min_observations
        )
    except ModelError as exc:
        found = str(exc)
    if memory is not None:
        memory[key] = found
    return found


def _origin(
    history: _History, cand: Candidate, spec: ValidationSpec, i: int, end: int, due: int,
    memory: OriginMemory | None,
) -> _Origin:  # fmt: skip
    """The forecasts from origin ``i`` and the VaR forecasts filtered up to ``end``."""
    h = history
    found = _fit_at(h, cand, i, spec, memory)
    if isinstance(found, str):
        return _Origin((h.index[i], math.nan, math.nan, math.nan, found), None, [], due)
    params, bic = found
    nu = params.nu if params.nu is not None else math.nan
    fit = (h.index[i], bic, params.persistence, nu, "")
    later = np.arange(i + 1, len(h.values))
    ahead = h.session[later] - h.session[i]
    later, ahead = later[ahead <= spec.longest], ahead[ahead <= spec.longest]
    frame = None
    if len(later):
        sim = SimulationSpec(paths=spec.paths, days=spec.longest, seed=spec.seed, band=spec.band)
        paths = simulate_log_closes(params, sim)[:, ahead - 1]
        realised = h.log_close[later]
        u = pit(paths, realised)
        score = np.full(len(later), math.nan)
        at = np.isin(ahead, np.asarray(spec.horizons))
        score[at] = crps(paths[:, at], realised[at])
        frame = pd.DataFrame(
            {
                "origin": h.index[i],
                "date": h.index[later],
                "horizon": ahead,
                "realised": h.values[later],
                "pit": u,
                "in50": inside(u, 0.5),
                "in90": inside(u, 0.9),
                "crps": score,
            }
        )
    ten = SimulationSpec(paths=spec.paths, days=10, seed=spec.seed + 1, band=spec.band)
    rows, due = _filtered_var(
        params, spec, ten, h.values, h.index, h.session, h.returns, h.valid, (i, end), due
    )
    return _Origin(fit, frame, rows, due)


def _filtered_var(
    params: VolatilityParams,
    spec: ValidationSpec,
    ten: SimulationSpec,
    values: np.ndarray,
    index: pd.DatetimeIndex,
    session: np.ndarray,
    returns: np.ndarray,
    valid: np.ndarray,
    span: tuple[int, int],
    due: int,
) -> tuple[list[tuple], int]:
    """VaR forecasts for the closes after ``span[0]`` up to ``span[1]`` with ``params`` fixed:
    one-day for each; ten-day from each close at or after session ``due``, the next block's
    start, so that ten-day blocks never overlap. Returns the rows and the next ``due``."""
    rows: list[tuple] = []
    model = _Filter(params, spec)
    for t in range(span[0] + 1, span[1] + 1):
        if session[t - 1] >= due:  # the model stands at the end of close t - 1
            due = session[t - 1] + 10
            target = np.flatnonzero(session == due)
            if len(target):
                j = int(target[0])
                state = model.state(values[t - 1], index[t - 1])
                simulated = simulate_log_closes(state, ten)[:, -1] - math.log(values[t - 1])
                realised = 100.0 * math.log(values[j] / values[t - 1])
                quantiles = np.quantile(100.0 * simulated, VAR_QUANTILES)
                rows.append((index[j], 10, realised, *quantiles, math.nan, session[j]))
        if valid[t]:
            quantiles = model.forecast(values[t - 1])
            pit_t = model.observe(returns[t])
            rows.append((index[t], 1, returns[t], *quantiles, pit_t, session[t]))
    return rows, due
