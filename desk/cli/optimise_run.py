"""``carbon optimise``: from a book and prices to tomorrow's plan, its risk and its frontier.

The pipeline: load the book and the prices of its market; fit the volatility model; simulate
the trading days to the surrender deadline; sample the paths into scenarios and reduce them;
optimise on the reduced set; evaluate today's decision out of sample on all the paths; write
the plan (JSON, CSV) and, with a frontier, its plot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and under cron

import matplotlib.pyplot as plt
import pandas as pd

from desk.config.book import load_book
from desk.config.desk import MarketSource, RunSettings
from desk.config.sources import book_market
from desk.models.choice import cache_folder
from desk.models.simulate import prepare_output
from desk.nightly.night import Timings
from desk.nightly.run import plan_book, prepare_market
from desk.report import draw_frontier
from desk.store.files import write_all_atomic
from engine.errors import ConfigurationError
from engine.evaluate import Evaluation, evaluate_plan
from engine.jsonable import jsonable
from engine.optimiser_settings import OptimiserSettings
from engine.plan import Plan
from market_data import SourceOptions


@dataclass(frozen=True)
class OptimiseRequest:
    """What ``carbon optimise`` was asked for (see its options)."""

    book: Path
    source: str
    out: Path
    paths: int = RunSettings.paths  # the nightly's defaults: both give the same plan
    scenarios: int = RunSettings.scenarios
    seed: int = RunSettings.seed
    every: int = RunSettings.every
    frontier: tuple[float, ...] = ()
    settings: OptimiserSettings = field(default_factory=OptimiserSettings)  # engine defaults
    market: str | None = None  # --market: may only confirm the book's
    fmt: str | None = None
    options: SourceOptions | None = None


@dataclass(frozen=True)
class OptimiseRun:
    plan: Plan
    evaluation: Evaluation
    frontier: pd.DataFrame | None
    files: tuple[Path, ...]
    days_to_deadline: int
    currency: str  # the market's (its rules')


def run_optimise(request: OptimiseRequest) -> OptimiseRun:
    prepare_output(request.out)
    book = load_book(request.book)
    code = book_market(request.market, book)
    source = MarketSource(code, request.source)
    market = prepare_market(
        source, None, [book.deadline], request.paths, request.seed, Timings(), cache_folder(),
        request.fmt, request.options,
    )  # fmt: skip
    index, days = market.prices.index, len(market.sessions)
    if days < 2:
        raise ConfigurationError(
            f"the prices end on {index[-1].date()}, {days} trading day(s) before the deadline "
            f"{book.deadline}: nothing is left to plan"
        )
    optimiser, settings, full, plan = plan_book(
        book, market, days, seed=request.seed, every=request.every, scenarios=request.scenarios,
        settings=request.settings,
    )  # fmt: skip
    evaluation = evaluate_plan(book, plan, full, settings)
    frontier = optimiser.frontier(request.frontier) if request.frontier else None
    record = {
        "book": str(request.book),
        "entity": book.entity,
        "prices_to": str(index[-1].date()),
        "deadline": str(book.deadline),
        "trading_days_to_deadline": days,
        "model": market.params.to_dict(),
        "paths": request.paths,
        "scenarios": optimiser.scenarios.count,
        "seed": request.seed,
        "currency": market.rules.currency,
        "plan": plan.to_dict(),
        "out_of_sample": evaluation.to_dict(),
    }
    writers: dict[Path, Any] = {
        request.out / "plan.json": lambda path: path.write_text(
            json.dumps(jsonable(record), indent=2) + "\n"
        ),
        request.out / "plan.csv": lambda path: plan.schedule().to_csv(path, float_format="%.2f"),
    }
    if frontier is not None:
        writers[request.out / "frontier.csv"] = lambda path: frontier.to_csv(path)
        writers[request.out / "frontier.png"] = lambda path: _frontier_chart(frontier, path)
    files = write_all_atomic(writers)
    return OptimiseRun(plan, evaluation, frontier, files, days, market.rules.currency)


def _frontier_chart(frontier: pd.DataFrame, path: Path) -> None:
    fig = draw_frontier(frontier)
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
