"""The optimised strategy: model-predictive control with the compliance optimiser.

On a schedule (the cycle's first session, then every ``every`` sessions) the strategy:

1. takes the volatility model the nightly run would take on every close seen so far (no close
   of the session it trades, nor later): by default the candidate the rolling-origin
   validation ranks first (``engine.validation.pick_model``: validated on the closes to the
   month before, refitted on every close), the short-history model when no origin can be
   validated yet, and, with fewer than 20 returns, no model at all: it then buys the shortfall
   evenly over the sessions left, as the ``even`` rule does;
2. simulates ``paths`` price paths from that fit over the sessions left to the deadline, and
   draws the emissions still uncertain (s.d. ``emissions_sd_share`` of the obligation until
   verification, none after) with the true-up still to come arriving halfway;
3. samples them on decision dates every ``decision_every`` sessions into scenarios, reduces
   them to ``scenarios`` and solves the optimiser (``engine.optimiser``) for the entity's
   position today: allowances held, forwards due, CCER, pledges, the budget left, the reserve;
4. trades the here-and-now decision (buy or sell today), and nothing until the next re-solve.

The strategy keeps its compiled programs (``engine.optimiser_cache.ProblemCache``, one per
instance): on simulated paths every path re-plans at the same sessions, so each re-solve has
a structure seen before and skips cvxpy's compilation, and the first plan, the same on every
path, is solved once (``reuse_programs=False`` builds every program afresh, as before).

CCER purchases and new forwards are not offered to the optimiser (the backtester trades
allowances; CCER held counts within the cap). In the last ``final_sessions`` sessions it buys
what is still short in equal slices, as "buy at the deadline" does, so a plan's later recourse,
which is not acted on, cannot leave a shortfall. When a fit or a solve fails (an infeasible
book, a model that cannot be fitted), it trades nothing that session; ``notes`` records why.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from engine.book import ComplianceBook, Forward, Obligation, Pledge
from engine.errors import ConfigurationError, ModelError, ModelWarning, OptimisationError
from engine.fallback import FALLBACK_MIN_RETURNS
from engine.markets import market_rules
from engine.optimiser import ComplianceOptimiser, OptimiserSettings
from engine.optimiser_cache import ProblemCache
from engine.scenario_build import decision_days, reduce_scenarios
from engine.scenarios import Scenarios
from engine.simulate import SimulationSpec, simulate_closes
from engine.validation import CANDIDATES, FALLBACK, candidate
from engine.validation.pick import GrowingHistory, pick_model
from engine.volatility import VolatilityParams, fit_volatility
from strategies.base import DecisionView, Order, whole_tonnes_down, whole_tonnes_up

BIC_CHOICES = ("garch", "gjr", "auto")
MODEL_NAMES = ("validated", *BIC_CHOICES, *(c.name for c in CANDIDATES))


@dataclass(frozen=True)
class Optimised:
    """Re-solve the optimiser on a schedule and trade its here-and-now decision (see module).

    Attributes:
        every: sessions between re-solves.
        paths, scenarios, decision_every: simulated paths, the reduced scenarios the optimiser
            sees, and sessions between its decision dates.
        lambda_, liquidity_t, impact: the optimiser's settings (risk aversion, tonnes per
            decision date and side, impact at full liquidity).
        emissions_sd_share: s.d. of emissions around the obligation before verification.
        min_history: returns a fit (and a validation origin) needs; fewer: the short-history
            model (arch needs 100; 500 is its advice).
        model: ``"validated"`` (the validation's choice, as the nightly run), a candidate's name
            (``garch-normal``, ``gjr-t``, ..., ``fallback``), or the BIC choice within
            ``"garch"``, ``"gjr"`` or ``"auto"`` (both).
        validation_paths: paths an origin for the validated choice.
        given: a model to run forward instead of choosing one (its state filtered through the
            closes after its last date, its parameters kept): a Monte Carlo backtest passes
            the model its paths are drawn from, as the desk re-plans on tonight's model.
        final_sessions: the last sessions, in which the shortfall is bought in slices.
        market, seed: the market's rules (band, deadline) and the simulation's seed.
        reuse_programs: keep compiled programs and solved plans between re-solves (the same
            plans to the solver's tolerance; 1.6x faster on 200 paths); ``False`` builds
            each program afresh.
    """

    every: int = 40
    paths: int = 400
    scenarios: int = 30
    decision_every: int = 10
    lambda_: float = 1.0
    liquidity_t: float = 100_000.0
    impact: float = 0.02
    emissions_sd_share: float = 0.03
    min_history: int = 250
    model: str = "validated"
    validation_paths: int = 500
    given: VolatilityParams | None = None
    final_sessions: int = 5
    market: str = "cea"
    seed: int = 0
    reuse_programs: bool = True
    notes: list[str] = field(default_factory=list, init=False, compare=False, repr=False)
    history: GrowingHistory = field(
        default_factory=GrowingHistory, init=False, compare=False, repr=False
    )
    programs: ProblemCache = field(
        default_factory=ProblemCache, init=False, compare=False, repr=False
    )
    name: ClassVar[str] = "optimised"

    def __post_init__(self) -> None:
        checks = {
            "every": self.every >= 1,
            "paths": self.paths >= 2,
            "scenarios": 2 <= self.scenarios <= self.paths,
            "decision_every": self.decision_every >= 1,
            "lambda_": self.lambda_ >= 0,
            "liquidity_t": self.liquidity_t > 0,
            "impact": self.impact >= 0,
            "emissions_sd_share": 0 <= self.emissions_sd_share < 1,
            "min_history": self.min_history >= 100,
            "final_sessions": self.final_sessions >= 1,
            "model": self.model in MODEL_NAMES,
            "validation_paths": self.validation_paths >= 100,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigurationError(
                    f"strategy setting {name} = {getattr(self, name)!r} is impossible"
                )

    def decide(self, view: DecisionView) -> Sequence[Order]:
        cycle = view.cycle
        if cycle.sessions_left <= self.final_sessions:
            tonnes = whole_tonnes_up(view.shortfall_t() / cycle.sessions_left)
            return [Order("buy", tonnes, reason="optimised: final")] if tonnes >= 1 else []
        if cycle.index % self.every != 0:
            return []
        if view.closes.size <= FALLBACK_MIN_RETURNS:  # no model yet: the even rule
            tonnes = whole_tonnes_up(view.shortfall_t() / cycle.sessions_left * self.every)
            return [Order("buy", tonnes, reason="optimised: no model yet")] if tonnes >= 1 else []
        try:
            buy, sell = self.plan(view)
        except (ModelError, OptimisationError, ConfigurationError) as exc:
            self.notes.append(f"{view.date.date()}: no plan ({exc})")
            return []
        if buy >= 1:
            return [Order("buy", buy, reason="optimised")]
        if sell >= 1:
            return [
                Order(
                    "sell",
                    min(sell, whole_tonnes_down(view.position.sellable_t)),
                    reason="optimised",
                )
            ]
        return []

    def plan(self, view: DecisionView) -> tuple[float, float]:
        """Today's (buy, sell) in whole tonnes from a fresh fit, simulation and solve."""
        rules = market_rules(self.market)
        params = self.volatility(view)
        horizon = view.cycle.sessions_left
        seed = self.seed + view.cycle.index
        spec = SimulationSpec(paths=self.paths, days=horizon, seed=seed, band=rules.daily_band)
        paths = simulate_closes(params, spec)
        scenarios = reduce_scenarios(self._scenarios(view, paths, seed), self.scenarios)
        book = self._book(view)
        days = decision_days(horizon, self.decision_every)
        forward_at = self._date_index(view, days, view.cycle.forward_delivery)
        settings = OptimiserSettings(
            lambda_=self.lambda_,
            liquidity_t=self.liquidity_t,
            impact=self.impact,
            forward_delivery_index=forward_at if book.forwards else None,
        )
        cache = self.programs if self.reuse_programs else None
        plan = ComplianceOptimiser(book, scenarios, settings, cache=cache).solve()
        # to the nearest tonne: a solver's 1e-6 t is no trade
        return float(np.floor(plan.buy_today_t + 0.5)), float(np.floor(plan.sell_today_t + 0.5))

    def volatility(self, view: DecisionView) -> VolatilityParams:
        """The model for the closes seen so far under the market's band and tick (see the
        module's docstring)."""
        if self.given is not None:
            after = view.dates > pd.Timestamp(self.given.last_date)
            return self.given.advanced(
                np.asarray(view.closes)[after], view.dates[-1].date().isoformat()
            )
        closes = pd.Series(np.asarray(view.closes), index=view.dates)
        gaps = np.ones(closes.size, dtype=np.int64)
        if self.model == "validated":
            rules = market_rules(self.market)
            return pick_model(
                closes, gaps, band=rules.daily_band, tick=rules.tick,
                paths=self.validation_paths, seed=self.seed,
                min_observations=self.min_history, validator=self.history.validator(),
            ).params  # fmt: skip
        if closes.size <= self.min_history:
            return FALLBACK.fit(closes, gaps, self.min_history)[0]
        if self.model in BIC_CHOICES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ModelWarning)
                return fit_volatility(
                    closes, model=self.model, min_observations=self.min_history,
                    allow_nonstationary=True,
                ).params  # fmt: skip
        return candidate(self.model).fit(closes, gaps, self.min_history)[0]

    def _scenarios(self, view: DecisionView, paths: np.ndarray, seed: int) -> Scenarios:
        n, horizon = paths.shape
        days = decision_days(horizon, self.decision_every)
        last = view.last_close
        prices = np.hstack([np.full((n, 1), last), paths[:, days - 1]])
        deadline_price = paths[:, max(horizon - 21, 0) :].mean(axis=1)
        rng = np.random.Generator(np.random.PCG64(seed))
        sd = 0.0 if view.cycle.verified else self.emissions_sd_share
        emissions = view.cycle.obligation_t * (1.0 + sd * rng.standard_normal(n))
        true_up = np.full(n, view.cycle.true_up_to_come_t)
        return Scenarios(
            prices=prices,
            deadline_price=deadline_price,
            ccer_prices=prices * 100.0,  # not offered: CCER is not traded in the backtest
            emissions=np.maximum(emissions, 0.0),
            true_up=true_up,
            true_up_date=0 if view.cycle.verified else min(days.size // 2 + 1, days.size),
        )

    def _book(self, view: DecisionView) -> ComplianceBook:
        """The entity's position today as a book for the optimiser."""
        p, c = view.position, view.cycle
        emissions = max(c.obligation_t, 1.0)
        forwards = ()
        if p.forwards_due_t > 0:
            forwards = (Forward(p.forwards_due_t, c.forward_price, c.forward_delivery),)
        pledges = ()
        if min(p.pledged_t, p.allowances_t) > 0:  # its loan plays no part in the plan
            pledges = (
                Pledge(
                    tonnes=min(p.pledged_t, p.allowances_t), loan=0.0, trigger_ltv=1.0, call_ltv=1.0
                ),
            )
        return ComplianceBook(
            entity="backtest",
            market=self.market,
            cycle_year=c.year,
            allowances_by_vintage={c.year: max(p.allowances_t, 0.0)},
            ccer_t=p.ccer_t,
            forwards=forwards,
            pledges=pledges,
            cash=max(p.cash, 0.0),
            trading_budget=max(c.trading_budget - p.spent, 0.0),
            reserve_floor_share=min((c.reserve_floor_t + view.reserve_add_t) / emissions, 1.0),
            obligation=Obligation(
                expected_output=emissions,
                base_output=emissions,
                output_sd_share=0.0,
                intensity=1.0,
                intensity_sd_share=0.0,
                benchmark=1.0,
            ),
        )

    @staticmethod
    def _date_index(view: DecisionView, days: np.ndarray, date) -> int:
        """The decision date (0 today) on or after ``date``; the last when it is later."""
        when = view.cycle.sessions[view.cycle.index + days - 1]
        k = int(when.searchsorted(pd.Timestamp(date))) + 1
        return 0 if pd.Timestamp(date) <= view.date else min(k, days.size)
