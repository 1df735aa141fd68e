"""QueryCache on a real Valkey: read-through, per-table data versions, metrics, and a server
that goes away (degraded, never an exception)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import redis

from stocksdb.cache.codec import JSON
from stocksdb.cache.query import QueryCache
from stocksdb.cache.server import EmbeddedValkey
from stocksdb.config import Settings
from tests.fix_valkey import start_valkey


class Loader:
    """A loader that counts its calls and returns `value` (changeable between calls)."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.value


class FakeClock:
    """Monotonic seconds the test advances by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counts(cache: QueryCache) -> tuple[int, int, int, int]:
    m = cache.metrics()
    return m.hits, m.misses, m.bypassed, m.invalidations


def test_a_miss_loads_and_stores_then_a_hit_skips_the_loader(query_cache: QueryCache) -> None:
    """First fetch runs the loader (a miss), the second returns the stored copy (a hit)."""
    load = Loader({"rows": 3})
    first = query_cache.fetch("q", {"day": "2024-01-03"}, ["prices_daily"], load, JSON)
    second = query_cache.fetch("q", {"day": "2024-01-03"}, ["prices_daily"], load, JSON)
    assert first == second == {"rows": 3} and load.calls == 1
    assert counts(query_cache) == (1, 1, 0, 0)
    other = query_cache.fetch("q", {"day": "2024-01-04"}, ["prices_daily"], load, JSON)
    assert other == {"rows": 3} and load.calls == 2, "other parameters are another entry"


def test_a_hit_decoded_before_is_a_copy_and_another_process_bump_is_seen_at_once(
        query_cache: QueryCache, valkey_server: EmbeddedValkey) -> None:
    """Hits of an entry this process already decoded are served from the decoded value (the
    versions are still read from the server), each as a copy its caller may change; a bump
    made by another client is seen by the very next fetch."""
    load = Loader({"rows": [1, 2]})

    def fetch() -> Any:
        return query_cache.fetch("q", {}, ["prices_daily"], load, JSON)

    fetch()                       # the miss
    first = fetch()               # a hit, decoded
    first["rows"].append(3)       # the caller changes its copy
    assert fetch() == {"rows": [1, 2]} and fetch() is not fetch()
    load.value = {"rows": [9]}
    with QueryCache.from_url(valkey_server.url(), namespace=query_cache.namespace) as other:
        other.bump(["prices_daily"])
    assert fetch() == {"rows": [9]} and load.calls == 2
    assert counts(query_cache)[:2] == (4, 2)


def test_bump_invalidates_exactly_the_queries_of_the_bumped_tables(
        query_cache: QueryCache) -> None:
    """After bump(['prices_daily']) a query reading prices_daily reloads (new value), one
    reading only securities still hits; the bump counts one invalidation."""
    prices, names = Loader([181.0]), Loader(["AAPL"])

    def fetch_prices() -> Any:
        return query_cache.fetch("bars", {}, ["securities", "prices_daily"], prices, JSON)

    def fetch_names() -> Any:
        return query_cache.fetch("names", {}, ["securities"], names, JSON)

    fetch_prices(), fetch_names()
    prices.value = [191.0]   # the ingest changed prices_daily
    assert fetch_prices() == [181.0], "served from the cache until the bump"
    query_cache.bump(["prices_daily"])
    assert fetch_prices() == [191.0] and prices.calls == 2
    assert fetch_names() == ["AAPL"] and names.calls == 1
    assert counts(query_cache) == (2, 3, 0, 1)


def test_versions_live_under_stocksdb_version_without_ttl_and_results_expire(
        valkey_server: EmbeddedValkey) -> None:
    """The counter of a table is `stocksdb:version:<table>` (no TTL, so never evicted under
    volatile-lru); a bump adds exactly 1; a stored result carries the TTL given."""
    with QueryCache.from_url(valkey_server.url(), ttl_s=600) as cache, \
            redis.Redis.from_url(valkey_server.url()) as client:
        before = cache.versions(["t_versions_test"])
        assert before is not None
        raw = client.get("stocksdb:version:t_versions_test")
        assert raw is not None and int(raw) == before["t_versions_test"] > 0
        assert client.ttl("stocksdb:version:t_versions_test") == -1
        assert cache.bump(["t_versions_test"]) == {"t_versions_test":
                                                   before["t_versions_test"] + 1}
        cache.fetch("ttl_probe", {}, ["t_versions_test"], Loader(1), JSON)
        key = cache.key("ttl_probe", {}, ["t_versions_test"], JSON)
        assert key is not None and key.startswith("stocksdb:query:ttl_probe:")
        assert 590 <= client.ttl(key) <= 600


def test_an_unreadable_entry_is_a_miss(query_cache: QueryCache,
                                       valkey_server: EmbeddedValkey) -> None:
    """Garbage under a query's key is reloaded and replaced, not returned nor raised."""
    key = query_cache.key("q", {}, ["prices_daily"], JSON)
    assert key is not None
    with redis.Redis.from_url(valkey_server.url()) as client:
        client.set(key, b"\x00not json")
    load = Loader([1, 2])
    assert query_cache.fetch("q", {}, ["prices_daily"], load, JSON) == [1, 2]
    assert query_cache.fetch("q", {}, ["prices_daily"], load, JSON) == [1, 2]
    assert load.calls == 1 and counts(query_cache)[:2] == (1, 1)


