"""The exchange's fill rules as one pure state transition: ``(state, order) -> (state, fill)``.

Both backtesters call it: the event-driven one once per order from Python, the Monte Carlo
kernels inline. Expected rejections come back as status codes, never as exceptions.

An order for a session fills at the session's price (the CEA close is the day's volume-weighted
average, what a participant trading through the day gets), moved by market impact, under these
rules, checked in this order:

1. lot (``order_lots_nb``, the one place orders are rounded): a purchase is rounded *up* to
   whole lots, so that what a strategy still needs is always bought (rounded down, the last
   slice of an EUA book's need, under one 1,000 t lot, was never bought); a sale is rounded
   down, never selling more than asked; a sale of less than one lot is ``REJECTED_LOT``;
2. listing or block: an order of at least ``block_threshold_t`` is a block trade, which may be
   priced within the wider block band; a limit price is rounded to the tick (a buy's down, a
   sale's up) and must lie within the band around the previous close, else ``REJECTED_BAND``;
3. liquidity: a session without volume fills nothing (``REJECTED_NO_LIQUIDITY``); fills of a
   session together take at most its liquidity cap (a share of its volume), so an order beyond
   what is left fills in part (``PARTIAL_LIQUIDITY``);
4. T+1 and pledges: a sale takes at most the allowances held less those bought this session
   and those pledged (``PARTIAL_SELLABLE`` / ``REJECTED_SELLABLE``);
5. price: the session's price x (1 +/- impact x tonnes / cap), held inside the band and
   rounded to the tick (a buy's up, a sale's down); a limit the price does not reach fills
   nothing (``REJECTED_LIMIT``);
6. budget: purchases with their fees may not take the cycle's spending past the trading budget
   (``PARTIAL_BUDGET`` / ``REJECTED_BUDGET``);
7. value = tonnes x price and fee = value x fee rate, each rounded half up to the cent.

State, rules and day are plain float tuples/arrays (layouts below); numba passes tuples by
value, so the transition allocates nothing.
"""

from __future__ import annotations

import math

import numpy as np

from engine._numba import njit

# Fill statuses.
(
    FILLED,
    PARTIAL_LIQUIDITY,
    PARTIAL_SELLABLE,
    PARTIAL_BUDGET,
    REJECTED_LOT,
    REJECTED_BAND,
    REJECTED_NO_LIQUIDITY,
    REJECTED_SELLABLE,
    REJECTED_LIMIT,
    REJECTED_BUDGET,
) = range(10)
STATUS_NAMES: tuple[str, ...] = (
    "filled",
    "partial: liquidity",
    "partial: T+1 or pledged",
    "partial: budget",
    "rejected: below one lot",
    "rejected: limit outside the band",
    "rejected: no liquidity",
    "rejected: nothing sellable (T+1 or pledged)",
    "rejected: limit not reached",
    "rejected: budget spent",
)

# State tuple: allowances held, bought this session (T+1), cash, spent against the budget,
# tonnes bought and sold in the cycle, liquidity left this session.
HELD, LOCKED, CASH, SPENT, BOUGHT, SOLD, LEFT = range(7)
# Rules array.
FEE_RATE, LOT, TICK, BLOCK_THRESHOLD, IMPACT, BUDGET, PLEDGED, N_RULES = range(8)
# Day array: price, band (listing) low/high, block band low/high, liquidity cap (t).
PRICE, LOW, HIGH, BLOCK_LOW, BLOCK_HIGH, CAP, N_DAY = range(7)

BUY, SELL = 1, -1
EPS_T = 1e-9


@njit(cache=True)
def cents_nb(amount):
    """``amount`` rounded half up to the cent."""
    return math.floor(amount * 100.0 + 0.5) / 100.0


@njit(cache=True)
def _lots(tonnes, lot):
    return math.floor(tonnes / lot + EPS_T) * lot


@njit(cache=True)
def order_lots_nb(tonnes, lot, side):
    """An order's tonnes in whole lots: a purchase rounded up (the need is covered), a sale
    rounded down (never more than asked)."""
    if side == BUY:
        return math.ceil(tonnes / lot - EPS_T) * lot
    return _lots(tonnes, lot)


@njit(cache=True)
def ticks_down_nb(price, tick):
    # k / (1 / tick) rather than k x tick: 5037 / 100 is 50.37 exactly, 5037 x 0.01 is not
    return math.floor(price / tick + 1e-9) / (1.0 / tick)


@njit(cache=True)
def ticks_up_nb(price, tick):
    return math.ceil(price / tick - 1e-9) / (1.0 / tick)


