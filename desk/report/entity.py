"""One entity in detail: its book, tomorrow's trades, cost and risk against the benchmarks,
the forward quotes with their shadow prices, the frontier and the KPIs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from desk.report.charts import frontier_chart
from desk.report.format import (
    MISSING,
    Markup,
    day,
    esc,
    money,
    number,
    percent,
    price,
    table,
    tonnes,
)
from desk.report.status import kpi_value


def kpi_rows(kpis: Iterable[Mapping[str, Any]], currency: str) -> list[list[Any]]:
    rows = []
    for k in kpis:
        met = k["met"]
        status = Markup(
            MISSING
            if met is None
            else ('<span class="good">met</span>' if met else '<span class="bad">missed</span>')
        )
        target = (
            MISSING
            if k["target"] is None
            else (f"{'≥' if k['higher_is_better'] else '≤'} {kpi_value(k, k['target'], currency)}")
        )
        rows.append([k["name"], kpi_value(k, k["value"], currency), target, status, k["note"]])
    return rows


def _risk_row(label: str, figures: Mapping[str, Any], currency: str) -> list[Any]:
    return [
        label,
        money(figures["expected_cost"], currency),
        money(figures["var"], currency),
        money(figures["cvar"], currency),
        percent(figures["shortfall_probability"]),
    ]


def _forward_quotes(plan: Mapping[str, Any], currency: str) -> list[str]:
    quotes = plan.get("forward_hedges")
    if quotes is None:
        return []
    rows = [
        [
            q["quote"],
            day(q["delivery"]),
            price(q["price"], currency),
            tonnes(q["tonnes"]),
            tonnes(q.get("max_t")),
            price(q.get("shadow_price"), currency),
        ]
        for q in quotes
    ]
    return [
        "<h3>Forward quotes</h3>",
        table(
            [
                "counterparty quote",
                "delivery",
                "price",
                "hedge",
                "on offer",
                "one more tonne on offer is worth",
            ],
            rows,
        )
        if rows
        else "<p>No forward quote configured.</p>",
    ]


def _spread(record: Mapping[str, Any]) -> list[str]:
    spread = record.get("decision_spread")
    if not spread:
        return []
    names = {
        "buy_t": "buy",
        "sell_t": "sell",
        "forward_t": "forward hedge",
        "ccer_today_t": "buy CCER",
    }
    rows = [
        [
            label,
            tonnes(spread[key]["p05"]),
            tonnes(spread[key]["median"]),
            tonnes(spread[key]["p95"]),
        ]
        for key, label in names.items()
        if key in spread
    ]
    return [
        f"<h3>Stability: today's decision on {number(spread.get('sets'))} scenario sets of "
        f"{number(spread.get('scenarios'))} scenarios</h3>",
        table(["decision", "5 %", "median", "95 %"], rows),
    ]


def entity_section(e: Any, record: Mapping[str, Any], currency: str) -> list[str]:
    """``e``: the entity's ``EntityNight`` (its book, frontier and error); ``record``: its plan
    record."""
    name = e.entity.name
    book = e.entity.book
    out = [f'<h2 id="entity-{esc(name)}">Plan in detail: {esc(name)}</h2>']
    out.append(
        f'<p class="muted">Cycle {book.cycle_year}, surrender by {esc(day(book.deadline))} '
        f"({number(record['trading_days_to_deadline'])} trading days); expected emissions "
        f"{tonnes(book.obligation.expected_emissions)}; coverage "
        f"{number(record['coverage'], ',.3f')}; reserve floor {tonnes(book.reserve_floor_t)}.</p>"
    )
    if "error" in record:
        error = record["error"]
        return [*out, f'<p class="error"><b>{esc(error["type"])}</b>: {esc(error["message"])}</p>']
    p, oos, deadline = record["plan"], record["out_of_sample"], record["buy_at_deadline"]
    out.append("<h3>Tomorrow</h3>")
    out.append(
        table(
            ["decision", "tonnes"],
            [
                ["buy allowances", tonnes(p["buy_today_t"])],
                ["sell allowances", tonnes(p["sell_today_t"])],
                ["new forward hedge", tonnes(p["forward_t"])],
                ["buy CCER", tonnes(p["ccer_today_t"])],
                [
                    "expected CCER surrendered (cap 5 % of emissions)",
                    tonnes(p["expected_ccer_use_t"]),
                ],
                ["compliance reserve floor", tonnes(book.reserve_floor_t)],
            ],
        )
    )
    out += _spread(record)
    out += _forward_quotes(p, currency)
    out.append(f"<h3>Cost and risk ({esc(currency)})</h3>")
    rows = [
        _risk_row(f"plan, in sample ({number(record['scenarios'])} scenarios)", p, currency),
        _risk_row(f"plan, out of sample ({number(oos['paths'])} paths)", oos, currency),
        _risk_row("buy at the deadline, out of sample", deadline, currency),
    ]
    best = record.get("vs_best_rule")
    if best:
        cur = best.get("currency", currency)
        rows.append(
            [
                f"best rule ({best['rule']}, {number(best.get('paths'))} paths)",
                money(best["rule_cost"], cur),
                MISSING,
                MISSING,
                MISSING,
            ]
        )
    out.append(table(["", "expected cost", "VaR 95 %", "CVaR 95 %", "P(shortfall)"], rows))
    out.append(
        '<p class="muted">In sample: on the optimiser\'s reduced scenarios, which it fits; out '
        "of sample: the same plan on every simulated path, which is the figure to trust.</p>"
    )
    out.append("<h3>Shadow prices</h3>")
    out.append(
        table(
            ["one more", "is worth"],
            [
                ["tonne of CCER cap", price(p["ccer_cap_value"], currency)],
                ["tonne of banking room", price(p["banking_cap_value"], currency)],
                [
                    f"{currency} of trading budget",
                    f"{number(p['budget_value'], ',.4f')} {currency}",
                ],
            ],
        )
    )
    if e.frontier_error is not None:
        out.append(f'<p class="error">The frontier failed: {esc(e.frontier_error)}</p>')
    if e.frontier is not None:
        out.append(f"<figure>{frontier_chart(e.frontier, currency)}</figure>")
    out.append("<h3>KPIs against targets</h3>")
    out.append(
        table(["KPI", "value", "target", "", "how"], kpi_rows(record["kpis"], currency), (), "kpis")
    )
    return out
