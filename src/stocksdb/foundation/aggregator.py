"""The multi-source aggregator: the same symbols from several providers, stitched into one
series with provenance, and checked by validators.

In:  `ProviderSpec(name, fetch, priority)`s, where `fetch(symbols, start, end)` returns a
     VendorFrame (a provider's `.fetch` fits), and validators (foundation/validators.py).
Out: `AggregationResult(data, snapshots, quality_findings, status)`:
       data       one bar per (symbol, session): the bar of the first provider, in priority
                  order, that has it; BAR_COLUMNS + `session` (the bar's date, by
                  foundation/calendar.bar_dates), `provider` (the spec's name), `price_basis`
                  and `calendar` (that provider's frame's)
       snapshots  per provider, in priority order: its normalised frame and the fetch outcome
                  (rows, error text, seconds); a provider that raises is a snapshot with the
                  error and a `fetch` finding, never a crash
       quality_findings, status   every finding, and the worst severity among them
Normalising: timestamps UTC, symbols uppercase and spelled as requested (`EURUSD` and
`EURUSD=X` are one FX symbol), bars outside the window and repeated sessions dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Protocol, TypeVar

import pandas as pd

from stocksdb.errors import InputError
from stocksdb.foundation.base import BAR_COLUMNS, VendorFrame, canonical_bars
from stocksdb.foundation.calendar import bar_dates, trades_weekdays
from stocksdb.foundation.findings import DataQualitySeverity, QualityFinding, highest_severity

log = logging.getLogger(__name__)

_T = TypeVar("_T")
FetchFn = Callable[[Sequence[str], date, date], VendorFrame]
DATA_COLUMNS = (*BAR_COLUMNS, "session", "provider", "price_basis", "calendar")
FETCH_FINDING = "fetch"      # the `validator` of a provider that raised
STITCH_FINDING = "stitch"    # ... of a series stitched from different price bases

# ISO 4217 codes of the currencies vendors quote pairs in: `EURUSD` is an FX pair because both
# halves are currencies (a six-letter equity ticker is not).
CURRENCIES = frozenset({
    "USD", "EUR", "GBP", "JPY", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK", "DKK", "HKD", "SGD",
    "CNY", "CNH", "MXN", "ZAR", "TRY", "PLN", "CZK", "HUF", "INR", "KRW", "BRL", "ILS", "THB",
    "TWD", "RUB", "IDR", "MYR", "PHP"})


def is_fx(symbol: str) -> bool:
    """True for FX pairs, as Yahoo (`EURUSD=X`) or plainly (`EURUSD`) spelled."""
    s = symbol.strip().upper().removesuffix("=X")
    return len(s) == 6 and s[:3] in CURRENCIES and s[3:] in CURRENCIES


def calendar_symbol(symbol: str) -> str:
    """`symbol` as foundation/calendar.py tells its days apart: a plain FX pair gets Yahoo's
    `=X` (`EURUSD` -> `EURUSD=X`: weekdays, not XNYS sessions)."""
    s = symbol.strip().upper()
    return f"{s}=X" if is_fx(s) and not s.endswith("=X") else s


def symbol_key(symbol: str) -> str:
    """The identity of a symbol across vendors: uppercase, and an FX pair without Yahoo's
    `=X` (`eurusd=x` -> `EURUSD`)."""
    s = symbol.strip().upper()
    return s.removesuffix("=X") if is_fx(s) else s


def may_split(symbol: str) -> bool:
    """False for FX pairs and futures: they never split, so every price basis is raw."""
    return not trades_weekdays(calendar_symbol(symbol))


def as_day(value: date | datetime, param: str) -> date:
    """A window bound as a date (a datetime must be tz-aware; its UTC date is taken).

    Raises:
        InputError: a naive datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InputError(f"parameter `{param}` is {value!r}, a naive datetime; pass a date "
                             "or a tz-aware datetime")
        return value.astimezone(UTC).date()
    return value


@dataclass(frozen=True)
class ProviderSpec:
    """A provider as the aggregator uses it: a name (its `provider` in the data), the fetch
    callable, and its priority (smaller first; None: its position in the list)."""

    name: str
    fetch: FetchFn
    priority: int | None = None


