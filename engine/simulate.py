"""Carbon price paths: N paths x H trading days from a fitted volatility model.

``simulate_closes`` returns every path (paths x days, CNY/t); ``simulate_fan`` streams the paths
through in chunks and keeps only what a fan chart, a terminal distribution and exceedance
probabilities need, so its memory does not grow with the number of paths (see ``FanChart``).
The model and how the band and thin days work are described in ``engine.simulate_nb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from engine import simulate_nb as nb
from engine.errors import ConfigurationError, ModelError
from engine.random_nb import quantile_table, shape_table
from engine.volatility import STATIONARITY_MARGIN, VolatilityParams

DEFAULT_QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass(frozen=True)
class SimulationSpec:
    """What to simulate.

    Attributes:
        paths: number of price paths.
        days: trading days ahead (252 is about a year).
        seed: the same seed gives bit-identical paths, whatever the number of threads.
        band: the market's daily band (0.10 for the CEA's +/-10 %), or ``None``.
        unchanged_prob: probability that a day's close does not move (thin trading), in [0, 1).
    """

    paths: int = 10_000
    days: int = 252
    seed: int = 0
    band: float | None = None
    unchanged_prob: float = 0.0

    def __post_init__(self) -> None:
        if self.paths < 1 or self.days < 1:
            raise ConfigurationError(
                f"simulation needs at least one path and one day, got paths={self.paths}, "
                f"days={self.days}"
            )
        if self.band is not None and not 0.0 < self.band < 1.0:
            raise ConfigurationError(f"band must lie in (0, 1), got {self.band}")
        if not 0.0 <= self.unchanged_prob < 1.0:
            raise ConfigurationError(
                f"unchanged_prob must lie in [0, 1), got {self.unchanged_prob}"
            )
        if not 0 <= self.seed < 2**63:
            raise ConfigurationError(f"seed must lie in [0, 2**63), got {self.seed}")


def kernel_params(params: VolatilityParams, spec: SimulationSpec) -> np.ndarray:
    """The kernels' parameter vector: per-cent figures turned into log-return units."""
    if params.persistence > 1.0 + STATIONARITY_MARGIN:
        raise ModelError(
            f"persistence {params.persistence:.6f} > 1: the variance explodes; refit on "
            "another window or with another model before simulating"
        )
    vector = np.zeros(nb.N_PARAMS)
    vector[nb.MU] = params.mu / 100.0
    vector[nb.OMEGA] = params.omega / 1e4
    vector[nb.ALPHA] = params.alpha
    vector[nb.GAMMA] = params.gamma
    vector[nb.BETA] = params.beta
    vector[nb.VAR0] = params.next_variance / 1e4
    vector[nb.LOG_PRICE0] = math.log(params.last_price)
    vector[nb.LOG_DOWN] = math.log1p(-spec.band) if spec.band is not None else -np.inf
    vector[nb.LOG_UP] = math.log1p(spec.band) if spec.band is not None else np.inf
    vector[nb.UNCHANGED] = spec.unchanged_prob
    vector[nb.AR] = params.ar
    vector[nb.RETURN0] = params.last_return / 100.0
    vector[nb.FALL_LINE], vector[nb.RISE_LINE] = params.tail_lines
    vector[nb.KIND0] = params.kind_after(params.state)
    return vector


@lru_cache(maxsize=16)
def _innovations(nu: float | None) -> np.ndarray:
    return quantile_table(nu)


def innovations_table(params: VolatilityParams) -> np.ndarray:
    """The quantile table of the model's z_t (standard normal or unit-variance t; the normal
    for an empirical shape, whose normal scores feed the variance)."""
    return _innovations(params.nu if params.dist == "t" else None)


@lru_cache(maxsize=16)
def _shape_tables(shapes: tuple[tuple[float, ...], ...]) -> np.ndarray:
    if not shapes:
        return np.empty((1, 0))
    tables = np.stack([shape_table(shape) for shape in shapes])
    tables.flags.writeable = False  # shared by every caller of the cache
    return tables


