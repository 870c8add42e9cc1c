"""The alerts section: what is current first, newest first; history folded away.

"Current" is ``desk.nightly.night.current_alerts``'s: dated within ``CURRENT_SESSIONS`` sessions of
the last close. Older open or acknowledged alerts (a first night stores years of them) are the
history, inside a ``<details>`` element. Figures are written with their units
(``desk.report.format.alert_figures``), never as raw ``key=value`` text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from desk.report.format import Markup, alert_figures, day, esc, table

HEADER = ["date", "severity", "rule", "instrument", "what happened", "state"]
HISTORY_SHOWN = 200  # the rest is in alerts.json and `carbon alerts list`


def _rows(
    alerts: Sequence[Mapping[str, Any]], new: set[str], currency: Callable[[str], str]
) -> tuple[list[list[Any]], list[str]]:
    rows, classes = [], []
    for a in alerts:
        figures = alert_figures(a.get("figures", {}), currency(a["instrument"]))
        what = Markup(f'{esc(a["message"])}<br><span class="figures">{esc(figures)}</span>')
        state = Markup('<span class="badge">new</span>') if a["key"] in new else a["state"]
        rows.append([day(a["date"]), a["severity"], a["rule"], a["instrument"], what, state])
        classes.append(a["severity"])
    return rows, classes


def alert_section(
    alerts: Any,
    current: Sequence[Mapping[str, Any]],
    currency: Callable[[str], str],
    sessions: int,
) -> list[str]:
    """``alerts``: the night's ``NightAlerts`` (new, open, problems); ``current``: the open
    alerts that are current; ``currency``: an instrument's currency code."""
    new = {a["key"] for a in alerts.new}
    current_keys = {a["key"] for a in current}
    now = sorted(current, key=lambda a: (a["date"], a["id"] or 0), reverse=True)
    history = [a for a in alerts.open if a["key"] not in current_keys]  # newest first already
    critical = sum(a["severity"] == "critical" for a in now)
    old_new = sum(a["key"] in new for a in history)
    out = [
        f"<h2>Alerts: {len(now)} current ({critical} critical), {len(alerts.new)} new tonight</h2>",
        f'<p class="muted">Current: open or acknowledged, dated within the last {sessions} '
        "sessions. Newest first."
        + (
            f" {old_new} of tonight's new alerts are older: they are in the history."
            if old_new
            else ""
        )
        + "</p>",
    ]
    out += [f'<p class="error">An alert check failed: {esc(p)}</p>' for p in alerts.problems]
    if now:
        rows, classes = _rows(now, new, currency)
        out.append(table(HEADER, rows, classes, "alerts"))
    else:
        out.append("<p>No current alert.</p>")
    if history:
        shown = history[:HISTORY_SHOWN]
        rows, classes = _rows(shown, new, currency)
        more = (
            f'<p class="muted">{len(history) - len(shown)} older alerts are in alerts.json '
            "(carbon alerts list shows them all).</p>"
            if len(history) > len(shown)
            else ""
        )
        out.append(
            f'<details class="history"><summary>History: {len(history)} older alerts still '
            f"open or acknowledged (newest first)</summary>"
            f"{table(HEADER, rows, classes, 'alerts')}{more}</details>"
        )
    return out
