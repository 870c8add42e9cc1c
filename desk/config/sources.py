"""The price sources a command or a configuration names, read the same way everywhere: the
first source, its gaps filled from the next ones, the read options remembered for the hint of
an error (``desk.cli.common.CarbonGroup`` prints it)."""

from __future__ import annotations

from typing import Any

import click

from engine.errors import ConfigurationError

READ_ARGS = "carbon.read_args"  # ctx.meta: the read options given, as command-line words


def book_market(market: str | None, book: Any) -> str:
    """The market a book's prices are read as: the book's; ``--market`` may only confirm it."""
    if market is not None and market.lower() != book.market:
        raise ConfigurationError(
            f"--market {market}: the book {book.entity!r} is for market {book.market!r}; use "
            f"prices of its market, or a book of {market!r}"
        )
    return book.market


def read_args(market: str, fmt: str, options: Any) -> list[str]:
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
    sources: tuple[str, ...], rules: Any, fmt: str = "auto", options: Any = None
) -> Any:
    """The first source, its gaps filled from the next ones (``market_data.merge_sources``);
    the data's warnings are left to ``carbon data show``. The read options are remembered for
    the hint of an error (see ``CarbonGroup``)."""
    import warnings

    from market_data import DataWarning, SourceOptions, load, merge_sources

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
