"""Tail memory of an empirical shape: the day after a day in the market's tail draws its
standardised residual from the residuals that followed such days.

Some markets take in news over more than one session. The NZU's spot fell 10.7 % and then
10.4 % on 2023-06-21/22, and 6.5 % and 8.3 % on 2024-05-20/21: from 2022 on, a day in the
lowest 5 % of its standardised residuals was followed by another such day 31 % of the time,
against the 5 % of independent days (the EUA's figure is 11 %, the CEA's and Guangdong's 5 %).
The GARCH variance rises after the first day, but not by enough, and a one-day VaR's
exceedances come in pairs: Christoffersen's independence test rejects it.

Filtered historical simulation with tail memory draws each day's standardised residual by the
kind of day before it: after an ordinary day from the shape of the latest year
(``VolatilityParams.shape``), after a day below the ``TAIL_SHARE`` quantile of the fitted
sample's standardised residuals from the residuals that followed such days in the whole sample
(``after_fall``), and likewise above the upper quantile (``after_rise``). It is a first-order
Markov bootstrap whose state is coarsened to three kinds of day (the local bootstrap of
Paparoditis and Politis, 2002). A market whose tail days are followed by ordinary ones gets
pools that look like its whole sample, and its forecasts barely move. The followers are not
centred: their mean is the point (after a fall, the NZU's next day has a mean of -0.55 s.d.).

A sample gets its memory only when it shows what the memory is for: in one of the tails, more
tail days followed a tail day on the same side than chance allows (a one-sided binomial test
at ``TAIL_EVIDENCE``; the NZU's fit to 2023: 12 falls after 63 falls, p 0.0001). Without that
evidence the pools are noise around the whole sample's shape, and noise with a mean: after a
fall the CEA's next day rose by 0.5 s.d. on average (the reversal the AR(1) mean models), and
with memory there the optimised strategy's replay of 2021-2025 cost 2 m CNY more.
A residual's "yesterday" is the previous daily return in the fit, across a gap in the data too,
as for the AR(1) mean.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.stats import binomtest

from engine._numba import njit

TAIL_SHARE = 0.05  # a tail day: a standardised residual below this quantile (or above 1 - it)
TAIL_MIN_FOLLOWERS = 30  # fewer days followed each tail: no memory (a sample under ~600 days)
TAIL_EVIDENCE = 0.01  # tail days must follow tail days on one side at this significance

ORDINARY, AFTER_FALL, AFTER_RISE = range(3)  # the kinds of day, by the day before


class TailMemory(NamedTuple):
    """What a day after a tail day draws from.

    Attributes:
        bounds: the standardised residuals below ``bounds[0]`` are falls, above ``bounds[1]``
            rises (the fitted sample's ``TAIL_SHARE`` and 1 - ``TAIL_SHARE`` quantiles).
        after_fall, after_rise: the standardised residuals that followed a fall or a rise,
            less the sample's mean residual, sorted.
    """

    bounds: tuple[float, float]
    after_fall: tuple[float, ...]
    after_rise: tuple[float, ...]


def tail_memory(z: np.ndarray, evidence: float = TAIL_EVIDENCE) -> TailMemory | None:
    """The tail memory of consecutive standardised residuals ``z`` (oldest first), or ``None``
    when either tail has fewer than ``TAIL_MIN_FOLLOWERS`` followers or neither shows tail
    days following each other at significance ``evidence`` (1: no test)."""
    z = np.asarray(z, dtype=np.float64)
    z = z[np.isfinite(z)]
    if z.size < 2:
        return None
    z = z - z.mean()
    low, high = np.quantile(z, [TAIL_SHARE, 1.0 - TAIL_SHARE])
    yesterday, today = z[:-1], z[1:]
    after_fall, after_rise = today[yesterday < low], today[yesterday > high]
    if min(after_fall.size, after_rise.size) < TAIL_MIN_FOLLOWERS:
        return None
    repeats = (
        ((after_fall < low).sum(), after_fall.size),
        ((after_rise > high).sum(), after_rise.size),
    )
    pvalue = min(binomtest(int(k), n, TAIL_SHARE, alternative="greater").pvalue for k, n in repeats)
    if pvalue >= evidence:
        return None
    return TailMemory(
        (float(low), float(high)),
        tuple(float(v) for v in np.sort(after_fall)),
        tuple(float(v) for v in np.sort(after_rise)),
    )


@njit(cache=True, inline="always")
def kind_nb(z, low, high):
    """The kind of the day after a standardised residual ``z``: ``AFTER_FALL`` below ``low``,
    ``AFTER_RISE`` above ``high``, else ``ORDINARY`` (the kernel's rule, in its lanes)."""
    kind = AFTER_FALL if z < low else ORDINARY
    return AFTER_RISE if z > high else kind


def kind_of_day(z: float, bounds: tuple[float, ...]) -> int:
    """``kind_nb`` with a model's ``tail_bounds``: always ``ORDINARY`` without them."""
    if not bounds:
        return ORDINARY
    return int(kind_nb(z, bounds[0], bounds[1]))
