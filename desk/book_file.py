"""Compliance books from TOML files (``desk/defaults/power_company_book.toml`` shows the layout)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from engine.book import ComplianceBook
from engine.errors import ConfigurationError


def load_book(path: str | Path) -> ComplianceBook:
    """The book in a TOML file; every error names the file, and the key and value at fault."""
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such book file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML ({exc})") from None
    try:
        return ComplianceBook.from_dict(data)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {exc}") from None
