"""``carbon optimise``: tomorrow's plan for one compliance book (the work is
``desk.cli.optimise_run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from desk.cli.common import (
    OPTIMISER_DEFAULTS,
    RUN_DEFAULTS,
    SOURCE_OPTION,
    book_option,
    book_read_options,
    out_option,
    seed_option,
    source_options,
)


@click.command(
    "optimise",
    short_help="Tomorrow's plan for one compliance book, with its risk out of sample.",
)
@book_option(required=True)
@SOURCE_OPTION
@book_read_options
@click.option("--paths", type=click.IntRange(min=10), default=RUN_DEFAULTS["paths"],
              show_default=True,
              help="Simulated paths to the deadline (the out-of-sample set; the nightly's "
                   "default, so both give the same plan).")  # fmt: skip
@click.option("--scenarios", type=click.IntRange(min=2), default=RUN_DEFAULTS["scenarios"],
              show_default=True,
              help="Scenarios the optimiser sees (reduced from the paths).")  # fmt: skip
@click.option("--tree-leaves", type=click.IntRange(1, 4096),
              default=OPTIMISER_DEFAULTS["tree_leaves"], show_default=True,
              help="Groups of scenarios at the deadline from the tree's price splits "
                   "(the largest power of two within it).")  # fmt: skip
@seed_option("scenarios and plan")
@click.option("--every", type=click.IntRange(min=1), default=RUN_DEFAULTS["every"],
              show_default=True,
              help="Trading days between decision dates.")  # fmt: skip
@click.option("--lambda", "lambda_", type=click.FloatRange(min=0),
              default=OPTIMISER_DEFAULTS["lambda_"], show_default=True,
              help="Risk aversion: CVaR 95 % weight.")  # fmt: skip
@click.option("--frontier", is_flag=True, help="Also sweep lambda and draw the frontier.")
@click.option("--liquidity", type=click.FloatRange(min=0, min_open=True),
              default=OPTIMISER_DEFAULTS["liquidity_t"], show_default=True,
              help="Most tonnes traded per decision date and side.")  # fmt: skip
@click.option("--impact", type=click.FloatRange(min=0), default=OPTIMISER_DEFAULTS["impact"],
              show_default=True,
              help="Market impact at full liquidity, as a share of the price.")  # fmt: skip
@out_option("plan", "the plan and the frontier")
def optimise_command(
    book_path: Path,
    source: str,
    paths: int,
    scenarios: int,
    tree_leaves: int,
    seed: int,
    every: int,
    lambda_: float,
    frontier: bool,
    liquidity: float,
    impact: float,
    out: Path,
    market: str | None,
    fmt: str,
    **read: Any,
) -> None:
    """Tomorrow's plan for a compliance book: trades, hedge, CCER use, reserve, cost and risk,
    shadow prices, and the plan's cost out of sample on every simulated path."""
    from desk.cli.common import hedge_lines
    from desk.cli.optimise_run import OptimiseRequest, run_optimise
    from engine.optimiser_settings import OptimiserSettings

    request = OptimiseRequest(
        book=book_path, source=source, out=out, paths=paths, scenarios=scenarios, seed=seed,
        every=every, frontier=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0) if frontier else (),
        settings=OptimiserSettings(lambda_=lambda_, liquidity_t=liquidity, impact=impact,
                                   tree_leaves=tree_leaves),
        market=market, fmt=fmt, options=source_options(read),
    )  # fmt: skip
    run = run_optimise(request)
    p, ev, money = run.plan, run.evaluation, run.currency
    click.echo(
        f"today: buy {p.buy_today_t:,.0f} t, sell {p.sell_today_t:,.0f} t, forward "
        f"{p.forward_t:,.0f} t, CCER {p.ccer_today_t:,.0f} t "
        f"({run.days_to_deadline} trading days to the deadline)"
    )
    for line in hedge_lines(p, money):
        click.echo(f"  {line}")
    click.echo(
        f"in sample ({scenarios} scenarios): E[cost] {money} {p.expected_cost:,.0f}, CVaR95 "
        f"{money} {p.cvar:,.0f}, P(shortfall) {p.shortfall_probability:.1%}"
    )
    click.echo(
        f"out of sample ({paths:,} paths): E[cost] {money} {ev.expected_cost:,.0f}, CVaR95 "
        f"{money} {ev.cvar:,.0f}, P(shortfall) {ev.shortfall_probability:.1%}, "
        f"E[penalty] {money} {ev.expected_penalty:,.0f}"
    )
    for path in run.files:
        click.echo(f"wrote {path}")
