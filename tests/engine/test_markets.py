"""Market rules: one object per market, every value a setting."""

from __future__ import annotations

import dataclasses

import pytest

from engine.errors import ConfigurationError
from engine.markets import CEA, EUA, MARKETS, market_rules


def test_defaults_from_the_design():
    assert (CEA.daily_band, CEA.block_band, CEA.block_threshold_t) == (0.10, 0.30, 100_000.0)
    assert (CEA.tick, CEA.lot_t, CEA.currency, CEA.calendar) == (0.01, 1.0, "CNY", "XSHG")
    assert CEA.close_is_vwap and not EUA.close_is_vwap
    assert EUA.daily_band is None and EUA.lot_t == 1_000.0 and EUA.price_unit == "EUR/t"


def test_lookup_is_case_insensitive_and_names_the_known_markets():
    assert market_rules("CEA") is CEA
    assert {"cea", "eua", "nzu", "gdea", "ccer", "series"} <= set(MARKETS)
    with pytest.raises(ConfigurationError, match="unknown market 'ets'; known markets"):
        market_rules("ets")


def test_a_variant_is_a_replace_and_is_checked():
    wider = dataclasses.replace(CEA, daily_band=0.2)
    assert wider.daily_band == 0.2 and CEA.daily_band == 0.10
    with pytest.raises(ConfigurationError, match=r"daily_band must lie in \(0, 1\), got 1\.5"):
        dataclasses.replace(CEA, daily_band=1.5)
    with pytest.raises(ConfigurationError, match="tick and lot_t must be positive"):
        dataclasses.replace(CEA, tick=0)
