"""Compliance books from TOML files (``desk/defaults/power_company_book.toml`` shows the layout).

The file is checked against ``desk.config.schema.BookModel`` first (every number finite and in
range, the cycle within the calendars, forwards delivered within the cycle), then made into the
engine's ``ComplianceBook``, whose own rules (no borrowing, pledges within holdings, deliveries
by the deadline) follow."""

from __future__ import annotations

import tomllib
from pathlib import Path

from desk.config.schema import BookModel, validate
from engine.book import ComplianceBook
from engine.errors import ConfigurationError


def load_book(path: str | Path) -> ComplianceBook:
    """The book in a TOML file; every error names the file, and the key and value at fault."""
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such book file")
    if path.stat().st_size > 10_000_000:
        raise ConfigurationError(f"{path}: {path.stat().st_size:,} bytes is not a book file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML ({exc})") from None
    model = validate(BookModel, data, path, prefix="book")  # keys as the engine names them
    try:
        return ComplianceBook.from_dict(model.to_dict())
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {exc}") from None
