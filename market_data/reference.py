"""The reference market: a deterministic, seeded CEA-like daily history that ships with the code.

It lets everything run on a fresh machine with no data. Its features are the real market's:

- Shanghai trading days from the CEA's launch (2021-07-16) to 2026-06-30, about five years;
- levels that follow the published history (launch ~51 CNY/t, cycle averages ~53 / 57 / 80 / 89,
  a high above 100 in November 2024, a slide to ~50 in October 2025): the log price reverts to
  a piecewise-linear anchor through those levels (``ANCHORS``);
- volatility clustering: the latent log price moves by GARCH(1,1) shocks with Student-t(5)
  innovations;
- the +/-10 % band: the published close is held inside the band around the previous close, on
  the 0.01 CNY tick. A clipped day does not lose its news: the latent price keeps the full move
  and the next days' closes catch up, and the variance recursion runs on the latent shocks;
- thin trading: on a share of days (a third in 2022, a sixth otherwise) the close is unchanged;
- volume in tonnes that swells before each surrender deadline, and turnover = volume x close
  (the close is a volume-weighted average); ``price_basis`` switches from ``listed`` to
  ``composite`` on 2023-08-28 as the exchange's did.

The same seed gives the same frame on every machine (NumPy's PCG64 stream).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from engine.errors import ConfigurationError
from engine.markets import CEA, MarketRules
from market_data.calendar import calendar_for
from market_data.frame import NUMERIC_COLUMNS, finish

REFERENCE_SEED = 20210716

# (date, CNY/t): the level the reference market's log price reverts to, linear in between.
ANCHORS: tuple[tuple[str, float], ...] = (
    ("2021-07-16", 51.0),
    ("2021-12-31", 50.0),
    ("2022-06-30", 58.0),
    ("2022-12-31", 56.0),
    ("2023-06-30", 58.0),
    ("2023-10-20", 80.0),
    ("2024-04-30", 90.0),
    ("2024-11-13", 98.0),
    ("2025-04-30", 71.0),
    ("2025-10-15", 51.0),
    ("2026-03-31", 72.0),
    ("2026-06-30", 88.0),
)

SURRENDER_DEADLINES: tuple[str, ...] = ("2021-12-31", "2023-12-31", "2024-12-31", "2025-12-31")
COMPOSITE_FROM = "2023-08-28"


@dataclass(frozen=True)
class ReferenceSpec:
    """Settings of the reference market (daily figures; volatility as a log-return s.d.)."""

    seed: int = REFERENCE_SEED
    start: str = "2021-07-16"
    end: str = "2026-06-30"
    daily_vol: float = 0.020
    arch: float = 0.22
    garch: float = 0.75
    dof: float = 5.0
    reversion: float = 0.02
    unchanged_share: float = 0.17
    unchanged_share_2022: float = 0.34
    base_volume_t: float = 250_000.0

    def __post_init__(self) -> None:
        if not self.arch + self.garch < 1:
            raise ConfigurationError(
                f"reference market: arch + garch must be below 1, got {self.arch + self.garch}"
            )
        if self.dof <= 2:
            raise ConfigurationError(f"reference market: dof must exceed 2, got {self.dof}")


def _anchor(dates: pd.DatetimeIndex) -> np.ndarray:
    days = np.array([pd.Timestamp(d).value for d, _ in ANCHORS], dtype=np.float64)
    levels = np.log([level for _, level in ANCHORS])
    return np.interp(dates.as_unit("ns").asi8.astype(np.float64), days, levels)


def _deadline_factor(dates: pd.DatetimeIndex) -> np.ndarray:
    """Volume multiplier: 1 far from a deadline, rising to 7 on it over its last 90 days."""
    deadlines = pd.DatetimeIndex(SURRENDER_DEADLINES).as_unit("ns").asi8
    days = dates.as_unit("ns").asi8
    position = np.searchsorted(deadlines, days, side="left")
    to_next = np.full(len(dates), np.inf)
    inside = position < len(deadlines)
    to_next[inside] = (deadlines[position[inside]] - days[inside]) / 86_400e9
    return 1.0 + 6.0 * np.clip(1.0 - to_next / 90.0, 0.0, 1.0)


def _on_tick(price: float, tick: float, how: str) -> float:
    """``price`` on the tick grid; floor and ceil forgive float noise of 1e-9 tick."""
    steps = price / tick
    if how == "floor":
        steps = math.floor(steps + 1e-9)
    elif how == "ceil":
        steps = math.ceil(steps - 1e-9)
    else:
        steps = round(steps)
    return round(steps * tick, 10)


@lru_cache(maxsize=4)
def _simulate(spec: ReferenceSpec, rules: MarketRules) -> pd.DataFrame:
    dates = calendar_for(rules.calendar).sessions(spec.start, spec.end)
    n = len(dates)
    rng = np.random.Generator(np.random.PCG64(spec.seed))
    shocks = rng.standard_t(spec.dof, n) * math.sqrt((spec.dof - 2) / spec.dof)
    wiggle = np.abs(rng.standard_normal((3, n)))
    signs = rng.standard_normal(n)
    uniform = rng.random(n)
    volume_noise = rng.standard_normal(n)

    band = rules.daily_band
    tick = rules.tick
    anchor = _anchor(dates)
    unchanged = np.where(dates.year == 2022, spec.unchanged_share_2022, spec.unchanged_share)
    omega = spec.daily_vol**2 * (1 - spec.arch - spec.garch)

    close = np.empty(n)
    open_, high, low = np.empty(n), np.empty(n), np.empty(n)
    thin = np.zeros(n, dtype=bool)
    variance, shock, deviation = spec.daily_vol**2, 0.0, 0.0
    for t in range(n):
        variance = omega + spec.arch * shock**2 + spec.garch * variance
        shock = math.sqrt(variance) * shocks[t]
        deviation = (1 - spec.reversion) * deviation + shock
        latent = math.exp(anchor[t] + deviation)
        prev = _on_tick(latent, tick, "round") if t == 0 else close[t - 1]
        up = _on_tick(prev * (1 + band), tick, "floor") if t else np.inf
        down = _on_tick(prev * (1 - band), tick, "ceil") if t else 0.0
        if t and uniform[t] < unchanged[t]:
            thin[t] = True
            close[t] = open_[t] = high[t] = low[t] = prev
            continue
        close[t] = min(max(_on_tick(latent, tick, "round"), down), up)
        spread = 0.5 * math.sqrt(variance)
        open_[t] = min(
            max(_on_tick(prev * math.exp(0.3 * spread * signs[t]), tick, "round"), down), up
        )
        top, bottom = max(open_[t], close[t]), min(open_[t], close[t])
        high[t] = min(_on_tick(top * (1 + spread * wiggle[0, t]), tick, "ceil"), max(up, top))
        low[t] = max(
            _on_tick(bottom * (1 - spread * wiggle[1, t]), tick, "floor"), min(down, bottom)
        )

    volume = spec.base_volume_t * _deadline_factor(dates) * np.exp(0.8 * volume_noise - 0.32)
    volume = np.where(thin, volume * 0.05, volume).round()
    frame = pd.DataFrame(
        {
            "close": close,
            "open": open_,
            "high": high,
            "low": low,
            "volume": volume,
            "turnover": (volume * close).round(2),
        },
        index=pd.DatetimeIndex(dates, name="date"),
    )
    frame["price_basis"] = np.where(dates < pd.Timestamp(COMPOSITE_FROM), "listed", "composite")
    return frame[[*NUMERIC_COLUMNS, "price_basis"]]


def reference_market(market: MarketRules = CEA, spec: ReferenceSpec | None = None) -> pd.DataFrame:
    """The reference market as a tidy frame (a fresh copy on every call)."""
    if market.code != CEA.code or market.daily_band is None:
        raise ConfigurationError(
            f"the reference market is CEA-like (banded); it has no {market.code.upper()} "
            "history without a band (use market 'cea', or load a file)"
        )
    spec = spec or ReferenceSpec()
    return finish(
        _simulate(spec, market),
        market=market.code,
        source="reference",
        format="reference",
        currency=market.currency,
        seed=spec.seed,
        warnings=(),
    )
