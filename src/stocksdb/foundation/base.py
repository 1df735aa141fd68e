"""The vendor contract of the data foundation: what every price provider returns.

A provider (one module per vendor under `sources/`) fetches daily bars for some symbols and
returns a `VendorFrame`: the bars in one canonical shape, the corporate events it reported per
symbol, the price basis of its OHLC, and what it could not deliver (`missing`: symbol -> why,
which the pipeline turns into `no_data`) or dropped (`dropped`: symbol -> rows with null
values). Providers never raise for "no data for this symbol": that is data, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

import pandas as pd

# What a provider's open/high/low/close mean:
#   raw             as traded that day
#   split_adjusted  divided by the splits after that day (Yahoo's chart OHLC)
#   total_return    split- and dividend-adjusted (an "adjusted close" series)
PriceBasis = Literal["raw", "split_adjusted", "total_return"]
Interval = Literal["1d"]
# Which days a series should have: `trading` - XNYS sessions (weekdays for FX `=X` and futures
# `=F`), so gaps and staleness are checked; `own` - the series keeps its own schedule (FRED's
# monthly or quarterly observations), so neither is.
Calendar = Literal["trading", "own"]

# The canonical columns of VendorFrame.bars, in order. `ts` is a UTC tz-aware timestamp (the
# vendor's bar time: a session open for Yahoo, midnight UTC of the date for date-only vendors),
# `symbol` uppercase, prices float64, volume float64 (NaN when the vendor has none, e.g. FX),
# `adj_close` float64 or NaN when the vendor gives none, `vendor` the provider's name.
BAR_COLUMNS = ("ts", "symbol", "open", "high", "low", "close", "volume", "adj_close", "vendor")


@dataclass(frozen=True)
class Dividend:
    """A cash dividend per share, by ex-date."""

    ex_date: date
    amount: float


@dataclass(frozen=True)
class Split:
    """A split by execution date; `ratio` = new shares per old share (4.0 for a 4-for-1, 0.1
    for a 1-for-10 reverse split)."""

    ex_date: date
    ratio: float


@dataclass(frozen=True)
class SymbolEvents:
    """A symbol's dividends and splits in the fetched window, in date order."""

    dividends: tuple[Dividend, ...] = ()
    splits: tuple[Split, ...] = ()

    def as_json(self) -> dict[str, list[dict[str, object]]]:
        """The metadata form: {dividends: [{date, amount}], splits: [{date, ratio}]}."""
        return {"dividends": [{"date": d.ex_date.isoformat(), "amount": d.amount}
                              for d in self.dividends],
                "splits": [{"date": s.ex_date.isoformat(), "ratio": s.ratio}
                           for s in self.splits]}


@dataclass(frozen=True)
class VendorFrame:
    """One provider's answer for some symbols and a window."""

    vendor: str
    price_basis: PriceBasis
    bars: pd.DataFrame                                   # BAR_COLUMNS, sorted by symbol, ts
    events: Mapping[str, SymbolEvents] = field(default_factory=dict)
    missing: Mapping[str, str] = field(default_factory=dict)   # symbol -> why there is no data
    dropped: Mapping[str, int] = field(default_factory=dict)   # symbol -> null rows dropped
    calendar: Calendar = "trading"


class Provider(Protocol):
    """A vendor of daily bars (sources/yahoo.py, alpha_vantage.py, fred.py, massive_rest.py,
    vendor_files.py)."""

    name: str
    price_basis: PriceBasis

    def fetch(self, symbols: Sequence[str], start: date, end: date,
              interval: Interval = "1d") -> VendorFrame:
        """Bars of `symbols` from `start` to `end` inclusive (dates of the bars).

        Raises:
            SourceError: the vendor failed (after retries) or refused (bad key, premium).
        """
        ...


def empty_bars() -> pd.DataFrame:
    """A bars frame with the canonical columns and dtypes and no rows."""
    return canonical_bars(pd.DataFrame(columns=list(BAR_COLUMNS)))


def canonical_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with exactly BAR_COLUMNS in order and canonical dtypes (ts UTC, symbol upper),
    sorted by symbol and ts. Missing optional columns (volume, adj_close) become NaN.

    Raises:
        ValueError: a required column (ts, symbol, open, high, low, close, vendor) is absent.
    """
    required = {"ts", "symbol", "open", "high", "low", "close", "vendor"}
    absent = required - set(frame.columns)
    if absent:
        raise ValueError(f"bars lack column(s) {sorted(absent)}")
    out = frame.copy()
    for name in ("volume", "adj_close"):
        if name not in out.columns:
            out[name] = float("nan")
    out["ts"] = pd.to_datetime(out["ts"], utc=True)
    out["symbol"] = out["symbol"].astype(str).str.upper()
    for name in ("open", "high", "low", "close", "volume", "adj_close"):
        out[name] = pd.to_numeric(out[name], errors="coerce").astype("float64")
    out["vendor"] = out["vendor"].astype(str)
    out = out[list(BAR_COLUMNS)].sort_values(["symbol", "ts"], kind="stable")
    return out.reset_index(drop=True)
