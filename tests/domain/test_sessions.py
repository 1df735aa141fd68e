"""XNYS trading sessions (stocksdb.domain.sessions), no database.

Every expected date below was checked by hand against the NYSE holiday and early-close
calendars for 2023 and 2024 (nyse.com "Holidays & Trading Hours"), not taken from
exchange_calendars.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from stocksdb.domain.sessions import KnownSessions, last_sessions, session_times, sessions_in_range
from stocksdb.errors import DateOutOfRangeError

# NYSE full-day closures on weekdays.
HOLIDAYS_2023 = ("2023-01-02", "2023-01-16", "2023-02-20", "2023-04-07", "2023-05-29",
                 "2023-06-19", "2023-07-04", "2023-09-04", "2023-11-23", "2023-12-25")
HOLIDAYS_2024 = ("2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27",
                 "2024-06-19", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25")
# Early closes (13:00): still sessions.
HALF_DAYS = ("2023-07-03", "2023-11-24", "2024-07-03", "2024-11-29", "2024-12-24")


def day(text: str) -> date:
    return date.fromisoformat(text)


def test_holidays_are_not_sessions() -> None:
    """2024-07-04 (Independence Day), 2023-01-02 (New Year's Day observed on the Monday) and
    every other NYSE holiday of 2023-2024 are closed."""
    for holiday in (*HOLIDAYS_2023, *HOLIDAYS_2024):
        assert sessions_in_range(day(holiday), day(holiday)) == [], holiday


@pytest.mark.parametrize("half_day", HALF_DAYS)
def test_half_days_are_sessions(half_day: str) -> None:
    """An early close (e.g. 2024-11-29, the day after Thanksgiving) is still a session."""
    assert sessions_in_range(day(half_day), day(half_day)) == [day(half_day)]


def test_new_year_2023_skips_the_observed_holiday() -> None:
    """2022-12-30 (Fri), then the weekend and Monday 2023-01-02 closed, then 2023-01-03."""
    assert sessions_in_range(date(2022, 12, 30), date(2023, 1, 3)) == [
        date(2022, 12, 30), date(2023, 1, 3)]


@pytest.mark.parametrize(("start", "end", "count"), [
    ("2024-07-01", "2024-07-31", 22),   # 23 weekdays less 4 July
    ("2024-02-01", "2024-02-29", 20),   # 21 weekdays (leap year) less Presidents' Day
    ("2024-05-01", "2024-07-31", 63),   # 22 + 19 (Juneteenth) + 22
    ("2023-01-01", "2023-12-31", 250),  # 260 weekdays less 10 holidays
    ("2024-01-01", "2024-12-31", 252),  # 262 weekdays less 10 holidays
], ids=["july_2024", "february_2024", "may_july_2024", "year_2023", "year_2024"])
def test_session_counts_of_known_periods(start: str, end: str, count: int) -> None:
    """The number of sessions in a month, a quarter and a year, counted by hand."""
    assert len(sessions_in_range(day(start), day(end))) == count


def test_year_2024_is_every_weekday_but_the_holidays() -> None:
    """The 2024 sessions are exactly Monday-Friday minus the ten holidays, as plain dates."""
    weekdays = [date(2024, 1, 1) + timedelta(days=i) for i in range(366)]
    expected = [d for d in weekdays if d.weekday() < 5 and d.isoformat() not in HOLIDAYS_2024]
    got = sessions_in_range(date(2024, 1, 1), date(2024, 12, 31))
    assert got == expected
    assert all(type(d) is date for d in got), "sessions are dates, not pandas Timestamps"


def test_end_before_start_is_empty() -> None:
    """A reversed range has no sessions (not an error)."""
    assert sessions_in_range(date(2024, 7, 5), date(2024, 7, 1)) == []


def test_last_sessions_step_back_over_weekend_and_holiday() -> None:
    """From Sunday 2024-07-07: Friday the 5th, then the 3rd (half day), 2nd; the 4th is skipped."""
    assert last_sessions(3, date(2024, 7, 7)) == [date(2024, 7, 2), date(2024, 7, 3),
                                                  date(2024, 7, 5)]


def test_last_sessions_include_a_session_end_and_skip_a_holiday_end() -> None:
    """`end` counts when it is a session; a holiday `end` starts from the session before."""
    assert last_sessions(1, date(2024, 11, 29)) == [date(2024, 11, 29)]
    assert last_sessions(2, date(2024, 11, 28)) == [date(2024, 11, 26), date(2024, 11, 27)]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: sessions_in_range(date(1989, 12, 29), date(2024, 1, 2)), r"parameter `start` is "
     r"1989-12-29, outside the XNYS calendar \(1990-01-02 \.\."),
    (lambda: sessions_in_range(date(2024, 1, 2), date(2200, 1, 1)), r"parameter `end` is "
     r"2200-01-01, outside the XNYS calendar"),
    (lambda: last_sessions(0, date(2024, 7, 5)), r"parameter `days` is 0; expected a positive"),
    (lambda: last_sessions(5, date(1980, 1, 2)), r"parameter `end` is 1980-01-02"),
], ids=["start_before_calendar", "end_after_calendar", "zero_days", "last_end_before_calendar"])
def test_out_of_range_input_names_the_parameter(call: Callable[[], object],
                                                message: str) -> None:
    """Dates outside the calendar and a non-positive count raise DateOutOfRangeError naming
    the parameter and the bound."""
    with pytest.raises(DateOutOfRangeError, match=message):
        call()


# Stored sessions of 2024-07-01..2024-07-12 that, unlike the calendar, close 2024-07-08 (as a
# table filled before an ad hoc closure was announced would differ from an older calendar).
JULY = KnownSessions(date(2024, 7, 1), date(2024, 7, 12),
                     tuple(day(d) for d in ("2024-07-01", "2024-07-02", "2024-07-03",
                                            "2024-07-05", "2024-07-09", "2024-07-10",
                                            "2024-07-11", "2024-07-12")))


def test_known_sessions_answer_where_they_cover_the_range() -> None:
    """Inside the stored span the stored sessions are the answer (2024-07-08 is not one);
    a range reaching outside it is the calendar's (which has 2024-07-08)."""
    assert sessions_in_range(day("2024-07-05"), day("2024-07-09"), known=JULY) == [
        day("2024-07-05"), day("2024-07-09")]
    assert sessions_in_range(day("2024-07-05"), day("2024-07-15"), known=JULY) == [
        day("2024-07-05"), day("2024-07-08"), day("2024-07-09"), day("2024-07-10"),
        day("2024-07-11"), day("2024-07-12"), day("2024-07-15")]
    assert last_sessions(2, day("2024-07-09"), known=JULY) == [day("2024-07-05"),
                                                               day("2024-07-09")]
    # more sessions than the span holds up to `end`: the calendar answers
    assert last_sessions(3, day("2024-07-02"), known=JULY) == [
        day("2024-06-28"), day("2024-07-01"), day("2024-07-02")]


def test_session_times_are_utc_and_flag_early_closes() -> None:
    """09:30-16:00 New York is 13:30-20:00 UTC in summer (EDT, UTC-4) and 14:30-21:00 UTC in
    winter (EST, UTC-5); 2024-07-03 closes at 13:00 New York = 17:00 UTC."""
    got = {t.session_date.isoformat(): (f"{t.open_at:%H:%M %Z}", f"{t.close_at:%H:%M}",
                                        t.early_close)
           for t in session_times(day("2024-07-02"), day("2024-07-05"))
           + session_times(day("2024-01-02"), day("2024-01-02"))}
    assert got == {"2024-01-02": ("14:30 UTC", "21:00", False),
                   "2024-07-02": ("13:30 UTC", "20:00", False),
                   "2024-07-03": ("13:30 UTC", "17:00", True),
                   "2024-07-05": ("13:30 UTC", "20:00", False)}
