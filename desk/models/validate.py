"""``carbon model validate``: rolling-origin validation of the volatility models on a price
history, written as one self-contained HTML page, a CSV of every origin x horizon score and a
JSON summary."""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and under cron

import matplotlib.pyplot as plt
import pandas as pd

from desk.store.files import write_all_atomic
from engine.errors import ModelError
from engine.jsonable import jsonable
from engine.markets import MarketRules
from engine.validation import ValidationResult, ValidationSpec, month_end_origins, validate
from engine.validation.choice import POOLED_EARLY
from engine.validation.rolling import CANDIDATES, Candidate
from market_data import calendar_for


def validate_prices(
    frame: pd.DataFrame,
    rules: MarketRules,
    spec: ValidationSpec,
    candidates: tuple[Candidate, ...] = CANDIDATES,
    since: pd.Timestamp | None = None,
) -> ValidationResult:
    """Validate ``candidates`` on the closes of ``frame`` under the market's band and calendar;
    ``since`` drops month-end origins before it."""
    closes = frame["close"]
    index = pd.DatetimeIndex(closes.index)
    gaps = calendar_for(rules.calendar).session_gaps(index)
    if since is not None and spec.origins is None:
        origins = month_end_origins(index, spec.min_observations, gaps)
        origins = origins[origins >= since]
        if not len(origins):
            raise ModelError(
                f"no month-end origin on or after {since.date()} with {spec.min_observations} "
                f"daily returns before it and a later close (the closes end on {index[-1].date()})"
            )
        spec = replace(spec, origins=tuple(origins))
    return validate(closes, gaps, spec, candidates)


def write_validation(
    result: ValidationResult, rules: MarketRules, source: str, out: Path
) -> tuple[Path, ...]:
    """The three files, written atomically together."""
    scores = pd.concat(
        [r.forecasts.assign(candidate=name) for name, r in result.scores.items()],
        ignore_index=True,
    )
    summary = {"market": rules.code, "source": source, **result.to_dict()}
    return write_all_atomic(
        {
            out / "validation.html": lambda p: p.write_text(_page(result, rules, source), "utf-8"),
            out / "scores.csv": lambda p: scores.to_csv(p, index=False, float_format="%.6g"),
            out / "summary.json": lambda p: p.write_text(
                json.dumps(jsonable(summary), indent=2) + "\n"
            ),
        }
    )


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="" style="max-width:100%" src="data:image/png;base64,{data}">'


def _coverage_chart(result: ValidationResult) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharex=True)
    for name, record in result.scores.items():
        by = record.forecasts.groupby("horizon")[["in90", "in50"]].mean()
        width = 2.2 if name == result.chosen else 1.0
        for ax, column in zip(axes, ("in90", "in50"), strict=True):
            ax.plot(by.index, by[column].rolling(5, min_periods=1).mean(), lw=width, label=name)
    for ax, level in zip(axes, (0.9, 0.5), strict=True):
        ax.axhline(level, color="black", ls="--", lw=1)
        ax.set_title(f"Coverage of the {level:.0%} band by sessions ahead")
        ax.set_xlabel("sessions ahead")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower left", fontsize=8)
    return _png(fig)


def _pit_chart(result: ValidationResult) -> str:
    record = result.scores[result.chosen]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
    daily = record.var[record.var["horizon"] == 1]["pit"].dropna()
    far = record.forecasts[record.forecasts["horizon"] == POOLED_EARLY]["pit"]
    for ax, values, title in (
        (axes[0], daily, "1-day PIT (filtered daily)"),
        (axes[1], far, f"PIT {POOLED_EARLY} sessions ahead"),
    ):
        ax.hist(values, bins=20, range=(0, 1), color="tab:blue", alpha=0.7)
        if len(values):
            ax.axhline(len(values) / 20, color="black", ls="--", lw=1)
        ax.set_title(f"{result.chosen}: {title}, n={len(values)}")
    return _png(fig)


