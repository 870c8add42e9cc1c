"""The reference market is deterministic and has the features of the real CEA market."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import market_data as md
from engine.markets import CEA, EUA


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return md.reference_market()


def digest(frame: pd.DataFrame) -> str:
    values = frame[["close", "open", "high", "low", "volume"]].to_numpy()
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:16]


def test_the_same_seed_gives_the_same_market_everywhere(reference):
    """Pinned figures: a change of these is a change of every result built on the reference."""
    assert digest(reference) == "56bab17158620450"
    assert reference.close.iloc[-1] == 89.22
    again = md.reference_market()
    pd.testing.assert_frame_equal(again, reference)
    assert again is not reference  # callers get their own copy
    other = md.reference_market(spec=md.ReferenceSpec(seed=7))
    assert not np.array_equal(other.close.to_numpy(), reference.close.to_numpy())


def test_shape_and_calendar(reference):
    assert len(reference) == 1199  # about five years of Shanghai sessions
    assert reference.index[0] == pd.Timestamp("2021-07-16")
    assert reference.index[-1] == pd.Timestamp("2026-06-30")
    sessions = md.calendar_for("XSHG").sessions("2021-07-16", "2026-06-30")
    assert reference.index.equals(pd.DatetimeIndex(sessions, name="date"))
    assert reference.attrs["source"] == "reference" and reference.attrs["seed"] == 20210716


def test_levels_follow_the_published_history(reference):
    close = reference.close
    assert close.min() >= 40 and close.max() <= 110
    by_year = close.groupby(close.index.year).mean()
    assert 45 < by_year[2021] < 60 and 45 < by_year[2022] < 60
    assert by_year[2024] > 85  # the 2024 highs
    assert close["2025-09-01":"2025-10-31"].min() < 60  # the autumn 2025 slide


def test_band_tick_and_consistency(reference):
    assert md.validate_frame(reference, CEA, source="reference") == []
    moves = reference.close.pct_change().dropna().abs()
    assert moves.max() <= 0.10 + 0.005 / 40  # within the band, up to half a tick of rounding
    assert moves.max() > 0.09  # and the band is reached
    cents = reference[["close", "open", "high", "low"]].to_numpy() * 100
    np.testing.assert_allclose(cents, np.round(cents), atol=1e-6)
    np.testing.assert_allclose(reference.turnover, reference.volume * reference.close, atol=0.006)


def test_thin_trading(reference):
    unchanged = (reference.close.diff() == 0).groupby(reference.index.year).mean()
    assert 0.18 < (reference.close.diff() == 0).mean() < 0.30  # a fifth of days, as in 2021-25
    assert unchanged[2022] > 0.28  # over a third of 2022 in the real market


def test_volatility_clusters(reference):
    """Ljung-Box on squared daily log returns, 10 lags: p far below 1 %, as on the real CEA."""
    r = np.log(reference.close).diff().dropna().to_numpy()
    x = r**2 - (r**2).mean()
    n, lags = len(x), np.arange(1, 11)
    rho = np.array([(x[k:] * x[:-k]).sum() for k in lags]) / (x * x).sum()
    q = n * (n + 2) * np.sum(rho**2 / (n - lags))
    assert stats.chi2.sf(q, df=10) < 1e-6
    assert 0.012 < r.std() < 0.025  # daily s.d. of 1.2-2.5 % (real CEA 2021-25: 1.75 %)


def test_volume_swells_before_the_deadline(reference):
    volume = reference.volume
    december = volume[(volume.index.month == 12) & (volume.index.year == 2024)].median()
    june = volume[(volume.index.month == 6) & (volume.index.year == 2024)].median()
    assert december > 3 * june


def test_basis_change_and_markets(reference):
    changes = md.basis_changes(reference)
    assert list(changes.index) == [pd.Timestamp("2023-08-28")]
    with pytest.raises(ValueError, match="reference market is CEA-like"):
        md.reference_market(market=EUA)
    with pytest.raises(ValueError, match="arch \\+ garch must be below 1"):
        md.ReferenceSpec(arch=0.5, garch=0.6)


def test_load_reference_is_the_reference(reference):
    pd.testing.assert_frame_equal(md.load("reference"), reference)