def test_loader_errors_reach_the_caller_and_nothing_is_stored(query_cache: QueryCache) -> None:
    """The loader's own exception propagates; the next fetch loads again."""
    def broken() -> Any:
        raise ValueError("no such symbol")

    with pytest.raises(ValueError, match="no such symbol"):
        query_cache.fetch("q", {}, ["prices_daily"], broken, JSON)
    assert query_cache.fetch("q", {}, ["prices_daily"], Loader(7), JSON) == 7


def test_a_result_over_the_size_limit_is_returned_but_not_stored(
        valkey_server: EmbeddedValkey) -> None:
    """max_value_bytes=8: a 12-byte JSON result is served from the loader every time."""
    with QueryCache.from_url(valkey_server.url(), namespace="t_big",
                             max_value_bytes=8) as cache:
        load = Loader("0123456789")   # '"0123456789"' is 12 bytes
        for _ in range(2):
            assert cache.fetch("q", {}, ["prices_daily"], load, JSON) == "0123456789"
    assert load.calls == 2


def test_evictions_count_keys_the_server_evicted_at_its_memory_limit() -> None:
    """A 3 MB server (about 1 MB of it its own) filled with 100 results of 64 KB evicts:
    metrics().evictions > 0 and equals the server's evicted_keys; the results still come back
    (from the loader when evicted); reset=True starts the count again from zero."""
    home = Path(tempfile.mkdtemp(prefix="stocksdb-test-vk-"))
    server = start_valkey(home / "valkey", max_memory="3mb")
    try:
        with QueryCache.from_url(server.url()) as cache:
            for i in range(100):
                value = cache.fetch("fill", {"i": i}, ["prices_daily"], Loader("x" * 65536), JSON)
                assert value == "x" * 65536
            with redis.Redis.from_url(server.url()) as client:
                evicted = int(client.info("stats")["evicted_keys"])
            metrics = cache.metrics(reset=True)
            assert metrics.evictions == evicted and evicted > 0, metrics
            assert cache.metrics().evictions == 0
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_a_down_server_degrades_to_no_cache_and_recovers(
        own_valkey: EmbeddedValkey, caplog: pytest.LogCaptureFixture) -> None:
    """Redis stopped: fetch returns the loader's value, `degraded` is set with one warning,
    metrics say bypassed and evictions unknown, a bump is kept; once a server answers again
    (after retry_after_s) the kept bump is sent first and caching resumes."""
    clock = FakeClock()
    cache = QueryCache.from_url(own_valkey.url(), retry_after_s=5.0, clock=clock)
    load = Loader({"close": 181.0})
    cache.fetch("q", {}, ["prices_daily"], load, JSON)
    own_valkey.stop()
    with caplog.at_level(logging.WARNING, logger="stocksdb.cache.query"):
        for _ in range(3):
            assert cache.fetch("q", {}, ["prices_daily"], load, JSON) == {"close": 181.0}
        assert cache.bump(["prices_daily"]) is None
    degraded = [r for r in caplog.records if "query cache degraded" in r.getMessage()]
    assert len(degraded) == 1 and cache.degraded and load.calls == 4
    assert cache.metrics().as_dict() == {"hits": 0, "misses": 1, "bypassed": 3,
                                         "invalidations": 0, "evictions": None,
                                         "degraded": True}
    own_valkey.start()
    clock.now += 5.0
    assert cache.fetch("q", {}, ["prices_daily"], load, JSON) == {"close": 181.0}
    assert cache.fetch("q", {}, ["prices_daily"], load, JSON) == {"close": 181.0}
    assert not cache.degraded and counts(cache) == (1, 2, 3, 1)
    cache.close()