def _exceedance_chart(result: ValidationResult, rules: MarketRules) -> str:
    var = result.scores[result.chosen].var
    daily = var[var["horizon"] == 1].set_index("date")
    fig, ax = plt.subplots(figsize=(12, 3.8))
    ax.plot(daily.index, daily["return_pct"], color="grey", lw=0.6, label="return")
    ax.plot(daily.index, daily["q01"], color="tab:red", lw=0.8, label="99 % VaR (falls)")
    ax.plot(daily.index, daily["q99"], color="tab:orange", lw=0.8, label="99 % VaR (rises)")
    low = daily[daily["return_pct"] < daily["q01"]]
    high = daily[daily["return_pct"] > daily["q99"]]
    ax.scatter(low.index, low["return_pct"], color="tab:red", s=14, zorder=3)
    ax.scatter(high.index, high["return_pct"], color="tab:orange", s=14, zorder=3)
    ax.set_ylabel(f"daily log return, % ({rules.currency}/t closes)")
    ax.set_title(f"{result.chosen}: 1-day 99 % VaR and its exceedances")
    ax.legend(loc="lower left", fontsize=8, ncol=3)
    ax.grid(alpha=0.3)
    return _png(fig)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(float_format=lambda v: f"{v:.3f}", na_rep="", border=0, classes="grid")


ZONE_COLOURS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}


def _page(result: ValidationResult, rules: MarketRules, source: str) -> str:
    summary = result.summary.copy()
    order = {name: i for i, name in enumerate(result.summary.index)}  # the chosen first
    tests = result.tests.copy()
    tests["order"] = tests["candidate"].map(order)
    tests = tests.sort_values(["order", "horizon", "side", "level", "test"]).drop(columns="order")
    tests["passed"] = tests["passed"].map({True: "yes", False: "NO"})
    tests["exceedances"] = tests["exceedances"].astype("Int64")
    by = result.horizons.reset_index()
    names = list(result.summary.index)
    cover = by.pivot(index="horizon", columns="candidate", values="cover90")[names]
    crps = by.pivot(index="horizon", columns="candidate", values="crps")[names]
    colour = ZONE_COLOURS[result.zone]
    first, last = result.origins[0].date(), result.origins[-1].date()
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Model validation: {html.escape(rules.code.upper())}</title>
<style>body{{font-family:system-ui,sans-serif;margin:24px;max-width:1280px}}
table.grid{{border-collapse:collapse;font-size:13px}}table.grid td,table.grid th{{padding:3px 8px;
border-bottom:1px solid #ddd;text-align:right}}.light{{display:inline-block;padding:6px 14px;
color:white;border-radius:4px;background:{colour}}}</style></head><body>
<h1>Model validation: {html.escape(rules.name)}</h1>
<p>Source {html.escape(source)}; {len(result.origins)} origins from {first} to {last};
{result.spec.paths:,} paths an origin, seed {result.spec.seed}; horizons
{", ".join(map(str, result.spec.horizons))} sessions.</p>
<p><span class="light">chosen: {html.escape(result.chosen)}, Basel zone {result.zone}</span></p>
<p>{html.escape(result.reason)}.</p>
<h2>Candidates</h2>{_table(summary)}
<p>score: the CRPS of the log close relative to the best candidate at each named horizon,
their geometric mean over the horizons (1 is best everywhere). cover90_early: share of realised
closes inside the 5-95 % band over the first 20 sessions after each origin; cover90_all: over
every session up to the longest horizon. zone: the Basel traffic light of the 1-day 99 % VaR
over the last 250 sessions, the worse of falls and rises.</p>
<h2>Coverage by horizon</h2>{_coverage_chart(result)}
<p>Share of closes inside the 90 % band at the named horizons (sessions ahead):</p>
{_table(cover)}
<p>Mean CRPS of the log close (lower is better):</p>{_table(crps)}
<h2>PIT</h2><p>A calibrated model's PITs are uniform (the dashed line). Unchanged closes on thin
days sit in the middle bins: their PIT is about 0.5.</p>{_pit_chart(result)}
<h2>VaR exceedances</h2>{_exceedance_chart(result, rules)}
<h2>Tests</h2>
<p>Kupiec (proportion of failures), Christoffersen (independence; conditional coverage) on the
1-day VaR (filtered daily with the last month-end's fit) and the 10-day VaR (non-overlapping
blocks), for falls (long) and rises (short); Berkowitz and Kolmogorov-Smirnov on the 1-day
PITs (KS assumes independent PITs and known parameters: its p-values are approximate). A test
passes at the 5 % level.</p>{_table(tests.set_index("candidate"))}
</body></html>
"""
