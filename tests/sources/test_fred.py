"""FredProvider against recorded FRED series/observations answers on a loopback server."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from stocksdb.config import Settings
from stocksdb.errors import InputError, MissingCredentialError, VendorResponseError
from stocksdb.foundation.base import BAR_COLUMNS, VendorFrame
from stocksdb.foundation.vendors import get_provider
from stocksdb.sources.fred import FredProvider, Observation, parse_observations
from tests.fix_http import FakeClock, client_log_messages, load_vendor_json, vendor_bytes

PATH = "/fred/series/observations"
GDP = "fred/gdp_observations.json"
# FRED's documented answer for an unknown id (tests/resources/vendors/fred/README.md).
NO_SUCH_SERIES = json.dumps({"error_code": 400,
                             "error_message": "Bad Request.  The series does not exist."})
BAD_KEY = json.dumps({"error_code": 400, "error_message": "Bad Request.  The value for variable "
                      "api_key is not registered.  Read https://fred.stlouisfed.org/docs/api/"
                      "api_key.html for more information."})


def make_provider(httpserver: HTTPServer, clock: FakeClock, key: str) -> FredProvider:
    """A provider aimed at the loopback server, on fake time."""
    settings = Settings(fred_url=httpserver.url_for("/").rstrip("/"), fred_api_key=key)
    return FredProvider(settings, clock=clock.clock, sleep=clock.sleep)


def serve_by_series(httpserver: HTTPServer, answers: dict[str, tuple[bytes | str, int]]) -> None:
    """Answer series/observations with the (body, status) registered for `series_id`."""
    def handler(request: Request) -> Response:
        body, status = answers[request.args["series_id"]]
        return Response(body, status=status, content_type="application/json")
    httpserver.expect_request(PATH).respond_with_handler(handler)


def fetch_gdp(httpserver: HTTPServer, clock: FakeClock, key: str, start: date,
              end: date) -> VendorFrame:
    """GDP with the recorded answer served (whatever window is asked)."""
    serve_by_series(httpserver, {"GDP": (vendor_bytes(GDP), 200)})
    return make_provider(httpserver, clock, key).fetch(["gdp"], start, end)


def test_gdp_values_become_closes_and_dots_are_dropped_not_zero(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """315 recorded observations, four of them "." (1946): 311 bars and dropped 4."""
    frame = fetch_gdp(httpserver, fake_clock, fake_key, date(1946, 1, 1), date(2024, 7, 1))
    assert (frame.vendor, frame.price_basis, frame.missing, frame.dropped, frame.events) == (
        "fred", "raw", {}, {"GDP": 4}, {})
    assert list(frame.bars.columns) == list(BAR_COLUMNS) and len(frame.bars) == 311
    first, last = frame.bars.iloc[0], frame.bars.iloc[-1]
    # First number: 1947-01-01 "243.164"; last: 2024-07-01 "29349.924".
    assert (first["ts"], first["symbol"], first["close"]) == (
        pd.Timestamp("1947-01-01T00:00:00Z"), "GDP", 243.164)
    assert (last["ts"], last["close"]) == (pd.Timestamp("2024-07-01T00:00:00Z"), 29349.924)
    assert (frame.bars["close"] != 0).all()
    assert frame.bars[["open", "high", "low", "volume", "adj_close"]].isna().all().all()


def test_request_carries_series_window_json_and_key(httpserver: HTTPServer,
                                                    fake_clock: FakeClock,
                                                    fake_key: str) -> None:
    """One GET per series with the documented parameters (the key as `api_key`)."""
    fetch_gdp(httpserver, fake_clock, fake_key, date(1946, 1, 1), date(2024, 7, 1))
    assert [(r.path, dict(r.args)) for r, _ in httpserver.log] == [(PATH, {
        "series_id": "GDP", "observation_start": "1946-01-01",
        "observation_end": "2024-07-01", "file_type": "json", "api_key": fake_key})]


def test_observations_outside_the_window_are_left_out(httpserver: HTTPServer,
                                                      fake_clock: FakeClock,
                                                      fake_key: str) -> None:
    """1946-1947 from the full answer: the four 1947 quarters, the four 1946 dots dropped."""
    frame = fetch_gdp(httpserver, fake_clock, fake_key, date(1946, 1, 1), date(1947, 12, 31))
    # 1947-01-01 243.164, 04-01 245.968, 07-01 249.585, 10-01 259.745.
    assert list(frame.bars["close"]) == [243.164, 245.968, 249.585, 259.745]
    assert frame.dropped == {"GDP": 4}


def test_a_window_of_only_dots_is_missing_not_zeros(httpserver: HTTPServer,
                                                    fake_clock: FakeClock,
                                                    fake_key: str) -> None:
    """1946 holds only "." values: no bars, GDP missing (no_data) and 4 dropped."""
    frame = fetch_gdp(httpserver, fake_clock, fake_key, date(1946, 1, 1), date(1946, 12, 31))
    assert frame.bars.empty and frame.dropped == {"GDP": 4}
    assert "no values of 'GDP' between 1946-01-01 and 1946-12-31 (4 missing '.')" in (
        frame.missing["GDP"])


def test_parse_observations_keeps_vintage_and_dot_as_none() -> None:
    """Each row keeps date, value (None for "."), realtime_start and realtime_end."""
    observations = parse_observations(load_vendor_json(GDP))
    assert len(observations) == 315
    assert observations[0] == Observation(date(1946, 1, 1), None, date(2024, 10, 30),
                                           date(2024, 10, 30))
    assert observations[4] == Observation(date(1947, 1, 1), 243.164, date(2024, 10, 30),
                                          date(2024, 10, 30))
    assert sum(o.value is None for o in observations) == 4


def test_a_cut_page_is_refused(httpserver: HTTPServer, fake_clock: FakeClock,
                               fake_key: str) -> None:
    """The recorded GNPCA page holds 20 of 91 observations: an error, not a silent gap."""
    serve_by_series(httpserver, {"GNPCA": (vendor_bytes("fred/gnpca_observations_page1.json"),
                                           200)})
    with pytest.raises(VendorResponseError, match="answered 20 of 91 observations of 'GNPCA'"):
        make_provider(httpserver, fake_clock, fake_key).fetch(
            ["GNPCA"], date(1929, 1, 1), date(2019, 1, 1))


@pytest.mark.parametrize(("body", "status"), [
    (vendor_bytes("fred/gnpca_observations_empty.json"), 200),
    (NO_SUCH_SERIES, 400),
    (NO_SUCH_SERIES.replace("400", "404").replace("Bad Request", "Not Found"), 404),
], ids=["empty", "unknown-400", "unknown-404"])
def test_no_observations_or_unknown_series_is_missing_and_others_load(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str, body: bytes | str,
        status: int) -> None:
    """A series with nothing to give is `missing` (no_data); GDP in the same pull loads."""
    serve_by_series(httpserver, {"GNPCA": (body, status), "GDP": (vendor_bytes(GDP), 200)})
    frame = make_provider(httpserver, fake_clock, fake_key).fetch(
        ["GNPCA", "GDP"], date(1946, 1, 1), date(2024, 7, 1))
    assert list(frame.missing) == ["GNPCA"], frame.missing
    assert set(frame.bars["symbol"]) == {"GDP"} and len(frame.bars) == 311


def test_bad_key_is_an_error_without_the_key(httpserver: HTTPServer, fake_clock: FakeClock,
                                             fake_key: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """A 400 about the key stops the pull; neither the error, logs nor repr hold the key,
    even when a 500 body echoes it."""
    caplog.set_level(logging.DEBUG)
    serve_by_series(httpserver, {"GDP": (BAD_KEY, 400),
                                 "ECHO": (f"oops, api key {fake_key} broke us", 500)})
    provider = make_provider(httpserver, fake_clock, fake_key)
    with pytest.raises(VendorResponseError, match="api_key is not registered") as bad_key:
        provider.fetch(["GDP"], date(2024, 1, 1), date(2024, 7, 1))
    with pytest.raises(VendorResponseError, match="HTTP 500") as echoed:
        provider.fetch(["ECHO"], date(2024, 1, 1), date(2024, 7, 1))
    texts = [str(bad_key.value), str(echoed.value), repr(provider), *client_log_messages(caplog)]
    assert [t for t in texts if fake_key in t] == []


def test_default_rate_is_two_calls_a_second(httpserver: HTTPServer, fake_clock: FakeClock,
                                            fake_key: str) -> None:
    """Three series: the second and third requests each wait 0.5 s of fake time."""
    serve_by_series(httpserver, {s: (vendor_bytes("fred/gnpca_observations_empty.json"), 200)
                                 for s in ("A", "B", "C")})
    make_provider(httpserver, fake_clock, fake_key).fetch(["A", "B", "C"], date(2024, 1, 1),
                                                          date(2024, 7, 1))
    assert fake_clock.sleeps == [0.5, 0.5]


def test_missing_key_fails_before_any_request(httpserver: HTTPServer) -> None:
    """Without FRED_API_KEY the registry refuses to build the provider."""
    with pytest.raises(MissingCredentialError, match="FRED_API_KEY"):
        get_provider("fred", Settings(fred_url=httpserver.url_for("/").rstrip("/")))
    assert httpserver.log == []


def test_registry_builds_fred(fake_key: str) -> None:
    """`--vendor fred` gets the FRED provider, declaring raw values."""
    provider = get_provider("fred", Settings(fred_api_key=fake_key))
    assert isinstance(provider, FredProvider)
    assert (provider.name, provider.price_basis) == ("fred", "raw")


def test_window_ending_before_it_starts_is_refused_before_any_request(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """end < start is an InputError naming `end`; nothing is requested."""
    with pytest.raises(InputError, match="parameter `end`"):
        make_provider(httpserver, fake_clock, fake_key).fetch(
            ["GDP"], date(2024, 7, 1), date(2024, 1, 1))
    assert httpserver.log == []


def test_quarterly_gdp_through_the_pipeline_has_no_trading_day_warnings(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str, tmp_path: Path) -> None:
    """GDP is quarterly: 2024 has four observations (01-01, 04-01, 07-01 in the recording) and
    no XNYS sessions to miss, so the pull is 'ok' — checked against trading days it would
    report some 240 missing sessions and a stale series."""
    from stocksdb.foundation.cache import PricingCache
    from stocksdb.foundation.pipeline import PricingPipeline

    serve_by_series(httpserver, {"GDP": (vendor_bytes(GDP), 200)})
    pipeline = PricingPipeline(make_provider(httpserver, fake_clock, fake_key),
                               PricingCache(tmp_path / "cache"))
    result = pipeline.run(["GDP"], start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert result.status == "ok", result.as_json()
    assert result.rows == 3 and result.issues == ()
