"""OpenFIGI mapping client against recorded /v3/mapping answers served on loopback."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from pytest_httpserver import HTTPServer

from stocksdb.config import Settings
from stocksdb.errors import VendorResponseError
from stocksdb.sources.openfigi import MappingResult, OpenFigiClient
from tests.fix_http import FAKE_KEY, FakeClock, vendor_bytes

# Not recorded anywhere we can copy from: the documented "no match" element
# (reference/formats.md section 3, OpenFIGI/api-examples openfigi_api.py).
NOT_FOUND_ANSWER = json.dumps([{"warning": "No identifier found."}])


def jobs(*tickers: str) -> list[dict[str, str]]:
    """The request body map_tickers must send for `tickers`."""
    return [{"idType": "TICKER", "idValue": t, "exchCode": "US"} for t in tickers]


def serve_mapping(httpserver: HTTPServer, tickers: Sequence[str], body: str | bytes) -> None:
    """Answer the mapping request for exactly `tickers` with `body`."""
    httpserver.expect_request("/v3/mapping", method="POST", json=jobs(*tickers)
                              ).respond_with_data(body, content_type="application/json")


def make_client(httpserver: HTTPServer, clock: FakeClock, *, key: str | None = None,
                batch_size: int | None = None) -> OpenFigiClient:
    """An OpenFIGI client on the loopback server with fake time."""
    settings = Settings(openfigi_api_url=httpserver.url_for("/").rstrip("/"),
                        openfigi_api_key=key)
    return OpenFigiClient.from_settings(settings, batch_size=batch_size, clock=clock.clock,
                                        sleep=clock.sleep)


def test_bulk_answer_takes_the_us_composite_row_of_each_job(httpserver: HTTPServer,
                                                          fake_clock: FakeClock) -> None:
    """IBM and AAPL map to the FIGIs of their exchCode 'US' rows, aligned by index."""
    serve_mapping(httpserver, ["IBM", "AAPL"], vendor_bytes("openfigi/mapping/bulk_request.json"))
    with make_client(httpserver, fake_clock) as client:
        got = client.map_tickers(["IBM", "AAPL"])
    assert got == {
        "IBM": MappingResult("IBM", "found", "BBG000BLNNH6", "BBG001S5S399",
                             "INTL BUSINESS MACHINES CORP", "Common Stock"),
        "AAPL": MappingResult("AAPL", "found", "BBG000B9XRY4", "BBG001S5N8V8", "APPLE INC",
                              "Common Stock"),
    }, got


def test_key_header_is_sent_only_when_a_key_is_set(httpserver: HTTPServer,
                                                   fake_clock: FakeClock, fake_key: str) -> None:
    """With a key the X-OPENFIGI-APIKEY header carries it; without one no such header is sent."""
    serve_mapping(httpserver, ["IBM"], vendor_bytes("openfigi/mapping/cusip_with_exchange.json"))
    with make_client(httpserver, fake_clock, key=fake_key) as client:
        assert client.map_tickers(["IBM"])["IBM"].composite_figi == "BBG000BLNNH6"
        assert fake_key not in repr(client)
    with make_client(httpserver, fake_clock) as client:
        client.map_tickers(["IBM"])
    keyed, anonymous = (request.headers for request, _ in httpserver.log)
    assert keyed.get("X-OPENFIGI-APIKEY") == fake_key
    assert "X-OPENFIGI-APIKEY" not in anonymous


@pytest.mark.parametrize(("body", "status", "message"), [
    (NOT_FOUND_ANSWER, "not_found", "No identifier found."),
    (vendor_bytes("openfigi/mapping/invalid_identifier.json"), "error", "Invalid idValue format."),
])
def test_warning_and_error_elements_become_results_with_the_vendor_text(
        httpserver: HTTPServer, fake_clock: FakeClock, body: str | bytes, status: str,
        message: str) -> None:
    """A warning is 'not_found' and an error is 'error', each keeping OpenFIGI's message."""
    serve_mapping(httpserver, ["ZZZZ"], body)
    with make_client(httpserver, fake_clock) as client:
        result = client.map_tickers(["ZZZZ"])["ZZZZ"]
    assert (result.status, result.message, result.composite_figi) == (status, message, None)


def test_answer_of_the_wrong_length_is_a_vendor_response_error(httpserver: HTTPServer,
                                                               fake_clock: FakeClock) -> None:
    """One result for two jobs cannot be aligned by index and raises VendorResponseError."""
    serve_mapping(httpserver, ["IBM", "AAPL"],
                  vendor_bytes("openfigi/mapping/cusip_with_exchange.json"))
    with make_client(httpserver, fake_clock) as client, \
            pytest.raises(VendorResponseError, match="1 results for 2 mapping jobs"):
        client.map_tickers(["IBM", "AAPL"])


@pytest.mark.parametrize(("key", "wait"), [(None, 60 / 25), (FAKE_KEY, 6 / 25)])
def test_batches_are_paced_at_the_documented_rate(httpserver: HTTPServer, fake_clock: FakeClock,
                                                  key: str | None, wait: float) -> None:
    """Batches of one job go out 2.4 s apart without a key and 0.24 s apart with one."""
    serve_mapping(httpserver, ["IBM"], vendor_bytes("openfigi/mapping/cusip_with_exchange.json"))
    serve_mapping(httpserver, ["ZZZZ"], NOT_FOUND_ANSWER)
    with make_client(httpserver, fake_clock, key=key, batch_size=1) as client:
        got = client.map_tickers(["IBM", "ZZZZ", "IBM"])
    assert [r.status for r in got.values()] == ["found", "not_found"]
    assert len(httpserver.log) == 2, "duplicate tickers are asked once"
    assert fake_clock.sleeps == pytest.approx([wait])


def test_default_batch_size_is_10_without_a_key_and_100_with_one() -> None:
    """The documented job limits per request pick the default batch size."""
    with OpenFigiClient.from_settings(Settings()) as anonymous, \
            OpenFigiClient.from_settings(Settings(openfigi_api_key="k" * 12)) as keyed:
        assert (anonymous.batch_size, keyed.batch_size) == (10, 100)
