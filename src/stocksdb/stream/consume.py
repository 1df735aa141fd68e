"""Reading ingest telemetry back from Kafka (tests, the rehearsal, latency measurement).

In:  Settings (the brokers and topic), optionally the instant publishing began and the ids of
     the events wanted.
Out: `ConsumeResult` — the events read, each with the instant this process received it — ok,
     or degraded with why; never an exception.

The consumer uses assign() on every partition of the topic with a unique group id: no group
rebalance to wait for (the Tansu test broker's group coordination is slow to settle), and no
offsets committed, so reading never disturbs another consumer.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stocksdb.config import Settings
from stocksdb.stream.events import TelemetryEvent, parse_event
from stocksdb.stream.kafka import (
    StreamStatus,
    client_config,
    error_text,
    kafka_log,
    streaming_problem,
)
from stocksdb.stream.latency import utc_now

if TYPE_CHECKING:
    from confluent_kafka import Message

log = logging.getLogger("stocksdb.stream")


@dataclass(frozen=True)
class ConsumedEvent:
    """An event read back, with when this process received it, its message key and where it
    was stored."""

    event: TelemetryEvent
    consumed_at: datetime
    key: str
    partition: int
    offset: int


@dataclass(frozen=True)
class ConsumeResult:
    """The events read (in arrival order), how many messages were not telemetry, and ok or
    degraded (with why: the broker was unreachable, or fewer events arrived than wanted)."""

    status: StreamStatus
    events: tuple[ConsumedEvent, ...] = ()
    skipped: int = 0
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the number of events, not the events)."""
        return {"status": self.status, "consumed": len(self.events), "skipped": self.skipped,
                "reason": self.reason}


def consume_events(settings: Settings, *, want: int | None = None,
                   event_ids: Collection[str] | None = None, since: datetime | None = None,
                   timeout_s: float = 10.0,
                   clock: Callable[[], datetime] = utc_now) -> ConsumeResult:
    """Read telemetry back from `settings.kafka_ingest_topic`; never raises.

    The consumer is assigned every partition (no group rebalance to wait for) under a unique
    group id, from the first message at or after `since` (default: the beginning). It keeps
    events produced at or after `since` and, if given, only those in `event_ids`; it stops at
    `want` events (default: len(event_ids)), or when nothing new arrived for a second if
    neither is given, or after `timeout_s`.
    """
    problem = streaming_problem(settings)
    if problem is not None:
        return ConsumeResult(problem[0], reason=problem[1])
    target = want if want is not None else (len(event_ids) if event_ids is not None else None)
    failed = (f"reading topic {settings.kafka_ingest_topic!r} at "
              f"{settings.kafka_bootstrap_servers} failed: ")
    try:
        reader = _Reader(settings, since, None if event_ids is None else set(event_ids), clock)
    except Exception as exc:  # telemetry must never break its caller
        return ConsumeResult("degraded", reason=failed + error_text(exc))
    try:
        return reader.run(target, timeout_s)
    except Exception as exc:  # telemetry must never break its caller
        return ConsumeResult("degraded", tuple(reader.found), reader.skipped,
                             failed + error_text(exc))
    finally:
        reader.close()


