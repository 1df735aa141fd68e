"""The yahoo provider against recorded chart API v8 answers served on a loopback server."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from stocksdb.config import Settings
from stocksdb.errors import InputError, VendorResponseError
from stocksdb.foundation.base import BAR_COLUMNS, Dividend, Split, SymbolEvents, VendorFrame
from stocksdb.foundation.vendors import get_provider
from stocksdb.sources.http import USER_AGENT, RateLimit
from stocksdb.sources.yahoo import YahooProvider
from tests.fix_http import FakeClock, load_vendor_json

AAPL_FILE = "yahoo/chart-AAPL-2020-08-31-to-2020-11-07.json"
EURUSD_FILE = "yahoo/chart-EURUSD=X-2020-01-01-to-2020-01-03.json"
NO_TIMESTAMP_FILE = "yahoo/chart-notimestamp-weird-quote.fake.json"
CHART = "/v8/finance/chart/"
# Documented in shared/realdata/README.md section 4a, not recorded: Yahoo's answer (HTTP 404)
# for a symbol it does not know.
NOT_FOUND_BODY = {"chart": {"result": None, "error": {
    "code": "Not Found", "description": "No data found, symbol may be delisted"}}}


def serve_recording(httpserver: HTTPServer, symbol: str, relative: str,
                    body: Any = None) -> None:
    """Answer GET /v8/finance/chart/<symbol> as recorded: the status and bodyJson of the
    node-yahoo-finance2 recording (or `body`, a variant of it built by the test)."""
    response = load_vendor_json(relative)["response"]
    httpserver.expect_request(CHART + symbol).respond_with_json(
        response["bodyJson"] if body is None else body, status=response["status"])


def recorded_body(relative: str) -> Any:
    """A deep copy of a recording's bodyJson, for tests that build a variant of it."""
    return copy.deepcopy(load_vendor_json(relative)["response"]["bodyJson"])


@pytest.fixture
def provider(httpserver: HTTPServer, fake_clock: FakeClock) -> YahooProvider:
    """The yahoo provider on the loopback server, at the default 2 requests a second."""
    return YahooProvider(httpserver.url_for("/").rstrip("/"), clock=fake_clock.clock,
                         sleep=fake_clock.sleep)


@pytest.fixture
def aapl(httpserver: HTTPServer, provider: YahooProvider) -> VendorFrame:
    """The recorded AAPL chart, fetched for the sessions it covers."""
    serve_recording(httpserver, "AAPL", AAPL_FILE)
    return provider.fetch(["AAPL"], date(2020, 8, 31), date(2020, 11, 6))


def test_aapl_2020_chart_becomes_49_split_adjusted_bars(aapl: VendorFrame) -> None:
    """49 bars, canonical columns, UTC session opens; values are the recorded arrays."""
    bars = aapl.bars
    assert (aapl.vendor, aapl.price_basis) == ("yahoo", "split_adjusted")
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert len(bars) == 49, bars  # 49 entries in result[0].timestamp
    assert str(bars["ts"].dt.tz) == "UTC"
    first, last = bars.iloc[0].to_dict(), bars.iloc[-1]
    # index 0 of timestamp / quote[0] / adjclose[0]: 1598880600 = 2020-08-31 13:30Z (09:30 NY)
    assert first == {
        "ts": pd.Timestamp("2020-08-31 13:30", tz="UTC"), "symbol": "AAPL",
        "open": 127.58000183105469, "high": 131.0, "low": 126.0, "close": 129.0399932861328,
        "volume": 225702700.0, "adj_close": 125.82673645019531, "vendor": "yahoo"}, first
    # index 48: 1604673000 = 2020-11-06 14:30Z (09:30 NY after the clocks changed)
    assert (last["ts"], last["close"], last["adj_close"]) == (
        pd.Timestamp("2020-11-06 14:30", tz="UTC"), 118.69000244140625, 115.93415069580078)
    assert dict(aapl.missing) == {} and dict(aapl.dropped) == {}