@dataclass(frozen=True)
class ProviderSnapshot:
    """One provider's own answer: its frame normalised (None when it raised), its bars, the
    error text of a raise, and how long the fetch took (seconds)."""

    name: str
    priority: int
    frame: VendorFrame | None
    rows: int
    error: str | None
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.frame is not None


@dataclass(frozen=True)
class AggregationInput:
    """What a validator sees: the request, the stitched data and every provider's snapshot."""

    symbols: tuple[str, ...]
    start: date
    end: date
    data: pd.DataFrame
    snapshots: tuple[ProviderSnapshot, ...]


class Validator(Protocol):
    """A check over an aggregation (foundation/validators.py)."""

    @property
    def name(self) -> str:
        """The `validator` of its findings."""
        ...

    def validate(self, batch: AggregationInput) -> Sequence[QualityFinding]:
        """Findings for the batch, one or more per symbol; never raises for bad data."""
        ...


@dataclass(frozen=True)
class AggregationResult:
    """The stitched bars, each provider's snapshot (by name, in priority order), the findings
    of the aggregator and its validators, and the worst severity among them."""

    data: pd.DataFrame
    snapshots: Mapping[str, ProviderSnapshot]
    quality_findings: tuple[QualityFinding, ...]
    status: DataQualitySeverity


class MultiSourceAggregator:
    """Fetch from every provider, stitch by priority, run the validators (module docstring)."""

    def __init__(self, providers: Sequence[ProviderSpec], validators: Sequence[Validator] = (),
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        """Raises:
            InputError: no provider, or two providers with the same name."""
        names = [p.name for p in providers]
        if not names or len(set(names)) != len(names):
            raise InputError(f"parameter `providers` names {names!r}; expected at least one "
                             "provider and distinct names")
        ranked = sorted(enumerate(providers), key=lambda ip: (
            ip[0] if ip[1].priority is None else ip[1].priority, ip[0]))
        self.providers = tuple(replace(p, priority=i if p.priority is None else p.priority)
                               for i, p in ranked)
        self.validators = tuple(validators)
        self._clock = clock

    def aggregate(self, symbols: Sequence[str], start: date | datetime,
                  end: date | datetime) -> AggregationResult:
        """Bars of `symbols` for start..end (inclusive dates; datetimes count by UTC date).

        Raises:
            InputError: no symbol, a naive datetime, or end before start.
        """
        wanted = _requested(symbols)
        first, last = as_day(start, "start"), as_day(end, "end")
        if last < first:
            raise InputError(f"parameter `end` is {last}, before `start` {first}")
        snapshots = tuple(self._fetch(spec, wanted, first, last) for spec in self.providers)
        data = stitch(snapshots)
        findings = [*_fetch_findings(snapshots), *_basis_findings(data)]
        batch = AggregationInput(tuple(wanted.values()), first, last, data, snapshots)
        for validator in self.validators:
            findings.extend(validator.validate(batch))
        return AggregationResult(data, {s.name: s for s in snapshots}, tuple(findings),
                                 highest_severity(findings))

    def _fetch(self, spec: ProviderSpec, wanted: Mapping[str, str], start: date,
               end: date) -> ProviderSnapshot:
        t0 = self._clock()
        priority = spec.priority if spec.priority is not None else 0
        try:
            frame = spec.fetch(list(wanted.values()), start, end)
            if not isinstance(frame, VendorFrame):
                raise TypeError(f"fetch returned {type(frame).__name__}, expected VendorFrame")
            frame = normalise_frame(frame, wanted, start, end)
        # A fetch callable is anyone's code: whatever it raises is this provider's outcome.
        except Exception as exc:
            log.warning("provider %s failed: %s: %s", spec.name, type(exc).__name__, exc)
            return ProviderSnapshot(spec.name, priority, None, 0,
                                    f"{type(exc).__name__}: {exc}", self._clock() - t0)
        return ProviderSnapshot(spec.name, priority, frame, len(frame.bars), None,
                                self._clock() - t0)


def _requested(symbols: Sequence[str]) -> dict[str, str]:
    """symbol_key -> the first spelling asked (uppercase), in the order asked.

    Raises:
        InputError: no symbol."""
    wanted: dict[str, str] = {}
    for raw in symbols:
        if raw.strip():
            wanted.setdefault(symbol_key(raw), raw.strip().upper())
    if not wanted:
        raise InputError(f"parameter `symbols` is {list(symbols)!r}; expected at least one "
                         "symbol, e.g. ['AAPL', 'EURUSD']")
    return wanted


def normalise_frame(frame: VendorFrame, wanted: Mapping[str, str], start: date,
                    end: date) -> VendorFrame:
    """`frame` with canonical bars of the requested symbols (spelled as requested) whose
    session is in start..end, one bar per (symbol, session) (the first), and its events,
    missing and dropped keyed by the requested spelling."""
    bars = canonical_bars(frame.bars)
    keys = bars["symbol"].map(symbol_key)
    sessions = bar_dates(bars["ts"])
    keep = keys.isin(list(wanted)) & (sessions >= start) & (sessions <= end)
    bars = bars[keep].assign(symbol=keys[keep].map(dict(wanted)))
    bars = bars[~bars.assign(_s=sessions[keep]).duplicated(["symbol", "_s"])]

    return replace(frame, bars=canonical_bars(bars), events=_rekey(frame.events, wanted),
                   missing=_rekey(frame.missing, wanted), dropped=_rekey(frame.dropped, wanted))


def _rekey(mapping: Mapping[str, _T], wanted: Mapping[str, str]) -> dict[str, _T]:
    """`mapping` keyed by the requested spelling, unrequested symbols left out."""
    return {wanted[symbol_key(k)]: v for k, v in mapping.items() if symbol_key(k) in wanted}


def stitch(snapshots: Sequence[ProviderSnapshot]) -> pd.DataFrame:
    """One bar per (symbol, session): the first snapshot's, in the order given, that has it."""
    parts = [s.frame.bars.assign(session=bar_dates(s.frame.bars["ts"]), provider=s.name,
                                 price_basis=s.frame.price_basis, calendar=s.frame.calendar)
             for s in snapshots if s.frame is not None and not s.frame.bars.empty]
    if not parts:
        empty = canonical_bars(pd.DataFrame(columns=list(BAR_COLUMNS)))
        return empty.assign(session=pd.Series(dtype=object), provider=pd.Series(dtype=str),
                            price_basis=pd.Series(dtype=str),
                            calendar=pd.Series(dtype=str))[list(DATA_COLUMNS)]
    data = pd.concat(parts, ignore_index=True).drop_duplicates(["symbol", "session"])
    return data.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)[
        list(DATA_COLUMNS)]


