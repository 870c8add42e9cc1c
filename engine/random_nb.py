"""Random numbers for numba kernels, one independent stream per path.

Each path owns a xoshiro256++ generator whose four-word state is seeded by SplitMix64 from
``(seed, path)``, so a path draws the same numbers whichever thread runs it: results are
bit-identical for any number of threads. Normals come from the 256-layer ziggurat (the algorithm
NumPy uses, tables built here), and Student-t draws from a normal over the root of a gamma variate
drawn by Marsaglia and Tsang's method.

State lives in a ``(rows, 4)`` ``uint64`` array owned by the caller, one row per stream, and
every function takes the array and a row and advances that row in place. The simulator's
kernel instead keeps a block of streams in four arrays, one per state word, and steps them with
``xoshiro_step``, so the compiler runs the block in SIMD lanes; ``from_body`` and ``from_tail``
split the table draw the same way (no branch in the lanes, a mending pass for the rare tail).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from engine._numba import njit

_U64 = np.uint64
_MASK53 = _U64(0x000FFFFFFFFFFFFF)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << _U64(k)) | (x >> _U64(64 - k))


@njit(cache=True, inline="always")
def splitmix64(x):
    """One step of SplitMix64: returns (output, next x)."""
    x = x + _U64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31)), x


@njit(cache=True, inline="always")
def stream_state(seed, stream):
    """The four state words of stream number ``stream`` of ``seed``."""
    x = _U64(seed) ^ (_U64(stream) * _U64(0xD1B54A32D192ED03))
    s0, x = splitmix64(x)
    s1, x = splitmix64(x)
    s2, x = splitmix64(x)
    s3, x = splitmix64(x)
    return s0, s1, s2, s3


@njit(cache=True)
def seed_stream(state, row, seed, stream):
    """Seed ``state[row]`` for stream number ``stream`` of ``seed``."""
    state[row, 0], state[row, 1], state[row, 2], state[row, 3] = stream_state(seed, stream)


@njit(cache=True, inline="always")
def xoshiro_step(s0, s1, s2, s3):
    """xoshiro256++ on a state held in four scalars: (64 random bits, next s0, s1, s2, s3).

    Kernels that keep a block of streams in separate arrays use it directly, so the compiler
    can run the block's streams in SIMD lanes."""
    result = _rotl(s0 + s3, 23) + s0
    t = s1 << _U64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@njit(cache=True, inline="always")
def next_u64(state, row):
    """xoshiro256++: the next 64 random bits of stream ``row``."""
    result, s0, s1, s2, s3 = xoshiro_step(
        state[row, 0], state[row, 1], state[row, 2], state[row, 3]
    )
    state[row, 0], state[row, 1], state[row, 2], state[row, 3] = s0, s1, s2, s3
    return result


@njit(cache=True, inline="always")
def unit(bits):
    """A uniform number in [0, 1) from 64 random bits (their top 53)."""
    return float(np.int64(bits >> _U64(11))) * _TO_UNIT


@njit(cache=True, inline="always")
def uniform(state, row):
    """A uniform draw in [0, 1) with 53 random bits."""
    return unit(next_u64(state, row))


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Tables of the 256-layer ziggurat for the standard normal (Marsaglia and Tsang, 2000)."""
    r = 3.6541528853610087963519472518
    area = 0.00492867323399
    m1 = 2.0**52
    ki = np.zeros(256, dtype=np.uint64)
    wi = np.zeros(256)
    fi = np.zeros(256)
    dn = tn = r
    q = area / math.exp(-0.5 * dn * dn)
    ki[0] = np.uint64((dn / q) * m1)
    ki[1] = 0
    wi[0] = q / m1
    wi[255] = dn / m1
    fi[0] = 1.0
    fi[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(area / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = np.uint64((dn / tn) * m1)
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / m1
    return ki, wi, fi, r, 1.0 / r


ZIG_K, ZIG_W, ZIG_F, ZIG_R, ZIG_INV_R = _ziggurat_tables()


@njit(cache=True, inline="always")
def normal(state, row):
    """A standard normal draw (ziggurat; 99.3 % of draws take one 64-bit number and no libm)."""
    while True:
        r = next_u64(state, row)
        idx = np.intp(r & _U64(0xFF))
        r = r >> _U64(8)
        sign = r & _U64(1)
        rabs = (r >> _U64(1)) & _MASK53
        x = float(rabs) * ZIG_W[idx]
        if sign:
            x = -x
        if rabs < ZIG_K[idx]:
            return x
        if idx == 0:  # the tail beyond ZIG_R
            while True:
                xx = -ZIG_INV_R * math.log1p(-uniform(state, row))
                yy = -math.log1p(-uniform(state, row))
                if yy + yy > xx * xx:
                    return -(ZIG_R + xx) if sign else ZIG_R + xx
        elif (ZIG_F[idx - 1] - ZIG_F[idx]) * uniform(state, row) + ZIG_F[idx] < math.exp(
            -0.5 * x * x
        ):
            return x


@njit(cache=True, inline="always")
def gamma(state, row, shape):
    """A Gamma(shape, 1) draw for shape >= 1 (Marsaglia and Tsang, 2000)."""
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = normal(state, row)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform(state, row)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:  # the squeeze: no logarithm for ~98 % of draws
            return d * v
        if math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v


@njit(cache=True, inline="always")
def standardised_t(state, row, nu):
    """A Student-t(nu) draw scaled to unit variance (nu > 2), as arch's ``StudentsT``."""
    chi2_over_nu = 2.0 * gamma(state, row, 0.5 * nu) / nu
    return normal(state, row) * math.sqrt((nu - 2.0) / nu / chi2_over_nu)