def test_aapl_events_hold_the_4_to_1_split_and_the_0_205_dividend(aapl: VendorFrame) -> None:
    """events.splits 1598880600 {numerator 4, denominator 1} and events.dividends 1604673000
    {amount 0.205} become a 4.0 split on 2020-08-31 and a 0.205 dividend on 2020-11-06."""
    assert dict(aapl.events) == {"AAPL": SymbolEvents(
        dividends=(Dividend(date(2020, 11, 6), 0.205),),
        splits=(Split(date(2020, 8, 31), 4.0),))}


def test_request_asks_a_day_either_side_for_dividends_and_splits(
        aapl: VendorFrame, httpserver: HTTPServer) -> None:
    """period1 2020-08-30 00:00Z, period2 2020-11-08 00:00Z, daily, div|split, our agent."""
    (request, _), = httpserver.log
    assert dict(request.args) == {"period1": "1598745600", "period2": "1604793600",
                                  "interval": "1d", "events": "div|split"}
    assert request.headers["User-Agent"] == USER_AGENT


def test_bars_and_events_are_cut_to_the_window_by_exchange_date(
        httpserver: HTTPServer, provider: YahooProvider) -> None:
    """September 2020 of the recording: indexes 1..21 (09-01 .. 09-30), no split (08-31)."""
    serve_recording(httpserver, "AAPL", AAPL_FILE)
    frame = provider.fetch(["AAPL"], date(2020, 9, 1), date(2020, 9, 30))
    assert len(frame.bars) == 21, frame.bars
    assert frame.bars["ts"].iloc[[0, -1]].tolist() == [
        pd.Timestamp("2020-09-01 13:30", tz="UTC"), pd.Timestamp("2020-09-30 13:30", tz="UTC")]
    assert frame.events["AAPL"] == SymbolEvents()


def test_fx_pair_is_url_encoded_and_has_no_volume(httpserver: HTTPServer,
                                                  provider: YahooProvider) -> None:
    """EURUSD=X (asked as eurusd=x) goes out as EURUSD%3DX; its 3 weekday bars keep Yahoo's
    prices and its recorded volumes (all 0: Yahoo has no FX volume) become NaN."""
    serve_recording(httpserver, "EURUSD=X", EURUSD_FILE)
    frame = provider.fetch(["eurusd=x"], date(2020, 1, 1), date(2020, 1, 3))
    (request, _), = httpserver.log
    assert request.environ["REQUEST_URI"].startswith(CHART + "EURUSD%3DX?"), request.environ
    bars = frame.bars
    # timestamp 1577836800, 1577923200, 1578009600: midnight UTC (= London) Wed..Fri
    assert bars["ts"].tolist() == [pd.Timestamp(f"2020-01-0{d}", tz="UTC") for d in (1, 2, 3)]
    assert set(bars["symbol"]) == {"EURUSD=X"}
    # quote[0].close as recorded
    assert bars["close"].tolist() == [1.1220825910568237, 1.1220825910568237,
                                      1.1171437501907349]
    assert bars["volume"].isna().all(), bars
    assert frame.events == {"EURUSD=X": SymbolEvents()}


def test_null_entries_are_dropped_and_counted(httpserver: HTTPServer,
                                              provider: YahooProvider) -> None:
    """A null close in the recorded EURUSD=X arrays (set by the test) drops that bar only."""
    body = recorded_body(EURUSD_FILE)
    body["chart"]["result"][0]["indicators"]["quote"][0]["close"][1] = None
    serve_recording(httpserver, "EURUSD=X", EURUSD_FILE, body)
    frame = provider.fetch(["EURUSD=X"], date(2020, 1, 1), date(2020, 1, 3))
    assert frame.bars["ts"].dt.day.tolist() == [1, 3]
    assert dict(frame.dropped) == {"EURUSD=X": 1}
    assert dict(frame.missing) == {}


def test_chart_without_timestamps_is_missing_not_an_error(httpserver: HTTPServer,
                                                          provider: YahooProvider) -> None:
    """The library's no-timestamp edge case (quote arrays, no `timestamp`) is no data."""
    serve_recording(httpserver, "AAPL", NO_TIMESTAMP_FILE)
    frame = provider.fetch(["AAPL"], date(2020, 1, 1), date(2020, 1, 3))
    assert frame.bars.empty and list(frame.bars.columns) == list(BAR_COLUMNS)
    assert list(frame.missing) == ["AAPL"]
    assert "no timestamps" in frame.missing["AAPL"]
    assert dict(frame.events) == {}


