"""Reading text files whatever their encoding: UTF-8 (with or without BOM), else GB18030."""

from __future__ import annotations

from pathlib import Path

from market_data.errors import DataError

ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")


def read_text(path: str | Path) -> str:
    """The file's text, decoded as UTF-8 or, failing that, GB18030 (Chinese terminal exports)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    data = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DataError(f"{path}: the file is neither UTF-8 nor GB18030 text")
