"""PricingCache: the key, a hit (that never calls the vendor), expiry by retention, eviction by
max entries, the CSV fallback, atomic writes (processes killed mid-write) and the format
version."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from stocksdb.foundation import (
    Dividend,
    PricingCache,
    PricingQualityIssue,
    Split,
    SymbolEvents,
)
from stocksdb.foundation.cache import DatasetKey
from stocksdb.foundation.quality import IssueCode
from tests.fix_foundation import FakeNow, make_bars, make_pipeline, snapshot, write_bars

CLOSES = {"2024-01-02": 10.0, "2024-01-03": 11.0}
ISSUE = PricingQualityIssue(IssueCode.MISSING_ROWS, "warning", "AAA", "1 of 3 ...",
                            ("2024-01-04",))
EVENTS = {"AAA": SymbolEvents((Dividend(date(2024, 1, 3), 0.24),), (Split(date(2024, 1, 2),
                                                                          4.0),))}


def key_of(cache: PricingCache, *symbols: str, end: date = date(2024, 1, 5)) -> DatasetKey:
    """The key of a files pull of `symbols`, Jan 2..`end`."""
    return cache.key(vendor="files", symbols=symbols or ("AAA",), interval="1d",
                     start=date(2024, 1, 2), end=end)


def store(cache: PricingCache, key: DatasetKey) -> None:
    """Write AAA's two bars, one issue and its events under `key`."""
    cache.write(key, bars=make_bars("AAA", CLOSES), issues=[ISSUE], price_basis="raw",
                events=EVENTS)


def test_the_key_is_stable_and_covers_every_field(cache: PricingCache) -> None:
    """Symbol order and case do not matter; vendor, symbols, interval, window and format
    version each change the name. The name is pinned: it must not change between releases
    without a format-version bump."""
    key = key_of(cache, "bbb", "AAA")
    assert key == key_of(cache, "AAA", "BBB")
    # printf '%s' '["files", ["AAA", "BBB"], "1d", "2024-01-02", "2024-01-05", 1]' | sha256sum
    assert key.name == "files-c52ef2744342558c"
    others = {key_of(cache, "AAA").name, key_of(cache, "AAA", "BBB", end=date(2024, 1, 6)).name,
              cache.key(vendor="yahoo", symbols=["AAA", "BBB"], interval="1d",
                        start=date(2024, 1, 2), end=date(2024, 1, 5)).name,
              PricingCache(cache.root, format_version=2).key(
                  vendor="files", symbols=["AAA", "BBB"], interval="1d",
                  start=date(2024, 1, 2), end=date(2024, 1, 5)).name}
    assert len(others) == 4 and key.name not in others


def test_a_written_dataset_reads_back_whole(cache: PricingCache) -> None:
    """Bars, issues, events, price basis and the three files with the documented metadata."""
    key = key_of(cache)
    store(cache, key)
    got = cache.read(key)
    assert got is not None
    assert_frame_equal(got.bars, make_bars("AAA", CLOSES))
    assert (got.issues, dict(got.events), got.price_basis, got.format) == (
        (ISSUE,), EVENTS, "raw", "parquet")
    assert sorted(os.listdir(cache.root)) == [f"{key.name}.parquet",
                                              f"{key.name}_issues.json",
                                              f"{key.name}_metadata.json"]
    meta = json.loads((cache.root / f"{key.name}_metadata.json").read_text())
    assert meta == {"vendor": "files", "symbols": ["AAA"], "interval": "1d",
                    "start": "2024-01-02", "end": "2024-01-05", "format_version": 1,
                    "rows": 2, "created_at": "2024-03-01T12:00:00+00:00", "format": "parquet",
                    "price_basis": "raw",
                    "events": {"AAA": {"dividends": [{"date": "2024-01-03", "amount": 0.24}],
                                       "splits": [{"date": "2024-01-02", "ratio": 4.0}]}}}


def test_a_hit_within_retention_never_calls_the_vendor(files_dir: Path,
                                                       cache: PricingCache) -> None:
    """Second run of the same pull after the vendor's directory is deleted (a fetch would
    raise InputFileError): a hit with the first run's bars and issues."""
    write_bars(files_dir, "AAA", {**CLOSES, "2024-01-05": 13.0})
    first = make_pipeline(files_dir, cache).run("AAA", start=date(2024, 1, 2),
                                                end=date(2024, 1, 5))
    shutil.rmtree(files_dir)
    again = make_pipeline(files_dir, cache).run("AAA", start=date(2024, 1, 2),
                                                end=date(2024, 1, 5))
    assert (first.cache.hit, again.cache.hit) == (False, True)
    assert again.as_json() == {**first.as_json(), "cache": {"hit": True, "evicted": 0}}
    assert [i.code.value for i in again.issues] == ["missing_rows"], "Jan 4 has no bar"


