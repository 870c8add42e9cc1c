"""``carbon simulate``: fit the volatility model, simulate prices, write the fan chart, the
quantile table and the fitted model (the work is ``desk.models.simulate``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from desk.cli.common import (
    ADVISED_OBSERVATIONS,
    SOURCE_OPTION,
    given,
    out_option,
    read_options,
    seed_option,
    source_options,
)
from engine.markets import market_rules


@click.command(
    "simulate",
    short_help="Fit the volatility model and simulate prices: fan chart, quantiles, model.",
)
@SOURCE_OPTION
@read_options
@click.option(
    "--paths", type=click.IntRange(min=1), default=10_000, show_default=True, help="Price paths."
)
@click.option(
    "--days", type=click.IntRange(min=1), default=252, show_default=True, help="Trading days ahead."
)
@seed_option()
@out_option("simulation", "fan.png, quantiles.csv and model.json")
@click.option(
    "--model",
    type=click.Choice(["auto", "garch", "gjr"]),
    default="auto",
    show_default=True,
    help="Volatility model. auto with --dist auto: the candidate with the best validated "
    "forecasts (carbon model validate); otherwise the lowest BIC among those named.",
)
@click.option(
    "--dist",
    type=click.Choice(["auto", "normal", "t"]),
    default="auto",
    show_default=True,
    help="Innovations: normal or Student-t (auto: see --model).",
)
@click.option(
    "--allow-integrated",
    is_flag=True,
    help="Accept a fit with persistence 1 (integrated GARCH), as the real CEA history gives.",
)
@click.option(
    "--thin",
    is_flag=True,
    help="Add unchanged days at the fitted thin-trading rate (stale closes; this also narrows the "
    "horizon's spread, as the fit already counted those days as quiet).",
)
@click.option(
    "--model-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Simulate a pinned model (a model.json) instead of fitting one.",
)
@click.option(
    "--min-observations",
    type=click.IntRange(min=1),
    default=ADVISED_OBSERVATIONS,
    show_default=True,
    help="Fewest daily returns to fit on (arch advises 500).",
)
def simulate_command(
    source: str,
    market: str,
    paths: int,
    days: int,
    seed: int,
    out: Path,
    model: str,
    dist: str,
    allow_integrated: bool,
    thin: bool,
    model_file: Path | None,
    min_observations: int,
    fmt: str,
    **read: Any,
) -> None:
    """Fit the volatility model, simulate prices and write the fan chart (PNG), the quantile
    table (CSV) and the fitted model (JSON)."""
    from desk.models.simulate import run_simulation
    from engine.errors import ModelError
    from engine.simulate import SimulationSpec

    ctx = click.get_current_context()
    if model_file is not None:
        fitting = ("model", "dist", "min_observations")
        named = [f"--{n.replace('_', '-')}" for n in fitting if given(ctx, n)]
        if named:
            raise click.UsageError(f"{', '.join(named)} cannot be used with --model-file")
    rules = market_rules(market)
    spec = SimulationSpec(paths=paths, days=days, seed=seed, band=rules.daily_band)
    try:
        run = run_simulation(
            source,
            rules,
            spec,
            out,
            model=model,
            dist=dist,
            allow_integrated=allow_integrated,
            thin=thin,
            pinned=model_file,
            min_observations=min_observations,
            fmt=fmt,
            options=source_options(read),
        )
    except ModelError as exc:  # name the command line's options, not the Python arguments
        text = re.sub(r"pass min_observations=(\d+)", r"pass --min-observations \1", str(exc))
        text = text.replace("pass allow_nonstationary=True", "pass --allow-integrated")
        raise ModelError(text) from exc
    for note in run.notes:
        click.echo(f"note: {note}")
    p = run.params
    click.echo(
        f"model {run.name} ({run.how}) on closes to {p.last_date}: mu {p.mu:+.4f} %, "
        + (f"ar {p.ar:+.4f}, " if p.ar else "")
        + f"omega {p.omega:.4f}, alpha {p.alpha:.4f}, gamma {p.gamma:.4f}, beta {p.beta:.4f}"
        + (f", nu {p.nu:.2f}" if p.nu is not None else "")
        + f"; persistence {p.persistence:.4f}"
    )
    end = run.fan.quantiles.iloc[-1]
    click.echo(
        f"{paths:,} paths x {days} days, seed {seed}: close on day {days} "
        f"5 % {end[0.05]:.2f}, median {end[0.5]:.2f}, 95 % {end[0.95]:.2f} "
        f"({rules.currency}/t; last close {p.last_price:.2f})"
    )
    for path in run.files:
        click.echo(f"wrote {path}")