@njit(cache=True)
def fill_normal_nb(out, seed, stream):
    """``out`` filled with standard normals of one stream (for tests)."""
    state = np.empty((1, 4), dtype=np.uint64)
    seed_stream(state, 0, seed, stream)
    for i in range(out.shape[0]):
        out[i] = normal(state, 0)


@njit(cache=True)
def fill_t_nb(out, seed, stream, nu):
    """``out`` filled with standardised Student-t draws of one stream (for tests)."""
    state = np.empty((1, 4), dtype=np.uint64)
    seed_stream(state, 0, seed, stream)
    for i in range(out.shape[0]):
        out[i] = standardised_t(state, 0, nu)


# Innovations by inverse transform from a table of the quantile function.
#
# The gamma mixture above is exact but costs three draws and a square root (~12 ns a t draw).
# The simulator's inner loop instead tabulates the quantile function Q of its innovation (the
# standard normal, or the unit-variance Student-t(nu)) once and maps one 64-bit draw through it:
# the top bit is the sign, the next ``TABLE_BITS`` bits pick a cell of v in [0, 1/2) and the rest
# place v in the cell, where Q is a cubic Hermite interpolant of Q and Q' at the cell's ends,
# read as the cell's four polynomial coefficients (Horner: three multiply-adds, where the Hermite
# basis took about fifteen operations; the simulator ran 7 % faster with it). The coefficients
# are stored twice, as they are and negated, and the sign bit with the cell's 12 bits indexes
# them: no sign to convert and multiply by (negation is exact, so the draw is the same to the
# last bit; the simulator ran 10 to 15 % faster, for 128 KB more table). The first 32
# cells (v < 2^-8, 0.8 % of draws) are the tail, where Q is too steep for the uniform grid:
# there log(-Q) is interpolated on a grid in s = -log2(v), on which the tail's power law (t) or
# square-root law (normal) is smooth. In the body: no float-to-integer conversion, no
# division and no unpredictable branch, ~2 ns a draw. The error against scipy's quantile
# functions is below 1e-7 (tests), far below Monte Carlo error.

TABLE_BITS = 12
_CELLS = 1 << TABLE_BITS
_FRACTION_BITS = 63 - TABLE_BITS
_SIGN_AND_CELL_SHIFT = _FRACTION_BITS  # 1 sign bit + 12 cell bits + 51 fraction bits = 64
_FRACTION_MASK = _U64((1 << _FRACTION_BITS) - 1)
_CELL_MASK = _U64(_CELLS - 1)
_TO_FRACTION = 2.0**-_FRACTION_BITS
TAIL_CELLS = 32  # cells 0..31 (v < 2^-8) are read from the tail grid
TAIL_STEP = 1.0 / 16.0  # grid step in s = -log2(v)
_TAIL_START = 8.0  # the tail ends at v = 32 x 2^-13 = 2^-8
_TAIL_END = 66.0  # v >= 2^-64: the finest a 64-bit draw can give
_TAIL_KNOTS = round((_TAIL_END - _TAIL_START) / TAIL_STEP) + 1
_COEFFICIENTS = 1 + 2 * (_CELLS + 1) + 2 * _TAIL_KNOTS  # where the body's cubics start


