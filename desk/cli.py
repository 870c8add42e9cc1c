"""The ``carbon`` command line.

Errors print one line on stderr and exit with a code of ``desk.exit_codes``; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from desk import exit_codes
from desk.alerts_cli import alerts, audit_group
from desk.backtest_cli import backtest_command
from desk.cli_common import (
    SOURCE_OPTION,
    CarbonGroup,
    OutputConsole,
    book_read_options,
    finite,
    given,
    hedge_lines,
    load_sources,
    out_option,
    read_options,
    seed_option,
    source_options,
    sources_option,
)
from desk.nightly_cli import init_command, nightly_command
from engine.errors import ModelError
from engine.markets import market_rules
from engine.optimiser_settings import OptimiserSettings
from engine.optimiser_settings import OptimiserSettings as DEFAULT  # its defaults: the options'
from engine.validation.rolling import CANDIDATES, HORIZONS
from engine.volatility import ADVISED_OBSERVATIONS
from market_data import (
    check,
    summarise,
)


@click.group(
    name="carbon", cls=CarbonGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="carbon-desk")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """carbon desk: trading and risk for carbon allowances (CEA first, EUA second).

    \b
    Exit codes: 0 ok, 1 unexpected error, 2 wrong usage,
    3 bad or missing market data, 4 impossible configuration,
    5 no usable volatility model, 6 no feasible plan,
    7 a critical alert is open, 8 the audit chain is broken,
    9 the validated model is in the Basel red zone,
    141 the reader of the output went away (| head).
    """
    ctx.ensure_object(dict)["debug"] = debug


@cli.group(cls=CarbonGroup)
def data() -> None:
    """Market data: look at a price history, or check a file before using it."""


@data.command("show")
@SOURCE_OPTION
@read_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def data_show(source: str, market: str, fmt: str, as_json: bool, **kwargs: Any) -> None:
    """Summarise a price history: range, rows, last close, returns, gaps and warnings."""
    rules = market_rules(market)
    # The warnings are listed in the summary instead.
    frame = load_sources((source,), rules, fmt, source_options(kwargs))
    summary = summarise(frame, rules)
    if as_json:
        click.echo(json.dumps(finite(summary.to_dict())))
        return
    _print_summary(summary)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _number(value: float, spec: str, suffix: str = "") -> str:
    return "n/a" if not math.isfinite(value) else f"{value:{spec}}{suffix}"


def _print_summary(summary: Any) -> None:
    unit = f" {summary.currency}/t"
    table = Table(title=f"{summary.market.upper()} prices from {summary.source}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("range", f"{summary.first} to {summary.last}")
    table.add_row("rows", f"{summary.rows:,}")
    table.add_row("last close", _number(summary.last_close, ",.2f", unit))
    table.add_row(
        "low / high close",
        f"{_number(summary.min_close, ',.2f')} / {_number(summary.max_close, ',.2f', unit)}",
    )
    table.add_row(
        "daily log return",
        f"mean {_number(summary.mean_return_pct, '+.3f', '%')}, "
        f"s.d. {_number(summary.daily_vol_pct, '.2f', '%')} "
        f"({_number(summary.annual_vol_pct, '.1f', '%')} a year)",
    )
    table.add_row(
        "largest moves",
        f"{_number(summary.largest_rise_pct, '+.2f', '%')} / "
        f"{_number(summary.largest_fall_pct, '+.2f', '%')} between consecutive trading days",
    )
    table.add_row("unchanged closes", _number(summary.unchanged_share_pct, ".1f", "% of days"))
    table.add_row(
        "gaps",
        f"{summary.sessions_missing:,} of {summary.sessions_expected:,} trading days missing",
    )
    for gap in summary.longest_gaps:
        table.add_row("", f"{gap.missing_sessions} missing between {gap.after} and {gap.before}")
    for day, before, after in summary.basis_changes:
        table.add_row("price basis", f"{before} -> {after} on {day}")
    table.add_row("warnings", str(len(summary.warnings)))
    if summary.flagged:
        kinds = ", ".join(f"{check} {count:,}" for check, count in summary.flagged)
        table.add_row("flagged", f"{_plural(sum(c for _, c in summary.flagged), 'row')} ({kinds})")
    if summary.left_out:
        table.add_row(
            "left out", f"{_plural(len(summary.left_out), 'outlier')} (--keep-outliers keeps them)"
        )
    OutputConsole().print(table)
    for text in summary.warnings[:5]:  # plain lines: one warning a line, for grep
        click.echo(f"warning: {text}")
    if len(summary.warnings) > 5:
        click.echo(f"... and {_plural(len(summary.warnings) - 5, 'more warning')}")


@data.command("validate")
@click.argument("path")
@read_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line per problem.")
def data_validate(path: str, market: str, fmt: str, as_json: bool, **kwargs: Any) -> None:
    """Check a price file; list every problem with its row, column and value.

    Exits 3 when the file has errors (warnings alone exit 0).
    """
    rules = market_rules(market)
    report = check(path, market=rules, format=fmt, options=source_options(kwargs))  # type: ignore[arg-type]
    if as_json:
        for p in report.problems:
            record = {
                "severity": p.severity,
                "check": p.check,
                "source": p.source,
                "row": p.row,
                "column": p.column,
                "value": p.value,
                "message": p.message,
            }
            click.echo(json.dumps(finite(record), default=str))
    else:
        for p in report.problems:
            click.echo(f"{p.severity}: {p}")
        click.echo(
            f"{path}: {_plural(report.rows, 'row')} with prices, "
            f"{_plural(len(report.errors), 'error')}, {_plural(len(report.warnings), 'warning')} "
            f"(checked as {rules.code.upper()}; --market for another market)"
        )
    if not report.ok:
        sys.exit(exit_codes.DATA)


@cli.command("simulate")
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
    from desk.simulate import run_simulation
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
        f"omega {p.omega:.4f}, alpha {p.alpha:.4f}, gamma {p.gamma:.4f}, beta {p.beta:.4f}"
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


@cli.group(cls=CarbonGroup)
def model() -> None:
    """Volatility models: validate them on a price history by their forecasts."""


@model.command("validate")
@sources_option("'reference' or a price file; several are merged, the first preferred.")
@read_options
@click.option(
    "--models",
    default=",".join(c.name for c in CANDIDATES),
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

    from desk.cli_common import load_sources
    from desk.simulate import prepare_output
    from desk.validate import validate_prices, write_validation
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
    table = Table("rank", "model", "score", "90 % band, 1-20", "90 % band, all", "zone")
    for name, row in result.summary.iterrows():
        table.add_row(
            str(row["rank"]),
            str(name),
            f"{row['score']:.3f}",
            f"{row['cover90_early']:.1%}",
            f"{row['cover90_all']:.1%}",
            row["zone"],
        )
    OutputConsole().print(table)
    click.echo(f"chosen: {result.reason}")
    for path in files:
        click.echo(f"wrote {path}")
    if result.zone == "red":
        sys.exit(exit_codes.MODEL_RED)


@cli.command("optimise")
@click.option(
    "--book",
    "book_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The compliance book (TOML; see desk/defaults/power_company_book.toml).",
)
@SOURCE_OPTION
@book_read_options
@click.option("--paths", type=click.IntRange(min=10), default=20_000, show_default=True,
              help="Simulated paths to the deadline (the out-of-sample set).")  # fmt: skip
@click.option("--scenarios", type=click.IntRange(min=2), default=1_000, show_default=True,
              help="Scenarios the optimiser sees (reduced from the paths).")  # fmt: skip
@click.option("--tree-leaves", type=click.IntRange(1, 4096), default=DEFAULT.tree_leaves,
              show_default=True,
              help="Groups of scenarios at the deadline from the tree's price splits "
                   "(the largest power of two within it).")  # fmt: skip
@seed_option("scenarios and plan")
@click.option("--every", type=click.IntRange(min=1), default=10, show_default=True,
              help="Trading days between decision dates.")  # fmt: skip
@click.option("--lambda", "lambda_", type=click.FloatRange(min=0), default=DEFAULT.lambda_,
              show_default=True, help="Risk aversion: CVaR 95 % weight.")  # fmt: skip
@click.option("--frontier", is_flag=True, help="Also sweep lambda and draw the frontier.")
@click.option("--liquidity", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT.liquidity_t, show_default=True,
              help="Most tonnes traded per decision date and side.")  # fmt: skip
@click.option("--impact", type=click.FloatRange(min=0), default=DEFAULT.impact,
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
    from desk.optimise import OptimiseRequest, run_optimise

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


cli.add_command(alerts)
cli.add_command(audit_group)
cli.add_command(nightly_command)
cli.add_command(init_command)
cli.add_command(backtest_command)


def main() -> None:
    cli(prog_name="carbon")
