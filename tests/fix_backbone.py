"""Backbone test helpers: an environment with no backbone variable of the machine's leaking in,
and a port nothing listens on (for `down` components)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

# Every variable that configures PostgreSQL, Redis, Kafka or the backbone mode.
BACKBONE_VARIABLES = (
    "STOCKSDB_DSN", "TIMESCALEDB_URL", "TIMESCALEDB_HOST", "TIMESCALEDB_PORT", "TIMESCALEDB_DB",
    "TIMESCALEDB_USER", "TIMESCALEDB_PASSWORD", "TIMESCALEDB_SSLMODE", "TIMESCALEDB_SSLROOTCERT",
    "TIMESCALEDB_SSLKEY", "TIMESCALEDB_SSLCERT", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER",
    "PGPASSWORD", "STOCKSDB_REDIS_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_INGEST_ENABLE_STREAMING", "KAFKA_INGEST_TOPIC", "STOCKSDB_BACKBONE_MODE")


def unused_port() -> int:
    """A 127.0.0.1 port nothing listens on (free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def backbone_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """os.environ without any backbone variable, STOCKSDB_HOME in tmp_path; set what the test
    needs on the returned monkeypatch (for in-process CLI runs, which read os.environ)."""
    for name in BACKBONE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STOCKSDB_HOME", str(tmp_path / "home"))
    return monkeypatch
