"""Massive REST corporate actions: stock splits and cash dividends, as the vendor sent them.

In:  Settings.massive_api_url, the secret Settings.massive_api_key (sent only as
     `Authorization: Bearer <key>` by massive_http, never in a URL) and
     Settings.massive_rest_calls_per_minute; optionally tickers and an inclusive date range.
Out: an ActionsBatch (source "massive"): `splits` with SPLIT_COLUMNS and `dividends` with
     DIVIDEND_COLUMNS, values as received (numbers stay numbers, missing fields None, object
     dtype), each row with a `source_key` column holding the redacted URL of its page. Fields
     outside those columns are dropped; nothing is validated here (the job does that).
Talks to: GET /v3/reference/splits and GET /v3/reference/dividends with limit=1000, following
     next_url until absent (reference/formats.md sections 2.1 and 2.2).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

import pandas as pd

from stocksdb.config import Settings
from stocksdb.errors import InputError, VendorResponseError
from stocksdb.sources.base import (
    DIVIDEND_COLUMNS,
    SPLIT_COLUMNS,
    ActionsBatch,
    keep_non_finite,
)
from stocksdb.sources.http import HttpClient, RateLimit
from stocksdb.sources.massive_rest import (
    iter_pages,
    massive_http,
    rate_limit_from_settings,
    require_key,
)

log = logging.getLogger(__name__)

SOURCE = "massive"
SPLITS_PATH = "/v3/reference/splits"
DIVIDENDS_PATH = "/v3/reference/dividends"
PAGE_LIMIT = 1000  # the documented maximum of both endpoints

Record = dict[str, Any]
Query = dict[str, str | int]


class _FromSettings(Enum):
    """Marker type of FROM_SETTINGS (an enum member so type checkers can tell it apart)."""

    FROM_SETTINGS = "from settings"


# Default of `rate_limit`: take it from Settings.massive_rest_calls_per_minute (0 = no cap).
FROM_SETTINGS = _FromSettings.FROM_SETTINGS


@dataclass(frozen=True)
class _Endpoint:
    """One list endpoint: its path, the date field `start`/`end` filter on, its columns."""

    path: str
    date_field: str
    columns: tuple[str, ...]
    noun: str  # what one results element is, for messages


_SPLITS = _Endpoint(SPLITS_PATH, "execution_date", SPLIT_COLUMNS, "split")
_DIVIDENDS = _Endpoint(DIVIDENDS_PATH, "ex_dividend_date", DIVIDEND_COLUMNS, "dividend")


def fetch_corporate_actions(settings: Settings, *, tickers: Sequence[str] | None = None,
                            start: date | None = None, end: date | None = None,
                            http: HttpClient | None = None,
                            rate_limit: RateLimit | None | _FromSettings = FROM_SETTINGS,
                            ) -> ActionsBatch:
    """Splits and dividends Massive lists, optionally for `tickers` and a date range.

    `tickers` makes one paginated query per distinct ticker (`ticker=`); an empty sequence
    fetches nothing. `start` and `end` are inclusive bounds on execution_date (splits) and
    ex_dividend_date (dividends). `http` defaults to massive_http(settings) limited by
    `rate_limit` (default: Settings.massive_rest_calls_per_minute); a client passed in is
    not closed.

    Raises:
        MissingCredentialError: if Settings.massive_api_key is not set (before any request).
        InputError: if `tickers` is a single string or holds an empty one, or end < start.
        VendorResponseError: if a page is not JSON with a `results` list of objects, or its
            next_url repeats an earlier page or leaves the base URL.
        RateLimitedError: if Massive still answers 429 after every retry."""
    require_key(settings)
    queries = {endpoint: _queries(endpoint, tickers, start, end)
               for endpoint in (_SPLITS, _DIVIDENDS)}
    with ExitStack() as owned:
        if http is None:
            limit = (rate_limit_from_settings(settings)
                     if isinstance(rate_limit, _FromSettings) else rate_limit)
            http = owned.enter_context(massive_http(settings, rate_limit=limit))
        splits = _fetch_frame(http, _SPLITS, queries[_SPLITS])
        dividends = _fetch_frame(http, _DIVIDENDS, queries[_DIVIDENDS])
    log.info("massive corporate actions: %d splits, %d dividends", len(splits), len(dividends))
    return ActionsBatch(source=SOURCE, splits=splits, dividends=dividends)


def _queries(endpoint: _Endpoint, tickers: Sequence[str] | None, start: date | None,
             end: date | None) -> list[Query]:
    """Query parameters of each paginated query: one per ticker, or one for all."""
    if start is not None and end is not None and end < start:
        raise InputError(f"parameter `end` is {end}, earlier than `start` ({start}); "
                         "pass an end on or after the start")
    common: Query = {}
    if start is not None:
        common[f"{endpoint.date_field}.gte"] = start.isoformat()
    if end is not None:
        common[f"{endpoint.date_field}.lte"] = end.isoformat()
    common["limit"] = PAGE_LIMIT
    if tickers is None:
        return [common]
    return [{"ticker": ticker, **common} for ticker in _distinct_tickers(tickers)]


def _distinct_tickers(tickers: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too, and would become one query per character.
    if isinstance(tickers, str):
        raise InputError(f"parameter `tickers` is the string {tickers!r}, expected a sequence "
                         f"of tickers; pass [{tickers!r}]")
    bad = [t for t in tickers if not isinstance(t, str) or not t.strip()]
    if bad:
        raise InputError(f"parameter `tickers` holds {bad[:3]!r}, expected non-empty ticker "
                         "strings; drop the empty entries (an empty filter would fetch all)")
    return list(dict.fromkeys(tickers))


def _fetch_frame(http: HttpClient, endpoint: _Endpoint, queries: Sequence[Query]
                 ) -> pd.DataFrame:
    """Rows of every page of every query: the endpoint's columns plus source_key."""
    rows = [{**{column: keep_non_finite(record.get(column)) for column in endpoint.columns},
             "source_key": source_key}
            for query in queries
            for record, source_key in iter_pages(
                http, endpoint.path, query,
                lambda page, shown: _page_results(page, shown, endpoint.noun))]
    # object dtype keeps ints as ints and None as None (no float upcast, no NaN).
    return pd.DataFrame(rows, columns=[*endpoint.columns, "source_key"], dtype=object)


def _page_results(page: Any, shown: str, noun: str) -> list[Record]:
    results = page.get("results") if isinstance(page, dict) else None
    if not isinstance(results, list):
        raise VendorResponseError(
            f"massive page {shown!r} has no results list ({repr(page)[:80]}), expected "
            f"{{'results': [...]}} of {noun} objects; check the configured MASSIVE_API_URL")
    for index, record in enumerate(results):
        if not isinstance(record, dict):
            raise VendorResponseError(
                f"massive page {shown!r} has results[{index}] = {repr(record)[:80]}, expected "
                f"a {noun} object; report it, the API may have changed")
    return results
