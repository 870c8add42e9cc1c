"""Backtests on a price history, one compliance cycle a year, and the table that compares
strategies on them.

The stated book for every cycle (``stated_cycles``): the entity of a ``ComplianceBook`` (its
obligation, CCER, pledges, cash and trading budget) trading through the calendar year that ends
on a surrender deadline (31 December for the CEA), starting each year from its pre-allocation
alone (no bank, no forwards), with its expected emissions as the verified ones and its expected
true-up arriving on 30 June (on the first session when the window starts later). Every cycle
starts from the same position, so the rows compare years; ``FillSettings(carry_over=True)``
chains them instead. The window of a year ends on its deadline session; the cycle the engine
dates ``Y - 1`` (emissions of ``Y - 1``, surrendered by 31 December ``Y``) is traded in ``Y``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from backtest.cycle import Cycle, FillSettings
from backtest.event import run_backtest
from backtest.result import BacktestResult
from engine.book import ComplianceBook
from engine.errors import ConfigurationError
from engine.markets import market_rules
from strategies.base import Strategy

MN = 1e6


def stated_book(book: ComplianceBook, cycle_year: int) -> ComplianceBook:
    """``book`` moved to ``cycle_year``, holding its pre-allocation only."""
    return dataclasses.replace(
        book,
        cycle_year=cycle_year,
        allowances_by_vintage={cycle_year: book.obligation.preallocated},
        forwards=(),
    )


def stated_cycles(
    book: ComplianceBook,
    dates: pd.DatetimeIndex,
    *,
    years: Sequence[int] | None = None,
    true_up: tuple[int, int] = (6, 30),
) -> list[Cycle]:
    """One cycle per deadline year covered by ``dates`` (see the module): a year counts when the
    prices run from before its deadline month to its deadline session's month."""
    compliance = market_rules(book.market).compliance
    assert compliance is not None
    lag = compliance.surrender_years_after
    first, last = dates[0], dates[-1]
    month = compliance.surrender_month
    covered = [
        y
        for y in range(first.year, last.year + 1)
        if first < pd.Timestamp(y, month, 1)
        and last >= pd.Timestamp(y, month, 1) + pd.offsets.MonthEnd(0) - pd.Timedelta(days=7)
    ]
    chosen = covered if years is None else list(years)
    missing = sorted(set(chosen) - set(covered))
    if missing:
        raise ConfigurationError(
            f"deadline years {missing} are not covered by prices from {first.date()} to "
            f"{last.date()}; covered: {covered or 'none'}"
        )
    cycles = []
    for year in chosen:
        moved = stated_book(book, year - lag)
        start = max(
            dt.date(year - 1, month, compliance.surrender_day) + dt.timedelta(days=1), first.date()
        )
        true_up_date = max(dt.date(year, *true_up), start)
        cycles.append(Cycle.from_book(moved, start=start, true_up_date=true_up_date))
    return cycles


def compare(
    strategies: Sequence[Strategy],
    prices: pd.DataFrame | pd.Series,
    cycles: Sequence[Cycle],
    *,
    market: str = "cea",
    fills: FillSettings | None = None,
    session_gaps: np.ndarray | None = None,
) -> dict[str, BacktestResult]:
    """Each strategy through ``cycles`` on ``prices`` (names must differ)."""
    names = [s.name for s in strategies]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"strategies to compare need different names, got {names}")
    return {
        s.name: run_backtest(
            s, prices, cycles, market=market, fills=fills, session_gaps=session_gaps
        )
        for s in strategies
    }


def cost_table(results: dict[str, BacktestResult], baseline: str = "deadline") -> pd.DataFrame:
    """Compliance cost (currency m) per cycle, labelled by the year it is traded in (its deadline
    session's year), and strategy, with a total row; first the cycle's need (kt) and average
    close (currency/t), and after the costs what each strategy saves against ``baseline``."""
    first = next(iter(results.values())).cycles
    label = pd.Index(first["deadline_session"].dt.year, name="year")
    table = pd.DataFrame(
        {
            "need kt": first["need_t"].to_numpy() / 1e3,
            "average close": first["market_average"].to_numpy(),
        },
        index=label,
    )
    for name, result in results.items():
        table[name] = result.cycles["cost"].to_numpy() / MN
    totals = table.sum()
    totals["average close"] = np.nan
    table.loc["total"] = totals
    if baseline in results:
        for name in results:
            if name != baseline:
                table[f"{name} saves"] = table[baseline] - table[name]
    return table
