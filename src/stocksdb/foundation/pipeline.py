"""The pricing pipeline: one pull of some symbols from one vendor, normalised, validated and
cached.

In:  a Provider (sources/*.py, found by name in foundation/vendors.py), a PricingCache, symbols
     and a window (`start` or `lookback_days`, and `end`).
Out: a PricingResult: where the dataset is, its rows per symbol, the quality issues and the
     status, and what the cache did. Steps:
       key       the dataset key; a complete entry within retention is a hit and the vendor is
                 not called at all (unless `refresh`)
       fetch     provider.fetch(symbols, start, end, interval)
       normalise canonical_bars, bars outside the window dropped
       validate  quality.validate_bars -> PricingQualityIssue records
       store     cache.write (skipped when `fail_on_quality` and an error-level issue exists:
                 stale or empty data never lands), then cache.evict
Progress is logged (the CLI sends it to stderr).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from stocksdb.errors import InputError
from stocksdb.foundation.base import Interval, PriceBasis, Provider, canonical_bars
from stocksdb.foundation.cache import CachedDataset, Format, PricingCache
from stocksdb.foundation.calendar import bar_dates
from stocksdb.foundation.quality import DEFAULT_FLAT_RUN, PricingQualityIssue, validate_bars

log = logging.getLogger(__name__)

Status = Literal["ok", "warning", "error"]
# A vendor symbol: AAPL, BRK.B, BRK-B, ^GSPC, EURUSD=X, ES=F, 0700.HK, GDP. Nothing that could
# be a path (the files vendor opens SYMBOL.csv).
SYMBOL = re.compile(r"\^?[A-Z0-9][A-Z0-9._=\-]*")


@dataclass(frozen=True)
class SymbolSummary:
    """A symbol's bars in the dataset: how many, and the dates of the first and last."""

    rows: int
    first: date | None
    last: date | None


@dataclass(frozen=True)
class CacheOutcome:
    """Whether the dataset came from the cache, and how many datasets were evicted."""

    hit: bool
    evicted: int


@dataclass(frozen=True)
class PricingResult:
    """What one pipeline run produced. `dataset` is None when the run refused to store."""

    dataset: Path | None
    format: Format | None
    price_basis: PriceBasis
    symbols: Mapping[str, SymbolSummary]
    issues: tuple[PricingQualityIssue, ...]
    cache: CacheOutcome
    bars: pd.DataFrame = field(repr=False)

    @property
    def rows(self) -> int:
        """Bars in the dataset, all symbols."""
        return len(self.bars)

    @property
    def status(self) -> Status:
        """`error` if any issue is an error, else `warning` if any issue, else `ok`."""
        severities = {issue.severity for issue in self.issues}
        return "error" if "error" in severities else "warning" if severities else "ok"

    def as_json(self) -> dict[str, Any]:
        """The summary `stocksdb fetch` prints."""
        return {"dataset": None if self.dataset is None else str(self.dataset),
                "format": self.format, "rows": self.rows,
                "symbols": {s: {"rows": v.rows,
                                "first": v.first.isoformat() if v.first else None,
                                "last": v.last.isoformat() if v.last else None}
                            for s, v in self.symbols.items()},
                "issues": [issue.as_json() for issue in self.issues], "status": self.status,
                "cache": {"hit": self.cache.hit, "evicted": self.cache.evicted}}


def parse_symbols(symbols: str | Sequence[str]) -> list[str]:
    """Symbols uppercase, stripped, duplicates removed, in the order given; a string is split
    on commas ("EURUSD=X,GBPUSD=X").

    Raises:
        InputError: no symbol is left.
    """
    items = symbols.split(",") if isinstance(symbols, str) else list(symbols)
    out = list(dict.fromkeys(s.strip().upper() for s in items if s.strip()))
    if not out:
        raise InputError(f"parameter `symbols` is {symbols!r}; expected at least one symbol, "
                         'e.g. "EURUSD=X,GBPUSD=X"')
    if bad := [s for s in out if not SYMBOL.fullmatch(s)]:
        raise InputError(f"parameter `symbols` holds {bad}; expected letters, digits and "
                         ". - _ = (a leading ^ for an index), e.g. BRK.B, ^GSPC, EURUSD=X")
    return out


