"""AlphaVantageProvider against recorded Alpha Vantage answers served on a loopback server."""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from stocksdb.config import Settings
from stocksdb.errors import (
    InputError,
    MissingCredentialError,
    RateLimitedError,
    VendorResponseError,
)
from stocksdb.foundation.base import BAR_COLUMNS, Dividend, SymbolEvents, VendorFrame
from stocksdb.foundation.vendors import get_provider
from stocksdb.sources.alpha_vantage import (
    AlphaVantageProvider,
    choose_outputsize,
    parse_daily_series,
    parse_notice,
)
from tests.fix_http import FakeClock, client_log_messages, load_vendor_json, vendor_bytes

IBM_ADJUSTED = "alpha_vantage/ibm_daily_adjusted.json"
# The recorded payload's "3. Last Refreshed"; its 100 rows are the compact answer of that day.
RECORDED_ON = date(2024, 6, 7)
NOTICES: dict[str, dict[str, str]] = load_vendor_json("alpha_vantage/non_data_answers.json")


def make_provider(httpserver: HTTPServer, clock: FakeClock, key: str, *,
                  adjusted: bool = True, today: date = RECORDED_ON) -> AlphaVantageProvider:
    """A provider aimed at the loopback server, on fake time, with a fixed 'today'."""
    settings = Settings(alphavantage_url=httpserver.url_for("/").rstrip("/"),
                        alphavantage_api_key=key)
    return AlphaVantageProvider(settings, adjusted=adjusted, clock=clock.clock,
                                sleep=clock.sleep, today=lambda: today)


def serve_by_symbol(httpserver: HTTPServer, answers: dict[str, bytes | str]) -> None:
    """Answer /query with the body registered for the requested `symbol` (HTTP 200, JSON)."""
    def handler(request: Request) -> Response:
        return Response(answers[request.args["symbol"]], content_type="application/json")
    httpserver.expect_request("/query").respond_with_handler(handler)


def serve_in_turn(httpserver: HTTPServer, *bodies: Any) -> None:
    """Answer successive /query requests with `bodies` in order (dicts are sent as JSON)."""
    for body in bodies:
        data = body if isinstance(body, bytes) else json.dumps(body)
        httpserver.expect_ordered_request("/query").respond_with_data(
            data, content_type="application/json")


def fetch_ibm(httpserver: HTTPServer, clock: FakeClock, key: str, start: date,
              end: date) -> VendorFrame:
    """IBM through the adjusted function, the recorded payload served."""
    serve_by_symbol(httpserver, {"IBM": vendor_bytes(IBM_ADJUSTED)})
    return make_provider(httpserver, clock, key).fetch(["ibm"], start, end)


def bar(frame: VendorFrame, day: str) -> dict[str, Any]:
    """The bar of `day` (YYYY-MM-DD) as a dict."""
    rows = frame.bars[frame.bars["ts"] == pd.Timestamp(day, tz="UTC")]
    assert len(rows) == 1, rows
    return dict(rows.iloc[0])


