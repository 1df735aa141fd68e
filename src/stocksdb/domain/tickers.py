"""Ticker intervals: parsing, overlap acceptance, and point-in-time resolution.

In:  raw ticker_history rows (dicts as the vendor or file sent them) and the composite FIGI ->
     security_id map; or stored intervals. Out: validated `Interval`s, the rows refused with a
     reason, and `TickerIntervals`, the one resolver of "which security did this ticker name
     on this day" that the loader, corporate actions, the read API and db.queries share;
     its security -> ticker lookup is `TickerSpans`, which the read API also builds straight
     from arrays (db.names) for thousands of securities at once.
Pure: no database. Intervals are half-open [valid_from, valid_to); valid_to None is open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from stocksdb.domain.fields import parse_date, parse_optional_date, parse_ticker
from stocksdb.domain.identifiers import is_valid_figi
from stocksdb.domain.reasons import Reason
from stocksdb.types import SecurityId

_FAR = date(9999, 12, 31)
OPEN_ORDINAL = date.max.toordinal() + 1     # the day ordinal an open interval ends before
_EPOCH = date(1970, 1, 1).toordinal()       # numpy datetime64[D] counts days from here
DAY_BITS = 22                              # every day ordinal (<= 3,652,059) fits in 22 bits


@dataclass(frozen=True)
class Interval:
    """A validated ticker interval; valid_to exclusive, None = open."""

    ticker: str
    valid_from: date
    valid_to: date | None
    security_id: int
    source_key: str | None = None

    def overlaps(self, other: Interval) -> bool:
        return (self.valid_from < (other.valid_to or _FAR)
                and other.valid_from < (self.valid_to or _FAR))

    def covers(self, day: date) -> bool:
        """True when the ticker named the security on `day`."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    def describe(self) -> str:
        return (f"{self.ticker} [{self.valid_from}, {self.valid_to or 'open'}) of security "
                f"{self.security_id}")


def parse_interval(raw: Mapping[str, Any], ids: Mapping[str, int]
                   ) -> Interval | tuple[Reason, str]:
    """A validated interval, or (reason, detail); `ids` maps composite FIGI -> security_id."""
    figi = (raw.get("composite_figi") or "").strip()
    if not is_valid_figi(figi):
        return Reason.INVALID_FIGI, f"composite_figi {raw.get('composite_figi')!r} is not a FIGI"
    try:
        ticker = parse_ticker(raw.get("ticker"))
    except ValueError as exc:
        return Reason.INVALID_TICKER, str(exc)
    try:
        start = parse_date(raw.get("valid_from") or "", "valid_from")
        end = parse_optional_date(raw.get("valid_to"), "valid_to")
    except ValueError as exc:
        return Reason.INVALID_DATE, str(exc)
    if end is not None and end <= start:
        return Reason.EMPTY_INTERVAL, (f"valid_to {end} is not after valid_from {start}; "
                                       "valid_to is exclusive")
    if figi not in ids:
        return Reason.UNKNOWN_SECURITY, (f"composite_figi {figi!r} is not in securities; "
                                         "run securities_master first")
    return Interval(ticker, start, end, ids[figi], raw.get("source_key"))


# An interval refused by accept_intervals: the interval, why, and a detail naming the clash.
Refused = tuple[Interval, Reason, str]


