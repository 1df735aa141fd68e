"""fetch_reference against Massive and OpenFIGI payloads served on a loopback server."""

from __future__ import annotations

import json
import logging
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from stocksdb.config import Settings
from stocksdb.domain.frames import records
from stocksdb.errors import MissingCredentialError, VendorResponseError
from stocksdb.sources.base import SECURITY_COLUMNS, TICKER_HISTORY_COLUMNS, ReferenceBatch
from stocksdb.sources.massive_rest import compute_ticker_intervals, fetch_reference, massive_http
from stocksdb.sources.openfigi import OpenFigiClient
from tests.fix_http import FakeClock, client_log_messages, vendor_bytes
from tests.fix_massive import (
    DELISTED_PAGE,
    FB_DELISTED_ROW,
    FIRST_PAGE,
    TICKERS,
    list_page,
    serve_universe,
)

NOT_FOUND_ANSWER = json.dumps([{"warning": "No identifier found."}])  # documented, not recorded


def run_fetch(settings: Settings, clock: FakeClock) -> ReferenceBatch:
    """fetch_reference with loopback clients on fake time."""
    with massive_http(settings, clock=clock.clock, sleep=clock.sleep) as http, \
            OpenFigiClient.from_settings(settings, clock=clock.clock, sleep=clock.sleep) as figi:
        return fetch_reference(settings, http=http, openfigi=figi)


@pytest.fixture
def batch(httpserver: HTTPServer, loopback_settings: Settings, fake_key: str,
          fake_clock: FakeClock) -> ReferenceBatch:
    """The batch for AAPL, IBM (FIGI from OpenFIGI), META (and delisted FB of the same FIGI)."""
    serve_universe(httpserver, fake_key, delisted=[FB_DELISTED_ROW],
                   openfigi_answer=vendor_bytes("openfigi/mapping/cusip_with_exchange.json"))
    return run_fetch(loopback_settings, fake_clock)


