"""The `files` vendor: deterministic daily bars from local files, for tests and offline work.

In:  a directory (Settings.vendor_files_dir, env STOCKSDB_VENDOR_FILES_DIR) holding
     - `SYMBOL.csv` or `SYMBOL.parquet` per symbol (the symbol uppercase, e.g. `EURUSD=X.csv`):
       a time column `date`, `ts` or `datetime` and `open, high, low, close[, volume]
       [, adj_close]`; headers are matched case-insensitively with spaces read as `_`, so a
       yfinance CSV (`Datetime, Adj Close, ...`) reads as is; other columns are ignored;
     - optionally `events.csv`: `symbol, date, kind, value` with kind `dividend` (value = cash
       per share) or `split` (value = new shares per old share);
     - optionally `vendor.json`: `{"price_basis": "raw" | "split_adjusted" | "total_return"}`,
       the basis of every file's OHLC (default `raw`).
Out: a VendorFrame. A date without a time is midnight UTC; a time without an offset is UTC.
     A symbol without a file is `missing` (the pipeline's `no_data`); rows with an empty
     open/high/low/close are dropped and counted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import cast, get_args

import pandas as pd

from stocksdb.config import Settings
from stocksdb.errors import ConfigError, InputFileError
from stocksdb.foundation.base import (
    Dividend,
    Interval,
    PriceBasis,
    Split,
    SymbolEvents,
    VendorFrame,
    canonical_bars,
    empty_bars,
)
from stocksdb.foundation.calendar import bar_dates
from stocksdb.foundation.vendors import Vendor

NAME = "files"
TIME_COLUMNS = ("date", "ts", "datetime")
PRICE_COLUMNS = ("open", "high", "low", "close")
EVENTS_FILE = "events.csv"
SIDECAR_FILE = "vendor.json"
EVENT_COLUMNS = ("symbol", "date", "kind", "value")


def read_price_basis(root: Path) -> PriceBasis:
    """The basis declared in `root/vendor.json`, `raw` when there is no such file.

    Raises:
        InputFileError: the file is not JSON or names an unknown basis.
    """
    path = root / SIDECAR_FILE
    if not path.is_file():
        return "raw"
    try:
        basis = json.loads(path.read_text(encoding="utf-8")).get("price_basis", "raw")
    except (ValueError, AttributeError) as exc:
        raise InputFileError(f"{str(path)!r} is not a JSON object; expected "
                             '{"price_basis": "raw"}') from exc
    if basis not in get_args(PriceBasis):
        raise InputFileError(f"{str(path)!r} declares price_basis {basis!r}; expected one of "
                             f"{', '.join(get_args(PriceBasis))}")
    return cast(PriceBasis, basis)


def _read_table(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(f"vendor file {str(path)!r} is not readable: {exc}") from exc
    frame.columns = [str(c).strip().lower().replace(" ", "_") for c in frame.columns]
    return frame


def parse_bar_file(path: Path, symbol: str) -> pd.DataFrame:
    """The bars of one symbol file in canonical columns (nothing dropped yet).

    Raises:
        InputFileError: unreadable, no time column, a price column absent, a bad timestamp.
    """
    frame = _read_table(path)
    time_column = next((c for c in TIME_COLUMNS if c in frame.columns), None)
    absent = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if time_column is None or absent:
        raise InputFileError(
            f"vendor file {str(path)!r} lacks column(s) "
            f"{absent + ([] if time_column else ['date|ts|datetime'])}; expected "
            "date (or ts), open, high, low, close[, volume][, adj_close]")
    try:
        ts = pd.to_datetime(frame[time_column], utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise InputFileError(f"vendor file {str(path)!r} has a bad {time_column}: {exc}") from exc
    out = frame.reindex(columns=[*PRICE_COLUMNS, "volume", "adj_close"])
    return canonical_bars(out.assign(ts=ts, symbol=symbol, vendor=NAME))


def read_events(root: Path, symbols: Sequence[str], start: date,
                end: date) -> dict[str, SymbolEvents]:
    """The events of `symbols` dated `start`..`end` from `root/events.csv` (none without it).

    Raises:
        InputFileError: the file lacks a column, or a row has a bad date, kind or value.
    """
    path = root / EVENTS_FILE
    if not path.is_file():
        return {}
    frame = _read_table(path)
    if absent := [c for c in EVENT_COLUMNS if c not in frame.columns]:
        raise InputFileError(f"events file {str(path)!r} lacks column(s) {absent}; expected "
                             f"header {','.join(EVENT_COLUMNS)}")
    out: dict[str, SymbolEvents] = {}
    for symbol in symbols:
        rows = frame[frame["symbol"].astype(str).str.upper() == symbol]
        dividends: list[Dividend] = []
        splits: list[Split] = []
        for line, row in rows.iterrows():
            day, kind, value = _event(path, int(str(line)) + 2, row)
            if not start <= day <= end:
                continue
            if kind == "dividend":
                dividends.append(Dividend(day, value))
            else:
                splits.append(Split(day, value))
        if dividends or splits:
            out[symbol] = SymbolEvents(tuple(sorted(dividends, key=lambda d: d.ex_date)),
                                       tuple(sorted(splits, key=lambda s: s.ex_date)))
    return out


def _event(path: Path, line: int, row: pd.Series) -> tuple[date, str, float]:
    kind = str(row["kind"]).strip().lower()
    try:
        day, value = date.fromisoformat(str(row["date"]).strip()), float(row["value"])
    except ValueError as exc:
        raise InputFileError(f"events file {str(path)!r} line {line}: {exc}") from exc
    if kind not in ("dividend", "split") or not value > 0:
        raise InputFileError(f"events file {str(path)!r} line {line}: kind {kind!r} value "
                             f"{value!r}; expected kind dividend or split and a value > 0")
    return day, kind, value


class FilesProvider:
    """Bars of each symbol from `root/SYMBOL.csv` or `root/SYMBOL.parquet`."""

    name = NAME

    def __init__(self, root: Path) -> None:
        self.root = root
        self.price_basis: PriceBasis = read_price_basis(root)

    def symbol_file(self, symbol: str) -> Path | None:
        """The file of `symbol`, None when there is none.

        Raises:
            InputFileError: the symbol is a path, or both a CSV and a Parquet file exist.
        """
        if Path(symbol).name != symbol or symbol.startswith("."):
            raise InputFileError(f"symbol {symbol!r} is not a file name; expected e.g. AAPL")
        found = [p for p in (self.root / f"{symbol}.csv", self.root / f"{symbol}.parquet")
                 if p.is_file()]
        if len(found) > 1:
            raise InputFileError(f"symbol {symbol!r} has two vendor files {[p.name for p in found]}"
                                 f" in {str(self.root)!r}; keep one")
        return found[0] if found else None

    def fetch(self, symbols: Sequence[str], start: date, end: date,
              interval: Interval = "1d") -> VendorFrame:
        """Bars of `symbols` dated `start`..`end` inclusive.

        Raises:
            InputFileError: the directory does not exist, or a file is unusable.
        """
        if not self.root.is_dir():
            raise InputFileError(f"vendor files directory {str(self.root)!r} does not exist; "
                                 "set STOCKSDB_VENDOR_FILES_DIR to a directory of SYMBOL.csv")
        wanted = [s.upper() for s in symbols]
        parts: list[pd.DataFrame] = []
        missing: dict[str, str] = {}
        dropped: dict[str, int] = {}
        for symbol in wanted:
            path = self.symbol_file(symbol)
            if path is None:
                missing[symbol] = f"no file {symbol}.csv or {symbol}.parquet in {self.root}"
                continue
            bars = parse_bar_file(path, symbol)
            days = bar_dates(bars["ts"])
            bars = bars[(days >= start) & (days <= end)]
            complete = bars[list(PRICE_COLUMNS)].notna().all(axis=1)
            if not complete.all():
                dropped[symbol] = int((~complete).sum())
            parts.append(bars[complete])
        bars = canonical_bars(pd.concat(parts)) if parts else empty_bars()
        return VendorFrame(NAME, self.price_basis, bars,
                           read_events(self.root, wanted, start, end), missing, dropped)


def make(settings: Settings) -> FilesProvider:
    """The files vendor over Settings.vendor_files_dir.

    Raises:
        ConfigError: STOCKSDB_VENDOR_FILES_DIR is not set.
    """
    if settings.vendor_files_dir is None:
        raise ConfigError("vendor 'files' needs Settings.vendor_files_dir; set "
                          "STOCKSDB_VENDOR_FILES_DIR to a directory of SYMBOL.csv files")
    return FilesProvider(settings.vendor_files_dir)


VENDOR = Vendor(NAME, make, "local CSV/Parquet files, one per symbol, under "
                "STOCKSDB_VENDOR_FILES_DIR (deterministic: tests, offline work)")
