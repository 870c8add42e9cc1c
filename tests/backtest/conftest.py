"""Shared inputs of the backtest tests: the example book, a short variant of it, the reference
market, and a small simulation from a pinned model (no fit: fast and fixed)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import market_data as md
from backtest.cycle import Cycle
from desk.config.book import load_book
from engine.simulate import SimulationSpec, simulate_closes
from engine.volatility import VolatilityParams

ROOT = Path(__file__).resolve().parents[2]
PINNED = VolatilityParams(
    model="garch",
    dist="t",
    mu=0.0,
    omega=0.2,
    alpha=0.1,
    gamma=0.0,
    beta=0.85,
    nu=5.0,
    last_variance=4.0,
    last_residual=0.0,
    last_price=88.0,
    last_date="2026-06-30",
    unchanged_prob=0.0,
)


@pytest.fixture(scope="session")
def book():
    return load_book(ROOT / "desk/defaults/power_company_book.toml")


@pytest.fixture(scope="session")
def short_book(book):
    """The example company in its 2024 cycle holding only its pre-allocation: 110 kt short
    (3.28 Mt expected emissions - 2.13 Mt held - 0.99 Mt true-up - 50 kt CCER)."""
    return dataclasses.replace(
        book, cycle_year=2024, allowances_by_vintage={2024: 2_129_400.0}, forwards=()
    )


@pytest.fixture(scope="session")
def reference():
    return md.reference_market()


@pytest.fixture(scope="session")
def cycle_2024(short_book):
    """Traded through 2025 on the reference market, true-up on 30 June."""
    return Cycle.from_book(short_book, start="2025-01-01", true_up_date="2025-06-30")


@pytest.fixture(scope="session")
def simulated(book, reference):
    """60 paths over the 2025 cycle's last half-year (the example book: forward due 30 June,
    CCER, pledge) with output-driven emissions, from a pinned GARCH-t model."""
    xshg = md.calendar_for("XSHG")
    sessions = xshg.sessions(xshg.next_session(reference.index[-1]), book.deadline)
    spec = SimulationSpec(paths=60, days=len(sessions), seed=11, band=0.10)
    paths = np.round(simulate_closes(PINNED, spec), 2)
    cycle = Cycle.from_book(
        dataclasses.replace(book, allowances_by_vintage={2025: 1_800_000.0}),
        start=sessions[0],
        true_up_date=sessions[len(sessions) // 2],
        forward_delivery=sessions[-30],
    )
    obligation = book.obligation.scenarios(60, seed=11)
    prefix: pd.Series = reference["close"].iloc[-40:]
    return {
        "paths": paths,
        "sessions": sessions,
        "cycle": cycle,
        "prefix": prefix,
        "emissions": obligation.emissions,
        "true_up": obligation.true_up,
    }


@pytest.fixture(scope="session")
def real_cea(shared_data) -> pd.DataFrame:
    """The exchange's bulletins, gaps filled from the Wind export: 2021-07-16..2026-08-14."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", md.DataWarning)
        seee = md.load(shared_data / "cea_seee_bulletins.csv")
        wind = md.load(shared_data / "cea_wind_export_raw.csv")
    return md.merge_sources(seee, wind).frame
