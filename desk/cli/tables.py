"""What the commands print for people: rich's console for a command's output and the tables.

rich is imported here, not by ``desk.cli.common``, so that ``--help`` does not load it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console


class OutputConsole(Console):
    """rich's console for a command's output. A reader that goes away ends the command as it
    ends the others, with ``PIPE_CLOSED`` (rich's own console exits 1, the code for a bug)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError("the reader of standard output went away")


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
    header: bool = True,
    styles: Mapping[str, str] | None = None,
) -> None:
    """Print rows for people. On a terminal: a rich table as wide as the terminal, the last
    column (a message, a value) folded to fit. Elsewhere (a pipe, a file, cron mail): plain
    columns two spaces apart, the last one unpadded, no line longer than its content. ``styles``
    colours whole cells by their text on a terminal (``{"critical": "bold red"}``)."""
    rows = [list(row) for row in rows]
    console = OutputConsole()
    if console.is_terminal:
        from rich import box
        from rich.table import Table

        table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_header=header)
        for i, name in enumerate(columns):
            last = i == len(columns) - 1
            table.add_column(name, no_wrap=not last, overflow="fold" if last else "ellipsis")
        for row in rows:
            table.add_row(*(f"[{styles[c]}]{c}[/]" if styles and c in styles else c for c in row))
        console.print(table)
        return
    lines = [list(columns)] if header else []
    lines += rows
    widths = [max((len(line[i]) for line in lines), default=0) for i in range(len(columns) - 1)]
    text = [title] if title else []
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        text.append("  ".join([*cells, line[-1]]).rstrip())
    console.print("\n".join(text), markup=False, highlight=False, soft_wrap=True)


PERCENT = {"move", "coverage", "floor_share", "ltv", "trigger_ltv", "call_ltv", "band",
           "threshold", "critical", "raise_reserve_share"}  # fmt: skip
PRICES = {"close", "previous_close", "reference_price", "price", "limit_price",
          "price_at_trigger", "price_at_call", "window_low", "window_high"}  # fmt: skip
MONEY = {"loan", "gap_value", "collateral_value", "repay_to_trigger"}
TIMES = {"ratio", "ratio_threshold", "critical_ratio"}


def figure(name: str, value: Any, currency: str = "") -> str:
    """An alert's figure in the units a person reads: fractions as per cent (``move -23.7 %``),
    prices in currency per tonne, money in currency, tonnes, sessions, ratios."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    unit = f" {currency}" if currency else ""
    if name in PERCENT:
        return f"{value * 100:{'+' if name == 'move' else ''}.1f} %"
    if name.endswith("_pct"):
        return f"{value:.2f} %"
    if name in PRICES:
        return f"{value:,.2f}{unit}/t" if currency else f"{value:,.2f}"
    if name in MONEY:
        return f"{value:,.0f}{unit}"
    if name.endswith("_t"):
        return f"{value:,.0f} t"
    if name in TIMES:
        return f"{value:.2f} x"
    if name.endswith("_sessions"):
        return f"{value:,}"
    if name == "days_to_deadline":
        return f"{value:,} day{'' if value == 1 else 's'}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def currency_of(instrument: str) -> str:
    """The price currency of an alert's instrument (``CEA-reference``, ``CEA:plant-a``: CNY);
    empty when the instrument names no known market."""
    from engine.markets import MARKETS, NO_CURRENCY

    code = instrument.replace(":", "-").split("-")[0].lower()
    rules = MARKETS.get(code)
    return "" if rules is None or rules.currency == NO_CURRENCY else rules.currency


def newest_first(alerts: Iterable[Any]) -> list[Any]:
    """Alerts newest trading date first, then newest id: the order of the report too."""
    return sorted(alerts, key=lambda a: (a.date, a.id), reverse=True)
