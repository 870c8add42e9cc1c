"""The report's parts on hand-built records: the status strip's checks (a planted problem turns
an entity amber or red and says why; nothing planted is green), the first table with and
without the optional fields (decision spread, forward hedges, best rule), figures with units
and the market's currency, and charts whose tick labels do not overlap."""

from __future__ import annotations

import copy
import html
import itertools
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from desk.report.alerts import alert_section
from desk.report.charts import draw_prices, svg
from desk.report.decisions import decision_row, decisions_section
from desk.report.format import alert_figures, gap, money, percent, price, tonnes
from desk.report.status import entity_status
from engine.markets import market_rules


def kpi(name, value, unit, target, higher=True, met=True):
    return {"name": name, "value": value, "unit": unit, "target": target,
            "higher_is_better": higher, "note": "how", "met": met}  # fmt: skip


def risk(cost):
    return {"expected_cost": cost, "var": cost + 1e6, "cvar": cost + 2e6,
            "shortfall_probability": 0.0, "paths": 2000}  # fmt: skip


RECORD = {
    "entity": "power-co",
    "market": "cea",
    "reserve_floor_t": 328_000.0,
    "coverage": 1.07,
    "trading_days_to_deadline": 126,
    "scenarios": 40,
    "plan": {"buy_today_t": 42_788.4, "sell_today_t": 0.0, "forward_t": 0.0,
             "ccer_today_t": 1_500.0, "solver": "CLARABEL", "expected_ccer_use_t": 0.0},
    "out_of_sample": risk(-21_460_125.0),
    "buy_at_deadline": risk(-21_000_000.0),
    "frontier_error": None,
    "kpis": [kpi("carbon-asset return", 0.09, "share", 0.08),
             kpi("compliance-cost saving", 460_125.0, "CNY", 0.0)],
}  # fmt: skip
MODEL = {"chosen": "gjr-t", "reason": "lowest CRPS", "validated_to": "2026-05-29", "zone": "green",
         "origins": 46, "candidates": [{"candidate": "gjr-t", "rank": 1, "cover90_early": 0.85,
                                        "cover90_recent": 0.77, "cover90_all": 0.66}]}  # fmt: skip
CRITICAL = {"id": 7, "key": "k7", "rule": "cumulative", "instrument": "CEA", "date": "2026-06-29",
            "severity": "critical", "state": "open",
            "message": "CEA rose 22.0% from the 20-session low",
            "figures": {"close": 71.65, "critical": 0.2, "direction": "up", "move": 0.21999,
                        "threshold": 0.1, "window_low": 58.73, "window_sessions": 20}}  # fmt: skip
# What the other parts of the night add to a plan record (issue 16), when they run.
EXTRAS = {
    "decision_spread": {"buy_t": {"p05": 30_100.0, "median": 41_000.0, "p95": 50_250.0},
                        "sell_t": {"p05": 0.0, "median": 0.0, "p95": 0.0},
                        "forward_t": {"p05": 0.0, "median": 20_000.0, "p95": 20_000.0},
                        "ccer_today_t": {"p05": 0.0, "median": 1_500.0, "p95": 3_000.0},
                        "sets": 8, "scenarios": 200},
    "vs_best_rule": {"rule": "even", "rule_cost": -20_900_000.0, "plan_cost": -21_460_125.0,
                     "currency": "CNY", "paths": 1000},
}  # fmt: skip
HEDGES = [
    {"quote": "bank-a", "delivery": "2026-12-15", "price": 91.2, "tonnes": 20_000.0,
     "max_t": 50_000.0, "shadow_price": 0.0},
    {"quote": "broker-b", "delivery": "2027-03-15", "price": 95.0, "tonnes": 0.0,
     "max_t": 10_000.0, "shadow_price": 1.25},
]  # fmt: skip


def status(record=RECORD, model=MODEL, critical=(), new=(), problems=(), currency="CNY"):
    return entity_status(record, currency, model, critical, new, problems)


def test_nothing_planted_is_green_and_says_why():
    s = status()
    assert s.level == "green" and s.reasons == []
    texts = {c.name: c.text for c in s.checks}
    assert texts["plan"] == "solved (CLARABEL); P(shortfall) 0.0 % on 2,000 paths"
    assert texts["benchmarks"] == (
        "saves CNY 460,125 (2.2 %) against buying at the deadline; best rule —"
    )
    assert texts["KPIs"] == "2 of 2 targets met"
    assert texts["model"].startswith("gjr-t, Basel zone green; its 90 % band held 85 %")
    assert texts["alerts"] == "no critical alert open, nothing new in the last 20 sessions"


