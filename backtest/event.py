"""The event-driven backtester: one strategy, session by session, through one or several
compliance cycles on a price history (real, reference or one simulated path).

Each session of a cycle's window, in order: the T+1 lock and the liquidity cap reset;
forwards due are delivered and paid; on the true-up date the true-up arrives and the verified
emissions become known; the strategy decides from a read-only view of the past
(``strategies.base.DecisionView``); its orders fill under the exchange's rules
(``backtest.fills_nb.execute_nb``); the day's holdings, cash and mark-to-market are recorded. On
the deadline session, after trading, the entity surrenders CCER up to the offset cap and
allowances and settles by the one rule of ``engine.settlement`` (penalty on a shortfall at the
multiple x the average of the last ``deadline_window`` closes, the surplus banked up to the cap
of base + multiple x net sales, the rest forfeited); cash pays the penalty to the cent.

The backtester alone holds the prices: the strategy sees closes up to the previous session.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from backtest import fills_nb as fx
from backtest.cycle import Cycle, FillSettings, market_of
from backtest.result import (
    DAILY_COLUMNS,
    EVENT_COLUMNS,
    LEDGER_COLUMNS,
    BacktestResult,
    drawdown,
)
from engine.errors import ConfigurationError
from engine.forwards import carry_price, years_between
from engine.markets import MarketRules
from engine.settlement import DeadlinePosition, offset_cap_t, settle, terms_of
from strategies.base import CycleView, DecisionView, Order, Position, Strategy, read_only


@dataclass(frozen=True)
class PriceHistory:
    """Daily closes (currency/t), volumes (t, NaN where unknown) and the sessions since the previous
    row (1 for consecutive sessions; more across days the source lacks), validated once."""

    dates: pd.DatetimeIndex
    closes: np.ndarray
    volumes: np.ndarray
    gaps: np.ndarray

    @classmethod
    def of(cls, prices: pd.DataFrame | pd.Series, session_gaps: np.ndarray | None = None):
        frame = prices.to_frame("close") if isinstance(prices, pd.Series) else prices
        if "close" not in frame.columns:
            raise ConfigurationError("prices: need a 'close' column (price per tonne)")
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise ConfigurationError("prices: the index must be a DatetimeIndex of sessions")
        dates = frame.index.as_unit("ns")
        if not (dates.is_monotonic_increasing and dates.is_unique):
            raise ConfigurationError("prices: dates must be ascending and unique")
        closes = np.ascontiguousarray(frame["close"].to_numpy(dtype=np.float64))
        bad = ~(np.isfinite(closes) & (closes > 0))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ConfigurationError(
                f"prices: close on {dates[first].date()} = {closes[first]!r}: must be a positive "
                "number"
            )
        if "volume" in frame.columns:
            volumes = np.ascontiguousarray(frame["volume"].to_numpy(dtype=np.float64))
        else:
            volumes = np.full(closes.size, np.nan)
        gaps = np.ones(closes.size, dtype=np.int64) if session_gaps is None else session_gaps
        gaps = np.asarray(gaps, dtype=np.int64)
        if gaps.shape != closes.shape or (gaps < 1).any():
            raise ConfigurationError("session_gaps: one positive count per price row")
        for array in (closes, volumes, gaps):
            array.flags.writeable = False
        return cls(dates, closes, volumes, gaps)


def rules_vector(rules: MarketRules, fills: FillSettings, cycle: Cycle) -> np.ndarray:
    comp = rules.compliance
    assert comp is not None
    vector = np.zeros(fx.N_RULES)
    vector[fx.FEE_RATE] = comp.fee_rate
    vector[fx.LOT] = rules.lot_t
    vector[fx.TICK] = rules.tick
    vector[fx.BLOCK_THRESHOLD] = rules.block_threshold_t or math.inf
    vector[fx.IMPACT] = fills.impact
    vector[fx.BUDGET] = cycle.trading_budget
    vector[fx.PLEDGED] = cycle.pledged_t
    return vector


def day_vector(history: PriceHistory, i: int, rules: MarketRules, fills: FillSettings):
    """The session's price, bands and liquidity cap (row ``i`` >= 1)."""
    previous, gap = float(history.closes[i - 1]), int(history.gaps[i])
    day = np.zeros(fx.N_DAY)
    day[fx.PRICE] = history.closes[i]
    day[fx.LOW], day[fx.HIGH] = fx.band_limits(previous, gap, rules.daily_band, rules.tick)
    block = rules.block_band if rules.block_band is not None else rules.daily_band
    day[fx.BLOCK_LOW], day[fx.BLOCK_HIGH] = fx.band_limits(previous, gap, block, rules.tick)
    volume = history.volumes[i]
    day[fx.CAP] = (
        fills.fallback_liquidity_t if math.isnan(volume) else fills.liquidity_share * volume
    )
    return day


