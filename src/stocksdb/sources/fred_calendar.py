"""FRED's release calendar: which release is published on which date, as MacroEvents.

In:  a date window, the FRED API key (the argument, else FRED_API_KEY), an HttpClient aimed at
     FRED (tests pass one on loopback with a fake clock); or a files tree's
     macro/release_dates.json (docs/macro.md).
Out: `MacroEvent`s (domain/macro.py: importance from a small table, a New York timestamp),
     sorted by timestamp and release id, one per release and date.
Talks to: GET /fred/releases/dates?realtime_start=START&realtime_end=END
     &include_release_dates_with_no_data=true&order_by=release_date&sort_order=asc
     &file_type=json&limit=1000&offset=N (reference/formats.md section 6.2), page after page
     until `count` dates arrived. With include_release_dates_with_no_data the answer also lists
     scheduled dates whose data is not out yet, which is what makes it a calendar.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from stocksdb.domain.macro import MacroEvent, compute_calendar, compute_event
from stocksdb.domain.reasons import Reason
from stocksdb.errors import InputError, InputFileError
from stocksdb.sources.fred import DEFAULT_RATE, NAME
from stocksdb.sources.fred_vintages import MACRO_DIR, Problem, fetch_pages, read_whole_answer
from stocksdb.sources.http import HttpClient

log = logging.getLogger(__name__)

RELEASES_DATES_PATH = "/fred/releases/dates"
PAGE_SIZE = 1000                      # FRED's largest page of release dates
RELEASE_DATES_FILE = MACRO_DIR / "release_dates.json"


def fetch_fred_calendar(start: date, end: date, api_key: str | None = None,
                        session: HttpClient | None = None, *,
                        page_size: int = PAGE_SIZE) -> list[MacroEvent]:
    """The release events dated start..end inclusive, sorted and without repeats; [] with a
    warning when no key is given or configured (FRED_API_KEY). Release dates FRED lists that
    cannot be read are logged and left out (the macro_calendar job records them instead).

    Raises:
        InputError: `end` is before `start`.
        VendorResponseError, RateLimitedError: FRED failed after the client's retries (HTTP
            500 included), refused the key, or answered something we cannot read.
    """
    from stocksdb.config import Settings

    settings = None if api_key and session else Settings.from_env(os.environ)
    key = api_key or (settings.fred_api_key if settings else None)
    if not key:
        log.warning("%s calendar: no API key (pass api_key or set FRED_API_KEY); returning no "
                    "events", NAME)
        return []
    if session is not None:
        rows = fetch_release_dates(session, key, start, end, page_size=page_size)
    else:
        assert settings is not None
        with HttpClient(NAME, settings.fred_url, rate_limit=DEFAULT_RATE) as http:
            rows = fetch_release_dates(http, key, start, end, page_size=page_size)
    events, problems = parse_release_dates(rows)
    for reason, detail, _ in problems:
        log.warning("%s calendar: left out a release date [%s]: %s", NAME, reason, detail)
    return compute_calendar(events)


def fetch_release_dates(http: HttpClient, api_key: str, start: date, end: date, *,
                        page_size: int = PAGE_SIZE) -> list[Any]:
    """FRED's release-date objects for start..end, every page joined.

    Raises:
        InputError: `end` is before `start`.
        VendorResponseError, RateLimitedError: as fetch_fred_calendar."""
    if end < start:
        raise InputError(f"parameter `end` is {end}, before `start` {start}; pass an end on or "
                         "after the start")
    params = {"realtime_start": start.isoformat(), "realtime_end": end.isoformat(),
              "include_release_dates_with_no_data": "true", "order_by": "release_date",
              "sort_order": "asc", "file_type": "json", "api_key": api_key}
    return fetch_pages(http, RELEASES_DATES_PATH, params, "release_dates", limit=page_size)


def parse_release_dates(rows: Sequence[Any], start: date | None = None,
                        end: date | None = None) -> tuple[list[MacroEvent], list[Problem]]:
    """Events of the release-date objects dated start..end (None: unbounded), in answer order;
    an object without an ISO date, an integer release_id or a release_name is a problem."""
    events: list[MacroEvent] = []
    problems: list[Problem] = []
    for row in rows:
        release, problem = _release(row)
        if release is None:
            assert problem is not None
            problems.append(problem)
            continue
        release_id, name, day = release
        if (start is None or start <= day) and (end is None or day <= end):
            events.append(compute_event(release_id, name, day))
    return events, problems


def _release(row: Any) -> tuple[tuple[int, str, date] | None, Problem | None]:
    """(release id, name, date), or the problem that makes the object unreadable."""
    raw = dict(row) if isinstance(row, dict) else {"row": repr(row)[:200]}
    try:
        day = date.fromisoformat(raw["date"])
    except (KeyError, TypeError, ValueError):
        return None, (Reason.INVALID_DATE, f"release date {raw.get('date')!r} is not "
                      "YYYY-MM-DD", raw)
    release_id, name = raw.get("release_id"), raw.get("release_name")
    if type(release_id) is not int or not isinstance(name, str) or not name:
        return None, (Reason.UNPARSEABLE_VALUE, f"release date {day} lacks an integer "
                      f"release_id or a release_name ({release_id!r}, {name!r})", raw)
    return (release_id, name, day), None


def read_release_dates(root: Path) -> tuple[list[Any], date | None, date | None]:
    """The release-date objects of DIR/macro/release_dates.json and the window its answer
    covers (its realtime_start and realtime_end; None when absent).

    Raises:
        InputFileError: the file is missing, not JSON, or not a whole releases/dates answer."""
    path = root / RELEASE_DATES_FILE
    if not path.is_file():
        raise InputFileError(f"macro file {str(path)!r} is missing; expected FRED's "
                             "releases/dates answer there (docs/macro.md)")
    payload, rows = read_whole_answer(path, "release_dates", "releases/dates")
    return rows, _envelope_date(payload, "realtime_start"), _envelope_date(payload,
                                                                           "realtime_end")


def _envelope_date(payload: dict[str, Any], name: str) -> date | None:
    try:
        return date.fromisoformat(payload[name])
    except (KeyError, TypeError, ValueError):
        return None
