"""CCER offset prices: the CEA price times (1 + basis), the basis mean-reverting with its own noise.

Recent CCER trades were above the CEA, not below, so neither the sign of the basis nor of its
mean is fixed: the long-run basis is a setting, as are its speed of reversion and its noise.

    basis_0 = start;  basis_t = basis_{t-1} + reversion (mean - basis_{t-1}) + vol z_t
    ccer_t  = cea_t (1 + max(basis_t, -0.99))

The basis draws from streams of its own (``seed`` with the CCER salt), so adding CCER prices
leaves the CEA paths of the same seed unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine._numba import njit, prange
from engine.errors import ConfigurationError
from engine.random_nb import normal, seed_stream

CCER_SALT = 0x0CCE_0CCE_0CCE_0CCE


@dataclass(frozen=True)
class CcerBasis:
    """The CCER/CEA basis, as a fraction of the CEA price (0.05 is a 5 % premium).

    Attributes:
        start: today's basis.
        mean: the long-run basis it reverts to.
        reversion: the share of the gap to the mean closed each trading day, in (0, 1].
        vol: the s.d. of the basis's daily change.
    """

    start: float = 0.05
    mean: float = 0.03
    reversion: float = 0.02
    vol: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 < self.reversion <= 1.0:
            raise ConfigurationError(f"basis reversion must lie in (0, 1], got {self.reversion}")
        if self.vol < 0:
            raise ConfigurationError(f"basis vol must not be negative, got {self.vol}")
        for name in ("start", "mean"):
            if getattr(self, name) <= -1.0:
                raise ConfigurationError(
                    f"basis {name} must exceed -1 (a CCER price above zero), "
                    f"got {getattr(self, name)}"
                )


@njit(cache=True, parallel=True)
def ccer_closes_nb(cea_closes, out, start, mean, reversion, vol, seed, first_path):
    """``out`` = CCER closes for the CEA closes (paths x days) with a simulated basis."""
    n_paths, n_days = cea_closes.shape
    for i in prange(n_paths):
        state = np.empty((1, 4), dtype=np.uint64)
        seed_stream(state, 0, seed ^ CCER_SALT, first_path + i)
        basis = start
        for t in range(n_days):
            basis += reversion * (mean - basis) + vol * normal(state, 0)
            out[i, t] = cea_closes[i, t] * (1.0 + max(basis, -0.99))


def ccer_closes(
    cea_closes: np.ndarray, basis: CcerBasis, *, seed: int, first_path: int = 0
) -> np.ndarray:
    """CCER closes (currency per tonne) for simulated CEA closes (paths x days)."""
    cea = np.ascontiguousarray(cea_closes, dtype=np.float64)
    if cea.ndim != 2:
        raise ConfigurationError(f"CEA closes must be paths x days, got shape {cea.shape}")
    out = np.empty_like(cea)
    ccer_closes_nb(cea, out, basis.start, basis.mean, basis.reversion, basis.vol, seed, first_path)
    return out
