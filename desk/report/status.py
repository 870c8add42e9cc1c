"""The status strip: per entity, does anything need a person this morning?

Each entity gets five checks, each green, amber or red with its reason in words:

- **plan**: red when the entity has no plan (an infeasible book, a solver failure, a bad
  book); amber when only the frontier failed;
- **benchmarks**: amber when the plan's expected cost, out of sample, is above buying at the
  deadline's, or above the best rule's (``vs_best_rule``, when the night computed it);
- **KPIs**: amber when a KPI misses its target;
- **model**: red for a model in the Basel red zone, amber for yellow, or for a model the
  validation could not rank (a fallback on a short history);
- **alerts**: red for a critical alert open that nobody acknowledged (what makes the night
  exit 7),
  amber for a current alert new tonight or an alert rule or notifier that failed.

The entity's level is its worst check's: green only when nothing needs a person. The checks
read plain records (``plan.json``, ``run.json``'s ``model_choice``, ``alerts.json``'s dicts),
so a test plants a problem by editing a record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from desk.nightly.night import CURRENT_SESSIONS
from desk.report.format import day, gap, money, number, percent, signed_percent

Level = Literal["green", "amber", "red"]
ORDER: dict[str, int] = {"green": 0, "amber": 1, "red": 2}
KPI_UNITS = {"share": "share", "ratio": "ratio"}  # any other unit is the market's currency


@dataclass(frozen=True)
class Check:
    name: str  # the strip's column
    level: Level
    text: str  # why, in words


@dataclass(frozen=True)
class EntityStatus:
    entity: str
    checks: tuple[Check, ...]

    @property
    def level(self) -> Level:
        return max((c.level for c in self.checks), key=ORDER.__getitem__, default="green")

    @property
    def reasons(self) -> list[str]:
        """What needs a person, worst first."""
        bad = [c for c in self.checks if c.level != "green"]
        return [f"{c.name}: {c.text}" for c in sorted(bad, key=lambda c: -ORDER[c.level])]


def entity_status(
    record: Mapping[str, Any],
    currency: str,
    model: Mapping[str, Any] | None,
    critical: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    problems: Sequence[str],
) -> EntityStatus:
    """The checks of one entity. ``critical``: its current critical alerts still open; ``new``:
    its current alerts stored tonight; ``problems``: the night's failed rules and notifiers."""
    return EntityStatus(
        str(record["entity"]),
        (
            plan_check(record),
            benchmark_check(record, currency),
            kpi_check(record, currency),
            model_check(model),
            alert_check(critical, new, problems, currency),
        ),
    )


def plan_check(record: Mapping[str, Any]) -> Check:
    if "error" in record:
        error = record["error"]
        return Check("plan", "red", f"no plan tonight: {error['type']}: {error['message']}")
    if record.get("frontier_error"):
        return Check(
            "plan", "amber", f"the plan solved, the frontier failed: {record['frontier_error']}"
        )
    plan, oos = record["plan"], record["out_of_sample"]
    return Check(
        "plan",
        "green",
        f"solved ({plan.get('solver') or 'solver unknown'}); "
        f"P(shortfall) {percent(oos['shortfall_probability'])} "
        f"on {number(oos.get('paths'))} paths",
    )


def benchmark_check(record: Mapping[str, Any], currency: str) -> Check:
    """The plan's expected cost out of sample against buying at the deadline and the best
    rule: amber when it costs more than either."""
    if "error" in record:
        return Check("benchmarks", "green", "no plan to compare")
    plan_cost = record["out_of_sample"]["expected_cost"]
    parts, worse = [], False
    deadline = record["buy_at_deadline"]["expected_cost"]
    parts.append(_against(plan_cost, deadline, "buying at the deadline", currency))
    worse |= plan_cost > deadline
    best = record.get("vs_best_rule")
    if best:
        cost, rule_cost = best["plan_cost"], best["rule_cost"]
        name = f"the best rule ({best['rule']}, {number(best.get('paths'))} paths)"
        parts.append(_against(cost, rule_cost, name, best.get("currency", currency)))
        worse |= cost > rule_cost
    else:
        parts.append("best rule —")
    return Check("benchmarks", "amber" if worse else "green", "; ".join(parts))


