"""Which day a vendor's bar belongs to, and which days a symbol should have bars for.

In:  bar timestamps (UTC), a symbol, a window of dates.
Out: bar dates; the expected dates of the window (XNYS sessions for equities, weekdays for FX
     pairs `…=X` and futures `…=F`, which trade around the clock on weekdays).
Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from stocksdb.domain.sessions import sessions_in_range

# Yahoo stamps FX bars at midnight London, which is 23:00 UTC the day before during British
# summer time; other vendors stamp the session open (14:30 UTC) or midnight UTC / New York.
# Shifting by two hours before taking the UTC date puts all of them on their own day.
_DAY_SHIFT = pd.Timedelta(hours=2)


def bar_dates(ts: pd.Series) -> pd.Series:
    """The date each bar belongs to: the UTC date of `ts` (UTC tz-aware), except that a bar
    stamped in the last two hours before midnight UTC belongs to the next day."""
    return (pd.to_datetime(ts, utc=True) + _DAY_SHIFT).dt.date


def trades_weekdays(symbol: str) -> bool:
    """True for FX pairs (`EURUSD=X`) and futures (`ES=F`): their expected days are weekdays,
    not exchange sessions."""
    return symbol.upper().endswith(("=X", "=F"))


def day_kind(symbol: str) -> str:
    """What an expected date of `symbol` is, for messages: 'weekday' or 'XNYS session'."""
    return "weekday" if trades_weekdays(symbol) else "XNYS session"


def expected_dates(symbol: str, start: date, end: date) -> list[date]:
    """The dates `symbol` should have a bar for, `start`..`end` inclusive.

    Raises:
        DateOutOfRangeError: an equity window outside the XNYS calendar (1990 .. a year ahead).
    """
    if end < start:
        return []
    if trades_weekdays(symbol):
        days = (start + timedelta(days=i) for i in range((end - start).days + 1))
        return [d for d in days if d.weekday() < 5]
    return sessions_in_range(start, end)
