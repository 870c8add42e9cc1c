"""What a night writes: the run record, the plans, the metrics and the report.

``build_outputs`` turns a night's results into plain JSON-ready records and into writers for
the run folder (``desk.store.files.write_folder_atomic`` writes them all or none):

    report.html  alerts.json  metrics.json  run.json
    <entity>/plan.json  <entity>/plan.csv  <entity>/frontier.csv
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from desk import report as r
from desk.config.desk import DeskConfig, entity_folder
from desk.nightly.night import EntityNight, MarketNight, Timings, file_hash
from engine.jsonable import jsonable


@dataclass
class Outputs:
    record: dict[str, Any]  # run.json
    plans: dict[str, dict[str, Any]]  # entity -> plan.json
    metrics: dict[str, Any]
    writers: dict[str, Callable[[Path], None]]


def code_version() -> dict[str, str]:
    version = {"carbon_desk": metadata.version("carbon-desk"), "python": platform.python_version()}
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists():
        try:
            commit = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "HEAD"],
                capture_output=True, text=True, timeout=10, check=True,
            ).stdout.strip()  # fmt: skip
            version["git_commit"] = commit
        except (OSError, subprocess.SubprocessError):
            pass
    for package in ("numpy", "numba", "pandas", "scipy", "cvxpy", "arch"):
        version[package] = metadata.version(package)
    return version


def plan_record(night: EntityNight, market: MarketNight, config: DeskConfig) -> dict[str, Any]:
    book = night.entity.book
    base: dict[str, Any] = {
        "entity": night.entity.name,
        "book": str(night.entity.book_path),
        "market": book.market,
        "currency": market.rules.currency,
        "prices_to": market.params.last_date,
        "deadline": str(book.deadline),
        "trading_days_to_deadline": night.days_to_deadline,
        "reserve_floor_t": book.reserve_floor_t,
        "coverage": book.coverage(),
    }
    if night.error is not None:
        return jsonable({**base, "error": {"type": type(night.error).__name__,
                                         "message": str(night.error)}})  # fmt: skip
    assert night.plan is not None and night.evaluation is not None
    assert night.benchmark is not None
    plan = night.plan.to_dict()
    plan.pop("scenario_cost", None)  # per scenario: in the optimiser, not the record
    return jsonable({
        **base,
        "scenarios": night.scenarios,
        "paths": config.run.paths,
        "seed": config.run.seed,
        "plan": plan,
        "out_of_sample": night.evaluation.to_dict(),
        "buy_at_deadline": night.benchmark.to_dict(),
        "frontier": None if night.frontier is None
        else night.frontier.reset_index().to_dict(orient="records"),
        "frontier_error": night.frontier_error,
        "kpis": [k.to_dict() for k in night.kpis],
        "decision_spread": None if night.spread is None else night.spread.to_dict(),
        "vs_best_rule": None if night.versus is None else night.versus.to_dict(),
    })  # fmt: skip


def build_outputs(
    config: DeskConfig,
    night: dt.date,
    markets: dict[str, MarketNight],
    entities: tuple[EntityNight, ...],
    alerts: Any,
    timings: Timings,
    started: float,
    store: Path,
) -> Outputs:
    write_started = time.perf_counter()  # called inside the "write" step
    plans = {e.entity.name: plan_record(e, markets[e.entity.book.market], config) for e in entities}
    metrics = jsonable({
        "as_of": night.isoformat(),
        "entities": {
            name: {k: plan.get(k) for k in ("coverage", "out_of_sample", "buy_at_deadline",
                                            "kpis", "error") if k in plan}
            for name, plan in plans.items()
        },
        "markets": {
            code: {"last_close": m.params.last_price, "last_date": m.params.last_date,
                   "model": m.choice.name if m.choice else m.params.name,
                   "model_zone": m.choice.zone if m.choice else None,
                   "persistence": m.params.persistence,
                   "fan_end": {f"{q:.0%}": float(m.fan[q].iloc[-1]) for q in m.fan.columns}
                   if not m.fan.empty else None}
            for code, m in markets.items()
        },
        "alerts": {"new": len(alerts.new), "open": len(alerts.open)},
    })  # fmt: skip
    inputs = {"config": {"path": str(config.path), "sha256": file_hash(config.path)}}
    for code, m in markets.items():
        inputs[f"prices_{code}"] = {"source": m.source.source, "rows": len(m.prices),
                                    "last_date": m.params.last_date,
                                    "content_sha256": m.input_hash}  # fmt: skip
        if m.source.source != "reference":
            inputs[f"prices_{code}"]["file_sha256"] = file_hash(m.source.source)
        if m.source.model_file is not None:
            inputs[f"model_{code}"] = {"path": str(m.source.model_file),
                                       "sha256": file_hash(m.source.model_file)}  # fmt: skip
    for e in entities:
        inputs[f"book_{e.entity.name}"] = {"path": str(e.entity.book_path),
                                           "sha256": file_hash(e.entity.book_path)}  # fmt: skip
    record: dict[str, Any] = jsonable({
        "as_of": night.isoformat(),
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inputs": inputs,
        "configuration": config.text,
        "code": code_version(),
        "seed": config.run.seed,
        "paths": config.run.paths,
        "scenarios": config.run.scenarios,
        "models": {code: m.params.to_dict() for code, m in markets.items()},
        "model_choice": {
            code: m.choice.record() if m.choice is not None
            else {"chosen": m.params.name, "pinned": str(m.source.model_file)}
            for code, m in markets.items()
        },
        "solvers": {name: (p.get("plan") or {}).get("solver") for name, p in plans.items()},
        "entities": {name: ("error" if "error" in p else "ok") for name, p in plans.items()},
        "alerts": {"new": [a["key"] for a in alerts.new], "problems": list(alerts.problems)},
        "timings_s": {k: round(v, 3) for k, v in timings.seconds.items()},
        "store": str(store),
    })  # fmt: skip

    def dump(value: Any) -> Callable[[Path], None]:
        return lambda path: path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")

    writers: dict[str, Callable[[Path], None]] = {}
    for e in entities:
        folder = entity_folder(e.entity.name)
        writers[f"{folder}/plan.json"] = dump(plans[e.entity.name])
        if e.plan is not None:
            writers[f"{folder}/plan.csv"] = lambda path, plan=e.plan: plan.schedule().to_csv(
                path, float_format="%.2f"
            )
        if e.frontier is not None:
            writers[f"{folder}/frontier.csv"] = lambda path, f=e.frontier: f.to_csv(path)
    writers["alerts.json"] = dump(jsonable({"new": list(alerts.new), "open": list(alerts.open),
                                          "problems": list(alerts.problems)}))  # fmt: skip
    writers["metrics.json"] = dump(metrics)

    def finish() -> None:  # once: the report (drawn last) and run.json show the same timings
        if "total" not in record["timings_s"]:
            now = time.perf_counter()
            record["timings_s"]["write"] = round(now - write_started, 3)
            record["timings_s"]["total"] = round(now - started, 3)

    def write_run(path: Path) -> None:  # after the report: the timings are stamped
        finish()
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    writers["report.html"] = lambda path: path.write_text(
        r.render(night, markets, entities, plans, alerts, record, finish), encoding="utf-8"
    )
    writers["run.json"] = write_run
    return Outputs(record, plans, metrics, writers)
