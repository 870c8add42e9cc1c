"""``carbon model validate``: the candidates' forecasts scored by rolling origins (the work is
``desk.models.validate``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from desk import exit_codes
from desk.cli.common import (
    CANDIDATES,
    HORIZONS,
    CarbonGroup,
    out_option,
    read_options,
    seed_option,
    source_options,
    sources_option,
)
from engine.markets import market_rules


@click.group(cls=CarbonGroup)
def model() -> None:
    """Volatility models: validate them on a price history by their forecasts."""


@model.command("validate")
@sources_option("'reference' or a price file; several are merged, the first preferred.")
@read_options
@click.option(
    "--models",
    default=",".join(CANDIDATES),
    show_default=True,
    help="Comma-separated candidates to validate and rank.",
)
@click.option(
    "--origins",
    default="month-end",
    show_default=True,
    help="'month-end', or comma-separated dates with a close (YYYY-MM-DD).",
)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First month-end origin.")
@click.option("--max-origins", type=click.IntRange(min=1), help="Keep the latest N origins.")
@click.option(
    "--horizons",
    default=",".join(map(str, HORIZONS)),
    show_default=True,
    help="Sessions ahead to score (the longest sets how far each origin simulates).",
)
@click.option(
    "--paths",
    type=click.IntRange(min=100),
    default=10_000,
    show_default=True,
    help="Simulated paths per origin and candidate.",
)
@seed_option("scores")
@click.option(
    "--min-observations",
    type=click.IntRange(min=100),
    default=250,
    show_default=True,
    help="Fewest daily returns a fit at an origin needs.",
)
@out_option("validation", "validation.html, scores.csv and summary.json")
def model_validate_command(
    sources: tuple[str, ...],
    market: str,
    fmt: str,
    models: str,
    origins: str,
    since: Any,
    max_origins: int | None,
    horizons: str,
    paths: int,
    seed: int,
    min_observations: int,
    out: Path,
    **kwargs: Any,
) -> None:
    """Refit each candidate at every origin on the data up to it, simulate ahead, and score
    the forecasts against what happened: band coverage, PIT, CRPS, VaR backtests (Kupiec,
    Christoffersen, Basel traffic light). Ranks the candidates by out-of-sample CRPS.
    Exits 9 when the chosen model is in the Basel red zone."""
    import pandas as pd

    from desk.cli.tables import print_table
    from desk.config.sources import load_sources
    from desk.models.simulate import prepare_output
    from desk.models.validate import validate_prices, write_validation
    from engine.validation import ValidationSpec, candidate

    rules = market_rules(market)
    chosen = tuple(candidate(name) for name in models.split(",") if name.strip())
    try:
        steps = tuple(int(h) for h in horizons.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{horizons!r} is not a list of whole sessions", param_hint="--horizons"
        ) from None
    dates = None
    if origins != "month-end":
        try:
            dates = tuple(pd.Timestamp(d.strip()) for d in origins.split(","))
        except ValueError:
            raise click.BadParameter(
                f"{origins!r}: use 'month-end' or YYYY-MM-DD dates", param_hint="--origins"
            ) from None
    spec = ValidationSpec(
        horizons=steps,
        paths=paths,
        seed=seed,
        band=rules.daily_band,
        tick=rules.tick,
        min_observations=min_observations,
        origins=dates,
        max_origins=max_origins,
    )
    prepare_output(out)
    frame = load_sources(sources, rules, fmt, source_options(kwargs))
    result = validate_prices(
        frame, rules, spec, chosen, pd.Timestamp(since) if since is not None else None
    )
    files = write_validation(result, rules, " + ".join(sources), out)
    rows = []
    for name, row in result.summary.iterrows():
        rows.append(
            (
                str(row["rank"]),
                str(name),
                f"{row['score']:.3f}",
                f"{row['cover90_early']:.1%}",
                f"{row['cover90_all']:.1%}",
                row["zone"],
            )
        )
    print_table(["rank", "model", "score", "90 % band, 1-20", "90 % band, all", "zone"], rows)
    click.echo(f"chosen: {result.reason}")
    for path in files:
        click.echo(f"wrote {path}")
    if result.zone == "red":
        sys.exit(exit_codes.MODEL_RED)
