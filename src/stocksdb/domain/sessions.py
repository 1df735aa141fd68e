"""Trading sessions from exchange_calendars (XNYS by default), or from sessions a caller read.

Pure functions over a calendar. Expected sessions come from the calendar, not from vendor files:
vendors silently omit days, and a missing file must surface as a gap, not vanish.
A caller that has stored sessions (the trading_sessions table, read by db/sessions.py) passes
them in as `KnownSessions`; where they cover the dates asked for they are the answer, elsewhere
the calendar is. This module never reads them itself: it stays free of I/O.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from stocksdb.errors import DateOutOfRangeError

DEFAULT_EXCHANGE = "XNYS"
CALENDAR_START = "1990-01-02"


@dataclass(frozen=True)
class KnownSessions:
    """The sessions of one exchange for every day `first`..`last` inclusive: a day of that
    span that is not in `dates` is not a session. `dates` is sorted."""

    first: date
    last: date
    dates: tuple[date, ...]

    def covers(self, start: date, end: date) -> bool:
        """Every day start..end lies inside the span."""
        return self.first <= start and end <= self.last


@dataclass(frozen=True)
class SessionTimes:
    """One session: its date, its open and close as UTC instants, and whether it closes
    earlier than the exchange's regular close (e.g. 13:00 New York the day after
    Thanksgiving)."""

    session_date: date
    open_at: datetime
    close_at: datetime
    early_close: bool


@lru_cache(maxsize=4)
def get_calendar(exchange: str = DEFAULT_EXCHANGE) -> Any:
    """The exchange_calendars calendar, from 1990 to a year ahead."""
    import exchange_calendars as xcals

    return xcals.get_calendar(exchange, start=CALENDAR_START)


def _bounds_check(day: date, param: str, exchange: str) -> None:
    cal = get_calendar(exchange)
    first, last = cal.first_session.date(), cal.last_session.date()
    if not first <= day <= last:
        raise DateOutOfRangeError(
            f"parameter `{param}` is {day}, outside the {exchange} calendar "
            f"({first} .. {last}); pass a date inside it"
        )


def sessions_in_range(start: date, end: date, exchange: str = DEFAULT_EXCHANGE, *,
                      known: KnownSessions | None = None) -> list[date]:
    """Sessions start..end inclusive (empty when end < start): from `known` when it covers
    the range, else from the calendar.

    Raises:
        DateOutOfRangeError: start or end outside the calendar (when the calendar answers).
    """
    if known is not None and known.covers(start, end):
        lo = bisect.bisect_left(known.dates, start)
        hi = bisect.bisect_right(known.dates, end)
        return list(known.dates[lo:hi])
    _bounds_check(start, "start", exchange)
    _bounds_check(end, "end", exchange)
    if end < start:
        return []
    cal = get_calendar(exchange)
    return [ts.date() for ts in cal.sessions_in_range(start.isoformat(), end.isoformat())]


def last_sessions(n: int, end: date, exchange: str = DEFAULT_EXCHANGE, *,
                  known: KnownSessions | None = None) -> list[date]:
    """The last `n` sessions up to and including `end`: from `known` when its span holds
    `end` and at least `n` sessions up to it, else from the calendar.

    Raises:
        DateOutOfRangeError: `n` < 1, or `end` outside the calendar (when the calendar
            answers).
    """
    if n < 1:
        raise DateOutOfRangeError(f"parameter `days` is {n}; expected a positive count")
    if known is not None and known.covers(end, end):
        upto = bisect.bisect_right(known.dates, end)
        if upto >= n:
            return list(known.dates[upto - n:upto])
    _bounds_check(end, "end", exchange)
    cal = get_calendar(exchange)
    window = cal.sessions_window(cal.date_to_session(end.isoformat(), direction="previous"), -n)
    return [ts.date() for ts in window]


def last_completed_session(now: datetime, exchange: str = DEFAULT_EXCHANGE) -> date:
    """The latest session of `exchange` that had closed at `now` (an aware instant): on a
    Saturday, Friday's; on a Tuesday before the close, Monday's."""
    cal = get_calendar(exchange)
    local_day = now.astimezone(cal.tz).date()
    session = cal.date_to_session(local_day.isoformat(), direction="previous")
    if cal.session_close(session) > now:
        session = cal.previous_session(session)
    return date.fromisoformat(str(session.date()))


def session_times(start: date, end: date,
                  exchange: str = DEFAULT_EXCHANGE) -> list[SessionTimes]:
    """Every session start..end inclusive of `exchange`'s calendar with its open and close
    (UTC). A session is an early close when it closes before the calendar's regular close
    time in the exchange's time zone.

    Raises:
        DateOutOfRangeError: start or end outside the calendar.
    """
    _bounds_check(start, "start", exchange)
    _bounds_check(end, "end", exchange)
    if end < start:
        return []
    cal = get_calendar(exchange)
    schedule = cal.schedule.loc[start.isoformat():end.isoformat()]
    early = {ts.date() for ts in cal.early_closes}
    return [SessionTimes(day.date(), row.open.to_pydatetime(), row.close.to_pydatetime(),
                         day.date() in early)
            for day, row in zip(schedule.index, schedule.itertuples(), strict=True)]

