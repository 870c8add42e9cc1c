"""``carbon simulate``: fit the volatility model, simulate, and write the fan chart, the quantile
table and the fitted model."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and under cron

import matplotlib.pyplot as plt
import pandas as pd

from desk.files import write_atomic, write_text_atomic
from engine.markets import MarketRules
from engine.simulate import FanChart, SimulationSpec, simulate_fan
from engine.volatility import FitDiagnostics, VolatilityParams, fit_volatility
from market_data import DataWarning, calendar_for, load

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass(frozen=True)
class SimulationRun:
    params: VolatilityParams
    diagnostics: FitDiagnostics | None  # None when the model was loaded, not fitted
    fan: FanChart
    history: pd.Series
    files: tuple[Path, ...]


def run_simulation(
    source: str,
    rules: MarketRules,
    spec: SimulationSpec,
    out: Path,
    *,
    model: str = "auto",
    dist: str = "auto",
    allow_integrated: bool = False,
    thin: bool = False,
    pinned: Path | None = None,
    min_observations: int = 500,
) -> SimulationRun:
    """Load the prices, fit (or load a pinned model), simulate and write the three files."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # shown by `carbon data show`
        frame = load(source, market=rules)
    calendar = calendar_for(rules.calendar)
    diagnostics = None
    if pinned is not None:
        params = VolatilityParams.from_json(pinned.read_text(encoding="utf-8"))
    else:
        fit = fit_volatility(
            frame["close"],
            model=model,  # type: ignore[arg-type]
            dist=dist,  # type: ignore[arg-type]
            session_gaps=calendar.session_gaps(pd.DatetimeIndex(frame.index)),
            min_observations=min_observations,
            allow_nonstationary=allow_integrated,
        )
        params, diagnostics = fit.params, fit.diagnostics
    if thin:
        spec = SimulationSpec(
            paths=spec.paths,
            days=spec.days,
            seed=spec.seed,
            band=spec.band,
            unchanged_prob=params.unchanged_prob,
        )
    fan = simulate_fan(params, spec, quantiles=QUANTILES)
    dates = _future_sessions(calendar, params.last_date, spec.days)
    table = fan.quantiles.copy()
    table.columns = [f"q{round(q * 100):02d}" for q in table.columns]
    table.insert(0, "date", dates.strftime("%Y-%m-%d"))
    table["mean"], table["std"] = fan.mean, fan.std
    files = (
        write_text_atomic(out / "model.json", params.to_json() + "\n"),
        write_text_atomic(out / "quantiles.csv", table.to_csv(float_format="%.4f")),
        write_atomic(out / "fan.png", lambda path: _fan_chart(frame["close"], fan, dates, path)),
    )
    return SimulationRun(params, diagnostics, fan, frame["close"], files)


def _future_sessions(calendar, last_date: str, days: int) -> pd.DatetimeIndex:
    start = calendar.next_session(last_date)
    sessions = calendar.sessions(start, start + pd.Timedelta(days=2 * days + 30))
    return sessions[:days]


def _fan_chart(history: pd.Series, fan: FanChart, dates: pd.DatetimeIndex, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(10, 5))
    recent = history.iloc[-500:]
    ax.plot(recent.index, recent.to_numpy(), color="black", lw=1, label="history")
    q = fan.quantiles
    ax.fill_between(dates, q[0.05], q[0.95], color="tab:blue", alpha=0.2, label="5-95 %")
    ax.fill_between(dates, q[0.25], q[0.75], color="tab:blue", alpha=0.35, label="25-75 %")
    ax.plot(dates, q[0.5], color="tab:blue", lw=1.5, label="median")
    ax.set_ylabel("close per tonne")
    ax.set_title(f"Simulated closes: {fan.paths:,} paths, {len(dates)} trading days")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