def test_refresh_skips_the_hit(files_dir: Path, cache: PricingCache) -> None:
    """refresh=True pulls again: a changed file shows up."""
    write_bars(files_dir, "AAA", CLOSES)
    pipeline = make_pipeline(files_dir, cache)
    pipeline.run("AAA", start=date(2024, 1, 2), end=date(2024, 1, 3))
    write_bars(files_dir, "AAA", {"2024-01-02": 20.0, "2024-01-03": 21.0})
    again = pipeline.run("AAA", start=date(2024, 1, 2), end=date(2024, 1, 3), refresh=True)
    assert (again.cache.hit, list(again.bars["close"])) == (False, [20.0, 21.0])


def test_an_entry_expires_after_retention_days(tmp_path: Path, fake_now: FakeNow) -> None:
    """retention_days=7: a hit 6 days 23 hours later, a miss at 7 days, and evict removes
    it (count 1, no file left)."""
    cache = PricingCache(tmp_path / "pricing", retention_days=7, now=fake_now)
    key = key_of(cache)
    store(cache, key)
    fake_now.advance(days=6, hours=23)
    assert cache.read(key) is not None
    fake_now.advance(hours=1)
    assert cache.read(key) is None
    assert cache.evict() == 1
    assert os.listdir(cache.root) == []


def test_max_entries_evicts_the_oldest_but_never_the_kept_one(tmp_path: Path,
                                                              fake_now: FakeNow) -> None:
    """Three datasets a day apart, max_entries=2: the oldest goes. With max_entries=1 and
    keep= the oldest survivor, the newer one goes instead."""
    cache = PricingCache(tmp_path / "pricing", max_entries=2, now=fake_now)
    keys = [key_of(cache, symbol) for symbol in ("A1", "A2", "A3")]
    for key in keys:
        store(cache, key)
        fake_now.advance(days=1)
    assert cache.evict(keep=keys[2]) == 1
    assert [name for _, name, _ in cache.entries()] == [keys[1].name, keys[2].name]
    tight = PricingCache(cache.root, max_entries=1, now=fake_now)
    assert tight.evict(keep=keys[1]) == 1
    assert [name for _, name, _ in tight.entries()] == [keys[1].name]


def test_the_pipeline_reports_evictions(files_dir: Path, tmp_path: Path,
                                        fake_now: FakeNow) -> None:
    """max_entries=1: the second pull (another window) evicts the first and says so."""
    cache = PricingCache(tmp_path / "pricing", max_entries=1, now=fake_now)
    write_bars(files_dir, "AAA", CLOSES)
    pipeline = make_pipeline(files_dir, cache)
    assert pipeline.run("AAA", start=date(2024, 1, 2), end=date(2024, 1, 2)).cache.evicted == 0
    fake_now.advance(minutes=1)
    second = pipeline.run("AAA", start=date(2024, 1, 2), end=date(2024, 1, 3))
    assert second.cache.evicted == 1
    assert [second.dataset] == [cache.root / f"{n}.parquet" for _, n, _ in cache.entries()]


