"""An exponential that numba runs in SIMD lanes, for turning log closes into prices.

``math.exp`` compiles to a call into the C library, one value at a time, and this numba build has
no vector maths library (SVML). NumPy's ``exp`` is vectorised but runs on one core and, after the
simulation, reads and writes the whole 200 MB result again. ``exp_inplace_nb`` is the classic
reduction in plain arithmetic, which the compiler vectorises, so the simulator can take the
exponential of a block's closes while they are still in cache:

    x = n ln 2 + r,  |r| <= ln(2) / 2,  n = round(x / ln 2)
    exp(x) = 2^n exp(r),  exp(r) by its Taylor series to r^13 (truncation < 5e-18 relative)

``ln 2`` is split in two (fdlibm's constants) so that ``n ln2_hi`` is exact; the polynomial runs
in fused multiply-adds, and 2^n is applied by adding n to the result's binary exponent. Within
one unit in the last place of NumPy's ``exp`` (tests). Arguments outside [-700, 700] or NaN,
which a price path never reaches, switch the whole array to ``math.exp``.
"""

from __future__ import annotations

import math

import numpy as np

from engine._numba import njit

_LN2_HI = 6.93147180369123816490e-01  # ln 2 to 32 bits: n ln2_hi is exact for |n| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_LIMIT = 700.0  # exp(+-700) and every 2^n on the way are normal numbers
_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(14))
_MANTISSA_BITS = np.int64(52)


@njit(cache=True, inline="always")
def _exp_reduced(x):
    """exp(r) in [0.7, 1.42] and n << 52, with exp(x) = exp(r) 2^n, for |x| <= 700."""
    n = math.floor(x * _INV_LN2 + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = _TAYLOR[13]
    p = p * r + _TAYLOR[12]
    p = p * r + _TAYLOR[11]
    p = p * r + _TAYLOR[10]
    p = p * r + _TAYLOR[9]
    p = p * r + _TAYLOR[8]
    p = p * r + _TAYLOR[7]
    p = p * r + _TAYLOR[6]
    p = p * r + _TAYLOR[5]
    p = p * r + _TAYLOR[4]
    p = p * r + _TAYLOR[3]
    p = p * r + _TAYLOR[2]
    p = p * r + 1.0
    p = p * r + 1.0
    return p, np.int64(n) << _MANTISSA_BITS


@njit(cache=True, fastmath={"contract"})
def exp_inplace_nb(values, shifts):
    """``values[i] = exp(values[i])`` for a 1-d float64 array; ``shifts`` is an int64 scratch
    array of the same length. In SIMD lanes when every value lies in [-700, 700], else all by
    ``math.exp`` (one switch for the whole array keeps both loops free of branches)."""
    inside = True
    for i in range(values.shape[0]):
        inside &= -_LIMIT <= values[i] <= _LIMIT
    if not inside:
        for i in range(values.shape[0]):
            values[i] = math.exp(values[i])
        return
    for i in range(values.shape[0]):
        values[i], shifts[i] = _exp_reduced(values[i])
    bits = values.view(np.int64)
    for i in range(values.shape[0]):
        bits[i] += shifts[i]
