"""Kafka transport of the ingest telemetry, on confluent-kafka.

In:  Settings (kafka_ingest_enable_streaming, kafka_bootstrap_servers, kafka_ingest_topic) and
     `TelemetryEvent`s.
Out: `PublishResult` — ok | degraded | disabled, with the reason. (Reading events back:
     stream/consume.py.)

Publishing never raises into its caller: telemetry rides along an ingest that has already committed,
so a down broker, a bad address or a full queue makes a `degraded` result naming the cause, and
the warehouse is untouched. Each message is one event's JSON, keyed by job (a run's events land
in one partition, in order). confluent-kafka is imported only when streaming is on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from stocksdb.config import Settings
from stocksdb.stream.events import TelemetryEvent
from stocksdb.stream.latency import utc_now

if TYPE_CHECKING:
    from confluent_kafka import KafkaError, Message, Producer

log = logging.getLogger("stocksdb.stream")
kafka_log = logging.getLogger("stocksdb.stream.librdkafka")


class _LibrdkafkaLog:
    """librdkafka's own lines, at DEBUG: it logs every refused reconnect as an error, several
    times a second, while the one line that matters is the degraded result's reason."""

    def log(self, level: int, msg: str, *args: object, **kwargs: object) -> None:
        kafka_log.debug(msg, *args)


def error_text(exc: BaseException) -> str:
    """A client exception as one line: a KafkaError's own text, else 'Type: message'."""
    first = exc.args[0] if exc.args else None
    text = getattr(first, "str", None)
    return str(text()) if callable(text) else f"{type(exc).__name__}: {exc}"

StreamStatus = Literal["ok", "degraded", "disabled"]
DEFAULT_TIMEOUT_S = 5.0


def streaming_problem(settings: Settings) -> tuple[StreamStatus, str] | None:
    """Why telemetry cannot be streamed with these settings (disabled or misconfigured), or
    None when it can be tried."""
    if not settings.kafka_ingest_enable_streaming:
        return ("disabled", "streaming is off; set KAFKA_INGEST_ENABLE_STREAMING=true and "
                "KAFKA_BOOTSTRAP_SERVERS to publish ingest telemetry")
    if not settings.kafka_bootstrap_servers:
        return ("degraded", "KAFKA_INGEST_ENABLE_STREAMING is on but KAFKA_BOOTSTRAP_SERVERS "
                "is not set; set it to host:port of a broker")
    return None


def client_config(settings: Settings, timeout_s: float) -> dict[str, Any]:
    """What producers, consumers and admin clients share: the brokers, timeouts bounded by
    `timeout_s`, and librdkafka's logging routed to Python logging."""
    ms = max(int(timeout_s * 1000), 1000)   # librdkafka's floor for the connection setup
    return {"bootstrap.servers": settings.kafka_bootstrap_servers,
            "socket.timeout.ms": ms, "socket.connection.setup.timeout.ms": ms,
            "reconnect.backoff.max.ms": min(ms, 1000), "logger": _LibrdkafkaLog()}


