"""HttpClient on a loopback server: retries, backoff, rate limit, JSON decoding, redaction."""

from __future__ import annotations

import logging
import socket

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from stocksdb.errors import RateLimitedError, VendorResponseError
from stocksdb.sources.http import HttpClient, RateLimit, RetryPolicy, redact_url
from tests.fix_http import FAKE_KEY, FakeClock, client_log_messages, vendor_bytes

AAPL_DETAILS = "massive/v3/reference/tickers/AAPL.json"


def make_client(base_url: str, clock: FakeClock, *, key: str = FAKE_KEY,
                rate_limit: RateLimit | None = None, attempts: int = 3) -> HttpClient:
    """A client with a bearer key, fake time and a short retry policy."""
    return HttpClient("massive", base_url, secret_headers={"Authorization": f"Bearer {key}"},
                      rate_limit=rate_limit, retry=RetryPolicy(attempts=attempts),
                      clock=clock.clock, sleep=clock.sleep)


def serve_recorded(httpserver: HTTPServer, path: str, relative: str) -> None:
    """Serve a recorded payload at `path` as the vendor would."""
    httpserver.expect_request(path).respond_with_data(
        vendor_bytes(relative), content_type="application/json")


def test_get_json_returns_recorded_payload_and_sends_bearer_key(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """The decoded payload comes back and the key travels in the Authorization header only."""
    httpserver.expect_request("/v3/reference/tickers/AAPL",
                              headers={"Authorization": f"Bearer {fake_key}"}).respond_with_data(
        vendor_bytes(AAPL_DETAILS), content_type="application/json")
    with make_client(httpserver.url_for("/"), fake_clock, key=fake_key) as client:
        payload = client.get_json("/v3/reference/tickers/AAPL")
    assert payload["results"]["composite_figi"] == "BBG000B9XRY4", payload
    assert fake_key not in httpserver.log[0][0].url


def test_429_with_retry_after_then_200_succeeds_after_the_advertised_wait(
        httpserver: HTTPServer, fake_clock: FakeClock) -> None:
    """A 429 with Retry-After: 7 is retried after 7 s (fake sleep) and the 200 is returned."""
    httpserver.expect_oneshot_request("/v3/reference/tickers/AAPL").respond_with_data(
        "", status=429, headers={"Retry-After": "7"})
    serve_recorded(httpserver, "/v3/reference/tickers/AAPL", AAPL_DETAILS)
    with make_client(httpserver.url_for("/"), fake_clock) as client:
        payload = client.get_json("/v3/reference/tickers/AAPL")
    assert payload["results"]["ticker"] == "AAPL"
    assert fake_clock.sleeps == [7.0], fake_clock.sleeps
    assert len(httpserver.log) == 2


def test_retry_after_is_capped_by_the_policy(httpserver: HTTPServer,
                                            fake_clock: FakeClock) -> None:
    """A vendor asking for an hour's wait is waited on for at most RetryPolicy.max_wait."""
    httpserver.expect_oneshot_request("/x").respond_with_data(
        "", status=429, headers={"Retry-After": "3600"})
    httpserver.expect_request("/x").respond_with_json({"ok": True})
    client = HttpClient("massive", httpserver.url_for("/"), clock=fake_clock.clock,
                        sleep=fake_clock.sleep, retry=RetryPolicy(max_wait=30.0))
    with client:
        assert client.get_json("/x") == {"ok": True}
    assert fake_clock.sleeps == [30.0]


def test_repeated_500s_end_in_vendor_response_error_after_n_attempts(
        httpserver: HTTPServer, fake_clock: FakeClock) -> None:
    """Three 500s with attempts=3 raise VendorResponseError after backoff waits of 1 s and 2 s."""
    httpserver.expect_request("/v3/reference/tickers").respond_with_data("boom", status=500)
    with make_client(httpserver.url_for("/"), fake_clock) as client, \
            pytest.raises(VendorResponseError) as caught:
        client.get_json("/v3/reference/tickers", {"market": "stocks"})
    assert not isinstance(caught.value, RateLimitedError)
    message = str(caught.value)
    assert "massive" in message and "HTTP 500" in message and "after 3 attempts" in message, \
        message
    assert "/v3/reference/tickers?market=stocks" in message, message
    assert len(httpserver.log) == 3
    assert fake_clock.sleeps == [1.0, 2.0]


def test_repeated_429s_end_in_rate_limited_error(httpserver: HTTPServer,
                                                 fake_clock: FakeClock) -> None:
    """A vendor that keeps answering 429 raises RateLimitedError naming the status."""
    httpserver.expect_request("/x").respond_with_data("", status=429)
    with make_client(httpserver.url_for("/"), fake_clock, attempts=2) as client, \
            pytest.raises(RateLimitedError, match="HTTP 429"):
        client.get_json("/x")
    assert len(httpserver.log) == 2


def test_client_error_is_not_retried(httpserver: HTTPServer, fake_clock: FakeClock) -> None:
    """A 401 fails at once and tells the user to check the key."""
    httpserver.expect_request("/x").respond_with_data("unknown API key", status=401)
    with make_client(httpserver.url_for("/"), fake_clock) as client, \
            pytest.raises(VendorResponseError, match="check the API key"):
        client.get_json("/x")
    assert len(httpserver.log) == 1 and fake_clock.sleeps == []


def test_404_is_none_for_get_json_or_none(httpserver: HTTPServer,
                                          fake_clock: FakeClock) -> None:
    """get_json_or_none turns a 404 into None without retrying."""
    httpserver.expect_request("/missing").respond_with_data("", status=404)
    with make_client(httpserver.url_for("/"), fake_clock) as client:
        assert client.get_json_or_none("/missing") is None
    assert len(httpserver.log) == 1


def test_transport_errors_are_retried_then_chained(fake_clock: FakeClock) -> None:
    """A closed loopback port is retried, then raises VendorResponseError from the httpx error."""
    with socket.socket() as sock:  # find a free port, then close it so nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with make_client(f"http://127.0.0.1:{port}", fake_clock) as client, \
            pytest.raises(VendorResponseError, match="could not be reached") as caught:
        client.get_json("/x")
    assert caught.value.__cause__ is not None
    assert fake_clock.sleeps == [1.0, 2.0]


def test_non_json_body_is_a_vendor_response_error_chained_from_the_decoder(
        httpserver: HTTPServer, fake_clock: FakeClock) -> None:
    """An HTML page where JSON was expected raises VendorResponseError from the ValueError."""
    httpserver.expect_request("/x").respond_with_data("<html>maintenance</html>",
                                                      content_type="text/html")
    with make_client(httpserver.url_for("/"), fake_clock) as client, \
            pytest.raises(VendorResponseError, match="non-JSON") as caught:
        client.get_json("/x")
    assert isinstance(caught.value.__cause__, ValueError)


def test_rate_limit_spaces_consecutive_calls(httpserver: HTTPServer,
                                             fake_clock: FakeClock) -> None:
    """RateLimit(2 per 1 s) makes later calls wait for the rest of each 0.5 s interval."""
    httpserver.expect_request("/x").respond_with_json({})
    limit = RateLimit(calls=2, per_seconds=1.0)
    with make_client(httpserver.url_for("/"), fake_clock, rate_limit=limit) as client:
        client.get_json("/x")
        client.get_json("/x")
        fake_clock.now += 0.2  # time spent elsewhere counts towards the interval
        client.get_json("/x")
        fake_clock.now += 1.0  # an idle client owes no wait
        client.get_json("/x")
    assert fake_clock.sleeps == pytest.approx([0.5, 0.3]), fake_clock.sleeps
    assert len(httpserver.log) == 4


def test_absolute_url_on_another_origin_is_refused(httpserver: HTTPServer,
                                                   fake_clock: FakeClock) -> None:
    """A next link pointing at another host is refused before any credential is sent."""
    with make_client(httpserver.url_for("/"), fake_clock) as client, \
            pytest.raises(VendorResponseError, match="outside the base URL"):
        client.get_json("http://203.0.113.9/v3/reference/tickers?cursor=abc")
    assert httpserver.log == []


def test_secret_never_in_repr_errors_or_logs(httpserver: HTTPServer, fake_clock: FakeClock,
                                             fake_key: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """The key sent as header and as apiKey query value stays out of repr, errors and logs."""
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request("/x").respond_with_response(
        Response(f"bad key {fake_key}", status=500))
    with make_client(httpserver.url_for("/"), fake_clock, key=fake_key) as client:
        with pytest.raises(VendorResponseError) as server_error:
            client.get_json(f"/x?cursor=abc&apiKey={fake_key}")
        with pytest.raises(VendorResponseError) as decode_error:
            client.get_json(f"/y?apiKey={fake_key}")  # no handler: pytest-httpserver's 500
        texts = [repr(client), str(client), str(server_error.value), str(decode_error.value)]
    texts += client_log_messages(caplog)
    assert any("apiKey=***" in t for t in texts), texts
    assert any(t.startswith("HTTP Request:") for t in texts), "httpx's own log was not captured"
    leaks = [t for t in texts if fake_key in t]
    assert not leaks, leaks


def test_redact_url_masks_secret_params_case_insensitively() -> None:
    """apiKey, api_key and apikey values become *** and other parameters stay."""
    url = "https://api.example/x?cursor=c1&apiKey=K1&api_key=K2&APIKEY=K3&limit=10"
    assert redact_url(url) == ("https://api.example/x?cursor=c1&apiKey=***&api_key=***"
                               "&APIKEY=***&limit=10")


def test_user_agent_carries_the_version_in_pyproject(httpserver: HTTPServer,
                                                      fake_clock: FakeClock) -> None:
    """Requests say `stocksdb/<version>`, the version being the one pyproject.toml declares."""
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["version"]
    httpserver.expect_request("/v3/reference/tickers/AAPL").respond_with_data(
        vendor_bytes(AAPL_DETAILS), content_type="application/json")
    with make_client(httpserver.url_for("/"), fake_clock) as client:
        client.get_json("/v3/reference/tickers/AAPL")
    assert httpserver.log[0][0].headers["User-Agent"] == f"stocksdb/{declared}"


def test_token_bucket_allows_a_burst_then_waits_for_each_token(fake_clock: FakeClock) -> None:
    """5 calls a minute with a burst of 5 (Alpha Vantage's free tier): five requests go at
    once, the sixth waits 12 s (60 / 5), and after a 30 s pause two tokens (not more) are
    back, so of three quick calls only the third waits, another 6 s (12 - the 6 s earned)."""
    from stocksdb.sources.http import _Spacing

    bucket = _Spacing(RateLimit(5, 60.0, burst=5), fake_clock.clock, fake_clock.sleep)
    for _ in range(5):
        bucket.wait()
    assert fake_clock.sleeps == []
    bucket.wait()
    assert fake_clock.sleeps == [12.0]
    fake_clock.now += 30.0
    bucket.wait()
    bucket.wait()
    assert fake_clock.sleeps == [12.0]
    bucket.wait()
    assert fake_clock.sleeps == [12.0, pytest.approx(6.0)]