def accept_intervals(candidates: Iterable[Interval], kept: Iterable[Interval]
                     ) -> tuple[list[Interval], list[Refused]]:
    """First come (by valid_from, then ticker, then security) wins: a candidate overlapping a
    kept interval or an earlier accepted one of the same ticker is refused with
    `ticker_interval_overlap`; one giving its security two tickers at once with
    `security_ticker_overlap`."""
    by_ticker: dict[str, list[Interval]] = {}
    by_security: dict[int, list[Interval]] = {}

    def add(iv: Interval) -> None:
        by_ticker.setdefault(iv.ticker, []).append(iv)
        by_security.setdefault(iv.security_id, []).append(iv)

    for iv in kept:
        add(iv)
    accepted: list[Interval] = []
    refused: list[Refused] = []
    for iv in sorted(candidates, key=lambda i: (i.valid_from, i.ticker, i.security_id)):
        clash_t = next((o for o in by_ticker.get(iv.ticker, []) if o.overlaps(iv)), None)
        clash_s = next((o for o in by_security.get(iv.security_id, []) if o.overlaps(iv)), None)
        clash = clash_t or clash_s
        if clash is not None:
            reason = (Reason.TICKER_INTERVAL_OVERLAP if clash_t is not None
                      else Reason.SECURITY_TICKER_OVERLAP)
            refused.append((iv, reason, f"{iv.describe()} overlaps {clash.describe()}"))
            continue
        accepted.append(iv)
        add(iv)
    return accepted, refused


class TickerIntervals:
    """Point-in-time ticker <-> security resolution over a set of intervals.

    Answers exactly as the SQL function `stocks_research.resolve_ticker(ticker, day)`: the
    ticker is compared upper-cased, valid_from is inclusive, valid_to exclusive (None = open),
    and should intervals of one ticker overlap, the latest valid_from wins (the stored table
    cannot hold overlaps: a trigger refuses them).
    """

    def __init__(self, intervals: Iterable[Interval]) -> None:
        self.intervals: tuple[Interval, ...] = tuple(
            sorted(intervals, key=lambda i: (i.ticker, i.valid_from, i.security_id)))
        self._by_ticker: dict[str, list[Interval]] = {}
        for iv in reversed(self.intervals):                 # latest valid_from first
            self._by_ticker.setdefault(iv.ticker, []).append(iv)
        n = len(self.intervals)
        self._tickers = np.array([i.ticker for i in self.intervals], dtype=object)
        self._ids = np.fromiter((i.security_id for i in self.intervals), np.int64, n)
        self._from = np.fromiter((i.valid_from.toordinal() for i in self.intervals), np.int64, n)
        self._to = np.fromiter((i.valid_to.toordinal() if i.valid_to else OPEN_ORDINAL
                                for i in self.intervals), np.int64, n)
        # Equal tickers share a code (the intervals are sorted by ticker): the live interval
        # of a ticker is found in numpy, with no dict of the day's tickers built.
        same = self._tickers[1:] == self._tickers[:-1] if n else np.zeros(0, dtype=bool)
        self._codes = np.cumsum(np.r_[True, ~np.asarray(same, dtype=bool)]) if n \
            else np.zeros(0, dtype=np.int64)
        by_security = np.lexsort((self._from, self._ids))
        self._spans = TickerSpans(self._ids[by_security], self._from[by_security],
                                  self._to[by_security], self._tickers[by_security])

    def __len__(self) -> int:
        return len(self.intervals)

    def resolve(self, ticker: str, day: date) -> SecurityId | None:
        """The security `ticker` named on `day`, or None."""
        held = next((iv for iv in self._by_ticker.get(ticker.upper(), ()) if iv.covers(day)),
                    None)
        return SecurityId(held.security_id) if held else None

    def last_holder(self, ticker: str, day: date) -> SecurityId | None:
        """The security `ticker` named on `day`; if none did, the last one it named before
        `day`; None if it named none on or before `day`."""
        held = self.resolve(ticker, day)
        if held is not None:
            return held
        before = next((iv for iv in self._by_ticker.get(ticker.upper(), ())
                       if iv.valid_from <= day), None)
        return SecurityId(before.security_id) if before else None

    def next_holder(self, ticker: str, day: date) -> SecurityId | None:
        """The first security `ticker` named after `day` (e.g. a company that filed before
        its listing), or None."""
        later = [iv for iv in self._by_ticker.get(ticker.upper(), ()) if iv.valid_from > day]
        first = min(later, key=lambda iv: iv.valid_from, default=None)
        return SecurityId(first.security_id) if first else None

    @property
    def ticker_array(self) -> np.ndarray[Any, Any]:
        """Every interval's ticker (object), in the order live_index refers to."""
        return self._tickers

    @property
    def id_array(self) -> np.ndarray[Any, Any]:
        """Every interval's security id (int64), in the order live_index refers to."""
        return self._ids

    def live_index(self, day: date) -> np.ndarray[Any, Any]:
        """The intervals that on(day) answers with, as positions in ticker_array: one per
        ticker valid on `day` (its latest valid_from), in ticker order."""
        ordinal = day.toordinal()
        live = np.flatnonzero((self._from <= ordinal) & (ordinal < self._to))
        codes = self._codes[live]
        last = np.ones(len(live), dtype=bool)
        last[:-1] = codes[1:] != codes[:-1]      # a later interval of a ticker wins, as in on()
        return live[last]

    def on(self, day: date) -> dict[str, SecurityId]:
        """Every ticker valid on `day` -> the security it named (one entry per ticker)."""
        ordinal = day.toordinal()
        live = (self._from <= ordinal) & (ordinal < self._to)
        # Sorted by (ticker, valid_from): a later interval of a ticker overwrites an earlier.
        return dict(zip(self._tickers[live].tolist(), self._ids[live].tolist(), strict=True))

    def ticker_of(self, security_id: int, day: date) -> str | None:
        """The ticker of `security_id` on `day`, or None."""
        found = self.tickers_of(np.array([security_id], dtype=np.int64),
                                np.array([day], dtype="datetime64[D]"))
        return str(found[0]) if found[0] is not None else None

    def tickers_of(self, security_ids: Any, days: Any) -> Any:
        """Vectorised ticker_of: int64 security ids and datetime64[D] days of equal length ->
        an object array of tickers (None where the security had no ticker that day)."""
        return self._spans.tickers_of(security_ids, days)