def _against(cost: float, benchmark: float, name: str, currency: str) -> str:
    size = gap(cost - benchmark, benchmark, currency)
    if cost > benchmark:
        return f"costs {size} more than {name}"
    return f"saves {size} against {name}"


def kpi_value(kpi: Mapping[str, Any], value: Any, currency: str) -> str:
    unit = KPI_UNITS.get(kpi["unit"])
    if unit == "share":
        return percent(value)
    if unit == "ratio":
        return number(value, ",.3f")
    return money(value, currency)


def kpi_check(record: Mapping[str, Any], currency: str) -> Check:
    kpis = record.get("kpis") or []
    if "error" in record or not kpis:
        return Check("KPIs", "green", "no KPI tonight")
    missed = [k for k in kpis if k["met"] is False]
    with_target = [k for k in kpis if k["met"] is not None]
    if missed:
        text = "; ".join(
            f"{k['name']} {kpi_value(k, k['value'], currency)} "
            f"(target {'≥' if k['higher_is_better'] else '≤'} "
            f"{kpi_value(k, k['target'], currency)})"
            for k in missed
        )
        return Check("KPIs", "amber", f"{len(missed)} of {len(with_target)} missed: {text}")
    if not with_target:
        return Check("KPIs", "green", "no target set")
    return Check("KPIs", "green", f"{len(with_target)} of {len(with_target)} targets met")


def model_check(choice: Mapping[str, Any] | None) -> Check:
    """The market's model as tonight's validation measured it (``ModelChoice.record``)."""
    if not choice:
        return Check("model", "amber", "no model record")
    if "pinned" in choice:
        return Check(
            "model",
            "green",
            f"{choice['chosen']} pinned from {choice['pinned']} (not validated tonight)",
        )
    row = next((r for r in choice["candidates"] if r["candidate"] == choice["chosen"]), None)
    if row is None:
        return Check("model", "amber", f"{choice['chosen']}: not validated ({choice['reason']})")
    zone = choice.get("zone")
    coverage = f"its 90 % band held {percent(row.get('cover90_early'), 0)} of the next 20 closes"
    if zone == "red":
        return Check(
            "model",
            "red",
            f"{choice['chosen']} in the Basel red zone (1-day 99 % "
            f"VaR, last 250 sessions); {coverage}",
        )
    if zone == "yellow":
        return Check("model", "amber", f"{choice['chosen']} in the Basel yellow zone; {coverage}")
    if zone == "green":
        return Check("model", "green", f"{choice['chosen']}, Basel zone green; {coverage}")
    return Check("model", "amber", f"{choice['chosen']}: no Basel zone ({choice['reason']})")


def alert_check(
    critical: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    problems: Sequence[str],
    currency: str,
) -> Check:
    if critical:
        first = critical[0]
        more = f" and {len(critical) - 1} more" if len(critical) > 1 else ""
        return Check(
            "alerts",
            "red",
            f"{len(critical)} critical open, not acknowledged: "
            f"{alert_headline(first, currency)}{more}",
        )
    if new or problems:
        parts = [f"{len(new)} new tonight: {alert_headline(new[0], currency)}"] if new else []
        parts += [f"check failed: {p}" for p in problems[:2]]
        return Check("alerts", "amber", "; ".join(parts))
    return Check(
        "alerts",
        "green",
        f"no critical alert open, nothing new in the last {CURRENT_SESSIONS} sessions",
    )


def alert_headline(alert: Mapping[str, Any], currency: str) -> str:
    """``cumulative +22.0 % to 71.65 CNY/t on 12 Feb 2026 (CEA)``: the rule, its main figure."""
    figures = alert.get("figures", {})
    text = alert["rule"]
    if "move" in figures:
        text += f" {signed_percent(figures['move'])}"
    elif "sigma_pct" in figures:
        text += f" {number(figures['sigma_pct'], ',.2f')} % a day"
    elif "ltv" in figures:
        text += f" loan-to-value {percent(figures['ltv'])}"
    elif "coverage" in figures:
        text += f" coverage {percent(figures['coverage'])}"
    if "close" in figures:
        text += f" to {number(figures['close'], ',.2f')} {currency}/t"
    return f"{text} on {day(alert['date'])} ({alert['instrument']})"
