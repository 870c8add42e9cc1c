"""``carbon data``: look at a price history (``show``), or check a file before using it
(``validate``)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click

from desk import exit_codes
from desk.cli.common import (
    SOURCE_OPTION,
    CarbonGroup,
    read_options,
    source_options,
)
from desk.config.sources import load_sources
from engine.jsonable import jsonable
from engine.markets import market_rules


@click.group(cls=CarbonGroup)
def data() -> None:
    """Market data: look at a price history, or check a file before using it."""


@data.command("show")
@SOURCE_OPTION
@read_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def data_show(source: str, market: str, fmt: str, as_json: bool, **kwargs: Any) -> None:
    """Summarise a price history: range, rows, last close, returns, gaps and warnings."""
    from market_data import summarise

    rules = market_rules(market)
    # The warnings are listed in the summary instead.
    frame = load_sources((source,), rules, fmt, source_options(kwargs))
    summary = summarise(frame, rules)
    if as_json:
        click.echo(json.dumps(jsonable(summary.to_dict())))
        return
    _print_summary(summary)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _number(value: float, spec: str, suffix: str = "") -> str:
    return "n/a" if not math.isfinite(value) else f"{value:{spec}}{suffix}"


def _print_summary(summary: Any) -> None:
    from desk.cli.tables import print_table

    unit = f" {summary.currency}/t"
    rows: list[tuple[str, str]] = []

    def add(what: str, value: str) -> None:
        rows.append((what, value))

    add("range", f"{summary.first} to {summary.last}")
    add("rows", f"{summary.rows:,}")
    add("last close", _number(summary.last_close, ",.2f", unit))
    add(
        "low / high close",
        f"{_number(summary.min_close, ',.2f')} / {_number(summary.max_close, ',.2f', unit)}",
    )
    add(
        "daily log return",
        f"mean {_number(summary.mean_return_pct, '+.3f', '%')}, "
        f"s.d. {_number(summary.daily_vol_pct, '.2f', '%')} "
        f"({_number(summary.annual_vol_pct, '.1f', '%')} a year)",
    )
    add(
        "largest moves",
        f"{_number(summary.largest_rise_pct, '+.2f', '%')} / "
        f"{_number(summary.largest_fall_pct, '+.2f', '%')} between consecutive trading days",
    )
    add("unchanged closes", _number(summary.unchanged_share_pct, ".1f", "% of days"))
    add(
        "gaps",
        f"{summary.sessions_missing:,} of {summary.sessions_expected:,} trading days missing",
    )
    for gap in summary.longest_gaps:
        add("", f"{gap.missing_sessions} missing between {gap.after} and {gap.before}")
    for day, before, after in summary.basis_changes:
        add("price basis", f"{before} -> {after} on {day}")
    add("warnings", str(len(summary.warnings)))
    if summary.flagged:
        kinds = ", ".join(f"{check} {count:,}" for check, count in summary.flagged)
        add("flagged", f"{_plural(sum(c for _, c in summary.flagged), 'row')} ({kinds})")
    if summary.left_out:
        add("left out", f"{_plural(len(summary.left_out), 'outlier')} (--keep-outliers keeps them)")
    title = f"{summary.market.upper()} prices from {summary.source}"
    print_table(["what", "value"], rows, title=title, header=False)
    for text in summary.warnings[:5]:  # plain lines: one warning a line, for grep
        click.echo(f"warning: {text}")
    if len(summary.warnings) > 5:
        click.echo(f"... and {_plural(len(summary.warnings) - 5, 'more warning')}")


@data.command("validate")
@click.argument("path")
@read_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line per problem.")
def data_validate(path: str, market: str, fmt: str, as_json: bool, **kwargs: Any) -> None:
    """Check the price file PATH; list every problem with its row, column and value.

    Exits 3 when the file has errors (warnings alone exit 0).
    """
    from market_data import check

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
            click.echo(json.dumps(jsonable(record)))
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
