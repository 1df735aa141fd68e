"""FRED's ALFRED answers: every vintage of a series and its metadata, from the API or files.

In:  Settings.fred_url and the secret Settings.fred_api_key (sent as `api_key`, which HttpClient
     redacts wherever a URL is shown), series ids; or a files tree DIR/macro/ (docs/macro.md):
       macro/observations/<ID>.json  FRED's answer to the observations request below (required)
       macro/series/<ID>.json        FRED's answer to GET /fred/series?series_id=<ID> (optional)
Out: one SeriesAnswer per series: the observation objects of FRED's answer to
       GET /fred/series/observations?series_id=<ID>&realtime_start=1776-07-04
           &realtime_end=9999-12-31[&observation_start=..&observation_end=..]&file_type=json
     (all vintages, every page joined), and the series' metadata when it was read.
     `parse_vintage_rows` turns the objects into domain Vintages; an object it cannot read is a
     problem (reason, detail, raw), never a guess. FRED's "." becomes value None, never 0.

A series FRED does not have (HTTP 400 "The series does not exist.", or 404 as it answered until
about 2020) is an answer with `missing` set, so one bad id does not stop the others.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from stocksdb.config import Settings
from stocksdb.domain.macro import REALTIME_FIRST, REALTIME_LAST, Vintage
from stocksdb.domain.reasons import Reason
from stocksdb.errors import InputError, InputFileError, SourceError, VendorResponseError
from stocksdb.redact import redact
from stocksdb.sources.fred import (
    DEFAULT_RATE,
    MISSING_VALUE,
    NAME,
    OBSERVATIONS_PATH,
    require_key,
)
from stocksdb.sources.http import Clock, HttpClient, Sleep

SERIES_PATH = "/fred/series"
OBSERVATIONS_LIMIT = 100_000          # FRED's largest page of observations
MACRO_DIR = Path("macro")
_SERIES_ID = re.compile(r"^[A-Z0-9_]{1,64}$")
_NO_SUCH_SERIES = "series does not exist"

Problem = tuple[Reason, str, dict[str, Any]]     # (reason, detail, raw object)


@dataclass(frozen=True)
class SeriesInfo:
    """FRED's metadata of one series (GET /fred/series)."""

    series_id: str
    title: str | None
    frequency: str | None
    units: str | None
    seasonal_adjustment: str | None
    notes: str | None
    last_updated: datetime | None         # FRED's `last_updated`, with its UTC offset


@dataclass(frozen=True)
class SeriesAnswer:
    """What one series' source said: FRED's observation objects as answered, its metadata
    (None when not read), where it came from, and why there is nothing (None: there is)."""

    series_id: str
    rows: list[Any]
    info: SeriesInfo | None
    source_key: str                       # request path (never the key) or file path
    missing: str | None = None


def parse_series_id(text: str, param: str = "series") -> str:
    """A FRED series id, upper-cased ('gdp' -> 'GDP').

    Raises:
        InputError: it is not 1-64 letters, digits or underscores (it also names a file)."""
    series_id = text.strip().upper()
    if not _SERIES_ID.match(series_id):
        raise InputError(f"parameter `{param}` holds {text!r}, which is not a FRED series id; "
                         "expected letters, digits or underscores, such as GDP or CPIAUCSL")
    return series_id


def fetch_pages(http: HttpClient, path: str, params: Mapping[str, Any], list_key: str, *,
                limit: int) -> list[Any]:
    """Every element of `list_key` over the pages FRED answers for `params` (limit/offset),
    until `count` elements arrived or a page is empty.

    Raises:
        VendorResponseError, RateLimitedError: a page failed after retries or lacks the list.
    """
    rows: list[Any] = []
    while True:
        payload = http.get_json(path, {**params, "limit": limit, "offset": len(rows)})
        page = payload.get(list_key) if isinstance(payload, dict) else None
        if not isinstance(page, list):
            raise VendorResponseError(
                f"{NAME} answer to {path} has no {list_key!r} list ({repr(payload)[:80]}); "
                "check the configured STOCKSDB_FRED_URL")
        rows += page
        count = payload.get("count")
        if not page or not isinstance(count, int) or len(rows) >= count:
            return rows