def forward_quote(previous_close: float, today: dt.date, delivery: dt.date, fills: FillSettings,
                  tick: float) -> float:  # fmt: skip
    """The engine's cost-of-carry quote (``engine.forwards.carry_price``) on the previous close,
    rounded up to the tick."""
    years = years_between(today, delivery)
    price = carry_price(previous_close, years, fills.forward_carry, fills.forward_premium)
    return fx.ticks_up_nb(price, tick)


def window_of(history: PriceHistory, cycle: Cycle) -> np.ndarray:
    """Row numbers of the cycle's sessions; the first must have a close before it."""
    start, end = pd.Timestamp(cycle.start), pd.Timestamp(cycle.deadline)
    rows = np.flatnonzero((history.dates >= start) & (history.dates <= end))
    if rows.size == 0:
        raise ConfigurationError(
            f"cycle {cycle.year}: the prices have no session from {cycle.start} to {cycle.deadline}"
        )
    if rows[0] == 0:
        rows = rows[1:]  # the first row has no previous close: no band, nothing to decide on
        if rows.size == 0:
            raise ConfigurationError(f"cycle {cycle.year}: no session after the first price row")
    return rows


def delivery_row(rows: np.ndarray, history: PriceHistory, date: dt.date) -> int:
    """Position in the window of the first session on or after ``date`` (0 if before it)."""
    k = int(np.searchsorted(history.dates[rows], pd.Timestamp(date), side="left"))
    return min(k, rows.size - 1)


def default_forward_delivery(rows: np.ndarray, history: PriceHistory, window: int) -> dt.date:
    return history.dates[rows[max(rows.size - window, 0)]].date()


def run_backtest(
    strategy: Strategy,
    prices: pd.DataFrame | pd.Series,
    cycles: Cycle | Sequence[Cycle],
    *,
    market: MarketRules | str = "cea",
    fills: FillSettings | None = None,
    session_gaps: np.ndarray | None = None,
    alerts: Iterable[object] = (),
) -> BacktestResult:
    """Play ``strategy`` through ``cycles`` (in date order, windows not overlapping) on
    ``prices`` (a frame with ``close`` and, if known, ``volume``; or a Series of closes).

    ``session_gaps`` (one per row: sessions since the previous row, as
    ``TradingCalendar.session_gaps`` gives) widens the band across days the source lacks.
    ``alerts`` (records with a ``date``) are shown to the strategy from the day after their date.
    """
    rules, fills = market_of(market), fills or FillSettings()
    history = PriceHistory.of(prices, session_gaps)
    cycles = [cycles] if isinstance(cycles, Cycle) else list(cycles)
    if not cycles:
        raise ConfigurationError("run_backtest: no cycle to play")
    for a, b in itertools.pairwise(cycles):
        if b.start <= a.deadline:
            raise ConfigurationError(
                f"cycles {a.year} and {b.year} overlap: {b.start} is not after {a.deadline}"
            )
    alerts = sorted(alerts, key=lambda a: a.date)  # type: ignore[attr-defined]
    run = _Run(strategy, history, rules, fills, tuple(alerts))
    carried: tuple[float, float, float] | None = None  # bank, shortfall carried, cash
    for cycle in cycles:
        if carried is not None and fills.carry_over:
            bank, owed, cash = carried
            opening = max(cycle.allowances_t + bank - owed, cycle.pledged_t)
            cycle = replace(cycle, allowances_t=opening, cash=cash)
            run.carried_in_value = run.last_bank_value
        carried = run.cycle(cycle)
    return run.result()


