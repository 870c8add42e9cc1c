"""Exchange trading calendars.

The CEA trades on the Shanghai exchange's days: weekdays that are not Chinese public holidays,
plus the exchange's own closures (Spring Festival's eve in 2024, when it was a working day for
everyone else). The holiday tables come from the ``holidays`` package (``XSHG``, ``IFEU``,
``XNZE``), kept current by its maintainers; years after the government's last published schedule
are that package's rule-based estimate, so a desk that knows better adds ``extra_closures`` or
``extra_sessions``.

ICE Futures Europe (``IFEU``): the package's table starts in 2014. Before, the same rules are
applied here (New Year's Day, Good Friday and Christmas Day closed, a Sunday holiday observed on
the Monday), as the real EUA front-month settlements of 2008-2013 show: none on those days, but
sessions on Easter Monday and Boxing Day. The one measured exception is 2 January 2017, which the
package counts as New Year observed but which has a settlement with volume in the same file
(ICE's commodity contracts traded that UK bank holiday): it is a session (``KNOWN_SESSIONS``).

China's holidays: the ``XSHG`` table was compared with ``chinese_calendar`` (the State Council's
published schedules) for 2013-2026: the same weekday holidays in every year, except 2024-02-09,
Spring Festival's eve, which the exchange closed and ``chinese_calendar`` (a table of public
holidays, not of exchange sessions) counts as a working day. So the exchange table is the right
one and no second package is needed. Beyond the last published schedule (``PUBLISHED_THROUGH``)
a holiday is an estimate: a row on it is not questioned (see ``holiday_is_known``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import holidays
import numpy as np
import pandas as pd
from dateutil.easter import easter

from engine.errors import ConfigurationError

DateLike = str | dt.date | pd.Timestamp | np.datetime64

FIRST_YEAR = 1970
LAST_YEAR = 2060


# The first year of each exchange's table in the ``holidays`` package, and the rule that gives
# the closures of the years before it.
IFEU_TABLE_FROM = 2014
KNOWN_SESSIONS: dict[str, tuple[dt.date, ...]] = {"IFEU": (dt.date(2017, 1, 2),)}
# The last year whose holidays a government has published (the State Council publishes China's
# next year in November); later years of the table are the package's estimate.
PUBLISHED_THROUGH: dict[str, int] = {"XSHG": 2026}


def _observed(day: dt.date) -> dt.date:
    """A holiday on a Sunday is observed on the Monday (a Saturday one is not moved)."""
    return day + dt.timedelta(days=1) if day.weekday() == 6 else day


def ifeu_closures(year: int) -> set[dt.date]:
    """ICE Futures Europe's closures in a year before the ``holidays`` table."""
    return {
        _observed(dt.date(year, 1, 1)),
        easter(year) - dt.timedelta(days=2),
        _observed(dt.date(year, 12, 25)),
    }


