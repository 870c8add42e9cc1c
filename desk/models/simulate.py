"""``carbon simulate``: fit the volatility model, simulate, and write the fan chart, the quantile
table and the fitted model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and under cron

import matplotlib.pyplot as plt
import pandas as pd

from desk.config.sources import load_sources
from desk.models.choice import cache_folder, choose_model
from desk.store.files import write_all_atomic
from engine.errors import ConfigurationError, ModelError
from engine.markets import MarketRules
from engine.simulate import FanChart, SimulationSpec, simulate_fan
from engine.volatility import (
    ADVISED_OBSERVATIONS,
    FitDiagnostics,
    VolatilityParams,
    fit_volatility,
)
from market_data import SourceOptions, calendar_for


@dataclass(frozen=True)
class SimulationRun:
    params: VolatilityParams
    diagnostics: FitDiagnostics | None  # None when the model was loaded, not fitted
    how: str  # "loaded from PATH", "validated choice" or "fitted"; the model's name follows
    name: str
    fan: FanChart
    history: pd.Series
    files: tuple[Path, ...]
    notes: tuple[str, ...]


def prepare_output(out: Path) -> None:
    """Create the output folder before any work, so that a path that cannot be written fails
    at once and says so."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".carbon-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write to the output folder {out}: {exc.strerror}"
        ) from None


def load_pinned(path: Path, allow_integrated: bool) -> VolatilityParams:
    """A pinned model.json, held to the same rule as a fit: integrated only when allowed."""
    try:
        params = VolatilityParams.from_json(path.read_text(encoding="utf-8"))
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    if not params.is_stationary and not allow_integrated:
        raise ModelError(
            f"{path}: the pinned model is integrated (persistence {params.persistence:.6f}); "
            "pass allow_nonstationary=True to simulate it"
        )
    return params


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
    min_observations: int = ADVISED_OBSERVATIONS,
    fmt: str = "auto",
    options: SourceOptions | None = None,
) -> SimulationRun:
    """Load the prices, fit (or load a pinned model), simulate and write the three files.

    With ``model`` and ``dist`` both ``"auto"`` the model is the one the rolling-origin
    validation ranks first (``desk.models.choice``; integrated fits included, since they were
    validated); naming either fits the lowest-BIC candidate among those named.

    A pinned model simulates from its own last close and date; the history drawn stops there,
    and a note says when the source goes further.
    """
    prepare_output(out)
    frame = load_sources((source,), rules, fmt, options)  # warnings: `carbon data show`
    calendar = calendar_for(rules.calendar)
    diagnostics = None
    notes: list[str] = []
    if pinned is not None:
        params = load_pinned(pinned, allow_integrated)
        how, name = f"loaded from {pinned}", params.name
        later = frame.index[frame.index > pd.Timestamp(params.last_date)]
        if len(later):
            notes.append(
                f"the pinned model ends on {params.last_date}; the {len(later)} later closes of "
                f"the source (to {later[-1].date()}) are not used"
            )
        frame = frame.loc[: params.last_date]
    elif model == "auto" and dist == "auto":
        choice = choose_model(
            frame["close"], calendar.session_gaps(pd.DatetimeIndex(frame.index)), rules,
            cache_dir=cache_folder(), seed=spec.seed,
        )  # fmt: skip
        params, diagnostics = choice.params, choice.diagnostics
        how, name = "validated choice", choice.name
        notes.append(f"model chosen by its validated forecasts: {choice.reason}")
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
        how, name = "fitted", params.name
    if thin:
        spec = dataclasses.replace(spec, unchanged_prob=params.unchanged_prob)
    fan = simulate_fan(params, spec)
    dates = _future_sessions(calendar, params.last_date, spec.days)
    table = fan.quantiles.copy()
    table.columns = [f"q{round(q * 100):02d}" for q in table.columns]
    table.insert(0, "date", dates.strftime("%Y-%m-%d"))
    table["mean"], table["std"] = fan.mean, fan.std
    history = _with_breaks(frame["close"], calendar)
    files = write_all_atomic(
        {
            out / "model.json": lambda path: path.write_text(params.to_json() + "\n"),
            out / "quantiles.csv": lambda path: table.to_csv(path, float_format="%.4f"),
            out / "fan.png": lambda path: _fan_chart(history, fan, dates, path),
        }
    )
    return SimulationRun(params, diagnostics, how, name, fan, frame["close"], files, tuple(notes))


def _with_breaks(close: pd.Series, calendar) -> pd.Series:
    """The closes with a NaN after every gap of more than five sessions, so that a chart does
    not draw a straight line across months without data."""
    gaps = calendar.session_gaps(pd.DatetimeIndex(close.index))
    breaks = close.index[gaps > 5] - pd.Timedelta(days=1)
    return pd.concat([close, pd.Series(float("nan"), index=breaks)]).sort_index()


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
