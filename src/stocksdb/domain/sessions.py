"""Trading sessions from exchange_calendars (XNYS by default).

Pure functions over a calendar. Expected sessions come from the calendar, not from vendor files:
vendors silently omit days, and a missing file must surface as a gap, not vanish.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from stocksdb.errors import DateOutOfRangeError

DEFAULT_EXCHANGE = "XNYS"
CALENDAR_START = "1990-01-02"


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


def sessions_in_range(start: date, end: date, exchange: str = DEFAULT_EXCHANGE) -> list[date]:
    """Sessions start..end inclusive (empty when end < start).

    Raises:
        DateOutOfRangeError: start or end outside the calendar.
    """
    _bounds_check(start, "start", exchange)
    _bounds_check(end, "end", exchange)
    if end < start:
        return []
    cal = get_calendar(exchange)
    return [ts.date() for ts in cal.sessions_in_range(start.isoformat(), end.isoformat())]


def last_sessions(n: int, end: date, exchange: str = DEFAULT_EXCHANGE) -> list[date]:
    """The last `n` sessions up to and including `end`."""
    if n < 1:
        raise DateOutOfRangeError(f"parameter `days` is {n}; expected a positive count")
    _bounds_check(end, "end", exchange)
    cal = get_calendar(exchange)
    window = cal.sessions_window(cal.date_to_session(end.isoformat(), direction="previous"), -n)
    return [ts.date() for ts in window]

