"""What a night is made of: each market's prices, model and paths (``MarketNight``), each
entity's plan and risk or its error (``EntityNight``), and the timings of the steps. The run
(``desk.nightly.run``) makes them; the outputs (``desk.nightly.output``) write them."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.versus import Versus
from desk.config.desk import Entity, MarketSource
from desk.models.choice import ModelChoice
from engine.errors import EngineError
from engine.evaluate import Evaluation
from engine.kpi import Kpi
from engine.markets import MarketRules
from engine.plan import Plan
from engine.stability import DecisionSpread
from engine.volatility import FitDiagnostics, VolatilityParams

FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
Progress = Callable[[str, str], None]
"""Called with (step, "start" | "done") around each step; the CLI draws bars or logs."""


@dataclass(frozen=True)
class MarketNight:
    """One market tonight: its prices to the as-of date, its model and its simulated paths."""

    source: MarketSource
    rules: MarketRules
    prices: pd.DataFrame
    params: VolatilityParams
    diagnostics: FitDiagnostics | None
    closes: np.ndarray  # paths x trading days, day 1 is the next session
    sessions: pd.DatetimeIndex  # the simulated trading days
    input_hash: str
    choice: ModelChoice | None = None  # None for a pinned model file

    @cached_property
    def fan(self) -> pd.DataFrame:
        """Per simulated day, the ``FAN_QUANTILES`` of the close (for the report)."""
        quantiles = (
            np.quantile(self.closes, FAN_QUANTILES, axis=0).T
            if self.closes.shape[1]
            else np.empty((0, len(FAN_QUANTILES)))
        )
        return pd.DataFrame(quantiles, index=self.sessions, columns=FAN_QUANTILES)


@dataclass(frozen=True)
class EntityNight:
    """One entity tonight: its plan and its risk, or the error that stopped it."""

    entity: Entity
    plan: Plan | None = None
    evaluation: Evaluation | None = None
    benchmark: Evaluation | None = None
    frontier: pd.DataFrame | None = None
    kpis: tuple[Kpi, ...] = ()
    days_to_deadline: int = 0
    scenarios: int = 0
    error: EngineError | None = None
    frontier_error: str | None = None
    spread: DecisionSpread | None = None  # today's decision on independent scenario sets
    versus: Versus | None = None  # the plan against the best rule on the same paths

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Timings:
    progress: Progress | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.progress:
            self.progress(name, "start")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            if self.progress:
                self.progress(name, "done")


def file_hash(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


CURRENT_SESSIONS = 20
"""The report leads with the alerts dated within this many sessions of the last close; older
ones are history, folded away (whether a critical alert makes the night exit 7 does not depend
on its date: ``desk.nightly.alerts``)."""


def current_alerts(alerts, markets: dict[str, MarketNight]) -> list[dict[str, Any]]:
    """The alerts dated within ``CURRENT_SESSIONS`` sessions of the last close."""
    cutoff = min(m.prices.index[-min(CURRENT_SESSIONS, len(m.prices))] for m in markets.values())
    last = max(m.prices.index[-1] for m in markets.values())
    return [a for a in alerts if cutoff <= pd.Timestamp(a["date"]) <= last]
