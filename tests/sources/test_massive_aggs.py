"""The massive provider against recorded REST daily aggregates served on a loopback server."""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from datetime import date
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from stocksdb.config import Settings
from stocksdb.errors import MissingCredentialError, VendorResponseError
from stocksdb.foundation.base import BAR_COLUMNS
from stocksdb.foundation.vendors import get_provider
from stocksdb.sources.http import RateLimit
from stocksdb.sources.massive_aggs import MassiveAggsProvider
from tests.fix_http import FakeClock, client_log_messages, load_vendor_json

AAPL_PATH = "/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-04"
AAPL_FILE = "massive" + AAPL_PATH + ".json"
START, END = date(2005, 4, 1), date(2005, 4, 4)
# Not recorded: the documented envelope of an answer without bars (resultsCount 0, no results).
EMPTY_ANSWER = {"ticker": "ZZZZ", "queryCount": 0, "resultsCount": 0, "adjusted": False,
                "status": "OK", "request_id": "not-recorded"}


def raw_answer() -> dict[str, Any]:
    """The recorded AAPL page with `adjusted` set to false, as an adjusted=false request is
    answered; the recording itself answered adjusted=true (see test_adjusted_answer_...), so
    its prices stay as recorded (divided by 28 for the 2014 and 2020 splits)."""
    answer: dict[str, Any] = copy.deepcopy(load_vendor_json(AAPL_FILE))
    answer["adjusted"] = False
    return answer


def provider_for(settings: Settings, clock: FakeClock) -> MassiveAggsProvider:
    """The provider as the registry builds it (key and call cap from settings), on fake time."""
    made = get_provider("massive", settings)
    assert isinstance(made, MassiveAggsProvider)
    return MassiveAggsProvider(settings, rate_limit=made.rate_limit, clock=clock.clock,
                               sleep=clock.sleep)


@pytest.fixture
def provider(loopback_settings: Settings, fake_clock: FakeClock) -> MassiveAggsProvider:
    """The massive provider on the loopback server with the fake key, 5 calls a minute."""
    return provider_for(loopback_settings, fake_clock)


def test_aggregates_become_raw_canonical_bars(httpserver: HTTPServer, fake_key: str,
                                              provider: MassiveAggsProvider) -> None:
    """Two bars from results[].o/h/l/c/v; ts is `t` (ms) in UTC; asked adjusted=false."""
    httpserver.expect_request(AAPL_PATH, query_string="adjusted=false",
                              headers={"Authorization": f"Bearer {fake_key}"}
                              ).respond_with_json(raw_answer())
    frame = provider.fetch(["aapl"], START, END)
    assert (frame.vendor, frame.price_basis) == ("massive", "raw")
    assert list(frame.bars.columns) == list(BAR_COLUMNS)
    rows = frame.bars.to_dict("records")
    # results[0]: t 1112331600000 = 2005-04-01 05:00Z (00:00 New York, EST)
    assert rows[0] == {"ts": pd.Timestamp("2005-04-01 05:00", tz="UTC"), "symbol": "AAPL",
                       "open": 1.5032, "high": 1.5064, "low": 1.4489, "close": 1.4604,
                       "volume": 642646396.0, "adj_close": rows[0]["adj_close"],
                       "vendor": "massive"}, rows[0]
    assert pd.isna(rows[0]["adj_close"])
    # results[1]: t 1112587200000 = 2005-04-04 04:00Z (00:00 New York, EDT), c 1.4675
    assert (rows[1]["ts"], rows[1]["close"], rows[1]["volume"]) == (
        pd.Timestamp("2005-04-04 04:00", tz="UTC"), 1.4675, 578172308.0)
    assert dict(frame.events) == {} and dict(frame.missing) == {}
    assert dict(frame.dropped) == {}


def test_adjusted_answer_is_refused_for_a_raw_provider(httpserver: HTTPServer,
                                                       provider: MassiveAggsProvider) -> None:
    """The recording as is says "adjusted": true: split-adjusted bars must not pass as raw."""
    httpserver.expect_request(AAPL_PATH).respond_with_json(load_vendor_json(AAPL_FILE))
    with pytest.raises(VendorResponseError, match="adjusted=true"):
        provider.fetch(["AAPL"], START, END)


