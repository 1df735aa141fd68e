"""StreamingLatencyBenchmark: nearest-rank percentiles, overall and per dimension, checked
against values worked out by hand (the sorted list and the rank ceil(p/100 * n) are written
beside each expectation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from stocksdb.errors import InputError
from stocksdb.stream.latency import (
    LatencySample,
    StreamingLatencyBenchmark,
    compute_percentile,
)

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def after(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def benchmark_of(samples: dict[str, list[int]]) -> StreamingLatencyBenchmark:
    bench = StreamingLatencyBenchmark()
    for dimension, latencies in samples.items():
        for ms in latencies:
            bench.record(T0, dimension, {"topic": "stocksdb.ingest"}, consumer_ts=after(ms))
    return bench


def test_percentiles_are_nearest_rank_overall_and_per_dimension() -> None:
    """daily_bars 1..10 ms (shuffled), run 100/20/40 ms; each statistic worked out by hand."""
    report = benchmark_of({"daily_bars": [5, 1, 9, 3, 7, 2, 8, 4, 10, 6],
                           "run": [100, 20, 40]}).summarise()
    # overall sorted: 1 2 3 4 5 6 7 8 9 10 20 40 100 (n=13)
    #   p50 rank ceil(6.5)=7 -> 7; p90 rank ceil(11.7)=12 -> 40; p99 rank ceil(12.87)=13 -> 100
    #   (linear interpolation would give p90 = 36: the definition matters)
    assert report.as_dict() == {
        "count": 13, "min_ms": 1.0, "p50_ms": 7.0, "p90_ms": 40.0, "p99_ms": 100.0,
        "max_ms": 100.0,
        "dimensions": {
            # 1..10 (n=10): p50 rank 5 -> 5; p90 rank 9 -> 9; p99 rank ceil(9.9)=10 -> 10
            "daily_bars": {"count": 10, "min_ms": 1.0, "p50_ms": 5.0, "p90_ms": 9.0,
                           "p99_ms": 10.0, "max_ms": 10.0},
            # 20 40 100 (n=3): p50 rank ceil(1.5)=2 -> 40; p90 rank ceil(2.7)=3 -> 100
            "run": {"count": 3, "min_ms": 20.0, "p50_ms": 40.0, "p90_ms": 100.0,
                    "p99_ms": 100.0, "max_ms": 100.0},
        }}
    assert report.count == 13


def test_report_is_json_serialisable_and_survives_a_round_trip() -> None:
    """as_dict() goes through json.dumps unchanged (floats, ints, None, nested dicts)."""
    report = benchmark_of({"gate_result": [3]}).summarise().as_dict()
    assert json.loads(json.dumps(report)) == report


def test_one_sample_is_every_percentile_and_an_empty_benchmark_has_none() -> None:
    """A single 2.5 ms sample is min, p50, p90, p99 and max; nothing recorded gives count 0."""
    bench = StreamingLatencyBenchmark()
    bench.record(T0, "run", consumer_ts=after(2.5))
    assert bench.summarise().as_dict() == {
        "count": 1, "min_ms": 2.5, "p50_ms": 2.5, "p90_ms": 2.5, "p99_ms": 2.5, "max_ms": 2.5,
        "dimensions": {"run": {"count": 1, "min_ms": 2.5, "p50_ms": 2.5, "p90_ms": 2.5,
                               "p99_ms": 2.5, "max_ms": 2.5}}}
    assert StreamingLatencyBenchmark().summarise().as_dict() == {
        "count": 0, "min_ms": None, "p50_ms": None, "p90_ms": None, "p99_ms": None,
        "max_ms": None, "dimensions": {}}


def test_rank_is_computed_exactly_not_in_floats() -> None:
    """Of 1..100 the 7th percentile is 7 (0.07 * 100 is 7.000000000000001 in floats, whose
    ceiling would pick 8) and the 99.9th is 100 (rank ceil(99.9) = 100)."""
    values = [float(v) for v in range(1, 101)]
    assert compute_percentile(values, 7) == 7.0
    assert compute_percentile(values, 99.9) == 100.0
    assert compute_percentile(values, 100) == 100.0


def test_consumer_time_defaults_to_the_clock_and_offsets_are_respected() -> None:
    """Without consumer_ts the clock is read; a producer in UTC-5 is compared as an instant."""
    bench = StreamingLatencyBenchmark(clock=lambda: after(12))
    sample = bench.record(T0, "daily_bars")
    assert (sample.consumer_ts, sample.latency_ms) == (after(12), 12.0)
    new_york = T0.astimezone(timezone(timedelta(hours=-5)))
    assert bench.record(new_york, "daily_bars", consumer_ts=after(3)).latency_ms == 3.0


def test_extend_takes_samples_and_mappings_and_keeps_metadata() -> None:
    """extend() records LatencySamples and mappings of record()'s arguments alike."""
    bench = StreamingLatencyBenchmark(clock=lambda: after(4))
    n = bench.extend([LatencySample(T0, after(1), "run", {"run_id": 7}),
                      {"producer_ts": T0, "dimension": "run", "consumer_ts": after(2)},
                      {"producer_ts": T0, "dimension": "date_batch"}])
    assert n == 3
    assert [(s.dimension, s.latency_ms, dict(s.metadata)) for s in bench.samples] == [
        ("run", 1.0, {"run_id": 7}), ("run", 2.0, {}), ("date_batch", 4.0, {})]


def test_negative_latency_is_kept_as_measured() -> None:
    """A consumer clock behind the producer's gives a negative latency; it is not clamped."""
    bench = StreamingLatencyBenchmark()
    bench.record(after(5), "run", consumer_ts=T0)
    assert bench.summarise().overall.min_ms == -5.0


@pytest.mark.parametrize(("args", "message"), [
    ((datetime(2024, 1, 2, 14, 30), "run"), "parameter `producer_ts` is '2024-01-02T14:30:00', "
     "a naive datetime; pass a timezone-aware one (e.g. in UTC)"),
    ((T0, ""), "parameter `dimension` is ''; name what the event was about"),
])
def test_bad_samples_are_input_errors_naming_the_parameter(args: tuple[datetime, str],
                                                           message: str) -> None:
    """A naive timestamp or an empty dimension is refused with the parameter's name."""
    with pytest.raises(InputError) as caught:
        StreamingLatencyBenchmark().record(*args, consumer_ts=after(1))
    assert str(caught.value) == message


def test_a_mapping_without_its_timestamp_is_refused_with_its_position() -> None:
    """extend() names the sample that lacks producer_ts and what a sample holds."""
    with pytest.raises(InputError) as caught:
        StreamingLatencyBenchmark().extend([{"producer_ts": T0, "dimension": "run"},
                                            {"dimension": "run"}])
    assert str(caught.value) == ("sample 1 has no producer_ts; expected producer_ts, "
                                 "dimension[, metadata, consumer_ts]")