def shape_array(params: VolatilityParams) -> np.ndarray:
    """The kernel's empirical shapes, a row each: for ``fhs`` the table of the residuals'
    quantile function (``random_nb.shape_table``), and with tail memory those of the
    residuals after a fall and after a rise (a side without memory repeats the first row,
    which its line of -inf or +inf never reads); one empty row for the other shapes."""
    if params.dist != "fhs":
        return _shape_tables(())
    if not params.tail_bounds:
        return _shape_tables((params.shape,))
    return _shape_tables(tuple(pool or params.shape for pool in params.shapes))


def _simulate(
    params: VolatilityParams, spec: SimulationSpec, first_path: int, paths: int | None, prices: bool
) -> np.ndarray:
    count = spec.paths - first_path if paths is None else paths
    if first_path < 0 or count < 1 or first_path + count > spec.paths:
        raise ConfigurationError(
            f"paths {first_path} to {first_path + count - 1} are not among the simulation's "
            f"{spec.paths} paths"
        )
    out = np.empty((count, spec.days))
    nb.simulate_paths_nb(
        out,
        kernel_params(params, spec),
        innovations_table(params),
        shape_array(params),
        spec.seed,
        first_path,
        prices,
    )
    return out


def simulate_log_closes(
    params: VolatilityParams, spec: SimulationSpec, *, first_path: int = 0, paths: int | None = None
) -> np.ndarray:
    """Log closes of paths ``first_path .. first_path + paths`` (default: all of ``spec``)."""
    return _simulate(params, spec, first_path, paths, prices=False)


def simulate_closes(
    params: VolatilityParams, spec: SimulationSpec, *, first_path: int = 0, paths: int | None = None
) -> np.ndarray:
    """Closes (currency per tonne) of paths ``first_path .. first_path + paths`` (default: all),
    paths x days: the exponential of ``simulate_log_closes`` to within one unit in the last
    place."""
    return _simulate(params, spec, first_path, paths, prices=True)


@dataclass(frozen=True)
class FanChart:
    """Streaming statistics of a simulation.

    Attributes:
        quantiles: days (1..H) x quantile levels, closes in currency per tonne; from a histogram of
            log closes, exact to within ``grid_step`` in log price (16 s.d. of the horizon's
            log return over 4,096 bins: 0.1 to 0.2 % of the price for CEA fits).
        mean, std: per day, of the close, exact; NaN for Student-t innovations without a band,
            where the price has no finite mean (the sample figures would be noise).
        exceedance: per price level, the probability that the close reaches at least (``p_above``)
            or at most (``p_below``) that level on some day of the horizon, and at the end
            (``p_above_at_end``).
        terminal: the histogram of the last day's close: bin edges (currency per tonne) and counts.
        paths, outside_grid: number of paths, and the share of path-days beyond the histogram's
            grid (counted in its edge bins).
        memory_bytes: the working memory the statistics needed (chunk buffer and histograms),
            independent of the number of paths.
    """

    quantiles: pd.DataFrame
    mean: pd.Series
    std: pd.Series
    exceedance: pd.DataFrame
    terminal: tuple[np.ndarray, np.ndarray]
    paths: int
    grid_step: float
    outside_grid: float
    memory_bytes: int


def _grid(
    params: VolatilityParams, spec: SimulationSpec, vector: np.ndarray, bins: int
) -> tuple[float, float]:
    """A grid of log closes wide enough for all but a negligible share of paths (``vector``:
    the kernels' parameters of ``params`` and ``spec``)."""
    if params.is_stationary:  # the expected variance moves from VAR0 to the long-run level
        daily = max(vector[nb.VAR0], vector[nb.OMEGA] / (1.0 - params.persistence))
    else:  # integrated: it grows by omega a day
        daily = vector[nb.VAR0] + vector[nb.OMEGA] * spec.days
    # an AR(1) mean scales the sum of the shocks by up to 1 / (1 - ar) and the drift to
    # mu / (1 - ar), the unconditional mean
    spread = 1.0 / (1.0 - max(params.ar, 0.0))
    drift = abs(vector[nb.MU]) / (1.0 - params.ar)
    half = 8.0 * math.sqrt(daily * spec.days) * spread + drift * spec.days
    if spec.band is not None:
        half = min(half, spec.days * -math.log1p(-spec.band))
    half = max(half, 0.05)
    return vector[nb.LOG_PRICE0] - half, 2.0 * half / bins


