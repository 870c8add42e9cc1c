"""The nightly report: one self-contained HTML page for the morning.

Charts are inline SVG drawn by matplotlib and the style sheet is inline, so the page loads
nothing from anywhere and opens offline. Every text that comes from data is escaped.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and under cron

import matplotlib.pyplot as plt
import pandas as pd

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 72rem; color: #1d2733; line-height: 1.4; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #d0d7de;
     padding-bottom: 0.2rem; margin-top: 2rem; } h3 { margin-bottom: 0.3rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.92rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f3f5f7; }
.muted { color: #57606a; font-size: 0.9rem; } .bad { color: #b42318; font-weight: 600; }
.good { color: #067647; font-weight: 600; } .critical { background: #fee4e2; }
.warning { background: #fef0c7; } .error { border-left: 4px solid #b42318; padding: 0.5rem 1rem;
background: #fef3f2; } figure { margin: 0.5rem 0; } svg { max-width: 100%; height: auto; }
.alerts td { text-align: left; }
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def number(value: Any, spec: str = ",.0f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    return format(value, spec)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], cls: Sequence[str] = ()) -> str:
    """An HTML table; cells are escaped unless they are ``Markup`` already."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    classes = list(cls)
    for i, row in enumerate(rows):
        attr = f' class="{esc(classes[i])}"' if i < len(classes) and classes[i] else ""
        cells = "".join(f"<td>{c if isinstance(c, Markup) else esc(c)}</td>" for c in row)
        body.append(f"<tr{attr}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Markup(str):
    """HTML that is already safe (built here, from escaped parts)."""


def svg(fig: Any) -> Markup:
    """The figure as an inline ``<svg>`` element (no XML prologue, no external references)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return Markup(re.sub(r"<!--.*?-->", "", text, flags=re.S))


def price_chart(history: pd.Series, fan: pd.DataFrame, currency: str, title: str) -> Markup:
    """The last two years of closes and tonight's fan (5-95 % and 25-75 % bands, median)."""
    fig, ax = plt.subplots(figsize=(10, 4))
    recent = history.loc[history.index[-1] - pd.DateOffset(years=2) :]
    ax.plot(recent.index, recent.to_numpy(), color="#1d2733", lw=1.0, label="close")
    if fan.empty:
        ax.set_ylabel(f"{currency}/t")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        return svg(fig)
    cols = list(fan.columns)
    ax.fill_between(fan.index, fan[cols[0]], fan[cols[-1]], color="#2e90fa", alpha=0.18,
                    label=f"{cols[0]:.0%}-{cols[-1]:.0%}")  # fmt: skip
    ax.fill_between(fan.index, fan[cols[1]], fan[cols[-2]], color="#2e90fa", alpha=0.3,
                    label=f"{cols[1]:.0%}-{cols[-2]:.0%}")  # fmt: skip
    ax.plot(fan.index, fan[cols[len(cols) // 2]], color="#175cd3", lw=1.2, label="median")
    ax.set_ylabel(f"{currency}/t")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return svg(fig)


def draw_frontier(frontier: pd.DataFrame) -> Any:
    """Expected cost against CVaR 95 % (CNY m), one point per lambda: a matplotlib figure."""
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.plot(frontier["cvar"] / 1e6, frontier["expected_cost"] / 1e6, marker="o")
    for lam, row in frontier.iterrows():
        ax.annotate(f"λ={lam:g}", (row["cvar"] / 1e6, row["expected_cost"] / 1e6), fontsize=8)
    ax.set_xlabel("CVaR 95 % of compliance cost (CNY m)")
    ax.set_ylabel("expected compliance cost (CNY m)")
    ax.set_title("Cost / risk frontier")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def frontier_chart(frontier: pd.DataFrame) -> Markup:
    return svg(draw_frontier(frontier))


def page(title: str, sections: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )


def kpi_rows(kpis: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    rows = []
    for k in kpis:
        fmt = (lambda v: number(v, ".1%")) if k["unit"] == "share" else (
            (lambda v: number(v, ",.0f")) if k["unit"] == "CNY" else (lambda v: number(v, ".3f"))
        )  # fmt: skip
        met = k["met"]
        status = Markup(
            "-" if met is None else ('<span class="good">met</span>' if met
                                     else '<span class="bad">missed</span>')
        )  # fmt: skip
        rows.append([k["name"], fmt(k["value"]), fmt(k["target"]), status, k["note"]])
    return rows


def render(night, markets, entities, plans, alerts, record) -> str:
    """The morning page of one night (``desk.nightly.run`` results, plain plan records): the plans
    at a glance, the alerts, the prices and fan, each entity in detail, the run."""
    sections = [
        f"<h1>carbon desk: the night of {esc(night.isoformat())}</h1>",
        f'<p class="muted">{len(entities)} entit{"y" if len(entities) == 1 else "ies"}, '
        f"{record['paths']:,} simulated paths, {record['scenarios']:,} optimiser scenarios, "
        f"seed {record['seed']}; carbon-desk {esc(record['code']['carbon_desk'])}.</p>",
        *_model_strip(record.get("model_choice", {})),
        "<h2>Tomorrow's plans</h2>",
        table(
            ["entity", "buy t", "sell t", "forward t", "CCER t", "E[cost] CNY", "CVaR 95 %",
             "P(shortfall)", "status"],
            [_glance(e, plans[e.entity.name]) for e in entities],
            ["" if e.error is None else "critical" for e in entities],
        ),
    ]  # fmt: skip
    sections += _alert_section(alerts)
    for code, m in markets.items():
        p = m.params
        sections.append(f"<h2>{esc(code.upper())} prices and tonight's fan</h2>")
        sections.append(
            f"<p>Last close {p.last_price:,.2f} {esc(m.rules.currency)}/t on {esc(p.last_date)}. "
            f"Model {esc(p.name)}: persistence {p.persistence:.4f}, next-day volatility "
            f"{math.sqrt(p.next_variance):.2f} % ({math.sqrt(252 * p.next_variance):.1f} % "
            + (
                f"a year). {len(m.sessions)} trading days simulated to {m.sessions[-1].date()}.</p>"
                if len(m.sessions)
                else "a year). Every deadline has passed: nothing simulated.</p>"
            )
        )
        chart = price_chart(m.prices["close"], m.fan, m.rules.currency, f"{code.upper()} close")
        sections.append(f"<figure>{chart}</figure>")
    for e in entities:
        sections += _entity_section(e, plans[e.entity.name])
    timings = record["timings_s"]
    sections.append("<h2>Run</h2>")
    sections.append(table(["step", "seconds"], [[k, f"{v:,.2f}"] for k, v in timings.items()]))
    sections.append(f'<p class="muted">Run {esc(record.get("run_id", ""))}. '
                    f'Inputs: {esc(", ".join(record["inputs"]))}. '
                    f'Store: {esc(record["store"])}.</p>')  # fmt: skip
    return page(f"carbon desk {night.isoformat()}", sections)


ZONE_CLASS = {"green": "good", "yellow": "warning", "red": "critical"}


def _model_strip(choices: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per market: the model in use, its Basel zone and its fan's coverage, as the
    validation measured them out of sample."""
    lines = []
    for code, c in choices.items():
        if "pinned" in c:
            lines.append(f"<p>{esc(code.upper())}: model {esc(c['chosen'])} pinned from "
                         f"{esc(c['pinned'])}, not validated tonight.</p>")  # fmt: skip
            continue
        row = next((r for r in c["candidates"] if r["candidate"] == c["chosen"]), None)
        if row is None:
            lines.append(f'<p class="warning">{esc(code.upper())}: model {esc(c["chosen"])}: '
                         f"{esc(c['reason'])}.</p>")  # fmt: skip
            continue
        zone = c["zone"] or "-"
        lines.append(
            f'<p class="{ZONE_CLASS.get(zone, "")}">{esc(code.upper())}: model '
            f"{esc(c['chosen'])}, validated on {c['origins']} month-end origins to "
            f"{esc(c['validated_to'])}: Basel zone <b>{esc(zone)}</b> (1-day 99 % VaR, last 250 "
            f"sessions); its 90 % band held {number(row['cover90_early'], '.0%')} of the next "
            f"20 sessions' closes ({number(row.get('cover90_recent'), '.0%')} over the last "
            f"12 origins) and {number(row['cover90_all'], '.0%')} up to 250 sessions.</p>"
        )
    return lines


def _glance(e, plan: dict[str, Any]) -> list[Any]:
    if e.error is not None:
        return [e.entity.name, "-", "-", "-", "-", "-", "-", "-", f"failed: {e.error}"]
    p, ev = plan["plan"], plan["out_of_sample"]
    return [e.entity.name, number(p["buy_today_t"]), number(p["sell_today_t"]),
            number(p["forward_t"]), number(p["ccer_today_t"]), number(ev["expected_cost"]),
            number(ev["cvar"]), number(ev["shortfall_probability"], ".1%"), "ok"]  # fmt: skip


SHOWN_ALERTS = 15


def _alert_section(alerts) -> list[str]:
    critical = sum(a["severity"] == "critical" for a in alerts.open)
    out = [f"<h2>Open alerts: {len(alerts.open)} ({critical} critical), "
           f"{len(alerts.new)} new tonight</h2>"]  # fmt: skip
    if alerts.problems:
        out += [f'<p class="error">{esc(p)}</p>' for p in alerts.problems]
    if not alerts.open:
        return [*out, "<p>No open alert.</p>"]
    new = {a["key"] for a in alerts.new}
    rows, classes = [], []
    for a in alerts.open[:SHOWN_ALERTS]:
        figures = ", ".join(f"{k} {_figure(v)}" for k, v in a.get("figures", {}).items())
        rows.append([a["id"], a["date"], a["severity"], a["rule"], a["instrument"],
                     a["message"], Markup(f'<span class="muted">{esc(figures)}</span>'),
                     "new" if a["key"] in new else a["state"]])  # fmt: skip
        classes.append(a["severity"])
    header = ["id", "date", "severity", "rule", "instrument", "what", "figures", "state"]
    out.append(f'<div class="alerts">{table(header, rows, classes)}</div>')
    if len(alerts.open) > SHOWN_ALERTS:
        out.append(f'<p class="muted">{len(alerts.open) - SHOWN_ALERTS} older open alerts are '
                   "in alerts.json (carbon alerts list shows them all).</p>")  # fmt: skip
    return out


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


def _entity_section(e, plan: dict[str, Any]) -> list[str]:
    name = e.entity.name
    out = [f"<h2>Plan: {esc(name)}</h2>"]
    book = e.entity.book
    out.append(
        f'<p class="muted">Cycle {book.cycle_year}, surrender by {book.deadline} '
        f"({plan['trading_days_to_deadline']} trading days); expected emissions "
        f"{book.obligation.expected_emissions:,.0f} t; coverage {plan['coverage']:.3f}; "
        f"reserve floor {book.reserve_floor_t:,.0f} t.</p>"
    )
    if e.error is not None:
        return [*out, f'<p class="error"><b>{esc(type(e.error).__name__)}</b>: '
                      f"{esc(e.error)}</p>"]  # fmt: skip
    p, ev, bench = plan["plan"], plan["out_of_sample"], plan["buy_at_deadline"]
    out.append("<h3>Tomorrow</h3>")
    out.append(table(["decision", "tonnes"], [
        ["buy allowances", number(p["buy_today_t"])],
        ["sell allowances", number(p["sell_today_t"])],
        ["new forward hedge", number(p["forward_t"])],
        ["buy CCER", number(p["ccer_today_t"])],
        ["expected CCER surrendered (cap 5 %)", number(p["expected_ccer_use_t"])],
        ["compliance reserve floor", number(book.reserve_floor_t)],
    ]))  # fmt: skip
    out.append("<h3>Cost and risk (CNY)</h3>")
    out.append(table(["", "expected cost", "VaR 95 %", "CVaR 95 %", "P(shortfall)"], [
        [f"plan, in sample ({plan['scenarios']} scenarios)", number(p["expected_cost"]),
         number(p["var"]), number(p["cvar"]), number(p["shortfall_probability"], ".1%")],
        [f"plan, out of sample ({ev['paths']:,} paths)", number(ev["expected_cost"]),
         number(ev["var"]), number(ev["cvar"]), number(ev["shortfall_probability"], ".1%")],
        ["buy at the deadline, out of sample", number(bench["expected_cost"]),
         number(bench["var"]), number(bench["cvar"]),
         number(bench["shortfall_probability"], ".1%")],
    ]))  # fmt: skip
    out.append("<h3>Shadow prices</h3>")
    out.append(table(["one more", "is worth"], [
        ["tonne of CCER cap", f"{number(p['ccer_cap_value'], ',.2f')} CNY/t"],
        ["tonne of banking room", f"{number(p['banking_cap_value'], ',.2f')} CNY/t"],
        ["CNY of trading budget", f"{number(p['budget_value'], ',.4f')} CNY"],
    ]))  # fmt: skip
    if e.frontier_error is not None:
        out.append(f'<p class="error">The frontier failed: {esc(e.frontier_error)}</p>')
    if e.frontier is not None:
        out.append("<h3>Cost / risk frontier</h3>")
        out.append(f"<figure>{frontier_chart(e.frontier)}</figure>")
    out.append("<h3>KPIs against targets</h3>")
    out.append(table(["KPI", "value", "target", "", "how"], kpi_rows(plan["kpis"])))
    return out