def planted(what: str):
    record, model, critical = copy.deepcopy(RECORD), copy.deepcopy(MODEL), []
    if what == "kpi":
        record["kpis"][0] |= {"value": -0.0908, "met": False}
    elif what == "critical":
        critical = [CRITICAL]
    elif what == "model":
        model["zone"] = "red"
    elif what == "yellow":
        model["zone"] = "yellow"
    elif what == "deadline":
        record["out_of_sample"]["expected_cost"] = -20_997_325.0
    elif what == "error":
        record = {k: record[k] for k in ("entity", "market", "reserve_floor_t")}
        record["error"] = {"type": "Infeasible", "message": "the reserve floor binds"}
    return status(record, model, critical)


@pytest.mark.parametrize(
    ("what", "level", "check", "reason"),
    [
        ("kpi", "amber", "KPIs", "1 of 2 missed: carbon-asset return −9.1 % (target ≥ 8.0 %)"),
        ("critical", "red", "alerts",
         "1 critical open, not acknowledged: cumulative +22.0 % to 71.65 CNY/t on 29 Jun 2026 "
         "(CEA)"),
        ("model", "red", "model", "gjr-t in the Basel red zone (1-day 99 % VaR, last 250 "
                                  "sessions); its 90 % band held 85 % of the next 20 closes"),
        ("yellow", "amber", "model", "gjr-t in the Basel yellow zone; its 90 % band held 85 % "
                                     "of the next 20 closes"),
        ("deadline", "amber", "benchmarks",
         "costs CNY 2,675 (0.01 %) more than buying at the deadline; best rule —"),
        ("error", "red", "plan", "no plan tonight: Infeasible: the reserve floor binds"),
    ],
)  # fmt: skip
def test_a_planted_problem_turns_the_entity_amber_or_red_with_its_reason(
    what, level, check, reason
):
    s = planted(what)
    assert s.level == level
    assert s.reasons == [f"{check}: {reason}"]


def test_a_plan_worse_than_the_best_rule_is_amber():
    record = copy.deepcopy(RECORD) | copy.deepcopy(EXTRAS)
    record["vs_best_rule"]["rule_cost"] = -22_000_000.0
    s = status(record)
    assert s.level == "amber"
    assert s.reasons == [
        "benchmarks: saves CNY 460,125 (2.2 %) against buying at the deadline; costs CNY "
        "539,875 (2.5 %) more than the best rule (even, 1,000 paths)"
    ]


def test_a_new_alert_or_a_failed_check_is_amber_an_acknowledged_old_one_is_not():
    warning = CRITICAL | {"severity": "warning", "key": "k8"}
    assert status(new=[warning]).level == "amber"
    assert status(problems=["CEA volatility rule: did not converge"]).reasons == [
        "alerts: check failed: CEA volatility rule: did not converge"
    ]
    assert status(new=[]).level == "green"


def cells(row):
    """Each cell's text, a line per ``<br>``, tags dropped."""
    return [html.unescape(re.sub(r"<[^>]+>", "", str(c).replace("<br>", "\n"))) for c in row]


def test_the_first_table_shows_spread_hedges_and_best_rule_when_present():
    record = copy.deepcopy(RECORD) | copy.deepcopy(EXTRAS)
    record["plan"] |= {"forward_t": 20_000.0, "forward_hedges": HEDGES}
    row, cls = decision_row(record, "CNY")
    name, buy, sell, ccer, hedge, floor, expected, deadline, best = cells(row)
    assert cls == "" and name == "power-co" and sell == "0 t\n0–0 t"
    assert buy == "42,788 t\n30,100–50,250 t"
    assert ccer == "1,500 t\n0–3,000 t"
    assert hedge == "20,000 t from bank-a at 91.20 CNY/t delivery 15 Dec 2026\n0–20,000 t"
    assert floor == "328,000 t"
    assert expected == "CNY −21.46 m\nCVaR 95 % CNY −19.46 m"
    assert deadline == "CNY −21.00 m\nplan −CNY 460,125 (2.2 %)"
    assert best == "even: CNY −20.90 m\nplan −CNY 560,125 (2.7 %)\non 1,000 paths"
    note = decisions_section([(record, "CNY")])[-1]
    assert "re-solved on 8 independent scenario sets of 200 scenarios each" in note


def test_the_first_table_shows_an_em_dash_for_what_the_night_did_not_compute():
    row, _ = decision_row(RECORD, "CNY")
    _, buy, _, _, hedge, _, _, _, best = cells(row)
    assert buy == "42,788 t" and best == "—"
    assert hedge == "0 t\ncounterparty —"
    assert (
        "Spread of today&#x27;s decision across scenario sets: — (not computed)"
        in (decisions_section([(RECORD, "CNY")])[-1])
    )
    no_quote_taken = copy.deepcopy(RECORD)
    no_quote_taken["plan"]["forward_hedges"] = [HEDGES[1]]
    assert cells(decision_row(no_quote_taken, "CNY")[0])[4] == "0 t\nnone of 1 quotes taken"


