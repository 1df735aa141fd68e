"""One cheap probe per backbone component, each returning a ComponentReport and never raising
for a server that is down (foundation/connectivity.py composes them).

- PostgreSQL: connect, then one query: server version, database, and whether the
  `timescaledb` extension is available (pg_available_extensions) and installed (pg_extension).
  Detection only: nothing is created. The embedded server is not started.
- Redis: connect and PING, INFO server (Redis or Valkey version), PING latency over 5 round
  trips, and a write check (SET of a probe key with a 10 s expiry, then DEL): a read-only
  replica or a full server refusing writes is `degraded`.
- Kafka: cluster metadata from an AdminClient (no topic is auto-created), the ingest topic
  (KAFKA_INGEST_TOPIC, default stocksdb.ingest) present with a leader for every partition,
  then a producer that fetches metadata and `flush()`es with nothing left queued. Nothing is
  published to the topic.

The client libraries are imported here, at the top, so that the timings are the servers' and
not our imports'; connectivity.py imports this module only when a report is asked for.
"""

from __future__ import annotations

import time
import uuid
from statistics import median
from typing import Any

import psycopg
import redis
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from stocksdb.config import Settings
from stocksdb.db.connection import redact_dsn
from stocksdb.db.server import embedded_server, resolve_dsn
from stocksdb.errors import StocksdbError
from stocksdb.foundation.connectivity import ComponentReport, ComponentStatus
from stocksdb.redact import configured_secrets, redact

PING_ROUNDS = 5
PROBE_KEY_TTL_MS = 10_000
_REDIS_VARS = "STOCKSDB_REDIS_URL (or REDIS_URL)"


class _Clock:
    """Milliseconds per named step, and in all."""

    def __init__(self) -> None:
        self.started = self._last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = round((now - self._last) * 1000, 3)
        self._last = now

    def report(self, component: str, status: ComponentStatus, reason: str,
               **kwargs: Any) -> ComponentReport:
        elapsed = round((time.perf_counter() - self.started) * 1000, 3)
        return ComponentReport(component, status, reason, elapsed_ms=elapsed,
                               timings_ms=dict(self.laps), **kwargs)


