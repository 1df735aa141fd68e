"""FRED economic series as daily bars: one observation per date, its value as the close.

In:  Settings.fred_url and the secret Settings.fred_api_key, sent as the `api_key` query
     parameter because FRED accepts no header. HttpClient redacts `api_key=` in every URL it
     logs or shows, and errors built here also mask the key's value.
Out: a VendorFrame (vendor "fred", price_basis "raw"): `symbol` is the series id (upper case),
     `ts` midnight UTC of the observation `date` (for a monthly or quarterly series the first
     day of its period: GDP 2024-07-01 is 2024 Q3, published weeks later; point-in-time
     vintages are not read here), `close` the value. open, high, low, volume and adj_close are
     NaN: FRED reports one number, and copying it into open/high/low would invent a zero
     intraday range that range-based checks and volatility estimates would then trust. FRED's
     missing value `"."` is dropped and counted in `dropped`, never read as zero. No events.
Talks to: GET /fred/series/observations?series_id=..&observation_start=..&observation_end=..
     &file_type=json&api_key=.. (reference/formats.md section 6.1), one request per series.

A series FRED does not have (HTTP 400 or, as it answered until about 2020, 404, "The series does
not exist.") goes to `missing` (no_data), so one bad id among many does not abort the pull.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from stocksdb.config import Settings
from stocksdb.errors import MissingCredentialError, SourceError, VendorResponseError
from stocksdb.foundation.base import Interval, PriceBasis, VendorFrame, canonical_bars, empty_bars
from stocksdb.foundation.vendors import Vendor
from stocksdb.redact import redact
from stocksdb.sources.bars_request import check_window, parse_symbols
from stocksdb.sources.http import Clock, HttpClient, RateLimit, Sleep

log = logging.getLogger(__name__)

NAME = "fred"
OBSERVATIONS_PATH = "/fred/series/observations"
DEFAULT_RATE = RateLimit(calls=2, per_seconds=1.0)
MISSING_VALUE = "."  # FRED's "no observation" marker: missing, not zero
_NO_SUCH_SERIES = "series does not exist"


@dataclass(frozen=True)
class Observation:
    """One FRED observation: the period `date`, its `value` (None for FRED's "."), and the
    vintage it belongs to (realtime_start..realtime_end inclusive, 9999-12-31 = still current).
    """

    date: dt.date
    value: float | None
    realtime_start: dt.date
    realtime_end: dt.date


def parse_observations(payload: Any) -> list[Observation]:
    """The `observations` of a series/observations answer, in the vendor's order.

    Raises:
        VendorResponseError: the answer lacks the list, a field, or holds a value that is
            neither a number nor ".".
    """
    rows = payload.get("observations") if isinstance(payload, dict) else None
    if not isinstance(rows, list):
        raise VendorResponseError(
            f"{NAME} answer has no 'observations' list ({repr(payload)[:80]}); check the "
            "configured STOCKSDB_FRED_URL")
    return [_observation(row) for row in rows]


def _observation(row: Any) -> Observation:
    try:
        return Observation(date=dt.date.fromisoformat(row["date"]),
                           value=_value(row["value"]),
                           realtime_start=dt.date.fromisoformat(row["realtime_start"]),
                           realtime_end=dt.date.fromisoformat(row["realtime_end"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise VendorResponseError(
            f"{NAME} observation {repr(row)[:120]} is not {{date, value, realtime_start, "
            "realtime_end}} with ISO dates and a number or '.' as value; the API may have "
            "changed") from exc


def _value(text: str) -> float | None:
    return None if text == MISSING_VALUE else float(text)


def check_complete(payload: Mapping[str, Any], series_id: str) -> None:
    """Refuse an answer that is one page of more: we never page (the default `limit` of
    100000 holds any daily series), so a shorter page means the vendor cut it.

    Raises:
        VendorResponseError: `count` exceeds `offset` plus the observations received.
    """
    count, offset = payload.get("count"), payload.get("offset", 0)
    received = len(payload.get("observations") or [])
    if isinstance(count, int) and isinstance(offset, int) and count > offset + received:
        raise VendorResponseError(
            f"{NAME} answered {received} of {count} observations of {series_id!r} (offset "
            f"{offset}, limit {payload.get('limit')!r}), expected all of them; narrow the "
            "window, and report it if it persists")


def observation_bars(observations: Sequence[Observation], series_id: str, start: dt.date,
                     end: dt.date) -> tuple[pd.DataFrame, int]:
    """Bars (ts, symbol, close, vendor) of the observations dated start..end, and the number
    of "." observations in that window that were dropped."""
    inside = [o for o in observations if start <= o.date <= end]
    kept = [o for o in inside if o.value is not None]
    bars = pd.DataFrame({
        "ts": pd.to_datetime([o.date for o in kept], utc=True),
        "symbol": series_id, "open": float("nan"), "high": float("nan"),
        "low": float("nan"), "close": [o.value for o in kept], "vendor": NAME})
    return bars, len(inside) - len(kept)


def require_key(settings: Settings) -> str:
    """Settings.fred_api_key.

    Raises:
        MissingCredentialError: it is not set."""
    if not settings.fred_api_key:
        raise MissingCredentialError(
            f"vendor {NAME!r} needs Settings.fred_api_key, which is not set; set FRED_API_KEY "
            "to your FRED API key")
    return settings.fred_api_key


class FredProvider:
    """FRED series observations as bars (see the module docstring); one HttpClient per
    fetch."""

    name = NAME
    price_basis: PriceBasis = "raw"

    def __init__(self, settings: Settings, *, rate_limit: RateLimit = DEFAULT_RATE,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self._key = require_key(settings)
        self.base_url, self.rate_limit = settings.fred_url, rate_limit
        self._clock, self._sleep = clock, sleep

    def __repr__(self) -> str:
        return f"FredProvider(base_url={self.base_url!r}, rate_limit={self.rate_limit!r})"

    def fetch(self, symbols: Sequence[str], start: dt.date, end: dt.date,
              interval: Interval = "1d") -> VendorFrame:
        """Observations of the series `symbols` dated `start`..`end` inclusive.

        Raises:
            InputError: no usable symbol list, end before start, or an interval other than 1d.
            VendorResponseError, RateLimitedError: FRED failed after retries, refused the key,
                or answered something we cannot read.
        """
        wanted = parse_symbols(symbols)
        check_window(self.name, start, end, interval)
        frames: list[pd.DataFrame] = []
        missing: dict[str, str] = {}
        dropped: dict[str, int] = {}
        with HttpClient(NAME, self.base_url, rate_limit=self.rate_limit, clock=self._clock,
                        sleep=self._sleep) as http:
            for series_id in wanted:
                bars, dropped[series_id], why = self._fetch_series(http, series_id, start, end)
                frames.append(bars)
                if why:
                    missing[series_id] = why
                    log.info("%s: no data for %s: %s", NAME, series_id, why)
        kept = [f for f in frames if not f.empty]
        return VendorFrame(
            vendor=NAME, price_basis=self.price_basis,
            bars=canonical_bars(pd.concat(kept, ignore_index=True)) if kept else empty_bars(),
            missing=missing, dropped={s: n for s, n in dropped.items() if n}, calendar="own")

    def _fetch_series(self, http: HttpClient, series_id: str, start: dt.date, end: dt.date
                      ) -> tuple[pd.DataFrame, int, str | None]:
        """(bars, dropped "." count, why there is no data or None) of one series."""
        payload = self._get(http, series_id, start, end)
        if payload is None:
            return empty_bars(), 0, (f"{NAME} says series {series_id!r} does not exist; check "
                                     "the id (or STOCKSDB_FRED_URL if every series fails)")
        observations = parse_observations(payload)
        check_complete(payload, series_id)
        bars, dropped = observation_bars(observations, series_id, start, end)
        if bars.empty:
            return bars, dropped, (f"{NAME} has no values of {series_id!r} between {start} "
                                   f"and {end} ({dropped} missing '.')")
        return bars, dropped, None

    def _get(self, http: HttpClient, series_id: str, start: dt.date, end: dt.date
             ) -> Any | None:
        """The decoded answer, or None when FRED says the series does not exist."""
        params = {"series_id": series_id, "observation_start": start.isoformat(),
                  "observation_end": end.isoformat(), "file_type": "json",
                  "api_key": self._key}
        try:
            return http.get_json_or_none(OBSERVATIONS_PATH, params)
        except SourceError as exc:
            text = str(exc)
            # HttpClient quotes the vendor's body; FRED's 400 for an unknown id says
            # {"error_code":400,"error_message":"Bad Request.  The series does not exist."},
            # while a bad key or parameter gets another error_message and stays an error.
            if "HTTP 400" in text and _NO_SUCH_SERIES in text.lower():
                return None
            if self._key not in text:
                raise
            raise type(exc)(redact(text, [self._key])) from None  # the cause repeats the key


def _make(settings: Settings) -> FredProvider:
    return FredProvider(settings)


VENDOR = Vendor(NAME, _make, "FRED series observations as close-only bars (key FRED_API_KEY, "
                "2 calls/s)")
