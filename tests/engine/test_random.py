"""Random streams for the kernels: distributions right, streams reproducible and independent."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from engine.random_nb import (
    fill_from_table_nb,
    fill_normal_nb,
    fill_t_nb,
    fill_u64_nb,
    from_body,
    quantile_table,
)

N = 400_000


def test_same_seed_and_stream_same_numbers_other_streams_differ():
    a, b, c = np.empty(1000), np.empty(1000), np.empty(1000)
    fill_normal_nb(a, 7, 3)
    fill_normal_nb(b, 7, 3)
    fill_normal_nb(c, 7, 4)
    np.testing.assert_array_equal(a, b)
    assert abs(np.corrcoef(a, c)[0, 1]) < 0.1


def test_ziggurat_normal_is_standard_normal():
    x = np.empty(N)
    fill_normal_nb(x, 1, 0)
    assert stats.kstest(x, "norm").pvalue > 0.001
    assert abs(x.mean()) < 5 / math.sqrt(N) and abs(x.std() - 1) < 0.005
    assert abs(stats.kurtosis(x)) < 0.05


@pytest.mark.parametrize("nu", [2.5, 5.0, 12.0])
def test_gamma_mixture_t_has_unit_variance_and_t_shape(nu):
    x = np.empty(N)
    fill_t_nb(x, 2, 0, nu)
    scale = math.sqrt((nu - 2) / nu)
    assert stats.kstest(x / scale, stats.t(nu).cdf).pvalue > 0.001


@pytest.mark.parametrize("nu", [None, 2.2, 3.0, 6.0, 50.0])
def test_quantile_table_matches_scipy(nu):
    """The interpolated quantile function against scipy's, in the body and the far tail."""
    table = quantile_table(nu)
    dist = stats.norm() if nu is None else stats.t(nu)
    scale = 1.0 if nu is None else math.sqrt((nu - 2) / nu)
    # Evaluate through the sampler's own path: fill from a table is monotone in v, so compare
    # the sorted sample with scipy's quantiles at the sample's empirical levels.
    x = np.empty(N)
    fill_from_table_nb(x, 3, 0, table)
    assert stats.kstest(x / scale, dist.cdf).pvalue > 0.001
    # And pointwise: knots are exact; between knots the Hermite error is tiny.
    body = table[1 : 1 + 2 * 4097 : 2]
    v = np.arange(32, 4097) / 8192
    np.testing.assert_allclose(body[32:], dist.ppf(v) * scale, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("nu", [None, 2.2, 4.0])
def test_quantile_table_interpolation_error(nu):
    """Hermite interpolation between knots and in the log tail: error below 1e-7 (relative in
    the tail), reproduced here in numpy from the table's own layout."""
    table = quantile_table(nu)
    dist = stats.norm() if nu is None else stats.t(nu)
    scale = 1.0 if nu is None else math.sqrt((nu - 2) / nu)
    cells, h = 4096, 0.5 / 4096
    body = table[1 : 1 + 2 * (cells + 1)].reshape(-1, 2)
    rng = np.random.default_rng(0)
    v = rng.uniform(32 * h, 0.5, 20_000)  # the body; below 2^-8 the tail grid is read
    k = np.floor(v / h).astype(int)
    t = v / h - k
    y0, d0, y1, d1 = body[k, 0], body[k, 1], body[k + 1, 0], body[k + 1, 1]
    hermite = (
        (2 * t**3 - 3 * t**2 + 1) * y0
        + (t**3 - 2 * t**2 + t) * d0
        + (3 * t**2 - 2 * t**3) * y1
        + (t**3 - t**2) * d1
    )
    exact = dist.ppf(v) * scale
    assert np.max(np.abs(hermite - exact) / np.maximum(1, np.abs(exact))) < 1e-7
    tail = table[1 + 2 * (cells + 1) :].reshape(-1, 2)
    s = rng.uniform(8, 60, 20_000)
    x = (s - 8) * 16
    k = np.floor(x).astype(int)
    t = x - k
    g = (
        (2 * t**3 - 3 * t**2 + 1) * tail[k, 0]
        + (t**3 - 2 * t**2 + t) * tail[k, 1]
        + (3 * t**2 - 2 * t**3) * tail[k + 1, 0]
        + (t**3 - t**2) * tail[k + 1, 1]
    )
    exact_tail = -dist.isf(np.exp2(-s)) * scale
    np.testing.assert_allclose(-np.exp(g), exact_tail, rtol=1e-7)


@pytest.mark.parametrize("nu", [None, 2.2, 6.0])
def test_the_body_cubics_are_the_hermite_interpolants(nu):
    """The sampler reads each body cell as c0 + c1 t + c2 t^2 + c3 t^3: the same cubic as the
    Hermite form on the cell's knots and slopes, to rounding; and the negated copy, which the
    draws with the sign bit set read, exactly."""
    table = quantile_table(nu)
    cells = 4096
    body = table[1 : 1 + 2 * (cells + 1)].reshape(-1, 2)
    cubics = table[-8 * cells : -4 * cells].reshape(cells, 4)
    np.testing.assert_array_equal(table[-4 * cells :], -table[-8 * cells : -4 * cells])
    k = np.arange(32, cells)  # the body's cells
    for t in np.linspace(0.0, 1.0, 7):
        hermite = (
            (2 * t**3 - 3 * t**2 + 1) * body[k, 0]
            + (t**3 - 2 * t**2 + t) * body[k, 1]
            + (3 * t**2 - 2 * t**3) * body[k + 1, 0]
            + (t**3 - t**2) * body[k + 1, 1]
        )
        c = cubics[k]
        horner = ((c[:, 3] * t + c[:, 2]) * t + c[:, 1]) * t + c[:, 0]
        np.testing.assert_allclose(horner, hermite, rtol=0, atol=1e-14)


@pytest.mark.parametrize("nu", [None, 2.2, 6.0])
def test_each_draw_is_the_quantile_of_its_own_bits(nu):
    """The sampler's bit mapping, checked draw by draw: sign = top bit, v = the next 63 bits
    as a fraction of 1/2, draw = sign x Q(v) with scipy's Q; body and far tail alike."""
    n = 200_000
    bits = np.empty(n, dtype=np.uint64)
    fill_u64_nb(bits, 21, 5)
    draws = np.empty(n)
    table = quantile_table(nu)
    fill_from_table_nb(draws, 21, 5, table)
    dist = stats.norm() if nu is None else stats.t(nu)
    scale = 1.0 if nu is None else math.sqrt((nu - 2) / nu)
    sign = np.where(bits >> np.uint64(63), -1.0, 1.0)
    fraction = (bits & np.uint64(2**63 - 1)).astype(np.float64) / 2.0**63  # v / (1/2)
    v = np.maximum(0.5 * fraction, 2.0**-64)
    expected = sign * dist.ppf(v) * scale
    np.testing.assert_allclose(draws, expected, rtol=1e-7)
    assert (v < 2.0**-8).sum() > 500  # the tail path was exercised


def test_table_t_matches_the_exact_gamma_mixture():
    """Two samplers of the unit-variance t(4): inverse transform from the table, and the exact
    normal-over-root-gamma mixture; a two-sample test cannot tell them apart."""
    a, b = np.empty(N), np.empty(N)
    fill_from_table_nb(a, 4, 0, quantile_table(4.0))
    fill_t_nb(b, 4, 1, 4.0)
    assert stats.ks_2samp(a, b).pvalue > 0.001


def test_quantile_table_refuses_nu_at_or_below_two():
    with pytest.raises(ValueError, match="nu > 2"):
        quantile_table(2.0)


@pytest.mark.parametrize("nu", [None, 3.0])
def test_a_set_sign_bit_reads_the_negated_cubic_exactly(nu):
    """The body's draw with the sign bit set is the draw with it clear, negated to the last
    bit: the negated copy of the cubics stands in for a sign multiply, and changes no number."""
    table = quantile_table(nu)
    bits = np.empty(20_000, dtype=np.uint64)
    fill_u64_nb(bits, 8, 2)
    clear = bits & np.uint64(2**63 - 1)
    body = clear[(clear >> np.uint64(51)) >= 32]  # cells 32 and up: the body's
    assert len(body) > 19_000
    for b in body:
        assert from_body(table, b | np.uint64(2**63)) == -from_body(table, b)
