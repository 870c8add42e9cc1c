"""What the ``carbon`` commands share: the options defined once (``--seed``, ``--out``,
``--book``, ``--store``, the price sources and how to read them), and the group classes: one
turns the errors a user can fix into one line and an exit code, one imports a command only
when it is invoked.

This module and the command modules of ``desk.cli`` import no numerical library at their top:
``carbon X --help`` must answer at once (tests/benchmarks/test_cli_startup.py). The words the
options offer are therefore written here, and ``tests/desk/cli/test_help.py`` checks each
against the package that owns it.
"""

from __future__ import annotations

import importlib
import os
import select
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from desk import exit_codes
from desk.config.sources import READ_ARGS
from engine.errors import ConfigurationError, ModelError, OptimisationError
from engine.markets import MARKETS

# The vocabulary of the options (each checked against its owner by tests/desk/cli/test_help.py).
FORMATS: tuple[str, ...] = ("auto", "wind", "edb", "seee", "icap", "plain")  # market_data.FORMATS
REFERENCE = "reference"  # market_data.REFERENCE
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")  # engine.alerts.SEVERITIES
STATES: tuple[str, ...] = ("open", "acknowledged", "resolved")  # desk.store.alerts.STATES
CANDIDATES: tuple[str, ...] = (  # engine.validation.CANDIDATES, by name
    "garch-normal", "gjr-normal", "garch-t", "gjr-t", "garch-normal-vt", "gjr-normal-vt",
    "garch-fhs", "gjr-fhs", "garch-fhs-vt", "gjr-fhs-vt", "garch-fhs-ar", "garch-fhs-vt-ar",
    "garch-fhs-tm", "garch-fhs-vt-tm",
    "fallback",
)  # fmt: skip
HORIZONS: tuple[int, ...] = (1, 5, 10, 20, 60, 250)  # engine.validation.HORIZONS
ADVISED_OBSERVATIONS = 500  # engine.volatility.ADVISED_OBSERVATIONS
# carbon optimise's defaults: the nightly's (desk.config.desk.RunSettings) and the optimiser's
# (engine.optimiser_settings.OptimiserSettings), so that both commands give the same plan
RUN_DEFAULTS = {"paths": 100_000, "scenarios": 1_000, "every": 10}
OPTIMISER_DEFAULTS = {"lambda_": 1.0, "liquidity_t": 200_000.0, "impact": 0.02, "tree_leaves": 64}

MARKET_OPTION = click.option(
    "--market",
    type=click.Choice(sorted(MARKETS), case_sensitive=False),
    default="cea",
    show_default=True,
    help="The market whose rules (band, calendar, currency) apply to the data.",
)
SOURCE_OPTION = click.option(
    "--source",
    default=REFERENCE,
    show_default=True,
    help="'reference' for the embedded reference market, or the path of a price file.",
)
STORE_OPTION = click.option(
    "--store",
    "store",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The store file, or 'user' for the per-user store (~/.local/share/carbon-desk/"
    "store.sqlite). Default: $CARBON_STORE, then [run] store of --config, then store.sqlite "
    "beside --config (in the working directory without it).",
)


def book_option(required: bool, default_help: str = ""):
    """``--book``: the compliance book (TOML)."""
    return click.option(
        "--book", "book_path", required=required,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The compliance book (TOML; see desk/defaults/power_company_book.toml)"
        + (f"; default: {default_help}." if default_help else "."),
    )  # fmt: skip


def seed_option(what: str = "paths"):
    """``--seed``: the same seed gives the same ``what``."""
    return click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0,
                        show_default=True, help=f"The same seed, the same {what}.")  # fmt: skip


def out_option(default: str | None, what: str):
    """``--out``: the folder a command writes ``what`` into (``default`` None: the command
    says in ``what`` where they go without it)."""
    return click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                        default=None if default is None else Path(default),
                        show_default=default is not None,
                        help=f"Folder for {what}.")  # fmt: skip


def sources_option(default_help: str):
    """``--source`` given several times: the sources are merged, the first preferred."""
    return click.option("--source", "sources", multiple=True, default=(REFERENCE,),
                        show_default=True, help=default_help)  # fmt: skip


BOOK_MARKET_OPTION = click.option(
    "--market",
    type=click.Choice(sorted(MARKETS), case_sensitive=False),
    default=None,
    help="The market whose rules apply to the prices (default: the book's market).",
)
READ_OPTIONS = (
    click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="auto",
        show_default=True,
        help="The file's layout: Wind export, Wind EDB export, exchange bulletins, ICAP export "
        "or date/price (ICE-style futures files too); a workbook (.xlsx, .xls) in any of them.",
    ),
    click.option(
        "--sheet",
        help="Workbooks with several sheets of data: the sheet's name or number (from 1).",
    ),
    click.option(
        "--segment",
        type=click.Choice(["total", "listed", "block"]),
        default="total",
        show_default=True,
        help="Wind exports with listing and block trades: which series to read.",
    ),
    click.option(
        "--instrument", help="Wind and EDB exports of several series: a word of the one wanted."
    ),
    click.option("--system", help="ICAP exports: the system's name (default: by market)."),
    click.option("--date-column", help="Plain tables: the date column's name."),
    click.option("--price-column", help="Plain tables: the price column's name."),
    click.option("--strict", is_flag=True, help="Warnings in the data are errors."),
    click.option(
        "--keep-outliers",
        is_flag=True,
        help="Keep the rows flagged as absurd closes, which are otherwise left out.",
    ),
)


