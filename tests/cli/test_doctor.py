"""`stocksdb doctor [--json]` in-process against real servers: the test PostgreSQL, a
valkey-server, a Tansu broker, and ports where nothing listens."""

from __future__ import annotations

import json
import uuid

import pytest

from stocksdb.cache.server import EmbeddedValkey
from tests.fix_backbone import unused_port
from tests.fix_cli import stocksdb
from tests.fix_kafka import TansuBroker


def test_every_component_ok_exits_0_with_json(
        capsys: pytest.CaptureFixture[str], backbone_env: pytest.MonkeyPatch, db: str,
        valkey_server: EmbeddedValkey, tansu: TansuBroker) -> None:
    """PostgreSQL, Valkey and a broker with the ingest topic: all ok, exit 0; the JSON names
    where each setting came from."""
    topic = f"doctor.{uuid.uuid4().hex[:10]}"
    tansu.create_topic(topic)
    backbone_env.setenv("STOCKSDB_REDIS_URL", valkey_server.url())
    backbone_env.setenv("KAFKA_BOOTSTRAP_SERVERS", tansu.bootstrap)
    backbone_env.setenv("KAFKA_INGEST_ENABLE_STREAMING", "true")
    backbone_env.setenv("KAFKA_INGEST_TOPIC", topic)
    code, out, err = stocksdb(capsys, "--dsn", db, "doctor", "--json", "--timeout", "1")
    assert code == 0, out + err
    data = json.loads(out)
    assert data["status"] == "ok"
    assert {name: c["status"] for name, c in data["components"].items()} == \
        {"postgres": "ok", "redis": "ok", "kafka": "ok"}
    assert [c["origin"] for c in data["components"].values()] == \
        ["--dsn", "STOCKSDB_REDIS_URL / REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS"]


def test_a_dead_broker_exits_1_and_the_text_says_why(
        capsys: pytest.CaptureFixture[str], backbone_env: pytest.MonkeyPatch, db: str) -> None:
    """Streaming on, nothing listening: the text report says kafka is down and why; exit 1."""
    backbone_env.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{unused_port()}")
    backbone_env.setenv("KAFKA_INGEST_ENABLE_STREAMING", "1")
    code, out, err = stocksdb(capsys, "--dsn", db, "doctor", "--timeout", "1")
    assert code == 1, out + err
    lines = out.splitlines()
    assert lines[0].startswith("backbone connectivity: down (mode standard, at "), out
    assert lines[1].startswith("  postgres  ok       PostgreSQL "), out
    assert "  redis     disabled not configured (no query cache)" in out, out
    assert "  kafka     down     no cluster metadata within 1 s: " in out, out
    assert err == ""


def test_passwords_never_reach_the_output(
        capsys: pytest.CaptureFixture[str], backbone_env: pytest.MonkeyPatch) -> None:
    """A TIMESCALEDB_URL and a Redis URL with passwords, both unreachable: down, exit 1, and
    neither password in stdout or stderr, text or JSON."""
    port = unused_port()
    backbone_env.setenv("TIMESCALEDB_URL",
                        f"postgresql+psycopg://u:ts-Doctor-Pw1@127.0.0.1:{port}/d")
    backbone_env.setenv("REDIS_URL", f"redis://:redis-Doctor-Pw2@127.0.0.1:{port}/0")
    for flag in ([], ["--json"]):
        code, out, err = stocksdb(capsys, "doctor", "--timeout", "1", *flag)
        assert code == 1, out + err
        assert "TIMESCALEDB_URL" in out and "Doctor-Pw" not in out + err, out + err


def test_institutional_mode_reports_a_missing_redis_as_down(
        capsys: pytest.CaptureFixture[str], backbone_env: pytest.MonkeyPatch, db: str) -> None:
    """doctor reports (it does not refuse): redis down with the variable to set; exit 1."""
    backbone_env.setenv("STOCKSDB_BACKBONE_MODE", "institutional")
    code, out, err = stocksdb(capsys, "--dsn", db, "doctor", "--json", "--timeout", "1")
    assert code == 1, out + err
    redis = json.loads(out)["components"]["redis"]
    assert (redis["status"], redis["reason"]) == (
        "down", "not configured, and institutional mode requires it; set STOCKSDB_REDIS_URL "
                "(or REDIS_URL)")


def test_a_malformed_timescaledb_url_is_one_error_line_without_the_password(
        capsys: pytest.CaptureFixture[str], backbone_env: pytest.MonkeyPatch) -> None:
    """Settings are read first: a non-PostgreSQL URL exits 1 with the variable named."""
    backbone_env.setenv("TIMESCALEDB_URL", "mysql://u:ts-Doctor-Pw3@db.example/d")
    code, out, err = stocksdb(capsys, "doctor")
    assert (code, out) == (1, "")
    assert err == ("error: TIMESCALEDB_URL is 'mysql://u:***@db.example/d'; expected a "
                   "postgresql:// URL (postgres:// and postgresql+psycopg:// are accepted)\n")
