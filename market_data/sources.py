"""One door for every source: ``load`` returns a validated tidy frame, ``check`` the report.

Formats: ``wind`` (Wind terminal export), ``edb`` (Wind EDB series export), ``seee`` (exchange
bulletin table), ``icap`` (ICAP price explorer), ``plain`` (a date/price CSV or Parquet), or
``auto``, which tells them apart by their first lines. ``"reference"`` in place of a path gives
the embedded reference market.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from engine.errors import ConfigurationError
from engine.markets import MarketRules, market_rules
from market_data.edb import HEAD_LINES, looks_like_edb, parse_edb
from market_data.errors import DataError, ValidationReport
from market_data.frame import Parsed, finish
from market_data.icap import looks_like_icap, parse_icap
from market_data.plain import parse_plain
from market_data.reference import reference_market
from market_data.seee import looks_like_seee, parse_seee
from market_data.text import existing_file, read_text
from market_data.validate import accept, report
from market_data.wind import HEADER_ROWS, parse_wind

Format = Literal["auto", "wind", "edb", "seee", "icap", "plain"]
FORMATS: tuple[str, ...] = ("auto", "wind", "edb", "seee", "icap", "plain")
REFERENCE = "reference"


@dataclass(frozen=True)
class SourceOptions:
    """How to read a source whose layout leaves a choice (see each loader)."""

    segment: Literal["total", "listed", "block"] = "total"
    instrument: str | None = None
    system: str | None = None
    date_column: str | None = None
    price_column: str | None = None


def detect_format(path: str | Path) -> str:
    """The format of a file, from its suffix and first lines."""
    path = existing_file(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return "plain"
    lines = read_text(path).splitlines()[:HEAD_LINES]
    head = "\n".join(lines[:3])
    first_cell = head.split(",", 1)[0].strip().strip('"').lower()
    if looks_like_edb(lines):
        return "edb"
    if first_cell in HEADER_ROWS["name"]:
        return "wind"
    if looks_like_seee(head):
        return "seee"
    if looks_like_icap(head):
        return "icap"
    return "plain"


def _parse(
    path: str | Path, rules: MarketRules, fmt: str, options: SourceOptions
) -> tuple[Parsed, str, float | None]:
    """The parsed source, its format and the daily band its closes must respect."""
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    existing_file(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    _check_options(fmt, options)
    band = rules.daily_band
    if fmt == "wind":
        parsed = parse_wind(path, rules, segment=options.segment, instrument=options.instrument)
        if options.segment == "block":
            band = rules.block_band
    elif fmt == "edb":
        parsed = parse_edb(path, rules, instrument=options.instrument)
    elif fmt == "seee":
        parsed = parse_seee(path)
    elif fmt == "icap":
        parsed = parse_icap(path, rules, system=options.system)
    else:
        parsed = parse_plain(
            path, date_column=options.date_column, price_column=options.price_column
        )
    return parsed, fmt, band


def _check_options(fmt: str, options: SourceOptions) -> None:
    """Options that the format does not use are a mistake, not something to ignore."""
    unused = {
        "segment": options.segment != "total" and fmt != "wind",
        "instrument": options.instrument is not None and fmt not in ("wind", "edb"),
        "system": options.system is not None and fmt != "icap",
        "date_column": options.date_column is not None and fmt != "plain",
        "price_column": options.price_column is not None and fmt != "plain",
    }
    for name, wrong in unused.items():
        if wrong:
            raise ConfigurationError(f"{name} does not apply to a {fmt!r} source")


def load(
    source: str | Path = REFERENCE,
    *,
    market: str | MarketRules = "cea",
    format: Format = "auto",
    options: SourceOptions | None = None,
) -> pd.DataFrame:
    """A validated tidy daily frame (see ``market_data.frame``) from a file or the reference.

    Raises ``DataError`` naming file, row, column and value for every error; emits one
    ``DataWarning`` when the source has only warnings (listed in ``frame.attrs["warnings"]``).
    """
    rules = market_rules(market) if isinstance(market, str) else market
    options = options or SourceOptions()
    if str(source) == REFERENCE:
        if format != "auto" or options != SourceOptions():
            raise ConfigurationError("the reference market takes no format or source options")
        return reference_market(market=rules)
    parsed, fmt, band = _parse(source, rules, format, options)
    result = accept(parsed, rules, str(source), band)
    return finish(
        parsed.frame,
        market=rules.code,
        source=str(source),
        format=fmt,
        currency=rules.currency,
        warnings=tuple(str(p) for p in result.warnings),
    )


def check(
    source: str | Path,
    *,
    market: str | MarketRules = "cea",
    format: Format = "auto",
    options: SourceOptions | None = None,
) -> ValidationReport:
    """Every problem in a file, without raising for data errors (a missing or unreadable file
    still raises ``DataError``)."""
    rules = market_rules(market) if isinstance(market, str) else market
    parsed, _, band = _parse(source, rules, format, options or SourceOptions())
    return report(parsed, rules, str(source), band)
