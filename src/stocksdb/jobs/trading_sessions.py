"""trading_sessions job: the sessions of the reference exchanges, from exchange_calendars.

Reads:  exchange_calendars (source `calendar`) for the exchanges of the reference sessions file
        (foundation/reference.py; XNYS, XNAS and ARCX, which follow the XNYS calendar);
        ingestion.source_files and prices_daily for the default range
Writes: stocks_research.trading_sessions, trading_session_coverage; ingestion.job_runs
Range:  --start and --end, each defaulting to the first / last date of prices_daily's loaded
        data (its day files recorded in ingestion.source_files, and its bars): the table then
        spans exactly what was loaded, and a re-run the next day extends it. With nothing
        loaded, pass both.
In one transaction, per exchange, the rows of the range are made to agree with the calendar
(inserted, updated, deleted: a closure the calendar learned of since removes its session) and
the range joins the exchange's coverage. Rows outside the range are untouched; a re-run writes
nothing. The post-gate then holds prices_daily to the stored XNYS sessions (gates/sessions.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

from stocksdb.db.lineage import Layer, Table
from stocksdb.db.sessions import read_day_file_span
from stocksdb.db.sync import MergeCounts, sync_from_stage
from stocksdb.domain.sessions import DEFAULT_EXCHANGE, SessionTimes, session_times
from stocksdb.errors import InputError
from stocksdb.gates import checks as c
from stocksdb.gates import sessions as s
from stocksdb.jobs.base import JobContext, Outcome, RunRequest
from stocksdb.jobs.registry import Job


@dataclass(frozen=True)
class CalendarSessions:
    """What the calendar says for a range: each exchange's sessions with their times."""

    start: date
    end: date
    sessions: Mapping[str, tuple[SessionTimes, ...]]


def resolve_range(conn: psycopg.Connection[Any], request: RunRequest) -> tuple[date, date]:
    """--start and --end, or the first / last date of prices_daily's loaded data.

    Raises:
        InputError: a bound is missing and nothing is loaded, or end is before start.
    """
    start, end = request.start, request.end
    if start is None or end is None:
        span = read_day_file_span(conn)
        if span is None:
            raise InputError("trading_sessions takes its default range from prices_daily's "
                             "loaded day files and none is loaded; pass --start and --end")
        start, end = start or span[0], end or span[1]
    if end < start and request.end is None:
        raise InputError(f"--start {start} is after the last loaded day file ({end}), the "
                         "default --end; pass an --end on or after --start")
    if end < start:
        raise InputError(f"parameter `end` is {end}, before `start` {start}; pass an `end` "
                         "on or after it")
    return start, end


def sessions_from_calendar(ctx: JobContext) -> CalendarSessions:
    """The sessions of every exchange of the reference sessions file over the run's range,
    from the exchange_calendars calendar each follows.

    Raises:
        ReferenceDataError: the reference files are unreadable.
        DateOutOfRangeError: the range leaves the calendar (1990 .. a year ahead).
    """
    from stocksdb.foundation.reference import ReferenceDataLoader

    exchanges = ReferenceDataLoader().load_all().sessions
    start, end = resolve_range(ctx.conn, ctx.request)
    by_calendar: dict[str, tuple[SessionTimes, ...]] = {}
    for spec in exchanges.values():
        if spec.calendar not in by_calendar:
            by_calendar[spec.calendar] = tuple(session_times(start, end, spec.calendar))
    return CalendarSessions(start, end, {x: by_calendar[spec.calendar]
                                         for x, spec in exchanges.items()})


_STAGE = ("CREATE TEMPORARY TABLE stage_trading_sessions "
          "(LIKE stocks_research.trading_sessions) ON COMMIT DROP")
