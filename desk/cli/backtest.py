"""``carbon backtest``: a strategy on a price history (one cycle a year) or on simulated paths,
against the other rule strategies and "buy at the deadline" (the work is
``desk.cli.backtest_run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from desk.cli.common import (
    book_option,
    book_read_options,
    out_option,
    seed_option,
    source_options,
    sources_option,
)


@click.command(
    "backtest", short_help='Backtest a strategy against the others and "buy at the deadline".'
)
@click.option(
    "--strategy",
    required=True,
    help="deadline, even, reserve, forward, guard, optimised, or 'all' (every rule strategy).",
)
@click.option(
    "--params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A setting of the strategy (repeatable, or comma-separated), e.g. "
    "--params window=30,low=0.1.",
)
@sources_option(
    "'reference' or a price file; several are merged, the first preferred (the exchange's "
    "bulletins, then a Wind export: the full CEA history)."
)
@book_read_options
@book_option(required=False, default_help="the example power company")
@click.option(
    "--paths",
    type=click.IntRange(min=1),
    help="Simulate N paths of the book's own cycle instead of the history.",
)
@click.option(
    "--years",
    type=int,
    multiple=True,
    help="History mode: deadline years to play (default: every one covered).",
)
@seed_option()
@click.option(
    "--liquidity-share",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.2,
    show_default=True,
    help="Fills take at most this share of a day's volume.",
)
@click.option(
    "--fallback-liquidity",
    type=click.FloatRange(min=0, min_open=True),
    default=100_000.0,
    show_default=True,
    help="Tonnes a session where the prices have no volume (all simulated days).",
)
@click.option(
    "--impact",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.02,
    show_default=True,
    help="Price impact when a fill takes the whole cap.",
)
@click.option(
    "--carry-over",
    is_flag=True,
    help="History mode: chain the cycles (bank, shortfall and cash carried).",
)
@out_option("backtest", "ledger.csv, metrics.json, costs.csv and the plots")
def backtest_command(strategy: str, params: tuple[str, ...], sources: tuple[str, ...],
                     book_path: Path | None, paths: int | None, years: tuple[int, ...],
                     seed: int, liquidity_share: float, fallback_liquidity: float, impact: float,
                     carry_over: bool, out: Path, market: str | None,
                     fmt: str, **read: Any) -> None:  # fmt: skip
    """Backtest a strategy against the others and "buy at the deadline": compliance cost per
    cycle on the history (or its distribution on simulated paths), ledger, metrics and plots."""
    import pandas as pd

    from backtest.cycle import FillSettings
    from desk.cli.backtest_run import MN, BacktestRequest, run_backtest_command
    from strategies.registry import names

    if strategy != "all" and strategy not in names():
        raise click.BadParameter(
            f"{strategy!r}; known: all, {', '.join(names())}", param_hint="--strategy"
        )
    if paths is not None and (years or carry_over):
        raise click.UsageError("--years and --carry-over apply to the history, not to --paths")
    fills = FillSettings(
        liquidity_share=liquidity_share,
        fallback_liquidity_t=fallback_liquidity,
        impact=impact,
        carry_over=carry_over,
    )
    request = BacktestRequest(
        strategy=strategy,
        params=params,
        sources=sources,
        book=book_path,
        paths=paths,
        years=years,
        seed=seed,
        out=out,
        fills=fills,
        market=market,
        fmt=fmt,
        options=source_options(read),
    )
    run = run_backtest_command(request)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        if run.mode == "history":
            click.echo(
                f"compliance cost, {run.currency} m (need kt, average close {run.currency}/t):"
            )
            click.echo(run.table.round(2).to_string())
        else:
            columns = ["mean_cost", "var", "cvar", "objective", "shortfall_probability"]
            shown = run.table[columns].copy()
            shown[columns[:4]] /= MN
            versus = run.metrics["versus_best_other"]
            click.echo(
                f"{paths:,} paths, cost {run.currency} m (VaR/CVaR 95 %; objective = mean + "
                f"{run.metrics['objective']['lambda']:g} x CVaR):"
            )
            click.echo(shown.astype(float).round(3).to_string())
            if versus is not None:
                click.echo(
                    f"{shown.index[0]} against the best other, {versus['rule']}: "
                    f"{versus['difference'] / MN:+,.3f} m a path (paired t = "
                    f"{versus['t_stat']:.1f}), objective {versus['plan_objective'] / MN:,.3f} "
                    f"against {versus['rule_objective'] / MN:,.3f}"
                )
    for path in run.files:
        click.echo(f"wrote {path}")