def parse_series_info(payload: Any, series_id: str) -> SeriesInfo:
    """The entry of `series_id` in a GET /fred/series answer.

    Raises:
        VendorResponseError: the answer has no `seriess` entry for the id."""
    entries = payload.get("seriess") if isinstance(payload, dict) else None
    entry = next((e for e in entries or [] if isinstance(e, dict)
                  and str(e.get("id", "")).upper() == series_id), None)
    if entry is None:
        raise VendorResponseError(f"{NAME} series answer has no entry for {series_id!r} "
                                  f"({repr(payload)[:80]}); expected seriess[].id")
    updated = entry.get("last_updated")
    try:
        last_updated = datetime.fromisoformat(updated) if updated else None
    except (TypeError, ValueError) as exc:
        raise VendorResponseError(f"{NAME} series {series_id!r} last_updated {updated!r} is "
                                  "not 'YYYY-MM-DD HH:MM:SS-HH'") from exc

    def text(name: str) -> str | None:
        value = entry.get(name)
        return str(value) if value not in (None, "") else None

    return SeriesInfo(series_id, text("title"), text("frequency"), text("units"),
                      text("seasonal_adjustment"), text("notes"), last_updated)


def parse_vintage_rows(rows: Sequence[Any], start: date | None = None,
                       end: date | None = None) -> tuple[list[Vintage], list[Problem]]:
    """The vintages of observation dates start..end (inclusive; None: unbounded) in answer
    order; objects without ISO dates, with a value that is neither a finite number nor ".",
    with realtime_end before realtime_start, or repeating a (date, realtime_start) are
    problems."""
    vintages: list[Vintage] = []
    problems: list[Problem] = []
    seen: set[tuple[date, date]] = set()
    for row in rows:
        vintage = _vintage(row)
        if not isinstance(vintage, Vintage):
            problems.append(vintage)
        elif (start and vintage.obs_date < start) or (end and vintage.obs_date > end):
            continue
        elif (vintage.obs_date, vintage.realtime_start) in seen:
            problems.append((Reason.DUPLICATE_KEY, f"observation {vintage.obs_date} has vintage "
                             f"{vintage.realtime_start} twice; the first is kept", _raw(row)))
        else:
            seen.add((vintage.obs_date, vintage.realtime_start))
            vintages.append(vintage)
    return vintages, problems


def _raw(row: Any) -> dict[str, Any]:
    return dict(row) if isinstance(row, dict) else {"row": repr(row)[:200]}


def _vintage(row: Any) -> Vintage | Problem:
    try:
        day, first, last = (date.fromisoformat(row[k])
                            for k in ("date", "realtime_start", "realtime_end"))
    except (KeyError, TypeError, ValueError):
        return (Reason.INVALID_DATE, "observation lacks an ISO date, realtime_start or "
                "realtime_end", _raw(row))
    text = row.get("value")
    try:
        value = None if text == MISSING_VALUE else float(text)
    except (TypeError, ValueError):
        return (Reason.UNPARSEABLE_VALUE, f"observation {day} value {text!r} is neither a "
                "number nor '.'", _raw(row))
    if value is not None and not math.isfinite(value):
        return (Reason.NON_FINITE_VALUE, f"observation {day} value {text!r} is not finite",
                _raw(row))
    if last < first:
        return (Reason.INVERTED_REALTIME_RANGE, f"observation {day} vintage ends {last}, "
                f"before it starts {first}", _raw(row))
    return Vintage(day, value, first, last)


