"""Massive REST reference data: the ticker universe and its ticker-change history.

In:  Settings.massive_api_url and the secret Settings.massive_api_key (sent only as
     `Authorization: Bearer <key>`, never in a URL); OpenFIGI for tickers Massive gives no
     composite FIGI.
Out: a ReferenceBatch (source "massive") of raw strings: `securities` (SECURITY_COLUMNS) and
     `ticker_history` (TICKER_HISTORY_COLUMNS, valid_to exclusive, None = open), each with a
     `source_key` column holding the redacted URL the row came from, plus SourceProblems for
     tickers without a FIGI (`figi_not_found`, `figi_lookup_error`) or without any start date
     (`no_start_date`).
Talks to: GET /v3/reference/tickers?market=stocks&active=true|false&limit=1000 (following
     next_url), then GET /vX/reference/tickers/{id}/events?types=ticker_change per security
     (reference/formats.md sections 2.4 and 2.5).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import quote

import pandas as pd

from stocksdb.config import Settings
from stocksdb.domain.reasons import Reason
from stocksdb.errors import MissingCredentialError, VendorResponseError
from stocksdb.sources.base import (
    SECURITY_COLUMNS,
    TICKER_HISTORY_COLUMNS,
    ReferenceBatch,
    SourceProblem,
)
from stocksdb.sources.http import Clock, HttpClient, RateLimit, Sleep, strip_secret_params
from stocksdb.sources.openfigi import MappingResult, OpenFigiClient

log = logging.getLogger(__name__)

SOURCE = "massive"
TICKERS_PATH = "/v3/reference/tickers"
EVENTS_PATH = "/vX/reference/tickers/{id}/events"
PAGE_LIMIT = 1000  # the documented maximum of the list endpoint
# Massive's free (Basic) plan allows 5 calls per minute; paid plans are unthrottled, so pass a
# looser RateLimit for them rather than relying on 429s.
MASSIVE_BASIC_RATE = RateLimit(calls=5, per_seconds=60)

Row = dict[str, str | None]
# (valid_from, ticker) of a ticker_change event: the ticker adopted on that date.
TickerChange = tuple[str, str]


@dataclass(frozen=True)
class _Listing:
    """One row of the tickers list, the redacted page URL it came from, and its FIGIs."""

    record: dict[str, Any]
    source_key: str
    active: bool
    figi: str | None           # from Massive, or filled in from OpenFIGI
    share_class_figi: str | None

    @property
    def ticker(self) -> str | None:
        return _text(self.record.get("ticker"))

    @property
    def events_id(self) -> str | None:
        """Massive's own composite FIGI when it gave one, else the ticker."""
        return _text(self.record.get("composite_figi")) or self.ticker


