"""The Monte Carlo backtest kernel: a rule strategy through one cycle on N paths at once.

Per path it runs the event-driven backtester's session loop (``backtest.event``) with the same
fill transition (``backtest.fills_nb.execute_nb``), the rule's numba twin
(``strategies.rules_nb.decide_nb``) and the settlement's (``engine.settlement.settle_nb``),
keeping only what the cost needs: no ledger, no daily rows. Paths run in parallel
(``prange``); each path's arithmetic is sequential, so results do not depend on the number
of threads. The tests check it against the event-driven backtester path by path.
"""

from __future__ import annotations

import math

import numpy as np

from backtest import fills_nb as fx
from engine._numba import njit, prange
from engine.forwards import carry_price_nb
from engine.settlement import DeadlinePosition, offset_cap_t, settle_nb
from strategies.rules_nb import decide_nb

# Cycle vector (the settlement's terms travel apart, as ``engine.settlement.SettlementTerms``).
(
    ALLOWANCES,
    CCER,
    CASH,
    EXPECTED_EMISSIONS,
    EXPECTED_TRUE_UP,
    LIQUIDITY,
    BAND,
    BLOCK_BAND,
    FORWARD_CARRY,
    DEADLINE_WINDOW,
    TRUE_UP_AT,
    DELIVERY_AT,
    RESERVE_ADD,
    FORWARD_PREMIUM,
    N_CYCLE,
) = range(15)
# Outputs, per path.
COST, SHORTFALL, PENALTY, BANKED, BOUGHT, SOLD, FEES, N_OUT = range(8)


@njit(cache=True)
def _band(previous, band, tick):
    if math.isinf(band):
        return 0.0, math.inf
    low = previous * (1.0 - band)  # one session: band_limits with sessions=1
    high = previous * (1.0 + band)
    return fx.ticks_up_nb(low, tick), fx.ticks_down_nb(high, tick)


