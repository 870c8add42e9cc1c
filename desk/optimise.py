"""``carbon optimise``: from a book and prices to tomorrow's plan, its risk and its frontier.

The pipeline: load the book and the prices of its market; fit the volatility model; simulate
the trading days to the surrender deadline; sample the paths into scenarios and reduce them;
optimise on the reduced set; evaluate today's decision out of sample on all the paths; write
the plan (JSON, CSV) and, with a frontier, its plot.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and under cron

import matplotlib.pyplot as plt
import pandas as pd

from desk.book_file import load_book
from desk.files import write_all_atomic
from desk.simulate import prepare_output
from engine.errors import ConfigurationError
from engine.evaluate import Evaluation, evaluate_plan
from engine.markets import market_rules
from engine.optimiser import ComplianceOptimiser, OptimiserSettings, Plan
from engine.scenario_build import reduce_scenarios, scenarios_from_paths
from engine.simulate import SimulationSpec, simulate_closes
from engine.volatility import fit_volatility
from market_data import DataWarning, calendar_for, load


@dataclass(frozen=True)
class OptimiseRequest:
    """What ``carbon optimise`` was asked for (see its options)."""

    book: Path
    source: str
    out: Path
    paths: int = 20_000
    scenarios: int = 200
    seed: int = 0
    every: int = 10
    lambda_: float = 1.0
    frontier: tuple[float, ...] = ()
    liquidity_t: float = 200_000.0
    impact: float = 0.02
    allow_integrated: bool = False


@dataclass(frozen=True)
class OptimiseRun:
    plan: Plan
    evaluation: Evaluation
    frontier: pd.DataFrame | None
    files: tuple[Path, ...]
    days_to_deadline: int


def run_optimise(request: OptimiseRequest) -> OptimiseRun:
    prepare_output(request.out)
    book = load_book(request.book)
    rules = market_rules(book.market)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # shown by `carbon data show`
        frame = load(request.source, market=rules)
    calendar = calendar_for(rules.calendar)
    index = pd.DatetimeIndex(frame.index)
    fit = fit_volatility(
        frame["close"],
        session_gaps=calendar.session_gaps(index),
        allow_nonstationary=request.allow_integrated,
    )
    days = len(calendar.sessions(calendar.next_session(index[-1]), book.deadline))
    if days < 2:
        raise ConfigurationError(
            f"the prices end on {index[-1].date()}, {days} trading day(s) before the deadline "
            f"{book.deadline}: nothing is left to plan"
        )
    spec = SimulationSpec(paths=request.paths, days=days, seed=request.seed, band=rules.daily_band)
    closes = simulate_closes(fit.params, spec)
    full = scenarios_from_paths(
        closes, fit.params.last_price, book, seed=request.seed, every=request.every
    )
    reduced = reduce_scenarios(full, min(request.scenarios, full.count))
    settings = OptimiserSettings(
        lambda_=request.lambda_, liquidity_t=request.liquidity_t, impact=request.impact
    )
    optimiser = ComplianceOptimiser(book, reduced, settings)
    plan = optimiser.solve()
    evaluation = evaluate_plan(book, plan, full, settings)
    frontier = optimiser.frontier(request.frontier) if request.frontier else None
    record = {
        "book": str(request.book),
        "entity": book.entity,
        "prices_to": str(index[-1].date()),
        "deadline": str(book.deadline),
        "trading_days_to_deadline": days,
        "model": fit.params.to_dict(),
        "paths": request.paths,
        "scenarios": reduced.count,
        "seed": request.seed,
        "plan": plan.to_dict(),
        "out_of_sample": evaluation.to_dict(),
    }
    writers: dict[Path, Any] = {
        request.out / "plan.json": lambda path: path.write_text(
            json.dumps(record, indent=2, default=float) + "\n"
        ),
        request.out / "plan.csv": lambda path: plan.schedule().to_csv(path, float_format="%.2f"),
    }
    if frontier is not None:
        writers[request.out / "frontier.csv"] = lambda path: frontier.to_csv(path)
        writers[request.out / "frontier.png"] = lambda path: _frontier_chart(frontier, path)
    files = write_all_atomic(writers)
    return OptimiseRun(plan, evaluation, frontier, files, days)


def _frontier_chart(frontier: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.plot(frontier["cvar"] / 1e6, frontier["expected_cost"] / 1e6, marker="o")
    for lam, row in frontier.iterrows():
        ax.annotate(f"λ={lam:g}", (row["cvar"] / 1e6, row["expected_cost"] / 1e6), fontsize=8)
    ax.set_xlabel("CVaR 95 % of compliance cost (CNY m)")
    ax.set_ylabel("expected compliance cost (CNY m)")
    ax.set_title("Cost / risk frontier")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
