"""The ``carbon`` command line.

Errors print one line on stderr and exit with a code of ``desk.exit_codes``; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from desk import exit_codes
from engine.errors import ConfigurationError
from engine.markets import MARKETS, market_rules
from market_data import (
    FORMATS,
    REFERENCE,
    DataError,
    DataWarning,
    SourceOptions,
    check,
    load,
    summarise,
)

MARKET_OPTION = click.option(
    "--market",
    type=click.Choice(sorted(MARKETS), case_sensitive=False),
    default="cea",
    show_default=True,
    help="The market whose rules (band, calendar, currency) apply to the data.",
)
FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="The file's layout: Wind export, exchange bulletins, ICAP export or plain date/price.",
)
SEGMENT_OPTION = click.option(
    "--segment",
    type=click.Choice(["total", "listed", "block"]),
    default="total",
    show_default=True,
    help="Wind exports with listing and block trades: which series to read.",
)
SYSTEM_OPTION = click.option(
    "--system", default=None, help="ICAP exports: words of the system's name (default by market)."
)


class CarbonGroup(click.Group):
    """Turns the errors a user can fix into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            code = _exit_code(exc)
            text = str(exc) if code != exit_codes.FAILURE else f"{type(exc).__name__}: {exc}"
            click.echo(f"error: {text}", err=True)
            if code == exit_codes.FAILURE:
                click.echo("(run again with --debug for the traceback)", err=True)
            ctx.exit(code)


def _exit_code(exc: Exception) -> int:
    if isinstance(exc, DataError):
        return exit_codes.DATA
    if isinstance(exc, ConfigurationError):
        return exit_codes.CONFIG
    return exit_codes.FAILURE


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
    3 bad or missing market data, 4 impossible configuration.
    """
    ctx.ensure_object(dict)["debug"] = debug


@cli.group(cls=CarbonGroup)
def data() -> None:
    """Market data: look at a price history, or check a file before using it."""


@data.command("show")
@click.option(
    "--source",
    default=REFERENCE,
    show_default=True,
    help="'reference' for the embedded reference market, or the path of a price file.",
)
@MARKET_OPTION
@FORMAT_OPTION
@SEGMENT_OPTION
@SYSTEM_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def data_show(
    source: str, market: str, fmt: str, segment: str, system: str | None, as_json: bool
) -> None:
    """Summarise a price history: range, rows, last close, returns, gaps and warnings."""
    rules = market_rules(market)
    options = SourceOptions(segment=segment, system=system)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # listed in the summary instead
        frame = load(source, market=rules, format=fmt, options=options)  # type: ignore[arg-type]
    summary = summarise(frame, rules)
    if as_json:
        click.echo(json.dumps(_finite(summary.to_dict())))
        return
    _print_summary(summary)


def _finite(value: Any) -> Any:
    """JSON has no NaN: NaN becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _print_summary(summary: Any) -> None:
    console = Console()
    unit = f"{summary.currency}/t"
    table = Table(title=f"{summary.market.upper()} prices from {summary.source}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("range", f"{summary.first} to {summary.last}")
    table.add_row("rows", f"{summary.rows:,}")
    table.add_row("last close", f"{summary.last_close:,.2f} {unit}")
    table.add_row("low / high close", f"{summary.min_close:,.2f} / {summary.max_close:,.2f} {unit}")
    table.add_row(
        "daily log return",
        f"mean {summary.mean_return_pct:+.3f}%, s.d. {summary.daily_vol_pct:.2f}% "
        f"({summary.annual_vol_pct:.1f}% a year)",
    )
    table.add_row(
        "largest moves",
        f"{summary.largest_rise_pct:+.2f}% / {summary.largest_fall_pct:+.2f}% "
        "between consecutive trading days",
    )
    table.add_row("unchanged closes", f"{summary.unchanged_share_pct:.1f}% of days")
    table.add_row(
        "gaps",
        f"{summary.sessions_missing:,} of {summary.sessions_expected:,} trading days missing",
    )
    for gap in summary.longest_gaps:
        table.add_row("", f"{gap.missing_sessions} missing between {gap.after} and {gap.before}")
    for day, before, after in summary.basis_changes:
        table.add_row("price basis", f"{before} -> {after} on {day}")
    table.add_row("warnings", str(len(summary.warnings)))
    console.print(table)
    for text in summary.warnings[:5]:
        console.print(f"warning: {text}", style="yellow", markup=False, highlight=False)
    if len(summary.warnings) > 5:
        console.print(f"... and {len(summary.warnings) - 5} more warnings", style="yellow")


@data.command("validate")
@click.argument("path", type=click.Path(dir_okay=False))
@MARKET_OPTION
@FORMAT_OPTION
@SEGMENT_OPTION
@SYSTEM_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line per problem.")
def data_validate(
    path: str, market: str, fmt: str, segment: str, system: str | None, as_json: bool
) -> None:
    """Check a price file; list every problem with its row, column and value.

    Exits 3 when the file has errors (warnings alone exit 0).
    """
    options = SourceOptions(segment=segment, system=system)  # type: ignore[arg-type]
    report = check(path, market=market, format=fmt, options=options)  # type: ignore[arg-type]
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
            click.echo(json.dumps(_finite(record), default=str))
    else:
        for p in report.problems:
            click.echo(f"{p.severity}: {p}")
        errors, warns = len(report.errors), len(report.warnings)
        click.echo(
            f"{path}: {report.rows:,} rows read, {errors} error{'s' if errors != 1 else ''}, "
            f"{warns} warning{'s' if warns != 1 else ''}"
        )
    if not report.ok:
        sys.exit(exit_codes.DATA)


def main() -> None:
    cli(prog_name="carbon")