def test_from_settings_uses_the_embedded_server_and_degrades_when_it_cannot_start(
        caplog: pytest.LogCaptureFixture) -> None:
    """No Redis URL: the embedded server of STOCKSDB_HOME is started and used (a miss, then a
    hit); a valkey-server that cannot run gives a degraded cache and a warning, not an error."""
    home = Path(tempfile.mkdtemp(prefix="stocksdb-test-vk-"))
    try:
        with QueryCache.from_settings(Settings(home=home)) as cache:
            for _ in range(2):
                assert cache.fetch("q", {}, ["prices_daily"], Loader(5), JSON) == 5
            assert counts(cache)[:2] == (1, 1)
        assert EmbeddedValkey(home / "valkey").status().running
        broken = Settings(home=home / "other", valkey_bin=Path("/nonexistent/valkey-server"))
        with caplog.at_level(logging.WARNING, logger="stocksdb.cache.query"), \
                QueryCache.from_settings(broken) as cache:
            assert cache.fetch("q", {}, ["prices_daily"], Loader(6), JSON) == 6
            assert cache.degraded
        assert "query cache off: STOCKSDB_VALKEY_BIN is '/nonexistent/valkey-server'" \
            in caplog.text
    finally:
        EmbeddedValkey(home / "valkey").stop()
        shutil.rmtree(home, ignore_errors=True)


def test_a_hit_is_one_mget_and_a_bump_replaces_the_entry_in_place(
        query_cache: QueryCache, valkey_server: EmbeddedValkey) -> None:
    """The server's own command statistics: a hit costs exactly one MGET (the counters and the
    entry together), nothing else. After a bump the same key holds the new result, its first
    line the new version."""
    load = Loader([1])
    query_cache.fetch("one_trip", {"x": 1}, ["t_one_trip"], load, JSON)
    with redis.Redis.from_url(valkey_server.url()) as client:
        client.config_resetstat()
        assert query_cache.fetch("one_trip", {"x": 1}, ["t_one_trip"], load, JSON) == [1]
        stats = {k: v["calls"] for k, v in client.info("commandstats").items()}
        stats.pop("cmdstat_info", None)           # the INFO just sent
        stats.pop("cmdstat_config|resetstat", None)
        stats.pop("cmdstat_config", None)
        assert stats == {"cmdstat_mget": 1}, stats
        key = query_cache.key("one_trip", {"x": 1}, ["t_one_trip"], JSON)
        bumped = query_cache.bump(["t_one_trip"])
        assert bumped is not None
        [version] = bumped.values()
        load.value = [2]
        assert query_cache.fetch("one_trip", {"x": 1}, ["t_one_trip"], load, JSON) == [2]
        stored = client.get(key)
    assert load.calls == 2
    assert stored == b'{"t_one_trip":%d}\n[2]' % version
