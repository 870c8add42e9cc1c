"""The work of ``carbon backtest`` (its options are ``desk.cli.backtest``): a strategy on a
price history (one cycle a year) or on simulated paths, against the other rule strategies and
"buy at the deadline"; writes the ledger, the metrics and the plots.

History mode (default): the stated book of ``backtest.history`` in every deadline year the
prices cover. ``--paths N``: the book's own cycle on N paths simulated from a fit to the
prices, from the session after their last date to the deadline, with output-driven emissions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and under cron

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from backtest.cycle import Cycle, FillSettings
from backtest.event import run_backtest
from backtest.history import compare, cost_table, stated_cycles
from backtest.montecarlo import path_history, run_paths
from backtest.result import BacktestResult, PathResults
from backtest.versus import objective, versus_best_rule
from desk.config.book import load_book
from desk.config.desk import default_config_path
from desk.config.sources import book_market, load_sources
from desk.models.choice import cache_folder, choose_model
from desk.models.simulate import prepare_output
from desk.store.files import write_all_atomic
from engine.errors import ConfigurationError
from engine.jsonable import jsonable
from engine.markets import market_rules
from engine.simulate import SimulationSpec, simulate_closes
from market_data import REFERENCE, SourceOptions, calendar_for
from strategies.registry import make_strategy, parse_params
from strategies.rules import RULES

MN = 1e6
MAX_EVENT_PATHS = 2_000


@dataclass(frozen=True)
class BacktestRequest:
    """What ``carbon backtest`` was asked for (see its options)."""

    strategy: str
    params: tuple[str, ...] = ()
    sources: tuple[str, ...] = (REFERENCE,)
    book: Path | None = None
    paths: int | None = None
    years: tuple[int, ...] = ()
    seed: int = 0
    out: Path = Path("backtest")
    fills: FillSettings = field(default_factory=FillSettings)
    market: str | None = None  # the book's market when None
    fmt: str = "auto"
    options: SourceOptions = field(default_factory=SourceOptions)


@dataclass(frozen=True)
class BacktestRun:
    mode: str
    table: pd.DataFrame  # history: cost per year and strategy; paths: one summary row each
    metrics: dict[str, Any]
    files: tuple[Path, ...]
    currency: str  # the book's market's: costs in millions of it, prices in it per tonne


def default_book() -> Path:
    """The packaged example book (``carbon init`` writes it beside the example configuration)."""
    path = default_config_path().parent / "power_company_book.toml"
    if path.is_file():
        return path
    raise ConfigurationError("no default book file is installed: pass --book BOOK.toml")


def strategies_for(request: BacktestRequest) -> list[Any]:
    """The strategy asked for, then the other rules with their defaults (the comparison);
    ``all``: the rules, with ``--params`` refused."""
    params = parse_params(request.params)
    if request.strategy == "all":
        if params:
            raise ConfigurationError("--params needs one --strategy, not 'all'")
        return [make_strategy(name) for name in RULES]
    chosen = make_strategy(request.strategy, params)
    return [chosen, *(make_strategy(n) for n in RULES if n != chosen.name)]


def run_backtest_command(request: BacktestRequest) -> BacktestRun:
    prepare_output(request.out)
    book = load_book(request.book or default_book())
    prices = load_sources(
        request.sources,
        market_rules(book_market(request.market, book)),
        request.fmt,
        request.options,
    )
    strategies = strategies_for(request)
    if request.paths is None:
        return _history(request, book, prices, strategies)
    return _monte_carlo(request, book, prices, strategies)


def _history(request, book, prices, strategies) -> BacktestRun:
    rules = market_rules(book.market)
    cycles = stated_cycles(book, prices.index, years=request.years or None)
    gaps = calendar_for(rules.calendar).session_gaps(pd.DatetimeIndex(prices.index))
    results = compare(
        strategies, prices, cycles, market=rules.code, fills=request.fills, session_gaps=gaps
    )
    table = cost_table(results)
    baseline = results.get("deadline")
    chosen = results[strategies[0].name]
    metrics = {
        "mode": "history",
        "sources": list(request.sources),
        "book": book.entity,
        "cycles": [c.year for c in cycles],
        "strategy": chosen.metrics(baseline),
        "comparison": {n: r.metrics(baseline) for n, r in results.items()},
        "fills": asdict(request.fills),
    }
    ledger = pd.concat([r.ledger.assign(strategy=n) for n, r in results.items()])
    writers = {
        request.out / "ledger.csv": lambda p: ledger.to_csv(p, index=False, float_format="%.2f"),
        request.out / "metrics.json": lambda p: _json(metrics, p),
        request.out / "costs.csv": lambda p: table.to_csv(p, float_format="%.4f"),
        request.out / "cost_distribution.png": lambda p: _cost_bars(
            table, results, p, rules.currency
        ),
        request.out / "holdings.png": lambda p: _holdings(chosen, p, rules.currency),
    }
    return BacktestRun("history", table, metrics, write_all_atomic(writers), rules.currency)


def _monte_carlo(request, book, prices, strategies) -> BacktestRun:
    rules = market_rules(book.market)
    calendar = calendar_for(rules.calendar)
    index = pd.DatetimeIndex(prices.index)
    choice = choose_model(
        prices["close"], calendar.session_gaps(index), rules, cache_dir=cache_folder(),
        seed=request.seed,
    )  # fmt: skip
    sessions = calendar.sessions(calendar.next_session(index[-1]), book.deadline)
    if len(sessions) < 2:
        raise ConfigurationError(
            f"the prices end on {index[-1].date()}, {len(sessions)} session(s) before the "
            f"deadline {book.deadline}: nothing is left to backtest"
        )
    spec = SimulationSpec(
        paths=request.paths, days=len(sessions), seed=request.seed, band=rules.daily_band
    )
    paths = np.round(simulate_closes(choice.params, spec) / rules.tick) * rules.tick
    obligation = book.obligation.scenarios(request.paths, seed=request.seed)
    cycle = Cycle.from_book(book, start=sessions[0], true_up_date=sessions[len(sessions) // 2])
    prefix = prices["close"].iloc[-120:]
    slow = [s.name for s in strategies if not hasattr(s, "kernel")]
    if slow and request.paths > MAX_EVENT_PATHS:
        raise ConfigurationError(
            f"{', '.join(slow)} has no numba kernel: each path runs the event-driven "
            f"backtester, so --paths is limited to {MAX_EVENT_PATHS} for it"
        )
    # a re-planning strategy plans on the model the paths are drawn from, as the desk does
    strategies = [replace(s, given=choice.params) if hasattr(s, "given") else s for s in strategies]
    results: dict[str, PathResults] = {}
    for strategy in strategies:
        if hasattr(strategy, "kernel"):
            results[strategy.name] = run_paths(
                strategy,
                paths,
                cycle,
                prefix=prefix,
                sessions=sessions,
                emissions_t=obligation.emissions,
                true_up_t=obligation.true_up,
                market=rules.code,
                fills=request.fills,
            )
        else:
            results[strategy.name] = _path_by_path(
                strategy, paths, cycle, prefix, sessions, obligation, request.fills, rules.code
            )
    baseline = results.get("deadline")
    summaries = {n: r.summary(baseline) for n, r in results.items()}
    table = pd.DataFrame(summaries).T.drop(columns=["strategy"])
    # the chosen strategy against the best of the others, by E[cost] + lambda x CVaR, paired
    chosen = strategies[0]
    lambda_ = float(getattr(chosen, "lambda_", 1.0))
    table["objective"] = [objective(r.cost, lambda_, 0.95) for r in results.values()]
    others = {n: r for n, r in results.items() if n != chosen.name}
    versus = versus_best_rule(
        results[chosen.name].cost, others, lambda_=lambda_, alpha=0.95, currency=rules.currency
    ) if others else None  # fmt: skip
    first = replace(cycle, emissions_t=obligation.emissions[0], true_up_t=obligation.true_up[0])
    sample = run_backtest(
        strategies[0],
        path_history(prefix, sessions, paths[0]),
        first,
        market=rules.code,
        fills=request.fills,
    )
    costs = pd.DataFrame({n: r.cost for n, r in results.items()})
    metrics = {
        "mode": "paths",
        "sources": list(request.sources),
        "book": book.entity,
        "model": choice.params.to_dict(),
        "model_choice": choice.record(),
        "paths": request.paths,
        "seed": request.seed,
        "sessions": len(sessions),
        "from": str(sessions[0].date()),
        "deadline": str(book.deadline),
        "strategy": summaries[strategies[0].name],
        "comparison": summaries,
        "objective": {"lambda": lambda_, "alpha": 0.95, **table["objective"].to_dict()},
        "versus_best_other": None if versus is None else versus.to_dict(),
        "sample_path_ledger": "ledger.csv (path 0)",
        "fills": asdict(request.fills),
    }
    writers = {
        request.out / "ledger.csv": lambda p: sample.ledger.to_csv(
            p, index=False, float_format="%.2f"
        ),
        request.out / "metrics.json": lambda p: _json(metrics, p),
        request.out / "costs.csv": lambda p: costs.to_csv(
            p, index_label="path", float_format="%.2f"
        ),
        request.out / "cost_distribution.png": lambda p: _cost_histograms(
            results, p, rules.currency
        ),
        request.out / "holdings.png": lambda p: _holdings(sample, p, rules.currency),
    }
    return BacktestRun("paths", table, metrics, write_all_atomic(writers), rules.currency)


def _path_by_path(strategy, paths, cycle, prefix, sessions, obligation, fills, market):
    """A strategy without a kernel: the event-driven backtester on every path."""
    rows = []
    for i in range(paths.shape[0]):
        c = replace(cycle, emissions_t=obligation.emissions[i], true_up_t=obligation.true_up[i])
        r = run_backtest(
            strategy, path_history(prefix, sessions, paths[i]), c, market=market, fills=fills
        )
        row = r.cycles.iloc[0]
        rows.append(
            (
                row.cost,
                row.shortfall_t,
                row.penalty,
                row.banked_t,
                row.bought_t,
                row.sold_t,
                r.ledger["fee"].sum() if len(r.ledger) else 0.0,
            )
        )
    a = np.array(rows, dtype=np.float64)
    return PathResults(strategy.name, *(a[:, j].copy() for j in range(7)))


def _json(record: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(jsonable(record), indent=2) + "\n")


def _cost_bars(
    table: pd.DataFrame, results: dict[str, BacktestResult], path: Path, currency: str
) -> None:
    years = table.drop(index="total")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(results)
    x = np.arange(len(years))
    for j, name in enumerate(results):
        ax.bar(x + (j - (len(results) - 1) / 2) * width, years[name], width, label=name)
    ax.set_xticks(x, [str(y) for y in years.index])
    ax.set_xlabel("year traded (its 31 December is the surrender deadline)")
    ax.set_ylabel(f"compliance cost, {currency} m")
    ax.set_title("Compliance cost per cycle and strategy (stated book)", fontsize=10)
    ax.axhline(0, color="k", lw=0.6)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def _cost_histograms(results: dict[str, PathResults], path: Path, currency: str) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    every = np.concatenate([r.cost for r in results.values()]) / MN
    bins = np.linspace(*np.quantile(every, [0.002, 0.998]), 60)
    for name, r in results.items():
        s = r.summary()
        ax.hist(
            r.cost / MN,
            bins=bins,
            histtype="step",
            lw=1.4,
            label=f"{name}: mean {s['mean_cost'] / MN:.1f}, CVaR95 {s['cvar'] / MN:.1f}",
        )
    ax.set_xlabel(f"compliance cost, {currency} m")
    ax.set_ylabel("paths")
    ax.set_title(
        f"Cost distribution across strategies, {every.size // len(results):,} paths", fontsize=10
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def _holdings(result: BacktestResult, path: Path, currency: str) -> None:
    daily = result.daily
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    top.plot(daily.index, daily["close"], color="tab:blue", lw=1)
    top.set_ylabel(f"close, {currency}/t")
    top.set_title(f"{result.strategy}: price, holdings and trades", fontsize=10)
    bottom.plot(
        daily.index, daily["allowances_t"] / 1e3, color="tab:green", lw=1, label="allowances held"
    )
    due = daily["forwards_due_t"]
    if (due > 0).any():
        bottom.plot(daily.index, due / 1e3, color="tab:purple", lw=1, label="forwards due")
    trades = result.ledger[result.ledger["tonnes"] > 0]
    for side, colour in (("buy", "tab:green"), ("sell", "tab:red")):
        t = trades[trades["side"] == side]
        top.scatter(t["date"], t["price"], s=6, color=colour, label=side, zorder=3)
    top.legend(fontsize=8)
    bottom.set_ylabel("kt")
    bottom.legend(fontsize=8)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