def test_a_failed_entity_has_a_red_row_without_figures():
    failed = {"entity": "steel-co", "market": "cea", "reserve_floor_t": 1_000.0,
              "error": {"type": "Infeasible", "message": "budget"}}  # fmt: skip
    row, cls = decision_row(failed, "CNY")
    assert cls == "red" and cells(row)[1:5] == ["no plan: Infeasible", "—", "—", "—"]


@pytest.mark.parametrize("code", ["cea", "eua", "nzu"])
def test_money_is_in_the_markets_currency(code):
    currency = market_rules(code).currency
    assert currency == {"cea": "CNY", "eua": "EUR", "nzu": "NZD"}[code]
    row, _ = decision_row(copy.deepcopy(RECORD) | copy.deepcopy(EXTRAS), currency)
    assert cells(row)[6].startswith(f"{currency} −21.46 m")
    assert f"costs {currency} 2,675" in planted_deadline(currency)


def planted_deadline(currency):
    record = copy.deepcopy(RECORD)
    record["out_of_sample"]["expected_cost"] = -20_997_325.0
    return status(record, currency=currency).reasons[0]


def test_figures_have_units_and_separators():
    assert tonnes(1234567.4) == "1,234,567 t" and tonnes(None) == "—"
    assert money(-21_460_125.2, "EUR") == "EUR −21,460,125"
    assert price(89.2249, "NZD") == "89.22 NZD/t" and percent(0.0908) == "9.1 %"
    assert gap(-2_500_000, 20_000_000, "CNY") == "CNY 2.50 m (12.5 %)"


def test_alert_figures_are_words_with_units_not_key_value_text():
    volatility = {"critical_pct": 6.0, "long_run": "trailing 250 sessions",
                  "long_run_pct": 2.695536098610898, "model": "garch-t", "persistence": 1.0,
                  "ratio": 1.5507655772089337, "sigma_pct": 4.180144593849846,
                  "threshold_pct": 4.0}  # fmt: skip
    assert alert_figures(volatility, "CNY") == (
        "critical level 6.00 % a day; long run over trailing 250 sessions; long-run volatility "
        "2.70 % a day; model garch-t; persistence 1.0000; ratio 1.55 x; volatility 4.18 % a "
        "day; threshold 4.00 % a day"
    )
    assert alert_figures(CRITICAL["figures"], "CNY") == (
        "close 71.65 CNY/t; critical 20.0 %; move +22.0 %; threshold 10.0 %; window low "
        "58.73 CNY/t; window sessions 20 sessions"
    )
    coverage = {"gap_t": 12_000.4, "gap_value": 1_070_000.0, "deadline": "2026-12-31",
                "days_to_deadline": 14, "coverage": 0.98}  # fmt: skip
    assert alert_figures(coverage, "EUR") == (
        "gap 12,000 t; gap value EUR 1,070,000; deadline 31 Dec 2026; days to deadline 14 days; "
        "coverage 98.0 %"
    )


def test_current_alerts_lead_and_history_is_folded_away():
    old = CRITICAL | {"id": 1, "key": "k1", "date": "2024-01-05", "severity": "warning"}
    alerts = SimpleNamespace(new=[CRITICAL], open=[CRITICAL, old], problems=[])
    html = "".join(alert_section(alerts, [CRITICAL], lambda _: "CNY", 20))
    assert html.index("29 Jun 2026") < html.index("<details") < html.index("5 Jan 2024")
    assert "History: 1 older alerts still open or acknowledged" in html
    assert '<span class="badge">new</span>' in html
    assert "move +22.0 %" in html and "window_low" not in html


def test_price_chart_is_full_width_and_its_date_labels_do_not_overlap():
    days = pd.bdate_range("2024-01-02", "2026-06-30")
    history = pd.Series(np.linspace(60.0, 90.0, len(days)), index=days)
    sessions = pd.bdate_range("2026-07-01", "2026-12-31")
    fan = pd.DataFrame({q: np.full(len(sessions), 90.0 * (0.8 + 0.4 * q))
                        for q in (0.05, 0.25, 0.5, 0.75, 0.95)}, index=sessions)  # fmt: skip
    fig = draw_prices(history, fan, "CNY", "CEA close")
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    assert len(labels) >= 5
    boxes = [t.get_window_extent() for t in labels]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    assert all(t.get_fontsize() >= 9 for t in labels)
    assert ax.get_ylabel() == "CNY/t"
    element = svg(fig)
    head = element[: element.index(">")]
    assert 'width="100%"' in head and "height=" not in head and "viewBox" in head
