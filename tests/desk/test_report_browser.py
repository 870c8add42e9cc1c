"""The nightly report in a real headless browser (Debian's Chromium, driven by Playwright): it
renders, logs no console error, asks for nothing outside the file, and shows the plan table."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from desk.config.desk import load_config
from desk.nightly.run import run_nightly

from .test_nightly import write_config

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium (the README's test command installs it)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return path


def test_the_report_renders_in_chromium_with_the_plan_table(tmp_path: Path):
    executable = chromium()
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    run = run_nightly(load_config(write_config(tmp_path)), store=tmp_path / "s.sqlite")
    report = run.folder / "report.html"
    problems, requests = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri(), wait_until="load")
        heading = page.locator("h2", has_text="Tomorrow's plans")
        plan_table = heading.locator("xpath=following-sibling::table[1]")
        headers = plan_table.locator("th").all_inner_texts()
        row = plan_table.locator("tbody tr").first.locator("td").all_inner_texts()
        charts = page.locator("figure svg").count()
        width = page.evaluate("document.documentElement.scrollWidth")
        browser.close()
    assert problems == []
    assert requests == [report.as_uri()], "the page must load nothing but itself"
    assert headers[:5] == ["entity", "buy t", "sell t", "forward t", "CCER t"]
    plan = run.entities[0].plan
    assert row[0] == "power-co" and row[1] == f"{plan.buy_today_t:,.0f}" and row[-1] == "ok"
    assert charts == 2  # the price fan and the frontier
    assert width > 0
