"""macro_calendar: FRED's recorded release calendar through the job on loopback, and the
sample's macro/release_dates.json.

Expected rows are read by hand from tests/resources/vendors/fred/releases_dates_2025.json
(row indexes given) and from the sample's file, never from the code under test.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.jobs.base import JobReport
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample.macro import write_macro
from tests.fix_http import FAKE_KEY, load_vendor_json
from tests.fix_pg import checksums, count_rows

JAN_1, JAN_20 = date(2025, 1, 1), date(2025, 1, 20)


class Calendar:
    """FRED's releases/dates on loopback: the recorded rows, minus those in `dropped`, paged
    by the request's offset and limit."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.recorded = load_vendor_json("fred/releases_dates_2025.json")
        self.dropped: set[tuple[int, str]] = set()
        self.settings = Settings(fred_url=httpserver.url_for("/").rstrip("/"),
                                 fred_api_key=FAKE_KEY)
        httpserver.expect_request("/fred/releases/dates").respond_with_handler(self._answer)

    def _answer(self, request: Request) -> Response:
        rows = [r for r in self.recorded["release_dates"]
                if (r["release_id"], r["date"]) not in self.dropped]
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        body = {**self.recorded, "count": len(rows), "offset": offset, "limit": limit,
                "release_dates": rows[offset:offset + limit]}
        return Response(json.dumps(body), content_type="application/json")

    def run(self, db: str, start: date = JAN_1, end: date = JAN_20) -> JobReport:
        report = run_job(self.settings, db, RunRequest(job="macro_calendar", source="fred",
                                                       start=start, end=end))
        assert report.status == "succeeded", report.as_dict()
        return report


@pytest.fixture
def calendar(httpserver: HTTPServer) -> Calendar:
    """The recorded January 2025 calendar on loopback."""
    return Calendar(httpserver)


def events(db: str, where: str = "TRUE") -> list[tuple[Any, ...]]:
    with connect(db) as conn:
        return conn.execute(
            "SELECT release_id, release_date::text, release_name, importance, release_at, "
            f"time_known, currency, calendar FROM stocks_research.macro_events WHERE {where} "
            "ORDER BY release_at, release_id").fetchall()


def test_recorded_calendar_is_stored_ranked_and_stamped(db: str, calendar: Calendar) -> None:
    """422 recorded dates -> 422 events; CPI (row 86) high at 08:30 New York, the FOMC
    press release of 2025-01-15 (row 93) at 14:00, release 72 (row 0) low at midnight."""
    report = calendar.run(db)
    assert (report.counts["events"], report.counts["inserted"], report.counts["repeats"]) == (
        422, 422, 0), report.counts
    assert events(db, "release_id = 10") == [
        (10, "2025-01-15", "Consumer Price Index", "high",
         datetime(2025, 1, 15, 13, 30, tzinfo=UTC), False, "USD", "fred")]
    assert events(db, "release_id = 101 AND release_date = '2025-01-15'")[0][3:6] == (
        "high", datetime(2025, 1, 15, 19, 0, tzinfo=UTC), True)
    assert events(db, "release_id = 72 AND release_date = '2025-01-20'")[0][3:5] == (
        "low", datetime(2025, 1, 20, 5, 0, tzinfo=UTC))


def test_rerun_keeps_the_checksum_and_a_dropped_date_leaves_only_its_window(
        db: str, calendar: Calendar) -> None:
    """Same answer again: nothing written. Then FRED no longer lists CPI on 2025-01-15: a run
    over 01-01..01-20 removes it; a run over 01-16..01-20 would not have touched it."""
    calendar.run(db)
    before = checksums(db)
    again = calendar.run(db)
    assert (again.counts["inserted"], again.counts["updated"], again.counts["deleted"]) == (
        0, 0, 0) and checksums(db) == before
    calendar.dropped = {(10, "2025-01-15")}
    narrow = calendar.run(db, start=date(2025, 1, 16))
    assert narrow.counts["deleted"] == 0 and events(db, "release_id = 10")
    wide = calendar.run(db)
    assert wide.counts["deleted"] == 1 and events(db, "release_id = 10") == []
    assert count_rows(db, "stocks_research.macro_events") == 421


def test_sample_release_dates_load_from_files(db: str, tmp_path: Path) -> None:
    """The sample's calendar for May-July 2024: every dated row of the file is an event."""
    write_macro(tmp_path, date(2024, 5, 1), date(2024, 7, 31))
    rows = json.loads((tmp_path / "macro" / "release_dates.json").read_text())["release_dates"]
    report = run_job(Settings(), db, RunRequest(job="macro_calendar", source="files",
                                                path=tmp_path))
    assert report.status == "succeeded", report.as_dict()
    stored = {(r[0], r[1]) for r in events(db)}
    assert stored == {(r["release_id"], r["date"]) for r in rows} and len(stored) == len(rows)