def read_options(command):
    """The options that say which market's rules apply and how to read a price file: the same
    on every command that reads prices."""
    for option in reversed((MARKET_OPTION, *READ_OPTIONS)):
        command = option(command)
    return command


def book_read_options(command):
    """``read_options`` for a command whose book names the market (``--market`` defaults to
    it)."""
    for option in reversed((BOOK_MARKET_OPTION, *READ_OPTIONS)):
        command = option(command)
    return command


def source_options(kwargs: dict[str, Any]) -> Any:
    """The ``SourceOptions`` of a command's ``read_options`` (``--format`` and ``--market``
    aside)."""
    from market_data import SourceOptions

    return SourceOptions(
        segment=kwargs["segment"],
        instrument=kwargs["instrument"],
        system=kwargs["system"],
        date_column=kwargs["date_column"],
        price_column=kwargs["price_column"],
        sheet=kwargs["sheet"],
        strict=kwargs["strict"],
        keep_outliers=kwargs["keep_outliers"],
    )


class CarbonGroup(click.Group):
    """Turns the errors a user can fix into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if isinstance(exc, BrokenPipeError) and stdout_closed():  # `| head`: the reader left
                stream_gone()
                ctx.exit(exit_codes.PIPE_CLOSED)
            if ctx.obj and ctx.obj.get("debug"):
                raise
            code = _exit_code(exc)
            say(f"error: {_one_line(exc, code, ctx.meta.get(READ_ARGS, ()))}")
            if code == exit_codes.FAILURE:
                say("(run again with --debug for the traceback)")
            ctx.exit(code)


class LazyGroup(CarbonGroup):
    """A group whose commands are imported when invoked, not when the group is: ``lazy`` maps
    a command's name to ``("module:attribute", "short help")``. ``--help`` lists the commands
    with the short help of the table (``tests/desk/cli/test_help.py`` checks it is the
    command's own), so listing them imports none. ``list_commands`` and ``get_command`` work
    as click's; the commands loaded are kept apart from ``commands``, which documentation
    tools (mkdocs-click) would otherwise take, when not empty, for the whole list."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]] | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.loaded: dict[str, click.Command] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        if cmd_name not in self.loaded:
            module, _, attribute = self.lazy[cmd_name][0].partition(":")
            self.loaded[cmd_name] = getattr(importlib.import_module(module), attribute)
        return self.loaded[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name) or self.loaded.get(name)
            if command is None:
                rows.append((name, self.lazy[name][1]))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader went away (Linux reports POLLERR on the
    writing end then); False for a terminal, a file, or an output without a descriptor."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(event & select.POLLERR for _, event in poller.poll(0))


def stream_gone(stream: Any = None) -> None:
    """After a ``BrokenPipeError`` on ``stream`` (standard output by default): send what is
    still to be written to it, and the interpreter's last flush, to the null device, so that
    the command ends with the exit code it chose."""
    stream = sys.stdout if stream is None else stream
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # no descriptor: a test's captured output
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def say(message: str) -> None:
    """A line on stderr (errors, warnings, progress); a closed stderr silences the rest of
    them and is not an error of its own."""
    try:
        click.echo(message, err=True)
    except BrokenPipeError:
        stream_gone(sys.stderr)


def _one_line(exc: Exception, code: int, read: Sequence[str] = ()) -> str:
    if code == exit_codes.FAILURE:
        return f"{type(exc).__name__}: {exc}"
    problems = getattr(exc, "problems", ())
    if len(problems) > 1:
        command = shlex.join(["carbon", "data", "validate", problems[0].source, *read])
        return (
            f"{len(problems)} problems in market data; the first: {problems[0]} "
            f"({command} lists them all)"
        )
    return str(exc).replace("\n", " ")


def _exit_code(exc: Exception) -> int:
    data = sys.modules.get("market_data.errors")  # not imported: not a data error
    if data is not None and isinstance(exc, data.DataError):
        return exit_codes.DATA
    if isinstance(exc, ModelError):
        return exit_codes.MODEL
    if isinstance(exc, OptimisationError):
        return exit_codes.INFEASIBLE
    if isinstance(exc, ConfigurationError):
        return exit_codes.CONFIG
    return exit_codes.FAILURE


def given(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source != click.core.ParameterSource.DEFAULT


def hedge_lines(plan: Any, currency: str) -> list[str]:
    """One line per forward quote of a plan: the hedge, its price and what one more tonne on
    offer would be worth (``engine.forwards.ForwardHedge``)."""
    return [
        f"hedge {h.quote}: {h.tonnes:,.0f} of {h.max_t:,.0f} t at {h.price:,.2f} {currency}/t, "
        f"delivered {h.delivery.isoformat()}; one more tonne on offer is worth "
        f"{h.shadow_price:,.2f} {currency}/t"
        for h in plan.forward_hedges
    ]
