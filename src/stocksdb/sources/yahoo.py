"""Yahoo chart API v8: daily bars, dividends and splits per symbol (the `yahoo` vendor).

In:  Settings.yahoo_url (STOCKSDB_YAHOO_URL, default https://query2.finance.yahoo.com); no key.
     Symbols as Yahoo spells them (AAPL, EURUSD=X, ^GSPC), URL-encoded into the path.
Out: a VendorFrame (vendor "yahoo", price_basis "split_adjusted": Yahoo divides OHLC by the
     later splits): `ts` is the session open in UTC, `adj_close` Yahoo's split- and
     dividend-adjusted close, FX volume (always 0 at Yahoo) NaN. Rows with a null price are
     dropped and counted in `dropped`; `events` holds the chart's dividends and splits (ratio =
     numerator / denominator); a 404, an error answer or a chart without timestamps lands in
     `missing` (the pipeline's `no_data`), never an exception.
Talks to: GET /v8/finance/chart/{symbol}?period1&period2&interval=1d&events=div|split, one
     request per symbol, at most 2 a second, retried on 429/5xx by HttpClient
     (reference/formats.md section 4; recorded answers in tests/resources/vendors/yahoo/).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from stocksdb.config import Settings
from stocksdb.errors import VendorResponseError
from stocksdb.foundation.base import (
    Dividend,
    Interval,
    PriceBasis,
    Split,
    SymbolEvents,
    VendorFrame,
    canonical_bars,
    empty_bars,
)
from stocksdb.foundation.vendors import Vendor
from stocksdb.sources.bars_request import check_window, parse_symbols
from stocksdb.sources.http import Clock, HttpClient, RateLimit, RetryPolicy, Sleep

log = logging.getLogger(__name__)

VENDOR_NAME = "yahoo"
CHART_PATH = "/v8/finance/chart/{symbol}"
YAHOO_RATE = RateLimit(calls=2, per_seconds=1.0)
PRICES = ("open", "high", "low", "close")
# A session opening on local date D starts between D-1 10:00Z (UTC+14) and D+1 12:00Z
# (UTC-12), so the request asks a day more on each side and bars are cut by local date. FX
# bars are stamped midnight London, which is the previous UTC day in summer.
_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class ChartResult:
    """One symbol's chart, parsed: canonical bars and events in the window, the rows dropped
    for a null price, and why there is no data (None when there is)."""

    bars: pd.DataFrame
    events: SymbolEvents = field(default_factory=SymbolEvents)
    dropped: int = 0
    missing: str | None = None


class YahooProvider:
    """The `yahoo` vendor (see the module docstring); one HttpClient per fetch."""

    name = VENDOR_NAME
    price_basis: PriceBasis = "split_adjusted"

    def __init__(self, base_url: str, *, rate_limit: RateLimit | None = YAHOO_RATE,
                 retry: RetryPolicy | None = None, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        self.base_url = base_url
        self.rate_limit = rate_limit
        self._retry, self._clock, self._sleep = retry, clock, sleep

    def __repr__(self) -> str:
        return f"YahooProvider(base_url={self.base_url!r}, rate_limit={self.rate_limit!r})"

    def fetch(self, symbols: Sequence[str], start: date, end: date,
              interval: Interval = "1d") -> VendorFrame:
        """Daily bars of `symbols` whose local session date is in start..end inclusive.

        Raises:
            InputError: no usable symbol list, end before start, or an interval other than 1d.
            VendorResponseError, RateLimitedError: Yahoo failed after retries or answered a
                chart we cannot read."""
        wanted = parse_symbols(symbols)
        check_window(self.name, start, end, interval)
        with HttpClient(self.name, self.base_url, rate_limit=self.rate_limit, retry=self._retry,
                        clock=self._clock, sleep=self._sleep) as http:
            charts = {symbol: parse_chart(fetch_chart(http, symbol, start, end), symbol,
                                          start, end)
                      for symbol in wanted}
        return compute_vendor_frame(charts, self.price_basis)


def make(settings: Settings) -> YahooProvider:
    """The yahoo provider on Settings.yahoo_url, at most 2 requests a second."""
    return YahooProvider(settings.yahoo_url)


VENDOR = Vendor(VENDOR_NAME, make,
                "Yahoo chart API v8: split-adjusted daily bars, dividends and splits; no key")


def fetch_chart(http: HttpClient, symbol: str, start: date, end: date) -> Any | None:
    """Yahoo's chart answer for `symbol` around start..end; None when Yahoo answers 404."""
    path = CHART_PATH.format(symbol=quote(symbol, safe=""))
    params = {"period1": _epoch(start - _MARGIN), "period2": _epoch(end + 2 * _MARGIN),
              "interval": "1d", "events": "div|split"}
    return http.get_json_or_none(path, params)


