"""The report's charts: inline SVG drawn by matplotlib, full width and legible.

Each chart is drawn wide (12 x 4 inches, constrained layout), its dates by matplotlib's concise
formatter so that tick labels never overlap, and embedded as an ``<svg>`` element whose fixed
width and height are replaced by ``width="100%"``: the browser scales it to the page and the
file asks for nothing outside itself.
"""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and under cron

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter

from desk.report.format import Markup

WIDE = (12.0, 4.0)  # inches: at 1,280 px wide the 10 pt labels render at about 13 px


def svg(fig: Any) -> Markup:
    """The figure as an inline ``<svg>`` element that fills its container's width (no XML
    prologue, no comments, no external references)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    text = buffer.getvalue()
    text = re.sub(
        r"<!--.*?-->|<metadata>.*?</metadata>", "", text[text.index("<svg") :], flags=re.S
    )
    head_end = text.index(">")
    head = re.sub(r'\s(width|height)="[^"]*"', "", text[:head_end])
    head += ' width="100%" preserveAspectRatio="xMidYMid meet" role="img"'
    return Markup(head + text[head_end:])


def _figure(size: tuple[float, float] = WIDE) -> tuple[Any, Any]:
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    ax.grid(alpha=0.3)
    return fig, ax


def draw_prices(history: pd.Series, fan: pd.DataFrame, currency: str, title: str) -> Any:
    """The last two years of closes and tonight's fan (5-95 % and 25-75 % bands, median): a
    matplotlib figure."""
    fig, ax = _figure()
    recent = history.loc[history.index[-1] - pd.DateOffset(years=2) :]
    ax.plot(recent.index, recent.to_numpy(), color="#1d2733", lw=1.0, label="close")
    if not fan.empty:
        cols = list(fan.columns)
        for k, (alpha, of) in enumerate(((0.18, " of simulated closes"), (0.3, ""))):
            low, high = cols[k], cols[-1 - k]  # the outer band, then the inner one
            ax.fill_between(fan.index, fan[low], fan[high], color="#2e90fa", alpha=alpha,
                            label=f"{low:.0%}–{high:.0%}{of}")  # fmt: skip
        ax.plot(fan.index, fan[cols[len(cols) // 2]], color="#175cd3", lw=1.2, label="median")
        ax.legend(loc="upper left", frameon=False)
    locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel(f"{currency}/t")
    ax.set_title(title, loc="left")
    return fig


def price_chart(history: pd.Series, fan: pd.DataFrame, currency: str, title: str) -> Markup:
    return svg(draw_prices(history, fan, currency, title))


def draw_frontier(frontier: pd.DataFrame, currency: str = "CNY") -> Any:
    """Expected cost against CVaR 95 % (in millions of ``currency``), one point per lambda: a
    matplotlib figure (``carbon optimise`` saves it as a PNG, the report inlines it)."""
    fig, ax = _figure((12.0, 4.5))
    x, y = frontier["cvar"] / 1e6, frontier["expected_cost"] / 1e6
    ax.plot(x, y, marker="o", color="#175cd3")
    ax.margins(x=0.06, y=0.15)  # room for the labels of the end points
    for lam, cx, cy in zip(frontier.index, x, y, strict=True):
        ax.annotate(f"λ = {lam:g}", (cx, cy), textcoords="offset points", xytext=(6, 6))
    millions = FuncFormatter(lambda v, _: f"{v:,.2f}".replace("-", "−"))
    ax.xaxis.set_major_formatter(millions)
    ax.yaxis.set_major_formatter(millions)
    ax.set_xlabel(f"CVaR 95 % of compliance cost ({currency} m)")
    ax.set_ylabel(f"expected cost ({currency} m)")
    ax.set_title("Cost / risk frontier: each point re-solves the plan with another λ", loc="left")
    return fig


def frontier_chart(frontier: pd.DataFrame, currency: str) -> Markup:
    return svg(draw_frontier(frontier, currency))
