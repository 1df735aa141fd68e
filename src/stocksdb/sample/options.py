"""Validation of the options of `generate_sample`.

In:  the raw keyword arguments (number of securities, start, end, seed).
Out: `SampleOptions` holding them and the XNYS sessions of the range, or an `InputError`
     (`DateOutOfRangeError` for dates beyond the calendar) naming the parameter and bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from stocksdb.errors import DateOutOfRangeError, InputError
from stocksdb.sample.scenario import MIN_SESSIONS

MIN_SECURITIES = 50       # fewer cannot cast every hard case and still leave plain stocks
MAX_SECURITIES = 100_000  # tickers of 1-4 letters would start to run out
CALENDAR = "XNYS"


@dataclass(frozen=True)
class SampleOptions:
    """Validated options; `sessions` are the XNYS sessions start..end inclusive."""

    securities: int
    start: date
    end: date
    seed: int
    sessions: tuple[date, ...]

    def to_dict(self) -> dict[str, Any]:
        """The options as written to manifest.json."""
        return {"securities": self.securities, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "seed": self.seed, "calendar": CALENDAR}


def parse_options(*, securities: object, start: object, end: object, seed: object) -> SampleOptions:
    """Check every option and find the sessions of the range.

    Raises:
        InputError: for a wrong type, too few or too many securities, `end` before `start`,
            a range with fewer than MIN_SESSIONS sessions, or a negative seed.
        DateOutOfRangeError: if the range leaves the calendar's first or last session.
    """
    count = _integer("securities", securities, MIN_SECURITIES, MAX_SECURITIES)
    first, last = _date("start", start), _date("end", end)
    if last < first:
        raise InputError(f"parameter `end` is {last}, before `start` {first}; swap them")
    sessions = _sessions(first, last)
    if len(sessions) < MIN_SESSIONS:
        raise InputError(
            f"range {first}..{last} holds {len(sessions)} {CALENDAR} sessions, fewer than the "
            f"{MIN_SESSIONS} the hard cases need; pass a range of at least three months"
        )
    return SampleOptions(count, first, last, _integer("seed", seed, 0, 2**63 - 1), sessions)


def _integer(name: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"parameter `{name}` is {value!r}, expected an integer")
    if not low <= value <= high:
        raise InputError(
            f"parameter `{name}` is {value}, outside {low}..{high}; pass a value in that range"
        )
    return value


def _date(name: str, value: object) -> date:
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise InputError(f"parameter `{name}` is {value!r}, expected a date or 'YYYY-MM-DD'")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"parameter `{name}` is {value!r}, expected 'YYYY-MM-DD'") from None


def _sessions(first: date, last: date) -> tuple[date, ...]:
    import exchange_calendars  # heavy: load on use

    calendar = exchange_calendars.get_calendar(CALENDAR)
    bounds = calendar.first_session.date(), calendar.last_session.date()
    if first < bounds[0]:
        raise DateOutOfRangeError(
            f"parameter `start` is {first}, earlier than the first {CALENDAR} session "
            f"({bounds[0]}); pass a later date"
        )
    if last > bounds[1]:
        raise DateOutOfRangeError(
            f"parameter `end` is {last}, later than the last {CALENDAR} session "
            f"({bounds[1]}); pass an earlier date"
        )
    return tuple(ts.date() for ts in calendar.sessions_in_range(first, last))
