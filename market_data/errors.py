"""Problems found in market data, and the errors and warnings that carry them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell or row of a source.

    ``row`` is the line number in a text file as an editor shows it (the header is line 1), or
    the record number (from 1) in a Parquet file; ``None`` when the problem is the whole file.
    """

    severity: Severity
    check: str
    source: str
    row: int | None
    column: str | None
    value: object
    message: str

    def __post_init__(self) -> None:
        if hasattr(self.value, "item"):  # a NumPy scalar reads better as a Python number
            object.__setattr__(self, "value", self.value.item())

    def __str__(self) -> str:
        where = self.source if self.row is None else f"{self.source}, row {self.row}"
        what = "" if self.column is None else f", column {self.column!r}"
        value = "" if self.value is None else f", value {self.value!r}"
        return f"{where}{what}{value}: {self.message}"


class DataError(ValueError):
    """Market data that cannot be used as it is; ``problems`` lists every error found."""

    def __init__(self, problems: Iterable[Problem] | str, *, shown: int = 10) -> None:
        if isinstance(problems, str):
            self.problems: tuple[Problem, ...] = ()
            super().__init__(problems)
            return
        self.problems = tuple(problems)
        if not self.problems:
            super().__init__("no problems were given")
            return
        lines = [str(p) for p in self.problems[:shown]]
        more = len(self.problems) - shown
        if more > 0:
            lines.append(f"... and {more} more")
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in market data:"
        super().__init__(lines[0] if count == 1 else "\n  ".join([head, *lines]))


class DataWarning(UserWarning):
    """Something unusual in market data that a known source publishes on purpose."""


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found in one source, errors and warnings together."""

    source: str
    rows: int
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise DataError(self.errors)
