"""Numba kernels of the path simulator: plain arrays in, preallocated arrays out.

The model, per path and day, in log-return units (per cent / 100):

    r_t       = mu + e_t,                       e_t = sigma_t z_t
    published = clip(r_t, log(1 - band), log(1 + band)), or 0 on a thin day
    close_t   = close_{t-1} + published
    sigma_t+1^2 = omega + (alpha + gamma 1[u_t < 0]) u_t^2 + beta sigma_t^2,  u_t = published - mu

The close moves by the day's return held inside the daily band; a clipped day's excess is lost,
not carried to the next day. The variance recursion runs on the published residual u_t, the
return the market showed: that is the series the model was fitted to (arch sees published
closes, band-clipped and with the thin days' zeros), and it keeps the variance bounded by what
the band lets through: an integrated, fat-tailed fit (the real CEA's) cannot explode. On a thin
day (probability ``unchanged_prob``) the close does not move and the day counts as a quiet one.
Without a band and thin days this is the plain GARCH/GJR recursion, the one arch simulates.

Each path draws from its own random stream (``engine.random_nb``), numbered by its index in the
whole simulation, so the paths do not depend on the number of threads or on the chunking.
"""

from __future__ import annotations

import math

import numpy as np

from engine._numba import njit, prange
from engine.random_nb import from_table, seed_stream, uniform

# Parameter vector layout shared by the kernels (all in log-return units, not per cent).
MU, OMEGA, ALPHA, GAMMA, BETA, VAR0, LOG_PRICE0, LOG_DOWN, LOG_UP, UNCHANGED = range(10)
N_PARAMS = 10


GROUP = 8  # paths one thread runs side by side (their independent recursions overlap)


@njit(cache=True, parallel=True)
def simulate_log_closes_nb(out, params, innovations, seed, first_path):
    """Fill ``out`` (paths x days) with simulated log closes.

    ``params`` follows the layout above: ``LOG_DOWN`` and ``LOG_UP`` are log(1 - band) and
    log(1 + band), -inf and +inf without a band; ``UNCHANGED`` is the probability of an
    unchanged close. ``innovations`` is the ``random_nb.quantile_table`` of z (normal or unit
    t). Row ``i`` is path ``first_path + i`` of the simulation seeded with ``seed``.

    Paths run in groups of ``GROUP`` on one thread, each on its own stream, so the grouping
    changes no number; the thin-day draw follows the day's innovation in the path's stream.
    """
    n_paths, n_days = out.shape
    mu, omega, alpha, gamma_, beta = (
        params[MU], params[OMEGA], params[ALPHA], params[GAMMA], params[BETA]
    )  # fmt: skip
    down, up, unchanged = params[LOG_DOWN], params[LOG_UP], params[UNCHANGED]
    thin = unchanged > 0.0
    for group in prange((n_paths + GROUP - 1) // GROUP):
        first = group * GROUP
        size = min(GROUP, n_paths - first)
        state = np.empty((GROUP, 4), dtype=np.uint64)
        variance, close = np.empty(GROUP), np.empty(GROUP)
        for g in range(size):
            seed_stream(state, g, seed, first_path + first + g)
            variance[g], close[g] = params[VAR0], params[LOG_PRICE0]
        for t in range(n_days):
            for g in range(size):
                move = mu + math.sqrt(variance[g]) * from_table(state, g, innovations)
                move = min(max(move, down), up)
                if thin and uniform(state, g) < unchanged:
                    move = 0.0
                close[g] += move
                out[first + g, t] = close[g]
                residual = move - mu
                weight = alpha + gamma_ * (residual < 0.0)
                variance[g] = omega + weight * residual * residual + beta * variance[g]


ACCUMULATE_BLOCKS = 4  # fixed, whatever the thread count, so float sums add up the same way
LEVEL_SLACK = 1e-12  # in log price: a close locked at +10 % of 80 reaches 88


@njit(cache=True, parallel=True)
def accumulate_nb(log_closes, lo, width, counts, sums, sq_sums, levels, above, below):
    """Add a chunk of paths to the streaming statistics.

    The chunk is split into ``ACCUMULATE_BLOCKS`` fixed blocks of paths, each read row by row
    (contiguously) into a private histogram and private sums, which are then added in block
    order: the result does not depend on the number of threads.

    Args:
        log_closes: paths x days, log closes of this chunk.
        lo, width: the histogram grid of log closes: bin k holds [lo + k width, lo + (k+1) width);
            values beyond the grid fall into the first or last bin.
        counts: days x bins, int64, incremented.
        sums, sq_sums: per day, sums of closes and of squared closes, incremented.
        levels: log price levels for the exceedance counts.
        above, below: per level, the number of paths whose close reached at least (at most) the
            level on some day, incremented.
    """
    n_paths, n_days = log_closes.shape
    n_bins = counts.shape[1]
    n_levels = levels.shape[0]
    blocks = ACCUMULATE_BLOCKS
    size = (n_paths + blocks - 1) // blocks
    block_counts = np.zeros((blocks, n_days, n_bins), dtype=np.int32)
    block_sums = np.zeros((blocks, n_days))
    block_sq = np.zeros((blocks, n_days))
    block_above = np.zeros((blocks, n_levels), dtype=np.int64)
    block_below = np.zeros((blocks, n_levels), dtype=np.int64)
    top = n_bins - 1.0
    for b in prange(blocks):
        for i in range(b * size, min((b + 1) * size, n_paths)):
            high, low = -np.inf, np.inf
            for t in range(n_days):
                value = log_closes[i, t]
                k = int(min(max((value - lo) / width, 0.0), top))  # edge bins: beyond the grid
                block_counts[b, t, k] += 1
                price = math.exp(value)
                block_sums[b, t] += price
                block_sq[b, t] += price * price
                high = max(high, value)
                low = min(low, value)
            for j in range(n_levels):  # a close on a level to the last bit counts as reaching it
                if high >= levels[j] - LEVEL_SLACK:
                    block_above[b, j] += 1
                if low <= levels[j] + LEVEL_SLACK:
                    block_below[b, j] += 1
    for b in range(blocks):
        for t in range(n_days):
            sums[t] += block_sums[b, t]
            sq_sums[t] += block_sq[b, t]
            for k in range(n_bins):
                counts[t, k] += block_counts[b, t, k]
        for j in range(n_levels):
            above[j] += block_above[b, j]
            below[j] += block_below[b, j]
