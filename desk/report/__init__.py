"""The nightly report (``report.html``), a room of its own:

- ``page``: the page in reading order, ``render`` (what ``carbon nightly`` writes);
- ``status``: the status strip's checks, per entity (what needs a person, and why);
- ``decisions``: the first table, tonight's decisions with their spread and benchmarks;
- ``alerts``: current alerts first, history folded away;
- ``entity``: one entity in detail;
- ``charts``: full-width inline SVG charts (``draw_frontier`` also serves ``carbon optimise``);
- ``format``: figures with units, the market's currency and thousands separators.

Names are imported on first use, so that importing the package does not load matplotlib.
"""

from __future__ import annotations

from typing import Any

__all__ = ["draw_frontier", "render"]


def __getattr__(name: str) -> Any:
    if name == "render":
        from desk.report.page import render

        return render
    if name == "draw_frontier":
        from desk.report.charts import draw_frontier

        return draw_frontier
    raise AttributeError(f"module 'desk.report' has no attribute {name!r}")
