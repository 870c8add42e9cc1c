"""Absurd prices: a close many times its neighbours, or a small fraction of them.

A mistyped price (a decimal point slipped, a price in fen for yuan, a volume in the price column)
stands out from the closes around it by a factor that no real market moves by in a few sessions.
The rule is robust: each close is compared with the median of the closes around it (a centred
window of ``WINDOW`` priced rows), which one or two absurd values do not move; a close more than
``FACTOR`` times that median, or less than ``1 / FACTOR`` of it, is flagged. Real moves of
allowance markets stay far within it: on the real files of ``shared/data`` (CEA, GDEA, NZU, ICE
EUA) the largest departure is a factor of 1.45, an NZU close of 4.61 on 2015-06-26 against a
local median of 6.70.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOW = 11  # priced rows, centred: five before, five after
FACTOR = 4.0  # times the local median, up or down
MIN_NEIGHBOURS = 4


def absurd_closes(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For closes in date order (NaN where none), a mask of the absurd ones and the local
    median each is compared with."""
    series = pd.Series(close, dtype="float64")
    priced = series[series > 0]
    median = np.full(len(series), np.nan)
    flagged = np.zeros(len(series), dtype=bool)
    if len(priced) <= MIN_NEIGHBOURS:
        return flagged, median
    local = priced.rolling(WINDOW, center=True, min_periods=MIN_NEIGHBOURS + 1).median()
    ratio = priced / local
    positions = priced.index.to_numpy()
    median[positions] = local.to_numpy()
    flagged[positions] = ((ratio > FACTOR) | (ratio < 1 / FACTOR)).to_numpy()
    return flagged, median