def quantile_table(nu: float | None) -> np.ndarray:
    """The table ``from_table`` samples: the standard normal (``nu`` None) or the unit-variance
    Student-t(nu), nu > 2.

    Layout: ``[n_tail, q_0, h dq_0, q_1, h dq_1, ..., q_4096, h dq_4096, g_0, hs dg_0, ...,
    c0_0, c1_0, c2_0, c3_0, c0_1, ..., c3_4095, -c0_0, -c1_0, ..., -c3_4095]`` with knots
    v_k = k 2^-13, h = 2^-13, the tail's g(s) = log(-Q(2^-s)) on s = 8, 8 + 1/16, ... 66
    (hs = 1/16), and per body cell k the coefficients of its cubic Hermite interpolant in
    t = v / h - k, so that the sampler reads Q = ((c3 t + c2) t + c1) t + c0 in three
    multiply-adds; then the same coefficients negated, for the draws whose sign bit is set.
    """
    from scipy import stats

    if nu is None:
        dist, scale = stats.norm(), 1.0
    elif nu > 2.0:
        dist, scale = stats.t(nu), math.sqrt((nu - 2.0) / nu)
    else:
        raise ValueError(f"a unit-variance Student-t needs nu > 2, got {nu}")
    h = 0.5 / _CELLS
    v = h * np.arange(_CELLS + 1)
    with np.errstate(divide="ignore"):
        q = dist.ppf(v)
    q[-1] = 0.0
    dq = np.where(np.isfinite(q), 1.0 / dist.pdf(np.where(np.isfinite(q), q, 0.0)), 0.0)
    body = np.empty(2 * (_CELLS + 1))
    body[0::2] = np.where(np.isfinite(q), q, 0.0) * scale  # tail cells' knots are never read
    body[1::2] = dq * h * scale
    s = np.arange(_TAIL_START, _TAIL_END + TAIL_STEP / 2, TAIL_STEP)
    vt = np.exp2(-s)
    qt = dist.isf(vt) * -1.0  # isf keeps precision far in the tail
    g = np.log(-qt) + math.log(scale)
    dg = (1.0 / qt) / dist.pdf(qt) * (-vt * math.log(2.0)) * TAIL_STEP  # hs dg/ds
    tail = np.empty(2 * len(s))
    tail[0::2] = g
    tail[1::2] = dg
    y0, d0, y1, d1 = body[0:-2:2], body[1:-2:2], body[2::2], body[3::2]
    cubics = np.empty((_CELLS, 4))
    cubics[:, 0] = y0
    cubics[:, 1] = d0
    cubics[:, 2] = 3.0 * (y1 - y0) - 2.0 * d0 - d1
    cubics[:, 3] = 2.0 * (y0 - y1) + d0 + d1
    table = np.concatenate([[float(len(s))], body, tail, cubics.ravel(), -cubics.ravel()])
    assert len(s) == _TAIL_KNOTS and table.size == _COEFFICIENTS + 8 * _CELLS
    return table


@njit(cache=True, inline="always")
def _hermite(table, j, t):
    """Cubic Hermite between knots j/2 and j/2 + 1 of an interleaved (value, step x slope)
    table, at t in [0, 1)."""
    t2 = t * t
    t3 = t2 * t
    return (
        (2.0 * t3 - 3.0 * t2 + 1.0) * table[j]
        + (t3 - 2.0 * t2 + t) * table[j + 1]
        + (3.0 * t2 - 2.0 * t3) * table[j + 2]
        + (t3 - t2) * table[j + 3]
    )


@njit(cache=True, inline="always")
def _cell_place_sign(bits):
    """How a ``quantile_table`` reads 64 random bits: the cell (12 bits), the place in it
    (t in [0, 1), the low bits) and the sign (the top bit)."""
    cell = (bits >> _U64(_FRACTION_BITS)) & _CELL_MASK
    sign = 1.0 - 2.0 * float(np.int64(bits >> _U64(63)))
    return cell, _place(bits), sign


@njit(cache=True, inline="always")
def _place(bits):
    """Where 64 random bits fall in their cell: t in [0, 1), from the low 51 bits."""
    return float(np.int64(bits & _FRACTION_MASK)) * _TO_FRACTION


@njit(cache=True, inline="always")
def in_tail(bits):
    """Whether 64 random bits fall in the tail cells of a ``quantile_table``."""
    return ((bits >> _U64(_FRACTION_BITS)) & _CELL_MASK) < _U64(TAIL_CELLS)


@njit(cache=True, inline="always")
def from_body(table, bits):
    """The draw of ``table`` that 64 random bits give, read from the body's cells: right unless
    ``in_tail(bits)``. No branch, so a kernel can map a block of draws in SIMD lanes and mend
    the rare tail draws after (``from_tail``). The sign bit and the cell's bits together pick
    the cubic, negated when the sign bit is set."""
    j = _U64(_COEFFICIENTS) + _U64(4) * (bits >> _U64(_SIGN_AND_CELL_SHIFT))
    t = _place(bits)
    return ((table[j + 3] * t + table[j + 2]) * t + table[j + 1]) * t + table[j]


