"""Aggregator builders: vendor frames from {date: close} maps and provider specs that return
them (the providers' network is not involved; the yahoo tests serve recordings instead)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from stocksdb.foundation.aggregator import ProviderSpec
from stocksdb.foundation.base import Calendar, PriceBasis, SymbolEvents, VendorFrame
from tests.fix_foundation import make_bars

# The 20 XNYS sessions 2024-01-02 .. 2024-01-30, written out by hand: 2024-01-01 is New
# Year's Day and 2024-01-15 Martin Luther King Jr. Day (both closed); weekends left out.
JAN = ("2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05",
       "2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11", "2024-01-12",
       "2024-01-16", "2024-01-17", "2024-01-18", "2024-01-19",
       "2024-01-22", "2024-01-23", "2024-01-24", "2024-01-25", "2024-01-26",
       "2024-01-29", "2024-01-30")
JAN_START, JAN_END = date(2024, 1, 2), date(2024, 1, 30)


def rising(days: Sequence[str], first: float = 100.0) -> dict[str, float]:
    """Closes first, first + 1, ... on `days`, in order."""
    return {d: first + i for i, d in enumerate(days)}


def make_frame(vendor: str, closes: Mapping[str, float], *, symbol: str = "AAPL",
               basis: PriceBasis = "raw", events: Mapping[str, SymbolEvents] | None = None,
               calendar: Calendar = "trading") -> VendorFrame:
    """A vendor's answer: bars at midnight UTC of each date (fix_foundation.make_bars)."""
    return VendorFrame(vendor, basis, make_bars(symbol, closes, vendor),
                       events=dict(events or {}), calendar=calendar)


def serving(name: str, *frames: VendorFrame, priority: int | None = None) -> ProviderSpec:
    """A spec whose fetch answers the frames concatenated (one per symbol) and records each
    call's symbols in `serving.calls` (the list is the spec's fetch's `calls` attribute)."""
    import pandas as pd

    calls: list[list[str]] = []

    def fetch(symbols: Sequence[str], start: date, end: date) -> VendorFrame:
        calls.append(list(symbols))
        bars = pd.concat([f.bars for f in frames], ignore_index=True)
        events = {k: v for f in frames for k, v in f.events.items()}
        return VendorFrame(frames[0].vendor, frames[0].price_basis, bars, events=events,
                           calendar=frames[0].calendar)

    fetch.calls = calls  # type: ignore[attr-defined]
    return ProviderSpec(name, fetch, priority)


def failing(name: str, error: Exception) -> ProviderSpec:
    """A spec whose fetch raises `error`."""
    def fetch(symbols: Sequence[str], start: date, end: date) -> VendorFrame:
        raise error
    return ProviderSpec(name, fetch)
