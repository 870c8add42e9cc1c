"""An independent check on the real CEA history: a fixed list of orders (listing and block,
limits inside and outside the band, limits not reached, thin days) played by the backtester
and by a plain pandas implementation of the same rules; daily cash and position must agree to
the cent and the tonne."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import market_data as md
from backtest.cycle import Cycle, FillSettings
from backtest.event import run_backtest
from backtest.reconcile import reconcile
from strategies.base import Order
from strategies.rules import Scripted

pytestmark = pytest.mark.shared_data

CASH, HELD, FEE, SHARE, FALLBACK = 100_000_000.0, 500_000.0, 0.003, 0.2, 100_000.0


@pytest.fixture(scope="module")
def real(real_cea):
    return real_cea


def orders_for(real: pd.DataFrame) -> pd.DataFrame:
    """200 buys and 60 sales on distinct sessions of 2021-07-19..2025-12-31, seeded."""
    rng = np.random.Generator(np.random.PCG64(7))
    dates = real.loc["2021-07-19":"2025-12-31"].index
    chosen = rng.choice(dates.size, 260, replace=False)
    side = np.array(["buy"] * 200 + ["sell"] * 60)
    tonnes = np.where(
        side == "buy", rng.integers(1_000, 150_000, 260), rng.integers(500, 4_000, 260)
    )
    previous = real["close"].shift(1).loc[dates[chosen]].to_numpy()
    kind = rng.integers(0, 4, 260)  # none, inside the band, outside the listing band, far off
    offset = np.select([kind == 1, kind == 2, kind == 3], [0.04, 0.2, 0.4], np.nan)
    offset = np.where(side == "buy", offset, -offset)
    limit = np.round(previous * (1 + offset), 2)
    frame = pd.DataFrame(
        {"side": side, "tonnes": tonnes.astype(float), "limit": limit}, index=dates[chosen]
    ).sort_index()
    return frame


def plain_pandas(real: pd.DataFrame, orders: pd.DataFrame, gaps: pd.Series) -> pd.DataFrame:
    """The same rules in a few lines of pandas: fill at the close, up to 20 % of the day's
    volume (100 kt without volume), a limit outside the band (+/-10 % a session, 30 % for
    >= 100 kt) or not reached fills nothing, fees 0.3 % a side, cents half up."""
    cents = lambda x: np.floor(x * 100 + 0.5) / 100  # noqa: E731
    day = real.loc[orders.index]
    prev, k = real["close"].shift(1).loc[orders.index], gaps.loc[orders.index]
    band = np.where(orders.tonnes >= 100_000, 0.30, 0.10)
    low = np.ceil(np.round(prev * (1 - band) ** k * 100, 6)) / 100
    high = np.floor(np.round(prev * (1 + band) ** k * 100, 6)) / 100
    buy = orders.side == "buy"
    limit = (
        np.where(buy, np.floor(orders.limit * 100 + 1e-6), np.ceil(orders.limit * 100 - 1e-6)) / 100
    )
    inside = orders.limit.isna() | ((limit >= low) & (limit <= high))
    reached = orders.limit.isna() | np.where(buy, day.close <= limit, day.close >= limit)
    cap = np.floor(np.where(day.volume.isna(), FALLBACK, SHARE * day.volume))
    filled = np.where(inside & reached, np.minimum(orders.tonnes, cap), 0.0)
    value = cents(filled * day.close)
    fee = cents(value * FEE)
    cash = np.where(buy, -(value + fee), value - fee)
    flows = pd.DataFrame({"cash": cash, "held": np.where(buy, filled, -filled)}, orders.index)
    daily = flows.reindex(real.loc["2021-07-19":"2025-12-31"].index, fill_value=0.0).cumsum()
    return daily.add(pd.Series({"cash": CASH, "held": HELD}))


def test_cash_and_position_equal_a_plain_pandas_implementation(real):
    orders = orders_for(real)
    script = Scripted(
        {
            d.date(): [Order(r.side, r.tonnes, None if math.isnan(r.limit) else r.limit)]
            for d, r in orders.iterrows()
        }
    )
    cycle = Cycle(
        year=2025,
        start="2021-07-19",
        deadline="2025-12-31",
        allowances_t=HELD,
        pledged_t=0.0,
        ccer_t=0.0,
        cash=CASH,
        trading_budget=1e12,
        reserve_floor_t=0.0,
        expected_emissions_t=0.0,
        expected_true_up_t=0.0,
        emissions_t=0.0,
        true_up_t=0.0,
        true_up_date="2025-12-31",
    )
    gaps = md.calendar_for("XSHG").session_gaps(real.index)
    result = run_backtest(
        script,
        real,
        cycle,
        session_gaps=gaps,
        fills=FillSettings(impact=0.0, liquidity_share=SHARE, fallback_liquidity_t=FALLBACK),
    )
    reconcile(result)
    expected = plain_pandas(real, orders, pd.Series(gaps, real.index))
    got = result.daily[["cash", "allowances_t"]]
    assert got.index.equals(expected.index)
    np.testing.assert_allclose(got["cash"], expected["cash"], rtol=0, atol=0.005)
    np.testing.assert_array_equal(got["allowances_t"], expected["held"])
    # the list exercises every path of the rules
    status = result.ledger["status"].value_counts()
    for name in (
        "filled",
        "partial: liquidity",
        "rejected: limit outside the band",
        "rejected: limit not reached",
    ):
        assert status.get(name, 0) >= 3, status
    assert (result.ledger["kind"] == "block").sum() >= 10
