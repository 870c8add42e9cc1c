"""The validation policy: what a warning does, what an outlier does, what out-of-order rows do."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import market_data as md
from engine.markets import market_rules

ICAP = Path(__file__).resolve().parents[1] / "fixtures" / "icap_prices.csv"


def plain_csv(closes: list[float], start: str = "2024-03-04") -> str:
    days = pd.bdate_range(start, periods=len(closes))
    lines = [f"{d.date()},{c}" for d, c in zip(days, closes, strict=True)]
    return "date,close\n" + "\n".join(lines) + "\n"


# Twelve ordinary Guangdong-like closes from 2024-03-04 (no holiday; market 'gdea' checks its
# band softly), one mistyped as 100 times the price on row 8 (2024-03-12).
CLOSES = [38.0, 38.2, 38.1, 38.4, 38.3, 38.5, 3850.0, 38.6, 38.4, 38.7, 38.8, 38.6]


def quiet_load(path, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", md.DataWarning)
        return md.load(path, **kwargs)


def test_outliers_are_left_out_and_listed(write):
    frame = quiet_load(write("gd.csv", plain_csv(CLOSES)), market="gdea")
    assert len(frame) == 11 and pd.Timestamp("2024-03-12") not in frame.index
    assert frame.close.max() == 38.8
    (left_out,) = frame.attrs["left_out"]
    assert "row 8" in left_out and "3850.0" in left_out and "(left out)" in left_out
    assert frame.attrs["flagged"]["outlier"] == 1


def test_keep_outliers_keeps_them(write):
    path = write("gd.csv", plain_csv(CLOSES))
    kept = quiet_load(path, market="gdea", options=md.SourceOptions(keep_outliers=True))
    assert len(kept) == 12 and kept.close.max() == 3850.0
    assert kept.attrs["left_out"] == () and kept.attrs["flagged"]["outlier"] == 1


def test_strict_makes_every_warning_an_error(write):
    path = write("gd.csv", plain_csv(CLOSES))
    strict = md.SourceOptions(strict=True)
    with pytest.raises(md.DataError, match=r"row 8.*absurd close.*error under strict checking"):
        md.load(path, market="gdea", options=strict)
    report = md.check(path, market="gdea", options=strict)
    assert not report.ok and not report.warnings
    assert {p.check for p in report.errors} >= {"outlier"}
    assert md.check(path, market="gdea").ok  # warnings only without it


def test_strict_passes_a_clean_file_and_the_reference_market(write):
    clean = plain_csv([50.0 + 0.1 * i for i in range(12)])
    frame = md.load(write("clean.csv", clean), options=md.SourceOptions(strict=True))
    assert len(frame) == 12 and frame.attrs["flagged"] == {}
    policy = md.SourceOptions(strict=True, keep_outliers=True)
    assert len(md.load(md.REFERENCE, options=policy)) > 1000


def test_summary_counts_the_flagged_rows_by_kind(write):
    frame = quiet_load(write("gd.csv", plain_csv(CLOSES)), market="gdea")
    summary = md.summarise(frame, market_rules("gdea"))
    assert dict(summary.flagged)["outlier"] == 1
    assert len(summary.left_out) == 1 and summary.rows == 11


def test_flagged_counts_every_kind_of_warning(write):
    closes = [*CLOSES[:6], 38.5, *CLOSES[7:]]
    text = plain_csv(closes).replace("2024-03-08,", "2024-03-09,")  # a Saturday
    frame = quiet_load(write("gd.csv", text), market="gdea")
    assert frame.attrs["flagged"] == {"session": 1}
    summary = md.summarise(frame, market_rules("gdea"))
    assert summary.flagged == (("session", 1),) and summary.left_out == ()


def test_icap_rows_out_of_order_are_sorted_with_a_warning(write):
    lines = ICAP.read_text().splitlines()
    shuffled = [*lines[:2], lines[4], lines[2], lines[6], lines[3], lines[5]]
    path = write("icap.csv", "\n".join(shuffled) + "\n")
    with pytest.warns(md.DataWarning, match="dates out of order.*sorted"):
        cea = md.load(path, market="cea")
    assert list(cea.close) == [70.05, 71.20, 72.10, 72.45]
    assert cea.index.is_monotonic_increasing
    assert cea.attrs["flagged"] == {"order": 1}


def test_icap_duplicate_dates_stay_errors(write):
    lines = ICAP.read_text().splitlines()
    path = write("icap.csv", "\n".join([*lines, lines[3]]) + "\n")
    with pytest.raises(md.DataError, match="duplicate date: 2024-01-03"):
        md.load(path, market="cea")


def test_other_layouts_still_refuse_unsorted_dates(write):
    text = plain_csv(list(np.linspace(50, 51, 5))).splitlines()
    text[2], text[3] = text[3], text[2]
    with pytest.raises(md.DataError, match="dates out of order"):
        md.load(write("p.csv", "\n".join(text) + "\n"))
