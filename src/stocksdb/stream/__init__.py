"""Ingest telemetry on Kafka and streaming latency.

events.py   one event per job run, per date batch and per gate result, built from the run's
            records (ingestion.job_runs, gate_results), and their JSON form
kafka.py    TelemetryPublisher: publish to KAFKA_INGEST_TOPIC; a down broker is `degraded`
consume.py  consume_events: read them back (assign(), unique group id)
latency.py  StreamingLatencyBenchmark: producer -> consumer latency percentiles (pure)

Only kafka.py and consume.py import confluent-kafka, and only when streaming is on.
"""

from __future__ import annotations

from stocksdb.stream.consume import ConsumedEvent, ConsumeResult, consume_events
from stocksdb.stream.events import EventKind, TelemetryEvent, parse_event, read_run_events
from stocksdb.stream.kafka import PublishResult, TelemetryPublisher, streaming_problem
from stocksdb.stream.latency import (
    LatencyBenchmarkReport,
    LatencySample,
    LatencyStats,
    StreamingLatencyBenchmark,
)

__all__ = ["ConsumeResult", "ConsumedEvent", "EventKind", "LatencyBenchmarkReport",
           "LatencySample", "LatencyStats", "PublishResult", "StreamingLatencyBenchmark",
           "TelemetryEvent", "TelemetryPublisher", "consume_events", "parse_event",
           "read_run_events", "streaming_problem"]
