"""The nightly report: one self-contained HTML page for a desk at 7 a.m.

In reading order: the status strip (per entity, what needs a person, in words), the model
each market runs on, tonight's decisions, the current alerts (history folded away), the prices
and tonight's fan, each entity in detail, and the run's timings. Charts are inline SVG drawn by
matplotlib and the style sheet is inline, so the page loads nothing from anywhere and opens
offline. Every text that comes from data is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from desk.alerts.check import instrument_for
from desk.nightly.night import CURRENT_SESSIONS, current_alerts
from desk.report.alerts import alert_section
from desk.report.charts import price_chart
from desk.report.decisions import decisions_section
from desk.report.entity import entity_section
from desk.report.format import Markup, day, esc, number, percent, price, table
from desk.report.status import EntityStatus, entity_status

STYLE = """
:root { --green: #067647; --green-bg: #ecfdf3; --amber: #b54708; --amber-bg: #fffaeb;
        --red: #b42318; --red-bg: #fef3f2; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem auto;
       max-width: 80rem; color: #1d2733; line-height: 1.4; padding: 0 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 0.2rem; } h2 { border-bottom: 1px solid var(--line);
     padding-bottom: 0.2rem; margin-top: 2rem; font-size: 1.25rem; }
h3 { margin-bottom: 0.3rem; font-size: 1.05rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.92rem; }
th, td { border: 1px solid var(--line); padding: 0.3rem 0.6rem; text-align: right;
         vertical-align: top; font-variant-numeric: tabular-nums; }