def rows_by(frame: pd.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    """Frame rows as dicts keyed by one column."""
    return {row[key]: row for row in records(frame)}


def test_follows_next_url_and_asks_for_delisted_tickers(batch: ReferenceBatch,
                                                        httpserver: HTTPServer) -> None:
    """Both listed pages and the active=false page are read; the echoed apiKey is not sent."""
    queries = [dict(r.args) for r, _ in httpserver.log if r.path == TICKERS]
    assert queries == [FIRST_PAGE, {"cursor": "page2"}, DELISTED_PAGE], queries
    assert batch.source == "massive"
    assert sorted(batch.securities["composite_figi"]) == [
        "BBG000B9XRY4", "BBG000BLNNH6", "BBG000MM2P62"]


def test_securities_rows_carry_the_recorded_vendor_fields(batch: ReferenceBatch,
                                                          httpserver: HTTPServer) -> None:
    """AAPL's row holds the recorded details, currency upper-cased, as strings."""
    assert list(batch.securities.columns) == [*SECURITY_COLUMNS, "source_key"]
    aapl = rows_by(batch.securities, "composite_figi")["BBG000B9XRY4"]
    assert aapl == {
        "composite_figi": "BBG000B9XRY4", "share_class_figi": "BBG001S5N8V8",
        "name": "Apple Inc.", "security_type": "CS", "primary_exchange": "XNAS",
        "currency": "USD", "cik": "0000320193", "list_date": "1980-12-12", "delist_date": None,
        "active": "true",
        "source_key": httpserver.url_for(TICKERS) + "?market=stocks&active=true&limit=1000",
    }, aapl


def test_listed_meta_wins_over_delisted_fb_of_the_same_figi(batch: ReferenceBatch,
                                                           httpserver: HTTPServer) -> None:
    """One security row per composite FIGI: the listed META row, from page 2."""
    meta = batch.securities[batch.securities["composite_figi"] == "BBG000MM2P62"]
    assert len(meta) == 1, meta
    row = meta.iloc[0]
    assert (row["name"], row["cik"], row["active"]) == (
        "Meta Platforms, Inc. Class A Common Stock", "0001326801", "true")
    assert row["source_key"] == httpserver.url_for(TICKERS) + "?cursor=page2"


def test_fb_to_meta_becomes_two_intervals_of_one_figi(batch: ReferenceBatch,
                                                      httpserver: HTTPServer) -> None:
    """FB [2012-05-18, 2022-06-11) then META [2022-06-11, open), valid_to exclusive."""
    assert list(batch.ticker_history.columns) == [*TICKER_HISTORY_COLUMNS, "source_key"]
    events_url = httpserver.url_for("/vX/reference/tickers/BBG000MM2P62/events")
    got = batch.ticker_history[batch.ticker_history["composite_figi"] == "BBG000MM2P62"]
    assert got.to_dict("records") == [
        {"composite_figi": "BBG000MM2P62", "ticker": "FB", "valid_from": "2012-05-18",
         "valid_to": "2022-06-11", "source_key": events_url + "?types=ticker_change"},
        {"composite_figi": "BBG000MM2P62", "ticker": "META", "valid_from": "2022-06-11",
         "valid_to": None, "source_key": events_url + "?types=ticker_change"},
    ]


def test_without_events_the_interval_starts_at_list_date(batch: ReferenceBatch) -> None:
    """AAPL has no events (404), so its one open interval starts at its list_date."""
    aapl = rows_by(batch.ticker_history, "ticker")["AAPL"]
    assert (aapl["composite_figi"], aapl["valid_from"], aapl["valid_to"]) == (
        "BBG000B9XRY4", "1980-12-12", None)


def test_missing_figi_is_filled_from_openfigi(batch: ReferenceBatch) -> None:
    """IBM, listed without FIGIs, gets BBG000BLNNH6 / BBG001S5S399 from OpenFIGI."""
    ibm = rows_by(batch.securities, "composite_figi")["BBG000BLNNH6"]
    assert (ibm["share_class_figi"], ibm["name"]) == ("BBG001S5S399",
                                                      "INTL BUSINESS MACHINES CORP")


def test_no_start_date_is_a_problem_not_an_invented_date(batch: ReferenceBatch) -> None:
    """IBM has neither events nor a list_date: a no_start_date problem and no interval."""
    assert "IBM" not in set(batch.ticker_history["ticker"])
    assert [(p.reason_code, p.ticker) for p in batch.problems] == [("no_start_date", "IBM")]


@pytest.mark.parametrize("case", [
    (NOT_FOUND_ANSWER, "figi_not_found", "No identifier found."),
    (vendor_bytes("openfigi/mapping/invalid_identifier.json"), "figi_lookup_error",
     "Invalid idValue format."),
], ids=["warning", "error"])
def test_openfigi_warning_or_error_becomes_a_source_problem(
        httpserver: HTTPServer, loopback_settings: Settings, fake_key: str,
        fake_clock: FakeClock, case: tuple[str | bytes, str, str]) -> None:
    """IBM without a FIGI anywhere is left out, with the reason and OpenFIGI's own words."""
    answer, reason, text = case
    serve_universe(httpserver, fake_key, delisted=[], openfigi_answer=answer)
    batch = run_fetch(loopback_settings, fake_clock)
    assert "IBM" not in set(batch.ticker_history["ticker"])
    assert len(batch.securities) == 2
    problems = [p for p in batch.problems if p.ticker == "IBM"]
    assert [p.reason_code for p in problems] == [reason], problems
    assert text in problems[0].detail


def test_delisted_ticker_without_figi_is_not_looked_up_by_ticker(
        httpserver: HTTPServer, loopback_settings: Settings, fake_key: str,
        fake_clock: FakeClock) -> None:
    """A delisted FB row without FIGI is figi_not_found; OpenFIGI is asked about IBM only."""
    fb = {k: v for k, v in FB_DELISTED_ROW.items() if k != "composite_figi"}
    serve_universe(httpserver, fake_key, delisted=[fb],
                   openfigi_answer=vendor_bytes("openfigi/mapping/cusip_with_exchange.json"))
    batch = run_fetch(loopback_settings, fake_clock)
    assert [(p.reason_code, p.ticker) for p in batch.problems if p.ticker == "FB"] == [
        ("figi_not_found", "FB")]
    mapped = [r.get_json() for r, _ in httpserver.log if r.path == "/v3/mapping"]
    assert mapped == [[{"idType": "TICKER", "idValue": "IBM", "exchCode": "US"}]]


def test_missing_key_fails_before_any_request(httpserver: HTTPServer) -> None:
    """Without MASSIVE_API_KEY nothing is requested and the error names the variable."""
    settings = Settings(massive_api_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(MissingCredentialError, match="MASSIVE_API_KEY"):
        fetch_reference(settings)
    assert httpserver.log == []


def test_key_never_leaks_into_logs_errors_or_source_keys(
        httpserver: HTTPServer, loopback_settings: Settings, fake_key: str,
        fake_clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    """Header key and the apiKey echoed in next_url stay out of logs, source_key and errors."""
    caplog.set_level(logging.DEBUG)
    serve_universe(httpserver, fake_key, delisted=[],
                   openfigi_answer=vendor_bytes("openfigi/mapping/cusip_with_exchange.json"))
    batch = run_fetch(loopback_settings, fake_clock)
    texts = [*batch.securities["source_key"], *batch.ticker_history["source_key"],
             *(p.detail for p in batch.problems)]
    httpserver.clear()
    httpserver.expect_request(TICKERS).respond_with_json(
        list_page([], f"{httpserver.url_for(TICKERS)}?cursor=p2&apiKey={fake_key}"))
    with massive_http(loopback_settings, clock=fake_clock.clock, sleep=fake_clock.sleep
                      ) as http, pytest.raises(VendorResponseError) as caught:
        fetch_reference(loopback_settings, http=http)  # page 2 repeats forever: a loop
    texts += [str(caught.value), repr(http), *client_log_messages(caplog)]
    assert not [t for t in texts if fake_key in t]
    assert all(fake_key not in r.full_path for r, _ in httpserver.log)


@given(st.lists(st.tuples(st.dates().map(str), st.sampled_from(["FB", "META", "X"])),
                min_size=1, unique_by=lambda c: c[0]),
       st.one_of(st.none(), st.just("9999-12-31")))
def test_intervals_chain_without_gaps_and_end_at_the_delist_date(
        changes: list[tuple[str, str]], end: str | None) -> None:
    """Each interval ends where the next begins; the last ends at `end` (None = open)."""
    intervals = compute_ticker_intervals(changes, end=end)
    starts = sorted(date for date, _ in changes)
    assert [start for _, start, _ in intervals] == starts
    assert [stop for _, _, stop in intervals] == [*starts[1:], end]


def test_page_error_quoting_the_key_is_redacted(httpserver: HTTPServer, loopback_settings: Settings,
                                                fake_key: str, fake_clock: FakeClock) -> None:
    """A malformed page whose text echoes our key raises an error that does not repeat it."""
    httpserver.expect_request(TICKERS).respond_with_json({"results": f"bad key {fake_key}"})
    with pytest.raises(VendorResponseError, match="bad key") as caught:
        run_fetch(loopback_settings, fake_clock)
    assert fake_key not in str(caught.value) and caught.value.__cause__ is None
