"""One door for every source: ``load`` returns a validated tidy frame, ``check`` the report.

Formats: ``wind`` (Wind terminal export), ``edb`` (Wind EDB series export), ``seee`` (exchange
bulletin table), ``icap`` (ICAP price explorer), ``plain`` (a date/price CSV or Parquet, ICE-style
futures files included), or ``auto``, which tells them apart by their first lines. Each layout
also loads from an Excel workbook (``.xlsx``, ``.xls``; see ``market_data.excel``), one sheet of
it. ``"reference"`` in place of a path gives the embedded reference market.

The validation policy: errors refuse the file, warnings are listed in ``frame.attrs`` (or refuse
it too under ``strict``); rows flagged as absurd closes (``market_data.outliers``) are left out of
the frame, and so of every fit, alert and backtest, unless ``keep_outliers``.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pandas as pd

from engine.errors import ConfigurationError
from engine.markets import MarketRules, market_rules
from market_data.edb import HEAD_LINES, looks_like_edb, parse_edb
from market_data.errors import DataError, Problem, ValidationReport
from market_data.excel import is_workbook, read_sheet
from market_data.frame import Parsed, finish
from market_data.icap import looks_like_icap, parse_icap
from market_data.plain import parse_plain
from market_data.reference import reference_market
from market_data.seee import looks_like_seee, parse_seee
from market_data.text import Rows, existing_file, read_text
from market_data.validate import accept, report
from market_data.wind import HEADER_ROWS, parse_wind

Format = Literal["auto", "wind", "edb", "seee", "icap", "plain"]
FORMATS: tuple[str, ...] = ("auto", "wind", "edb", "seee", "icap", "plain")
REFERENCE = "reference"


@dataclass(frozen=True)
class SourceOptions:
    """How to read a source whose layout leaves a choice (see each loader), and what to do with
    what validation flags.

    Args:
        sheet: a workbook's sheet, by name or number (from 1); needed when several have data.
        strict: warnings are errors: the file is refused if it has any.
        keep_outliers: keep the rows flagged as absurd closes, which are otherwise left out
            (listed in ``frame.attrs["left_out"]``).
    """

    segment: Literal["total", "listed", "block"] = "total"
    instrument: str | None = None
    system: str | None = None
    date_column: str | None = None
    price_column: str | None = None
    sheet: str | int | None = None
    strict: bool = False
    keep_outliers: bool = False

    def reading(self) -> SourceOptions:
        """Only the options that say how to read the layout (the policy ones at defaults)."""
        return replace(self, strict=False, keep_outliers=False)


def detect_format(path: str | Path, *, sheet: str | int | None = None) -> str:
    """The format of a file (or of a workbook's sheet), from its suffix and first lines."""
    path = existing_file(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return "plain"
    if is_workbook(path):
        return _detect_lines(_as_lines(read_sheet(path, sheet)[1]))
    return _detect_lines(read_text(path).splitlines()[:HEAD_LINES])


def _as_lines(rows: Rows) -> list[str]:
    """A sheet's first rows as the CSV lines a text export of it would start with."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(cells for _, cells in rows[:HEAD_LINES])
    return buffer.getvalue().splitlines()


def _detect_lines(lines: list[str]) -> str:
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
    rows: Rows | None = None
    if is_workbook(path):
        rows = read_sheet(path, options.sheet)[1]
        fmt = _detect_lines(_as_lines(rows)) if fmt == "auto" else fmt
    elif options.sheet is not None:
        raise ConfigurationError(f"{path}: sheet applies to an Excel workbook, not this file")
    else:
        fmt = detect_format(path) if fmt == "auto" else fmt
    _check_options(fmt, options)
    band = rules.daily_band
    if fmt == "wind":
        parsed = parse_wind(
            path, rules, segment=options.segment, instrument=options.instrument, rows=rows
        )
        if options.segment == "block":
            band = rules.block_band
    elif fmt == "edb":
        parsed = parse_edb(path, rules, instrument=options.instrument, rows=rows)
    elif fmt == "seee":
        parsed = parse_seee(path, rows=rows)
    elif fmt == "icap":
        parsed = parse_icap(path, rules, system=options.system, rows=rows)
    else:
        parsed = parse_plain(
            path, date_column=options.date_column, price_column=options.price_column, rows=rows,
            lot_t=rules.lot_t,
        )  # fmt: skip
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

    Raises ``DataError`` naming file, row, column and value for every error (and every warning
    under ``options.strict``); emits one ``DataWarning`` when the source has only warnings.
    ``frame.attrs``: ``warnings`` (each as text), ``flagged`` (warnings per check, e.g.
    ``{"outlier": 2, "session": 1}``) and ``left_out`` (the outlier rows taken out, as text).
    """
    rules = market_rules(market) if isinstance(market, str) else market
    options = options or SourceOptions()
    if str(source) == REFERENCE:
        if format != "auto" or options.reading() != SourceOptions():
            raise ConfigurationError("the reference market takes no format or source options")
        return reference_market(market=rules)
    parsed, fmt, band = _parse(source, rules, format, options)
    result = accept(parsed, rules, str(source), band, strict=options.strict)
    frame, left_out = parsed.frame, ()
    if not options.keep_outliers:
        frame, left_out = _without_outliers(parsed, result.warnings)
    return finish(
        frame,
        market=rules.code,
        source=str(source),
        format=fmt,
        currency=rules.currency,
        warnings=tuple(str(p) for p in result.warnings),
        flagged=dict(Counter(p.check for p in result.warnings)),
        left_out=left_out,
    )


def _without_outliers(
    parsed: Parsed, warnings: tuple[Problem, ...]
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The frame without the rows flagged as absurd closes, and those rows' warnings."""
    outliers = [p for p in warnings if p.check == "outlier" and p.row is not None]
    if not outliers:
        return parsed.frame, ()
    keep = ~pd.Index(parsed.rows).isin([p.row for p in outliers])
    return parsed.frame.loc[keep], tuple(f"{p} (left out)" for p in outliers)


def check(
    source: str | Path,
    *,
    market: str | MarketRules = "cea",
    format: Format = "auto",
    options: SourceOptions | None = None,
) -> ValidationReport:
    """Every problem in a file, without raising for data errors (a missing or unreadable file
    still raises ``DataError``); under ``options.strict`` the warnings are reported as errors."""
    rules = market_rules(market) if isinstance(market, str) else market
    options = options or SourceOptions()
    parsed, _, band = _parse(source, rules, format, options)
    return report(parsed, rules, str(source), band, strict=options.strict)
