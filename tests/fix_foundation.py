"""Data-foundation fixtures: a files-vendor directory, small bar files, a settable UTC clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from stocksdb.foundation.base import canonical_bars
from stocksdb.foundation.cache import PricingCache
from stocksdb.foundation.pipeline import PricingPipeline
from stocksdb.sources.vendor_files import FilesProvider

# 2024-01-01 is New Year's Day (no XNYS session); 2024-01-15 is Martin Luther King Jr. Day.
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeNow:
    """A UTC wall clock that moves only when told to (`advance`)."""

    at: datetime = T0

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        """Move the clock forward by timedelta(**delta)."""
        self.at += timedelta(**delta)


def write_bars(root: Path, symbol: str, closes: Mapping[str, float],
               header: str = "date,open,high,low,close,volume") -> Path:
    """`root/SYMBOL.csv` with one bar per (date, close): open = low = close - 1, high =
    close + 1, volume 1000; `closes` maps an ISO date (or timestamp) to the close."""
    lines = [header] + [f"{day},{c - 1},{c + 1},{c - 1},{c},1000" for day, c in closes.items()]
    path = root / f"{symbol}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_bars(symbol: str, closes: Mapping[str, float], vendor: str = "files") -> pd.DataFrame:
    """Canonical bars at midnight UTC of each date, priced as write_bars prices them."""
    return canonical_bars(pd.DataFrame({
        "ts": list(closes), "symbol": symbol, "open": [c - 1 for c in closes.values()],
        "high": [c + 1 for c in closes.values()], "low": [c - 1 for c in closes.values()],
        "close": list(closes.values()), "volume": 1000.0, "vendor": vendor}))


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path, with its bytes (empty when no `root`)."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    """An empty directory for the files vendor."""
    root = tmp_path / "vendor_files"
    root.mkdir()
    return root


@pytest.fixture
def fake_now() -> FakeNow:
    """A UTC clock at T0 (2024-03-01 12:00) that tests advance by hand."""
    return FakeNow()


@pytest.fixture
def cache(tmp_path: Path, fake_now: FakeNow) -> PricingCache:
    """A PricingCache in a fresh directory on the fake clock, no retention or cap."""
    return PricingCache(tmp_path / "pricing", now=fake_now)


def make_pipeline(files: Path, cache: PricingCache, today: str = "2024-03-01",
                  flat_run: int = 5) -> PricingPipeline:
    """The pipeline over the files vendor at `files`, with `today` fixed."""
    day = datetime.fromisoformat(today).date()
    return PricingPipeline(FilesProvider(files), cache, flat_run=flat_run, today=lambda: day)