@dataclass(frozen=True)
class TradingCalendar:
    """The trading sessions of one exchange, from 1970 to 2060.

    Args:
        code: exchange code understood by ``holidays.financial_holidays`` (``"XSHG"``), or
            ``"weekdays"`` for a market with no exchange calendar.
        extra_closures: further days without trading.
        extra_sessions: days that trade although the table says closed.
    """

    code: str
    extra_closures: tuple[dt.date, ...] = field(default=())
    extra_sessions: tuple[dt.date, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.code != "weekdays" and self.code not in holidays.list_supported_financial():
            raise ConfigurationError(
                f"unknown exchange calendar {self.code!r}; use a code of "
                "holidays.list_supported_financial() or 'weekdays'"
            )

    @cached_property
    def _sessions(self) -> pd.DatetimeIndex:
        days = pd.bdate_range(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR}-12-31")
        closed: set[dt.date] = set(self.extra_closures)
        if self.code != "weekdays":
            table = holidays.financial_holidays(self.code, years=range(FIRST_YEAR, LAST_YEAR + 1))
            closed.update(table.keys())
        if self.code == "IFEU":
            for year in range(FIRST_YEAR, IFEU_TABLE_FROM):
                closed.update(ifeu_closures(year))
        closed -= set(self.extra_sessions) | set(KNOWN_SESSIONS.get(self.code, ()))
        keep = ~days.isin(pd.DatetimeIndex(sorted(closed)))
        extra = pd.DatetimeIndex(sorted(self.extra_sessions))  # weekend sessions, if any
        return days[keep].union(extra).as_unit("ns")

    def _check_range(self, day: pd.Timestamp) -> pd.Timestamp:
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ConfigurationError(
                f"{day.date()} is outside the calendar's years {FIRST_YEAR}-{LAST_YEAR}"
            )
        return day

    def sessions(self, start: DateLike, end: DateLike) -> pd.DatetimeIndex:
        """Trading days from ``start`` to ``end``, both included."""
        lo = self._check_range(pd.Timestamp(start).normalize())
        hi = self._check_range(pd.Timestamp(end).normalize())
        s = self._sessions
        return s[s.searchsorted(lo, "left") : s.searchsorted(hi, "right")]

    def is_session(self, day: DateLike) -> bool:
        day = self._check_range(pd.Timestamp(day).normalize())
        i = self._sessions.searchsorted(day)
        return i < len(self._sessions) and self._sessions[i] == day

    def next_session(self, day: DateLike) -> pd.Timestamp:
        """The first trading day strictly after ``day``."""
        day = self._check_range(pd.Timestamp(day).normalize())
        i = self._sessions.searchsorted(day, "right")
        if i == len(self._sessions):
            raise ConfigurationError(f"no session after {day.date()} in the calendar")
        return self._sessions[i]

    def previous_session(self, day: DateLike) -> pd.Timestamp:
        """The last trading day strictly before ``day``."""
        day = self._check_range(pd.Timestamp(day).normalize())
        i = self._sessions.searchsorted(day, "left")
        if i == 0:
            raise ConfigurationError(f"no session before {day.date()} in the calendar")
        return self._sessions[i - 1]

    def holiday_is_known(self, day: DateLike) -> bool:
        """Whether the calendar's closure on a weekday is published, not estimated: every year
        of a table without a ``PUBLISHED_THROUGH`` entry, up to that year otherwise."""
        return pd.Timestamp(day).year <= PUBLISHED_THROUGH.get(self.code, LAST_YEAR)

    def holiday_name(self, day: DateLike) -> str:
        """The name of the holiday that closes a weekday (``"closure"`` when unnamed)."""
        day = pd.Timestamp(day).date()
        if self.code not in ("weekdays",):
            name = holidays.financial_holidays(self.code, years=day.year).get(day)
            if name:
                return str(name)
        return "closure"

    def sessions_per_year(self, first_year: int = 2015, last_year: int = 2024) -> float:
        """Average trading days a year over a run of full years (for annualising)."""
        count = len(self.sessions(f"{first_year}-01-01", f"{last_year}-12-31"))
        return count / (last_year - first_year + 1)

    def session_gaps(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """For sorted dates, the number of sessions from each date's predecessor to it.

        1 means consecutive trading days; 3 means two sessions are missing in between. The first
        element is 1. Dates that are not sessions count from where they would sit.
        """
        if len(dates) == 0:
            return np.zeros(0, dtype=np.int64)
        for day in (dates[0], dates[-1]):
            self._check_range(pd.Timestamp(day))
        pos = self._sessions.searchsorted(dates.as_unit("ns"), "right")
        gaps = np.diff(pos, prepend=pos[0] - 1)
        return np.maximum(gaps, 1).astype(np.int64)


CALENDARS: dict[str, TradingCalendar] = {}


def calendar_for(code: str | None) -> TradingCalendar:
    """The shared calendar for an exchange code (``None`` gives plain weekdays)."""
    code = code or "weekdays"
    if code not in CALENDARS:
        CALENDARS[code] = TradingCalendar(code)
    return CALENDARS[code]
