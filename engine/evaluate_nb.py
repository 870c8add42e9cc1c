"""Numba kernel of the out-of-sample evaluation: a plan's first-stage decision on every path.

The optimiser decides today's trades on a reduced scenario set, with later decisions on a tree
of those scenarios. Out of sample, on the full simulation, later trades follow a rule instead:

- on each later decision date (from ``buy_from`` on), buy an equal share of what is still
  missing to cover the path's
  emissions (after CCER within the cap, the allowances held, the true-up still to come and the
  forwards still to be delivered) over the dates left, at most the liquidity cap a date and
  within what the trading budget has left;
- on the same dates, when more is held than that and the banking cap together, sell an equal
  share of the excess over the dates left, at most the liquidity cap a date and never below the
  reserve floor or the pledged tonnes (``LOWEST``), counting a negative true-up still to come:
  a long book (or a plan that bought today to sell later) gets its sales. The rule sells down
  to the banking cap's base alone, as the optimiser plans (the "+1.5 x net sales" term is not
  convex), so it may sell what a larger cap would have let it bank;
- at the deadline, the settlement of ``engine.settlement.settle_nb``: CCER within the cap, then
  allowances; the rest is short and pays the penalty; the surplus is banked up to the rules'
  full cap (base + multiple x net sales) and valued at the deadline price.

The rule knows the path's own emissions (an entity follows its output through the year); it
never sees a future price. Costs add up as in the optimiser: purchases - sales + fees + impact +
CCER (with its own impact, ``CCER_IMPACT`` at ``CCER_LIQUIDITY``) + forwards + penalty - value
banked.
"""

from __future__ import annotations

from engine._numba import njit, prange
from engine.settlement import DeadlinePosition, offset_cap_t, settle_nb

# First-stage decision layout.
BUY, SELL, FORWARD, CCER_BUY = range(4)
# Book and rule layout.
(
    HOLDINGS, CCER_HELD, FORWARD_PRICE, OLD_FORWARD_COST, FEE, CCER_FEE, IMPACT, LIQUIDITY,
    CCER_IMPACT, CCER_LIQUIDITY, BUDGET, LOWEST, N_BOOK,
) = range(13)  # fmt: skip
# The settlement's terms travel apart, as ``engine.settlement.SettlementTerms``.


@njit(cache=True, parallel=True)
def evaluate_nb(first, book, terms, prices, ccer_price0, deadline_price, emissions, true_up,
                true_up_date, arrivals, forward_date, buy_from, cost, shortfall, penalty,
                banked):  # fmt: skip
    """Per path: ``cost`` (currency), ``shortfall`` (t), ``penalty`` (currency) and ``banked``
    (t, valued) of the first-stage decision ``first`` followed by the even-buying rule.

    Args:
        first: [buy, sell, forward, ccer_buy] of today (t).
        book: the book and trading vector (layout above).
        terms: the settlement's ``SettlementTerms``.
        prices: paths x dates, CEA price per tonne; column 0 is today.
        ccer_price0: today's CCER price per tonne.
        deadline_price, emissions, true_up: per path.
        true_up_date: date index at which the true-up arrives (dates + 0 is the deadline).
        arrivals: dates + 1, tonnes of the book's forwards delivered at each date index (the last
            entry: at the deadline).
        forward_date: date index at which the new forward delivers.
        buy_from: the first later date index on which the rule buys (1: every later date; the
            last dates only: "buy at the deadline", what many entities do).
    """
    n_paths, n_dates = prices.shape
    fee, impact, liquidity = book[FEE], book[IMPACT], book[LIQUIDITY]
    for i in prange(n_paths):
        p0 = prices[i, 0]
        buy0, sell0 = first[BUY], first[SELL]
        # The budget counts purchases with their fees and the new forward, as the optimiser's.
        spend = buy0 * p0 * (1.0 + fee) + first[FORWARD] * book[FORWARD_PRICE]
        ccer0 = first[CCER_BUY]
        spend += ccer0 * ccer_price0 * (1.0 + book[CCER_FEE])
        total = spend - sell0 * p0 * (1.0 - fee)
        total += impact * p0 * (buy0 * buy0 + sell0 * sell0) / liquidity
        total += book[CCER_IMPACT] * ccer_price0 * ccer0 * ccer0 / book[CCER_LIQUIDITY]
        total += book[OLD_FORWARD_COST]
        held = book[HOLDINGS] + buy0 - sell0
        net_sales = sell0 - buy0 - first[FORWARD]  # a forward bought counts as bought
        ccer_usable = min(book[CCER_HELD] + ccer0, offset_cap_t(terms, emissions[i]))
        to_come = first[FORWARD] + true_up[i]
        for d in range(n_dates + 1):
            to_come += arrivals[d]
        for d in range(1, n_dates + 1):  # dates 1..D-1, then the deadline (d = D)
            arriving = arrivals[d] + (first[FORWARD] if d == forward_date else 0.0)
            arriving += true_up[i] if d == true_up_date else 0.0
            held += arriving
            to_come -= arriving
            if d == n_dates:
                break
            missing = emissions[i] - ccer_usable - held - to_come
            if d < buy_from:
                continue
            price = prices[i, d]
            if missing < 0.0:  # long beyond the bank: sell an equal share of the excess
                excess = -missing - terms.bank_base_t
                clawback = min(true_up[i], 0.0) if d < true_up_date else 0.0
                room = held + clawback - book[LOWEST]  # a true-up that takes back stays covered
                sell = min(excess / (n_dates - d), liquidity, room)
                if sell > 0.0:
                    total -= sell * price * (1.0 - fee) - impact * price * sell * sell / liquidity
                    held -= sell
                    net_sales += sell
                continue
            slice_t = missing / (n_dates - d)
            affordable = max(book[BUDGET] - spend, 0.0) / (price * (1.0 + fee))
            buy = min(slice_t, liquidity, affordable)
            if buy <= 0.0:
                continue
            spend += buy * price * (1.0 + fee)
            total += buy * price * (1.0 + fee) + impact * price * buy * buy / liquidity
            held += buy
            net_sales -= buy
        held += arrivals[0] + (first[FORWARD] if forward_date == 0 else 0.0)
        held += true_up[i] if true_up_date == 0 else 0.0
        done = settle_nb(
            terms,
            DeadlinePosition(
                held, book[CCER_HELD] + ccer0, net_sales, emissions[i], deadline_price[i]
            ),
        )
        cost[i] = total + done.cost
        shortfall[i] = done.shortfall_t
        penalty[i] = done.penalty
        banked[i] = done.banked_t
