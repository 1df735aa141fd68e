"""The pricing cache: one dataset per (vendor, symbols, interval, window, format version).

In:  canonical bars with their issues, events and price basis, from the pipeline.
Out: files under the cache root (default `$STOCKSDB_HOME/cache/pricing/`), per dataset key:
       <key>.parquet          the bars (<key>.csv when Parquet cannot be written)
       <key>_metadata.json    vendor, symbols, interval, start, end, rows, created_at, format,
                              format_version, price_basis, events
       <key>_issues.json      the pipeline's issues
A dataset exists exactly when its data file exists: writing removes an old data file first,
writes all three files under temporary names, renames the JSON files, and renames the data file
last. A write killed at any moment leaves no data file (a miss) or the whole dataset; leftovers
(`*.tmp`, JSON files without data) are never read and are removed once an hour old.
The cache is never the source of truth: any doubt about an entry makes it a miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from stocksdb.errors import InputError
from stocksdb.foundation.base import (
    Dividend,
    PriceBasis,
    Split,
    SymbolEvents,
    canonical_bars,
)
from stocksdb.foundation.quality import PricingQualityIssue

log = logging.getLogger(__name__)

# Part of every key: bump it when the stored layout or the pipeline's output changes, and every
# older dataset becomes a miss (and is evicted by the next run).
FORMAT_VERSION = 1
Format = Literal["parquet", "csv"]
FORMATS: tuple[Format, ...] = ("parquet", "csv")
METADATA_SUFFIX = "_metadata.json"
ISSUES_SUFFIX = "_issues.json"
# A key's file-name stem (DatasetKey.name), and any file of ours: data, JSON, or a temp file.
KEY_NAME = re.compile(r"[a-z0-9_]+-[0-9a-f]{16}")
LEFTOVER = re.compile(r"(?P<name>[a-z0-9_]+-[0-9a-f]{16})"
                      r"(?:\.parquet|\.csv|_metadata\.json|_issues\.json)?"
                      r"(?P<tmp>\.[0-9a-f]{8}\.tmp)?")
# Leftovers younger than this may belong to a write in progress, so they are left alone.
LEFTOVER_GRACE = timedelta(hours=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DatasetKey:
    """What a dataset is a pull of; `name` is its stable file-name stem."""

    vendor: str
    symbols: tuple[str, ...]      # uppercase, sorted: "A,B" and "B,A" are one dataset
    interval: str
    start: date
    end: date
    format_version: int

    @property
    def name(self) -> str:
        """`<vendor>-<16 hex digits of sha256 over every field>`, e.g. `yahoo-3f1c…`."""
        text = json.dumps([self.vendor, self.symbols, self.interval, self.start.isoformat(),
                           self.end.isoformat(), self.format_version])
        return f"{self.vendor}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class CachedDataset:
    """A complete dataset as stored."""

    key: DatasetKey
    path: Path                    # the data file
    format: Format
    bars: pd.DataFrame
    issues: tuple[PricingQualityIssue, ...]
    price_basis: PriceBasis
    events: Mapping[str, SymbolEvents]
    created_at: datetime


def events_from_json(data: Mapping[str, Any]) -> dict[str, SymbolEvents]:
    """The inverse of SymbolEvents.as_json, per symbol."""
    return {symbol: SymbolEvents(
        tuple(Dividend(date.fromisoformat(d["date"]), float(d["amount"]))
              for d in value["dividends"]),
        tuple(Split(date.fromisoformat(s["date"]), float(s["ratio"])) for s in value["splits"]))
        for symbol, value in data.items()}


class PricingCache:
    """Datasets under `root`; `retention_days` (None: forever) and `max_entries` (None: no
    cap) bound what `evict` keeps, oldest first; `now` is the clock (UTC).

    Raises:
        InputError: retention_days < 0 or max_entries < 1.
    """

    def __init__(self, root: Path, *, retention_days: int | None = None,
                 max_entries: int | None = None, format_version: int = FORMAT_VERSION,
                 now: Callable[[], datetime] = _utcnow) -> None:
        if retention_days is not None and retention_days < 0:
            raise InputError(f"parameter `retention_days` is {retention_days}; expected >= 0")
        if max_entries is not None and max_entries < 1:
            raise InputError(f"parameter `max_entries` is {max_entries}; expected >= 1")
        self.root = root
        self.retention_days = retention_days
        self.max_entries = max_entries
        self.format_version = format_version
        self.now = now

    def key(self, *, vendor: str, symbols: Sequence[str], interval: str, start: date,
            end: date) -> DatasetKey:
        """The key of a pull at this cache's format version."""
        return DatasetKey(vendor, tuple(sorted({s.upper() for s in symbols})), interval,
                          start, end, self.format_version)

    def _data_path(self, name: str, fmt: Format) -> Path:
        return self.root / f"{name}.{fmt}"

    def _expired(self, created_at: datetime) -> bool:
        return (self.retention_days is not None
                and self.now() - created_at >= timedelta(days=self.retention_days))

    def read(self, key: DatasetKey) -> CachedDataset | None:
        """The dataset of `key` if it is complete, consistent and within retention; else None
        (absent, killed mid-write, unreadable or expired: all misses)."""
        found = [(fmt, p) for fmt in FORMATS if (p := self._data_path(key.name, fmt)).is_file()]
        if len(found) != 1:
            return None
        fmt, path = found[0]
        try:
            meta = json.loads((self.root / f"{key.name}{METADATA_SUFFIX}").read_text())
            issues = json.loads((self.root / f"{key.name}{ISSUES_SUFFIX}").read_text())
            dataset = CachedDataset(
                key, path, fmt, _read_bars(path, fmt),
                tuple(PricingQualityIssue.from_json(i) for i in issues), meta["price_basis"],
                events_from_json(meta["events"]), datetime.fromisoformat(meta["created_at"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cache entry %s is unreadable (%s); treating it as a miss", key.name, exc)
            return None
        if _describe(key) != {k: meta.get(k) for k in _describe(key)} \
                or meta.get("format") != fmt or meta.get("rows") != len(dataset.bars):
            log.warning("cache entry %s does not match its metadata; treating it as a miss",
                        key.name)
            return None
        return None if self._expired(dataset.created_at) else dataset

    def write(self, key: DatasetKey, *, bars: pd.DataFrame,
              issues: Sequence[PricingQualityIssue], price_basis: PriceBasis,
              events: Mapping[str, SymbolEvents]) -> CachedDataset:
        """Store a dataset atomically (module docstring), replacing any under `key`."""
        self.root.mkdir(parents=True, exist_ok=True)
        for fmt in FORMATS:                      # the old dataset stops existing first
            self._data_path(key.name, fmt).unlink(missing_ok=True)
        token = secrets.token_hex(4)
        data_tmp, fmt = _write_bars(bars, self.root / f"{key.name}.{token}.tmp")
        created_at = self.now()
        meta = {**_describe(key), "rows": len(bars), "created_at": created_at.isoformat(),
                "format": fmt, "price_basis": price_basis,
                "events": {s: e.as_json() for s, e in sorted(events.items())}}
        jsons = {ISSUES_SUFFIX: [i.as_json() for i in issues], METADATA_SUFFIX: meta}
        for suffix, payload in jsons.items():
            tmp = self.root / f"{key.name}{suffix}.{token}.tmp"
            tmp.write_text(json.dumps(payload, indent=1) + "\n")
            _fsync(tmp)
            os.replace(tmp, self.root / f"{key.name}{suffix}")
        path = self._data_path(key.name, fmt)
        os.replace(data_tmp, path)               # the dataset exists from here on
        _fsync(self.root)
        return CachedDataset(key, path, fmt, canonical_bars(bars), tuple(issues), price_basis,
                             dict(events), created_at)

    def entries(self) -> list[tuple[datetime, str, int]]:
        """(created_at, key name, format_version) of every complete dataset, oldest first."""
        found = []
        for meta_path in self.root.glob(f"*{METADATA_SUFFIX}"):
            name = meta_path.name.removesuffix(METADATA_SUFFIX)
            if not (KEY_NAME.fullmatch(name) and self._has_data(name)):
                continue
            try:
                meta = json.loads(meta_path.read_text())
                found.append((datetime.fromisoformat(meta["created_at"]), name,
                              int(meta["format_version"])))
            except (OSError, ValueError, KeyError, TypeError):
                continue                         # unreadable: a leftover, swept below
        return sorted(found)

    def evict(self, *, keep: DatasetKey | None = None) -> int:
        """Remove datasets of another format version, expired ones, then the oldest beyond
        `max_entries` (never `keep`); sweep hour-old leftovers. Returns datasets removed."""
        if not self.root.is_dir():
            return 0
        entries = self.entries()
        doomed = [name for at, name, version in entries
                  if version != self.format_version or self._expired(at)]
        alive = [name for _, name, _ in entries if name not in doomed]
        if self.max_entries is not None and len(alive) > self.max_entries:
            spare = [name for name in alive if keep is None or name != keep.name]
            doomed += spare[:len(alive) - self.max_entries]
        for name in doomed:
            self._remove(name)
        self._sweep()
        return len(doomed)

    def _remove(self, name: str) -> None:
        for fmt in FORMATS:                      # data first: the dataset stops existing
            self._data_path(name, fmt).unlink(missing_ok=True)
        for suffix in (METADATA_SUFFIX, ISSUES_SUFFIX):
            (self.root / f"{name}{suffix}").unlink(missing_ok=True)

    def _has_data(self, name: str) -> bool:
        return any(self._data_path(name, fmt).is_file() for fmt in FORMATS)

    def _sweep(self) -> None:
        """Delete our leftovers once LEFTOVER_GRACE old: temp files, and the files of a key
        that lacks its data file or its metadata. Files not named like ours are never
        touched (the cache directory may be shared with other files)."""
        cutoff = (self.now() - LEFTOVER_GRACE).timestamp()
        for path in self.root.iterdir():
            found = LEFTOVER.fullmatch(path.name)
            if found is None:
                continue
            name = found["name"]
            complete = self._has_data(name) and (self.root / f"{name}{METADATA_SUFFIX}").is_file()
            if (found["tmp"] or not complete) and path.stat().st_mtime < cutoff:
                log.info("removing leftover %s of an interrupted cache write", path.name)
                path.unlink(missing_ok=True)


def _describe(key: DatasetKey) -> dict[str, Any]:
    return {"vendor": key.vendor, "symbols": list(key.symbols), "interval": key.interval,
            "start": key.start.isoformat(), "end": key.end.isoformat(),
            "format_version": key.format_version}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_parquet(bars: pd.DataFrame, tmp: Path) -> bool:
    """Write `bars` to `tmp` as Parquet; False (and a warning) when pyarrow cannot."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        log.warning("cannot write Parquet (%s); writing CSV instead", exc)
        return False
    try:
        pq.write_table(pa.Table.from_pandas(bars, preserve_index=False), tmp)
    except pa.ArrowException as exc:
        log.warning("cannot write Parquet (%s: %s); writing CSV instead",
                    type(exc).__name__, exc)
        tmp.unlink(missing_ok=True)
        return False
    return True


def _write_bars(bars: pd.DataFrame, tmp: Path) -> tuple[Path, Format]:
    """Write `bars` to `tmp` as Parquet, or as CSV when Parquet cannot be written."""
    fmt: Format = "parquet"
    if not _write_parquet(bars, tmp):
        bars.to_csv(tmp, index=False)
        fmt = "csv"
    _fsync(tmp)
    return tmp, fmt


def _read_bars(path: Path, fmt: Format) -> pd.DataFrame:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return canonical_bars(pq.read_table(path).to_pandas())
    return canonical_bars(pd.read_csv(path))
