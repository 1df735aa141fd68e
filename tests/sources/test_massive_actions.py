"""fetch_corporate_actions against recorded Massive splits and dividends on a loopback server."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from stocksdb.config import Settings
from stocksdb.errors import InputError, MissingCredentialError, VendorResponseError
from stocksdb.sources.base import DIVIDEND_COLUMNS, SPLIT_COLUMNS, ActionsBatch
from stocksdb.sources.http import RateLimit
from stocksdb.sources.massive_actions import fetch_corporate_actions
from stocksdb.sources.massive_rest import massive_http, rate_limit_from_settings
from tests.fix_http import FakeClock, client_log_messages, load_vendor_json, vendor_bytes

SPLITS = "/v3/reference/splits"
DIVIDENDS = "/v3/reference/dividends"
SPLITS_FILE = "massive/v3/reference/splits.json"
DIVIDENDS_FILE = "massive/v3/reference/dividends.json"
RECORDED_SPLITS: list[dict[str, Any]] = load_vendor_json(SPLITS_FILE)["results"]
RECORDED_DIVIDENDS: list[dict[str, Any]] = load_vendor_json(DIVIDENDS_FILE)["results"]
FIRST_PAGE = {"limit": "1000"}
SECOND_PAGE = {"cursor": "page2"}
# (ticker, execution_date, split_from, split_to) as read by eye in the recorded splits.json.
SPLITS_IN_FILE = [
    ("GOOGL", "2022-07-18", 1, 20), ("GOOG", "2022-07-18", 1, 20), ("CTO", "2022-07-01", 1, 3),
    ("SHOP", "2022-06-29", 1, 10), ("SHOP", "2022-06-22", 1, 10), ("DXCM", "2022-06-10", 1, 4),
    ("AMZN", "2022-06-06", 1, 20), ("BRW", "2022-05-20", 2, 1), ("CM", "2022-05-16", 1, 2),
    ("CIG.C", "2022-05-02", 3, 4),
]


def page(results: list[Any], next_url: str | None = None) -> dict[str, Any]:
    """A list-endpoint page in the recorded envelope (status and request_id of splits.json)."""
    body: dict[str, Any] = {"results": results, "status": "OK",
                            "request_id": "b52de486daf5491e6b9ebdf5e0bf65bc"}
    return {**body, "next_url": next_url} if next_url else body


def serve_recorded(httpserver: HTTPServer, key: str) -> None:
    """The recorded splits over two pages, the recorded dividends as one page.

    splits.json is a single page; we cut its results after the 4th row and join the halves
    with a next_url (echoing the key as apiKey, as Polygon did) to prove pagination. The rows
    themselves are served unchanged."""
    auth = {"Authorization": f"Bearer {key}"}
    next_url = f"{httpserver.url_for(SPLITS)}?cursor=page2&apiKey={key}"
    httpserver.expect_request(SPLITS, query_string=FIRST_PAGE, headers=auth
                              ).respond_with_json(page(RECORDED_SPLITS[:4], next_url))
    httpserver.expect_request(SPLITS, query_string=SECOND_PAGE, headers=auth
                              ).respond_with_json(page(RECORDED_SPLITS[4:]))
    httpserver.expect_request(DIVIDENDS, query_string=FIRST_PAGE, headers=auth
                              ).respond_with_data(vendor_bytes(DIVIDENDS_FILE),
                                                  content_type="application/json")


def run_fetch(settings: Settings, clock: FakeClock, **options: Any) -> ActionsBatch:
    """fetch_corporate_actions through a loopback Massive client on fake time."""
    with massive_http(settings, clock=clock.clock, sleep=clock.sleep) as http:
        return fetch_corporate_actions(settings, http=http, **options)


def queries(httpserver: HTTPServer, path: str) -> list[dict[str, str]]:
    """Query parameters of each request the server received for `path`, in order."""
    return [dict(request.args) for request, _ in httpserver.log if request.path == path]


@pytest.fixture
def batch(httpserver: HTTPServer, loopback_settings: Settings, fake_key: str,
          fake_clock: FakeClock) -> ActionsBatch:
    """The batch read from the recorded payloads, splits over two pages."""
    serve_recorded(httpserver, fake_key)
    return run_fetch(loopback_settings, fake_clock)


def test_every_recorded_split_arrives_across_both_pages(batch: ActionsBatch,
                                                        httpserver: HTTPServer) -> None:
    """All 10 recorded splits arrive in order with their values; page 2 came from next_url."""
    assert queries(httpserver, SPLITS) == [FIRST_PAGE, SECOND_PAGE]
    assert batch.source == "massive"
    assert list(batch.splits.columns) == [*SPLIT_COLUMNS, "source_key"]
    got = batch.splits.drop(columns="source_key").to_dict("records")
    assert got == [{"id": None, **row} for row in RECORDED_SPLITS], got
    assert [(r["ticker"], r["execution_date"], r["split_from"], r["split_to"])
            for r in got] == SPLITS_IN_FILE


def test_split_values_keep_their_json_types(batch: ActionsBatch) -> None:
    """Share counts stay ints and the missing id stays None in object columns (no NaN)."""
    assert {dtype.kind for dtype in batch.splits.dtypes} == {"O"}, batch.splits.dtypes
    brw = batch.splits[batch.splits["ticker"] == "BRW"].iloc[0]
    assert (type(brw["split_from"]), brw["split_from"], brw["split_to"]) == (int, 2, 1)
    assert batch.splits["id"].tolist() == [None] * 10


def test_source_key_is_the_page_url_without_the_key(batch: ActionsBatch,
                                                    httpserver: HTTPServer) -> None:
    """Rows name the page they came from; the apiKey echoed in next_url is stripped."""
    first = httpserver.url_for(SPLITS) + "?limit=1000"
    second = httpserver.url_for(SPLITS) + "?cursor=page2"
    assert batch.splits["source_key"].tolist() == [first] * 4 + [second] * 6
    assert set(batch.dividends["source_key"]) == {httpserver.url_for(DIVIDENDS) + "?limit=1000"}


def test_dividend_rows_hold_the_recorded_amounts_dates_and_type(batch: ActionsBatch) -> None:
    """CSSEN pays 0.59375 and AIRTP 0.5, type CD, on the recorded dates; absent id/currency None."""
    assert list(batch.dividends.columns) == [*DIVIDEND_COLUMNS, "source_key"]
    rows = batch.dividends.drop(columns="source_key").to_dict("records")
    assert rows == [{"id": None, "currency": None, **row} for row in RECORDED_DIVIDENDS], rows
    airtp = [r for r in rows if r["ticker"] == "AIRTP"]
    assert [(r["cash_amount"], r["ex_dividend_date"], r["record_date"], r["pay_date"],
             r["declaration_date"], r["dividend_type"], r["frequency"]) for r in airtp] == [
        (0.5, "2023-11-13", "2023-11-14", "2023-11-15", "2022-02-10", "CD", 4),
        (0.5, "2023-08-11", "2023-08-14", "2023-08-15", "2022-02-10", "CD", 4)]
    cssen = [r for r in rows if r["ticker"] == "CSSEN"]
    assert {(r["cash_amount"], r["declaration_date"], r["dividend_type"]) for r in cssen} == {
        (0.59375, "2020-09-09", "CD")}
    assert [r["ex_dividend_date"] for r in cssen] == [
        "2025-06-12", "2025-03-13", "2024-12-12", "2024-09-12", "2024-06-13", "2024-03-14",
        "2023-12-14", "2023-09-14"]


def test_ticker_filter_makes_one_query_per_ticker(
        httpserver: HTTPServer, loopback_settings: Settings, fake_clock: FakeClock) -> None:
    """tickers=[GOOGL, SHOP, GOOGL] asks each endpoint once per distinct ticker with ticker=."""
    for ticker in ("GOOGL", "SHOP"):  # the server filters the recorded rows, as Massive would
        for path, recorded in ((SPLITS, RECORDED_SPLITS), (DIVIDENDS, RECORDED_DIVIDENDS)):
            httpserver.expect_request(path, query_string={"ticker": ticker, "limit": "1000"}
                                      ).respond_with_json(
                page([r for r in recorded if r["ticker"] == ticker]))
    batch = run_fetch(loopback_settings, fake_clock, tickers=["GOOGL", "SHOP", "GOOGL"])
    for path in (SPLITS, DIVIDENDS):
        assert queries(httpserver, path) == [{"ticker": "GOOGL", "limit": "1000"},
                                             {"ticker": "SHOP", "limit": "1000"}]
    assert batch.splits["ticker"].tolist() == ["GOOGL", "SHOP", "SHOP"]
    assert batch.splits["execution_date"].tolist() == ["2022-07-18", "2022-06-29", "2022-06-22"]
    assert batch.dividends.empty


@pytest.mark.parametrize(("options", "expected"), [
    ({"start": date(2022, 6, 1), "end": date(2022, 6, 30)}, (
        {"execution_date.gte": "2022-06-01", "execution_date.lte": "2022-06-30",
         "limit": "1000"},
        {"ex_dividend_date.gte": "2022-06-01", "ex_dividend_date.lte": "2022-06-30",
         "limit": "1000"})),
    ({"start": date(2023, 1, 1)}, (
        {"execution_date.gte": "2023-01-01", "limit": "1000"},
        {"ex_dividend_date.gte": "2023-01-01", "limit": "1000"})),
    ({"end": date(2024, 12, 31), "tickers": ["CSSEN"]}, (
        {"ticker": "CSSEN", "execution_date.lte": "2024-12-31", "limit": "1000"},
        {"ticker": "CSSEN", "ex_dividend_date.lte": "2024-12-31", "limit": "1000"})),
], ids=["start-and-end", "start-only", "end-and-ticker"])
def test_dates_filter_execution_date_and_ex_dividend_date(
        httpserver: HTTPServer, loopback_settings: Settings, fake_clock: FakeClock,
        options: dict[str, Any], expected: tuple[dict[str, str], dict[str, str]]) -> None:
    """start/end become inclusive .gte/.lte bounds on each endpoint's own date field."""
    splits_query, dividends_query = expected
    httpserver.expect_request(SPLITS).respond_with_json(page([]))
    httpserver.expect_request(DIVIDENDS).respond_with_json(page([]))
    batch = run_fetch(loopback_settings, fake_clock, **options)
    assert queries(httpserver, SPLITS) == [splits_query]
    assert queries(httpserver, DIVIDENDS) == [dividends_query]
    assert (batch.splits.empty, batch.dividends.empty) == (True, True)