@dataclass(frozen=True)
class PublishResult:
    """What one publish did: ok (every event acknowledged), degraded (with why) or disabled.
    `events` are the events as handed to the producer, each stamped with its produced_at."""

    status: StreamStatus
    topic: str
    attempted: int
    delivered: int
    reason: str | None = None
    elapsed_s: float = 0.0
    events: tuple[TelemetryEvent, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the events themselves)."""
        return {"status": self.status, "topic": self.topic, "attempted": self.attempted,
                "delivered": self.delivered, "reason": self.reason,
                "elapsed_s": round(self.elapsed_s, 3)}


class _Deliveries:
    """Delivery reports of one publish."""

    def __init__(self) -> None:
        self.delivered = 0
        self.errors: list[str] = []

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.delivered += 1
        else:
            self.errors.append(err.str())


class TelemetryPublisher:
    """Publishes telemetry events to `settings.kafka_ingest_topic`, keyed by job; each publish
    waits at most about `timeout_s` for the broker's acknowledgements. Close it (or use it as
    a context manager) when done."""

    def __init__(self, settings: Settings, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.topic = settings.kafka_ingest_topic
        self._timeout_s = timeout_s
        self._clock = clock
        self._producer: Producer | None = None
        self._broker_errors: list[str] = []

    def __enter__(self) -> TelemetryPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def publish(self, events: Sequence[TelemetryEvent]) -> PublishResult:
        """Send `events` and wait for their acknowledgements; never raises."""
        problem = streaming_problem(self.settings)
        if problem is not None:
            return PublishResult(problem[0], self.topic, len(events), 0, problem[1])
        started = time.monotonic()
        self._broker_errors.clear()
        deliveries = _Deliveries()
        stamped: list[TelemetryEvent] = []
        try:
            producer = self._open()
            stamped = self._produce(producer, events, deliveries)
            # message.timeout.ms fails each unacknowledged message after timeout_s; the second
            # of slack lets those reports arrive before anything left is purged.
            if producer.flush(self._timeout_s + 1.0) > 0:
                producer.purge()       # give up on the rest: their reports say so
                producer.flush(0)
        except Exception as exc:  # telemetry must never break an ingest
            deliveries.errors.append(error_text(exc))
        return self._result(events, stamped, deliveries, time.monotonic() - started)

    def _open(self) -> Producer:
        if self._producer is None:
            from confluent_kafka import Producer

            config = client_config(self.settings, self._timeout_s)
            self._producer = Producer({
                **config, "client.id": "stocksdb-telemetry", "acks": "all",
                # a message not acknowledged within the publish's wait is reported failed
                "message.timeout.ms": config["socket.connection.setup.timeout.ms"],
                "error_cb": self._on_broker_error})
        return self._producer

    def _on_broker_error(self, err: KafkaError) -> None:
        self._broker_errors.append(err.str())

    def _produce(self, producer: Producer, events: Iterable[TelemetryEvent],
                 deliveries: _Deliveries) -> list[TelemetryEvent]:
        stamped = []
        for event in events:
            event = replace(event, produced_at=self._clock())
            try:
                producer.produce(self.topic, event.encode(), event.job.encode(),
                                 on_delivery=deliveries.on_delivery)
            except BufferError:    # the local queue is full: let it drain once, then retry
                producer.poll(self._timeout_s)
                producer.produce(self.topic, event.encode(), event.job.encode(),
                                 on_delivery=deliveries.on_delivery)
            stamped.append(event)
            producer.poll(0)
        return stamped

    def _result(self, events: Sequence[TelemetryEvent], stamped: list[TelemetryEvent],
                deliveries: _Deliveries, elapsed_s: float) -> PublishResult:
        attempted = len(events)
        if deliveries.delivered == attempted and not deliveries.errors:
            return PublishResult("ok", self.topic, attempted, attempted, None, elapsed_s,
                                 tuple(stamped))
        causes = list(dict.fromkeys(deliveries.errors))[:3]
        broker = list(dict.fromkeys(self._broker_errors))    # e.g. connection refused, then
        causes += broker[:1] + broker[-1:] if len(broker) > 1 else broker   # all brokers down
        reason = (f"{attempted - deliveries.delivered} of {attempted} telemetry events not "
                  f"delivered to topic {self.topic!r} at {self.settings.kafka_bootstrap_servers}"
                  f" within {self._timeout_s:g}s: " + ("; ".join(causes) or "no report")
                  + "; the warehouse data is unaffected")
        log.warning("%s", reason)
        return PublishResult("degraded", self.topic, attempted, deliveries.delivered, reason,
                             elapsed_s, tuple(stamped))

    def close(self) -> None:
        """Drop anything still queued and release the producer."""
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                producer.purge()
                producer.flush(0)
                producer.close()
            except Exception:  # closing telemetry must not raise either
                log.debug("closing the telemetry producer failed", exc_info=True)

