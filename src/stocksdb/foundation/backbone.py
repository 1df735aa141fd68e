"""The operational backbone in one object: store -> cache -> stream.

In:  Settings (Redis, Kafka, the backbone mode), the warehouse DSN, and a slice of a market to
     ingest (a source tree of the `files` source, sessions start..end, optionally symbols).
Out: `IngestResult` — each job run (run id, status, counts, the table versions it bumped and
     what publishing its telemetry did) and each job skipped, with why; cached reads of the
     warehouse (`fetch_data`, `fetch_cross_section`) and the cache's metrics.

Order per job, never changed: the job runs behind its gates through jobs.runner.run_job (the
warehouse commits), then the data versions of the tables it wrote are bumped (cached results
reading them miss from then on), then its events (ingestion.job_runs, gate_results) are
published. The cache and the stream only ever follow the warehouse: a down Redis or broker
degrades the result, never the data.

Reads/writes: whatever the jobs do (docs/data_lineage.md); Redis version counters; Kafka topic
KAFKA_INGEST_TOPIC.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stocksdb.config import Settings
from stocksdb.errors import StocksdbError

if TYPE_CHECKING:
    import pandas as pd

    from stocksdb.cache.query import CacheMetrics, QueryCache
    from stocksdb.jobs.registry import Job
    from stocksdb.stream.events import TelemetryEvent
    from stocksdb.stream.kafka import PublishResult, TelemetryPublisher

log = logging.getLogger("stocksdb.backbone")

# A run with one of these statuses may have committed rows (partial: some dates; failed: a
# non-atomic job's post-gate failed after its writes), so its tables' versions are bumped.
_MAY_HAVE_WRITTEN = frozenset({"succeeded", "partial", "failed"})


@dataclass(frozen=True)
class JobRun:
    """One job run of an ingest: its record, the versions bumped and its telemetry."""

    job: str
    run_id: int | None
    status: str
    counts: dict[str, Any]
    error: str | None = None
    bumped: dict[str, int] | None = None      # table -> new version; None: Redis unreachable
    publish: PublishResult | None = None

    @property
    def events(self) -> tuple[TelemetryEvent, ...]:
        """The events handed to the producer (stamped), none when streaming is off."""
        return self.publish.events if self.publish is not None else ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"job": self.job, "run_id": self.run_id, "status": self.status,
                "counts": self.counts, "error": self.error, "bumped": self.bumped,
                "telemetry": None if self.publish is None else self.publish.as_dict()}


@dataclass
class IngestResult:
    """Every job of one ingest_market_slice: run (in order) or skipped (job -> why)."""

    runs: list[JobRun] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every run succeeded."""
        return all(r.status == "succeeded" for r in self.runs)

    def run(self, job: str) -> JobRun:
        """The run of `job` (KeyError if it did not run)."""
        return next(r for r in self.runs if r.job == job)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"ok": self.ok, "runs": [r.as_dict() for r in self.runs],
                "skipped": dict(self.skipped)}


