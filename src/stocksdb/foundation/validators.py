"""The aggregator's validators: coverage, staleness and cross-source drift, per symbol.

In:  an AggregationInput (the request, the stitched data, every provider's snapshot).
Out: QualityFindings, one per symbol (per symbol and provider pair for drift), `ok` ones
     included with what was measured. Pure; never raises for bad data.
Expected days of a symbol are XNYS sessions, or every weekday for FX pairs and futures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import combinations
from typing import Any

import pandas as pd

from stocksdb.errors import InputError
from stocksdb.foundation.aggregator import (
    AggregationInput,
    ProviderSnapshot,
    calendar_symbol,
    may_split,
)
from stocksdb.foundation.basis import compute_raw_bars
from stocksdb.foundation.calendar import bar_dates, day_kind, expected_dates
from stocksdb.foundation.findings import DataQualitySeverity, QualityFinding

OK, WARNING, ERROR = DataQualitySeverity.OK, DataQualitySeverity.WARNING, \
    DataQualitySeverity.ERROR
WORST_SHOWN = 5          # worst sessions named in a drift finding's metrics and message
MIN_CONSTANT_RATIO = 3   # shared sessions needed to call a constant ratio a basis difference


def expected_days(symbol: str, start: date, end: date) -> list[date]:
    """The days `symbol` should have a bar for, start..end inclusive (foundation/calendar.py;
    a plain FX pair such as `EURUSD` counts weekdays like `EURUSD=X`).

    Raises:
        DateOutOfRangeError: an equity window outside the XNYS calendar."""
    return expected_dates(calendar_symbol(symbol), start, end)


def _kind(symbol: str) -> str:
    return day_kind(calendar_symbol(symbol)) + "s"


def _sessions_of(data: pd.DataFrame, symbol: str) -> set[date]:
    return set(data.loc[data["symbol"] == symbol, "session"])


def _own_calendar(data: pd.DataFrame, symbol: str) -> bool:
    """Every bar of `symbol` comes from a frame that keeps its own calendar (a FRED series)."""
    calendars = set(data.loc[data["symbol"] == symbol, "calendar"])
    return calendars == {"own"}


def _not_judged(validator: str, symbol: str) -> QualityFinding:
    return QualityFinding(validator, OK, symbol, f"{symbol}: its series keeps its own calendar "
                          "(e.g. a FRED series), so it is not judged against trading days",
                          {"calendar": "own"})


@dataclass(frozen=True)
class CoverageValidator:
    """Per symbol, stitched bars / expected days of the window: below `warn_ratio` a warning,
    below `error_ratio` an error."""

    frequency: str = "1D"
    warn_ratio: float = 0.9
    error_ratio: float = 0.75
    name: str = "coverage"

    def __post_init__(self) -> None:
        if self.frequency.upper() != "1D":
            raise InputError(f"parameter `frequency` is {self.frequency!r}; only '1D' (daily "
                             "bars) is supported")
        if not 0 <= self.error_ratio <= self.warn_ratio <= 1:
            raise InputError(f"coverage ratios are error {self.error_ratio}, warn "
                             f"{self.warn_ratio}; expected 0 <= error_ratio <= warn_ratio <= 1")

    def validate(self, batch: AggregationInput) -> list[QualityFinding]:
        return [self._one(batch, symbol) for symbol in batch.symbols]

    def _one(self, batch: AggregationInput, symbol: str) -> QualityFinding:
        if _own_calendar(batch.data, symbol):
            return _not_judged(self.name, symbol)
        expected = expected_days(symbol, batch.start, batch.end)
        if not expected:
            return QualityFinding(self.name, OK, symbol, f"{symbol}: no {_kind(symbol)} from "
                                  f"{batch.start} to {batch.end}; nothing to cover",
                                  {"expected": 0})
        have = _sessions_of(batch.data, symbol)
        missing = [d for d in expected if d not in have]
        ratio = 1 - len(missing) / len(expected)
        severity = (ERROR if ratio < self.error_ratio else
                    WARNING if ratio < self.warn_ratio else OK)
        bound = {ERROR: f"below the error ratio {self.error_ratio:.0%}",
                 WARNING: f"below the warning ratio {self.warn_ratio:.0%}",
                 OK: f"at or above {self.warn_ratio:.0%}"}[severity]
        return QualityFinding(
            self.name, severity, symbol,
            f"{symbol}: bars on {len(expected) - len(missing)} of {len(expected)} "
            f"{_kind(symbol)} from {batch.start} to {batch.end} ({ratio:.1%}), {bound}",
            {"expected": len(expected), "bars": len(expected) - len(missing),
             "ratio": round(ratio, 6), "missing": missing[:20]})


@dataclass(frozen=True)
class StalenessValidator:
    """Per symbol, the expected days after its latest bar up to the requested end (so weekends
    and holidays are never staleness): more than `max_staleness` days is an error, more than
    `warn_fraction` of it a warning; no bar at all is an error."""

    max_staleness: timedelta = timedelta(days=2)
    warn_fraction: float = 0.5
    name: str = "staleness"

    def __post_init__(self) -> None:
        if self.max_staleness < timedelta(0) or not 0 <= self.warn_fraction <= 1:
            raise InputError(f"staleness limits are max {self.max_staleness}, warn fraction "
                             f"{self.warn_fraction}; expected max >= 0 and 0 <= fraction <= 1")

    def validate(self, batch: AggregationInput) -> list[QualityFinding]:
        return [self._one(batch, symbol) for symbol in batch.symbols]

    def _one(self, batch: AggregationInput, symbol: str) -> QualityFinding:
        by_provider = _latest_by_provider(batch.snapshots, symbol)
        have = _sessions_of(batch.data, symbol)
        if not have:
            return QualityFinding(self.name, ERROR, symbol,
                                  f"{symbol}: no bar from {batch.start} to {batch.end} from "
                                  "any provider", {"latest": None})
        if _own_calendar(batch.data, symbol):
            return _not_judged(self.name, symbol)
        latest = max(have)
        after = [d for d in expected_days(symbol, latest, batch.end) if d > latest]
        stale, limit = timedelta(days=len(after)), self.max_staleness / timedelta(days=1)
        severity = (ERROR if stale > self.max_staleness else
                    WARNING if stale > self.max_staleness * self.warn_fraction else OK)
        return QualityFinding(
            self.name, severity, symbol,
            f"{symbol}: latest bar {latest}; {len(after)} {_kind(symbol)} after it up to the "
            f"requested end {batch.end} (error above {limit:g}, warning above "
            f"{limit * self.warn_fraction:g})",
            {"latest": latest, "end": batch.end, "stale_days": len(after),
             "latest_by_provider": by_provider})


def _latest_by_provider(snapshots: Sequence[ProviderSnapshot], symbol: str
                        ) -> dict[str, date | None]:
    out: dict[str, date | None] = {}
    for s in snapshots:
        if s.frame is not None:
            bars = s.frame.bars[s.frame.bars["symbol"] == symbol]
            out[s.name] = max(bar_dates(bars["ts"])) if not bars.empty else None
    return out


@dataclass(frozen=True)
class CrossSourceDriftValidator:
    """Relative close drift |b - a| / a on the sessions two providers share (a the one of
    higher priority): above `warn_tolerance` (default: `tolerance`) a warning, above
    `tolerance` an error. Providers of different price bases are compared on raw prices,
    restored with the splits each reported (FX pairs and futures never split: compared as they
    are); when that is impossible, or the two differ by one
    constant ratio on every shared session (a split that one of them adjusted for without
    reporting it, e.g. after the window), the pair is skipped with an `ok` note."""

    tolerance: float = 0.01
    warn_tolerance: float | None = None
    name: str = "drift"

    def __post_init__(self) -> None:
        if not 0 <= self.warn_at <= self.tolerance:
            raise InputError(f"drift tolerances are warn {self.warn_at}, error "
                             f"{self.tolerance}; expected 0 <= warn_tolerance <= tolerance")

    @property
    def warn_at(self) -> float:
        return self.tolerance if self.warn_tolerance is None else self.warn_tolerance

    def validate(self, batch: AggregationInput) -> list[QualityFinding]:
        ok = [s for s in batch.snapshots if s.frame is not None]
        findings = []
        for a, b in combinations(ok, 2):
            for symbol in batch.symbols:
                finding = self._pair(a, b, symbol)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _pair(self, a: ProviderSnapshot, b: ProviderSnapshot,
              symbol: str) -> QualityFinding | None:
        closes = _shared_closes(a, b, symbol)
        if isinstance(closes, str):
            return self._note(a, b, symbol, closes, {})
        if closes.empty:
            return None
        drift = ((closes["b"] - closes["a"]) / closes["a"]).abs()
        ratio = closes["b"] / closes["a"]
        median = float(ratio.median())
        if (_bases_differ(a, b, symbol) and len(closes) >= MIN_CONSTANT_RATIO
                and abs(median - 1) > self.tolerance
                and float((ratio / median - 1).abs().max()) <= self.warn_at):
            return self._note(a, b, symbol, (
                f"their closes differ by one constant ratio {median:.6g} on all {len(closes)} "
                "shared sessions: a split one of them adjusted for without reporting it (e.g. "
                "after the window), a difference of basis, not drift"), {"ratio": median})
        return self._judge(a, b, symbol, closes.assign(drift=drift))

    def _note(self, a: ProviderSnapshot, b: ProviderSnapshot, symbol: str, why: str,
              metrics: dict[str, Any]) -> QualityFinding:
        return QualityFinding(self.name, OK, symbol,
                              f"{symbol}: {a.name} vs {b.name} not compared: {why}",
                              {"providers": [a.name, b.name], "skipped": True, **metrics})

    def _judge(self, a: ProviderSnapshot, b: ProviderSnapshot, symbol: str,
               closes: pd.DataFrame) -> QualityFinding:
        worst_drift = float(closes["drift"].max())
        severity = (ERROR if worst_drift > self.tolerance else
                    WARNING if worst_drift > self.warn_at else OK)
        above = closes[closes["drift"] > self.warn_at].sort_values(
            ["drift", "session"], ascending=[False, True], kind="stable")
        worst: list[dict[str, Any]] = [
            {"session": r["session"], "ts": r["ts"], a.name: float(r["a"]),
             b.name: float(r["b"]), "drift": round(float(r["drift"]), 8)}
            for r in above.head(WORST_SHOWN).to_dict("records")]
        limit = self.tolerance if severity is ERROR else self.warn_at
        said = (f"differs from {a.name} by more than {limit:.2%} on {len(above)} of "
                f"{len(closes)} shared sessions: " + ", ".join(
                    f"{w['session']} ({w['drift']:.2%})" for w in worst)
                if severity is not OK else
                f"within {self.warn_at:.2%} of {a.name} on all {len(closes)} shared sessions "
                f"(worst {worst_drift:.4%})")
        return QualityFinding(
            self.name, severity, symbol, f"{symbol}: {b.name} {said}",
            {"providers": [a.name, b.name], "shared": len(closes),
             "max_drift": round(worst_drift, 8), "above_warn": len(above),
             "above_tolerance": int((closes["drift"] > self.tolerance).sum()), "worst": worst})


def _basis(s: ProviderSnapshot) -> str | None:
    return s.frame.price_basis if s.frame is not None else None


def _bases_differ(a: ProviderSnapshot, b: ProviderSnapshot, symbol: str) -> bool:
    """The two quote `symbol` on different price bases (never FX or futures: no splits)."""
    return _basis(a) != _basis(b) and may_split(symbol)


def _shared_closes(a: ProviderSnapshot, b: ProviderSnapshot,
                   symbol: str) -> pd.DataFrame | str:
    """session, ts (a's), a, b: the closes of `symbol` on the sessions both have, both raw
    when their bases differ; or why they cannot be compared. Empty when one has no bar."""
    bars = [s.frame.bars[s.frame.bars["symbol"] == symbol] if s.frame is not None
            else pd.DataFrame() for s in (a, b)]
    if any(side.empty for side in bars):
        return pd.DataFrame(columns=["session", "ts", "a", "b"])
    sides = []
    for s, side in zip((a, b), bars, strict=True):
        assert s.frame is not None      # bars were found above
        sessions = bar_dates(side["ts"])
        if _bases_differ(a, b, symbol):
            events = s.frame.events.get(symbol)
            raw = compute_raw_bars(side, sessions, s.frame.price_basis,
                                   None if events is None else events.splits)
            if isinstance(raw, str):
                return f"{s.name}: {raw}"
            side = raw
        sides.append(pd.DataFrame({"session": sessions, "ts": side["ts"],
                                   "close": side["close"]}))
    merged = sides[0].merge(sides[1][["session", "close"]], on="session",
                            suffixes=("_a", "_b"))
    return merged.rename(columns={"close_a": "a", "close_b": "b"}).sort_values("session")