_DELETE_GONE = """
DELETE FROM stocks_research.trading_sessions t
 WHERE t.exchange = ANY(%(exchanges)s) AND t.session_date BETWEEN %(start)s AND %(end)s
   AND NOT EXISTS (SELECT 1 FROM stage_trading_sessions s
                    WHERE s.exchange = t.exchange AND s.session_date = t.session_date)
"""
_COVER = """
INSERT INTO stocks_research.trading_session_coverage AS c (exchange, covered)
SELECT x, datemultirange(daterange(%(start)s, %(end)s, '[]'))
  FROM unnest(%(exchanges)s::text[]) AS x
ON CONFLICT (exchange) DO UPDATE SET covered = c.covered + EXCLUDED.covered
 WHERE NOT c.covered @> EXCLUDED.covered
"""


def write_trading_sessions(conn: psycopg.Connection[Any], cal: CalendarSessions) -> MergeCounts:
    """Make the range's rows agree with `cal` and record the range as covered, in the
    caller's transaction; returns what changed in trading_sessions."""
    conn.execute(_STAGE)
    staged = 0
    with conn.cursor().copy("COPY stage_trading_sessions (exchange, session_date, open_at, "
                            "close_at, early_close) FROM STDIN") as copy:
        for exchange, rows in cal.sessions.items():
            for row in rows:
                copy.write_row((exchange, row.session_date, row.open_at, row.close_at,
                                row.early_close))
                staged += 1
    counts = sync_from_stage(conn, "stocks_research.trading_sessions",
                             ("exchange", "session_date"), ("open_at", "close_at", "early_close"),
                             None, stage="stage_trading_sessions", staged=staged)
    scope = {"exchanges": list(cal.sessions), "start": cal.start, "end": cal.end}
    deleted = conn.execute(_DELETE_GONE, scope).rowcount
    conn.execute(_COVER, scope)
    return MergeCounts(inserted=counts.inserted, updated=counts.updated, deleted=deleted,
                       unchanged=counts.unchanged)


@dataclass(frozen=True, kw_only=True)
class SessionsOutcome(Outcome):
    """The counts, the range filled and its exchanges."""

    start: date
    end: date
    exchanges: tuple[str, ...]

    def recorded(self) -> dict[str, Any]:
        return {"range": {"start": self.start.isoformat(), "end": self.end.isoformat()},
                "exchanges": list(self.exchanges)}


def run_trading_sessions(ctx: JobContext, cal: CalendarSessions) -> Outcome:
    """Store the calendar's sessions of the range in one transaction."""
    with ctx.conn.transaction():
        counts = write_trading_sessions(ctx.conn, cal)
    prices_days = tuple(r.session_date for r in cal.sessions.get(DEFAULT_EXCHANGE, ()))
    return SessionsOutcome(
        counts={"sessions": sum(len(v) for v in cal.sessions.values()), **counts.as_dict()},
        sessions=prices_days, start=cal.start, end=cal.end, exchanges=tuple(cal.sessions))


JOB = Job[CalendarSessions](
    name="trading_sessions",
    summary="Sessions of the reference exchanges (open/close UTC, early closes) from "
            "exchange_calendars over --start..--end (default: the span of prices_daily's "
            "loaded day files); checks every bar is dated a session and every session has its "
            "day file.",
    run=run_trading_sessions,
    sources={"calendar": sessions_from_calendar},
    pre_gate=(c.schema_is_latest,),
    post_gate=(s.price_dates_are_sessions, s.sessions_have_day_files),
    depends_on=("prices_daily",),
    writes=("trading_session_coverage", "trading_sessions"),
    reads=("prices_daily",),
    options=frozenset({"start", "end"}),
    tables=(
        Table("trading_session_coverage", layer=Layer.CANONICAL,
              freshness="with trading_sessions, after each price load",
              completeness="the date ranges the job has filled, per exchange: inside them a "
                           "date without a trading_sessions row is not a session",
              retention="forever; ranges only grow"),
        Table("trading_sessions", layer=Layer.CANONICAL,
              freshness="after each price load (the range of the loaded prices by default)",
              completeness="every session of XNYS, XNAS and ARCX in the covered range, with "
                           "open/close in UTC and the early-close flag (exchange_calendars)",
              retention="forever; a re-run corrects, adds or deletes rows only inside its "
                        "range"),
    ),
)