class _Run:
    """The state of one backtest run and its records."""

    def __init__(self, strategy, history, rules, fills, alerts) -> None:
        self.strategy, self.history, self.rules, self.fills = strategy, history, rules, fills
        self.alerts = alerts
        self.ledger: list[tuple] = []
        self.daily: list[tuple] = []
        self.events: list[tuple] = []
        self.cycle_rows: list[dict] = []
        self.carried_in_value = 0.0
        self.last_bank_value = 0.0
        self.terms = terms_of(rules.compliance, fills.penalty_multiple)

    def cycle(self, cycle: Cycle) -> tuple[float, float, float]:
        h, rules, fills = self.history, self.rules, self.fills
        rows = window_of(h, cycle)
        n = rows.size
        sessions = h.dates[rows]
        vector = rules_vector(rules, fills, cycle)
        delivery = cycle.forward_delivery or default_forward_delivery(
            rows, h, fills.deadline_window
        )
        # forwards not yet delivered: [window position, tonnes, price]
        pending = [[delivery_row(rows, h, f.delivery), f.tonnes, f.price] for f in cycle.forwards]
        true_up_k = delivery_row(rows, h, cycle.true_up_date)
        offset_cap = offset_cap_t(self.terms, cycle.emissions_t)
        state = (cycle.allowances_t, 0.0, cycle.cash, 0.0, 0.0, 0.0, 0.0)
        first_day = h.dates[rows[0]]
        self.events.append(
            (first_day, cycle.year, "opening", cycle.allowances_t, cycle.cash, np.nan)
        )
        previous = float(h.closes[rows[0] - 1])
        base = cycle.cash + cycle.allowances_t * previous
        base += sum(t * (previous - p) for _, t, p in pending)
        inflow_value = 0.0
        verified = False
        pnl = np.empty(n)
        for k, i in enumerate(rows):
            date = h.dates[i]
            held, _, cash, spent, bought, sold, _ = state
            day = day_vector(h, i, rules, fills)
            for item in [f for f in pending if f[0] <= k]:
                pending.remove(item)
                value = fx.cents_nb(item[1] * item[2])
                held, cash = held + item[1], cash - value
                self.events.append(
                    (date, cycle.year, "forward delivered", item[1], -value, item[2])
                )
            if k == true_up_k:
                held += cycle.true_up_t
                inflow_value += cycle.true_up_t * float(h.closes[i - 1])
                verified = True
                self.events.append((date, cycle.year, "true-up", cycle.true_up_t, 0.0, np.nan))
            state = (held, 0.0, cash, spent, bought, sold, day[fx.CAP])
            quote = forward_quote(float(h.closes[i - 1]), date.date(), delivery, fills, rules.tick)
            view = self._view(cycle, i, k, sessions, state, pending, verified, quote, delivery)
            for order in self.strategy.decide(view):
                if not isinstance(order, Order):
                    raise ConfigurationError(
                        f"strategy {self.strategy.name!r} returned {order!r} on {date.date()}: "
                        "not an Order"
                    )
                if order.instrument == "forward":
                    state = self._forward(
                        state, order, quote, vector, date, cycle, rows, pending, delivery
                    )
                else:
                    state = self._spot(state, order, day, vector, date, cycle.year)
            held, _, cash, *_ = state
            close = float(h.closes[i])
            mtm = cash + held * close + sum(t * (close - p) for _, t, p in pending)
            pnl[k] = mtm - base - inflow_value
            self.daily.append(
                (date, cycle.year, close, held, sum(f[1] for f in pending), cash, mtm, pnl[k])
            )
        return self._surrender(cycle, state, rows, offset_cap, pnl, base, previous)

    def _view(self, cycle, i, k, sessions, state, pending, verified, quote, delivery):
        """What the strategy may know before session ``i`` (the ``k``-th of the cycle)."""
        h = self.history
        held, _, cash, spent, bought, sold, _ = state
        obligation = cycle.emissions_t if verified else cycle.expected_emissions_t
        return DecisionView(
            date=h.dates[i],
            dates=h.dates[:i],
            closes=read_only(h.closes[:i]),
            volumes=read_only(h.volumes[:i]),
            position=Position(
                allowances_t=held,
                pledged_t=cycle.pledged_t,
                ccer_t=cycle.ccer_t,
                forwards_due_t=sum(f[1] for f in pending),
                cash=cash,
                spent=spent,
                net_sold_t=sold - bought,
            ),
            cycle=CycleView(
                year=cycle.year,
                sessions=sessions,
                index=k,
                deadline=cycle.deadline,
                obligation_t=obligation,
                verified=verified,
                true_up_to_come_t=0.0 if verified else cycle.expected_true_up_t,
                offset_cap_t=offset_cap_t(self.terms, obligation),
                reserve_floor_t=cycle.reserve_floor_t,
                trading_budget=cycle.trading_budget,
                forward_price=quote,
                forward_delivery=delivery,
            ),
            alerts=tuple(a for a in self.alerts if pd.Timestamp(a.date) < h.dates[i]),
        )

    def _spot(self, state, order: Order, day, vector, date, year):
        side = fx.BUY if order.side == "buy" else fx.SELL
        limit = np.nan if order.limit is None else float(order.limit)
        state, (q, price, value, fee, status) = fx.execute_nb(
            state, side, float(order.tonnes), limit, day, vector
        )
        block = fx.order_lots_nb(float(order.tonnes), vector[fx.LOT], side)
        kind = "block" if block >= vector[fx.BLOCK_THRESHOLD] else "listing"
        self.ledger.append(
            (
                date,
                year,
                "allowance",
                kind,
                order.side,
                float(order.tonnes),
                limit,
                q,
                price,
                value,
                fee,
                fx.STATUS_NAMES[status],
                order.reason,
            )
        )
        return state

    def _forward(self, state, order, quote, vector, date, cycle, rows, pending, delivery):
        """A forward purchase at the quote, in full unless the budget stops it; the fee is paid
        now, the price on delivery."""
        held, locked, cash, spent, bought, sold, left = state
        q, value, fee, status = fx.forward_nb(float(order.tonnes), quote, spent, vector)
        when = order.delivery or delivery
        if status < fx.REJECTED_LOT:
            pending.append([delivery_row(rows, self.history, when), q, quote])
            state = (held, locked, cash - fee, spent + value + fee, bought + q, sold, left)
        self.ledger.append(
            (
                date,
                cycle.year,
                "forward",
                "otc",
                "buy",
                float(order.tonnes),
                np.nan,
                q,
                quote if q > 0 else np.nan,
                value,
                fee,
                fx.STATUS_NAMES[status],
                order.reason,
            )
        )
        return state

    def _surrender(self, cycle, state, rows, offset_cap, pnl, base, previous):
        h = self.history
        held, _, cash, _, bought, sold, _ = state
        date = h.dates[rows[-1]]
        last = rows[-1]
        window = h.closes[max(last - self.fills.deadline_window + 1, 0) : last + 1]
        deadline_price = float(window.mean())
        emissions = cycle.emissions_t
        done = settle(
            self.terms,
            DeadlinePosition(held, cycle.ccer_t, sold - bought, emissions, deadline_price),
        )
        ccer_used, surrendered, short = done.ccer_used_t, done.surrendered_t, done.shortfall_t
        banked, forfeited = done.banked_t, done.forfeited_t
        penalty = fx.cents_nb(done.penalty)  # the ledger pays to the cent
        bank_value = fx.cents_nb(done.bank_value)
        cash -= penalty
        for event, tonnes, money in (
            ("CCER surrendered", ccer_used, 0.0),
            ("allowances surrendered", surrendered, 0.0),
            ("shortfall", short, 0.0),
            ("penalty", short, -penalty),
            ("banked", banked, 0.0),
            ("forfeited", forfeited, 0.0),
        ):
            self.events.append((date, cycle.year, event, tonnes, money, deadline_price))
        cost = cycle.cash - cash - bank_value + self.carried_in_value
        need = (
            emissions - cycle.allowances_t - cycle.true_up_t - sum(f.tonnes for f in cycle.forwards)
        )
        need = max(need - min(cycle.ccer_t, offset_cap), 0.0)
        average = float(h.closes[rows].mean())
        asset = cycle.allowances_t * previous
        self.cycle_rows.append(
            {
                "cycle": cycle.year,
                "start": h.dates[rows[0]],
                "deadline_session": date,
                "sessions": rows.size,
                "emissions_t": emissions,
                "need_t": need,
                "bought_t": bought,
                "sold_t": sold,
                "ccer_used_t": ccer_used,
                "surrendered_t": surrendered,
                "shortfall_t": short,
                "penalty": penalty,
                "banked_t": banked,
                "forfeited_t": forfeited,
                "deadline_price": deadline_price,
                "bank_value": bank_value,
                "cost": cost,
                "cost_per_t": cost / need if need > 0 else math.nan,
                "market_average": average,
                "cost_per_t_vs_market": cost / need / average if need > 0 else math.nan,
                "asset_return": pnl[-1] / asset if asset > 0 else math.nan,
                "max_drawdown": drawdown(pnl),
                "cash_end": cash,
            }
        )
        self.last_bank_value = bank_value
        self.carried_in_value = 0.0
        return banked, done.carried_shortfall_t, cash

    def result(self) -> BacktestResult:
        ledger = pd.DataFrame(self.ledger, columns=list(LEDGER_COLUMNS))
        daily = pd.DataFrame(self.daily, columns=list(DAILY_COLUMNS)).set_index("date")
        events = pd.DataFrame(self.events, columns=list(EVENT_COLUMNS))
        cycles = pd.DataFrame(self.cycle_rows).set_index("cycle")
        return BacktestResult(self.strategy.name, ledger, daily, events, cycles)
