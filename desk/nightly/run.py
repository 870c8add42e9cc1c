"""``carbon nightly``: from market data to tomorrow's plans, alerts and KPIs, in one run.

Steps, each timed into ``run.json``:

1. load and validate each configured market's prices, cut at the as-of date;
2. choose the volatility model by its validated forecasts (``desk.models.choice``; or load the
   pinned one), fit it, and simulate the paths to the latest deadline of the market's
   entities;
3. per entity: scenarios from the paths, reduced for the optimiser; the plan; its cost out of
   sample on every path, beside the "buy at the deadline" benchmark; the frontier; the KPIs.
   An entity that fails (infeasible, a solver failure, a bad book) is reported with its error
   and the others go on;
4. the alert rules on the prices and on each book; new alerts stored and notified;
5. the run folder (report.html, plan.json/csv per entity, alerts.json, metrics.json, run.json)
   written all at once, and the run record appended to the store's audit chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.versus import Versus, rules_on_paths, versus_best_rule
from desk import exit_codes
from desk.config.desk import DeskConfig, Entity, MarketSource
from desk.config.sources import load_sources
from desk.models.choice import cache_folder, choose_model
from desk.models.simulate import load_pinned
from desk.nightly.alerts import check_alerts
from desk.nightly.night import EntityNight, MarketNight, Progress, Timings
from desk.nightly.output import build_outputs
from desk.store.alerts import open_alert_store
from desk.store.files import write_folder_atomic
from desk.store.runs import new_run_id, record_run
from desk.store.sqlite import store_path
from engine.book import ComplianceBook
from engine.errors import ConfigurationError, EngineError, OptimisationError
from engine.evaluate import Evaluation, evaluate_deadline_buying, evaluate_plan
from engine.forwards import delivery_index
from engine.kpi import entity_kpis
from engine.markets import market_rules
from engine.optimiser import ComplianceOptimiser, OptimiserSettings
from engine.plan import Plan
from engine.scenario_build import reduce_scenarios, scenarios_from_paths
from engine.scenarios import Scenarios
from engine.simulate import SimulationSpec, simulate_closes
from engine.stability import decision_spread
from market_data import SourceOptions, calendar_for

VALIDATION_CACHE = "validation-cache"  # beside the store: the model choice's validations


def prepare_market(
    source: MarketSource,
    as_of: dt.date | None,
    deadlines: list[dt.date],
    paths: int,
    seed: int,
    timings: Timings,
    cache_dir: Path | None = None,
    fmt: str | None = None,
    options: SourceOptions | None = None,
) -> MarketNight:
    """Steps 1 and 2 for one market. Without a pinned model file the model is the validated
    choice (``desk.models.choice``), its validation cached in ``cache_dir``."""
    rules = market_rules(source.code)
    with timings.step(f"load {source.code}"):
        frame = load_sources(  # the data's warnings: `carbon data show`
            (source.source,), rules, fmt or source.fmt, options or source.options
        )
        if as_of is not None:
            frame = frame.loc[: pd.Timestamp(as_of)]
            if frame.empty:
                raise ConfigurationError(
                    f"--as-of {as_of}: the {source.code.upper()} prices of {source.source} "
                    "start after it"
                )
        content = pd.util.hash_pandas_object(frame[["close"]], index=True).to_numpy()
        input_hash = hashlib.sha256(content.tobytes()).hexdigest()
    calendar = calendar_for(rules.calendar)
    index = pd.DatetimeIndex(frame.index)
    choice = None
    with timings.step(f"fit {source.code}"):
        if source.model_file is not None:
            params, diagnostics = load_pinned(source.model_file, source.allow_integrated), None
            if params.last_date != index[-1].date().isoformat():
                raise ConfigurationError(
                    f"markets.{source.code}.model_file {source.model_file} was fitted on closes "
                    f"to {params.last_date}, but tonight's prices end on {index[-1].date()}: "
                    "pin a model of tonight's prices, or leave model_file out to fit one"
                )
        else:
            choice = choose_model(
                frame["close"], calendar.session_gaps(index), rules, cache_dir=cache_dir,
                seed=seed,
            )  # fmt: skip
            params, diagnostics = choice.params, choice.diagnostics
    # No session left (every cycle past its deadline): no paths, and each entity says so; the
    # alert rules still run on the prices.
    sessions = pd.DatetimeIndex(calendar.sessions(calendar.next_session(index[-1]), max(deadlines)))
    with timings.step(f"simulate {source.code}"):
        if len(sessions):
            spec = SimulationSpec(paths=paths, days=len(sessions), seed=seed, band=rules.daily_band)
            closes = simulate_closes(params, spec)
        else:
            closes = np.empty((paths, 0))
    return MarketNight(
        source, rules, frame, params, diagnostics, closes, sessions, input_hash, choice
    )


def plan_book(
    book: ComplianceBook,
    market: MarketNight,
    days: int,
    *,
    seed: int,
    every: int,
    scenarios: int,
    settings: OptimiserSettings,
) -> tuple[ComplianceOptimiser, OptimiserSettings, Scenarios, Plan]:
    """The plan of ``book`` on the first ``days`` simulated days: scenarios every ``every``
    days from the paths (all of them: the out-of-sample set), on the calendar, reduced to
    ``scenarios`` for the optimiser, solved. The book's forwards are held from the decision date
    of their delivery; ``settings.forwards`` are the quotes it may hedge on, priced from the last
    close. Returns the optimiser (for re-solves), the settings it used, the full scenarios and
    the plan."""
    today = dt.date.fromisoformat(market.params.last_date)
    calendar = (today, *(d.date() for d in market.sessions[:days]))
    full = scenarios_from_paths(
        market.closes[:, :days], market.params.last_price, book, seed=seed, every=every,
        calendar=calendar,
    )  # fmt: skip
    assert full.decision_dates is not None
    delivery = tuple(delivery_index(full.decision_dates, f.delivery) for f in book.forwards)
    settings = replace(settings, forward_delivery_index=delivery or None)
    optimiser = ComplianceOptimiser(book, reduce_scenarios(full, min(scenarios, full.count)),
                                    settings)  # fmt: skip
    return optimiser, settings, full, optimiser.solve()


def plan_entity(
    entity: Entity, market: MarketNight, config: DeskConfig, timings: Timings
) -> EntityNight:
    """Step 3 for one entity; an ``EngineError`` is caught into the result, not raised."""
    book = entity.book
    days = int((market.sessions <= pd.Timestamp(book.deadline)).sum())
    try:
        with timings.step(f"plan {entity.name}"):
            if days < 2:
                raise ConfigurationError(
                    f"entity {entity.name}: {days} trading day(s) left before the deadline "
                    f"{book.deadline}: nothing to plan"
                )
            run = config.run
            settings = replace(entity.optimiser.settings, forwards=entity.forwards)
            optimiser, settings, full, plan = plan_book(
                book, market, days, seed=run.seed, every=run.every, scenarios=run.scenarios,
                settings=settings,
            )  # fmt: skip
        with timings.step(f"evaluate {entity.name}"):
            evaluation = evaluate_plan(book, plan, full, settings)
            last_dates = min(2, full.prices.shape[1] - 1)  # fewer dates near the deadline
            benchmark = evaluate_deadline_buying(book, full, settings, last_dates=last_dates)
        spread = versus = None
        if run.stability_sets:
            with timings.step(f"stability {entity.name}"):
                spread = decision_spread(
                    book, full, settings, sets=run.stability_sets,
                    count=min(run.scenarios, full.count // run.stability_sets),
                )  # fmt: skip
        if run.versus_paths:
            with timings.step(f"rules {entity.name}"):
                versus = plan_versus_rules(book, market, days, full, evaluation, settings, run)
    except EngineError as exc:
        return EntityNight(entity, days_to_deadline=days, error=exc)
    frontier, frontier_error = None, None
    lambdas = entity.optimiser.frontier  # a sweep of lambda: mode "mean_cvar" only
    if lambdas and entity.optimiser.settings.mode == "mean_cvar":
        with timings.step(f"frontier {entity.name}"):  # a failed point loses it, not the plan
            try:
                frontier = optimiser.frontier(lambdas)
            except EngineError as exc:
                frontier_error = f"{type(exc).__name__}: {exc}"
    kpis = entity_kpis(
        book,
        start_price=cycle_start_price(market.prices["close"], book.cycle_year),
        price=market.params.last_price,
        plan_cost=evaluation.expected_cost,
        deadline_cost=benchmark.expected_cost,
        targets=config.targets,
    )
    return EntityNight(
        entity, plan, evaluation, benchmark, frontier, kpis, days, optimiser.scenarios.count,
        None, frontier_error, spread, versus,
    )  # fmt: skip


def plan_versus_rules(
    book: ComplianceBook,
    market: MarketNight,
    days: int,
    full: Scenarios,
    evaluation: Evaluation,
    settings: OptimiserSettings,
    run: Any,
) -> Versus:
    """The rules on the first ``run.versus_paths`` paths, with the plan's emissions and
    true-up draws, against the plan's out-of-sample cost on the same paths."""
    n = min(run.versus_paths, full.count)
    prefix = market.prices["close"].iloc[-120:]
    closes = np.round(market.closes[:n, :days] / market.rules.tick) * market.rules.tick
    rules = rules_on_paths(
        book, closes, market.sessions[:days], prefix,
        emissions_t=full.emissions[:n], true_up_t=full.true_up[:n],
    )  # fmt: skip
    return versus_best_rule(
        evaluation.cost[:n], rules, lambda_=settings.lambda_, alpha=settings.alpha,
        currency=market.rules.currency, sunk=sum(f.tonnes * f.price for f in book.forwards),
    )  # fmt: skip


