"""PIT, band coverage and CRPS of simulated samples, against closed forms and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from engine.validation import crps, inside, pit


def test_crps_equals_brute_force_on_a_small_ensemble():
    rng = np.random.default_rng(3)
    samples, realised = rng.normal(size=(37, 5)), rng.normal(size=5)
    brute = [
        np.mean(np.abs(samples[:, j] - realised[j]))
        - 0.5 * np.mean(np.abs(samples[:, j][:, None] - samples[:, j][None, :]))
        for j in range(5)
    ]
    np.testing.assert_allclose(crps(samples, realised), brute, rtol=1e-12)


def test_crps_of_many_normal_draws_equals_the_closed_form():
    """Gneiting and Raftery (2007): CRPS(N(0, s^2), y) = s [w (2 Phi(w) - 1) + 2 phi(w) -
    1 / sqrt(pi)], w = y / s."""
    s, y = 1.5, np.array([-2.0, 0.3, 4.0])
    samples = s * np.random.default_rng(8).standard_normal((200_000, 1)) * np.ones((1, 3))
    w = y / s
    exact = s * (w * (2 * stats.norm.cdf(w) - 1) + 2 * stats.norm.pdf(w) - 1 / math.sqrt(math.pi))
    np.testing.assert_allclose(crps(samples, y), exact, atol=3e-3)


def test_pit_counts_ties_half_and_bands_follow():
    samples = np.array([[1.0], [2.0], [2.0], [3.0]])
    assert pit(samples, np.array([2.0]))[0] == pytest.approx(0.5)
    assert pit(samples, np.array([0.0]))[0] == 0.0
    pits = np.array([0.04, 0.05, 0.5, 0.95, 0.96])
    assert inside(pits, 0.9).tolist() == [False, True, True, True, False]
