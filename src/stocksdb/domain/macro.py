"""Macro release events and ALFRED vintages: pure rules, no I/O.

In:  FRED release dates (release id, name, date); a series' published values by release date.
Out: `MacroEvent`s with an importance and a New York timestamp; ALFRED-style vintage rows
     (realtime_start..realtime_end, consecutive equal values merged).

Importance and times (docs/macro.md): a small table of well-known FRED releases. A release the
table gives a time for is stamped at that time; any other high-importance release at 08:30
New York (when US statistical agencies publish); everything else at 00:00 New York, the start
of its date, because FRED gives dates only. `time_known` says which of the two it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
CALENDAR = "fred"
CURRENCY = "USD"
# ALFRED's bounds: FRED's "all of real time" (realtime_end 9999-12-31 = still current).
REALTIME_FIRST = date(1776, 7, 4)
REALTIME_LAST = date(9999, 12, 31)
HIGH_DEFAULT_TIME = time(8, 30)


class Importance(StrEnum):
    """How much a release moves markets (ours, from KNOWN_RELEASES; not FRED's)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class KnownRelease:
    """A FRED release the calendar ranks: its importance, and its usual time when published."""

    name: str                     # FRED's release_name, for the docs
    importance: Importance
    at: time | None = None        # New York wall-clock time; None: the default of its rank


# FRED release ids (names as FRED's releases/dates answers spell them); times as the agencies
# publish them (BLS, BEA, Census: 08:30; the Fed's G.17: 09:15; JOLTS: 10:00; FOMC
# statement: 14:00). Every other release is low importance.
KNOWN_RELEASES: dict[int, KnownRelease] = {
    10: KnownRelease("Consumer Price Index", Importance.HIGH),
    50: KnownRelease("Employment Situation", Importance.HIGH),
    53: KnownRelease("Gross Domestic Product", Importance.HIGH),
    101: KnownRelease("FOMC Press Release", Importance.HIGH, time(14, 0)),
    9: KnownRelease("Advance Monthly Sales for Retail and Food Services", Importance.MEDIUM,
                    time(8, 30)),
    13: KnownRelease("G.17 Industrial Production and Capacity Utilization", Importance.MEDIUM,
                     time(9, 15)),
    27: KnownRelease("New Residential Construction", Importance.MEDIUM, time(8, 30)),
    46: KnownRelease("Producer Price Index", Importance.MEDIUM, time(8, 30)),
    51: KnownRelease("U.S. International Trade in Goods and Services", Importance.MEDIUM,
                     time(8, 30)),
    180: KnownRelease("Unemployment Insurance Weekly Claims Report", Importance.MEDIUM,
                      time(8, 30)),
    192: KnownRelease("Job Openings and Labor Turnover Survey", Importance.MEDIUM,
                      time(10, 0)),
}


@dataclass(frozen=True)
class MacroEvent:
    """One scheduled release of the calendar (a row of macro_events)."""

    calendar: str                 # "fred"
    event: str                    # the release's name
    release_id: int
    release_date: date
    currency: str                 # "USD": every FRED release here is a US one
    importance: Importance
    timestamp: datetime           # tz-aware, America/New_York (see the module docstring)
    time_known: bool              # the timestamp carries the release's own time

    @property
    def key(self) -> tuple[int, date]:
        """What makes two events the same: the release and its date."""
        return self.release_id, self.release_date


def compute_event(release_id: int, name: str, day: date) -> MacroEvent:
    """The event of release `release_id` on `day`, ranked and stamped by KNOWN_RELEASES."""
    known = KNOWN_RELEASES.get(release_id)
    importance = known.importance if known else Importance.LOW
    at = known.at if known else None
    if at is None:
        at = HIGH_DEFAULT_TIME if importance is Importance.HIGH else time(0, 0)
    stamp = datetime.combine(day, at, tzinfo=NEW_YORK)
    return MacroEvent(CALENDAR, name, release_id, day, CURRENCY, importance, stamp,
                      time_known=bool(known and known.at))


def compute_calendar(events: Iterable[MacroEvent]) -> list[MacroEvent]:
    """`events` without repeats (the first of each release and date is kept), sorted by
    timestamp, then release id."""
    unique: dict[tuple[int, date], MacroEvent] = {}
    for event in events:
        unique.setdefault(event.key, event)
    return sorted(unique.values(), key=lambda e: (e.timestamp, e.release_id))


@dataclass(frozen=True)
class Vintage:
    """One row of an ALFRED answer: `value` (None for FRED's ".") was the published value of
    the observation dated `obs_date` (FRED's `date`) from realtime_start to realtime_end,
    both inclusive."""

    obs_date: date
    value: float | None
    realtime_start: date
    realtime_end: date


def compute_vintages(day: date, releases: Sequence[tuple[date, float | None]]) -> list[Vintage]:
    """The ALFRED rows of one observation from its releases (release date, value), oldest
    first: each row ends the day before the next different value is released, the last stays
    open (9999-12-31), and a release repeating the current value extends it (as FRED does)."""
    rows: list[Vintage] = []
    for released, value in releases:
        if rows and rows[-1].value == value:
            continue
        if rows:
            rows[-1] = Vintage(day, rows[-1].value, rows[-1].realtime_start,
                               released - timedelta(days=1))
        rows.append(Vintage(day, value, released, REALTIME_LAST))
    return rows
