"""Figures as a trader reads them: thousands separators, a unit on every number, the market's
currency, and an em dash for what a night did not produce. Every text from data is escaped.

A negative number is written with a minus sign (U+2212), which lines up with the digits.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MISSING = "—"  # an em dash: the night has no such figure


class Markup(str):
    """HTML that is already safe (built here, from escaped parts)."""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def nb(text: str) -> Markup:
    """``text`` escaped and kept on one line: a figure never breaks across lines."""
    return Markup(f'<span class="nb">{esc(text)}</span>')


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def number(value: Any, spec: str = ",.0f") -> str:
    """``value`` formatted by ``spec``; an em dash for ``None``, ``n/a`` for a non-finite one."""
    if value is None:
        return MISSING
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    return format(value, spec).replace("-", "−")


def tonnes(value: Any) -> str:
    """``42,788 t``."""
    return MISSING if value is None else f"{number(value)} t"


def money(value: Any, currency: str, digits: int = 0) -> str:
    """``CNY 21,460,125`` (the market's currency first, as on a term sheet)."""
    return MISSING if value is None else f"{currency} {number(value, f',.{digits}f')}"


def millions(value: Any, currency: str) -> str:
    """``CNY −21.46 m``: for costs in a summary, where the last yuan is noise."""
    return MISSING if value is None else f"{currency} {number(value / 1e6, ',.2f')} m"


def gap_parts(amount: float, benchmark: float, currency: str) -> tuple[str, str]:
    """The size of a cost difference and its share of the benchmark's cost: ``CNY 2,675`` and
    ``0.01 %`` (in millions from a million up; no share when the benchmark is zero)."""
    size = millions(abs(amount), currency) if abs(amount) >= 1e6 else money(abs(amount), currency)
    if not benchmark:
        return size, ""
    share = abs(amount) / abs(benchmark)
    return size, percent(share, 2 if share < 0.01 else 1)


def gap(amount: float, benchmark: float, currency: str) -> str:
    """``CNY 2,675 (0.01 %)``, ``CNY 1.20 m (5.3 %)``."""
    size, share = gap_parts(amount, benchmark, currency)
    return f"{size} ({share})" if share else size


def price(value: Any, currency: str) -> str:
    """``89.22 CNY/t``."""
    return MISSING if value is None else f"{number(value, ',.2f')} {currency}/t"


def percent(share: Any, digits: int = 1) -> str:
    """A share (0.091) as ``9.1 %``."""
    return MISSING if share is None else f"{number(share * 100, f',.{digits}f')} %"


def signed_percent(share: Any, digits: int = 1) -> str:
    """A move (0.129) as ``+12.9 %``."""
    if not _finite(share):
        return number(share)
    return ("+" if share > 0 else "") + percent(share, digits)


def day(value: Any) -> str:
    """An ISO date as ``30 Jun 2026``."""
    try:
        return dt.date.fromisoformat(str(value)[:10]).strftime("%-d %b %Y")
    except ValueError:
        return str(value)


# The alert rules' figures (``engine.alerts``), by the unit each one is in. A key not listed
# here is shown as a plain number, never dropped.
_SHARES = {
    "move",
    "threshold",
    "critical",
    "band",
    "coverage",
    "floor_share",
    "ltv",
    "trigger_ltv",
    "call_ltv",
}
_PRICES = {
    "close",
    "previous_close",
    "limit_price",
    "reference_price",
    "price",
    "window_low",
    "window_high",
    "price_at_trigger",
    "price_at_call",
}
_MONEY = {"gap_value", "loan", "collateral_value", "repay_to_trigger"}
_RATIOS = {"ratio", "ratio_threshold", "critical_ratio"}
_COUNTS = {"window_sessions": "sessions", "locked_sessions": "sessions", "days_to_deadline": "days"}
_LABELS = {
    "sigma_pct": "volatility",
    "long_run_pct": "long-run volatility",
    "threshold_pct": "threshold",
    "critical_pct": "critical level",
    "ratio_threshold": "ratio threshold",
    "critical_ratio": "critical ratio",
    "long_run": "long run over",
    "ltv": "loan-to-value",
}
_SKIPPED = {"direction"}  # said by the signed move


def alert_figure(key: str, value: Any, currency: str) -> str:
    """One alert figure with its unit: ``move +12.9 %``, ``close 85.55 CNY/t``, ``gap 1,200 t``,
    ``volatility 4.18 % a day``."""
    label = _LABELS.get(key, key.removesuffix("_t").replace("_", " "))
    if value is None:
        text = MISSING
    elif not _finite(value):
        text = str(value) if isinstance(value, str) else number(value)
        if key.endswith("_date") or key == "deadline":
            text = day(value)
    elif key == "move":
        text = signed_percent(value)
    elif key in _SHARES:
        text = percent(value)
    elif key in _PRICES:
        text = price(value, currency)
    elif key in _MONEY:
        text = money(value, currency)
    elif key in _RATIOS:
        text = f"{number(value, ',.2f')} x"
    elif key in _COUNTS:
        text = f"{number(value)} {_COUNTS[key]}"
    elif key.endswith("_pct"):
        text = f"{number(value, ',.2f')} % a day"
    elif key.endswith("_t"):
        text = tonnes(value)
    elif key == "persistence":
        text = number(value, ".4f")
    else:
        text = number(value, ",.4g")
    return f"{label} {text}"


def alert_figures(figures: Mapping[str, Any], currency: str) -> str:
    """An alert's figures as one line with units, in the order the rule gave them."""
    return "; ".join(alert_figure(k, v, currency) for k, v in figures.items() if k not in _SKIPPED)


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    cls: Sequence[str] = (),
    table_class: str = "",
) -> Markup:
    """An HTML table; cells are escaped unless they are ``Markup`` already. ``cls`` gives each
    row a class (the severity of an alert, a failed entity)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    classes = list(cls)
    for i, row in enumerate(rows):
        attr = f' class="{esc(classes[i])}"' if i < len(classes) and classes[i] else ""
        cells = "".join(f"<td>{c if isinstance(c, Markup) else esc(c)}</td>" for c in row)
        body.append(f"<tr{attr}>{cells}</tr>")
    attr = f' class="{esc(table_class)}"' if table_class else ""
    return Markup(
        f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