@njit(cache=True)
def run_path_nb(
    code,
    params,
    closes,
    start,
    emissions,
    true_up,
    cycle,
    terms,
    rules,
    years,
    arrivals,
    arrival_value,
    out,
):
    """One path: ``closes`` holds the prefix then the cycle's sessions from ``start`` on;
    writes the outputs (layout above) into ``out``."""
    n = closes.size - start
    tick = rules[fx.TICK]
    pledged = rules[fx.PLEDGED]
    held, cash, spent, bought, sold = cycle[ALLOWANCES], cycle[CASH], 0.0, 0.0, 0.0
    fees = 0.0
    existing_due = 0.0
    for k in range(n):
        existing_due += arrivals[k]
    new_due, new_value, new_at = 0.0, 0.0, -1
    true_up_at, delivery_at = int(cycle[TRUE_UP_AT]), int(cycle[DELIVERY_AT])
    verified = False
    day = np.empty(fx.N_DAY)
    state = (held, 0.0, cash, spent, bought, sold, 0.0)
    for k in range(n):
        i = start + k
        previous = closes[i - 1]
        if arrivals[k] > 0.0:
            held += arrivals[k]
            cash -= arrival_value[k]
            existing_due -= arrivals[k]
        if new_at >= 0 and new_at <= k:
            held += new_due
            cash -= new_value
            new_due, new_value, new_at = 0.0, 0.0, -1
        if k == true_up_at:
            held += true_up
            verified = True
        state = (held, 0.0, cash, spent, bought, sold, cycle[LIQUIDITY])
        obligation = emissions if verified else cycle[EXPECTED_EMISSIONS]
        to_come = 0.0 if verified else cycle[EXPECTED_TRUE_UP]
        offset_cap = offset_cap_t(terms, obligation)
        covered = held + (existing_due + new_due) + to_come + min(cycle[CCER], offset_cap)
        sellable = max(held - pledged, 0.0)
        forward, buy, sell = decide_nb(
            code, params, closes, i, k, n - k, obligation, covered, sellable, cycle[RESERVE_ADD]
        )
        if forward > 0.0:
            quote = carry_price_nb(previous, years[k], cycle[FORWARD_CARRY], cycle[FORWARD_PREMIUM])
            quote = fx.ticks_up_nb(quote, tick)
            q, value, fee, status = fx.forward_nb(forward, quote, spent, rules)
            if status < fx.REJECTED_LOT:
                cash -= fee
                spent += value + fee
                bought += q
                fees += fee
                new_due += q
                new_value += value
                new_at = max(delivery_at, k + 1)
                state = (held, 0.0, cash, spent, bought, sold, cycle[LIQUIDITY])
        if buy > 0.0 or sell > 0.0:  # the day's bands only when an order needs them
            day[fx.PRICE] = closes[i]
            day[fx.LOW], day[fx.HIGH] = _band(previous, cycle[BAND], tick)
            day[fx.BLOCK_LOW], day[fx.BLOCK_HIGH] = _band(previous, cycle[BLOCK_BAND], tick)
            day[fx.CAP] = cycle[LIQUIDITY]
        if buy > 0.0:
            state, fill = fx.execute_nb(state, fx.BUY, buy, np.nan, day, rules)
            fees += fill[3]
        if sell > 0.0:
            state, fill = fx.execute_nb(state, fx.SELL, sell, np.nan, day, rules)
            fees += fill[3]
        held, _, cash, spent, bought, sold, _ = state
    last = closes.size - 1
    window = int(cycle[DEADLINE_WINDOW])
    first = max(last - window + 1, 0)
    total = 0.0
    for j in range(first, last + 1):
        total += closes[j]
    deadline_price = total / (last + 1 - first)
    done = settle_nb(
        terms, DeadlinePosition(held, cycle[CCER], sold - bought, emissions, deadline_price)
    )
    penalty = fx.cents_nb(done.penalty)  # the ledger pays to the cent, as the event backtester
    cash -= penalty
    out[COST] = cycle[CASH] - cash - fx.cents_nb(done.bank_value)
    out[SHORTFALL] = done.shortfall_t
    out[PENALTY] = penalty
    out[BANKED] = done.banked_t
    out[BOUGHT] = bought
    out[SOLD] = sold
    out[FEES] = fees


@njit(cache=True, parallel=True)
def backtest_paths_nb(
    code,
    params,
    prefix,
    paths,
    emissions,
    true_up,
    cycle,
    terms,
    rules,
    years,
    arrivals,
    arrival_value,
    out,
):
    """Every path of ``paths`` (N x sessions) after the shared ``prefix`` of closes; writes
    ``out`` (N x ``N_OUT``)."""
    n_paths, n_days = paths.shape
    p = prefix.size
    for s in prange(n_paths):
        closes = np.empty(p + n_days)
        closes[:p] = prefix
        closes[p:] = paths[s]
        run_path_nb(
            code,
            params,
            closes,
            p,
            emissions[s],
            true_up[s],
            cycle,
            terms,
            rules,
            years,
            arrivals,
            arrival_value,
            out[s],
        )


@njit(cache=True, parallel=True)
def sweep_nb(
    code,
    params,
    closes,
    starts,
    ends,
    emissions,
    true_up,
    cycles,
    terms,
    rules,
    years,
    arrivals,
    arrival_value,
    out,
):
    """Every parameter row of ``params`` (settings x ``N_PARAMS``) through every cycle c of one
    price series: the window of cycle c is ``closes[starts[c]:ends[c] + 1]`` (per-cycle arrays
    padded to the longest window); writes ``out`` (settings x cycles x ``N_OUT``)."""
    n_settings = params.shape[0]
    for s in prange(n_settings):
        for c in range(starts.size):
            run_path_nb(
                code,
                params[s],
                closes[: ends[c] + 1],
                starts[c],
                emissions[c],
                true_up[c],
                cycles[c],
                terms,
                rules[c],
                years[c],
                arrivals[c],
                arrival_value[c],
                out[s, c],
            )
