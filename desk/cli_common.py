"""What the ``carbon`` commands share: the options that name a price source and say how to read
it, and the group class that turns the errors a user can fix into one line and an exit code.

Command modules (``desk.cli``, ``desk.alerts_cli``, ...) import from here, so that each
command family can live in its own module and ``desk.cli`` only assembles them.
"""

from __future__ import annotations

import math
import os
import select
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from desk import exit_codes
from engine.errors import ConfigurationError, ModelError, OptimisationError
from engine.markets import MARKETS
from market_data import FORMATS, REFERENCE, DataError, SourceOptions

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
    help="The store file (default: $CARBON_STORE, then [run] store of --config, then "
    "~/.local/share/carbon-desk/store.sqlite).",
)


def seed_option(what: str = "paths"):
    """``--seed``: the same seed gives the same ``what``."""
    return click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0,
                        show_default=True, help=f"The same seed, the same {what}.")  # fmt: skip


def out_option(default: str, what: str):
    """``--out``: the folder a command writes ``what`` into."""
    return click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                        default=Path(default), show_default=True,
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
READ_ARGS = "carbon.read_args"  # ctx.meta: the read options given, as command-line words


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


def book_market(market: str | None, book: Any) -> str:
    """The market a book's prices are read as: the book's; ``--market`` may only confirm it."""
    if market is not None and market.lower() != book.market:
        raise ConfigurationError(
            f"--market {market}: the book {book.entity!r} is for market {book.market!r}; use "
            f"prices of its market, or a book of {market!r}"
        )
    return book.market


def read_args(market: str, fmt: str, options: SourceOptions) -> list[str]:
    """The command-line words that read a file as ``load`` was asked to (defaults left out), so
    that a printed hint runs as printed."""
    words = [] if market == "cea" else ["--market", market]
    if fmt != "auto":
        words += ["--format", fmt]
    if options.segment != "total":
        words += ["--segment", options.segment]
    named = {
        "--sheet": options.sheet,
        "--instrument": options.instrument,
        "--system": options.system,
        "--date-column": options.date_column,
        "--price-column": options.price_column,
    }
    for flag, value in named.items():
        if value is not None:
            words += [flag, str(value)]
    return [*words, "--strict"] if options.strict else words


def load_sources(
    sources: tuple[str, ...], rules: Any, fmt: str = "auto", options: SourceOptions | None = None
) -> Any:
    """The first source, its gaps filled from the next ones (``market_data.merge_sources``);
    the data's warnings are left to ``carbon data show``. The read options are remembered for
    the hint of an error (see ``CarbonGroup``)."""
    import warnings

    from market_data import DataWarning, load, merge_sources

    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        code = rules if isinstance(rules, str) else rules.code
        ctx.meta[READ_ARGS] = read_args(code, fmt, options or SourceOptions())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        frames = [load(s, market=rules, format=fmt, options=options) for s in sources]  # type: ignore[arg-type]
    frame = frames[0]
    for other in frames[1:]:
        frame = merge_sources(frame, other).frame
    return frame


def source_options(kwargs: dict[str, Any]) -> SourceOptions:
    """The ``SourceOptions`` of a command's ``read_options`` (``--format`` and ``--market``
    aside)."""
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


class OutputConsole(Console):
    """rich's console for a command's output. A reader that goes away ends the command as it
    ends the others, with ``PIPE_CLOSED`` (rich's own console exits 1, the code for a bug)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError("the reader of standard output went away")


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
    if isinstance(exc, DataError):
        return exit_codes.DATA
    if isinstance(exc, ModelError):
        return exit_codes.MODEL
    if isinstance(exc, OptimisationError):
        return exit_codes.INFEASIBLE
    if isinstance(exc, ConfigurationError):
        return exit_codes.CONFIG
    return exit_codes.FAILURE


def finite(value: Any) -> Any:
    """JSON has no NaN: NaN becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


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
