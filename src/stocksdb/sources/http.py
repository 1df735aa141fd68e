"""The HTTP client every vendor shares: retries, backoff, a client-side rate limit, redaction.

In:  a vendor name, a base URL, plain and secret headers, a RateLimit, a RetryPolicy and an
     injectable clock/sleep pair (tests pass a fake one and never really sleep).
Out: decoded JSON from `get_json` / `post_json`, or our SourceError subclasses whose messages
     name the vendor, the redacted URL, the HTTP status and what to do.

Secrets never leave this module in clear: secret header values are kept out of repr() and
masked in every message, and query parameters such as `apiKey` are redacted by name wherever a
URL is logged or shown. Importing the module adds a redacting filter to the `httpx` logger,
which would otherwise log every full request URL (query string included) at INFO.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from types import TracebackType
from typing import Any

import httpx

from stocksdb.errors import ConfigError, RateLimitedError, VendorResponseError
from stocksdb.redact import redact

log = logging.getLogger(__name__)



def _package_version() -> str:
    """The installed distribution's version (a bare source tree has none: '0+unknown')."""
    try:
        return metadata.version("stocksdb")
    except metadata.PackageNotFoundError:
        return "0+unknown"


USER_AGENT = f"stocksdb/{_package_version()}"
# Query parameters that carry credentials at some vendor (Massive/Polygon `apiKey`, FRED
# `api_key`, Alpha Vantage `apikey`); compared case-insensitively.
SECRET_PARAMS = frozenset({"apikey", "api_key", "api-key", "access_token", "token", "secret",
                           "password"})
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_BODY_SNIPPET = 200

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def redact_url(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` (a URL or a message holding URLs) with secret query values and `secrets` as ***
    (stocksdb.redact.redact: one redaction for the whole code base)."""
    return redact(text, secrets)


def strip_secret_params(url: str) -> str:
    """`url` without its credential query parameters (we authenticate with headers instead)."""
    parsed = httpx.URL(url)
    for name in {n for n in parsed.params if n.lower() in SECRET_PARAMS}:
        parsed = parsed.copy_remove_param(name)
    return str(parsed)


class _RedactingFilter(logging.Filter):
    """Rewrites `httpx` log records so the URLs they print carry no secret query values."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        return True


def _install_httpx_filter() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactingFilter) for f in httpx_log.filters):
        httpx_log.addFilter(_RedactingFilter())


_install_httpx_filter()


@dataclass(frozen=True)
class RateLimit:
    """At most `calls` requests per `per_seconds`, as a token bucket holding up to `burst`
    tokens, refilled at calls / per_seconds tokens a second; a request takes one token and
    waits for it when the bucket is empty. With burst 1 (the default) requests are spaced
    evenly: consecutive requests start at least per_seconds / calls seconds apart."""

    calls: int
    per_seconds: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.calls < 1 or self.per_seconds <= 0 or self.burst < 1:
            raise ConfigError(f"rate limit {self.calls} calls per {self.per_seconds} s "
                              f"(burst {self.burst}) is invalid; expected calls >= 1, "
                              "per_seconds > 0 and burst >= 1")

    @property
    def interval(self) -> float:
        """Seconds to earn one token."""
        return self.per_seconds / self.calls


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry HTTP 429, 5xx and transport errors."""

    attempts: int = 4          # total tries, the first included
    first_wait: float = 1.0    # seconds before the second try; doubles for each later one
    max_wait: float = 60.0     # cap on any wait, a vendor's Retry-After included

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.first_wait < 0 or self.max_wait < 0:
            raise ConfigError(f"retry policy {self!r} is invalid; expected attempts >= 1 and "
                              "non-negative waits")

    def wait(self, failures: int, retry_after: float | None) -> float:
        """Seconds to wait after the `failures`-th failed try (1-based)."""
        wanted = retry_after if retry_after is not None else self.first_wait * 2 ** (failures - 1)
        return min(wanted, self.max_wait)


class _Spacing:
    """Token-bucket limiter (RateLimit) over an injectable clock; the bucket starts full."""

    def __init__(self, limit: RateLimit, clock: Clock, sleep: Sleep) -> None:
        self._interval, self._burst = limit.interval, float(limit.burst)
        self._clock, self._sleep = clock, sleep
        self._tokens: float = self._burst
        self._at: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._at is not None:
            self._tokens = min(self._burst, self._tokens + (now - self._at) / self._interval)
        self._at = now
        if self._tokens < 1.0:
            pause = (1.0 - self._tokens) * self._interval
            self._sleep(pause)
            self._at = max(self._clock(), now + pause)
            self._tokens = 1.0
        self._tokens -= 1.0


def _secret_values(secret_headers: Mapping[str, str]) -> tuple[str, ...]:
    """Header values to mask, and the token of 'Bearer <token>'-style values."""
    values = {v for v in secret_headers.values() if v}
    values |= {v.split()[-1] for v in values if " " in v.strip()}
    return tuple(sorted((v for v in values if len(v) >= 4), key=len, reverse=True))


def _retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds; None when absent or an HTTP date."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class HttpClient:
    """A thin wrapper over httpx.Client for one vendor (see the module docstring)."""

    def __init__(self, vendor: str, base_url: str, *, headers: Mapping[str, str] | None = None,
                 secret_headers: Mapping[str, str] | None = None,
                 rate_limit: RateLimit | None = None, retry: RetryPolicy | None = None,
                 timeout: float = 30.0, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.rate_limit = rate_limit
        self._base = httpx.URL(self.base_url)
        self._secrets = _secret_values(secret_headers or {})
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._spacing = _Spacing(rate_limit, clock, sleep) if rate_limit else None
        self._client = httpx.Client(
            headers={"User-Agent": USER_AGENT, **(headers or {}), **(secret_headers or {})},
            timeout=timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return (f"HttpClient(vendor={self.vendor!r}, base_url={self.redact(self.base_url)!r}, "
                f"rate_limit={self.rate_limit!r})")

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def redact(self, text: str) -> str:
        """`text` with this client's secrets and any secret query parameter masked."""
        return redact_url(text, self._secrets)

    def url(self, url_or_path: str, params: Mapping[str, Any] | None = None) -> str:
        """The absolute URL of a path under base_url, or of an absolute URL on its origin.

        Raises:
            VendorResponseError: if an absolute URL points at another origin (our credential
                headers must not travel there)."""
        if "://" in url_or_path:
            url = httpx.URL(url_or_path)
            if _origin(url) != _origin(self._base):
                raise VendorResponseError(
                    f"{self.vendor} URL {self.redact(url_or_path)!r} is outside the base URL "
                    f"{self.redact(self.base_url)!r}; refusing to send credentials there, "
                    "check the vendor's next_url or the configured base URL")
        else:
            url = httpx.URL(f"{self.base_url}/{url_or_path.lstrip('/')}")
        return str(url.copy_merge_params(dict(params)) if params else url)

    def get_json(self, url_or_path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON.

        Raises:
            RateLimitedError: if the vendor still answers 429 after every retry.
            VendorResponseError: on any other non-2xx answer, transport failure or non-JSON."""
        url = self.url(url_or_path, params)
        return self._decode(self._checked("GET", url, self._send("GET", url)), "GET", url)

    def get_json_or_none(self, url_or_path: str,
                         params: Mapping[str, Any] | None = None) -> Any | None:
        """Like get_json, but None when the vendor answers 404 (nothing known under that URL)."""
        url = self.url(url_or_path, params)
        response = self._send("GET", url)
        if response.status_code == 404:
            log.debug("%s GET %s: 404, nothing there", self.vendor, self.redact(url))
            return None
        return self._decode(self._checked("GET", url, response), "GET", url)

    def post_json(self, path: str, body: Any) -> Any:
        """POST `body` as JSON and decode the JSON answer; raises like get_json."""
        url = self.url(path)
        response = self._send("POST", url, body)
        return self._decode(self._checked("POST", url, response), "POST", url)

    def _send(self, method: str, url: str, body: Any = None) -> httpx.Response:
        """One logical request: rate-limited tries until a non-retryable answer."""
        shown = self.redact(url)
        for attempt in range(1, self._retry.attempts + 1):
            if self._spacing:
                self._spacing.wait()
            log.debug("%s %s %s (try %d)", self.vendor, method, shown, attempt)
            try:
                response = self._client.request(method, url, json=body)
            except httpx.TransportError as exc:
                if attempt == self._retry.attempts:
                    raise self._transport_error(method, shown, attempt, exc) from exc
                self._wait(attempt, None, method, shown, type(exc).__name__)
                continue
            if response.status_code not in _RETRY_STATUSES:
                return response
            if attempt == self._retry.attempts:
                raise self._status_error(method, shown, response, attempt)
            self._wait(attempt, _retry_after(response), method, shown,
                       f"HTTP {response.status_code}")
        raise AssertionError("unreachable: RetryPolicy.attempts must be >= 1")

    def _wait(self, failures: int, retry_after: float | None, method: str, shown: str,
              why: str) -> None:
        seconds = self._retry.wait(failures, retry_after)
        log.info("%s %s %s: %s, retrying in %.1f s", self.vendor, method, shown, why, seconds)
        self._sleep(seconds)

    def _checked(self, method: str, url: str, response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        raise self._status_error(method, self.redact(url), response, None)

    def _status_error(self, method: str, shown: str, response: httpx.Response,
                      attempts: int | None) -> VendorResponseError | RateLimitedError:
        status = response.status_code
        tried = f" after {attempts} attempts" if attempts else ""
        head = f"{self.vendor} answered HTTP {status} to {method} {shown!r}{tried}"
        if status == 429:
            return RateLimitedError(f"{head}, expected 2xx; wait a while and retry, or lower "
                                    f"the request rate for {self.vendor}")
        # redact before cutting: a cut through a secret would leave half of it readable
        said = self.redact(response.text[:_BODY_SNIPPET * 20])[:_BODY_SNIPPET].strip()
        if status >= 500:
            fix = "the vendor is failing; retry later"
        elif status in (401, 403):
            fix = f"check the API key configured for {self.vendor} and its plan"
        else:
            fix = "check the request and the configured base URL"
        return VendorResponseError(f"{head}, expected 2xx (vendor said {said!r}); {fix}")

    def _transport_error(self, method: str, shown: str, attempts: int,
                         exc: httpx.TransportError) -> VendorResponseError:
        return VendorResponseError(
            f"{self.vendor} could not be reached for {method} {shown!r} after {attempts} "
            f"attempts ({type(exc).__name__}: {self.redact(str(exc))}); check the network "
            "and the configured base URL")

    def _decode(self, response: httpx.Response, method: str, url: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "")
            raise VendorResponseError(
                f"{self.vendor} returned non-JSON for {method} {self.redact(url)!r} "
                f"(HTTP {response.status_code}, content type {kind!r}), expected JSON; check "
                "the configured base URL") from exc