def resolve_window(*, start: date | None, lookback_days: int | None, end: date | None,
                   today: date) -> tuple[date, date]:
    """The window start..end (inclusive): `end` defaults to today, and `lookback_days` N means
    `start` = `end` - N calendar days.

    Raises:
        InputError: both or neither of `start` and `lookback_days`, N < 1, or start > end.
    """
    last = end or today
    if (start is None) == (lookback_days is None):
        raise InputError("pass exactly one of `start` and `lookback_days`; got "
                         f"start={start}, lookback_days={lookback_days}")
    if lookback_days is not None:
        if lookback_days < 1:
            raise InputError(f"parameter `lookback_days` is {lookback_days}; expected >= 1")
        start = last - timedelta(days=lookback_days)
    assert start is not None
    if start > last:
        raise InputError(f"parameter `start` is {start}, after `end` {last}; pass an earlier "
                         "start")
    return start, last


def summarise(bars: pd.DataFrame, symbols: Sequence[str]) -> dict[str, SymbolSummary]:
    """Rows, first and last bar date of each of `symbols` (zero and None when it has none)."""
    days = bar_dates(bars["ts"])
    out = {}
    for symbol in symbols:
        mine = list(days[bars["symbol"] == symbol])
        out[symbol] = SymbolSummary(len(mine), min(mine, default=None), max(mine, default=None))
    return out


def normalise(bars: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """`bars` in canonical form (base.canonical_bars), without bars dated outside
    `start`..`end` (a vendor may add today's partial bar or round the window out)."""
    out = canonical_bars(bars)
    days = bar_dates(out["ts"])
    return out[(days >= start) & (days <= end)].reset_index(drop=True)


def _utc_today() -> date:
    return datetime.now(UTC).date()


class PricingPipeline:
    """Pull, normalise, validate and cache daily bars from one provider. `flat_run` is how
    many equal closes in a row make `flat_prices`; `today` is the clock of the window."""

    def __init__(self, provider: Provider, cache: PricingCache, *,
                 flat_run: int = DEFAULT_FLAT_RUN,
                 today: Callable[[], date] = _utc_today) -> None:
        self.provider = provider
        self.cache = cache
        self.flat_run = flat_run
        self.today = today

    def run(self, symbols: str | Sequence[str], *, start: date | None = None,
            lookback_days: int | None = None, end: date | None = None,
            interval: Interval = "1d", refresh: bool = False,
            fail_on_quality: bool = False) -> PricingResult:
        """One pull (module docstring). With `fail_on_quality`, an error-level issue leaves the
        cache unchanged and the result has no dataset.

        Raises:
            InputError: bad symbols or window.
            SourceError: the vendor failed (after its retries) or refused.
        """
        wanted = parse_symbols(symbols)
        today = self.today()
        first, last = resolve_window(start=start, lookback_days=lookback_days, end=end,
                                     today=today)
        key = self.cache.key(vendor=self.provider.name, symbols=wanted, interval=interval,
                             start=first, end=last)
        cached = None if refresh else self.cache.read(key)
        if cached is not None:
            log.info("cache hit %s: %s %s..%s, %d rows", cached.path, key.vendor, first, last,
                     len(cached.bars))
            return self._finish(cached, wanted, hit=True, fail_on_quality=fail_on_quality)
        log.info("fetching %d symbol(s) from %s, %s..%s", len(wanted), key.vendor, first, last)
        frame = self.provider.fetch(wanted, first, last, interval)
        bars = normalise(frame.bars, first, last)
        issues = validate_bars(bars, wanted, first, last, today=today, missing=frame.missing,
                               flat_run=self.flat_run, calendar=frame.calendar)
        if fail_on_quality and any(i.severity == "error" for i in issues):
            log.info("not caching: error-level issues and fail_on_quality")
            return PricingResult(None, None, frame.price_basis, summarise(bars, wanted),
                                 tuple(issues), CacheOutcome(hit=False, evicted=0), bars)
        stored = self.cache.write(key, bars=bars, issues=issues, price_basis=frame.price_basis,
                                  events=frame.events)
        log.info("cached %d rows in %s", len(bars), stored.path)
        return self._finish(stored, wanted, hit=False, fail_on_quality=False)

    def _finish(self, dataset: CachedDataset, symbols: Sequence[str], *, hit: bool,
                fail_on_quality: bool) -> PricingResult:
        """The result of a stored or cached dataset, after eviction. A cached dataset with an
        error under `fail_on_quality` is refused like a fresh one: no dataset in the result,
        no eviction."""
        refused = fail_on_quality and any(i.severity == "error" for i in dataset.issues)
        evicted = 0 if refused else self.cache.evict(keep=dataset.key)
        if evicted:
            log.info("evicted %d cached dataset(s)", evicted)
        return PricingResult(None if refused else dataset.path,
                             None if refused else dataset.format, dataset.price_basis,
                             summarise(dataset.bars, symbols), dataset.issues,
                             CacheOutcome(hit=hit, evicted=evicted), dataset.bars)
