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
Paparoditis and Politis, 2002). The residuals are the fit's, as the validation's filter and
the simulator's first day see them; the followers are not centred: their mean is the point
(after a fall, the NZU's next day has a mean of -0.55 s.d.).

Each side gets its memory only when the sample shows what the memory is for: more tail days
on that side followed a tail day on that side than chance allows (a one-sided binomial test
at ``TAIL_EVIDENCE``; the NZU's fit to 2023: 12 falls after 63 falls, p 0.0001). Without that
evidence a pool is noise around the whole sample's shape, and noise with a mean: after a fall
the CEA's next day rose by 0.5 s.d. on average (the reversal the AR(1) mean models), and with
that memory the optimised strategy's replay of 2021-2025 cost 2 m CNY more. A side without
memory is ordinary: its tail days are followed by a draw from ``shape``. A residual's
"yesterday" is the previous daily return in the fit, across a gap in the data too, as for the
AR(1) mean.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from engine._numba import njit
from engine.errors import bad_params as _bad

TAIL_SHARE = 0.05  # a tail day: a standardised residual below this quantile (or above 1 - it)
TAIL_MIN_FOLLOWERS = 30  # a side's pool needs this many followers (a sample of ~600 days)
TAIL_EVIDENCE = 0.01  # a side's tail days must follow each other at this significance

ORDINARY, AFTER_FALL, AFTER_RISE = range(3)  # the kinds of day, by the day before


class TailMemory(NamedTuple):
    """What a day after a tail day draws from.

    Attributes:
        bounds: the standardised residuals below ``bounds[0]`` are falls, above ``bounds[1]``
            rises (the fitted sample's ``TAIL_SHARE`` and 1 - ``TAIL_SHARE`` quantiles).
        after_fall, after_rise: the standardised residuals that followed a fall or a rise,
            sorted; empty for a side without memory (not both).
    """

    bounds: tuple[float, float]
    after_fall: tuple[float, ...]
    after_rise: tuple[float, ...]

    @property
    def lines(self) -> tuple[float, float]:
        """The bounds a day is classified by: -inf (+inf) for a side without memory, whose
        tail days are ordinary ones."""
        return (
            self.bounds[0] if self.after_fall else -math.inf,
            self.bounds[1] if self.after_rise else math.inf,
        )


@njit(cache=True, inline="always")
def kind_nb(z, low, high):
    """The kind of the day after a standardised residual ``z``: ``AFTER_FALL`` below ``low``,
    ``AFTER_RISE`` above ``high``, else ``ORDINARY``: the one rule, in the kernel's lanes."""
    kind = AFTER_FALL if z < low else ORDINARY
    return AFTER_RISE if z > high else kind


@njit(cache=True)
def kinds_nb(z, low, high):
    """``kind_nb`` of each of ``z``."""
    out = np.empty(z.size, np.int64)
    for i in range(z.size):
        out[i] = kind_nb(z[i], low, high)
    return out


def tail_memory(z: np.ndarray, evidence: float = TAIL_EVIDENCE) -> TailMemory | None:
    """The tail memory of consecutive standardised residuals ``z`` (oldest first), or ``None``
    when neither side has ``TAIL_MIN_FOLLOWERS`` followers with tail days following each
    other at significance ``evidence`` (one-sided binomial p at most ``evidence``; 1: no
    test)."""
    from scipy.stats import binomtest  # here: reading a model or the kernel needs no scipy

    z = np.asarray(z, dtype=np.float64)
    z = z[np.isfinite(z)]
    if z.size < 2:
        return None
    low, high = (float(q) for q in np.quantile(z, [TAIL_SHARE, 1.0 - TAIL_SHARE]))
    kinds = kinds_nb(z, low, high)
    before, after = kinds[:-1], kinds[1:]
    pools = []
    for side in (AFTER_FALL, AFTER_RISE):
        followers = before == side
        repeats = int(np.sum(after[followers] == side))
        n = int(followers.sum())
        kept = n >= TAIL_MIN_FOLLOWERS and (
            binomtest(repeats, n, TAIL_SHARE, alternative="greater").pvalue <= evidence
        )
        pools.append(tuple(float(v) for v in np.sort(z[1:][followers])) if kept else ())
    if not any(pools):
        return None
    return TailMemory((low, high), *pools)


def checked_memory(dist: str, bounds, after_fall, after_rise) -> TailMemory | None:
    """A model's tail memory from its fields (``VolatilityParams``), checked: ``None`` when all
    are empty; ``ModelError`` naming the field otherwise."""
    fields = {"tail_bounds": bounds, "after_fall": after_fall, "after_rise": after_rise}
    values = {}
    for name, value in fields.items():
        try:
            values[name] = np.asarray(value, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise _bad(name, "...", "must be numbers") from None
    if not any(v.size for v in values.values()):
        return None
    edges = values["tail_bounds"]
    if dist != "fhs":
        raise _bad("tail_bounds", tuple(edges), f"must be empty for dist {dist!r}")
    if edges.size != 2 or not np.all(np.isfinite(edges)) or not edges[0] < edges[1]:
        raise _bad("tail_bounds", tuple(edges), "must be two finite numbers, low < high")
    for name in ("after_fall", "after_rise"):
        pool = values[name]
        if pool.size and (pool.size < TAIL_MIN_FOLLOWERS or not np.all(np.isfinite(pool))):
            raise _bad(
                name, f"{pool.size} values",
                f"a side's memory needs at least {TAIL_MIN_FOLLOWERS} finite residuals",
            )  # fmt: skip
    if not (values["after_fall"].size or values["after_rise"].size):
        raise _bad("tail_bounds", tuple(edges), "needs after_fall or after_rise")
    pools = (tuple(float(v) for v in np.sort(values[n])) for n in ("after_fall", "after_rise"))
    return TailMemory((float(edges[0]), float(edges[1])), *pools)
