"""Alpha Vantage daily bars: TIME_SERIES_DAILY (free) or TIME_SERIES_DAILY_ADJUSTED (premium).

In:  Settings.alphavantage_url and the secret Settings.alphavantage_api_key, sent as the `apikey`
     query parameter because Alpha Vantage accepts no header. HttpClient redacts `apikey=` in
     every URL it logs or shows, and errors built here also mask the key's value.
Out: a VendorFrame (vendor "alpha_vantage", price_basis "raw": `1. open` .. `4. close` are as
     traded in both functions). Alpha Vantage gives exchange-local dates, not times, so `ts` is
     midnight UTC of that date. `adj_close` is `5. adjusted close` with `adjusted=True`, else NaN.
     Events come only with `adjusted=True`: dividends where `7. dividend amount` != 0 and splits
     where `8. split coefficient` != 1 (the coefficient is new shares per old share).
Talks to: GET /query?function=..&symbol=..&outputsize=compact|full&datatype=json&apikey=..,
     one request per symbol (reference/formats.md section 5).

Alpha Vantage answers "no" with HTTP 200 and a JSON body (shared/realdata/README.md §4b):
  `Note` / `Information` about call frequency   wait and retry within `throttle_retry`, then
                                                RateLimitedError
  `Information` about the daily quota           RateLimitedError at once (minutes cannot help)
  `Information` about a premium endpoint/value  VendorResponseError naming the function
  `Error Message` about the apikey              VendorResponseError naming ALPHAVANTAGE_API_KEY
  `Error Message` otherwise ("Invalid API call")  the symbol is unknown: it goes to `missing`
                                                (no_data), so one bad symbol among many does
                                                not abort the pull (our other parameters are
                                                fixed and valid, so the symbol is the culprit)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, cast

import pandas as pd

from stocksdb.config import Settings
from stocksdb.domain.sessions import sessions_in_range
from stocksdb.errors import (
    DateOutOfRangeError,
    MissingCredentialError,
    RateLimitedError,
    SourceError,
    VendorResponseError,
)
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
from stocksdb.redact import redact
from stocksdb.sources.bars_request import check_window, parse_symbols
from stocksdb.sources.http import Clock, HttpClient, RateLimit, RetryPolicy, Sleep

log = logging.getLogger(__name__)

NAME = "alpha_vantage"
QUERY_PATH = "/query"
DAILY = "TIME_SERIES_DAILY"
DAILY_ADJUSTED = "TIME_SERIES_DAILY_ADJUSTED"
SERIES_KEY = "Time Series (Daily)"
# The free plan's historical 5 calls a minute, all five usable at once.
DEFAULT_RATE = RateLimit(calls=5, per_seconds=60.0, burst=5)
# HTTP-200 throttle answers are retried after 15, 30 and 60 s: long enough for a per-minute
# window to pass, short enough that a pull gives up within two minutes.
THROTTLE_RETRY = RetryPolicy(attempts=4, first_wait=15.0, max_wait=60.0)
# outputsize=compact returns the latest 100 data points (counted back from today, not from
# the window's end); anything reaching further back needs outputsize=full.
COMPACT_ROWS = 100

_PRICE_FIELDS = {"1. open": "open", "2. high": "high", "3. low": "low", "4. close": "close"}
_DAILY_FIELDS = {**_PRICE_FIELDS, "5. volume": "volume"}
_ADJUSTED_FIELDS = {**_PRICE_FIELDS, "5. adjusted close": "adj_close", "6. volume": "volume",
                    "7. dividend amount": "dividend", "8. split coefficient": "split"}

NoticeKind = Literal["throttled", "daily_quota", "premium", "bad_key", "invalid_call", "unknown"]


@dataclass(frozen=True)
class Notice:
    """An HTTP-200 answer that holds no data: what kind of refusal, and the vendor's words."""

    kind: NoticeKind
    text: str