class TickerSpans:
    """Ticker intervals as parallel arrays sorted by (security_id, valid_from): the
    security -> ticker lookup of many bars at once, built without an `Interval` per row.

    Days are date ordinals (date.toordinal()); an open interval ends at OPEN_ORDINAL. Answers
    as TickerIntervals.ticker_of: the interval of the security with the latest valid_from on
    or before the day, if it has not ended by then.
    """

    def __init__(self, security_ids: Any, valid_from: Any, valid_to: Any, tickers: Any) -> None:
        self._ids = np.asarray(security_ids, dtype=np.int64)
        self._to = np.asarray(valid_to, dtype=np.int64)
        self._tickers = np.asarray(tickers, dtype=object)
        self._keys = (self._ids << DAY_BITS) | np.asarray(valid_from, dtype=np.int64)

    @property
    def tickers(self) -> Any:
        """The intervals' tickers (object array), in the order ticker_positions counts."""
        return self._tickers

    def ticker_positions(self, security_ids: Any, days: Any) -> tuple[Any, Any]:
        """int64 security ids and datetime64[D] days of equal length -> (the position in
        `tickers` of each one's ticker that day, whether it had one)."""
        ids = np.asarray(security_ids, dtype=np.int64)
        if not len(self._ids) or not len(ids):
            return np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=bool)
        ordinals = np.asarray(days, dtype="datetime64[D]").astype(np.int64) + _EPOCH
        at = np.searchsorted(self._keys, (ids << DAY_BITS) | ordinals, side="right") - 1
        at0 = np.maximum(at, 0)
        return at0, (at >= 0) & (self._ids[at0] == ids) & (ordinals < self._to[at0])

    def tickers_of(self, security_ids: Any, days: Any) -> Any:
        """int64 security ids and datetime64[D] days of equal length -> an object array of
        tickers (None where the security had no ticker that day)."""
        at, hit = self.ticker_positions(security_ids, days)
        out = np.full(len(at), None, dtype=object)
        out[hit] = self._tickers[at[hit]]
        return out
