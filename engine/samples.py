"""What a sample of daily returns must be before a volatility model is fitted to it: long
enough, not flat, not too thin, and in the units of a daily price series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import ModelError

ADVISED_OBSERVATIONS = 500  # arch's advice for a GARCH fit
MIN_OBSERVATIONS_FLOOR = 100  # below this no override helps
MIN_DISTINCT_MOVES = 20  # fewer distinct non-zero returns is a flat series
THIN_WARNING_SHARE = 0.35  # unchanged share above this warns (thin trading)
THIN_ERROR_SHARE = 0.5  # ... and at or above this is an error
RETURN_SD_RANGE = (0.05, 25.0)  # plausible s.d. of daily returns, per cent


def checked_sample(returns: pd.Series, min_observations: int) -> list[str]:
    """Raise for a sample no GARCH fit should see; return the warnings a fit deserves."""
    n = len(returns)
    if n < MIN_OBSERVATIONS_FLOOR:
        raise ModelError(
            f"{n} daily returns: a GARCH fit needs at least {MIN_OBSERVATIONS_FLOOR} whatever "
            f"min_observations says (arch's advice is {ADVISED_OBSERVATIONS}); use a longer history"
        )
    if n < min_observations:
        raise ModelError(
            f"{n} daily returns; arch's advice is {ADVISED_OBSERVATIONS} or more (here "
            f"min_observations={min_observations}): use a longer history, or pass "
            f"min_observations={n} to fit anyway"
        )
    values = returns.to_numpy()
    sd = float(np.std(values, ddof=1))
    moves = np.unique(values[values != 0])
    unchanged = float(np.mean(values == 0))
    if sd == 0 or len(moves) < MIN_DISTINCT_MOVES:
        raise ModelError(
            f"the price series is flat: {len(moves)} distinct non-zero daily returns in {n} "
            f"(s.d. {sd:.3g} %); a volatility model needs at least {MIN_DISTINCT_MOVES}; "
            "check the price column"
        )
    if unchanged >= THIN_ERROR_SHARE:
        raise ModelError(
            f"{unchanged:.0%} of the {n} daily returns are exactly 0 (at least "
            f"{THIN_ERROR_SHARE:.0%} is too thin for a GARCH fit): use a liquid period or "
            "a series with trades"
        )
    low, high = RETURN_SD_RANGE
    if not low <= sd <= high:
        raise ModelError(
            f"the s.d. of the daily returns is {sd:.3g} % (a daily price series gives {low} to "
            f"{high} %): the prices look like another quantity or unit (a volume, a turnover, a "
            "cumulative total, a price with an offset); pass closes in currency per tonne, one "
            "row per trading day"
        )
    if unchanged > THIN_WARNING_SHARE:
        return [
            f"thin trading: {unchanged:.0%} of the {n} daily returns are exactly 0 (above "
            f"{THIN_WARNING_SHARE:.0%}); the fit counts them as quiet days and unchanged_prob "
            "records their share: check the period is liquid enough to model"
        ]
    return []