def test_ibm_adjusted_becomes_raw_bars_with_adj_close_and_events(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """All 100 recorded rows: raw OHLCV, `5. adjusted close` as adj_close, ts at midnight UTC,
    the two dividends as events and no split."""
    frame = fetch_ibm(httpserver, fake_clock, fake_key, date(2024, 1, 17), RECORDED_ON)
    assert (frame.vendor, frame.price_basis, frame.missing, frame.dropped) == (
        "alpha_vantage", "raw", {}, {})
    assert list(frame.bars.columns) == list(BAR_COLUMNS)
    assert len(frame.bars) == 100
    # "2024-01-17" (last entry of the payload): 166.79 / 167.82 / 165.495 / 166.08, adjusted
    # close 162.961173543364, volume 4288604.
    assert bar(frame, "2024-01-17") == {
        "ts": pd.Timestamp("2024-01-17T00:00:00Z"), "symbol": "IBM", "open": 166.79,
        "high": 167.82, "low": 165.495, "close": 166.08, "volume": 4288604.0,
        "adj_close": 162.961173543364, "vendor": "alpha_vantage"}
    # "2024-02-08", the ex-date of the 1.66 dividend: close 184.36, adjusted 182.526719066333.
    assert (bar(frame, "2024-02-08")["close"], bar(frame, "2024-02-08")["adj_close"]) == (
        184.36, 182.526719066333)
    assert frame.events == {"IBM": SymbolEvents(
        dividends=(Dividend(date(2024, 2, 8), 1.66), Dividend(date(2024, 5, 9), 1.67)))}


def test_bars_and_events_are_cut_to_the_window(httpserver: HTTPServer, fake_clock: FakeClock,
                                               fake_key: str) -> None:
    """February 2024 only: its 20 recorded sessions and the 2024-02-08 dividend."""
    frame = fetch_ibm(httpserver, fake_clock, fake_key, date(2024, 2, 1), date(2024, 2, 29))
    days = [ts.date().isoformat() for ts in frame.bars["ts"]]
    assert (len(days), days[0], days[-1]) == (20, "2024-02-01", "2024-02-29"), days
    # "2024-02-29": close 185.03; "2024-02-01": open 183.63.
    assert (frame.bars["close"].iloc[-1], frame.bars["open"].iloc[0]) == (185.03, 183.63)
    assert frame.events["IBM"].dividends == (Dividend(date(2024, 2, 8), 1.66),)


def test_request_names_function_symbol_size_and_key(httpserver: HTTPServer,
                                                    fake_clock: FakeClock,
                                                    fake_key: str) -> None:
    """One GET /query per symbol with the documented parameters (the key as `apikey`)."""
    fetch_ibm(httpserver, fake_clock, fake_key, date(2024, 1, 17), RECORDED_ON)
    assert [dict(r.args) for r, _ in httpserver.log] == [{
        "function": "TIME_SERIES_DAILY_ADJUSTED", "symbol": "IBM", "outputsize": "compact",
        "datatype": "json", "apikey": fake_key}]


def test_free_daily_function_is_raw_without_adj_close_or_events(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """TIME_SERIES_DAILY (the default) reads `5. volume`; adj_close is NaN and no events."""
    # No TIME_SERIES_DAILY recording exists; this answer is built from the IBM rows with the
    # free function's documented fields (1.-4. prices, "5. volume"), values unchanged.
    recorded = load_vendor_json(IBM_ADJUSTED)["Time Series (Daily)"]
    daily = {"Meta Data": {"1. Information": "Daily Prices (open, high, low, close) and Volumes",
                           "2. Symbol": "IBM"},
             "Time Series (Daily)": {
                 day: {**{k: row[k] for k in ("1. open", "2. high", "3. low", "4. close")},
                       "5. volume": row["6. volume"]} for day, row in recorded.items()}}
    serve_by_symbol(httpserver, {"IBM": json.dumps(daily)})
    frame = make_provider(httpserver, fake_clock, fake_key, adjusted=False).fetch(
        ["IBM"], date(2024, 6, 3), RECORDED_ON)
    assert httpserver.log[0][0].args["function"] == "TIME_SERIES_DAILY"
    assert (frame.price_basis, frame.events, len(frame.bars)) == ("raw", {}, 5)
    # "2024-06-07": close 170.01, volume 3475495.
    assert (bar(frame, "2024-06-07")["close"], bar(frame, "2024-06-07")["volume"]) == (
        170.01, 3475495.0)
    assert frame.bars["adj_close"].isna().all()


@pytest.mark.parametrize(("start", "size"), [
    (date(2024, 1, 17), "compact"),   # exactly the 100 XNYS sessions up to 2024-06-07
    (date(2024, 1, 16), "full"),      # 101 sessions
    (date(2020, 1, 2), "full"),       # short window, but far behind the latest 100 sessions
    (date(1985, 1, 2), "full"),       # before the calendar
], ids=["100-sessions", "101-sessions", "old-window", "pre-calendar"])
def test_outputsize_is_compact_only_when_the_latest_100_sessions_reach_start(
        start: date, size: str) -> None:
    """compact counts back from today, so the window's start decides, not its length."""
    assert choose_outputsize(start, RECORDED_ON) == size


def test_note_throttle_waits_then_retries(httpserver: HTTPServer, fake_clock: FakeClock,
                                          fake_key: str) -> None:
    """A `Note` (5 calls a minute) is retried after 15 s of fake time; the data then parses."""
    serve_in_turn(httpserver, NOTICES["note_call_frequency"], vendor_bytes(IBM_ADJUSTED))
    frame = make_provider(httpserver, fake_clock, fake_key).fetch(
        ["IBM"], date(2024, 1, 17), RECORDED_ON)
    assert len(frame.bars) == 100 and fake_clock.sleeps == [15.0], fake_clock.sleeps


def test_throttle_beyond_the_budget_is_rate_limited(httpserver: HTTPServer,
                                                    fake_clock: FakeClock,
                                                    fake_key: str) -> None:
    """Four `Note` answers: waits of 15, 30, 60 s, then RateLimitedError naming the function."""
    serve_in_turn(httpserver, *[NOTICES["note_call_frequency"]] * 4)
    provider = make_provider(httpserver, fake_clock, fake_key)
    with pytest.raises(RateLimitedError, match="TIME_SERIES_DAILY_ADJUSTED.*after 4 attempts"):
        provider.fetch(["IBM"], date(2024, 1, 17), RECORDED_ON)
    assert fake_clock.sleeps == [15.0, 30.0, 60.0]


def test_daily_quota_fails_at_once(httpserver: HTTPServer, fake_clock: FakeClock,
                                   fake_key: str) -> None:
    """The 25-a-day `Information` is not waited on: one request, no sleep, a clear error."""
    serve_in_turn(httpserver, NOTICES["information_daily_limit"])
    with pytest.raises(RateLimitedError, match="daily request quota is spent"):
        make_provider(httpserver, fake_clock, fake_key).fetch(
            ["IBM"], date(2024, 1, 17), RECORDED_ON)
    assert (len(httpserver.log), fake_clock.sleeps) == (1, [])


@pytest.mark.parametrize(("notice", "adjusted", "start", "expected"), [
    ("information_premium_endpoint", True, date(2024, 1, 17),
     "TIME_SERIES_DAILY_ADJUSTED needs a premium key; use adjusted=False"),
    ("information_outputsize_full", False, date(2023, 1, 3),
     "refused TIME_SERIES_DAILY for 'IBM'.*outputsize=full"),
    ("error_message_apikey", False, date(2024, 1, 17), "check ALPHAVANTAGE_API_KEY"),
], ids=["premium-endpoint", "premium-outputsize", "bad-key"])
def test_refusals_name_the_function_and_the_fix(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str, notice: str,
        adjusted: bool, start: date, expected: str) -> None:
    """Premium and bad-key answers are errors, not retried, that say what to change."""
    serve_in_turn(httpserver, NOTICES[notice])
    provider = make_provider(httpserver, fake_clock, fake_key, adjusted=adjusted)
    with pytest.raises(VendorResponseError, match=expected):
        provider.fetch(["IBM"], start, RECORDED_ON)
    assert (len(httpserver.log), fake_clock.sleeps) == (1, [])


def test_unknown_symbol_is_missing_and_the_others_still_load(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """`Error Message` (Invalid API call) for one symbol: it is missing, IBM still loads."""
    serve_by_symbol(httpserver, {"IBM": vendor_bytes(IBM_ADJUSTED), "NOSUCH": json.dumps(
        NOTICES["error_message_invalid_call"])})
    frame = make_provider(httpserver, fake_clock, fake_key).fetch(
        ["NOSUCH", "IBM"], date(2024, 1, 17), RECORDED_ON)
    assert set(frame.bars["symbol"]) == {"IBM"} and len(frame.bars) == 100
    assert list(frame.missing) == ["NOSUCH"]
    assert "TIME_SERIES_DAILY_ADJUSTED does not know symbol 'NOSUCH'" in frame.missing["NOSUCH"]
    assert "Invalid API call" in frame.missing["NOSUCH"]


def test_every_non_data_answer_is_recognised() -> None:
    """Each recorded non-data text maps to its kind; a data payload is no notice."""
    kinds = {name: getattr(parse_notice(body), "kind", None) for name, body in NOTICES.items()}
    assert kinds == {
        "note_call_frequency": "throttled", "information_daily_limit": "daily_quota",
        "information_premium_endpoint": "premium", "information_outputsize_full": "premium",
        "error_message_invalid_call": "invalid_call", "error_message_apikey": "bad_key"}
    assert parse_notice(load_vendor_json(IBM_ADJUSTED)) is None


def test_six_symbols_wait_for_the_sixth_token(httpserver: HTTPServer, fake_clock: FakeClock,
                                              fake_key: str) -> None:
    """5 calls a minute with a burst of 5: the sixth request waits 12 s of fake time."""
    names = ["IBM", "A", "B", "C", "D", "E"]
    serve_by_symbol(httpserver, {n: json.dumps(NOTICES["error_message_invalid_call"])
                                 for n in names})
    frame = make_provider(httpserver, fake_clock, fake_key).fetch(
        names, date(2024, 1, 17), RECORDED_ON)
    assert sorted(frame.missing) == sorted(names)
    assert fake_clock.sleeps == [pytest.approx(12.0)]


def test_missing_key_fails_before_any_request(httpserver: HTTPServer) -> None:
    """Without ALPHAVANTAGE_API_KEY the registry refuses to build the provider."""
    settings = Settings(alphavantage_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(MissingCredentialError, match="ALPHAVANTAGE_API_KEY"):
        get_provider("alpha_vantage", settings)
    assert httpserver.log == []


def test_registry_builds_the_free_function(fake_key: str) -> None:
    """`--vendor alpha_vantage` gets TIME_SERIES_DAILY (free) and declares raw prices."""
    provider = get_provider("alpha_vantage", Settings(alphavantage_api_key=fake_key))
    assert isinstance(provider, AlphaVantageProvider)
    assert (provider.name, provider.price_basis, provider.function) == (
        "alpha_vantage", "raw", "TIME_SERIES_DAILY")


def test_key_never_reaches_logs_or_errors(httpserver: HTTPServer, fake_clock: FakeClock,
                                          fake_key: str,
                                          caplog: pytest.LogCaptureFixture) -> None:
    """The key sent as `apikey` stays out of logs, errors and repr, even when the vendor
    echoes it in a throttle note, in a daily-quota note and in a 500 body."""
    caplog.set_level(logging.DEBUG)
    echo = {"Note": f"We have detected your API key as {fake_key}; our standard API call "
                    "frequency is 5 calls per minute"}
    quota = {"Information": f"We have detected your API key as {fake_key} and our standard "
                            "API rate limit is 25 requests per day."}
    serve_in_turn(httpserver, echo, quota)
    provider = make_provider(httpserver, fake_clock, fake_key)
    texts = [repr(provider)]
    with pytest.raises(RateLimitedError) as quota_error:
        provider.fetch(["IBM"], date(2024, 1, 17), RECORDED_ON)
    httpserver.clear()
    httpserver.expect_request("/query").respond_with_data(f"boom apikey {fake_key}", status=500)
    with pytest.raises(VendorResponseError) as server_error:
        provider.fetch(["IBM"], date(2024, 1, 17), RECORDED_ON)
    texts += [str(quota_error.value), str(server_error.value), *client_log_messages(caplog)]
    assert "HTTP 500" in str(server_error.value) and "daily" in str(quota_error.value)
    assert [t for t in texts if fake_key in t] == []


def test_unparseable_prices_are_dropped_and_counted(httpserver: HTTPServer,
                                                    fake_clock: FakeClock,
                                                    fake_key: str) -> None:
    """A row whose close is not a number is dropped and counted, never read as zero."""
    payload = load_vendor_json(IBM_ADJUSTED)
    payload["Time Series (Daily)"]["2024-06-07"]["4. close"] = ""  # edited: the case under test
    serve_by_symbol(httpserver, {"IBM": json.dumps(payload)})
    frame = make_provider(httpserver, fake_clock, fake_key).fetch(
        ["IBM"], date(2024, 6, 3), RECORDED_ON)
    assert (len(frame.bars), frame.dropped) == (4, {"IBM": 1})
    assert not math.isnan(frame.bars["close"].iloc[-1])
    assert frame.bars["ts"].iloc[-1] == datetime(2024, 6, 6, tzinfo=UTC)


def test_rows_without_the_functions_fields_are_refused() -> None:
    """Adjusted rows are required to carry `5. adjusted close` .. `8. split coefficient`."""
    row = load_vendor_json(IBM_ADJUSTED)["Time Series (Daily)"]["2024-06-07"]
    daily_row = {k: row[k] for k in ("1. open", "2. high", "3. low", "4. close")}
    with pytest.raises(VendorResponseError, match="lack field"):
        parse_daily_series({"Time Series (Daily)": {"2024-06-07": daily_row}}, "IBM",
                           adjusted=True)


def test_window_ending_before_it_starts_is_refused_before_any_request(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """end < start is an InputError naming `end`; nothing is requested."""
    with pytest.raises(InputError, match="parameter `end`"):
        make_provider(httpserver, fake_clock, fake_key).fetch(
            ["IBM"], RECORDED_ON, date(2024, 1, 17))
    assert httpserver.log == []
