"""What an alert is, whichever rule raised it: a frozen record the engine returns and the desk
stores, notifies and lets a person acknowledge and resolve.

The engine knows nothing of storage; ``key`` is what makes an alert the same alert on a re-run
(rule, instrument, trading date and the rule's parameters), so the store can refuse duplicates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.errors import ConfigurationError

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")


def _canonical(values: Mapping[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Alert:
    """One rule firing on one instrument on one trading date.

    Attributes:
        rule: the rule's name (``"close_to_close"``, ``"cumulative"``, ``"reference"``,
            ``"band_lock"``, ``"volatility"``, ``"coverage"``, ``"pledge"``).
        instrument: what it fired on (``"CEA"``, or ``"CEA:power-co"`` for an entity's book).
        date: the trading date of the close that fired it.
        severity: ``"info"``, ``"warning"`` or ``"critical"``.
        message: one line for a person, with the figures in the units they think in.
        figures: the numbers that fired it (prices, move, window, threshold), JSON-ready.
        parameters: the rule's settings when it fired (thresholds, window); part of the key, so
            the same move under a different threshold is a different alert.
    """

    rule: str
    instrument: str
    date: dt.date
    severity: Severity
    message: str
    figures: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ConfigurationError(
                f"alert severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}"
            )
        if not isinstance(self.date, dt.date) or isinstance(self.date, dt.datetime):
            raise ConfigurationError(f"alert date must be a datetime.date, got {self.date!r}")

    @property
    def key(self) -> str:
        """The identity of the alert across re-runs: a hex digest of rule, instrument, date and
        parameters (not of the figures or the message, which may be worded differently)."""
        text = _canonical(
            {
                "rule": self.rule,
                "instrument": self.instrument,
                "date": self.date.isoformat(),
                "parameters": dict(self.parameters),
            }
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "instrument": self.instrument,
            "date": self.date.isoformat(),
            "severity": self.severity,
            "message": self.message,
            "figures": dict(self.figures),
            "parameters": dict(self.parameters),
            "key": self.key,
        }