def parse_chart(payload: Any, symbol: str, start: date, end: date) -> ChartResult:
    """A chart answer (None for a 404) as canonical bars and events of local dates
    start..end; no data is a `missing` reason, not an error.

    Raises:
        VendorResponseError: the answer is not a chart we can read."""
    result, why = _chart_result(payload, symbol)
    timestamps = result.get("timestamp") if result is not None else None
    if result is None or not timestamps:
        return ChartResult(empty_bars(), missing=why or f"yahoo chart for {symbol!r} has no "
                           "timestamps (Yahoo knows the symbol but sent no bars)")
    tz = _timezone(result, symbol)
    frame = _quote_frame(result, timestamps, symbol)
    local = frame["ts"].dt.tz_convert(tz).dt.date
    frame = frame[(local >= start) & (local <= end)]
    null = frame[list(PRICES)].isna().any(axis=1)
    bars = canonical_bars(frame[~null].assign(symbol=symbol, vendor=VENDOR_NAME))
    events = _events(result.get("events"), symbol, tz, start, end)
    dropped = int(null.sum())
    if bars.empty:
        return ChartResult(bars, events, dropped, f"yahoo chart for {symbol!r} has no bar "
                           f"with prices from {start} to {end} ({dropped} null rows)")
    return ChartResult(bars, events, dropped)


def compute_vendor_frame(charts: Mapping[str, ChartResult],
                         price_basis: PriceBasis) -> VendorFrame:
    """One VendorFrame from per-symbol charts: events for symbols with bars, `dropped` only
    where rows were dropped."""
    frames = [c.bars for c in charts.values() if not c.bars.empty]
    bars = canonical_bars(pd.concat(frames, ignore_index=True)) if frames else empty_bars()
    missing = {s: c.missing for s, c in charts.items() if c.missing is not None}
    for symbol, why in missing.items():
        log.info("yahoo: no data for %s: %s", symbol, why)
    return VendorFrame(
        vendor=VENDOR_NAME, price_basis=price_basis, bars=bars,
        events={s: c.events for s, c in charts.items() if c.missing is None},
        missing=missing, dropped={s: c.dropped for s, c in charts.items() if c.dropped})


def _epoch(day: date) -> int:
    """Epoch seconds of 00:00 UTC on `day` (Yahoo's period1/period2)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _chart_result(payload: Any, symbol: str) -> tuple[dict[str, Any] | None, str]:
    """chart.result[0], or None and why there is none (404, chart.error, empty result)."""
    if payload is None:
        return None, (f"yahoo has no chart for {symbol!r} (HTTP 404: unknown or delisted "
                      "symbol)")
    chart = payload.get("chart") if isinstance(payload, dict) else None
    if not isinstance(chart, dict):
        raise VendorResponseError(
            f"yahoo answer for {symbol!r} has no `chart` object ({repr(payload)[:80]}), "
            "expected the chart API v8; check STOCKSDB_YAHOO_URL")
    error = chart.get("error")
    if error:
        said = (f"{error.get('code')}: {error.get('description')}"
                if isinstance(error, dict) else repr(error))
        return None, f"yahoo chart for {symbol!r} answered error {said!r}"
    results = chart.get("result")
    if not results:
        return None, f"yahoo chart for {symbol!r} has an empty result"
    if not isinstance(results, list) or not isinstance(results[0], dict):
        raise VendorResponseError(
            f"yahoo chart for {symbol!r} has result {repr(results)[:80]}, expected a list of "
            "objects; report it, the API may have changed")
    return results[0], ""


def _timezone(result: dict[str, Any], symbol: str) -> ZoneInfo:
    """The exchange's time zone (meta.exchangeTimezoneName): it decides a bar's date."""
    meta = result.get("meta")
    name = meta.get("exchangeTimezoneName") if isinstance(meta, dict) else None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise VendorResponseError(
            f"yahoo chart for {symbol!r} has meta.exchangeTimezoneName {name!r}, expected an "
            "IANA time zone; report it, the API may have changed") from None


def _quote_frame(result: dict[str, Any], timestamps: Any, symbol: str) -> pd.DataFrame:
    """ts, open, high, low, close, volume, adj_close from the chart's arrays (nulls as NaN)."""
    try:
        if not isinstance(timestamps, list):
            raise TypeError(type(timestamps).__name__)
        ts = pd.to_datetime(pd.Series(timestamps, dtype="int64"), unit="s", utc=True)
    except (TypeError, ValueError):
        raise VendorResponseError(
            f"yahoo chart for {symbol!r} has timestamps {repr(timestamps)[:80]}, expected "
            "epoch seconds; report it, the API may have changed") from None
    indicators = result.get("indicators")
    quote_ = _first(indicators, "quote", symbol)
    frame = pd.DataFrame({"ts": ts, **{name: _array(quote_, name, len(ts), symbol)
                                       for name in PRICES}})
    meta = result.get("meta")
    # Yahoo has no FX volume: it sends 0 for every currency bar, which is "unknown", not 0.
    is_fx = isinstance(meta, dict) and meta.get("instrumentType") == "CURRENCY"
    frame["volume"] = math.nan if is_fx else _array(quote_, "volume", len(ts), symbol)
    adjclose = _first(indicators, "adjclose", symbol, required=False)
    frame["adj_close"] = (_array(adjclose, "adjclose", len(ts), symbol)
                          if adjclose is not None else math.nan)
    return frame


