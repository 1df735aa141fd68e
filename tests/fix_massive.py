"""Massive REST reference payloads served on a loopback server (recorded fields only)."""

from __future__ import annotations

from typing import Any

from pytest_httpserver import HTTPServer

from tests.fix_http import load_vendor_json, vendor_bytes

AAPL_DETAILS = load_vendor_json("massive/v3/reference/tickers/AAPL.json")["results"]
META_EVENTS_FILE = "massive/vX/reference/tickers/META/events&types=ticker_change.json"
META_EVENTS = load_vendor_json(META_EVENTS_FILE)["results"]
IBM_FIGI_ROW = load_vendor_json("openfigi/mapping/cusip_with_exchange.json")[0]["data"][0]
TICKERS = "/v3/reference/tickers"
FIRST_PAGE = {"market": "stocks", "active": "true", "limit": "1000"}
DELISTED_PAGE = {"market": "stocks", "active": "false", "limit": "1000"}

# No list page (/v3/reference/tickers) is recorded, so list rows are built from recorded fields:
# AAPL is the recorded ticker-details object as is (a real list row has fewer fields, e.g. no
# list_date); META and FB take name, cik and composite_figi from the recorded events payload;
# IBM takes ticker and name from the recorded OpenFIGI row and, on purpose, has no FIGI.
AAPL_ROW = dict(AAPL_DETAILS)
META_ROW = {"ticker": "META", "name": META_EVENTS["name"], "market": "stocks", "locale": "us",
            "active": True, "cik": META_EVENTS["cik"],
            "composite_figi": META_EVENTS["composite_figi"]}
FB_DELISTED_ROW = {**META_ROW, "ticker": "FB", "active": False}
IBM_ROW = {"ticker": IBM_FIGI_ROW["ticker"], "name": IBM_FIGI_ROW["name"], "market": "stocks",
           "locale": "us", "active": True}


def list_page(results: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    """A list-endpoint page in the documented envelope."""
    page: dict[str, Any] = {"results": results, "status": "OK"}
    return {**page, "next_url": next_url} if next_url else page


def serve_universe(httpserver: HTTPServer, key: str, *, delisted: list[dict[str, Any]],
                   openfigi_answer: str | bytes) -> None:
    """Two listed pages (the next_url echoing the key as apiKey), one delisted page, events."""
    next_url = f"{httpserver.url_for(TICKERS)}?cursor=page2&apiKey={key}"
    auth = {"Authorization": f"Bearer {key}"}
    httpserver.expect_request(TICKERS, query_string=FIRST_PAGE, headers=auth).respond_with_json(
        list_page([AAPL_ROW, IBM_ROW], next_url))
    httpserver.expect_request(TICKERS, query_string={"cursor": "page2"}, headers=auth
                              ).respond_with_json(list_page([META_ROW]))
    httpserver.expect_request(TICKERS, query_string=DELISTED_PAGE, headers=auth
                              ).respond_with_json(list_page(delisted))
    httpserver.expect_request("/vX/reference/tickers/BBG000MM2P62/events",
                              query_string="types=ticker_change", headers=auth
                              ).respond_with_data(vendor_bytes(META_EVENTS_FILE),
                                                  content_type="application/json")
    for unknown in ("BBG000B9XRY4", "IBM"):  # no recorded events: Massive knows none (404)
        httpserver.expect_request(f"/vX/reference/tickers/{unknown}/events"
                                  ).respond_with_data("", status=404)
    httpserver.expect_request("/v3/mapping", method="POST", json=[
        {"idType": "TICKER", "idValue": "IBM", "exchCode": "US"}]
    ).respond_with_data(openfigi_answer, content_type="application/json")