class _Reader:
    """One consume_events call: the consumer, its filters and what it found."""

    IDLE_S = 1.0

    def __init__(self, settings: Settings, since: datetime | None, ids: set[str] | None,
                 clock: Callable[[], datetime]) -> None:
        from confluent_kafka import Consumer

        self.topic = settings.kafka_ingest_topic
        self.since, self.ids, self.clock = since, ids, clock
        self.found: list[ConsumedEvent] = []
        self.seen: set[str] = set()
        self.skipped = 0
        self.consumer = Consumer({
            **client_config(settings, 5.0), "client.id": "stocksdb-telemetry-consumer",
            "group.id": f"stocksdb-telemetry-{uuid.uuid4()}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            # only used if someone subscribes; assign() needs no group coordination
            "session.timeout.ms": 2000, "heartbeat.interval.ms": 500,
            # The broker may hold a fetch for the whole wait (Tansu seems to): with the 500 ms
            # default no event of a 10k burst arrived under 55 ms (p99 ~400 ms); with 20 ms,
            # min ~2-8 ms and p99 70-250 ms on the shared 2-core test machine.
            "fetch.wait.max.ms": 20})

    def run(self, target: int | None, timeout_s: float) -> ConsumeResult:
        deadline = time.monotonic() + timeout_s
        if not self._assign(deadline):
            return ConsumeResult("degraded", reason=f"topic {self.topic!r} not found within "
                                 f"{timeout_s:g}s; nothing has been published to it yet, or "
                                 "the broker is unreachable")
        last_new = time.monotonic()
        while (now := time.monotonic()) < deadline:
            if target is not None and len(self.found) >= target:
                break
            if target is None and now - last_new > self.IDLE_S:
                break
            if self._take(self._next(min(0.1, max(deadline - now, 0.0)))):
                last_new = time.monotonic()
        if target is not None and len(self.found) < target:
            return ConsumeResult("degraded", tuple(self.found), self.skipped,
                                 f"{len(self.found)} of {target} telemetry events read from "
                                 f"topic {self.topic!r} within {timeout_s:g}s")
        return ConsumeResult("ok", tuple(self.found), self.skipped)

    def _assign(self, deadline: float) -> bool:
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        while True:
            left = max(deadline - time.monotonic(), 0.1)
            topic = self.consumer.list_topics(self.topic, timeout=min(left, 2.0)).topics.get(
                self.topic)
            if topic is not None and topic.error is None and topic.partitions:
                break
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        parts = sorted(topic.partitions)
        if self.since is None:
            self.consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in parts])
            return True
        # The end offsets are read before the time lookup: an event produced between the two
        # is then at or after the end read, and not skipped. (Tansu reports ends too low,
        # which only re-reads older events; _take drops those by their produced_at.)
        ends = {p: self.consumer.get_watermark_offsets(TopicPartition(self.topic, p),
                                                       timeout=left)[1] for p in parts}
        ms = int(self.since.timestamp() * 1000)
        found = self.consumer.offsets_for_times([TopicPartition(self.topic, p, ms)
                                                 for p in parts], timeout=left)
        # -1: nothing at or after `since` yet: start at the end read first
        self.consumer.assign([TopicPartition(self.topic, tp.partition,
                                             tp.offset if tp.offset >= 0 else ends[tp.partition])
                              for tp in found])
        return True

    def _next(self, wait_s: float) -> list[Message]:
        """What has arrived, at once; else wait up to `wait_s` for one message. (consume(n, t)
        would hold early messages until n arrive or t passes, inflating measured latency.)"""
        batch = self.consumer.consume(500, timeout=0)
        if batch:
            return batch
        msg = self.consumer.poll(wait_s)
        return [] if msg is None else [msg]

    def _take(self, batch: list[Message]) -> bool:
        at, new = self.clock(), False
        for msg in batch:
            if msg.error() is not None:
                kafka_log.debug("consumer: %s", msg.error())
                continue
            try:
                event = parse_event(msg.value() or b"")
            except ValueError as exc:
                self.skipped += 1
                log.debug("skipped a message that is not telemetry: %s", exc)
                continue
            # Some brokers (Tansu) can resume before `since`; the event's own stamp decides.
            if (self.since is not None and event.produced_at < self.since) or \
                    (self.ids is not None and event.event_id not in self.ids) or \
                    event.event_id in self.seen:    # a producer retry can deliver twice
                continue
            self.seen.add(event.event_id)
            key = msg.key()
            self.found.append(ConsumedEvent(
                event, at, key.decode(errors="replace") if isinstance(key, bytes) else str(key),
                msg.partition() or 0, msg.offset() or 0))
            new = True
        return new

    def close(self) -> None:
        try:
            self.consumer.close()
        except Exception:  # closing telemetry must not raise either
            log.debug("closing the telemetry consumer failed", exc_info=True)