def _first(indicators: Any, name: str, symbol: str, *, required: bool = True
           ) -> dict[str, Any] | None:
    """indicators.<name>[0]; None when absent and not required."""
    items = indicators.get(name) if isinstance(indicators, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0]
    if items is None and not required:
        return None
    raise VendorResponseError(
        f"yahoo chart for {symbol!r} has indicators.{name} {repr(items)[:80]}, expected a "
        "list holding one object; report it, the API may have changed")


def _array(values_of: dict[str, Any] | None, name: str, rows: int, symbol: str) -> pd.Series:
    """One indicator array as float64, null entries NaN; its length must match the bars."""
    values = values_of.get(name) if values_of is not None else None
    try:
        if isinstance(values, list) and len(values) == rows:
            return pd.Series(values, dtype="float64")
    except (TypeError, ValueError):
        pass
    raise VendorResponseError(
        f"yahoo chart for {symbol!r} has {name} {repr(values)[:80]}, expected {rows} numbers "
        "or nulls (one per timestamp); report it, the API may have changed")


def _events(raw: Any, symbol: str, tz: ZoneInfo, start: date, end: date) -> SymbolEvents:
    """Dividends and splits dated (in the exchange's zone) start..end, in date order."""
    if raw is not None and not isinstance(raw, dict):
        raise VendorResponseError(
            f"yahoo chart for {symbol!r} has events {repr(raw)[:80]}, expected an object; "
            "report it, the API may have changed")
    dividends = [Dividend(day, _positive(item, "amount", symbol))
                 for day, item in _dated(raw, "dividends", symbol, tz) if start <= day <= end]
    splits = [Split(day, _positive(item, "numerator", symbol)
                    / _positive(item, "denominator", symbol))
              for day, item in _dated(raw, "splits", symbol, tz) if start <= day <= end]
    return SymbolEvents(tuple(sorted(dividends, key=lambda d: d.ex_date)),
                        tuple(sorted(splits, key=lambda s: s.ex_date)))


def _dated(raw: dict[str, Any] | None, kind: str, symbol: str, tz: ZoneInfo
           ) -> list[tuple[date, dict[str, Any]]]:
    """(local date, event) of each events.<kind> entry; they are keyed by epoch seconds."""
    entries = (raw or {}).get(kind) or {}
    if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
        raise VendorResponseError(
            f"yahoo chart for {symbol!r} has events.{kind} {repr(entries)[:80]}, expected "
            "objects keyed by timestamp; report it, the API may have changed")
    dated: list[tuple[date, dict[str, Any]]] = []
    for item in entries.values():
        stamp = item.get("date")
        if not isinstance(stamp, int):
            raise VendorResponseError(
                f"yahoo {kind} event {item!r} for {symbol!r} has date {stamp!r}, expected "
                "epoch seconds; report it, the API may have changed")
        dated.append((datetime.fromtimestamp(stamp, tz).date(), item))
    return dated


def _positive(item: dict[str, Any], name: str, symbol: str) -> float:
    value = item.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 \
            and math.isfinite(value):
        return float(value)
    raise VendorResponseError(
        f"yahoo event {item!r} for {symbol!r} has {name} {value!r}, expected a positive "
        "number; report it, the API may have changed")
