"""OpenFIGI v3 mapping: US tickers -> composite FIGI, share-class FIGI, name, security type.

In:  tickers; Settings.openfigi_api_url and the optional secret Settings.openfigi_api_key.
Out: {ticker: MappingResult}, one per distinct ticker: found, not found (the vendor's warning)
     or error (the vendor's message). Whole-request failures raise SourceError subclasses.
Talks to: POST {openfigi_api_url}/v3/mapping with jobs {"idType": "TICKER", "idValue": t,
     "exchCode": "US"}, in batches of 10 jobs without a key and 100 with one, at the documented
     rate of 25 requests per minute without a key and 25 per 6 seconds with one
     (reference/formats.md section 3). The key travels only in the X-OPENFIGI-APIKEY header.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Literal

from stocksdb.config import Settings
from stocksdb.errors import ConfigError, VendorResponseError
from stocksdb.sources.http import Clock, HttpClient, RateLimit, Sleep

VENDOR = "openfigi"
MAPPING_PATH = "/v3/mapping"
US_EXCHANGE = "US"  # the composite (country-level) listing, not a venue such as UN or UW
ANONYMOUS_BATCH_SIZE = 10
KEYED_BATCH_SIZE = 100
ANONYMOUS_RATE = RateLimit(calls=25, per_seconds=60)
KEYED_RATE = RateLimit(calls=25, per_seconds=6)

MappingStatus = Literal["found", "not_found", "error"]


@dataclass(frozen=True)
class MappingResult:
    """What OpenFIGI said about one ticker; the FIGI fields are set only when status is 'found'.

    `message` is the vendor's own text for 'not_found' (its warning) and 'error'."""

    ticker: str
    status: MappingStatus
    composite_figi: str | None = None
    share_class_figi: str | None = None
    name: str | None = None
    security_type: str | None = None
    message: str | None = None


def openfigi_http(settings: Settings, *, clock: Clock = time.monotonic,
                  sleep: Sleep = time.sleep) -> HttpClient:
    """An HttpClient for OpenFIGI: key header only when a key is set, and the matching rate."""
    key = settings.openfigi_api_key
    return HttpClient(VENDOR, settings.openfigi_api_url,
                      secret_headers={"X-OPENFIGI-APIKEY": key} if key else None,
                      rate_limit=KEYED_RATE if key else ANONYMOUS_RATE, clock=clock, sleep=sleep)


class OpenFigiClient:
    """Maps tickers through an OpenFIGI HttpClient, `batch_size` jobs per request."""

    def __init__(self, http: HttpClient, *, batch_size: int = ANONYMOUS_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ConfigError(f"openfigi batch_size is {batch_size}; expected at least 1")
        self.http = http
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: Settings, *, batch_size: int | None = None,
                      clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> OpenFigiClient:
        """A client sized for the settings: 100 jobs per request with a key, 10 without."""
        default = KEYED_BATCH_SIZE if settings.openfigi_api_key else ANONYMOUS_BATCH_SIZE
        return cls(openfigi_http(settings, clock=clock, sleep=sleep),
                   batch_size=batch_size or default)

    def __repr__(self) -> str:
        return f"OpenFigiClient(http={self.http!r}, batch_size={self.batch_size})"

    def __enter__(self) -> OpenFigiClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying HttpClient."""
        self.http.close()

    def map_tickers(self, tickers: Sequence[str]) -> dict[str, MappingResult]:
        """One MappingResult per distinct ticker, in first-seen order.

        Raises:
            VendorResponseError: if an answer is not one result per job, in request order.
            RateLimitedError: if OpenFIGI keeps answering 429."""
        distinct = list(dict.fromkeys(tickers))
        results: dict[str, MappingResult] = {}
        for start in range(0, len(distinct), self.batch_size):
            batch = distinct[start:start + self.batch_size]
            results.update(self._map_batch(batch))
        return results

    def _map_batch(self, batch: Sequence[str]) -> dict[str, MappingResult]:
        jobs = [{"idType": "TICKER", "idValue": t, "exchCode": US_EXCHANGE} for t in batch]
        payload = self.http.post_json(MAPPING_PATH, jobs)
        if not isinstance(payload, list) or len(payload) != len(jobs):
            got = (f"{len(payload)} results" if isinstance(payload, list)
                   else self.http.redact(repr(payload))[:80])
            raise VendorResponseError(
                f"openfigi answered {got} for {len(jobs)} mapping jobs (first ticker "
                f"{batch[0]!r}), expected one result per job in request order; retry, and "
                "report it if it persists")
        # The vendor's text may echo our key ("bad key ..."): it is stored and shown later.
        return {t: _redacted(parse_mapping_result(t, element), self.http)
                for t, element in zip(batch, payload, strict=True)}


def _redacted(result: MappingResult, http: HttpClient) -> MappingResult:
    if result.message is None:
        return result
    return replace(result, message=http.redact(result.message))


def parse_mapping_result(ticker: str, element: Any) -> MappingResult:
    """The MappingResult for one element of a /v3/mapping answer.

    `{"data": [...]}` -> the row with exchCode 'US' (else the first row); `{"warning": ...}`
    -> not found; `{"error": ...}` -> error with the vendor's message.

    Raises:
        VendorResponseError: if the element is none of these shapes."""
    if isinstance(element, dict) and isinstance(element.get("data"), list):
        return _found(ticker, element["data"])
    if isinstance(element, dict) and "warning" in element:
        return MappingResult(ticker, "not_found", message=str(element["warning"]))
    if isinstance(element, dict) and "error" in element:
        return MappingResult(ticker, "error", message=str(element["error"]))
    raise VendorResponseError(
        f"openfigi result for ticker {ticker!r} is {repr(element)[:120]}, expected an object "
        "with 'data', 'warning' or 'error'; the API may have changed, check reference/formats.md")


def _found(ticker: str, rows: list[Any]) -> MappingResult:
    dicts = [r for r in rows if isinstance(r, dict)]
    if not dicts:
        return MappingResult(ticker, "not_found", message="openfigi returned no data rows")
    row = next((r for r in dicts if r.get("exchCode") == US_EXCHANGE), dicts[0])
    if not row.get("compositeFIGI"):
        return MappingResult(ticker, "not_found",
                             message=f"openfigi row {row.get('figi')!r} has no compositeFIGI")
    return MappingResult(ticker, "found", composite_figi=row["compositeFIGI"],
                         share_class_figi=row.get("shareClassFIGI"), name=row.get("name"),
                         security_type=row.get("securityType"))
