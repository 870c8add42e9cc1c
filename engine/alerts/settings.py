"""The settings of every alert rule: thresholds, windows, severities, one frozen object.

``AlertRules`` holds one small frozen dataclass per rule. Every value is a setting, because
desks and markets differ; the defaults are the CEA's (``AlertRules.for_market`` switches the
band-lock rule off on a market without a daily band). ``from_dict`` / ``to_dict`` read and write
the plain mapping of an ``[alerts]`` section of a TOML file::

    [alerts]
    rearm_share = 0.5
    [alerts.cumulative]
    threshold = 0.10      # warning when the close is 10 % off the window's high or low
    critical = 0.20
    window = 20           # trading sessions
    [alerts.reference]
    price = 92.0          # the price the current plan was made at
    label = "plan price"

A setting that may be off (a critical level, the reference price) is off when ``None`` or, in
TOML, which has no null, ``false``. Moves are fractions (0.10 is 10 %), volatilities per cent per
day.

Firing, the same for every rule scanned over time (prices, volatility): a rule fires on the day
its condition becomes true, with the severity of the level reached (``severity`` at the
threshold, ``"critical"`` at the critical level), and once more if the same episode escalates
from the threshold to the critical level; it does not fire again until it re-arms. A price-move
rule re-arms when its move is back within ``rearm_share`` x threshold (0.5: a 10 % rule re-arms
once the move is back under 5 %), so a slide that hovers around the threshold is one alert, not
a dozen; band lock and volatility re-arm when their condition clears. A day on which a rule
cannot be evaluated (no previous session, an empty window) neither fires nor re-arms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from engine.alerts.records import SEVERITIES, Severity
from engine.errors import ConfigurationError
from engine.markets import MarketRules

LongRun = Literal["auto", "unconditional", "trailing"]
LONG_RUN: tuple[LongRun, ...] = ("auto", "unconditional", "trailing")


def _where(rule: str, name: str) -> str:
    return f"alerts.{rule}.{name}" if rule else f"alerts.{name}"


def _bad(rule: str, name: str, value: object, must: str) -> ConfigurationError:
    return ConfigurationError(f"{_where(rule, name)} = {value!r}: {must}")


def _number(rule: str, name: str, value: object, *, optional: bool = False) -> float | None:
    """``value`` as a finite float; ``None`` (or ``False``, TOML's stand-in) when optional."""
    if optional and (value is None or value is False):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a number, or false to switch it off" if optional else "a number"
        raise _bad(rule, name, value, f"must be {kind}")
    number = float(value)
    if not math.isfinite(number):
        raise _bad(rule, name, value, "must be finite")
    return number


MOST = 10_000  # no count of sessions, days or ticks in a rule goes beyond this (40 years)


def _integer(rule: str, name: str, value: object, *, least: int, optional: bool = False):
    if optional and (value is None or value is False):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MOST:
        off = ", or false to switch it off" if optional else ""
        raise _bad(rule, name, value, f"must be a whole number from {least} to {MOST:,}{off}")
    return int(value)


def _flag(rule: str, name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _bad(rule, name, value, "must be true or false")
    return value


def _severity(rule: str, value: object) -> Severity:
    if value not in SEVERITIES or value == "critical":
        raise _bad(rule, "severity", value, "must be 'info' or 'warning' (critical has its level)")
    return value  # type: ignore[return-value]


def _move_levels(rule: str, threshold: object, critical: object) -> tuple[float, float | None]:
    """A move threshold in (0, 1) and an optional critical level above it."""
    warn = _number(rule, "threshold", threshold)
    if not 0.0 < warn < 1.0:
        raise _bad(rule, "threshold", threshold, "must lie in (0, 1): 0.10 is a 10 % move")
    crit = _number(rule, "critical", critical, optional=True)
    if crit is not None and not warn < crit:
        raise _bad(rule, "critical", critical, f"must exceed the threshold {warn}")
    return warn, crit


def _set(instance: object, **values: object) -> None:
    for name, value in values.items():
        object.__setattr__(instance, name, value)


@dataclass(frozen=True)
class CloseToCloseRule:
    """|P_t / P_{t-1} - 1| > threshold between consecutive sessions.

    On the CEA no day can move more than the 10 % band, so this rule never fires there; it is
    the rule that matters on a market without a band (EUA).
    """

    enabled: bool = True
    threshold: float = 0.10
    critical: float | None = 0.15
    severity: Severity = "warning"

    def __post_init__(self) -> None:
        name = "close_to_close"
        warn, crit = _move_levels(name, self.threshold, self.critical)
        _set(self, enabled=_flag(name, "enabled", self.enabled), threshold=warn, critical=crit)
        _set(self, severity=_severity(name, self.severity))


@dataclass(frozen=True)
class CumulativeRule:
    """The close against the highest (a fall) or lowest (a rise) close of the ``window``
    trading sessions before it: fires when P_t / high - 1 < -threshold or P_t / low - 1 >
    threshold.

    The window is counted in sessions of the exchange's calendar, not in rows: on day t it holds
    the closes of sessions t - window .. t - 1 (today's close is not in it), so a 20-session
    window measures moves over at most 20 daily steps; missing sessions leave holes in it.

    Default 20 sessions (about a trading month), not 5: on the real CEA history a 5-session
    window misses the 2024-25 slide from 105.65 and the July 2026 rise altogether (the band and
    thin trading spread real moves over weeks), while 20 catches all three large moves.
    """

    enabled: bool = True
    threshold: float = 0.10
    critical: float | None = 0.20
    window: int = 20
    severity: Severity = "warning"

    def __post_init__(self) -> None:
        name = "cumulative"
        warn, crit = _move_levels(name, self.threshold, self.critical)
        _set(self, enabled=_flag(name, "enabled", self.enabled), threshold=warn, critical=crit)
        _set(self, window=_integer(name, "window", self.window, least=1))
        _set(self, severity=_severity(name, self.severity))


@dataclass(frozen=True)
class ReferenceRule:
    """The close against a reference price (the price the current plan was made at, or a
    budget price): fires when |P_t / price - 1| > threshold. Off while ``price`` is ``None``."""

    enabled: bool = True
    price: float | None = None
    label: str = "reference price"
    threshold: float = 0.10
    critical: float | None = 0.20
    severity: Severity = "warning"

    def __post_init__(self) -> None:
        name = "reference"
        warn, crit = _move_levels(name, self.threshold, self.critical)
        _set(self, enabled=_flag(name, "enabled", self.enabled), threshold=warn, critical=crit)
        price = _number(name, "price", self.price, optional=True)
        if price is not None and price <= 0:
            raise _bad(name, "price", self.price, "must be positive (currency per tonne)")
        if not isinstance(self.label, str) or not self.label:
            raise _bad(name, "label", self.label, "must be a non-empty text")
        _set(self, price=price, severity=_severity(name, self.severity))

    @property
    def active(self) -> bool:
        return self.enabled and self.price is not None


@dataclass(frozen=True)
class BandLockRule:
    """The close sits at the daily limit, so the true move is larger than the band shows.

    The limit is the exchange's: previous close x (1 +/- band), rounded half up to the tick
    (``engine.alerts.scan_nb.limit_price_nb``). A close counts as locked when it is within
    ``ticks`` ticks of the limit (0: at the limit to the tick) or beyond it, on the session
    right after the previous close's. Critical from the ``critical_sessions``-th consecutive
    locked session in the same direction (``None``: never critical).
    """

    enabled: bool = True
    ticks: int = 0
    critical_sessions: int | None = 2
    severity: Severity = "warning"

    def __post_init__(self) -> None:
        name = "band_lock"
        _set(self, enabled=_flag(name, "enabled", self.enabled))
        _set(self, ticks=_integer(name, "ticks", self.ticks, least=0))
        sessions = _integer(
            name, "critical_sessions", self.critical_sessions, least=1, optional=True
        )
        _set(self, critical_sessions=sessions, severity=_severity(name, self.severity))


@dataclass(frozen=True)
class VolatilityRule:
    """The fitted conditional volatility sigma_t (per cent per day) is above ``threshold_pct``
    (``critical_pct``), or ``ratio`` (``critical_ratio``) times its long-run level or more.

    Long-run level, as an s.d. in per cent per day: ``"unconditional"`` is sqrt(omega / (1 -
    persistence)), which exists only for a stationary fit; ``"trailing"`` is the root mean
    conditional variance over the ``long_run_window`` sessions before the day (at least half of
    them present); ``"auto"`` takes the unconditional level when the fit is stationary and the
    trailing one when it is integrated (persistence 1, as the real CEA fit is), where the
    unconditional variance is infinite.
    """

    enabled: bool = True
    threshold_pct: float | None = 4.0
    critical_pct: float | None = 6.0
    ratio: float | None = 2.0
    critical_ratio: float | None = 3.0
    long_run: LongRun = "auto"
    long_run_window: int = 250
    severity: Severity = "warning"

    def __post_init__(self) -> None:
        name = "volatility"
        _set(self, enabled=_flag(name, "enabled", self.enabled))
        pairs = (("threshold_pct", "critical_pct", 0.0), ("ratio", "critical_ratio", 1.0))
        for low_name, high_name, least in pairs:
            low = _number(name, low_name, getattr(self, low_name), optional=True)
            high = _number(name, high_name, getattr(self, high_name), optional=True)
            for key, value in ((low_name, low), (high_name, high)):
                if value is not None and value <= least:
                    raise _bad(name, key, value, f"must exceed {least:g}")
            if low is not None and high is not None and high <= low:
                raise _bad(name, high_name, high, f"must exceed {low_name} ({low})")
            _set(self, **{low_name: low, high_name: high})
        if self.long_run not in LONG_RUN:
            raise _bad(name, "long_run", self.long_run, f"must be one of {', '.join(LONG_RUN)}")
        window = _integer(name, "long_run_window", self.long_run_window, least=2)
        _set(self, long_run_window=window)
        _set(self, severity=_severity(name, self.severity))


@dataclass(frozen=True)
class CoverageRule:
    """Allowances + forwards + usable CCER (+ the expected true-up when ``include_true_up``)
    cover less than the reserve floor of the expected obligation, with the surrender deadline
    ``days_before_deadline`` calendar days away or nearer; critical from ``critical_days``.

    ``floor_share`` is the reserve floor as a share of expected emissions; ``None`` takes the
    book's own ``reserve_floor_share``.
    """

    enabled: bool = True
    days_before_deadline: int = 90
    critical_days: int | None = 30
    floor_share: float | None = None
    include_true_up: bool = False
    severity: Severity = "warning"

    def __post_init__(self) -> None:
        name = "coverage"
        _set(self, enabled=_flag(name, "enabled", self.enabled))
        days = _integer(name, "days_before_deadline", self.days_before_deadline, least=0)
        crit = _integer(name, "critical_days", self.critical_days, least=0, optional=True)
        if crit is not None and crit > days:
            raise _bad(name, "critical_days", crit, f"must not exceed days_before_deadline {days}")
        floor = _number(name, "floor_share", self.floor_share, optional=True)
        if floor is not None and not 0.0 < floor <= 2.0:
            raise _bad(name, "floor_share", floor, "must lie in (0, 2]: 0.9 is 90 % of emissions")
        _set(self, days_before_deadline=days, critical_days=crit, floor_share=floor)
        _set(self, include_true_up=_flag(name, "include_true_up", self.include_true_up))
        _set(self, severity=_severity(name, self.severity))


@dataclass(frozen=True)
class PledgeRule:
    """A pledge loan's loan-to-value at the day's price reaches its trigger (``severity``) or its
    margin-call level (critical); the levels are the loan's own (``engine.book.Pledge``)."""

    enabled: bool = True
    severity: Severity = "warning"

    def __post_init__(self) -> None:
        _set(self, enabled=_flag("pledge", "enabled", self.enabled))
        _set(self, severity=_severity("pledge", self.severity))


RULE_TYPES: dict[str, type] = {
    "close_to_close": CloseToCloseRule,
    "cumulative": CumulativeRule,
    "reference": ReferenceRule,
    "band_lock": BandLockRule,
    "volatility": VolatilityRule,
    "coverage": CoverageRule,
    "pledge": PledgeRule,
}
PRICE_RULES: tuple[str, ...] = ("close_to_close", "cumulative", "reference", "band_lock")


@dataclass(frozen=True)
class AlertRules:
    """Every rule's settings (see the module's docstring for how rules fire and re-arm).

    ``rearm_share``: a price-move rule re-arms once its move is back within this share of its
    threshold (1.0: as soon as the condition clears; 0.5 by default).
    """

    close_to_close: CloseToCloseRule = field(default_factory=CloseToCloseRule)
    cumulative: CumulativeRule = field(default_factory=CumulativeRule)
    reference: ReferenceRule = field(default_factory=ReferenceRule)
    band_lock: BandLockRule = field(default_factory=BandLockRule)
    volatility: VolatilityRule = field(default_factory=VolatilityRule)
    coverage: CoverageRule = field(default_factory=CoverageRule)
    pledge: PledgeRule = field(default_factory=PledgeRule)
    rearm_share: float = 0.5

    def __post_init__(self) -> None:
        for name, kind in RULE_TYPES.items():
            if not isinstance(getattr(self, name), kind):
                raise _bad("", name, getattr(self, name), f"must be a {kind.__name__}")
        share = _number("", "rearm_share", self.rearm_share)
        if not 0.0 <= share <= 1.0:
            raise _bad("", "rearm_share", self.rearm_share, "must lie in [0, 1]")
        _set(self, rearm_share=share)

    @classmethod
    def for_market(cls, market: MarketRules) -> AlertRules:
        """The defaults for ``market``: the band-lock rule is on where the market has a daily
        band (CEA) and off where it has none (EUA, NZU)."""
        return cls(band_lock=BandLockRule(enabled=market.daily_band is not None))

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready values; a setting that is off is ``None``."""
        out: dict[str, Any] = {
            name: {item.name: getattr(getattr(self, name), item.name) for item in fields(kind)}
            for name, kind in RULE_TYPES.items()
        }
        out["rearm_share"] = self.rearm_share
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base: AlertRules | None = None) -> AlertRules:
        """Rules from a plain mapping (the ``[alerts]`` section of a TOML file); what it leaves
        out comes from ``base`` (default: ``AlertRules()``, the CEA's defaults). Raises
        ``ConfigurationError`` naming the first unknown or bad key and its value."""
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"alerts must be a table of settings, got {data!r}")
        rules = base if base is not None else cls()
        known = {*RULE_TYPES, "rearm_share"}
        unknown = sorted(set(data) - known)
        if unknown:
            listed = ", ".join(sorted(known))
            raise _bad("", unknown[0], data[unknown[0]], f"unknown; known: {listed}")
        changes: dict[str, Any] = {}
        for name, kind in RULE_TYPES.items():
            if name not in data:
                continue
            section = data[name]
            if not isinstance(section, Mapping):
                raise _bad("", name, section, "must be a table of settings")
            names = {item.name for item in fields(kind)}
            extra = sorted(set(section) - names)
            if extra:
                listed = ", ".join(sorted(names))
                raise _bad(name, extra[0], section[extra[0]], f"unknown; known: {listed}")
            values = {
                key: (None if value is False and key not in _FLAGS else value)
                for key, value in section.items()
            }
            changes[name] = replace(getattr(rules, name), **values)
        if "rearm_share" in data:
            changes["rearm_share"] = data["rearm_share"]
        return replace(rules, **changes)

    def parameters(self, rule: str) -> dict[str, Any]:
        """The settings of ``rule`` that go into its alerts' ``parameters`` (and so their key)."""
        setting = getattr(self, rule)
        values = {item.name: getattr(setting, item.name) for item in fields(RULE_TYPES[rule])}
        for dropped in ("enabled", "severity", "label"):
            values.pop(dropped, None)
        if rule in ("close_to_close", "cumulative", "reference"):
            values["rearm_share"] = self.rearm_share
        return values


_FLAGS = {"enabled", "include_true_up"}