class FredVintages:
    """ALFRED answers from FRED's API (see the module docstring); one HttpClient per use."""

    def __init__(self, settings: Settings, *, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        self._key = require_key(settings)
        self._url, self._clock, self._sleep = settings.fred_url, clock, sleep

    def __repr__(self) -> str:
        return f"FredVintages(base_url={self._url!r})"

    def answers(self, series: Sequence[str], start: date | None,
                end: date | None) -> Iterator[SeriesAnswer]:
        """Each series' answer in turn (fetched when the caller asks for it).

        Raises:
            VendorResponseError, RateLimitedError: FRED failed after retries, refused the
                key, or answered something we cannot read.
        """
        with HttpClient(NAME, self._url, rate_limit=DEFAULT_RATE, clock=self._clock,
                        sleep=self._sleep) as http:
            for series_id in series:
                yield self._answer(http, series_id, start, end)

    def _answer(self, http: HttpClient, series_id: str, start: date | None,
                end: date | None) -> SeriesAnswer:
        params = {"series_id": series_id, "realtime_start": REALTIME_FIRST.isoformat(),
                  "realtime_end": REALTIME_LAST.isoformat(), "file_type": "json",
                  "api_key": self._key}
        if start:
            params["observation_start"] = start.isoformat()
        if end:
            params["observation_end"] = end.isoformat()
        key = f"{OBSERVATIONS_PATH}?series_id={series_id}"
        try:
            rows = fetch_pages(http, OBSERVATIONS_PATH, params, "observations",
                               limit=OBSERVATIONS_LIMIT)
            # A 404 here means "nothing known under that URL" (HttpClient); the series then
            # keeps what its observations give, as a files tree without series/<ID>.json does.
            about = http.get_json_or_none(SERIES_PATH, {
                "series_id": series_id, "file_type": "json", "api_key": self._key})
            info = parse_series_info(about, series_id) if about is not None else None
        except SourceError as exc:
            why = self._no_such_series(exc)
            return SeriesAnswer(series_id, [], None, key, missing=why)
        return SeriesAnswer(series_id, rows, info, key)

    def _no_such_series(self, exc: SourceError) -> str:
        """Why the series is missing, when FRED says it does not exist; else re-raise."""
        text = str(exc)
        # FRED's 400 for an unknown id says {"error_code":400,"error_message":"Bad Request.
        # The series does not exist."}; a bad key or parameter says something else.
        if ("HTTP 400" in text or "HTTP 404" in text) and _NO_SUCH_SERIES in text.lower():
            return f"{NAME} says the series does not exist; check the id"
        if self._key in text:
            raise type(exc)(redact(text, [self._key])) from None  # the cause repeats the key
        raise exc


def series_in_tree(root: Path) -> list[str]:
    """The series ids of DIR/macro/observations/*.json, sorted.

    Raises:
        InputFileError: the folder is missing.
        InputError: a file name is not a series id."""
    folder = root / MACRO_DIR / "observations"
    if not folder.is_dir():
        raise InputFileError(f"macro folder {str(folder)!r} is missing; expected FRED answers "
                             "named <SERIES_ID>.json there (docs/macro.md)")
    return sorted(parse_series_id(p.stem, "file name") for p in folder.glob("*.json"))


def read_series_answer(root: Path, series_id: str) -> SeriesAnswer:
    """The recorded answers of one series under DIR/macro/ (docs/macro.md).

    Raises:
        InputFileError: the observations file is missing, not JSON, not a whole answer (one
            page of more), or the series file is not a series answer for the id."""
    path = root / MACRO_DIR / "observations" / f"{series_id}.json"
    if not path.is_file():
        return SeriesAnswer(series_id, [], None, str(path),
                            missing=f"no file {str(path)!r} in the macro folder")
    payload, rows = read_whole_answer(path, "observations", "observations")
    info_path = root / MACRO_DIR / "series" / f"{series_id}.json"
    info = None
    if info_path.is_file():
        try:
            info = parse_series_info(read_macro_json(info_path), series_id)
        except VendorResponseError as exc:
            raise InputFileError(f"macro file {str(info_path)!r}: {exc}") from exc
    return SeriesAnswer(series_id, rows, info, str(path))


def read_whole_answer(path: Path, key: str, what: str) -> tuple[Any, list[Any]]:
    """A FRED answer under the macro folder and its `key` list, all pages of it.

    Raises:
        InputFileError: unreadable, not JSON, or `key` is not a list holding the answer's
            `count` entries (one page of more)."""
    payload = read_macro_json(path)
    rows = payload.get(key) if isinstance(payload, dict) else None
    count = payload.get("count") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or (isinstance(count, int) and count > len(rows)):
        raise InputFileError(f"macro file {str(path)!r} is not a whole FRED {what} answer "
                             f"({key} list with `count` {count!r} entries); save every page "
                             "joined in one answer")
    return payload, rows


def read_macro_json(path: Path) -> Any:
    """A FRED answer saved under the macro folder.

    Raises:
        InputFileError: unreadable or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"macro file {str(path)!r} is unreadable or not JSON ({exc}); "
                             "expected a FRED answer saved as JSON") from exc
