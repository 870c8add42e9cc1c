"""The prepared response to an alert: what the strategies and the optimiser must do while it is
open (pause trading for some sessions, raise the compliance reserve floor), as constraints.

A desk configures one ``Response`` per rule; ``constraints_from_alerts`` turns the open alerts
into one ``TradingConstraints``: the pause runs from the alert's date for ``pause_days``
sessions (the latest end of all the pauses wins), and the reserve floor rises by the largest
``raise_reserve_share`` of the alerts that ask for one (raises do not add up: two alerts about
the same slide should not double the reserve).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.alerts.records import SEVERITIES, Alert, Severity
from engine.errors import ConfigurationError


@dataclass(frozen=True)
class Response:
    """What an open alert of one rule switches on.

    Attributes:
        pause_days: no trading for this many sessions from the alert's date (the alert's own
            session counts as the first: 1 pauses that session only); 0 for no pause.
        raise_reserve_share: add this share of expected emissions to the reserve floor (0.05 is
            5 percentage points: a floor of 80 % becomes 85 %).
        min_severity: the least severity that switches the response on (``"warning"``: warnings
            and critical alerts do, information alerts do not).
    """

    pause_days: int = 0
    raise_reserve_share: float = 0.0
    min_severity: Severity = "warning"

    def __post_init__(self) -> None:
        days = self.pause_days
        if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 0:
            raise ConfigurationError(
                f"response pause_days = {days!r}: must be a whole number of sessions >= 0"
            )
        share = self.raise_reserve_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ConfigurationError(
                f"response raise_reserve_share = {share!r}: must be a share in [0, 1] "
                "(0.05 raises the floor by 5 % of expected emissions)"
            )
        if self.min_severity not in SEVERITIES:
            raise ConfigurationError(
                f"response min_severity = {self.min_severity!r}: must be one of "
                f"{', '.join(SEVERITIES)}"
            )
        object.__setattr__(self, "pause_days", int(days))
        object.__setattr__(self, "raise_reserve_share", float(share))

    def applies_to(self, alert: Alert) -> bool:
        return SEVERITIES.index(alert.severity) >= SEVERITIES.index(self.min_severity)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, rule: str = "") -> Response:
        """A response from a plain mapping; errors name the rule, the key and the value."""
        where = f"alerts.responses.{rule}" if rule else "response"
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"{where} = {data!r}: must be a table of settings")
        known = {"pause_days", "raise_reserve_share", "min_severity"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(
                f"{where}.{unknown[0]}: unknown setting; known: {', '.join(sorted(known))}"
            )
        try:
            return cls(**dict(data))
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pause_days": self.pause_days,
            "raise_reserve_share": self.raise_reserve_share,
            "min_severity": self.min_severity,
        }


def responses_from_dict(data: Mapping[str, Any]) -> dict[str, Response]:
    """Responses by rule name from a plain mapping (``[alerts.responses]`` of a TOML file)."""
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"alerts.responses = {data!r}: must be a table by rule")
    return {str(rule): Response.from_dict(value, rule=str(rule)) for rule, value in data.items()}


@dataclass(frozen=True)
class TradingConstraints:
    """What the strategies and the optimiser receive.

    Attributes:
        paused_until: no trading on any session up to and including this date; ``None``
            when nothing pauses trading.
        reserve_floor_add: add this share of expected emissions to the reserve floor.
        reasons: the keys of the alerts that set these constraints.
    """

    paused_until: dt.date | None
    reserve_floor_add: float
    reasons: tuple[str, ...] = ()

    def paused(self, day: dt.date) -> bool:
        """Whether trading is paused on ``day``."""
        return self.paused_until is not None and day <= self.paused_until

    def reserve_floor(self, share: float) -> float:
        """A book's reserve floor share raised by the open alerts (at most 1 would be the whole
        of expected emissions; not capped here: a floor above 1 is a policy's choice)."""
        return share + self.reserve_floor_add


def _pause_end(start: dt.date, days: int, sessions: pd.DatetimeIndex | None) -> dt.date:
    """The last session of a pause of ``days`` sessions starting with ``start`` (or the first
    session after it when ``start`` is not one)."""
    if sessions is None:  # weekdays
        last = np.busday_offset(np.datetime64(start, "D"), days - 1, roll="forward")
        return dt.date.fromisoformat(str(last))
    position = int(sessions.searchsorted(pd.Timestamp(start)))
    last = position + days - 1
    if last >= len(sessions):
        raise ConfigurationError(
            f"a pause of {days} sessions from {start} runs past the last session given "
            f"({sessions[-1].date()}): pass a longer calendar of sessions"
        )
    return sessions[last].date()


def constraints_from_alerts(
    alerts: Iterable[Alert],
    responses: Mapping[str, Response],
    today: dt.date,
    sessions: pd.DatetimeIndex | None = None,
) -> TradingConstraints:
    """The constraints that the open ``alerts`` impose on ``today``.

    Args:
        alerts: the open alerts (not yet resolved); alerts dated after ``today`` are ignored.
        responses: the configured response of each rule; a rule without one imposes nothing.
        today: the date the strategies and the optimiser decide on.
        sessions: the exchange's trading sessions (a pause counts them); ``None`` counts
            weekdays.

    A pause is ``pause_days`` sessions starting on the alert's date; it constrains today when
    it has not ended before today. The reserve raise holds while its alert is open, and the
    largest raise among the open alerts applies.
    """
    if sessions is not None:
        if not isinstance(sessions, pd.DatetimeIndex) or not sessions.is_monotonic_increasing:
            raise ConfigurationError("sessions must be a sorted pandas DatetimeIndex")
        sessions = sessions.normalize()
    paused_until: dt.date | None = None
    raise_share = 0.0
    reasons: list[str] = []
    for alert in alerts:
        response = responses.get(alert.rule)
        if response is None or alert.date > today or not response.applies_to(alert):
            continue
        used = False
        if response.pause_days > 0:
            end = _pause_end(alert.date, response.pause_days, sessions)
            if end >= today:
                paused_until = end if paused_until is None else max(paused_until, end)
                used = True
        if response.raise_reserve_share > 0:
            raise_share = max(raise_share, response.raise_reserve_share)
            used = True
        if used:
            reasons.append(alert.key)
    return TradingConstraints(paused_until, raise_share, tuple(reasons))