class Backbone:
    """The warehouse at `dsn`, its query cache and its telemetry stream, used together.

    `cache` and `publisher` default to ones built from `settings` (the cache on
    STOCKSDB_REDIS_URL / REDIS_URL or the embedded Valkey, started if needed). Close it (or use
    it as a context manager) when done; it closes only what it built."""

    def __init__(self, settings: Settings, dsn: str, *, cache: QueryCache | None = None,
                 publisher: TelemetryPublisher | None = None) -> None:
        from stocksdb.cache.query import QueryCache
        from stocksdb.stream.kafka import TelemetryPublisher

        self.settings, self.dsn = settings, dsn
        self._owns = (cache is None, publisher is None)
        self.cache = cache if cache is not None else QueryCache.from_settings(settings)
        self.publisher = publisher if publisher is not None else TelemetryPublisher(settings)

    def __enter__(self) -> Backbone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ingest_market_slice(self, symbols: list[str] | tuple[str, ...] | None = None, *,
                            path: Path, start: date | None = None, end: date | None = None,
                            macro_series: list[str] | tuple[str, ...] | None = None,
                            ) -> IngestResult:
        """Run every registered job over the slice, in dependency order, each behind its gates;
        after each run bump the versions of the tables it wrote and publish its telemetry.

        `path` is a source tree of the `files` source (a sample, or a vendor mirror); `symbols`
        narrows the jobs that take --symbols, start..end (inclusive) the dated ones. Jobs that
        take macro series run only when `macro_series` is given. A job whose dependency did not
        succeed, or that has no input in the tree, is skipped with the reason.

        Raises:
            BackboneUnavailableError: institutional mode lacks Redis (or Kafka, streaming on);
                raised before any job runs.
        """
        from stocksdb.foundation.connectivity import require_backbone
        from stocksdb.jobs.registry import jobs

        require_backbone(self.settings)
        result = IngestResult()
        for job in jobs():
            why = _skip_reason(job, result, path, macro_series, self.settings)
            if why:
                result.skipped[job.name] = why
                continue
            request = _request(job, path, symbols, start=start, end=end,
                               macro_series=macro_series)
            result.runs.append(self._run(job, request))
        return result

    def _run(self, job: Job[Any], request: Any) -> JobRun:
        from stocksdb.jobs.runner import run_job

        before = _last_run_id(self.dsn, job.name)
        run_id: int | None
        try:
            report = run_job(self.settings, self.dsn, request)
            run_id, status, counts, error = (report.run_id, report.status, dict(report.counts),
                                             report.error)
        except StocksdbError as exc:
            # The runner recorded the run (refused or failed) before raising, unless it failed
            # before opening the record (then there is no run to publish); find its id.
            run_id = _last_run_id(self.dsn, job.name)
            run_id = run_id if run_id != before else None
            status = _run_status(self.dsn, run_id) if run_id is not None else "failed"
            counts, error = {}, str(exc)
        bumped = None
        if status in _MAY_HAVE_WRITTEN and not (status == "failed" and job.atomic):
            bumped = self.cache.bump(job.writes)
        publish = self._publish(run_id) if run_id is not None else None
        return JobRun(job.name, run_id, status, counts, error, bumped, publish)

    def _publish(self, run_id: int) -> PublishResult:
        from stocksdb.db.connection import connect
        from stocksdb.stream.events import read_run_events

        with connect(self.dsn) as conn:
            events = read_run_events(conn, run_id)
        return self.publisher.publish(events)

    def fetch_data(self, symbol: str, start: date | None = None, end: date | None = None, *,
                   adjusted: bool = True) -> pd.DataFrame:
        """`read_prices` of `symbol` over start..end inclusive, through the query cache (keyed
        by the query and the data versions of the tables it reads).

        Raises:
            InputError: from read_prices_frame (unknown symbol, missing factors).
        """
        from stocksdb.cache.prices import fetch_prices

        return fetch_prices(self.cache, self.dsn, symbol, start=start, end=end,
                            adjusted=adjusted)

    def fetch_cross_section(self, trade_date: date) -> pd.DataFrame:
        """Every security's raw bar of `trade_date`, through the query cache."""
        from stocksdb.cache.prices import fetch_cross_section

        return fetch_cross_section(self.cache, self.dsn, trade_date)

    def cache_metrics(self, reset: bool = False) -> CacheMetrics:
        """hits / misses / bypassed / invalidations / evictions / degraded of the cache."""
        return self.cache.metrics(reset=reset)

    def close(self) -> None:
        """Close the cache and the publisher this backbone built."""
        owns_cache, owns_publisher = self._owns
        if owns_publisher:
            self.publisher.close()
        if owns_cache:
            self.cache.close()


def _skip_reason(job: Job[Any], result: IngestResult, path: Path,
                 macro_series: list[str] | tuple[str, ...] | None,
                 settings: Settings) -> str | None:
    if "series" in job.options and not macro_series:
        return "a macro job; pass macro_series to run it"
    unmet = [d for d in job.depends_on
             if d in result.skipped or any(r.job == d and r.status != "succeeded"
                                           for r in result.runs)]
    if unmet:
        return f"depends on {', '.join(unmet)}, which was skipped or did not succeed"
    return job.no_input("files", path, settings) if job.no_input else None


def _request(job: Job[Any], path: Path, symbols: list[str] | tuple[str, ...] | None, *,
             start: date | None, end: date | None,
             macro_series: list[str] | tuple[str, ...] | None) -> Any:
    from stocksdb.jobs.runner import RunRequest

    takes = job.options
    source = job.source_for("files")   # the files tree, or the job's own (trading_sessions)
    return RunRequest(job=job.name, source=source,
                      path=path if source == "files" else None,
                      start=start if "start" in takes else None,
                      end=end if "end" in takes else None,
                      symbols=tuple(symbols) if symbols and "symbols" in takes else None,
                      series=tuple(macro_series) if macro_series and "series" in takes
                      else None)


def _last_run_id(dsn: str, job: str) -> int | None:
    from stocksdb.db.connection import connect

    with connect(dsn) as conn:
        row = conn.execute("SELECT max(run_id) FROM ingestion.job_runs WHERE job = %s",
                           (job,)).fetchone()
    return None if row is None else row[0]


def _run_status(dsn: str, run_id: int) -> str:
    from stocksdb.db.connection import connect

    with connect(dsn) as conn:
        row = conn.execute("SELECT status FROM ingestion.job_runs WHERE run_id = %s",
                           (run_id,)).fetchone()
    return "refused" if row is None else str(row[0])
