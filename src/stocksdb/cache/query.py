"""A read-through cache of query results in Redis, invalidated by per-table data versions.

In:  a query name, its parameters, the warehouse tables it reads, a loader that runs it, and a
     codec. Out: the loader's result, from Redis when a current copy is there.

Keys. Each table has a data-version counter, `stocksdb:version:<table>` (no TTL). A result is
stored under `stocksdb:query:<name>:<digest>`, the digest covering the parameters, the tables
the query reads, the codec's format name and the stocksdb version; the entry's first line is
the versions of those tables it was made at, the result follows. A fetch reads the counters
and the entry in one MGET and uses the entry only when its versions are the current ones; an
entry this process decoded before at those versions is not decoded again (its value is kept,
and every hit is handed a copy).
After an ingest commits, `bump(tables)` increments the counters of the tables it changed: from
then on every query reading one of them misses (and stores its new result in place), while
queries of other tables keep hitting. Entries carry a TTL (`ttl_s`, a day by default) and are
the first to go at the server's memory limit.

A counter that does not exist yet starts at a random 48-bit number, not at 0: a server that
lost its counters (restarted, flushed, or evicted them under a policy that evicts any key)
then cannot meet an entry stored under an earlier version with the same number.

Bump after the commit, never before: a reader that sees the new version then also sees the
new rows. The cache is never the source of truth (K1): any doubt (an undecodable entry) is a
miss.

Degrading. If Redis cannot be reached, `fetch` runs the loader and returns its result, logs a
warning once, sets `degraded`, and tries Redis again after `retry_after_s`. A `bump` that
fails is kept and sent before anything else once Redis answers, so this process never serves
an entry its own ingest made stale. Nothing here raises to the caller of `fetch` but the
loader's own errors.

Metrics (`metrics()`), per QueryCache since it was made or last reset:
  hits           fetches answered from Redis
  misses         fetches that found no current entry and ran the loader (the result stored)
  bypassed       fetches that ran the loader because Redis could not be reached (or refused
                 the command, e.g. at its memory limit with nothing left to evict)
  invalidations  table versions bumped by this cache
  evictions      keys the server evicted at its memory limit (INFO stats `evicted_keys`,
                 delta since then; server-wide, so on a shared server other clients' keys count
                 too; None while Redis cannot be reached). Entries that expire by TTL or stop
                 being read after a bump are not evictions.
  degraded       Redis could not be reached at the last attempt
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from stocksdb import __version__
from stocksdb.cache.codec import Codec

if TYPE_CHECKING:
    import redis

    from stocksdb.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TTL_S = 24 * 3600
DEFAULT_MAX_VALUE_BYTES = 64 << 20   # a larger result is returned but not stored


@dataclass(frozen=True)
class CacheMetrics:
    """Counters of one QueryCache (see the module docstring for each definition)."""

    hits: int
    misses: int
    bypassed: int
    invalidations: int
    evictions: int | None
    degraded: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


class _Unavailable(Exception):
    """Redis did not answer (connection refused, timeout, authentication)."""


class _Decoded:
    """The values this process last decoded from entries, by key, with the versions (stamp)
    and size of the entry each came from: a hit on the same entry at the same versions (a
    result is a function of its parameters and its tables' versions) is handed a copy of the
    value instead of decoding the entry again. Redis is still asked for the versions on every
    fetch, so a bump anywhere is seen at once. At most MAX_ENTRIES values and MAX_BYTES of
    entries are kept, the least recently used going first."""

    MAX_ENTRIES = 64
    MAX_BYTES = 64 << 20

    def __init__(self) -> None:
        from collections import OrderedDict

        self._values: OrderedDict[str, tuple[bytes, int, Any]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, stamp: bytes, size: int) -> Any | None:
        with self._lock:
            found = self._values.get(key)
            if found is None or found[:2] != (stamp, size):
                return None
            self._values.move_to_end(key)
            return found[2]

    def put(self, key: str, stamp: bytes, size: int, value: Any) -> None:
        if size > self.MAX_BYTES:
            return
        with self._lock:
            old = self._values.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._values[key] = (stamp, size, value)
            self._bytes += size
            while len(self._values) > self.MAX_ENTRIES or self._bytes > self.MAX_BYTES:
                _, (_, gone, _) = self._values.popitem(last=False)
                self._bytes -= gone


class QueryCache:
    """Read-through cache of query results over one Redis connection pool."""

    def __init__(self, client: redis.Redis, *, namespace: str = "stocksdb",
                 ttl_s: int = DEFAULT_TTL_S, retry_after_s: float = 5.0,
                 max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self.namespace = namespace
        self.ttl_s = ttl_s
        self.retry_after_s = retry_after_s
        self.max_value_bytes = max_value_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._counts = {"hits": 0, "misses": 0, "bypassed": 0, "invalidations": 0}
        self._evicted_base: int | None = None
        self._failed_at: float | None = None   # when Redis last failed; None: it answers
        self._pending: set[str] = set()         # tables whose bump has not reached Redis
        self._last_refusal = ""
        self._decoded = _Decoded()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> QueryCache:
        """A cache on the server at `url` (redis://, rediss://, unix://); no I/O yet."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # One quick retry covers a pooled connection the server closed (it restarted); more,
        # with backoff (redis-py's default), would make every fetch against a down server slow.
        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0,
                                      retry=Retry(NoBackoff(), 1))
        return cls(client, **options)

    @classmethod
    def from_settings(cls, settings: Settings, *, start: bool = True,
                      **options: Any) -> QueryCache:
        """A cache on STOCKSDB_REDIS_URL / REDIS_URL, else on the embedded server (started
        when `start`). An embedded server that cannot start gives a degraded cache, with a
        warning, not an error."""
        from stocksdb.cache.server import embedded_valkey, resolve_redis_url
        from stocksdb.errors import CacheServerError

        try:
            url = resolve_redis_url(settings, start=start)
        except CacheServerError as exc:
            log.warning("query cache off: %s", exc)
            url = embedded_valkey(settings).url()
        return cls.from_url(url, **options)

    # -- the cache ---------------------------------------------------------------------------
    @property
    def degraded(self) -> bool:
        """True when Redis could not be reached at the last attempt."""
        return self._failed_at is not None

    def fetch(self, query: str, params: Mapping[str, Any], tables: Sequence[str],
              loader: Callable[[], T], codec: Codec[T]) -> T:
        """The result of `loader` for (`query`, `params`), from Redis when a copy made at the
        current versions of `tables` is there; else loaded and stored. Never raises for Redis.

        A hit is one round trip: one MGET of the tables' version counters and the entry."""
        key, names = self.key(query, params, tables, codec), sorted(set(tables))
        try:
            *found, data = self._call(
                lambda c: c.mget([*(self._version_key(n) for n in names), key]))
            if any(v is None for v in found):    # a counter to create: nothing can match it
                versions, data = self._versions(names), None
            else:
                versions = {n: int(v) for n, v in zip(names, found, strict=True)}
        except _Unavailable:
            self._count("bypassed")
            return loader()
        stamp = _stamp(versions)
        if data is not None:
            head, _, body = bytes(data).partition(b"\n")
            if head == stamp:
                known = self._decoded.get(key, stamp, len(body))
                if known is not None:    # decoded here before, at these very versions
                    self._count("hits")
                    return codec.copy(known)
                try:
                    value = codec.loads(body)
                except Exception as exc:  # noqa: BLE001 - any doubt about an entry is a miss
                    log.warning("cache entry %s unreadable (%s); reloading", key, exc)
                else:
                    self._count("hits")
                    self._decoded.put(key, stamp, len(body), value)
                    return codec.copy(value)
        self._count("misses")
        value = loader()
        try:
            encoded = codec.dumps(value)
        except Exception as exc:  # noqa: BLE001 - a result we cannot encode is still returned
            log.warning("cache: %s result not stored, %s cannot encode it: %s", query,
                        codec.name, exc)
        else:
            self._store(key, stamp, encoded)
        return value

    def key(self, query: str, params: Mapping[str, Any], tables: Sequence[str],
            codec: Codec[Any]) -> str:
        """The key of (`query`, `params`) reading `tables` with `codec` (no I/O): its entry
        holds the last result stored, stamped with the table versions it was made at."""
        material = json.dumps({"params": params, "tables": sorted(set(tables)),
                               "codec": codec.name, "stocksdb": __version__}, sort_keys=True,
                              default=str)
        digest = hashlib.sha256(material.encode()).hexdigest()[:32]
        return f"{self.namespace}:query:{query}:{digest}"

    def versions(self, tables: Iterable[str]) -> dict[str, int] | None:
        """Current data version of each table; None when Redis cannot be reached."""
        try:
            return self._versions(tables)
        except _Unavailable:
            return None

    def bump(self, tables: Iterable[str]) -> dict[str, int] | None:
        """Increment the data versions of `tables` (call after the ingest that changed them
        committed): every cached query reading one of them misses from now on. Returns the
        new versions, or None when Redis could not be reached (the bump is then retried
        before this cache's next use of Redis)."""
        wanted = sorted(set(tables))
        try:
            return self._bump(wanted)
        except _Unavailable:
            self._pending.update(wanted)
            log.warning("cache versions of %s not bumped: Redis unreachable; this process "
                        "retries first when it is back, other readers may be stale until then",
                        ", ".join(wanted))
            return None

    def metrics(self, *, reset: bool = False) -> CacheMetrics:
        """hits / misses / bypassed / invalidations / evictions / degraded; `reset` zeroes the
        counters (and the eviction baseline) after reading them."""
        evicted = self._evicted_keys()
        with self._lock:
            base = self._evicted_base
            if evicted is not None and base is not None and evicted < base:
                base = self._evicted_base = 0   # the server restarted: its count did too
            evictions = None if evicted is None or base is None else max(evicted - base, 0)
            metrics = CacheMetrics(evictions=evictions, degraded=self.degraded, **self._counts)
            if reset:
                self._counts = dict.fromkeys(self._counts, 0)
                self._evicted_base = evicted
        return metrics

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> QueryCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- Redis -------------------------------------------------------------------------------
    def _version_key(self, table: str) -> str:
        return f"{self.namespace}:version:{table}"

    def _versions(self, tables: Iterable[str]) -> dict[str, int]:
        names = sorted(set(tables))
        if not names:
            return {}
        values = self._call(lambda c: c.mget([self._version_key(n) for n in names]))
        found = {n: int(v) for n, v in zip(names, values, strict=True) if v is not None}
        missing = [n for n in names if n not in found]
        if missing:   # only then write: at its memory limit a server refuses writes, not reads

            def create(client: redis.Redis) -> list[Any]:
                pipe = client.pipeline(transaction=False)
                for name in missing:   # a new counter starts at a random number (see above)
                    pipe.set(self._version_key(name), _random_start(), nx=True)
                    pipe.get(self._version_key(name))
                return list(pipe.execute()[1::2])

            found |= {n: int(v) for n, v in zip(missing, self._call(create), strict=True)}
        return {name: found[name] for name in names}

    def _bump(self, names: list[str]) -> dict[str, int]:
        def incr(client: redis.Redis) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.set(self._version_key(name), _random_start(), nx=True)
                pipe.incr(self._version_key(name))
            return list(pipe.execute()[1::2])

        values = self._call(incr, flush_pending=False) if names else []
        self._count("invalidations", len(names))
        return {name: int(value) for name, value in zip(names, values, strict=True)}

    def _store(self, key: str, stamp: bytes, data: bytes) -> None:
        if len(data) > self.max_value_bytes:
            log.debug("cache: %s is %d bytes, over %d; not stored", key, len(data),
                      self.max_value_bytes)
            return
        with contextlib.suppress(_Unavailable):
            self._call(lambda c: c.set(key, stamp + b"\n" + data, ex=self.ttl_s))

    def _evicted_keys(self) -> int | None:
        try:
            stats = self._call(lambda c: c.info("stats"))
        except _Unavailable:
            return None
        return int(stats.get("evicted_keys", 0))

    def _call(self, action: Callable[[redis.Redis], Any], *, flush_pending: bool = True) -> Any:
        """Run `action` on the client; unavailable Redis becomes _Unavailable (and degraded)."""
        import redis

        now = self._clock()
        if self._failed_at is not None and now - self._failed_at < self.retry_after_s:
            raise _Unavailable
        try:
            if flush_pending and self._pending:
                self._bump(sorted(self._pending))
                self._pending.clear()
            result = action(self._client)
        except redis.ResponseError as exc:   # the server answered with an error (e.g. OOM)
            self._refused(exc)
            raise _Unavailable from exc
        except (redis.RedisError, OSError) as exc:
            self._fail(now, exc)
            raise _Unavailable from exc
        self._recover()
        return result

    def _refused(self, exc: Exception) -> None:
        """Log a refusal once per kind (at the memory limit every store is refused)."""
        kind = str(exc).split(":", 1)[-1].strip()[:80]
        level = logging.DEBUG if kind == self._last_refusal else logging.WARNING
        log.log(level, "cache: Redis refused a command: %s", exc)
        self._last_refusal = kind

    def _fail(self, now: float, exc: Exception) -> None:
        if self._failed_at is None:
            log.warning("query cache degraded: Redis unreachable (%s); queries go straight to "
                        "the database, retrying Redis every %gs", exc, self.retry_after_s)
        self._failed_at = now

    def _recover(self) -> None:
        if self._failed_at is not None:
            log.info("query cache back: Redis answers again")
        self._failed_at = None
        if self._evicted_base is None:   # the first answer: evictions count from here
            import redis

            with contextlib.suppress(redis.RedisError, OSError):
                self._evicted_base = int(self._client.info("stats").get("evicted_keys", 0))

    def _count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by


def _random_start() -> int:
    return secrets.randbits(48) + 1



def _stamp(versions: Mapping[str, int]) -> bytes:
    """The table versions an entry was made at, as its first line."""
    return json.dumps(dict(sorted(versions.items())), separators=(",", ":")).encode()
