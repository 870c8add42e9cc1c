"""How often will each price rule fire next year? The scan over simulated paths
(``engine.alerts.scan_nb.count_firings_nb``) and the Monte Carlo estimate of each rule's rate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engine.alerts import scan_nb as nb
from engine.alerts.prices import COLUMNS, kernel_settings
from engine.alerts.settings import PRICE_RULES, AlertRules
from engine.errors import ConfigurationError
from engine.markets import MarketRules


def count_firings(
    paths: np.ndarray, rules: AlertRules, *, market: MarketRules, last_close: float
) -> np.ndarray:
    """Firings per path, rule column and level: an int64 array (paths, ``scan_nb.N_COLUMNS``,
    2) of firings of any severity ([..., 0]) and critical ones ([..., 1]); columns as in
    ``engine.alerts.prices.COLUMNS``. ``paths`` is paths x days, as ``simulate_closes`` returns
    it."""
    values = np.asarray(paths)
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 1:
        raise ConfigurationError(
            f"paths must be a paths x days array of closes (engine.simulate.simulate_closes), "
            f"got shape {values.shape}"
        )
    values = np.asarray(values, dtype=np.float64)
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ConfigurationError("paths must hold positive, finite closes (currency per tonne)")
    if isinstance(last_close, bool) or not math.isfinite(last_close) or last_close <= 0:
        raise ConfigurationError(f"last_close = {last_close!r}: must be a positive price")
    if not values.flags.c_contiguous:
        values = np.ascontiguousarray(values)
    counts = np.zeros((values.shape[0], nb.N_COLUMNS, 2), dtype=np.int64)
    nb.count_firings_nb(values.T, float(last_close), kernel_settings(rules, market), counts)
    return counts


def alert_rates(
    paths: np.ndarray,
    rules: AlertRules,
    *,
    market: MarketRules,
    last_close: float,
    sessions_per_year: float = 252.0,
) -> pd.DataFrame:
    """Expected firings per path-year of each price rule, with Monte Carlo standard errors.

    Args:
        paths: simulated closes, paths x days (``engine.simulate.simulate_closes``), day 1 the
            session after ``last_close``.
        rules: the settings; rules that are off are left out.
        market: the market's rules (band and tick for the band-lock rule).
        last_close: the last observed close (currency per tonne), the session before day 1.
        sessions_per_year: trading sessions in a year, to turn a horizon of days into years
            (252 by default; the XSHG calendar has about 242).

    Returns:
        One row per price rule that is on (``close_to_close``, ``cumulative``, ``reference``,
        ``band_lock``), columns: ``per_year`` (firings of either direction and any severity per
        path-year) and ``se`` (its standard error, s.d. of the per-path counts / sqrt(paths),
        per year), ``critical_per_year`` and ``critical_se``, ``up_per_year`` and
        ``down_per_year``, and ``p_any`` (the share of paths on which the rule fires at least
        once over the horizon). Each path starts its episodes armed and its windows from
        ``last_close`` alone.
    """
    if not sessions_per_year > 0:
        raise ConfigurationError(f"sessions_per_year = {sessions_per_year!r}: must be positive")
    counts = count_firings(paths, rules, market=market, last_close=last_close)
    n_paths, days = counts.shape[0], np.asarray(paths).shape[1]
    years = days / sessions_per_year
    active = {
        "close_to_close": rules.close_to_close.enabled,
        "cumulative": rules.cumulative.enabled,
        "reference": rules.reference.active,
        "band_lock": rules.band_lock.enabled and market.daily_band is not None,
    }
    rows = {}
    for rule in PRICE_RULES:
        if not active[rule]:
            continue
        up, down = (c for c, (name, _) in COLUMNS.items() if name == rule)
        total = counts[:, up, 0] + counts[:, down, 0]
        critical = counts[:, up, 1] + counts[:, down, 1]
        rows[rule] = {
            "per_year": total.mean() / years,
            "se": _standard_error(total) / years,
            "critical_per_year": critical.mean() / years,
            "critical_se": _standard_error(critical) / years,
            "up_per_year": counts[:, up, 0].mean() / years,
            "down_per_year": counts[:, down, 0].mean() / years,
            "p_any": float((total > 0).mean()),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "rule"
    frame.attrs.update(paths=n_paths, days=days, years=years)
    return frame


def _standard_error(counts: np.ndarray) -> float:
    if len(counts) < 2:
        return math.nan
    return float(np.std(counts, ddof=1) / math.sqrt(len(counts)))
