"""Numba kernels of the path simulator: plain arrays in, preallocated arrays out.

The model, per path and day, in log-return units (per cent / 100):

    m_t       = mu + ar published_{t-1}         (ar = 0: a constant mean)
    r_t       = m_t + e_t,                      e_t = sigma_t z_t
    published = clip(r_t, log(1 - band), log(1 + band)), or 0 on a thin day
    close_t   = close_{t-1} + published
    sigma_t+1^2 = omega + (alpha + gamma 1[u_t < 0]) u_t^2 + beta sigma_t^2,
    u_t = e_t (the shock, clipped or not), or -m_t on a thin day

With an empirical ``shape`` (filtered historical simulation, ``VolatilityParams.dist ==
"fhs"``) the day's return is m_t + sigma_t Q(v) with Q the shape's quantile function, while the
variance is fed by e_t = sigma_t z_t, z_t the normal draw at the same uniform v: the variance
runs as the fitted normal model's and the return has the market's tails. With tail memory
(``engine.tail_memory``) Q is the quantile function of one of three shapes, chosen by the day
before: after a day whose published standardised residual, (published - m_t) / sigma_t, fell
below the lower tail bound (rose above the upper), the day draws from the residuals that
followed such days in the fitted sample.

The close moves by the day's return held inside the daily band; a clipped day's excess is lost,
not carried to the next day. The variance recursion runs on the day's shock e_t, not on the
clipped move: the band limits what the price shows, not the news the market received, so a
clipped day keeps tomorrow's variance high. (Running it on the clipped move instead drained
the variance of fat-tailed fits: with Student-t nu under 3 the clip removed most of each day's
variance, and the fan of the real CEA collapsed to a daily s.d. of 0-0.6 % within a year.) On
a thin day (probability ``unchanged_prob``) the close does not move and the day counts as a
quiet one, as the fit saw it. The AR(1) mean reads yesterday's published move, the return the
fit saw (clipped, or 0 on a thin day). Without a band and thin days this is the plain GARCH/GJR
recursion, the one arch simulates.

Each path draws from its own random stream (``engine.random_nb``), numbered by its index in the
whole simulation, so the paths do not depend on the number of threads or on the chunking.
"""

from __future__ import annotations

import math

import numpy as np

from engine._numba import njit, prange
from engine.exp_nb import exp_inplace_nb
from engine.random_nb import from_body, from_tail, in_tail, stream_state, unit, xoshiro_step
from engine.tail_memory import ORDINARY, kind_nb

# Parameter vector layout shared by the kernels (all in log-return units, not per cent).
MU, OMEGA, ALPHA, GAMMA, BETA, VAR0, LOG_PRICE0, LOG_DOWN, LOG_UP, UNCHANGED = range(10)
AR, RETURN0 = range(10, 12)  # an AR(1) mean's weight of yesterday's move; the move before day 1
FALL_LINE, RISE_LINE, KIND0 = range(12, 15)  # tail memory: its bounds; the first day's kind
N_PARAMS = 15


BLOCK = 16  # paths one thread runs in step, in SIMD lanes (of 8, 16 and 32, 16 and 32 fastest)