def parse_notice(payload: Any) -> Notice | None:
    """The refusal in `payload` (`Error Message`, `Information` or `Note`); None when it holds
    a daily series or none of those keys."""
    if not isinstance(payload, dict) or SERIES_KEY in payload:
        return None
    if "Error Message" in payload:
        text = str(payload["Error Message"])
        return Notice("bad_key" if "apikey" in text.lower() else "invalid_call", text)
    for key in ("Information", "Note"):
        if key in payload:
            text = str(payload[key])
            return Notice(_information_kind(text), text)
    return None


def _information_kind(text: str) -> NoticeKind:
    lowered = text.lower()
    if "apikey" in lowered:  # a bad key is also sent as `Information`; never retry it
        return "bad_key"
    if "premium endpoint" in lowered or "premium feature" in lowered:
        return "premium"
    if "per day" in lowered and "per minute" not in lowered and "second" not in lowered:
        return "daily_quota"
    if any(word in lowered for word in ("frequency", "per minute", "second", "sparingly",
                                        "rate limit")):
        return "throttled"
    return "unknown"


def choose_outputsize(start: date, today: date) -> Literal["compact", "full"]:
    """`compact` when the latest COMPACT_ROWS XNYS sessions up to `today` reach back to
    `start`, else `full` (compact counts back from today, whatever the window's end)."""
    if start > today:
        return "compact"
    try:
        sessions = len(sessions_in_range(start, today))
    except DateOutOfRangeError:  # before the calendar's first session: far too old for compact
        return "full"
    return "compact" if sessions <= COMPACT_ROWS else "full"


def parse_daily_series(payload: Any, symbol: str, *, adjusted: bool) -> pd.DataFrame:
    """Every row of `Time Series (Daily)` as a frame: ts (midnight UTC of the date), open, high,
    low, close, volume, and with `adjusted` adj_close, dividend, split; rows whose prices are
    not numbers keep NaN (the caller drops and counts them).

    Raises:
        VendorResponseError: the series is absent or not shaped as documented.
    """
    series = payload.get(SERIES_KEY) if isinstance(payload, dict) else None
    fields = _ADJUSTED_FIELDS if adjusted else _DAILY_FIELDS
    function = DAILY_ADJUSTED if adjusted else DAILY
    if not isinstance(series, dict) or not all(isinstance(v, dict) for v in series.values()):
        raise VendorResponseError(
            f"{NAME} {function} answer for {symbol!r} has no {SERIES_KEY!r} object of dated "
            f"rows (keys {sorted(payload)[:5] if isinstance(payload, dict) else payload!r}); "
            "check the configured STOCKSDB_ALPHAVANTAGE_URL")
    frame = pd.DataFrame.from_dict(series, orient="index")
    absent = sorted(set(fields) - set(frame.columns)) if len(frame) else []
    if absent:
        raise VendorResponseError(
            f"{NAME} {function} rows for {symbol!r} lack field(s) {absent}, expected "
            f"{list(fields)}; the API may have changed")
    frame = frame.reindex(columns=list(fields)).rename(columns=fields)
    frame = cast("pd.DataFrame", frame.apply(pd.to_numeric, errors="coerce"))
    try:
        frame.insert(0, "ts", pd.to_datetime(list(series), format="%Y-%m-%d", utc=True))
    except ValueError as exc:
        raise VendorResponseError(
            f"{NAME} {function} answer for {symbol!r} has a row key that is not a YYYY-MM-DD "
            "date; the API may have changed") from exc
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def compute_events(rows: pd.DataFrame) -> SymbolEvents:
    """Dividends (`dividend` != 0) and splits (`split` != 1) of adjusted rows, in date order."""
    if "dividend" not in rows.columns:
        return SymbolEvents()
    ordered = rows.sort_values("ts")
    paid = ordered[ordered["dividend"].notna() & (ordered["dividend"] != 0)]
    split = ordered[ordered["split"].notna() & (ordered["split"] != 1)]
    return SymbolEvents(
        dividends=tuple(Dividend(ts.date(), float(v)) for ts, v in zip(
            paid["ts"], paid["dividend"], strict=True)),
        splits=tuple(Split(ts.date(), float(v)) for ts, v in zip(
            split["ts"], split["split"], strict=True)))