th:first-child, td:first-child { text-align: left; } th { background: #f3f5f7; }
.muted { color: #57606a; font-size: 0.9rem; } .sub { color: #57606a; font-size: 0.82rem; }
.bad { color: var(--red); font-weight: 600; } .good { color: var(--green); font-weight: 600; }
tr.critical td { background: var(--red-bg); } tr.warning td { background: var(--amber-bg); }
tr.red td { background: var(--red-bg); }
.error { border-left: 4px solid var(--red); padding: 0.5rem 1rem; background: var(--red-bg); }
figure { margin: 0.5rem 0 1rem; width: 100%; } figure svg { display: block; width: 100%;
         height: auto; }
table.decisions, table.strip, table.alerts { width: 100%; }
table.alerts td, table.alerts th, table.kpis td:last-child, table.kpis th:last-child,
table.strip th { text-align: left; }
.figures { color: #57606a; font-size: 0.82rem; }
table.alerts td:first-child, table.decisions td:first-child, .nb { white-space: nowrap; }
table.strip td { text-align: left; border-left: 4px solid var(--line); font-size: 0.88rem; }
table.strip td.green { background: var(--green-bg); border-left-color: var(--green); }
table.strip td.amber { background: var(--amber-bg); border-left-color: var(--amber); }
table.strip td.red { background: var(--red-bg); border-left-color: var(--red); }
table.strip td.entity { font-size: 1rem; min-width: 9rem; }
.level { display: block; font-weight: 700; text-transform: uppercase; letter-spacing: 0.04em;
         font-size: 0.78rem; } .green .level { color: var(--green); }
.amber .level { color: var(--amber); } .red .level { color: var(--red); }
.badge { background: #175cd3; color: #fff; border-radius: 0.6rem; padding: 0 0.5rem;
         font-size: 0.8rem; }
.model { margin: 0.2rem 0; font-size: 0.92rem; } .model.yellow { color: var(--amber); }
.model.red { color: var(--red); font-weight: 600; }
details.history summary { cursor: pointer; color: #175cd3; margin: 0.5rem 0; }
"""

LEVEL_WORDS = {"green": "nothing needs you", "amber": "look at", "red": "act on"}


def page(title: str, sections: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )


def _belongs(alert: Mapping[str, Any], instrument: str, entity: str) -> bool:
    """A market's alerts concern every entity on it; a book's only its own."""
    return alert["instrument"] in (instrument, f"{instrument}:{entity}")


def statuses(night_entities, markets, plans, alerts, record) -> list[EntityStatus]:
    """Each entity's status strip from the night's records (``desk.report.status``)."""
    current = current_alerts(alerts.open, markets)
    new = {a["key"] for a in alerts.new}
    out = []
    for e in night_entities:
        plan = plans[e.entity.name]
        m = markets[plan["market"]]
        instrument = instrument_for(m.rules, m.source.source)
        mine = [a for a in current if _belongs(a, instrument, e.entity.name)]
        # red: what makes the night exit 7, a critical alert open that nobody acknowledged
        critical = [a for a in alerts.critical if _belongs(a, instrument, e.entity.name)]
        fresh = [a for a in mine if a["key"] in new]
        choice = record.get("model_choice", {}).get(plan["market"])
        out.append(entity_status(plan, m.rules.currency, choice, critical, fresh, alerts.problems))
    return out


def strip(items: list[EntityStatus]) -> list[str]:
    """One row per entity: its level, then each check's level and reason."""
    names = [c.name for c in items[0].checks] if items else []
    rows = []
    for s in items:
        bad = len(s.reasons)
        summary = f"{bad} to {LEVEL_WORDS[s.level]}" if bad else LEVEL_WORDS["green"]
        cells = [
            f'<td class="entity {s.level}"><b>{esc(s.entity)}</b>'
            f'<span class="level">{esc(s.level)}: {esc(summary)}</span></td>'
        ]
        cells += [
            f'<td class="{c.level}"><span class="level">{esc(c.level)}</span>{esc(c.text)}</td>'
            for c in s.checks
        ]
        rows.append(
            f'<tr data-entity="{esc(s.entity)}" data-level="{s.level}">{"".join(cells)}</tr>'
        )
    head = "".join(f"<th>{esc(n)}</th>" for n in ["entity", *names])
    return [
        '<h2 id="status">Status</h2>',
        f'<table class="strip"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
        "</tbody></table>",
    ]


ZONE_CLASS = {"green": "green", "yellow": "yellow", "red": "red"}


def model_strip(choices: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per market: the model in use, its Basel zone and its fan's coverage, as the
    validation measured them out of sample."""
    lines = []
    for code, c in choices.items():
        if "pinned" in c:
            lines.append(
                f'<p class="model">{esc(code.upper())}: model {esc(c["chosen"])} '
                f"pinned from {esc(c['pinned'])}, not validated tonight.</p>"
            )
            continue
        row = next((r for r in c["candidates"] if r["candidate"] == c["chosen"]), None)
        if row is None:
            lines.append(
                f'<p class="model yellow">{esc(code.upper())}: model '
                f"{esc(c['chosen'])}: {esc(c['reason'])}.</p>"
            )
            continue
        zone = c["zone"] or "—"
        lines.append(
            f'<p class="model {ZONE_CLASS.get(zone, "")}">{esc(code.upper())}: model '
            f"{esc(c['chosen'])}, validated on {number(c['origins'])} month-end origins "
            f"to {esc(day(c['validated_to']))}: Basel zone <b>{esc(zone)}</b> (1-day 99 % VaR, "
            f"last 250 sessions); its 90 % band held {percent(row['cover90_early'], 0)} of the "
            f"next 20 sessions' closes ({percent(row.get('cover90_recent'), 0)} over the last "
            f"12 origins) and {percent(row['cover90_all'], 0)} up to 250 sessions.</p>"
        )
    return lines


def market_section(code: str, m: Any) -> list[str]:
    p, currency = m.params, m.rules.currency
    vol = math.sqrt(p.next_variance)
    simulated = (
        f"{number(len(m.sessions))} trading days simulated to {day(m.sessions[-1].date())}."
        if len(m.sessions)
        else "Every deadline has passed: nothing simulated."
    )
    title = f"{code.upper()} close, {currency}/t, with tonight's fan of simulated closes"
    return [
        f"<h2>{esc(code.upper())} prices and tonight's fan</h2>",
        f"<p>Last close {esc(price(p.last_price, currency))} on {esc(day(p.last_date))}. "
        f"Model {esc(p.name)}: persistence {number(p.persistence, '.4f')}, next-day volatility "
        f"{number(vol, '.2f')} % ({number(math.sqrt(252) * vol, '.1f')} % a year). "
        f"{esc(simulated)}</p>",
        f"<figure>{price_chart(m.prices['close'], m.fan, currency, title)}</figure>",
    ]


def run_section(record: Mapping[str, Any]) -> list[str]:
    timings = dict(record["timings_s"])
    total = timings.pop("total", None)
    rows = [[k, f"{number(v, ',.2f')} s"] for k, v in timings.items()]
    if total is not None:
        rows.append([Markup("<b>total</b>"), Markup(f"<b>{number(total, ',.2f')} s</b>")])
    return [
        "<h2>Run</h2>",
        table(["step", "time"], rows),
        f'<p class="muted">Run {esc(record.get("run_id", ""))}. '
        f"Inputs: {esc(', '.join(record['inputs']))}. Store: {esc(record['store'])}. "
        "The write step covers the outputs up to this page; the run record (run.json) has the "
        "same figures.</p>",
    ]


def render(
    night,
    markets,
    entities,
    plans,
    alerts,
    record,
    finish: Callable[[], None] | None = None,
) -> str:
    """The morning page of one night (``desk.nightly`` results, plain plan records).
    ``finish`` is called once the charts are drawn, before the timings are read: it stamps the
    write step and the total into ``record["timings_s"]``."""
    states = statuses(entities, markets, plans, alerts, record)
    currency = {code: m.rules.currency for code, m in markets.items()}
    by_instrument = {
        instrument_for(m.rules, m.source.source): m.rules.currency for m in markets.values()
    }

    def alert_currency(instrument: str) -> str:
        return by_instrument.get(instrument.split(":")[0], "")

    sections = [
        f"<h1>carbon desk: the night of {esc(day(night.isoformat()))}</h1>",
        f'<p class="muted">{len(entities)} entit{"y" if len(entities) == 1 else "ies"}; '
        f"{number(record['paths'])} simulated paths, {number(record['scenarios'])} optimiser "
        f"scenarios, seed {record['seed']}; carbon-desk {esc(record['code']['carbon_desk'])}."
        "</p>",
        *strip(states),
        *model_strip(record.get("model_choice", {})),
        *decisions_section(
            [(plans[e.entity.name], currency[plans[e.entity.name]["market"]]) for e in entities]
        ),
        *alert_section(
            alerts, current_alerts(alerts.open, markets), alert_currency, CURRENT_SESSIONS
        ),
    ]
    for code, m in markets.items():
        sections += market_section(code, m)
    for e in entities:
        plan = plans[e.entity.name]
        sections += entity_section(e, plan, currency[plan["market"]])
    if finish is not None:
        finish()
    sections += run_section(record)
    return page(f"carbon desk {night.isoformat()}", sections)