def simulate_fan(
    params: VolatilityParams,
    spec: SimulationSpec,
    *,
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    levels: tuple[float, ...] = (),
    chunk_paths: int = 16_384,
    bins: int = 4_096,
) -> FanChart:
    """Simulate ``spec.paths`` paths in chunks of ``chunk_paths`` and keep the statistics only.

    Memory: ``chunk_paths x days x 8`` bytes for the chunk, ``days x bins x 8`` for the
    histogram and twice that for the per-block histograms and the quantile pass (33 + 8 + 25 MB
    with the defaults and 252 days), whatever the number of paths.
    """
    if not all(0.0 < q < 1.0 for q in quantiles):
        raise ConfigurationError(f"quantiles must lie in (0, 1), got {quantiles}")
    if any(level <= 0 for level in levels):
        raise ConfigurationError(f"price levels must be positive, got {levels}")
    vector = kernel_params(params, spec)
    lo, width = _grid(params, spec, vector, bins)
    innovations, shapes = innovations_table(params), shape_array(params)
    counts = np.zeros((spec.days, bins), dtype=np.int64)
    sums, sq_sums = np.zeros(spec.days), np.zeros(spec.days)
    log_levels = np.log(np.asarray(levels, dtype=np.float64))
    above = np.zeros(len(levels), dtype=np.int64)
    below = np.zeros(len(levels), dtype=np.int64)
    chunk = min(chunk_paths, spec.paths)
    buffer = np.empty((chunk, spec.days))
    for start in range(0, spec.paths, chunk):
        block = buffer[: min(chunk, spec.paths - start)]
        nb.simulate_paths_nb(block, vector, innovations, shapes, spec.seed, start, False)
        nb.accumulate_nb(block, lo, width, counts, sums, sq_sums, log_levels, above, below)

    n = spec.paths
    mean = sums / n
    std = np.sqrt(np.maximum(sq_sums / n - mean**2, 0.0) * n / max(n - 1, 1))
    if spec.band is None and params.dist == "t":  # E[exp(t)] is infinite: no mean price
        mean, std = np.full(spec.days, np.nan), np.full(spec.days, np.nan)
    days = pd.RangeIndex(1, spec.days + 1, name="day")
    cumulative = np.cumsum(counts, axis=1)
    table = {q: np.exp(_quantile(cumulative, counts, q * n, lo, width)) for q in quantiles}
    edges = np.exp(lo + width * np.arange(bins + 1))
    end_above = 1.0 - np.interp(log_levels, lo + width * np.arange(1, bins + 1), cumulative[-1] / n)
    exceedance = pd.DataFrame(
        {"p_above": above / n, "p_below": below / n, "p_above_at_end": end_above},
        index=pd.Index(np.asarray(levels, dtype=np.float64), name="level"),
    )
    outside = (counts[:, 0].sum() + counts[:, -1].sum()) / counts.sum()
    return FanChart(
        quantiles=pd.DataFrame(table, index=days),
        mean=pd.Series(mean, index=days, name="mean"),
        std=pd.Series(std, index=days, name="std"),
        exceedance=exceedance,
        terminal=(edges, counts[-1].copy()),
        paths=n,
        grid_step=width,
        outside_grid=float(outside),
        memory_bytes=int(
            buffer.nbytes
            + counts.nbytes * 2  # the histogram, and its cumulative sum for the quantiles
            + nb.ACCUMULATE_BLOCKS * spec.days * bins * 4  # the kernel's per-block histograms
        ),
    )


def _quantile(
    cumulative: np.ndarray, counts: np.ndarray, target: float, lo: float, width: float
) -> np.ndarray:
    """Per day, the log close below which ``target`` paths lie, linear within its bin."""
    k = np.array([np.searchsorted(row, target, side="left") for row in cumulative])
    k = np.minimum(k, cumulative.shape[1] - 1)
    rows = np.arange(cumulative.shape[0])
    before = np.where(k > 0, cumulative[rows, np.maximum(k - 1, 0)], 0)
    inside = np.maximum(counts[rows, k], 1)
    return lo + width * (k + (target - before) / inside)
