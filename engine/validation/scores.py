"""Scores of a forecast distribution given as simulated samples against what happened: the
probability integral transform (PIT), band coverage, the continuous ranked probability score
(CRPS). Samples are on axis 0 (paths x forecasts); one
realised value per forecast."""

from __future__ import annotations

import numpy as np


def pit(samples: np.ndarray, realised: np.ndarray) -> np.ndarray:
    """Per column, the share of samples below the realised value, ties counted half (the
    mid-PIT: a close locked at the band or unchanged on a thin day sits on an atom)."""
    below = np.count_nonzero(samples < realised, axis=0)
    equal = np.count_nonzero(samples == realised, axis=0)
    return (below + 0.5 * equal) / samples.shape[0]


def inside(pits: np.ndarray, level: float) -> np.ndarray:
    """Whether each realised value lies inside the forecast's central band of ``level``
    (0.9 for the 5-95 % band), judged by its PIT."""
    tail = 0.5 * (1.0 - level)
    return (pits >= tail) & (pits <= 1.0 - tail)


def crps(samples: np.ndarray, realised: np.ndarray) -> np.ndarray:
    """Per column, the CRPS of the empirical distribution of the samples (Gneiting and
    Raftery 2007, eq. 21): E|X - y| - E|X - X'| / 2, with E|X - X'| from the sorted samples in
    O(n log n). In the samples' unit (log price here); lower is better."""
    x = np.sort(samples, axis=0)
    n = x.shape[0]
    to_realised = np.mean(np.abs(x - realised), axis=0)
    weights = (2.0 * np.arange(1, n + 1) - n - 1.0) / (n * n)
    spread = 2.0 * (weights @ x)  # E|X - X'| = (2 / n^2) sum_i (2i - n - 1) x_(i)
    return to_realised - 0.5 * spread
