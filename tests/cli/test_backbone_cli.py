"""`stocksdb backbone rehearse` against real servers: the test PostgreSQL, valkey-server and a
Tansu broker; and the rehearsal with the cache or the broker killed on the way.

Expected numbers for `--path` runs come from the `market` fixture (tests/fix_data.py): 3
securities, one bar each on 2024-01-02..04, so 9 bars.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from stocksdb.cache.query import QueryCache
from stocksdb.cache.server import EmbeddedValkey
from stocksdb.config import Settings
from stocksdb.foundation.rehearsal import rehearse
from tests.fix_cli import stocksdb
from tests.fix_data import write_actions
from tests.fix_kafka import TansuBroker
from tests.fix_pg import count_rows


@pytest.fixture
def sliced(market: Path) -> Path:
    """The `market` tree with empty splits and dividends files (every job has its input)."""
    write_actions(market, [], [])
    return market


def test_rehearse_json_on_the_sample_exits_0_with_every_component_ok(
        capsys: pytest.CaptureFixture[str], backbone_env: pytest.MonkeyPatch, db: str,
        valkey_server: EmbeddedValkey, tansu: TansuBroker) -> None:
    """The default generated sample: every job succeeds, 2 misses then 2 hits, every event
    produced is consumed, latency measured, postgres/redis/kafka ok."""
    settings = tansu.settings()
    backbone_env.setenv("STOCKSDB_REDIS_URL", valkey_server.url())
    backbone_env.setenv("KAFKA_BOOTSTRAP_SERVERS", tansu.bootstrap)
    backbone_env.setenv("KAFKA_INGEST_ENABLE_STREAMING", "true")
    backbone_env.setenv("KAFKA_INGEST_TOPIC", settings.kafka_ingest_topic)
    code, out, err = stocksdb(capsys, "--dsn", db, "backbone", "rehearse", "--json")
    assert code == 0, out + err
    data = json.loads(out)
    assert (data["status"], data["failures"], data["sample"]) == ("ok", [], True)
    assert {n: c["status"] for n, c in data["connectivity"]["components"].items()} == \
        {"postgres": "ok", "redis": "ok", "kafka": "ok"}
    assert data["rows"]["prices_daily"] > 0
    assert (data["cache"]["metrics"]["misses"], data["cache"]["metrics"]["hits"]) == (2, 2)
    stream = data["stream"]
    assert stream["consumed"] == stream["delivered"] == stream["produced"] > 0, stream
    assert data["latency"]["count"] == stream["consumed"]


def test_with_streaming_off_rehearse_says_so_and_does_the_rest(
        capsys: pytest.CaptureFixture[str], backbone_env: pytest.MonkeyPatch, db: str,
        sliced: Path, valkey_server: EmbeddedValkey) -> None:
    """No broker at all: exit 0, the text says streaming is off, the 9 bars are loaded."""
    backbone_env.setenv("STOCKSDB_REDIS_URL", valkey_server.url())
    code, out, err = stocksdb(capsys, "--dsn", db, "backbone", "rehearse", "--path",
                              str(sliced))
    assert code == 0, out + err
    assert "streaming is off" in out, out
    assert "prices_daily 9" in out, out
    code, md, err = stocksdb(capsys, "--dsn", db, "backbone", "rehearse", "--path",
                             str(sliced), "--markdown")
    assert code == 0 and md.startswith("# Backbone rehearsal: ok"), md + err


def test_killing_the_cache_mid_rehearsal_degrades_and_keeps_the_data(
        db: str, sliced: Path, own_valkey: EmbeddedValkey) -> None:
    """valkey-server SIGKILLed after the ingest: degraded (exit 1) naming the cache, reads
    still answered from PostgreSQL, the 9 bars stored."""
    pid = own_valkey.status().pid
    assert pid is not None

    def kill(step: str) -> None:
        if step == "ingested":
            os.kill(pid, signal.SIGKILL)

    with QueryCache.from_url(own_valkey.url(), namespace="rehearsal") as cache:
        report = rehearse(Settings(redis_url=own_valkey.url()), db, path=sliced, cache=cache,
                          progress=kill)
    assert report.exit_code == 1, report.as_dict()
    assert any(f.startswith("cache:") for f in report.failures), report.failures
    assert any("redis is down" in f for f in report.failures), report.failures
    assert report.cache["metrics"]["bypassed"] == 4        # 2 reads x 2, straight to the db
    assert all(r["rows"] > 0 for r in report.cache["reads"].values()), report.cache
    assert count_rows(db, "prices_daily") == 9


def test_killing_the_broker_mid_rehearsal_degrades_and_keeps_the_data(
        db: str, sliced: Path, query_cache: QueryCache, own_tansu: TansuBroker) -> None:
    """The broker SIGKILLed after the ingest published: consuming fails, degraded (exit 1),
    the cache still misses then hits, the 9 bars stored."""
    def kill(step: str) -> None:
        if step == "ingested":
            own_tansu.kill()

    report = rehearse(own_tansu.settings(), db, path=sliced, cache=query_cache,
                      progress=kill)
    assert report.exit_code == 1, report.as_dict()
    assert any(f.startswith("stream: consuming") for f in report.failures), report.failures
    assert report.stream["produced"] > 0 and report.stream["consumed"] == 0, report.stream
    assert (report.cache["metrics"]["misses"], report.cache["metrics"]["hits"]) == (2, 2)
    assert count_rows(db, "prices_daily") == 9
