"""Merging two sources of one market, on small frames where every figure is known."""

from __future__ import annotations

import pandas as pd
import pytest

import market_data as md
from market_data.frame import NUMERIC_COLUMNS


def frame(dates, closes, source, basis=None, market="cea"):
    data = {c: float("nan") for c in NUMERIC_COLUMNS}
    out = pd.DataFrame(data, index=pd.DatetimeIndex(dates, name="date"))
    out["close"] = closes
    if basis is not None:
        out["price_basis"] = basis
    out.attrs = {"market": market, "currency": "CNY", "source": source}
    return out


def test_prefer_fill_and_report():
    primary = frame(
        ["2025-03-03", "2025-03-05", "2025-03-06"], [80.0, 82.0, 83.0], "a", ["x", "y", "y"]
    )
    secondary = frame(["2025-03-03", "2025-03-04", "2025-03-05"], [80.05, 81.0, 84.0], "b")
    merged = md.merge_sources(primary, secondary, tolerance=0.001)
    assert list(merged.frame.close) == [80.0, 81.0, 82.0, 83.0]
    assert list(merged.frame.source) == ["a", "b", "a", "a"]
    assert merged.filled.equals(pd.DatetimeIndex(["2025-03-04"], name="date"))
    # 80.0 vs 80.05 is 0.06 %: within 0.1 %; 82 vs 84 is 2.4 %: reported.
    assert list(merged.disagreements.index) == [pd.Timestamp("2025-03-05")]
    row = merged.disagreements.iloc[0]
    assert (row.column, row.primary, row.secondary) == ("close", 82.0, 84.0)
    assert row.relative_difference == pytest.approx(1 - 82 / 84)
    # The filled day takes the basis in force then (x), and the change to y stays visible.
    assert list(merged.frame.price_basis) == ["x", "x", "y", "y"]
    assert list(merged.basis_changes.index) == [pd.Timestamp("2025-03-05")]


def test_tolerance_zero_reports_every_difference():
    primary = frame(["2025-03-03"], [80.0], "a")
    secondary = frame(["2025-03-03"], [80.01], "b")
    assert len(md.merge_sources(primary, secondary, tolerance=0).disagreements) == 1
    assert md.merge_sources(primary, secondary, tolerance=0.001).disagreements.empty


def test_sources_of_different_markets_do_not_merge():
    with pytest.raises(md.DataError, match="different market: 'cea' and 'eua'"):
        md.merge_sources(frame(["2025-03-03"], [80.0], "a"), frame([], [], "b", market="eua"))
    with pytest.raises(md.DataError, match="tolerance must not be negative"):
        md.merge_sources(frame([], [], "a"), frame([], [], "b"), tolerance=-1)