def test_404_is_missing_and_the_other_symbols_still_arrive(httpserver: HTTPServer,
                                                           provider: YahooProvider) -> None:
    """^GSPC (URL-encoded as %5EGSPC) answers 404; AAPL in the same fetch is delivered."""
    httpserver.expect_request(CHART + "^GSPC").respond_with_json(NOT_FOUND_BODY, status=404)
    serve_recording(httpserver, "AAPL", AAPL_FILE)
    frame = provider.fetch(["^GSPC", "AAPL"], date(2020, 8, 31), date(2020, 11, 6))
    assert httpserver.log[0][0].environ["REQUEST_URI"].startswith(CHART + "%5EGSPC?")
    assert list(frame.missing) == ["^GSPC"]
    assert "404" in frame.missing["^GSPC"]
    assert set(frame.bars["symbol"]) == {"AAPL"} and len(frame.bars) == 49
    assert list(frame.events) == ["AAPL"]


def test_error_answer_with_http_200_is_missing_with_yahoos_words(
        httpserver: HTTPServer, provider: YahooProvider) -> None:
    """The documented error object, sent with 200, is no data and quotes the description."""
    httpserver.expect_request(CHART + "ZZZZ").respond_with_json(NOT_FOUND_BODY)
    frame = provider.fetch(["ZZZZ"], date(2020, 1, 1), date(2020, 1, 3))
    assert "No data found, symbol may be delisted" in frame.missing["ZZZZ"]


def test_429_is_retried_and_symbols_are_spaced_at_two_a_second(
        httpserver: HTTPServer, provider: YahooProvider, fake_clock: FakeClock) -> None:
    """A 429 waits 1 s (backoff) and retries; each request waits for its rate token."""
    httpserver.expect_oneshot_request(CHART + "AAPL").respond_with_data("", status=429)
    serve_recording(httpserver, "AAPL", AAPL_FILE)
    serve_recording(httpserver, "EURUSD=X", EURUSD_FILE)
    frame = provider.fetch(["AAPL", "EURUSD=X"], date(2020, 1, 1), date(2020, 11, 6))
    assert len(frame.bars) == 49 + 3
    # retry backoff 1.0 s refills the bucket; the EURUSD request then waits half a second
    assert fake_clock.sleeps == [1.0, 0.5], fake_clock.sleeps


def test_malformed_answer_is_a_vendor_error(httpserver: HTTPServer,
                                            provider: YahooProvider) -> None:
    """A chart whose close array is shorter than its timestamps is refused, not guessed."""
    body = recorded_body(EURUSD_FILE)
    body["chart"]["result"][0]["indicators"]["quote"][0]["close"].pop()
    serve_recording(httpserver, "EURUSD=X", EURUSD_FILE, body)
    with pytest.raises(VendorResponseError, match=r"close .*expected 3 numbers"):
        provider.fetch(["EURUSD=X"], date(2020, 1, 1), date(2020, 1, 3))


def test_bad_window_or_interval_fails_before_any_request(httpserver: HTTPServer,
                                                         provider: YahooProvider) -> None:
    """end before start, or a 1h interval, is an InputError naming the parameter."""
    with pytest.raises(InputError, match="parameter `end`"):
        provider.fetch(["AAPL"], date(2020, 2, 1), date(2020, 1, 1))
    with pytest.raises(InputError, match="parameter `interval`"):
        provider.fetch(["AAPL"], date(2020, 1, 1), date(2020, 2, 1), "1h")  # type: ignore[arg-type]
    assert httpserver.log == []


def test_registry_builds_yahoo_from_settings(httpserver: HTTPServer) -> None:
    """--vendor yahoo is the provider on Settings.yahoo_url at 2 requests a second."""
    made = get_provider("yahoo", Settings(yahoo_url="http://127.0.0.1:9"))
    assert isinstance(made, YahooProvider)
    assert (made.name, made.base_url, made.rate_limit) == (
        "yahoo", "http://127.0.0.1:9", RateLimit(2, 1.0))