@njit(cache=True, parallel=True)
def simulate_paths_nb(out, params, innovations, shapes, seed, first_path, prices):
    """Fill ``out`` (paths x days) with simulated log closes, or with closes (currency per
    tonne) when ``prices``.

    ``params`` follows the layout above: ``LOG_DOWN`` and ``LOG_UP`` are log(1 - band) and
    log(1 + band), -inf and +inf without a band; ``UNCHANGED`` is the probability of an
    unchanged close; ``AR`` weighs yesterday's move in today's mean, ``RETURN0`` is the move
    of the day before the first. ``innovations`` is the ``random_nb.quantile_table`` of z
    (normal or unit t); ``shapes`` is one row of width 0 for them, else the
    ``random_nb.shape_table`` of an empirical shape (``innovations`` is then the normal's, see
    above), read at the same bits: one row, or three with tail memory (ordinary, after a fall,
    after a rise; ``engine.tail_memory``), whose bounds are ``FALL_LINE`` and ``RISE_LINE``
    in standard deviations and the first day's kind ``KIND0``.
    Row ``i`` is path ``first_path + i`` of the simulation seeded with ``seed``.

    A thread runs ``BLOCK`` paths in step, day by day, each on its own stream, so the blocking
    changes no number. A day has four passes over the block: the random bits (SIMD lanes); the
    table's body, read lane by lane; a mending pass for the rare draws in the table's tail
    (0.8 % of draws); then the return, the band and the variance recursion (SIMD lanes). The
    table read is a loop of its own on purpose: inside the random bits' loop the compiler read
    the table by AVX-512 gathers, and the kernel took 40 % longer on the AMD Zen 4 it was
    measured on. The closes go to a days x ``BLOCK`` tile that is copied to the block's rows of
    ``out`` at the end, through ``exp_nb`` when ``prices`` (while the tile is in cache: no
    second pass over the result). The thin-day draw follows the day's innovation in the path's
    stream.
    """
    n_paths, n_days = out.shape
    mu, omega, alpha, gamma_, beta = (
        params[MU], params[OMEGA], params[ALPHA], params[GAMMA], params[BETA]
    )  # fmt: skip
    down, up, unchanged = params[LOG_DOWN], params[LOG_UP], params[UNCHANGED]
    ar = params[AR]
    thin = unchanged > 0.0
    empirical = shapes.shape[1] > 0  # an empirical shape's table: the day's return, one more read
    memory = empirical and shapes.shape[0] > 1  # ... one of three, by the kind of the day before
    shape, fall_line, rise_line = shapes[ORDINARY], params[FALL_LINE], params[RISE_LINE]
    for block in prange((n_paths + BLOCK - 1) // BLOCK):
        first = block * BLOCK
        size = min(BLOCK, n_paths - first)
        s0, s1 = np.empty(BLOCK, np.uint64), np.empty(BLOCK, np.uint64)
        s2, s3 = np.empty(BLOCK, np.uint64), np.empty(BLOCK, np.uint64)
        bits = np.empty(BLOCK, np.uint64)
        z, quiet = np.empty(BLOCK), np.zeros(BLOCK, np.bool_)
        day = np.empty(BLOCK) if empirical else z  # the day's standardised return
        variance, close, last = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
        kind = np.full(BLOCK, int(params[KIND0]), np.int64)
        tile = np.empty((n_days, BLOCK))
        shifts = np.empty(n_days * BLOCK, np.int64)
        for g in range(BLOCK):  # lanes past the last path run a stream nobody reads
            s0[g], s1[g], s2[g], s3[g] = stream_state(seed, first_path + first + g)
            variance[g], close[g], last[g] = params[VAR0], params[LOG_PRICE0], params[RETURN0]
        for t in range(n_days):
            tail = False
            for g in range(BLOCK):
                bits[g], s0[g], s1[g], s2[g], s3[g] = xoshiro_step(s0[g], s1[g], s2[g], s3[g])
                tail |= in_tail(bits[g])
            for g in range(BLOCK):  # a loop of its own: scalar loads, not gathers (see above)
                z[g] = from_body(innovations, bits[g])
            if tail:
                for g in range(BLOCK):
                    if in_tail(bits[g]):
                        z[g] = from_tail(innovations, bits[g])
            if memory:
                for g in range(BLOCK):
                    day[g] = from_body(shapes[kind[g]], bits[g])
            elif empirical:
                for g in range(BLOCK):
                    day[g] = from_body(shape, bits[g])
            if thin:
                for g in range(BLOCK):
                    draw, s0[g], s1[g], s2[g], s3[g] = xoshiro_step(s0[g], s1[g], s2[g], s3[g])
                    quiet[g] = unit(draw) < unchanged
            for g in range(BLOCK):
                sd = math.sqrt(variance[g])
                shock = sd * z[g]
                mean = mu + ar * last[g]
                move = 0.0 if quiet[g] else min(max(mean + sd * day[g], down), up)
                last[g] = move
                if memory:  # the published standardised residual sets tomorrow's shape
                    kind[g] = kind_nb((move - mean) / sd, fall_line, rise_line)
                close[g] += move
                tile[t, g] = close[g]
                residual = -mean if quiet[g] else shock
                weight = alpha + gamma_ * (residual < 0.0)
                variance[g] = omega + weight * residual * residual + beta * variance[g]
        if prices:
            exp_inplace_nb(tile.reshape(n_days * BLOCK), shifts)
        for g in range(size):
            for t in range(n_days):
                out[first + g, t] = tile[t, g]


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