def test_next_url_is_followed_without_the_echoed_key(
        httpserver: HTTPServer, fake_key: str, provider: MassiveAggsProvider,
        caplog: pytest.LogCaptureFixture) -> None:
    """The recorded bars cut into two pages joined by next_url (with apiKey) give both bars;
    the key travels only in the header and appears in no log line."""
    caplog.set_level(logging.DEBUG)
    first, second = raw_answer(), raw_answer()
    first["results"], second["results"] = first["results"][:1], second["results"][1:]
    first["next_url"] = httpserver.url_for(AAPL_PATH) + f"?cursor=p2&apiKey={fake_key}"
    httpserver.expect_request(AAPL_PATH, query_string="adjusted=false"
                              ).respond_with_json(first)
    httpserver.expect_request(AAPL_PATH, query_string="cursor=p2").respond_with_json(second)
    frame = provider.fetch(["AAPL"], START, END)
    assert frame.bars["close"].tolist() == [1.4604, 1.4675]
    assert [r.query_string.decode() for r, _ in httpserver.log] == ["adjusted=false",
                                                                    "cursor=p2"]
    assert not [m for m in client_log_messages(caplog) if fake_key in m]


def test_empty_answer_is_missing_and_other_tickers_still_arrive(
        httpserver: HTTPServer, provider: MassiveAggsProvider) -> None:
    """resultsCount 0 without `results` is no data for ZZZZ, not an error."""
    httpserver.expect_request("/v2/aggs/ticker/ZZZZ/range/1/day/2005-04-01/2005-04-04"
                              ).respond_with_json(EMPTY_ANSWER)
    httpserver.expect_request(AAPL_PATH).respond_with_json(raw_answer())
    frame = provider.fetch(["ZZZZ", "AAPL"], START, END)
    assert list(frame.missing) == ["ZZZZ"] and "no daily bars" in frame.missing["ZZZZ"]
    assert set(frame.bars["symbol"]) == {"AAPL"} and len(frame.bars) == 2


def test_bar_without_close_is_dropped_and_counted(httpserver: HTTPServer,
                                                  provider: MassiveAggsProvider) -> None:
    """results[1] without `c` (removed by the test) is dropped; results[0] stays."""
    answer = raw_answer()
    del answer["results"][1]["c"]
    httpserver.expect_request(AAPL_PATH).respond_with_json(answer)
    frame = provider.fetch(["AAPL"], START, END)
    assert frame.bars["close"].tolist() == [1.4604]
    assert dict(frame.dropped) == {"AAPL": 1}


def test_bar_without_time_is_a_vendor_error(httpserver: HTTPServer,
                                            provider: MassiveAggsProvider) -> None:
    """A bar without `t` cannot be placed in time: refused, naming the bar."""
    answer = raw_answer()
    del answer["results"][0]["t"]
    httpserver.expect_request(AAPL_PATH).respond_with_json(answer)
    with pytest.raises(VendorResponseError, match="'vw': 1.469"):
        provider.fetch(["AAPL"], START, END)


def test_tickers_are_spaced_by_the_configured_cap(httpserver: HTTPServer,
                                                  loopback_settings: Settings,
                                                  fake_clock: FakeClock) -> None:
    """MASSIVE_REST_CALLS_PER_MINUTE=5 (the default): the second ticker waits 12 s."""
    httpserver.expect_request(AAPL_PATH).respond_with_json(raw_answer())
    httpserver.expect_request("/v2/aggs/ticker/BRK.B/range/1/day/2005-04-01/2005-04-04"
                              ).respond_with_json(EMPTY_ANSWER)
    provider = provider_for(loopback_settings, fake_clock)
    assert provider.rate_limit == RateLimit(5, 60.0)
    provider.fetch(["AAPL", "BRK.B"], START, END)
    assert fake_clock.sleeps == [12.0], fake_clock.sleeps


def test_missing_key_fails_before_any_request(httpserver: HTTPServer,
                                              loopback_settings: Settings) -> None:
    """Without MASSIVE_API_KEY the registry refuses to build the provider."""
    settings = replace(loopback_settings, massive_api_key=None)
    with pytest.raises(MissingCredentialError, match="MASSIVE_API_KEY"):
        get_provider("massive", settings)
    assert httpserver.log == []


def test_repr_does_not_show_the_key(provider: MassiveAggsProvider, fake_key: str) -> None:
    """The provider's repr names the URL and cap, never the key."""
    assert fake_key not in repr(provider) and "RateLimit" in repr(provider)