def cycle_start_price(closes: pd.Series, cycle_year: int) -> float:
    """The first close of the cycle's year; the last close when the year has not started in
    the data (the return is then 0), the first one when the data starts later."""
    inside = closes.loc[str(cycle_year) :]
    if inside.empty:
        return float(closes.iloc[-1])
    return float(inside.iloc[0])


@dataclass(frozen=True)
class NightlyRun:
    """What a night produced; ``exit_code`` is the run's (``desk.exit_codes``)."""

    as_of: dt.date
    folder: Path
    markets: dict[str, MarketNight]
    entities: tuple[EntityNight, ...]
    alerts_new: tuple[dict[str, Any], ...]
    alerts_open: tuple[dict[str, Any], ...]
    alert_problems: tuple[str, ...]
    record: dict[str, Any]
    run_id: str
    audit_head: str
    exit_code: int
    alerts_critical: tuple[dict[str, Any], ...] = ()  # open, critical, not acknowledged: exit 7


def run_nightly(
    config: DeskConfig,
    *,
    as_of: dt.date | None = None,
    out: Path | None = None,
    store: Path | None = None,
    progress: Progress | None = None,
) -> NightlyRun:
    """The whole night (see the module). Raises for what stops every entity (bad market data,
    no model); an entity's own failure is in its result and in the exit code."""
    timings = Timings(progress)
    started = time.perf_counter()
    path = store_path(store, config.run.store)
    markets: dict[str, MarketNight] = {}
    for code, source in config.markets.items():
        deadlines = [e.book.deadline for e in config.entities if e.book.market == code]
        if deadlines:
            markets[code] = prepare_market(
                source, as_of, deadlines, config.run.paths, config.run.seed, timings,
                cache_folder(path.parent / VALIDATION_CACHE),
            )  # fmt: skip
    entities = tuple(
        plan_entity(entity, markets[entity.book.market], config, timings)
        for entity in config.entities
    )
    night = max(dt.date.fromisoformat(m.params.last_date) for m in markets.values())
    conn = open_alert_store(path, key_file=config.audit_key_file)
    try:
        with timings.step("alerts"):
            alerts = check_alerts(conn, config, markets, entities)
        code = exit_codes.OK
        failures = [e.error for e in entities if e.error is not None]
        if failures:
            code = (
                exit_codes.INFEASIBLE
                if any(isinstance(f, OptimisationError) for f in failures)
                else exit_codes.CONFIG
            )
        elif alerts.critical:
            code = exit_codes.CRITICAL_ALERT
        folder = (out or config.run.out) / night.isoformat()
        run_id = new_run_id(night.isoformat())
        with timings.step("write"):
            outputs = build_outputs(
                config, night, markets, entities, alerts, timings, started, path
            )
            outputs.record["run_id"] = run_id
            write_folder_atomic(folder, outputs.writers)  # the record attests what was written
            head = record_run(conn, run_id, night.isoformat(), code, outputs.record, outputs.plans)
    finally:
        conn.close()
    return NightlyRun(
        night, folder, markets, entities, tuple(alerts.new), tuple(alerts.open),
        tuple(alerts.problems), outputs.record, run_id, head, code, tuple(alerts.critical),
    )  # fmt: skip
