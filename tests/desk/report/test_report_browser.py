"""The nightly report in a real headless browser (Debian's Chromium, driven by Playwright): it
renders, logs no console error, asks for nothing outside the file, leads with the status strip
and tonight's decisions, fits 1,280 px without scrolling sideways with its charts full width,
and turns an entity red or amber, with the reason, for a planted problem (a missed KPI, a
current critical alert, a red model) and green when nothing is planted. A screenshot of the
page is saved in the test's folder, and to ``$CARBON_REPORT_SCREENSHOT`` when set."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from desk.config.desk import load_config
from desk.nightly.run import run_nightly
from desk.report import render
from tests.desk.nightly.test_nightly import write_config
from tests.desk.report.test_report import EXTRAS, HEDGES

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOT_ENV = "CARBON_REPORT_SCREENSHOT"
TARGETS = """
[targets]
carbon_asset_return = 0.08
compliance_cost_max = 5_000_000
cost_saving_min = 0
coverage_min = 1.0
"""


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium (the README's test command installs it)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """One night on the reference market; the tests render its records again with problems
    planted or removed."""
    folder = tmp_path_factory.mktemp("night")
    run = run_nightly(load_config(write_config(folder, TARGETS)), store=folder / "s.sqlite")
    return run


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def records(run):
    plans = {e.entity.name: json.loads((run.folder / e.entity.name / "plan.json").read_text())
             for e in run.entities}  # fmt: skip
    record = json.loads((run.folder / "run.json").read_text())
    alerts = SimpleNamespace(new=list(run.alerts_new), open=list(run.alerts_open),
                             problems=list(run.alert_problems),
                             critical=list(run.alerts_critical))  # fmt: skip
    return plans, record, alerts


def rendered(run, tmp_path: Path, plans, record, alerts) -> Path:
    path = tmp_path / "report.html"
    path.write_text(render(run.as_of, run.markets, run.entities, plans, alerts, record))
    return path


def open_page(browser, path: Path):
    page = browser.new_page(viewport=VIEWPORT)
    problems, requests = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    return page, problems, requests


def strip_of(page, entity: str) -> tuple[str, str]:
    row = page.locator(f'table.strip tr[data-entity="{entity}"]')
    return row.get_attribute("data-level"), row.inner_text()


def test_the_report_renders_in_chromium_leads_with_status_and_decisions(night, browser, tmp_path):
    report = night.folder / "report.html"
    page, problems, requests = open_page(browser, report)
    headings = page.locator("h2").all_inner_texts()
    decisions = page.locator("table.decisions")
    headers = decisions.locator("th").all_inner_texts()
    row = decisions.locator("tbody tr").first.locator("td").all_inner_texts()
    charts = page.locator("figure svg").count()
    layout = page.evaluate(
        """() => {
            const body = getComputedStyle(document.body);
            const content = document.body.clientWidth - parseFloat(body.paddingLeft)
                - parseFloat(body.paddingRight);
            return {scroll: document.documentElement.scrollWidth,
                    client: document.documentElement.clientWidth, content: content,
                    charts: [...document.querySelectorAll('figure svg')].map(
                        s => s.getBoundingClientRect().width),
                    history: document.querySelector('details.history')?.open};
        }"""
    )
    timings = page.locator("h2:text('Run') + table tbody tr").all_inner_texts()
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copyfile(shot, os.environ[SCREENSHOT_ENV])
    page.close()
    assert problems == []
    assert requests == [report.as_uri()], "the page must load nothing but itself"
    assert headings[:2] == ["Status", "Tonight's decisions"]
    assert headings[2].startswith("Alerts: ")
    assert headers[:5] == ["entity", "buy", "sell", "CCER", "forward hedge"]
    plan = night.entities[0].plan
    assert row[0] == "power-co" and row[1].startswith(f"{plan.buy_today_t:,.0f} t")
    assert charts == 2  # the price fan and the frontier
    assert layout["scroll"] <= layout["client"], "no horizontal scroll at 1,280 px"
    assert all(w >= 0.9 * layout["content"] for w in layout["charts"]), layout
    assert layout["history"] is False or layout["history"] is None  # folded away
    recorded = json.loads((night.folder / "run.json").read_text())["timings_s"]
    assert list(recorded)[-2:] == ["write", "total"]
    assert [t.split("\t") for t in timings] == [[k, f"{v:,.2f} s"] for k, v in recorded.items()]
    assert shot.stat().st_size > 50_000


def clean(run):
    """The night's records with nothing that needs a person."""
    plans, record, _ = records(run)
    for plan in plans.values():
        for k in plan["kpis"]:
            k["met"] = True if k["met"] is not None else None
        plan["out_of_sample"]["expected_cost"] = plan["buy_at_deadline"]["expected_cost"] - 1.0
        if plan.get("vs_best_rule"):
            plan["vs_best_rule"]["plan_cost"] = plan["vs_best_rule"]["rule_cost"] - 1.0
    for choice in record["model_choice"].values():
        choice["chosen"] = choice["candidates"][0]["candidate"]
        choice["zone"] = "green"
    return plans, record, SimpleNamespace(new=[], open=[], problems=[], critical=[])


