"""Backbone: one ingest through the real warehouse, a real Valkey and a real Tansu broker.

Expected numbers come from the `market` fixture (tests/fix_data.py): AAPL, IBM and META/FB,
one bar each on 2024-01-02, 01-03 and 01-04, so 3 bars a day and 9 in all; `sliced` adds
empty corporate-actions files so that every job of the tree has its input.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stocksdb.cache.codec import JSON
from stocksdb.cache.query import QueryCache
from stocksdb.config import Settings
from stocksdb.errors import BackboneUnavailableError
from stocksdb.foundation import Backbone
from stocksdb.stream.consume import consume_events
from stocksdb.stream.events import EventKind
from tests.fix_backbone import unused_port
from tests.fix_data import write_actions
from tests.fix_pg import count_rows

JAN2, JAN4 = date(2024, 1, 2), date(2024, 1, 4)


@pytest.fixture
def sliced(market: Path) -> Path:
    """The `market` tree with empty splits and dividends files."""
    write_actions(market, [], [])
    return market


def test_events_of_a_prices_daily_run_are_consumed_back_with_matching_counts(
        db: str, sliced: Path, query_cache: QueryCache, kafka_settings: Settings) -> None:
    """The ingest publishes prices_daily's run, its 3 date batches and its gate results; read
    back from the broker they carry the run's 9 bars and 3 a day."""
    with Backbone(kafka_settings, db, cache=query_cache) as backbone:
        result = backbone.ingest_market_slice(path=sliced, start=JAN2, end=JAN4)
    run = result.run("prices_daily")
    assert run.status == "succeeded", result.as_dict()
    assert run.publish is not None and run.publish.status == "ok", run.publish
    got = consume_events(kafka_settings, event_ids=[e.event_id for e in run.events])
    assert got.status == "ok", got.reason
    assert {c.key for c in got.events} == {"prices_daily"}
    kinds = [c.event.kind for c in got.events]
    assert (kinds.count(EventKind.RUN), kinds.count(EventKind.DATE_BATCH)) == (1, 3)
    assert kinds.count(EventKind.GATE_RESULT) == len(run.events) - 4 > 0
    ran = next(c.event for c in got.events if c.event.kind is EventKind.RUN)
    assert (ran.run_id, ran.counts["rows_written"]) == (run.run_id, 9)
    batches = sorted((c.event.detail["trade_date"], c.event.counts["bars"])
                     for c in got.events if c.event.kind is EventKind.DATE_BATCH)
    assert batches == [("2024-01-02", 3), ("2024-01-03", 3), ("2024-01-04", 3)]


def test_an_ingest_invalidates_exactly_the_cached_queries_of_the_tables_it_changed(
        db: str, sliced: Path, query_cache: QueryCache) -> None:
    """A cross-section of 01-04 cached before the ingest of 01-04 is fresh after it (3 bars);
    a cached query of a table no job of the ingest wrote still hits."""
    with Backbone(Settings(), db, cache=query_cache) as backbone:
        backbone.ingest_market_slice(path=sliced, start=JAN2, end=date(2024, 1, 3))
        assert len(backbone.fetch_cross_section(JAN4)) == 0      # miss, stored
        assert len(backbone.fetch_cross_section(JAN4)) == 0      # hit
        untouched = query_cache.fetch("probe", {}, ("fundamentals_quarterly",),
                                      lambda: {"n": 1}, JSON)
        before = query_cache.versions(["prices_daily", "fundamentals_quarterly"])
        backbone.cache_metrics(reset=True)
        result = backbone.ingest_market_slice(path=sliced, start=JAN4, end=JAN4)
        assert result.run("prices_daily").status == "succeeded", result.as_dict()
        fresh = backbone.fetch_cross_section(JAN4)
        again = query_cache.fetch("probe", {}, ("fundamentals_quarterly",),
                                  lambda: {"n": 2}, JSON)
        metrics = backbone.cache_metrics()
    after = query_cache.versions(["prices_daily", "fundamentals_quarterly"])
    assert len(fresh) == 3, fresh
    assert again == untouched == {"n": 1}, "fundamentals_quarterly was not written: still a hit"
    assert before is not None and after is not None
    assert after["prices_daily"] == before["prices_daily"] + 1
    assert after["fundamentals_quarterly"] == before["fundamentals_quarterly"]
    assert (metrics.hits, metrics.misses) == (1, 1), metrics
    assert "fundamentals_derived" in result.skipped   # writes fundamentals_quarterly


def test_institutional_mode_without_redis_fails_before_any_job_runs(
        db: str, sliced: Path, query_cache: QueryCache) -> None:
    """No STOCKSDB_REDIS_URL in institutional mode: an error naming it, and no job_runs row."""
    settings = Settings(backbone_mode="institutional")
    with Backbone(settings, db, cache=query_cache) as backbone, \
            pytest.raises(BackboneUnavailableError, match="REDIS_URL"):
        backbone.ingest_market_slice(path=sliced, start=JAN2, end=JAN4)
    assert count_rows(db, "ingestion.job_runs") == 0


def test_with_streaming_off_no_broker_is_needed(db: str, sliced: Path,
                                               query_cache: QueryCache) -> None:
    """Streaming off and a broker address nobody listens on: the ingest succeeds and its
    telemetry is `disabled`, not degraded."""
    settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{unused_port()}",
                        kafka_ingest_enable_streaming=False)
    with Backbone(settings, db, cache=query_cache) as backbone:
        result = backbone.ingest_market_slice(["AAPL"], path=sliced, start=JAN2, end=JAN4)
        bars = backbone.fetch_data("AAPL", JAN2, JAN4, adjusted=False)
    assert result.ok, result.as_dict()
    assert {r.publish.status for r in result.runs if r.publish} == {"disabled"}
    assert len(bars) == 3 and count_rows(db, "prices_daily") == 3