def massive_http(settings: Settings, *, rate_limit: RateLimit | None = MASSIVE_BASIC_RATE,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> HttpClient:
    """An HttpClient for Massive REST with the bearer key header.

    Raises:
        MissingCredentialError: if Settings.massive_api_key is not set."""
    key = require_key(settings)
    return HttpClient(SOURCE, settings.massive_api_url,
                      secret_headers={"Authorization": f"Bearer {key}"},
                      rate_limit=rate_limit, clock=clock, sleep=sleep)


def fetch_reference(settings: Settings, *, http: HttpClient | None = None,
                    openfigi: OpenFigiClient | None = None,
                    rate_limit: RateLimit | None = MASSIVE_BASIC_RATE) -> ReferenceBatch:
    """Securities and ticker history of every active and delisted US stock Massive lists.

    `http` and `openfigi` default to clients built from `settings` (`rate_limit` applies to
    the Massive one); clients passed in are not closed.

    Raises:
        MissingCredentialError: if Settings.massive_api_key is not set (before any request).
        VendorResponseError, RateLimitedError: if a vendor cannot be read."""
    require_key(settings)
    with ExitStack() as owned:
        if http is None:
            http = owned.enter_context(massive_http(settings, rate_limit=rate_limit))
        listings = _fetch_listings(http, active=True) + _fetch_listings(http, active=False)
        if openfigi is None and any(not i.figi and i.active for i in listings):
            openfigi = owned.enter_context(OpenFigiClient.from_settings(settings))
        listings, problems = _fill_figis(listings, openfigi)
        securities = _one_per_security(listings)
        history: list[Row] = []
        for item in securities:
            rows, problem = _fetch_history(http, item)
            history += rows
            problems += [problem] if problem else []
    log.info("massive reference: %d securities, %d ticker intervals, %d problems",
             len(securities), len(history), len(problems))
    return ReferenceBatch(
        source=SOURCE,
        securities=_frame([_security_row(item) for item in securities], SECURITY_COLUMNS),
        ticker_history=_frame(history, TICKER_HISTORY_COLUMNS),
        problems=tuple(problems))


def compute_ticker_intervals(changes: Iterable[TickerChange], *, end: str | None
                             ) -> list[tuple[str, str, str | None]]:
    """(ticker, valid_from, valid_to) per ticker_change event, valid_to exclusive.

    Events sorted by date give [date_i, date_i+1); the last interval ends at `end` (the
    delist date) or stays open (None) for a listed security. Raw dates are not validated."""
    ordered = sorted(changes)
    ends = [start for start, _ in ordered[1:]] + [end]
    return [(ticker, start, stop) for (start, ticker), stop in zip(ordered, ends, strict=True)]


def rate_limit_from_settings(settings: Settings) -> RateLimit | None:
    """Settings.massive_rest_calls_per_minute as a RateLimit; None (no cap) when it is 0."""
    per_minute = settings.massive_rest_calls_per_minute
    return RateLimit(per_minute, 60.0) if per_minute else None


def require_key(settings: Settings) -> str:
    if not settings.massive_api_key:
        raise MissingCredentialError(
            "source 'massive' needs Settings.massive_api_key, which is not set; set "
            "MASSIVE_API_KEY to your Massive REST API key")
    return settings.massive_api_key


def _fetch_listings(http: HttpClient, *, active: bool) -> list[_Listing]:
    """Every row of the tickers list for one `active` value, following next_url."""
    params = {"market": "stocks", "active": str(active).lower(), "limit": PAGE_LIMIT}
    return [_listing(record, shown, active)
            for record, shown in iter_pages(http, TICKERS_PATH, params, _page_results)]


T = TypeVar("T")
PageCheck = Callable[[Any, str], list[dict[str, Any]]]


def iter_pages(http: HttpClient, path: str, params: Mapping[str, Any],
               check: PageCheck) -> Iterator[tuple[dict[str, Any], str]]:
    """(record, redacted page URL) of every page, following next_url; `check` turns a page
    into its records or raises VendorResponseError."""
    url: str | None = http.url(path, dict(params))
    seen: set[str] = set()
    while url:
        shown = http.redact(url)
        if url in seen:
            raise VendorResponseError(
                f"massive next_url {shown!r} repeats an earlier page, expected a new cursor; "
                "retry later, and report it if it persists")
        seen.add(url)
        page = http.get_json(url)
        for record in _redacting(http, check, page, shown):
            yield record, shown
        url = _next_url(page, shown)


def _redacting(http: HttpClient, check: Callable[[Any, str], list[T]], payload: Any,
               shown: str) -> list[T]:
    """check(payload, shown), its VendorResponseError redacted: the error quotes the vendor's
    payload, which may echo our key (chained from None, so no traceback repeats it)."""
    try:
        return check(payload, shown)
    except VendorResponseError as exc:
        raise VendorResponseError(http.redact(str(exc))) from None


def _next_url(page: Any, shown: str) -> str | None:
    next_url = page.get("next_url") if isinstance(page, dict) else None
    if next_url is None or next_url == "":
        return None
    if not isinstance(next_url, str):
        raise VendorResponseError(
            f"massive page {shown!r} has next_url {next_url!r}, expected a URL string; "
            "report it, the API may have changed")
    # The key travels in the Authorization header; drop any apiKey the vendor echoes.
    return strip_secret_params(next_url)


def _page_results(page: Any, shown: str) -> list[dict[str, Any]]:
    results = page.get("results", []) if isinstance(page, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise VendorResponseError(
            f"massive page {shown!r} has results {repr(results)[:80]}, expected a list of "
            "ticker objects; check the configured MASSIVE_API_URL")
    return results


def _listing(record: dict[str, Any], source_key: str, requested_active: bool) -> _Listing:
    active = record.get("active")
    return _Listing(record, source_key,
                    active=active if isinstance(active, bool) else requested_active,
                    figi=_text(record.get("composite_figi")),
                    share_class_figi=_text(record.get("share_class_figi")))


def _fill_figis(listings: Sequence[_Listing], openfigi: OpenFigiClient | None
                ) -> tuple[list[_Listing], list[SourceProblem]]:
    """Listings that have a composite FIGI (filled from OpenFIGI where needed) and problems.

    Only listed tickers are looked up: OpenFIGI maps a ticker to its *current* holder, and a
    delisted ticker is often reused by another security."""
    wanted = [i.ticker for i in listings if not i.figi and i.active and i.ticker]
    found = openfigi.map_tickers(wanted) if openfigi and wanted else {}
    kept: list[_Listing] = []
    problems: list[SourceProblem] = []
    for item in listings:
        result = found.get(item.ticker or "")
        if item.figi:
            kept.append(item)
        elif result is not None and result.status == "found":
            kept.append(replace(item, figi=result.composite_figi,
                                share_class_figi=item.share_class_figi
                                or result.share_class_figi))
        else:
            problems.append(_figi_problem(item, result))
    return kept, problems


def _figi_problem(item: _Listing, result: MappingResult | None) -> SourceProblem:
    where = f"massive gives no composite_figi for ticker {item.ticker!r} ({item.source_key})"
    if result is None:
        detail = (f"{where}, and delisted tickers are not looked up on openfigi (a ticker "
                  "maps to its current holder); add the FIGI by hand if the security matters")
        return SourceProblem(Reason.FIGI_NOT_FOUND, detail, item.ticker, item.record)
    if result.status == "error":
        detail = f"{where}, and openfigi answered error {result.message!r}"
        return SourceProblem(Reason.FIGI_LOOKUP_ERROR, detail, item.ticker, item.record)
    detail = f"{where}, and openfigi found none ({result.message!r})"
    return SourceProblem(Reason.FIGI_NOT_FOUND, detail, item.ticker, item.record)


def _one_per_security(listings: Iterable[_Listing]) -> list[_Listing]:
    """One listing per composite FIGI: the listed one, else the most recently delisted."""
    best: dict[str, _Listing] = {}
    for item in listings:
        assert item.figi is not None  # _fill_figis keeps only listings with a FIGI
        current = best.get(item.figi)
        if current is None or _recency(item) > _recency(current):
            best[item.figi] = item
    return list(best.values())


def _recency(item: _Listing) -> tuple[bool, str]:
    return item.active, _text(item.record.get("delisted_utc")) or ""


def _fetch_history(http: HttpClient, item: _Listing) -> tuple[list[Row], SourceProblem | None]:
    """Ticker intervals of one security from its ticker_change events, else its list_date."""
    path = EVENTS_PATH.format(id=quote(item.events_id or "", safe=""))
    url = http.url(path, {"types": "ticker_change"})
    changes = _redacting(http, _ticker_changes, http.get_json_or_none(url), http.redact(url))
    end = None if item.active else _date(item.record.get("delisted_utc"))
    source_key = http.redact(url)
    if not changes:
        start = _date(item.record.get("list_date"))
        if start is None or item.ticker is None:
            detail = (f"massive has no ticker_change events and no list_date for ticker "
                      f"{item.ticker!r} ({item.figi}), so its ticker interval has no start; "
                      "add it to ticker_history by hand if needed")
            return [], SourceProblem(Reason.NO_START_DATE, detail, item.ticker,
                                     item.record)
        changes, source_key = [(start, item.ticker)], item.source_key
    return [{"composite_figi": item.figi, "ticker": ticker, "valid_from": valid_from,
             "valid_to": valid_to, "source_key": source_key}
            for ticker, valid_from, valid_to in compute_ticker_intervals(changes, end=end)], None


def _ticker_changes(payload: Any, shown: str) -> list[TickerChange]:
    """(date, ticker) of each ticker_change event; [] when Massive knows no events (404)."""
    if payload is None:
        return []
    results = payload.get("results") if isinstance(payload, dict) else None
    events = results.get("events") if isinstance(results, dict) else None
    if not isinstance(events, list):
        raise VendorResponseError(
            f"massive events answer {shown!r} has no results.events list "
            f"({repr(payload)[:80]}); check the configured MASSIVE_API_URL")
    changes: list[TickerChange] = []
    for event in events:
        if not isinstance(event, dict) or event.get("type") != "ticker_change":
            continue
        change = event.get("ticker_change")
        ticker = _text(change.get("ticker")) if isinstance(change, dict) else None
        start = _date(event.get("date"))
        if ticker is None or start is None:
            raise VendorResponseError(
                f"massive ticker_change event {event!r} in {shown!r} lacks a date or "
                "ticker_change.ticker; report it, the API may have changed")
        changes.append((start, ticker))
    return changes


def _security_row(item: _Listing) -> Row:
    record = item.record
    currency = _text(record.get("currency_name"))
    return {
        "composite_figi": item.figi, "share_class_figi": item.share_class_figi,
        "name": _text(record.get("name")), "security_type": _text(record.get("type")),
        "primary_exchange": _text(record.get("primary_exchange")),
        "currency": currency.upper() if currency else None,
        "cik": _text(record.get("cik")), "list_date": _date(record.get("list_date")),
        "delist_date": _date(record.get("delisted_utc")),
        "active": "true" if item.active else "false", "source_key": item.source_key,
    }


def _text(value: Any) -> str | None:
    """A vendor value as text; None for missing or empty."""
    return None if value is None or value == "" else str(value)


def _date(value: Any) -> str | None:
    """The 'YYYY-MM-DD' part of a date or UTC timestamp string."""
    text = _text(value)
    return text[:10] if text else None


def _frame(rows: list[Row], columns: Sequence[str]) -> pd.DataFrame:
    # object dtype keeps None as None (pandas' string dtype would turn it into NaN).
    return pd.DataFrame(rows, columns=[*columns, "source_key"], dtype=object)