def test_with_nothing_planted_the_strip_is_green(night, browser, tmp_path):
    page, problems, _ = open_page(browser, rendered(night, tmp_path, *clean(night)))
    level, text = strip_of(page, "power-co")
    page.close()
    assert problems == []
    assert level == "green", text
    assert "nothing needs you" in text.lower() and "4 of 4 targets met" in text


def critical_alert(run):
    instrument = "CEA-reference"  # desk.alerts.check.instrument_for the reference market
    return {"id": 999, "key": "planted", "rule": "close_to_close", "instrument": instrument,
            "date": run.as_of.isoformat(), "severity": "critical", "state": "open",
            "message": f"{instrument} fell 12.0% in one session", "parameters": {},
            "figures": {"close": 78.5, "move": -0.12, "direction": "down", "threshold": 0.1,
                        "critical": 0.1}}  # fmt: skip


@pytest.mark.parametrize(
    ("problem", "level", "reason"),
    [
        ("kpi", "amber", "1 of 4 missed: carbon-asset return"),
        (
            "critical",
            "red",
            "1 critical open, not acknowledged: close_to_close −12.0 % to 78.50 CNY/t",
        ),
        ("model", "red", "in the Basel red zone"),
    ],
)
def test_a_planted_problem_turns_the_strip_red_or_amber_with_its_reason(
    night, browser, tmp_path, problem, level, reason
):
    plans, record, alerts = clean(night)
    if problem == "kpi":
        kpi = plans["power-co"]["kpis"][0]
        assert kpi["name"] == "carbon-asset return" and kpi["target"] is not None
        kpi["met"] = False
    elif problem == "critical":
        alert = critical_alert(night)
        alerts = SimpleNamespace(
            new=[alert], open=[copy.deepcopy(alert)], problems=[], critical=[alert]
        )
    else:
        record["model_choice"]["cea"]["zone"] = "red"
    page, problems, _ = open_page(browser, rendered(night, tmp_path, plans, record, alerts))
    found, text = strip_of(page, "power-co")
    red_cells = page.locator(f"table.strip td.{level}").count()
    if problem == "critical":
        current = page.locator("table.alerts").first.inner_text()
        assert "fell 12.0% in one session" in current and "move −12.0 %" in current
    page.screenshot(path=str(tmp_path / f"planted-{problem}.png"))
    page.close()
    assert problems == []
    assert found == level, text
    assert reason in text
    assert red_cells == 2  # the entity's cell and the check's


def test_the_real_nights_alerts_read_as_words_with_units(night):
    html = (night.folder / "report.html").read_text()
    assert night.alerts_open, "the reference market's history has alerts"
    for raw in ("long_run_pct", "sigma_pct", "window_low", "threshold_pct"):
        assert raw not in html
    assert "CNY/t" in html and "the night of 30 Jun 2026" in html


def test_the_first_table_with_spread_hedges_and_best_rule_fits_the_page(night, browser, tmp_path):
    plans, record, alerts = records(night)
    plan = plans["power-co"]
    plan |= copy.deepcopy(EXTRAS)
    plan["plan"] |= {"forward_t": 20_000.0, "forward_hedges": HEDGES}
    page, problems, _ = open_page(browser, rendered(night, tmp_path, plans, record, alerts))
    cells = page.locator("table.decisions tbody tr").first.locator("td").all_inner_texts()
    quotes = page.locator("h3:text('Forward quotes') + table tbody tr").all_inner_texts()
    scroll = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.locator("table.decisions").screenshot(path=str(tmp_path / "decisions.png"))
    page.close()
    assert problems == [] and scroll <= 0
    assert cells[4].startswith("20,000 t from bank-a at 91.20 CNY/t delivery 15 Dec 2026")
    assert cells[1].endswith("30,100–50,250 t")
    assert cells[8].startswith("even: CNY −20.90 m")
    assert len(quotes) == 2 and "1.25 CNY/t" in quotes[1]