@njit(cache=True)
def execute_nb(state, side, tonnes, limit, day, rules):
    """One order against one session: returns ``(new state, (tonnes, price, value, fee,
    status))``; ``limit`` NaN for none; ``side`` ``BUY`` or ``SELL``. A rejection returns the
    state unchanged and zero tonnes (price NaN)."""
    held, locked, cash, spent, bought, sold, left = state
    lot, tick, fee_rate = rules[LOT], rules[TICK], rules[FEE_RATE]
    q = order_lots_nb(tonnes, lot, side)
    if q <= 0.0:
        return state, (0.0, np.nan, 0.0, 0.0, REJECTED_LOT)
    block = q >= rules[BLOCK_THRESHOLD]
    low = day[BLOCK_LOW] if block else day[LOW]
    high = day[BLOCK_HIGH] if block else day[HIGH]
    has_limit = not math.isnan(limit)
    if has_limit:
        limit = ticks_down_nb(limit, tick) if side == BUY else ticks_up_nb(limit, tick)
        if limit < low - 1e-9 or limit > high + 1e-9:
            return state, (0.0, np.nan, 0.0, 0.0, REJECTED_BAND)
    cap, price = day[CAP], day[PRICE]
    if not (cap > 0.0) or left < lot or math.isnan(price):
        return state, (0.0, np.nan, 0.0, 0.0, REJECTED_NO_LIQUIDITY)
    status = FILLED
    if q > left + EPS_T:
        q = _lots(left, lot)
        status = PARTIAL_LIQUIDITY
    if side == SELL:
        sellable = held - locked - rules[PLEDGED]
        if q > sellable + EPS_T:
            q = _lots(max(sellable, 0.0), lot)
            if q <= 0.0:
                return state, (0.0, np.nan, 0.0, 0.0, REJECTED_SELLABLE)
            status = PARTIAL_SELLABLE
    fill_price = _price(price, side, q, cap, rules[IMPACT], low, high, tick)
    if has_limit and (
        (side == BUY and fill_price > limit + 1e-9) or (side == SELL and fill_price < limit - 1e-9)
    ):
        return state, (0.0, np.nan, 0.0, 0.0, REJECTED_LIMIT)
    value = cents_nb(q * fill_price)
    fee = cents_nb(value * fee_rate)
    if side == BUY and spent + value + fee > rules[BUDGET] + 1e-6:
        room = rules[BUDGET] - spent
        q = _lots(max(room, 0.0) / (fill_price * (1.0 + fee_rate)), lot)
        while q > 0.0:  # the price falls with the size, so a smaller order stays affordable
            fill_price = _price(price, side, q, cap, rules[IMPACT], low, high, tick)
            value = cents_nb(q * fill_price)
            fee = cents_nb(value * fee_rate)
            if spent + value + fee <= rules[BUDGET] + 1e-6:
                break
            q -= lot
        if q <= 0.0:
            return state, (0.0, np.nan, 0.0, 0.0, REJECTED_BUDGET)
        status = PARTIAL_BUDGET
    if side == BUY:
        new = (
            held + q,
            locked + q,
            cash - value - fee,
            spent + value + fee,
            bought + q,
            sold,
            left - q,
        )
    else:
        new = (held - q, locked, cash + value - fee, spent, bought, sold + q, left - q)
    return new, (q, fill_price, value, fee, status)


@njit(cache=True)
def _price(price, side, q, cap, impact, low, high, tick):
    """The session's price moved by impact, held in the band, rounded to the tick."""
    moved = price * (1.0 + side * impact * q / cap)
    moved = min(max(moved, low), high)
    return ticks_up_nb(moved, tick) if side == BUY else ticks_down_nb(moved, tick)


@njit(cache=True)
def forward_nb(tonnes, quote, spent, rules):
    """A forward purchase at ``quote``: whole lots (rounded up, as every purchase), in full
    unless the trading budget stops it. Returns (tonnes, value, fee, status)."""
    lot, fee_rate, budget = rules[LOT], rules[FEE_RATE], rules[BUDGET]
    q = order_lots_nb(tonnes, lot, BUY)
    if q <= 0:
        return 0.0, 0.0, 0.0, REJECTED_LOT
    status = FILLED
    value = cents_nb(q * quote)
    fee = cents_nb(value * fee_rate)
    if spent + value + fee > budget + 1e-6:
        status = PARTIAL_BUDGET
        q = math.floor(max(budget - spent, 0.0) / (quote * (1.0 + fee_rate)) / lot + EPS_T) * lot
        while q > 0:
            value = cents_nb(q * quote)
            fee = cents_nb(value * fee_rate)
            if spent + value + fee <= budget + 1e-6:
                break
            q -= lot
        if q <= 0:
            return 0.0, 0.0, 0.0, REJECTED_BUDGET
    return float(q), value, fee, status


def band_limits(
    previous_close: float, sessions: int, band: float | None, tick: float
) -> tuple[float, float]:
    """The lowest and highest price allowed after ``sessions`` sessions since
    ``previous_close`` (each day's limit compounds; rounded inward to the tick); no limit
    without a band."""
    if band is None:
        return 0.0, math.inf
    low = previous_close * (1.0 - band) ** sessions
    high = previous_close * (1.0 + band) ** sessions
    return ticks_up_nb(low, tick), ticks_down_nb(high, tick)