def test_unknown_fields_are_dropped_and_known_ones_kept(
        httpserver: HTTPServer, loopback_settings: Settings, fake_clock: FakeClock) -> None:
    """A recorded split plus an id and an unknown field keeps the id, drops the unknown field."""
    # Constructed: splits.json has no `id` (formats.md 2.1 lists it) and no extra fields.
    row = {**RECORDED_SPLITS[7], "id": "E-made-up", "adjustment_type": "reverse_split"}
    httpserver.expect_request(SPLITS).respond_with_json(page([row]))
    httpserver.expect_request(DIVIDENDS).respond_with_json(page([]))
    batch = run_fetch(loopback_settings, fake_clock)
    assert batch.splits.drop(columns="source_key").to_dict("records") == [
        {"id": "E-made-up", "execution_date": "2022-05-20", "split_from": 2, "split_to": 1,
         "ticker": "BRW"}]


@pytest.mark.parametrize(("body", "expected"), [
    (page([RECORDED_SPLITS[0], "GOOG"]), r"results\[1\] = 'GOOG', expected a split object"),
    ({"status": "OK", "request_id": "x"}, "has no results list"),
    ([RECORDED_SPLITS[0]], "has no results list"),
], ids=["element-not-object", "no-results", "not-an-envelope"])
def test_malformed_page_is_a_vendor_error_naming_the_url(
        httpserver: HTTPServer, loopback_settings: Settings, fake_clock: FakeClock,
        body: Any, expected: str) -> None:
    """A page without results, or with a non-object element, fails and names its URL."""
    httpserver.expect_request(SPLITS).respond_with_json(body)
    with pytest.raises(VendorResponseError, match=expected) as caught:
        run_fetch(loopback_settings, fake_clock)
    assert httpserver.url_for(SPLITS) + "?limit=1000" in str(caught.value)


