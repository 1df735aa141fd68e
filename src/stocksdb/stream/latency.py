"""Streaming latency: how long an event took from its producer to its consumer.

In:  samples, each a producer timestamp, a consumer timestamp (default: when it is recorded),
     a dimension (what the event was about: "daily_bars", "run", ...) and free metadata.
Out: `LatencyBenchmarkReport` — count, min, p50, p90, p99 and max in milliseconds, overall and
     per dimension; `.as_dict()` is JSON-serialisable.

Pure: no Kafka client here; whoever consumes the events records them. Percentiles are
nearest-rank: the p-th percentile of n sorted values is the value at 1-based rank
ceil(p / 100 * n), so it is always an observed latency (never interpolated), and with one
sample every percentile is that sample. Latency is consumer_ts - producer_ts; it is kept as is
even when negative (the two clocks of different hosts can disagree; clamping would hide it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from stocksdb.errors import InputError

PERCENTILES = (50, 90, 99)


def utc_now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class LatencySample:
    """One event's trip: produced at `producer_ts`, consumed at `consumer_ts` (both aware)."""

    producer_ts: datetime
    consumer_ts: datetime
    dimension: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def latency_ms(self) -> float:
        """consumer_ts - producer_ts in milliseconds (negative if the clocks disagree)."""
        # timedelta / timedelta divides whole microseconds: 7 ms is 7.0, not 7.000000000000001
        return (self.consumer_ts - self.producer_ts) / timedelta(milliseconds=1)


def compute_percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank p-th percentile (0 < p <= 100) of `ordered`, sorted ascending, non-empty."""
    if not ordered:
        raise InputError("parameter `ordered` is empty; a percentile needs at least one value")
    if not 0 < p <= 100:
        raise InputError(f"parameter `p` is {p!r}; expected 0 < p <= 100")
    # Exact arithmetic: in floats 0.07 * 100 is 7.000000000000001, whose ceiling is 8, not 7.
    rank = math.ceil(Fraction(str(p)) * len(ordered) / 100)
    return ordered[rank - 1]


@dataclass(frozen=True)
class LatencyStats:
    """Count and latency percentiles (milliseconds) of a set of samples; None when empty."""

    count: int
    min_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None

    @classmethod
    def of(cls, latencies_ms: Iterable[float]) -> LatencyStats:
        """Stats of the given latencies (any order)."""
        ordered = sorted(latencies_ms)
        if not ordered:
            return cls(0, None, None, None, None, None)
        p50, p90, p99 = (compute_percentile(ordered, p) for p in PERCENTILES)
        return cls(len(ordered), ordered[0], p50, p90, p99, ordered[-1])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"count": self.count, "min_ms": self.min_ms, "p50_ms": self.p50_ms,
                "p90_ms": self.p90_ms, "p99_ms": self.p99_ms, "max_ms": self.max_ms}


@dataclass(frozen=True)
class LatencyBenchmarkReport:
    """The overall stats and the stats of each dimension (sorted by name)."""

    overall: LatencyStats
    dimensions: Mapping[str, LatencyStats]

    @property
    def count(self) -> int:
        """Samples in the report."""
        return self.overall.count

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the overall stats at the top level, then `dimensions`."""
        return {**self.overall.as_dict(),
                "dimensions": {name: s.as_dict() for name, s in self.dimensions.items()}}


class StreamingLatencyBenchmark:
    """Collects producer/consumer timestamps and summarises their latency percentiles.

    `clock` gives the consumer timestamp when `record` is not handed one (tests pass a fixed
    clock)."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._samples: list[LatencySample] = []

    @property
    def samples(self) -> tuple[LatencySample, ...]:
        """Every sample recorded so far, in order."""
        return tuple(self._samples)

    def record(self, producer_ts: datetime, dimension: str,
               metadata: Mapping[str, Any] | None = None,
               consumer_ts: datetime | None = None) -> LatencySample:
        """Record one event consumed at `consumer_ts` (default: now) that was produced at
        `producer_ts`; both must be timezone-aware.

        Raises:
            InputError: a timestamp is naive, or the dimension is empty.
        """
        consumed = self._clock() if consumer_ts is None else consumer_ts
        for name, value in (("producer_ts", producer_ts), ("consumer_ts", consumed)):
            if value.tzinfo is None or value.utcoffset() is None:
                raise InputError(f"parameter `{name}` is {value.isoformat()!r}, a naive "
                                 "datetime; pass a timezone-aware one (e.g. in UTC)")
        if not dimension:
            raise InputError("parameter `dimension` is ''; name what the event was about")
        sample = LatencySample(producer_ts, consumed, dimension, dict(metadata or {}))
        self._samples.append(sample)
        return sample

    def extend(self, samples: Iterable[LatencySample | Mapping[str, Any]]) -> int:
        """Record many samples: `LatencySample`s, or mappings of `record`'s arguments
        (producer_ts, dimension, and optionally metadata and consumer_ts). Returns how many.

        Raises:
            InputError: as `record`, or a mapping lacks producer_ts or dimension.
        """
        n = 0
        for sample in samples:
            if isinstance(sample, LatencySample):
                self.record(sample.producer_ts, sample.dimension, sample.metadata,
                            sample.consumer_ts)
            else:
                missing = [k for k in ("producer_ts", "dimension") if k not in sample]
                if missing:
                    raise InputError(f"sample {n} has no {', '.join(missing)}; expected "
                                     "producer_ts, dimension[, metadata, consumer_ts]")
                self.record(sample["producer_ts"], sample["dimension"],
                            sample.get("metadata"), sample.get("consumer_ts"))
            n += 1
        return n

    def summarise(self) -> LatencyBenchmarkReport:
        """Count, min, p50, p90, p99, max overall and per dimension (an empty benchmark has a
        count of 0 and None for every statistic)."""
        by_dimension: dict[str, list[float]] = {}
        for sample in self._samples:
            by_dimension.setdefault(sample.dimension, []).append(sample.latency_ms)
        return LatencyBenchmarkReport(
            overall=LatencyStats.of(s.latency_ms for s in self._samples),
            dimensions={name: LatencyStats.of(values)
                        for name, values in sorted(by_dimension.items())})
