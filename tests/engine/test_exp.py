"""The simulator's vectorised exponential against NumPy's."""

from __future__ import annotations

import numpy as np
import pytest

from engine.exp_nb import exp_inplace_nb


def _exp(values: np.ndarray) -> np.ndarray:
    out = values.copy()
    exp_inplace_nb(out, np.empty(len(out), dtype=np.int64))
    return out


@pytest.mark.parametrize("low, high", [(-0.35, 0.35), (0.0, 12.0), (-700.0, 700.0)])
def test_within_one_unit_in_the_last_place_of_numpy(low, high):
    x = np.random.default_rng(7).uniform(low, high, 1_000_000)
    ours = _exp(x)
    np.testing.assert_array_max_ulp(ours, np.exp(x), maxulp=1)
    assert (ours == np.exp(x)).mean() > 0.9  # most are NumPy's to the bit


def test_exact_at_the_reduction_points():
    """x = n ln 2 rounds to r near 0: 2^n to within one unit."""
    n = np.arange(-1000, 1001, dtype=np.float64)
    np.testing.assert_array_max_ulp(_exp(n * np.log(2.0)), np.exp(n * np.log(2.0)), maxulp=1)
    assert _exp(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]


def test_outside_the_range_the_array_goes_through_the_c_library():
    """One value past 700 (or NaN, or infinite) switches the array to math.exp: same as NumPy."""
    x = np.array([1.0, np.nan, np.inf, -np.inf, 800.0, -800.0, 709.7, -745.0])
    with np.errstate(over="ignore"):
        expected = np.exp(x)
    np.testing.assert_array_equal(_exp(x), expected)