def _one_line(exc: BaseException, settings: Settings) -> str:
    """An error's text on one line, secrets masked."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text, configured_secrets(settings))


# -- PostgreSQL -------------------------------------------------------------------------------
_POSTGRES_FACTS = """
SELECT current_setting('server_version'), current_setting('server_version_num')::int,
       current_database(),
       (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'),
       (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb')
"""


def _postgres_target(settings: Settings) -> str:
    """The DSN to probe; the embedded server's only when it is running (it is not started)."""
    if settings.uses_embedded_server:
        return embedded_server(settings).dsn(settings.database)   # ServerError when stopped
    return resolve_dsn(settings, start=False)


def probe_postgres(settings: Settings, *, timeout_s: float) -> ComponentReport:
    """Reachable? which version? timescaledb available / installed?"""
    clock, origin = _Clock(), settings.postgres_origin
    try:
        dsn = _postgres_target(settings)
    except StocksdbError as exc:
        return clock.report("postgres", ComponentStatus.DOWN, _one_line(exc, settings),
                            origin=origin)
    target = redact_dsn(dsn)
    try:
        # libpq's connect_timeout is whole seconds, at least 2
        with psycopg.connect(dsn, autocommit=True,
                             connect_timeout=max(2, round(timeout_s))) as conn:
            clock.lap("connect")
            row = conn.execute(_POSTGRES_FACTS).fetchone()
            clock.lap("query")
    except psycopg.Error as exc:
        # libpq's own text says "connection failed: ..."; a failed query gets a prefix
        failed = "query failed: " if "connect" in clock.laps else ""
        return clock.report("postgres", ComponentStatus.DOWN,
                            f"{failed}{_one_line(exc, settings)}; {_postgres_fix(origin)}",
                            target=target, origin=origin)
    assert row is not None   # a SELECT without FROM returns one row
    version, version_num, database, available, installed = row
    facts = {"server_version": version, "server_version_num": version_num,
             "database": database,
             "timescaledb": {"available": available is not None, "default_version": available,
                             "installed": installed is not None,
                             "installed_version": installed}}
    return clock.report("postgres", ComponentStatus.OK,
                        f"PostgreSQL {version}, database {database!r}; "
                        + _timescale_phrase(available, installed),
                        target=target, origin=origin, facts=facts)


def _postgres_fix(origin: str) -> str:
    """What to check, by where the connection came from."""
    if origin == "TIMESCALEDB_HOST":
        return "check TIMESCALEDB_HOST/PORT/DB/USER/PASSWORD and TIMESCALEDB_SSL*"
    if origin == "PG*":
        return "check PGHOST/PGPORT/PGDATABASE/PGUSER/PGPASSWORD"
    if origin == "embedded":
        return "see `stocksdb db status`"
    return f"check {origin}"


def _timescale_phrase(available: str | None, installed: str | None) -> str:
    if installed is not None:
        return f"timescaledb {installed} installed"
    if available is not None:
        return f"timescaledb {available} available, not installed in this database"
    return "timescaledb not available on this server"


# -- Redis ------------------------------------------------------------------------------------
def probe_redis(settings: Settings, *, timeout_s: float, required: bool) -> ComponentReport:
    """PING, version, latency and a write check; `required` (institutional mode) turns a
    missing URL from `disabled` into `down`."""
    clock = _Clock()
    url = settings.redis_url
    if url is None:
        if required:
            return clock.report("redis", ComponentStatus.DOWN,
                                f"not configured, and institutional mode requires it; set "
                                f"{_REDIS_VARS}")
        return clock.report("redis", ComponentStatus.DISABLED,
                            f"not configured (no query cache); set {_REDIS_VARS} to use one")
    return _probe_redis_url(settings, url, timeout_s, clock)


def _probe_redis_url(settings: Settings, url: str, timeout_s: float,
                     clock: _Clock) -> ComponentReport:
    where = {"target": redact(url, configured_secrets(settings)),
             "origin": "STOCKSDB_REDIS_URL / REDIS_URL"}
    client = redis.Redis.from_url(url, socket_timeout=timeout_s,
                                  socket_connect_timeout=timeout_s)
    try:
        client.ping()
        clock.lap("connect")
        facts = _redis_facts(client.info("server"))
        facts["ping_ms"] = _ping_median(client)
        clock.lap("ping")
        refused = _write_refused(client)
        clock.lap("write")
    except redis.RedisError as exc:
        return clock.report("redis", ComponentStatus.DOWN,
                            f"cannot reach it: {_one_line(exc, settings)}; check {_REDIS_VARS} "
                            "or start the server", **where)
    finally:
        client.close()
    server = f"{facts['server']} {facts['version']}, PING {facts['ping_ms']} ms"
    if refused is not None:
        return clock.report("redis", ComponentStatus.DEGRADED,
                            f"{server}, but it refuses writes ({type(refused).__name__}: "
                            f"{_one_line(refused, settings).rstrip('.')}); "
                            "point the cache at a writable primary with memory to spare",
                            facts=facts, **where)
    return clock.report("redis", ComponentStatus.OK, server, facts=facts, **where)


def _redis_facts(info: dict[str, Any]) -> dict[str, Any]:
    """Server name and version: Valkey says both its own and the Redis version it speaks."""
    if "valkey_version" in info:
        return {"server": "valkey", "version": str(info["valkey_version"]),
                "redis_version": str(info.get("redis_version", ""))}
    return {"server": str(info.get("server_name", "redis")),
            "version": str(info.get("redis_version", "")),
            "redis_version": str(info.get("redis_version", ""))}


def _ping_median(client: Any) -> float:
    rounds = []
    for _ in range(PING_ROUNDS):
        started = time.perf_counter()
        client.ping()
        rounds.append((time.perf_counter() - started) * 1000)
    return round(median(rounds), 3)


def _write_refused(client: Any) -> Exception | None:
    """None when a probe key can be written (and removed); else the server's refusal."""
    key = f"stocksdb:probe:{uuid.uuid4().hex}"
    try:
        client.set(key, b"1", px=PROBE_KEY_TTL_MS)
    except redis.ResponseError as exc:   # READONLY replica, OOM under noeviction, NOPERM
        return exc
    client.delete(key)
    return None


# -- Kafka ------------------------------------------------------------------------------------
def probe_kafka(settings: Settings, *, timeout_s: float) -> ComponentReport:
    """Metadata, the ingest topic, a producer flush; `disabled` while streaming is off."""
    clock = _Clock()
    servers = settings.kafka_bootstrap_servers
    if not settings.kafka_ingest_enable_streaming:
        return clock.report("kafka", ComponentStatus.DISABLED,
                            "streaming is off (KAFKA_INGEST_ENABLE_STREAMING); no telemetry "
                            "is published", target=servers or "")
    if not servers:
        return clock.report("kafka", ComponentStatus.DOWN,
                            "streaming is on but no broker is configured; set "
                            "KAFKA_BOOTSTRAP_SERVERS (host:port[,host:port]) or turn "
                            "KAFKA_INGEST_ENABLE_STREAMING off")
    return _probe_kafka_servers(servers, settings.kafka_ingest_topic, timeout_s, clock)


def _kafka_config(servers: str, timeout_s: float, errors: list[str]) -> dict[str, Any]:
    """librdkafka settings for a probe: its own errors collected, nothing logged to stderr."""
    return {"bootstrap.servers": servers, "log_level": 0,
            "socket.connection.setup.timeout.ms": max(1000, int(timeout_s * 1000)),
            "error_cb": lambda error: errors.append(error.str())}


def _probe_kafka_servers(servers: str, topic: str, timeout_s: float,
                         clock: _Clock) -> ComponentReport:
    errors: list[str] = []
    where = {"target": servers, "origin": "KAFKA_BOOTSTRAP_SERVERS"}
    admin = AdminClient(_kafka_config(servers, timeout_s, errors))
    try:
        metadata = admin.list_topics(timeout=timeout_s)   # all topics: none is auto-created
    except KafkaException as exc:
        admin.poll(0)   # serves error_cb: the broker-level cause (refused, unknown host)
        cause = "; ".join(dict.fromkeys([str(exc.args[0].str()), *errors[:1]]))
        return clock.report("kafka", ComponentStatus.DOWN,
                            f"no cluster metadata within {timeout_s:g} s: {cause}; check "
                            "KAFKA_BOOTSTRAP_SERVERS and that the brokers are up", **where)
    clock.lap("metadata")
    facts = _topic_facts(metadata, topic)
    flushed = _producer_problem(servers, topic, timeout_s)
    clock.lap("producer")
    problems = [p for p in (_topic_problem(facts), flushed) if p is not None]
    summary = f"{facts['brokers']} broker(s), cluster {facts['cluster_id']}; "
    if problems:
        return clock.report("kafka", ComponentStatus.DEGRADED, summary + "; ".join(problems),
                            facts=facts, **where)
    return clock.report("kafka", ComponentStatus.OK,
                        summary + f"topic {topic!r} has {facts['partitions']} "
                        "partition(s); producer flush ok", facts=facts, **where)


def _topic_facts(metadata: Any, topic: str) -> dict[str, Any]:
    found = metadata.topics.get(topic)
    partitions = {} if found is None or found.error is not None else found.partitions
    leaderless = [p for p in partitions.values() if p.leader < 0 or p.error is not None]
    return {"cluster_id": metadata.cluster_id, "brokers": len(metadata.brokers),
            "topic": topic, "topic_present": bool(partitions),
            "partitions": len(partitions), "leaderless_partitions": len(leaderless)}


def _topic_problem(facts: dict[str, Any]) -> str | None:
    if not facts["topic_present"]:
        return (f"topic {facts['topic']!r} does not exist; create it (the first publish creates "
                "it only where the brokers auto-create topics)")
    if facts["leaderless_partitions"]:
        return (f"topic {facts['topic']!r} has {facts['leaderless_partitions']} of "
                f"{facts['partitions']} partitions without a leader; check the brokers")
    return None


def _producer_problem(servers: str, topic: str, timeout_s: float) -> str | None:
    """None when a producer gets metadata and flush() leaves nothing queued; publishes nothing
    (allow.auto.create.topics off, so the probe creates no topic either)."""
    errors: list[str] = []
    producer = Producer({**_kafka_config(servers, timeout_s, errors),
                         "allow.auto.create.topics": False})
    try:
        producer.list_topics(topic=topic, timeout=timeout_s)
        left = producer.flush(timeout_s)
    except KafkaException as exc:
        return f"a producer failed: {exc.args[0].str()}; check the brokers"
    if left:
        return (f"a producer's flush left {left} message(s) queued after {timeout_s:g} s; "
                "check the brokers")
    return None
