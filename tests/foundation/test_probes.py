"""Each backbone probe against real servers: the test PostgreSQL, a valkey-server, a Tansu
broker, and ports where nothing listens. Expected versions come from the servers themselves
(SHOW server_version, `valkey-server --version`), never from the probe."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import redis
from psycopg.conninfo import conninfo_to_dict

from stocksdb.cache.server import EmbeddedValkey
from stocksdb.cache.valkey_files import valkey_binary as _valkey_binary
from stocksdb.config import Settings
from stocksdb.foundation.connectivity import ComponentStatus
from stocksdb.foundation.probes import probe_kafka, probe_postgres, probe_redis
from tests.fix_backbone import unused_port
from tests.fix_kafka import TansuBroker
from tests.fix_pg import superuser_password

TIMEOUT_S = 1.0
SECRET = "probe-Secret-71"


# -- PostgreSQL -------------------------------------------------------------------------------
def test_postgres_ok_with_version_database_and_timescaledb_detection(db: str) -> None:
    """A reachable server: ok, its version and database, and timescaledb as the catalogs say
    (the test server's own answer, read here with plain SQL)."""
    with psycopg.connect(db) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        available = conn.execute("SELECT count(*) FROM pg_available_extensions "
                                 "WHERE name = 'timescaledb'").fetchone()
    assert version is not None and available is not None
    got = probe_postgres(Settings.from_env({"STOCKSDB_DSN": db}), timeout_s=TIMEOUT_S)
    assert got.status is ComponentStatus.OK, got
    assert (got.origin, got.facts["server_version"]) == ("STOCKSDB_DSN", version[0])
    assert got.facts["database"] == conninfo_to_dict(db)["dbname"]
    assert got.facts["timescaledb"]["available"] is (available[0] == 1)
    assert got.facts["timescaledb"]["installed"] is False, "nothing installs it in tests"
    assert got.reason.startswith(f"PostgreSQL {version[0]}, database "), got.reason
    assert list(got.timings_ms) == ["connect", "query"], got.timings_ms


@pytest.mark.parametrize("form", ["url", "discrete"])
def test_postgres_through_timescaledb_variables(db: str, form: str) -> None:
    """TIMESCALEDB_URL (SQLAlchemy form) and TIMESCALEDB_HOST & co reach the real server; the
    password never shows in the report."""
    parts = conninfo_to_dict(db)
    host, port = str(parts.get("host", "localhost")), str(parts.get("port", "5432"))
    if host.startswith("/"):   # the embedded server's socket folder: its TCP face instead
        host = "127.0.0.1"
    user, dbname, password = str(parts["user"]), str(parts["dbname"]), superuser_password(db)
    env = ({"TIMESCALEDB_URL": f"postgresql+psycopg://{quote(user)}:{quote(password, safe='')}"
                               f"@{host}:{port}/{dbname}"} if form == "url" else
           {"TIMESCALEDB_HOST": host, "TIMESCALEDB_PORT": port, "TIMESCALEDB_DB": dbname,
            "TIMESCALEDB_USER": user, "TIMESCALEDB_PASSWORD": password})
    got = probe_postgres(Settings.from_env(env), timeout_s=TIMEOUT_S)
    assert got.status is ComponentStatus.OK, got
    assert got.origin == ("TIMESCALEDB_URL" if form == "url" else "TIMESCALEDB_HOST")
    assert got.facts["database"] == dbname
    assert password not in str(got.as_dict())


@pytest.mark.parametrize(("env", "fix"), [
    ({"STOCKSDB_DSN": "host=127.0.0.1 port={port} dbname=d user=u password=" + SECRET},
     "check STOCKSDB_DSN"),
    ({"TIMESCALEDB_HOST": "127.0.0.1", "TIMESCALEDB_PORT": "{port}",
      "TIMESCALEDB_PASSWORD": SECRET},
     "check TIMESCALEDB_HOST/PORT/DB/USER/PASSWORD and TIMESCALEDB_SSL*"),
])
def test_postgres_down_says_why_and_what_to_check(env: dict[str, str], fix: str) -> None:
    """Nothing listening: down, libpq's reason, the setting to check, the password masked."""
    port = str(unused_port())
    got = probe_postgres(Settings.from_env({k: v.format(port=port) for k, v in env.items()}),
                         timeout_s=TIMEOUT_S)
    assert got.status is ComponentStatus.DOWN, got
    assert "Connection refused" in got.reason and got.reason.endswith(f"; {fix}"), got.reason
    assert f"port={port}" in got.target and SECRET not in str(got.as_dict())


def test_postgres_embedded_and_stopped_is_down_and_stays_stopped(tmp_path: Path) -> None:
    """The embedded server is not started by a probe: down, naming `stocksdb db start`."""
    got = probe_postgres(Settings.from_env({"STOCKSDB_HOME": str(tmp_path)}),
                         timeout_s=TIMEOUT_S)
    assert got.status is ComponentStatus.DOWN
    assert got.reason == (f"embedded server in {tmp_path.resolve() / 'pgdata'} is not "
                          "running; run `stocksdb db start`")
    assert (got.origin, list(tmp_path.iterdir())) == ("embedded", [])


# -- Redis ------------------------------------------------------------------------------------
def _binary_version() -> str:
    """`valkey-server --version` says `Valkey server v=9.1.2 sha=...`."""
    out = subprocess.run([str(_valkey_binary(None)), "--version"], capture_output=True, text=True,
                         check=True).stdout
    match = re.search(r"v=(\S+)", out)
    assert match, out
    return match.group(1)


def test_redis_ok_on_valkey_with_version_latency_and_no_key_left(
        valkey_server: EmbeddedValkey) -> None:
    """PING, the Valkey version the binary reports, a latency, and the write check's key gone."""
    settings = Settings.from_env({"STOCKSDB_REDIS_URL": valkey_server.url()})
    got = probe_redis(settings, timeout_s=TIMEOUT_S, required=False)
    assert got.status is ComponentStatus.OK, got
    assert (got.facts["server"], got.facts["version"]) == ("valkey", _binary_version())
    assert got.facts["ping_ms"] > 0 and list(got.timings_ms) == ["connect", "ping", "write"]
    assert got.reason == f"valkey {_binary_version()}, PING {got.facts['ping_ms']} ms"
    with redis.Redis.from_url(valkey_server.url()) as client:
        assert client.keys("stocksdb:probe:*") == []


def test_redis_refusing_writes_is_degraded(own_valkey: EmbeddedValkey) -> None:
    """A server out of memory under noeviction answers PING but refuses SET: degraded."""
    with redis.Redis.from_url(own_valkey.url()) as client:
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")
    settings = Settings.from_env({"STOCKSDB_REDIS_URL": own_valkey.url()})
    got = probe_redis(settings, timeout_s=TIMEOUT_S, required=False)
    assert got.status is ComponentStatus.DEGRADED, got
    assert got.reason == (f"valkey {_binary_version()}, PING {got.facts['ping_ms']} ms, but it "
                          "refuses writes (OutOfMemoryError: command not allowed when used "
                          "memory > 'maxmemory'); point the cache at a writable primary with "
                          "memory to spare")


def test_redis_down_when_nothing_listens_with_password_masked() -> None:
    """Connection refused: down, naming the variables to check; the URL's password masked."""
    url = f"redis://:{SECRET}@127.0.0.1:{unused_port()}/0"
    got = probe_redis(Settings.from_env({"REDIS_URL": url}), timeout_s=TIMEOUT_S,
                      required=False)
    assert got.status is ComponentStatus.DOWN, got
    assert "Connection refused" in got.reason, got.reason
    assert got.reason.endswith("; check STOCKSDB_REDIS_URL (or REDIS_URL) or start the server")
    assert SECRET not in str(got.as_dict()) and "127.0.0.1" in got.target


def test_redis_not_configured_is_disabled_or_down_when_required() -> None:
    """No URL: disabled (no cache), but down when institutional mode requires it."""
    optional = probe_redis(Settings(), timeout_s=TIMEOUT_S, required=False)
    required = probe_redis(Settings(), timeout_s=TIMEOUT_S, required=True)
    assert (optional.status, required.status) == (ComponentStatus.DISABLED,
                                                   ComponentStatus.DOWN)
    assert required.reason == ("not configured, and institutional mode requires it; set "
                               "STOCKSDB_REDIS_URL (or REDIS_URL)")


# -- Kafka ------------------------------------------------------------------------------------
def _kafka(servers: str | None, topic: str = "stocksdb.ingest", streaming: bool = True) -> Settings:
    return Settings(kafka_bootstrap_servers=servers, kafka_ingest_topic=topic,
                    kafka_ingest_enable_streaming=streaming)


def test_kafka_ok_on_tansu_with_the_topic_and_a_producer_flush(tansu: TansuBroker) -> None:
    """Metadata from the broker, the ingest topic with a leader per partition, flush ok."""
    topic = f"doctor.{uuid.uuid4().hex[:10]}"
    tansu.create_topic(topic, partitions=2)
    got = probe_kafka(_kafka(tansu.bootstrap, topic), timeout_s=TIMEOUT_S)
    assert got.status is ComponentStatus.OK, got
    assert got.facts == {"cluster_id": got.facts["cluster_id"], "brokers": 1, "topic": topic,
                         "topic_present": True, "partitions": 2, "leaderless_partitions": 0}
    assert got.reason.endswith(f"topic {topic!r} has 2 partition(s); producer flush ok")
    assert list(got.timings_ms) == ["metadata", "producer"]


def test_kafka_missing_topic_is_degraded_and_not_created(tansu: TansuBroker) -> None:
    """The probe creates no topic: a missing one is degraded, and still missing after."""
    topic = f"doctor.{uuid.uuid4().hex[:10]}"
    first = probe_kafka(_kafka(tansu.bootstrap, topic), timeout_s=TIMEOUT_S)
    second = probe_kafka(_kafka(tansu.bootstrap, topic), timeout_s=TIMEOUT_S)
    assert (first.status, second.status) == (ComponentStatus.DEGRADED,) * 2, second
    assert second.facts["topic_present"] is False
    assert f"topic {topic!r} does not exist; create it" in second.reason, second.reason


def test_kafka_down_when_nothing_listens() -> None:
    """No broker at the address: down within the timeout, with librdkafka's reason and the
    variable to check."""
    servers = f"127.0.0.1:{unused_port()}"
    got = probe_kafka(_kafka(servers), timeout_s=TIMEOUT_S)
    assert got.status is ComponentStatus.DOWN, got
    assert got.reason.startswith("no cluster metadata within 1 s: "), got.reason
    assert "Connection refused" in got.reason, got.reason
    assert got.reason.endswith("; check KAFKA_BOOTSTRAP_SERVERS and that the brokers are up")
    assert got.elapsed_ms < 5000 and got.target == servers


def test_kafka_disabled_when_streaming_is_off_without_touching_the_network() -> None:
    """Streaming off: disabled at once, even with brokers configured (and dead)."""
    got = probe_kafka(_kafka(f"127.0.0.1:{unused_port()}", streaming=False),
                      timeout_s=TIMEOUT_S)
    assert got.status is ComponentStatus.DISABLED
    assert got.reason == ("streaming is off (KAFKA_INGEST_ENABLE_STREAMING); no telemetry is "
                          "published")
    assert got.timings_ms == {} and got.elapsed_ms < 50


def test_kafka_streaming_on_without_brokers_is_down_naming_the_variable() -> None:
    """Streaming on, KAFKA_BOOTSTRAP_SERVERS unset: down, saying to set it."""
    got = probe_kafka(_kafka(None), timeout_s=TIMEOUT_S)
    assert got.status is ComponentStatus.DOWN
    assert "set KAFKA_BOOTSTRAP_SERVERS" in got.reason
