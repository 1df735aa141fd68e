"""fetch_fred_calendar against FRED's recorded releases/dates answer on a loopback server.

Expected events are read by hand from tests/resources/vendors/fred/releases_dates_2025.json
(the row index in its `release_dates` list is given with each).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from stocksdb.domain.macro import Importance
from stocksdb.domain.reasons import Reason
from stocksdb.errors import InputError, VendorResponseError
from stocksdb.sources.fred_calendar import fetch_fred_calendar, parse_release_dates
from stocksdb.sources.http import HttpClient
from tests.fix_http import FakeClock, client_log_messages, load_vendor_json

PATH = "/fred/releases/dates"
RECORDED = "fred/releases_dates_2025.json"
JAN_1, JAN_20 = date(2025, 1, 1), date(2025, 1, 20)


def loopback(httpserver: HTTPServer, clock: FakeClock) -> HttpClient:
    """A FRED client aimed at the loopback server, on fake time."""
    return HttpClient("fred", httpserver.url_for("/").rstrip("/"), clock=clock.clock,
                      sleep=clock.sleep)


def serve_pages(httpserver: HTTPServer) -> None:
    """FRED's paging over the recorded answer: the rows offset..offset+limit of its
    release_dates, with its real `count` (422)."""
    recorded = load_vendor_json(RECORDED)

    def handler(request: Request) -> Response:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        page = {**recorded, "offset": offset, "limit": limit,
                "release_dates": recorded["release_dates"][offset:offset + limit]}
        return Response(json.dumps(page), content_type="application/json")
    httpserver.expect_request(PATH).respond_with_handler(handler)


def test_no_key_logs_a_warning_and_returns_nothing(
        httpserver: HTTPServer, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Neither an api_key argument nor FRED_API_KEY: [] and a warning, and no request."""
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    with caplog.at_level(logging.WARNING), loopback(httpserver, fake_clock) as http:
        assert fetch_fred_calendar(JAN_1, JAN_20, session=http) == []
    assert any("no API key" in m for m in client_log_messages(caplog)), caplog.text
    assert httpserver.log == []


def test_http_500_is_a_clear_error_after_retries(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """Four tries with 1, 2, 4 s between them, then one error naming FRED, the status and what
    to do; the key is not in it."""
    httpserver.expect_request(PATH).respond_with_data("boom", status=500)
    with loopback(httpserver, fake_clock) as http, \
            pytest.raises(VendorResponseError) as info:
        fetch_fred_calendar(JAN_1, JAN_20, api_key=fake_key, session=http)
    text = str(info.value)
    assert "fred answered HTTP 500" in text and "after 4 attempts" in text, text
    assert "the vendor is failing; retry later" in text and fake_key not in text
    assert (len(httpserver.log), fake_clock.sleeps) == (4, [1.0, 2.0, 4.0])


def test_recorded_calendar_is_parsed_sorted_ranked_and_stamped(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """422 recorded dates (no repeats) -> 422 events in time order; the hand-checked rows."""
    serve_pages(httpserver)
    with loopback(httpserver, fake_clock) as http:
        events = fetch_fred_calendar(JAN_1, JAN_20, api_key=fake_key, session=http)
    assert len(events) == 422
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    by_key = {(e.release_id, e.release_date): e for e in events}
    # row 86: {"release_id":10,"release_name":"Consumer Price Index","date":"2025-01-15"}
    cpi = by_key[10, date(2025, 1, 15)]
    assert (cpi.event, cpi.importance, cpi.currency, cpi.calendar) == (
        "Consumer Price Index", Importance.HIGH, "USD", "fred")
    assert cpi.timestamp.astimezone(UTC) == datetime(2025, 1, 15, 13, 30, tzinfo=UTC)
    # row 193: Employment Situation, 2025-01-10, high, 08:30 New York
    assert by_key[50, date(2025, 1, 10)].timestamp.astimezone(UTC) == datetime(
        2025, 1, 10, 13, 30, tzinfo=UTC)
    # row 298: Job Openings and Labor Turnover Survey, 2025-01-07: medium, 10:00 known
    jolts = by_key[192, date(2025, 1, 7)]
    assert (jolts.importance, jolts.timestamp.hour, jolts.time_known) == (
        Importance.MEDIUM, 10, True)
    # row 0: Daily Treasury Inflation-Indexed Securities (72), 2025-01-20: low, midnight
    tips = by_key[72, date(2025, 1, 20)]
    assert (tips.importance, tips.timestamp.astimezone(UTC)) == (
        Importance.LOW, datetime(2025, 1, 20, 5, 0, tzinfo=UTC))
    assert events[0].release_date == JAN_1 and events[-1].release_date == JAN_20


def test_pages_are_followed_with_the_documented_parameters(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """page_size 200 over count 422: offsets 0, 200, 400, each with the window, no-data dates
    included, ascending order, JSON and the key."""
    serve_pages(httpserver)
    with loopback(httpserver, fake_clock) as http:
        events = fetch_fred_calendar(JAN_1, JAN_20, api_key=fake_key, session=http,
                                     page_size=200)
    assert len(events) == 422
    asked = [dict(r.args) for r, _ in httpserver.log]
    assert [(a["offset"], a["limit"]) for a in asked] == [("0", "200"), ("200", "200"),
                                                           ("400", "200")]
    assert {k: v for k, v in asked[0].items() if k not in ("offset", "limit")} == {
        "realtime_start": "2025-01-01", "realtime_end": "2025-01-20",
        "include_release_dates_with_no_data": "true", "order_by": "release_date",
        "sort_order": "asc", "file_type": "json", "api_key": fake_key}


def test_key_from_the_environment_is_used(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No api_key argument: FRED_API_KEY is sent."""
    monkeypatch.setenv("FRED_API_KEY", fake_key)
    serve_pages(httpserver)
    with loopback(httpserver, fake_clock) as http:
        assert len(fetch_fred_calendar(JAN_1, JAN_20, session=http)) == 422
    assert httpserver.log[0][0].args["api_key"] == fake_key


def test_unreadable_release_dates_are_problems_not_events() -> None:
    """A bad date and a missing name become problems with reasons; the good row stays."""
    rows: list[Any] = [{"release_id": 10, "release_name": "Consumer Price Index",
                        "date": "2025-01-15"},
                       {"release_id": 10, "release_name": "Consumer Price Index",
                        "date": "15/01/2025"},
                       {"release_id": 50, "date": "2025-01-10"}]
    events, problems = parse_release_dates(rows)
    assert [e.key for e in events] == [(10, date(2025, 1, 15))]
    assert [p[0] for p in problems] == [Reason.INVALID_DATE, Reason.UNPARSEABLE_VALUE]


def test_end_before_start_is_refused(fake_key: str, httpserver: HTTPServer,
                                     fake_clock: FakeClock) -> None:
    with loopback(httpserver, fake_clock) as http, pytest.raises(InputError, match="`end`"):
        fetch_fred_calendar(JAN_20, JAN_1, api_key=fake_key, session=http)
