"""Monte Carlo mode: the numba kernels agree with the event-driven backtester path by path."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from backtest.cycle import FillSettings
from backtest.event import run_backtest
from backtest.montecarlo import path_history, run_paths
from backtest.reconcile import reconcile
from engine.errors import ConfigurationError
from strategies.rules import (
    BuyAtDeadline,
    EvenAccumulation,
    ForwardHedge,
    ReserveArbitrage,
    Scripted,
)

STRATEGIES = (
    BuyAtDeadline(final_sessions=15),
    EvenAccumulation(),
    ReserveArbitrage(window=10, low=0.25, high=0.75, clip_share=0.03, long_share=0.3),
    ForwardHedge(hedge_ratio=0.6),
)
SAMPLE = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55)
FILLS = FillSettings(fallback_liquidity_t=60_000.0, impact=0.03, forward_premium=0.75)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s.name)
def test_the_kernel_agrees_with_the_event_driven_backtester_path_by_path(strategy, simulated):
    s = simulated
    mc = run_paths(
        strategy,
        s["paths"],
        s["cycle"],
        prefix=s["prefix"],
        sessions=s["sessions"],
        emissions_t=s["emissions"],
        true_up_t=s["true_up"],
        fills=FILLS,
    )
    assert np.isfinite(mc.cost).all() and mc.cost.shape == (60,)
    for i in SAMPLE:
        cycle = dataclasses.replace(
            s["cycle"], emissions_t=s["emissions"][i], true_up_t=s["true_up"][i]
        )
        history = path_history(s["prefix"], s["sessions"], s["paths"][i])
        event = run_backtest(strategy, history, cycle, fills=FILLS)
        reconcile(event)
        row = event.cycles.iloc[0]
        assert (row.bought_t, row.sold_t) == (mc.bought_t[i], mc.sold_t[i]), i
        assert (row.shortfall_t, row.banked_t) == (mc.shortfall_t[i], mc.banked_t[i]), i
        # the deadline price is a mean summed in a different order: a cent at most
        assert row.cost == pytest.approx(mc.cost[i], abs=0.02), i
        assert row.penalty == pytest.approx(mc.penalty[i], abs=0.02), i
        assert event.ledger["fee"].sum() == pytest.approx(mc.fees[i], abs=1e-6), i


def test_the_rules_trade_differently_and_the_summary_adds_up(simulated):
    s = simulated
    kwargs = dict(
        prefix=s["prefix"],
        sessions=s["sessions"],
        emissions_t=s["emissions"],
        true_up_t=s["true_up"],
        fills=FILLS,
    )
    results = {st.name: run_paths(st, s["paths"], s["cycle"], **kwargs) for st in STRATEGIES}
    deadline = results["deadline"]
    for name, result in results.items():
        summary = result.summary(deadline)
        assert summary["cvar"] >= summary["var"] >= np.quantile(result.cost, 0.9)
        assert summary["mean_cost"] == pytest.approx(result.cost.mean())
        expected = (deadline.cost - result.cost).mean()
        assert summary["mean_savings_vs_deadline"] == pytest.approx(expected)
        if name == "deadline":
            assert summary["mean_savings_vs_deadline"] == 0
    assert results["reserve"].sold_t.max() > 0 and results["even"].sold_t.max() == 0
    assert not np.array_equal(results["even"].cost, results["deadline"].cost)


def test_monte_carlo_mode_refuses_what_it_cannot_run(simulated):
    s = simulated
    with pytest.raises(ConfigurationError, match="no numba kernel"):
        run_paths(Scripted(), s["paths"], s["cycle"], prefix=s["prefix"], sessions=s["sessions"])
    with pytest.raises(ConfigurationError, match="shape"):
        run_paths(
            EvenAccumulation(),
            s["paths"][:, :-1],
            s["cycle"],
            prefix=s["prefix"],
            sessions=s["sessions"],
        )
    with pytest.raises(ConfigurationError, match="one per path"):
        run_paths(
            EvenAccumulation(),
            s["paths"],
            s["cycle"],
            prefix=s["prefix"],
            sessions=s["sessions"],
            emissions_t=s["emissions"][:5],
        )


@pytest.mark.parametrize("strategy", [EvenAccumulation(), BuyAtDeadline()], ids=lambda s: s.name)
def test_an_eua_book_is_never_left_short_by_the_lot(strategy, simulated):
    """EUA trades in 1,000 t lots. A book 234,567 t short (about; each path's verified emissions
    differ by 5 %) buying in slices: with purchases rounded down to lots the last slice (under a
    lot) was never bought, and here every path ended short (522 t on average, with either
    rule); rounded up, none is, the liquidity (100,000 t a session) allowing every slice."""
    s = simulated
    sessions = s["sessions"]
    cycle = dataclasses.replace(
        s["cycle"], allowances_t=1_000_000.0, pledged_t=0.0, ccer_t=0.0, forwards=(),
        expected_emissions_t=1_234_567.0, expected_true_up_t=0.0, emissions_t=1_234_567.0,
        true_up_t=0.0, trading_budget=1e12,
    )  # fmt: skip
    rng = np.random.Generator(np.random.PCG64(5))
    emissions = np.round(1_234_567.0 * (1.0 + 0.05 * rng.standard_normal(len(s["paths"]))))
    result = run_paths(
        strategy, s["paths"], cycle, prefix=s["prefix"], sessions=sessions,
        emissions_t=emissions, market="eua",
    )  # fmt: skip
    assert (result.shortfall_t > 0).mean() == 0.0
    # and less than one lot is bought beyond the need (the last slice's rounding), besides what
    # was bought before verification towards expected emissions above the path's own
    over = result.bought_t - (emissions - 1_000_000.0)
    assert over.min() >= 0.0
    assert np.all(over < 1_000.0 + np.maximum(1_234_567.0 - emissions, 0.0))
