"""The report's first table: per entity, tonight's decision and what it is worth.

Read from each entity's plan record (``plan.json``). Three parts are optional and shown as an
em dash when a night did not compute them:

- ``record["decision_spread"]``: today's decision re-solved on ``sets`` independent scenario
  sets, as 5 / 50 / 95 % quantiles per decision (``buy_t``, ``sell_t``, ``forward_t``,
  ``ccer_today_t``);
- ``record["plan"]["forward_hedges"]``: the hedges proposed, each with its counterparty quote,
  delivery date, price, tonnes, the most on offer and its shadow price;
- ``record["vs_best_rule"]``: the plan's expected cost against the best rule strategy's on the
  same simulated paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from desk.report.format import (
    MISSING,
    Markup,
    day,
    esc,
    gap_parts,
    millions,
    nb,
    number,
    price,
    table,
    tonnes,
)

HEADER = [
    "entity",
    "buy",
    "sell",
    "CCER",
    "forward hedge",
    "reserve floor",
    "expected cost",
    "vs buy at the deadline",
    "vs best rule",
]


def _small(text: str, figure: str = "") -> str:
    """A second line in small print: ``text`` then ``figure`` kept on one line."""
    return f'<br><span class="sub">{esc(text)}{nb(figure) if figure else ""}</span>'


SPREAD_KEYS = {
    "buy_today_t": "buy_t",
    "sell_today_t": "sell_t",
    "forward_t": "forward_t",
    "ccer_today_t": "ccer_today_t",
}  # plan's decision -> decision_spread's key


def spread_line(key: str, spread: Mapping[str, Any] | None) -> str:
    """The 5-95 % range of one decision across scenario sets, or nothing when not measured."""
    band = (spread or {}).get(SPREAD_KEYS[key])
    return _small("", f"{number(band['p05'])}–{number(band['p95'])} t") if band else ""


def decision_cell(plan: Mapping[str, Any], key: str, spread: Mapping[str, Any] | None) -> Markup:
    """``42,788 t`` and, when the night measured it, its 5-95 % spread across scenario sets."""
    return Markup(nb(tonnes(plan.get(key))) + spread_line(key, spread))


def hedges(plan: Mapping[str, Any], currency: str, spread: Mapping[str, Any] | None) -> Markup:
    """The forward hedges proposed (tonnes, counterparty, price, delivery), or the total forward
    tonnes with an em dash for the details when the plan does not itemise them."""
    items = plan.get("forward_hedges")
    if items is None:
        return Markup(esc(tonnes(plan.get("forward_t"))) + _small(f"counterparty {MISSING}"))
    taken = [h for h in items if h.get("tonnes", 0) > 0.5]
    if not taken:
        return Markup(
            esc(tonnes(0))
            + _small(f"none of {len(items)} quotes taken" if items else "no quote configured")
        )
    lines = [
        " ".join(
            [
                nb(f"{tonnes(h['tonnes'])} from {h['quote']}"),
                nb(f"at {price(h['price'], currency)}"),
                nb(f"delivery {day(h['delivery'])}"),
            ]
        )
        for h in taken
    ]
    return Markup("<br>".join(lines) + spread_line("forward_t", spread))


def _versus(cost: float, benchmark: float, name: str, currency: str) -> Markup:
    """The benchmark's expected cost, and the plan's difference: ``plan +CNY 2,675 (0.01 %)``
    in red when the plan costs more, ``plan −CNY ...`` in green when it costs less."""
    sign, cls = ("+", "bad") if cost > benchmark else ("−", "good")
    size, share = gap_parts(cost - benchmark, benchmark, currency)
    return Markup(
        f"{esc(name)}{nb(millions(benchmark, currency))}<br>"
        f'<span class="{cls}">{nb(f"plan {sign}{size}")} {nb(f"({share})") if share else ""}'
        "</span>"
    )


def best_rule(record: Mapping[str, Any], currency: str) -> Markup | str:
    best = record.get("vs_best_rule")
    if not best:
        return MISSING
    cell = _versus(
        best["plan_cost"], best["rule_cost"], f"{best['rule']}: ", best.get("currency", currency)
    )
    return Markup(cell + _small("on ", f"{number(best.get('paths'))} paths"))


def decision_row(record: Mapping[str, Any], currency: str) -> tuple[list[Any], str]:
    name = record["entity"]
    floor = nb(tonnes(record.get("reserve_floor_t")))
    if "error" in record:
        error = record["error"]
        failed = Markup(f'<span class="bad">no plan: {esc(error["type"])}</span>')
        return [name, failed, MISSING, MISSING, MISSING, floor, MISSING, MISSING, MISSING], "red"
    plan, oos = record["plan"], record["out_of_sample"]
    spread = record.get("decision_spread")
    expected = Markup(
        nb(millions(oos["expected_cost"], currency))
        + _small("CVaR 95 % ", millions(oos["cvar"], currency))
    )
    deadline = _versus(
        oos["expected_cost"], record["buy_at_deadline"]["expected_cost"], "", currency
    )
    return [
        name,
        decision_cell(plan, "buy_today_t", spread),
        decision_cell(plan, "sell_today_t", spread),
        decision_cell(plan, "ccer_today_t", spread),
        hedges(plan, currency, spread),
        floor,
        expected,
        deadline,
        best_rule(record, currency),
    ], ""


def decisions_section(records: Sequence[tuple[Mapping[str, Any], str]]) -> list[str]:
    """The table and a note on what the spread is, from (plan record, currency) pairs."""
    rows, classes = [], []
    for record, currency in records:
        row, cls = decision_row(record, currency)
        rows.append(row)
        classes.append(cls)
    spreads = [r["decision_spread"] for r, _ in records if r.get("decision_spread")]
    if spreads:
        s = spreads[0]
        note = (
            "Under each decision in small print: its 5–95 % range when today's decision is "
            f"re-solved on "
            f"{number(s.get('sets'))} independent scenario sets of "
            f"{number(s.get('scenarios'))} scenarios each."
        )
    else:
        note = f"Spread of today's decision across scenario sets: {MISSING} (not computed)."
    return [
        "<h2>Tonight's decisions</h2>",
        table(HEADER, rows, classes, "decisions"),
        f'<p class="muted">Costs are expected compliance costs, out of sample on every '
        f"simulated path (a negative cost is a gain: sales and banked value exceed purchases). "
        f"{esc(note)}</p>",
    ]
