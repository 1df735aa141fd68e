"""Massive REST daily aggregates: raw daily bars per ticker (the `massive` vendor).

In:  Settings.massive_api_url, the secret Settings.massive_api_key (sent only as
     `Authorization: Bearer <key>` by massive_http, never in a URL) and
     Settings.massive_rest_calls_per_minute (the same client-side cap as the other Massive
     REST calls; 0 = none).
Out: a VendorFrame (vendor "massive", price_basis "raw": asked with adjusted=false, and an answer
     saying `adjusted: true` is refused): `ts` from `t` (epoch ms UTC, 00:00 New York of the
     session), o/h/l/c/v as sent, `adj_close` NaN, no events. Bars without a price are dropped
     and counted in `dropped`; an empty answer (resultsCount 0, no `results`) lands in
     `missing` (the pipeline's `no_data`).
Talks to: GET /v2/aggs/ticker/{T}/range/1/day/{from}/{to}?adjusted=false, following next_url
     until absent, one ticker at a time (reference/formats.md section 2; recorded page in
     tests/resources/vendors/massive/v2/aggs/).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from datetime import date
from typing import Any
from urllib.parse import quote

import pandas as pd

from stocksdb.config import Settings
from stocksdb.errors import VendorResponseError
from stocksdb.foundation.base import (
    Interval,
    PriceBasis,
    VendorFrame,
    canonical_bars,
    empty_bars,
)
from stocksdb.foundation.vendors import Vendor
from stocksdb.sources.bars_request import check_window, parse_symbols
from stocksdb.sources.http import Clock, HttpClient, RateLimit, Sleep
from stocksdb.sources.massive_rest import (
    iter_pages,
    massive_http,
    rate_limit_from_settings,
    require_key,
)

log = logging.getLogger(__name__)

VENDOR_NAME = "massive"
AGGS_PATH = "/v2/aggs/ticker/{ticker}/range/1/day/{start}/{end}"
# Massive's short field names -> our columns (`vw` and `n` are not kept).
PRICES = ("open", "high", "low", "close")
_FIELDS = {"t": "t", "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}

Record = dict[str, Any]


class MassiveAggsProvider:
    """The `massive` vendor (see the module docstring); one HttpClient per fetch."""

    name = VENDOR_NAME
    price_basis: PriceBasis = "raw"

    def __init__(self, settings: Settings, *, rate_limit: RateLimit | None,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        """Raises:
            MissingCredentialError: Settings.massive_api_key is not set."""
        require_key(settings)
        self.settings = settings
        self.rate_limit = rate_limit
        self._clock, self._sleep = clock, sleep

    def __repr__(self) -> str:
        return (f"MassiveAggsProvider(base_url={self.settings.massive_api_url!r}, "
                f"rate_limit={self.rate_limit!r})")

    def fetch(self, symbols: Sequence[str], start: date, end: date,
              interval: Interval = "1d") -> VendorFrame:
        """Raw daily bars of `symbols` for the sessions start..end inclusive.

        Raises:
            InputError: no usable symbol list, end before start, or an interval other than 1d.
            VendorResponseError, RateLimitedError: Massive failed after retries, refused the
                key, or answered adjusted or unreadable bars."""
        wanted = parse_symbols(symbols)
        check_window(self.name, start, end, interval)
        frames: list[pd.DataFrame] = []
        missing: dict[str, str] = {}
        dropped: dict[str, int] = {}
        with massive_http(self.settings, rate_limit=self.rate_limit, clock=self._clock,
                          sleep=self._sleep) as http:
            for symbol in wanted:
                bars, nulls = parse_aggs(fetch_aggs(http, symbol, start, end), symbol)
                if nulls:
                    dropped[symbol] = nulls
                if bars.empty:
                    missing[symbol] = (f"massive has no daily bars for {symbol!r} from {start} "
                                       f"to {end} ({nulls} without prices)")
                    log.info("massive: no data for %s", symbol)
                else:
                    frames.append(bars)
        bars = canonical_bars(pd.concat(frames, ignore_index=True)) if frames else empty_bars()
        return VendorFrame(vendor=VENDOR_NAME, price_basis=self.price_basis, bars=bars,
                           missing=missing, dropped=dropped)


def make(settings: Settings) -> MassiveAggsProvider:
    """The massive provider with the configured key and call cap.

    Raises:
        MissingCredentialError: Settings.massive_api_key is not set."""
    return MassiveAggsProvider(settings, rate_limit=rate_limit_from_settings(settings))


VENDOR = Vendor(VENDOR_NAME, make,
                "Massive REST daily aggregates: raw (unadjusted) daily bars; needs "
                "MASSIVE_API_KEY")


def fetch_aggs(http: HttpClient, symbol: str, start: date, end: date) -> list[Record]:
    """Every daily aggregate Massive has for `symbol` from `start` to `end`, all pages."""
    path = AGGS_PATH.format(ticker=quote(symbol, safe=""), start=start.isoformat(),
                            end=end.isoformat())
    return [record for record, _ in iter_pages(http, path, {"adjusted": "false"}, _page_bars)]


def parse_aggs(records: Sequence[Record], symbol: str) -> tuple[pd.DataFrame, int]:
    """Canonical bars of one ticker's aggregates, and how many were dropped for a null price.

    Raises:
        VendorResponseError: a bar has no usable `t`, or a value is not a number."""
    if not records:
        return empty_bars(), 0
    raw = pd.DataFrame([{column: record.get(name) for name, column in _FIELDS.items()}
                        for record in records])
    try:
        frame = raw.drop(columns="t").astype("float64")
        frame.insert(0, "ts", pd.to_datetime(raw["t"].astype("int64"), unit="ms", utc=True))
    except (TypeError, ValueError):
        raise VendorResponseError(
            f"massive aggregates for {symbol!r} hold the bar {repr(_first_odd(records))[:200]}, "
            "expected numbers in t/o/h/l/c/v (t in epoch ms); report it, the API may have "
            "changed") from None
    null = frame[list(PRICES)].isna().any(axis=1)
    bars = frame[~null].assign(symbol=symbol, vendor=VENDOR_NAME, adj_close=math.nan)
    return canonical_bars(bars), int(null.sum())


def _page_bars(page: Any, shown: str) -> list[Record]:
    """One answer's bars; [] when Massive has none (resultsCount 0 and no `results`)."""
    if not isinstance(page, dict):
        raise VendorResponseError(
            f"massive aggregates page {shown!r} is {repr(page)[:80]}, expected an object; "
            "check the configured MASSIVE_API_URL")
    if page.get("adjusted") is True:
        raise VendorResponseError(
            f"massive aggregates page {shown!r} says adjusted=true, expected raw bars "
            "(adjusted=false); report it, the vendor ignored the parameter")
    results = page.get("results")
    if results is None:
        return []
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise VendorResponseError(
            f"massive aggregates page {shown!r} has results {repr(results)[:80]}, expected a "
            "list of bar objects; check the configured MASSIVE_API_URL")
    return results


def _first_odd(records: Sequence[Record]) -> Record:
    """The first record with a missing `t` or a non-numeric field, for the error message."""
    for record in records:
        values = [record.get(name) for name in _FIELDS]
        if not isinstance(record.get("t"), int) or any(
                not isinstance(v, int | float | None) for v in values):
            return record
    return records[0]