def test_csv_is_the_fallback_when_parquet_cannot_be_written(
        cache: PricingCache, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow's writer failing (forced) gives `<key>.csv`, format csv in the metadata, and
    the same bars back (UTC timestamps, NaN adj_close)."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise pa.ArrowNotImplementedError("forced by the test")

    monkeypatch.setattr(pq, "write_table", refuse)
    key = key_of(cache)
    store(cache, key)
    assert sorted(os.listdir(cache.root)) == [f"{key.name}.csv", f"{key.name}_issues.json",
                                              f"{key.name}_metadata.json"]
    got = cache.read(key)
    assert got is not None and got.format == "csv"
    assert_frame_equal(got.bars, make_bars("AAA", CLOSES))
    assert json.loads((cache.root / f"{key.name}_metadata.json").read_text())["format"] == "csv"


def test_a_bumped_format_version_misses_and_evicts_the_old(cache: PricingCache,
                                                           fake_now: FakeNow) -> None:
    """Version 2 of the cache does not see a version 1 dataset, and its evict removes it."""
    store(cache, key_of(cache))
    bumped = PricingCache(cache.root, format_version=2, now=fake_now)
    assert bumped.read(key_of(bumped)) is None
    assert bumped.evict() == 1
    assert os.listdir(cache.root) == []


def test_an_entry_that_disagrees_with_its_metadata_is_a_miss(cache: PricingCache) -> None:
    """Metadata claiming 3 rows over a 2-row file, or unparseable metadata: a miss."""
    key = key_of(cache)
    store(cache, key)
    meta_path = cache.root / f"{key.name}_metadata.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "rows": 3}))
    assert cache.read(key) is None
    meta_path.write_text("{not json")
    assert cache.read(key) is None


KILLER = """
import os, signal, sys
from datetime import date
import pyarrow.parquet as pq
from stocksdb.foundation import PricingCache
from tests.fix_foundation import make_bars

root, point, close = sys.argv[1], sys.argv[2], float(sys.argv[3])

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if point == "parquet":          # killed with the data file half-written
    def write_table(table, where, **kwargs):
        with open(where, "wb") as f:
            f.write(b"PAR1 partial")
        die()
    pq.write_table = write_table
else:                           # killed before rename number N (issues, metadata, data)
    real_replace, calls = os.replace, []
    def replace(src, dst):
        if len(calls) == int(point):
            die()
        calls.append(dst)
        real_replace(src, dst)
    os.replace = replace
cache = PricingCache(__import__("pathlib").Path(root))
key = cache.key(vendor="files", symbols=["AAA"], interval="1d", start=date(2024, 1, 2),
                end=date(2024, 1, 5))
cache.write(key, bars=make_bars("AAA", {"2024-01-02": close}), issues=[], price_basis="raw",
            events={})
"""


def write_in_child(root: Path, point: str, close: float = 10.0) -> int:
    """Run a cache write in a child process that SIGKILLs itself at `point` ("9": never);
    its exit status."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", KILLER, str(root), point, str(close)],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (0, -signal.SIGKILL), done.stderr
    return done.returncode


def real_clock(**ahead: float) -> Callable[[], datetime]:
    """The real UTC clock moved ahead by timedelta(**ahead): leftovers' ages are file times."""
    return lambda: datetime.now(UTC) + timedelta(**ahead)


@pytest.mark.parametrize("point", ["parquet", "0", "1", "2"])
def test_a_killed_write_leaves_no_partial_dataset(tmp_path: Path, point: str) -> None:
    """Killed while writing Parquet or before any of the three renames: the key is a miss,
    no entry is listed; leftovers are kept while young (a write may be running) and swept
    once an hour old."""
    cache = PricingCache(tmp_path / "pricing", now=real_clock())
    assert write_in_child(cache.root, point) == -signal.SIGKILL
    key = key_of(cache)
    assert cache.read(key) is None
    assert cache.entries() == []
    leftovers = snapshot(cache.root)
    assert leftovers, "the child got as far as writing something"
    assert cache.evict() == 0
    assert snapshot(cache.root) == leftovers, "young leftovers are left alone"
    assert PricingCache(cache.root, now=real_clock(hours=1, minutes=1)).evict() == 0
    assert os.listdir(cache.root) == []


def test_a_killed_refresh_never_mixes_old_and_new(cache: PricingCache) -> None:
    """A complete dataset, then a rewrite killed after the new metadata landed but before the
    new data: a miss (the old data went first), never the new metadata over old bars."""
    assert write_in_child(cache.root, "9", close=10.0) == 0
    key = key_of(cache)
    first = cache.read(key)
    assert first is not None and list(first.bars["close"]) == [10.0]
    assert write_in_child(cache.root, "2", close=20.0) == -signal.SIGKILL
    assert cache.read(key) is None
    meta = json.loads((cache.root / f"{key.name}_metadata.json").read_text())
    assert meta["rows"] == 1 and not (cache.root / f"{key.name}.parquet").exists()


def test_eviction_never_touches_files_that_are_not_ours(tmp_path: Path) -> None:
    """Day-old files not named like a dataset key (a shared --cache-dir) survive evict,
    while a day-old orphan of ours (issues JSON without its data) is swept."""
    root = tmp_path / "shared"
    root.mkdir()
    foreign = {"notes.csv": b"a,b\n", "x_metadata.json": b"{}", "x.csv": b"", "y.tmp": b""}
    for name, body in foreign.items():
        (root / name).write_bytes(body)
    (root / "files-0123456789abcdef_issues.json").write_text("[]")
    day_ago = (datetime.now(UTC) - timedelta(days=1)).timestamp()
    for path in root.iterdir():
        os.utime(path, (day_ago, day_ago))
    assert PricingCache(root, max_entries=1, now=real_clock()).evict() == 0
    assert snapshot(root) == foreign