def require_key(settings: Settings) -> str:
    """Settings.alphavantage_api_key.

    Raises:
        MissingCredentialError: it is not set."""
    if not settings.alphavantage_api_key:
        raise MissingCredentialError(
            f"vendor {NAME!r} needs Settings.alphavantage_api_key, which is not set; set "
            "ALPHAVANTAGE_API_KEY to your Alpha Vantage API key")
    return settings.alphavantage_api_key


def _utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class _SymbolResult:
    bars: pd.DataFrame | None = None   # canonical-shaped rows in the window
    events: SymbolEvents = SymbolEvents()
    dropped: int = 0
    missing: str | None = None


class AlphaVantageProvider:
    """Daily bars from Alpha Vantage. `adjusted=False` (the default) calls the free
    TIME_SERIES_DAILY (raw OHLCV, adj_close NaN, no events); `adjusted=True` calls the premium
    TIME_SERIES_DAILY_ADJUSTED (adds adj_close, dividends and splits). Dates are exchange-local:
    `ts` is midnight UTC of the bar's date. One HttpClient per fetch."""

    name = NAME
    price_basis: PriceBasis = "raw"

    def __init__(self, settings: Settings, *, adjusted: bool = False,
                 rate_limit: RateLimit = DEFAULT_RATE,
                 throttle_retry: RetryPolicy = THROTTLE_RETRY,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                 today: Callable[[], date] = _utc_today) -> None:
        self._key = require_key(settings)
        self.base_url, self.rate_limit = settings.alphavantage_url, rate_limit
        self.adjusted = adjusted
        self.function = DAILY_ADJUSTED if adjusted else DAILY
        self._throttle_retry, self._today = throttle_retry, today
        self._clock, self._sleep = clock, sleep

    def __repr__(self) -> str:
        return (f"AlphaVantageProvider(function={self.function!r}, "
                f"base_url={self.base_url!r}, rate_limit={self.rate_limit!r})")

    def fetch(self, symbols: Sequence[str], start: date, end: date,
              interval: Interval = "1d") -> VendorFrame:
        """Bars of `symbols` for dates `start`..`end` inclusive, one request per symbol.

        Raises:
            InputError: no usable symbol list, end before start, or an interval other than 1d.
            RateLimitedError: still throttled after `throttle_retry`, or the daily quota is
                spent.
            VendorResponseError: a premium function or value without a premium key, a bad key,
                or an answer we cannot read.
        """
        wanted = parse_symbols(symbols)
        check_window(self.name, start, end, interval)
        size = choose_outputsize(start, self._today())
        with HttpClient(NAME, self.base_url, rate_limit=self.rate_limit, clock=self._clock,
                        sleep=self._sleep) as http:
            results = {s: self._fetch_symbol(http, s, size, start, end) for s in wanted}
        for symbol, result in results.items():
            if result.missing:
                log.info("%s: no data for %s: %s", NAME, symbol, result.missing)
        frames = [r.bars for r in results.values() if r.bars is not None and len(r.bars)]
        return VendorFrame(
            vendor=NAME, price_basis=self.price_basis,
            bars=canonical_bars(pd.concat(frames, ignore_index=True)) if frames
            else empty_bars(),
            events={s: r.events for s, r in results.items()
                    if self.adjusted and r.bars is not None},
            missing={s: r.missing for s, r in results.items() if r.missing},
            dropped={s: r.dropped for s, r in results.items() if r.dropped})

    def _fetch_symbol(self, http: HttpClient, symbol: str, size: str, start: date,
                      end: date) -> _SymbolResult:
        params = {"function": self.function, "symbol": symbol, "outputsize": size,
                  "datatype": "json", "apikey": self._key}
        for attempt in range(1, self._throttle_retry.attempts + 1):
            payload = self._get(http, params)
            notice = parse_notice(payload)
            if notice is None:
                return self._window(parse_daily_series(payload, symbol, adjusted=self.adjusted),
                                    symbol, start, end)
            if notice.kind == "invalid_call":
                return _SymbolResult(missing=self._unknown_symbol(symbol, notice))
            if notice.kind != "throttled" or attempt == self._throttle_retry.attempts:
                raise self._refusal(symbol, size, notice, attempt)
            wait = self._throttle_retry.wait(attempt, None)
            log.info("%s %s %s: throttled (%s), retrying in %.0f s", NAME, self.function,
                     symbol, self._redact(notice.text)[:80], wait)
            self._sleep(wait)
        raise AssertionError("unreachable: RetryPolicy.attempts must be >= 1")

    def _window(self, rows: pd.DataFrame, symbol: str, start: date, end: date) -> _SymbolResult:
        days = rows["ts"].dt.date
        rows = rows[(days >= start) & (days <= end)]
        bad = rows[["open", "high", "low", "close"]].isna().any(axis=1)
        kept = rows[~bad].assign(symbol=symbol, vendor=NAME)
        if kept.empty:
            why = (f"{NAME} {self.function} has no bars for {symbol!r} between {start} and "
                   f"{end}")
            return _SymbolResult(dropped=int(bad.sum()), missing=why)
        events = compute_events(kept)
        bars = kept.drop(columns=[c for c in ("dividend", "split") if c in kept.columns])
        return _SymbolResult(bars=bars, events=events, dropped=int(bad.sum()))

    def _get(self, http: HttpClient, params: Mapping[str, str]) -> Any:
        try:
            return http.get_json(QUERY_PATH, params)
        except SourceError as exc:
            if self._key not in str(exc):
                raise
            raise type(exc)(self._redact(str(exc))) from None  # the cause would repeat the key

    def _redact(self, text: str) -> str:
        return redact(text, [self._key])

    def _unknown_symbol(self, symbol: str, notice: Notice) -> str:
        return (f"{NAME} {self.function} does not know symbol {symbol!r} (vendor said "
                f"{self._redact(notice.text)[:160]!r})")

    def _refusal(self, symbol: str, size: str, notice: Notice,
                 attempts: int) -> SourceError:
        said = self._redact(notice.text)[:200]
        head = f"{NAME} refused {self.function} for {symbol!r} (vendor said {said!r})"
        if notice.kind == "throttled":
            return RateLimitedError(f"{head} after {attempts} attempts; wait a minute and "
                                    "retry, or fetch fewer symbols at once")
        if notice.kind == "daily_quota":
            return RateLimitedError(f"{head}: the daily request quota is spent; retry "
                                    "tomorrow or use a premium key")
        if notice.kind == "premium":
            return VendorResponseError(f"{head}: {self._premium_fix(size)}")
        if notice.kind == "bad_key":
            return VendorResponseError(f"{head}; check ALPHAVANTAGE_API_KEY")
        return VendorResponseError(f"{head}, expected {SERIES_KEY!r}; the API may have changed")

    def _premium_fix(self, size: str) -> str:
        if self.adjusted:
            return (f"{DAILY_ADJUSTED} needs a premium key; use adjusted=False ({DAILY}) or "
                    "a premium key")
        if size == "full":
            return (f"outputsize=full (a window starting more than {COMPACT_ROWS} sessions "
                    "ago) needs a premium key; start the window later or use a premium key")
        return f"{DAILY} needs a premium key here; use a premium key"


def _make(settings: Settings) -> AlphaVantageProvider:
    return AlphaVantageProvider(settings)


VENDOR = Vendor(NAME, _make, "Alpha Vantage TIME_SERIES_DAILY (free, raw OHLCV; key "
                "ALPHAVANTAGE_API_KEY, 5 calls/min)")
