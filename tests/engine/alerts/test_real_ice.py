"""The alert rules on ICE EUA front-month settlements (2008-2021): every close-to-close move
over 10 % that a plain pandas count finds fires, apart from repeats within one episode."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import market_data as md
from engine.alerts import AlertRules, scan_prices
from engine.markets import EUA

pytestmark = pytest.mark.shared_data


def test_every_ten_percent_move_fires_but_repeats_in_an_episode(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", md.DataWarning)  # settlements outside high-low, weekends
        closes = md.load(shared_data / "eua_ice_front_month.csv", market="eua")["close"]
    gaps = md.calendar_for("IFEU").session_gaps(closes.index)
    alerts = scan_prices(closes, AlertRules.for_market(EUA), instrument="EUA", market=EUA,
                         session_gaps=gaps)  # fmt: skip
    fired = {pd.Timestamp(a.date) for a in alerts if a.rule == "close_to_close"}
    moves = closes.pct_change()
    big = moves[moves.abs() > 0.10]
    assert len(big) == 33 and len(fired) == 30
    missed = big.index.difference(pd.DatetimeIndex(sorted(fired)))
    # 2009-02-19, 2013-03-21 and 2013-04-17: each follows a move over 10 % the same way the
    # session before, so the rule, armed again only once the move is back within half its
    # threshold, counts it in the same episode.
    assert [d.date().isoformat() for d in missed] == ["2009-02-19", "2013-03-21", "2013-04-17"]
    for day in missed:
        before = moves.iloc[moves.index.get_loc(day) - 1]
        assert abs(before) > 0.10 and before * moves[day] > 0
