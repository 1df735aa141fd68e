"""macro_calendar job: FRED's release calendar as ranked, timestamped events.

Reads:  FRED's release dates (fred: GET /fred/releases/dates with
        include_release_dates_with_no_data=true, every page, key FRED_API_KEY; files:
        DIR/macro/release_dates.json, docs/macro.md)
Writes: stocks_research.macro_events (one row per release and date: name, calendar 'fred',
        currency USD, importance, release_at, time_known); ingestion.rejected_rows, job_runs
Steps, in one transaction: parse -> dedupe and sort (domain.macro.compute_calendar) -> stage
        (COPY) -> merge -> remove the stored events of the window the answer no longer lists.

The answer is FRED's whole calendar for its window, so a release date FRED moved or dropped
inside the window is removed here; events outside the window are never touched. An answer
without a single event removes nothing (a calendar never empties; the run says so).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from stocksdb.config import Settings
from stocksdb.db.lineage import Layer, Table
from stocksdb.db.sync import sync_from_stage
from stocksdb.domain.macro import MacroEvent, compute_calendar
from stocksdb.gates import checks as c
from stocksdb.jobs.base import JobContext, Outcome, Rejected
from stocksdb.jobs.registry import Job
from stocksdb.sources.fred_calendar import RELEASE_DATES_FILE, parse_release_dates

log = logging.getLogger("stocksdb.jobs")

_TARGET = sql.Identifier("stocks_research", "macro_events")
_STAGE = """
CREATE TEMP TABLE stage_macro_events (release_id integer, release_date date,
    release_name text, calendar text, currency text, importance text,
    release_at timestamptz, time_known boolean) ON COMMIT DROP
"""
_KEY = ("release_id", "release_date")
_VALUES = ("release_name", "calendar", "currency", "importance", "release_at", "time_known")
_DROP_UNLISTED = """
DELETE FROM stocks_research.macro_events t
 WHERE t.release_date BETWEEN %(start)s AND %(end)s
   AND NOT EXISTS (SELECT 1 FROM stage_macro_events s
                    WHERE s.release_id = t.release_id AND s.release_date = t.release_date)
"""


@dataclass(frozen=True)
class CalendarAnswer:
    """FRED's release-date objects for a window, both ends inclusive, and where they came
    from."""

    rows: list[Any]
    start: date
    end: date
    source_key: str


def write_events(conn: psycopg.Connection[Any], events: Sequence[MacroEvent], start: date,
                 end: date, *, run_id: int) -> dict[str, int]:
    """Make macro_events hold exactly `events` between start and end (caller's transaction)."""
    conn.execute(_STAGE)
    with conn.cursor().copy("COPY stage_macro_events FROM STDIN") as copy:
        for e in events:
            copy.write_row((e.release_id, e.release_date, e.event, e.calendar, e.currency,
                            e.importance.value, e.timestamp, e.time_known))
    counts = sync_from_stage(conn, _TARGET, _KEY, _VALUES, None, stage="stage_macro_events",
                             stamp={"run_id": sql.Literal(run_id)},
                             insert_order=("release_at", "release_id"), staged=len(events))
    deleted = 0
    if events:
        deleted = conn.execute(_DROP_UNLISTED, {"start": start, "end": end}).rowcount
    conn.execute("DROP TABLE stage_macro_events")
    return {**counts.as_dict(), "deleted": deleted}


def run_macro_calendar(ctx: JobContext, answer: CalendarAnswer) -> Outcome:
    """Store the window's events in one transaction."""
    parsed, problems = parse_release_dates(answer.rows, answer.start, answer.end)
    events = compute_calendar(parsed)
    rejected = [Rejected(reason, detail, ctx.source, answer.source_key, raw=raw)
                for reason, detail, raw in problems]
    if not events:
        log.warning("macro_calendar: no release dates between %s and %s; nothing removed",
                    answer.start, answer.end)
    with ctx.conn.transaction():
        counts = write_events(ctx.conn, events, answer.start, answer.end, run_id=ctx.run_id)
        ctx.write_rejected(rejected)
    return Outcome(counts={"events": len(events), "repeats": len(parsed) - len(events),
                           **counts, "rejected": len(rejected)})


def calendar_from_fred(ctx: JobContext) -> CalendarAnswer:
    """FRED's API for --start..--end (default: this calendar year, as FRED's own default)."""
    from stocksdb.sources.fred import DEFAULT_RATE, NAME, require_key
    from stocksdb.sources.fred_calendar import RELEASES_DATES_PATH, fetch_release_dates
    from stocksdb.sources.http import HttpClient

    key = require_key(ctx.settings)
    today = date.today()
    start = ctx.request.start or date(today.year, 1, 1)
    end = ctx.request.end or date(today.year, 12, 31)
    with HttpClient(NAME, ctx.settings.fred_url, rate_limit=DEFAULT_RATE) as http:
        rows = fetch_release_dates(http, key, start, end)
    return CalendarAnswer(rows, start, end, RELEASES_DATES_PATH)


def calendar_from_files(ctx: JobContext) -> CalendarAnswer:
    """DIR/macro/release_dates.json; the window is --start..--end, else the answer's own
    realtime_start..realtime_end."""
    from stocksdb.sources.fred_calendar import read_release_dates

    root = ctx.request.require_path()
    rows, first, last = read_release_dates(root)
    start = ctx.request.start or first or date.min
    end = ctx.request.end or last or date.max
    return CalendarAnswer(rows, start, end, str(root / RELEASE_DATES_FILE))


def no_calendar_input(profile: str | None, path: Path | None, settings: Settings) -> str | None:
    """Why bootstrap has no calendar input: a files tree without macro/release_dates.json, or
    no FRED key."""
    if profile == "files":
        if path and (path / RELEASE_DATES_FILE).is_file():
            return None
        return "the source tree has no macro/release_dates.json"
    return None if settings.fred_api_key else "FRED_API_KEY is not set"


JOB = Job[CalendarAnswer](
    name="macro_calendar",
    summary="FRED's release calendar: events ranked by importance, New York timestamps.",
    run=run_macro_calendar,
    sources={"fred": calendar_from_fred, "files": calendar_from_files},
    pre_gate=(c.schema_is_latest,),
    writes=("macro_events",),
    options=frozenset({"start", "end"}),
    no_input=no_calendar_input,
    tables=(Table("macro_events", layer=Layer.CANONICAL,
                  freshness="the release calendar as of the last run (FRED's releases/dates)",
                  completeness="every release date in the run's window, including dates with no "
                               "data yet; sorted, deduplicated",
                  retention="a run replaces the events inside its window; events outside it "
                            "are kept"),),
)