def _fetch_findings(snapshots: Sequence[ProviderSnapshot]) -> list[QualityFinding]:
    """A `fetch` finding per provider that raised: an error when every provider did."""
    failed = [s for s in snapshots if not s.ok]
    severity = (DataQualitySeverity.ERROR if len(failed) == len(snapshots)
                else DataQualitySeverity.WARNING)
    return [QualityFinding(FETCH_FINDING, severity, None,
                           f"provider {s.name!r} failed: {s.error}",
                           {"provider": s.name, "error": s.error, "elapsed": s.elapsed})
            for s in failed]


def _basis_findings(data: pd.DataFrame) -> list[QualityFinding]:
    """A `stitch` warning per symbol whose bars come from providers of different price bases:
    such a series jumps at every split between them (FX pairs and futures do not split)."""
    findings = []
    for symbol, bars in data.groupby("symbol", sort=True):
        if not may_split(str(symbol)):
            continue
        by_basis = bars.groupby("price_basis")["provider"].agg(lambda p: sorted(set(p)))
        if len(by_basis) > 1:
            counts = {str(b): int(n) for b, n in bars["price_basis"].value_counts().items()}
            parts = ", ".join(f"{b} ({', '.join(p)}: {counts[str(b)]} bars)"
                              for b, p in by_basis.items())
            findings.append(QualityFinding(
                STITCH_FINDING, DataQualitySeverity.WARNING, str(symbol),
                f"{symbol}: the stitched bars mix price bases {parts}; prices on either side "
                "of a split are not comparable", {"bars_by_basis": counts}))
    return findings
