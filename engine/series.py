"""The one check of a daily close series that the engine's functions take from callers."""

from __future__ import annotations

import numpy as np
import pandas as pd


def checked_closes(closes: object, what: str, error: type[Exception]) -> np.ndarray:
    """``closes`` as a new contiguous float64 array, after checking it is a Series of positive,
    finite prices on a sorted, unique ``DatetimeIndex``; ``error`` (the caller's exception
    type) names the date and the value at fault."""
    if not isinstance(closes, pd.Series):
        raise error(f"{what} must be a pandas Series of closes, got {type(closes).__name__}")
    index = closes.index
    if not isinstance(index, pd.DatetimeIndex):
        raise error(f"{what} need a DatetimeIndex, got {type(index).__name__}")
    if index.hasnans:
        raise error(f"{what} have a missing date (NaT) in their index; drop that row")
    if not index.is_unique:
        day = index[index.duplicated()][0].date()
        raise error(f"{what}: {day} appears more than once; keep one close")
    if not index.is_monotonic_increasing:
        at = int(np.flatnonzero(np.diff(index.asi8) < 0)[0]) + 1
        raise error(
            f"{what} are not in date order: {index[at].date()} follows {index[at - 1].date()}; "
            f"sort them ({what}.sort_index())"
        )
    try:
        values = np.array(closes.to_numpy(dtype=np.float64), copy=True)
    except (TypeError, ValueError) as exc:
        raise error(f"{what} must be numbers (currency per tonne): {exc}") from None
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise error(
            f"{what}: the price on {index[at].date()} is {values[at]}; closes must be positive "
            "and finite (currency per tonne): fix or drop that row"
        )
    return values