@njit(cache=True, inline="always")
def from_tail(table, bits):
    """The draw of ``table`` that 64 random bits give when ``in_tail(bits)``: v = (cell + t)
    2^-13, and log(-Q) is read on the grid in s = -log2(v)."""
    cell, t, sign = _cell_place_sign(bits)
    v = max(float(np.int64(cell)) + t, 2.0**-_FRACTION_BITS) * (0.5 / _CELLS)
    x = (-math.log2(v) - _TAIL_START) / TAIL_STEP
    n_tail = int(table[0])
    k = min(int(x), n_tail - 2)
    return sign * -math.exp(_hermite(table, 1 + 2 * (_CELLS + 1) + 2 * k, x - k))


@njit(cache=True, inline="always")
def table_uniform(bits):
    """The uniform u in (0, 1) at which a ``quantile_table`` reads 64 random bits: v = (cell +
    t) 2^-13 in [0, 1/2) below the median, 1 - v above it when the sign bit is set. A draw
    of another distribution at the same u moves with the table's draw (comonotone)."""
    cell, t, _ = _cell_place_sign(bits)
    v = (float(np.int64(cell)) + t) * (0.5 / _CELLS)
    return 1.0 - v if (bits >> _U64(63)) else v


_SHAPE_GRID = np.arange(2 * _CELLS + 1) / (2 * _CELLS)  # u at the cells' ends, both halves


def _shape_knots(shape: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """The empirical quantile function of ``shape`` (n sorted values, read through (k + 1/2)
    / n, linear between, flat beyond the first and last) at the cells' ends, computed once a
    shape (a model's shape is read at every day the validation filters, and every simulation)."""
    return _knots(shape if isinstance(shape, tuple) else tuple(map(float, shape)))


@functools.lru_cache(maxsize=64)
def _knots(shape: tuple[float, ...]) -> np.ndarray:
    n = len(shape)
    knots = np.interp(_SHAPE_GRID * n - 0.5, np.arange(n), np.asarray(shape, dtype=np.float64))
    knots.flags.writeable = False  # shared by every caller of the cache
    return knots


def shape_table(shape: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """A table ``from_body`` reads as an empirical distribution: ``quantile_table``'s layout,
    with each cell's cubic the chord of the empirical quantile function across the cell (for
    the draws whose sign bit is set, the upper half's, u = 1 - v), so a draw costs what a
    normal one costs and moves with the normal draw of the same bits (comonotone). The tail's
    cells are chords too (the shape is flat beyond its extremes), so ``from_body`` is right
    for every draw. ``quantile_of_shape`` is its NumPy twin."""
    q = _shape_knots(shape)
    lower = np.zeros((_CELLS, 4))
    lower[:, 0], lower[:, 1] = q[:_CELLS], np.diff(q[: _CELLS + 1])
    upper = np.zeros((_CELLS, 4))
    top = q[::-1]  # u = 1 - v: cell k runs from q[2 CELLS - k] down to q[2 CELLS - k - 1]
    upper[:, 0], upper[:, 1] = top[:_CELLS], np.diff(top[: _CELLS + 1])
    table = np.zeros(_COEFFICIENTS + 8 * _CELLS)
    table[_COEFFICIENTS:] = np.concatenate([lower.ravel(), upper.ravel()])
    return table


def quantile_of_shape(shape: np.ndarray | tuple[float, ...], u: np.ndarray) -> np.ndarray:
    """The quantile function ``shape_table`` draws from, at ``u`` (NumPy): the empirical one,
    linear across each of the table's cells."""
    return np.interp(np.asarray(u), _SHAPE_GRID, _shape_knots(shape))


def cdf_of_shape(shape: np.ndarray | tuple[float, ...], z: np.ndarray) -> np.ndarray:
    """The inverse of ``quantile_of_shape``: 0 below the first value, 1 above the last."""
    return np.interp(z, _shape_knots(shape), _SHAPE_GRID, left=0.0, right=1.0)


@njit(cache=True, inline="always")
def from_table(state, row, table):
    """One draw of the distribution tabulated by ``quantile_table``."""
    bits = next_u64(state, row)
    if in_tail(bits):
        return from_tail(table, bits)
    return from_body(table, bits)


@njit(cache=True)
def fill_from_table_nb(out, seed, stream, table):
    """``out`` filled with draws from ``table`` of one stream (for tests)."""
    state = np.empty((1, 4), dtype=np.uint64)
    seed_stream(state, 0, seed, stream)
    for i in range(out.shape[0]):
        out[i] = from_table(state, 0, table)


@njit(cache=True)
def fill_u64_nb(out, seed, stream):
    """``out`` filled with the raw 64-bit outputs of one stream (for tests of the mappings)."""
    state = np.empty((1, 4), dtype=np.uint64)
    seed_stream(state, 0, seed, stream)
    for i in range(out.shape[0]):
        out[i] = next_u64(state, 0)