def test_repeated_next_url_is_refused_instead_of_looping(
        httpserver: HTTPServer, loopback_settings: Settings, fake_clock: FakeClock) -> None:
    """A next_url pointing back at a page already read fails without asking for it again."""
    httpserver.expect_request(SPLITS).respond_with_json(
        page([], httpserver.url_for(SPLITS) + "?limit=1000"))
    with pytest.raises(VendorResponseError, match="repeats an earlier page"):
        run_fetch(loopback_settings, fake_clock)
    assert queries(httpserver, SPLITS) == [FIRST_PAGE]


def test_missing_key_fails_before_any_request(httpserver: HTTPServer) -> None:
    """Without MASSIVE_API_KEY nothing is requested and the error names the variable."""
    settings = Settings(massive_api_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(MissingCredentialError, match="MASSIVE_API_KEY"):
        fetch_corporate_actions(settings)
    assert httpserver.log == []


@pytest.mark.parametrize(("options", "expected"), [
    ({"tickers": "AAPL"}, r"parameter `tickers` is the string 'AAPL'"),
    ({"tickers": ["AAPL", ""]}, r"parameter `tickers` holds \[''\]"),
    ({"start": date(2024, 2, 1), "end": date(2024, 1, 31)}, r"parameter `end` is 2024-01-31"),
], ids=["bare-string", "empty-ticker", "end-before-start"])
def test_bad_parameters_fail_before_any_request(
        httpserver: HTTPServer, loopback_settings: Settings, options: dict[str, Any],
        expected: str) -> None:
    """A bare-string or empty ticker, or end before start, is an InputError and no request."""
    with pytest.raises(InputError, match=expected):
        fetch_corporate_actions(loopback_settings, **options)
    assert httpserver.log == []


def test_empty_ticker_list_fetches_nothing(httpserver: HTTPServer,
                                          loopback_settings: Settings) -> None:
    """tickers=[] asks for no ticker, so no request is made and both frames are empty."""
    batch = fetch_corporate_actions(loopback_settings, tickers=[])
    assert httpserver.log == []
    assert list(batch.splits.columns) == [*SPLIT_COLUMNS, "source_key"]
    assert (batch.splits.empty, batch.dividends.empty) == (True, True)


def test_default_client_uses_settings_and_their_rate_limit(
        httpserver: HTTPServer, loopback_settings: Settings, fake_key: str) -> None:
    """Without `http` the client comes from Settings; 0 calls per minute means no cap."""
    assert rate_limit_from_settings(Settings()) == RateLimit(5, 60.0)
    unthrottled = Settings(massive_api_key=fake_key,
                           massive_api_url=loopback_settings.massive_api_url,
                           massive_rest_calls_per_minute=0)
    assert rate_limit_from_settings(unthrottled) is None
    serve_recorded(httpserver, fake_key)
    batch = fetch_corporate_actions(unthrottled)  # a real clock, but nothing to wait for
    assert (len(batch.splits), len(batch.dividends)) == (10, 10)


def test_key_never_leaks_into_logs_errors_reprs_or_source_keys(
        httpserver: HTTPServer, loopback_settings: Settings, fake_key: str,
        fake_clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    """The header key and the apiKey echoed in next_url stay out of every text we produce."""
    caplog.set_level(logging.DEBUG)
    serve_recorded(httpserver, fake_key)
    batch = run_fetch(loopback_settings, fake_clock)
    texts = [*batch.splits["source_key"], *batch.dividends["source_key"], repr(batch)]
    httpserver.clear()
    httpserver.expect_request(SPLITS, query_string=FIRST_PAGE).respond_with_json(
        page([], f"{httpserver.url_for(SPLITS)}?cursor=p2&apiKey={fake_key}"))
    httpserver.expect_request(SPLITS, query_string={"cursor": "p2"}).respond_with_json(
        page(["x"]))  # the error names the page reached through the echoed-key next_url
    with massive_http(loopback_settings, clock=fake_clock.clock, sleep=fake_clock.sleep
                      ) as http, pytest.raises(VendorResponseError) as caught:
        fetch_corporate_actions(loopback_settings, http=http)
    texts += [str(caught.value), repr(caught.value), repr(http), repr(loopback_settings),
              *client_log_messages(caplog)]
    assert [t for t in texts if fake_key in t] == []
    assert all(fake_key not in request.full_path for request, _ in httpserver.log)
