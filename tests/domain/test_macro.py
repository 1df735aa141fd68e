"""Release importance, event timestamps and ALFRED vintage rows: the documented rules of
docs/macro.md, checked without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from stocksdb.domain.macro import (
    REALTIME_LAST,
    Importance,
    Vintage,
    compute_calendar,
    compute_event,
    compute_vintages,
)

NY = ZoneInfo("America/New_York")


def test_high_releases_without_a_known_time_are_stamped_0830_new_york() -> None:
    """CPI on 2025-01-15 (EST) is 13:30 UTC; on 2025-03-12 (EDT) 12:30 UTC."""
    winter = compute_event(10, "Consumer Price Index", date(2025, 1, 15))
    summer = compute_event(10, "Consumer Price Index", date(2025, 3, 12))
    assert (winter.importance, winter.time_known, winter.currency, winter.calendar) == (
        Importance.HIGH, False, "USD", "fred")
    assert winter.timestamp == datetime(2025, 1, 15, 8, 30, tzinfo=NY)
    assert winter.timestamp.astimezone(UTC) == datetime(2025, 1, 15, 13, 30, tzinfo=UTC)
    assert summer.timestamp.astimezone(UTC) == datetime(2025, 3, 12, 12, 30, tzinfo=UTC)


def test_a_known_release_time_wins_and_unknown_releases_are_low_at_midnight() -> None:
    """FOMC statement 14:00 (known); PPI medium 08:30 (known); release 72 low at 00:00."""
    fomc = compute_event(101, "FOMC Press Release", date(2025, 1, 29))
    ppi = compute_event(46, "Producer Price Index", date(2025, 1, 14))
    tips = compute_event(72, "Daily Treasury Inflation-Indexed Securities", date(2025, 1, 20))
    assert (fomc.importance, fomc.timestamp.time().isoformat(), fomc.time_known) == (
        Importance.HIGH, "14:00:00", True)
    assert (ppi.importance, ppi.timestamp.time().isoformat(), ppi.time_known) == (
        Importance.MEDIUM, "08:30:00", True)
    assert (tips.importance, tips.timestamp, tips.time_known) == (
        Importance.LOW, datetime(2025, 1, 20, tzinfo=NY), False)


def test_calendar_is_sorted_by_time_then_release_and_deduplicated() -> None:
    """Same release and date twice: one event; midnight events sort before 08:30 ones."""
    cpi = compute_event(10, "Consumer Price Index", date(2025, 1, 15))
    tips = compute_event(72, "Daily Treasury Inflation-Indexed Securities", date(2025, 1, 15))
    rates = compute_event(18, "H.15 Selected Interest Rates", date(2025, 1, 15))
    got = compute_calendar([cpi, tips, cpi, rates])
    assert [(e.release_id, e.timestamp.hour) for e in got] == [(18, 0), (72, 0), (10, 8)]


def test_vintages_close_the_day_before_the_next_value_and_merge_repeats() -> None:
    """Released 10-30 (1.0), 11-27 (2.0), 12-19 (2.0 again): two rows, the second open."""
    rows = compute_vintages(date(2024, 7, 1), [(date(2024, 10, 30), 1.0),
                                               (date(2024, 11, 27), 2.0),
                                               (date(2024, 12, 19), 2.0)])
    assert rows == [Vintage(date(2024, 7, 1), 1.0, date(2024, 10, 30), date(2024, 11, 26)),
                    Vintage(date(2024, 7, 1), 2.0, date(2024, 11, 27), REALTIME_LAST)]


def test_a_missing_value_is_a_vintage_of_its_own() -> None:
    """"." (None) first, then a number: the None row ends the day before the number."""
    rows = compute_vintages(date(2024, 7, 1), [(date(2024, 8, 1), None),
                                               (date(2024, 9, 1), 3.5)])
    assert [(r.value, r.realtime_end) for r in rows] == [(None, date(2024, 8, 31)),
                                                         (3.5, REALTIME_LAST)]
