"""The backbone rehearsal (`stocksdb backbone rehearse`): store -> cache -> stream, end to end.

In:  Settings, the warehouse DSN, a source tree of the `files` source (default: a small
     generated sample in a temporary folder) and optionally start..end.
Out: `RehearsalReport` — ingest rows per job, the cache's miss-then-hit and metrics, telemetry
     events produced and consumed, producer -> consumer latency percentiles, the connectivity
     report and every failure; ok (exit 0) or degraded (exit 1).

Steps, in order: migrate the database (idempotent), ingest the slice through `Backbone`, read
one security's history and one date's cross-section twice through the cache (a miss then a
hit, compared), consume the ingest's events back from the broker, probe connectivity. A cache
or broker that dies on the way degrades the report; the warehouse data is never at stake (it
commits before the cache and stream are touched).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stocksdb.config import Settings

if TYPE_CHECKING:
    from stocksdb.cache.query import QueryCache
    from stocksdb.foundation.backbone import Backbone, IngestResult
    from stocksdb.foundation.connectivity import ConnectivityReport
    from stocksdb.stream.latency import LatencyBenchmarkReport

# The sample rehearsed by default: the smallest the generator allows (50 securities, a quarter).
SAMPLE_SECURITIES, SAMPLE_SEED = 50, 7
SAMPLE_START, SAMPLE_END = date(2024, 5, 1), date(2024, 7, 31)

ProgressFn = Callable[[str], None]


@dataclass
class RehearsalReport:
    """What the rehearsal did and found; `failures` empty means ok."""

    path: str
    sample: bool
    ingest: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)       # job -> rows its run counted
    cache: dict[str, Any] = field(default_factory=dict)
    stream: dict[str, Any] = field(default_factory=dict)
    latency: dict[str, Any] | None = None
    connectivity: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """ok, or degraded when anything failed."""
        return "degraded" if self.failures else "ok"

    @property
    def exit_code(self) -> int:
        """0 ok, 1 degraded."""
        return 1 if self.failures else 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"status": self.status, "path": self.path, "sample": self.sample,
                "rows": self.rows, "ingest": self.ingest, "cache": self.cache,
                "stream": self.stream, "latency": self.latency,
                "connectivity": self.connectivity, "failures": self.failures}


def rehearse(settings: Settings, dsn: str, *, path: Path | None = None,
             start: date | None = None, end: date | None = None,
             cache: QueryCache | None = None,
             progress: ProgressFn | None = None) -> RehearsalReport:
    """Run the rehearsal on `path` (None: a generated sample, removed afterwards) over
    start..end (default: from the first day file of the tree to its last); `progress`
    hears each step's name as it finishes ("ingested", "cached", "consumed").

    Raises:
        BackboneUnavailableError: institutional mode lacks a component (before any work).
    """
    if path is not None:
        chosen = _Slice(path, start or _first_day_file(path), end, sample=False)
        return _rehearse(settings, dsn, chosen, cache=cache, progress=progress)
    from stocksdb.sample import generate_sample

    with tempfile.TemporaryDirectory(prefix="stocksdb-rehearsal-") as folder:
        root = Path(folder) / "sample"
        generate_sample(root, securities=SAMPLE_SECURITIES, start=SAMPLE_START,
                        end=SAMPLE_END, seed=SAMPLE_SEED)
        chosen = _Slice(root, start or SAMPLE_START, end or SAMPLE_END, sample=True)
        return _rehearse(settings, dsn, chosen, cache=cache, progress=progress)


@dataclass(frozen=True)
class _Slice:
    path: Path
    start: date | None
    end: date | None
    sample: bool


def _rehearse(settings: Settings, dsn: str, chosen: _Slice, *, cache: QueryCache | None,
              progress: ProgressFn | None) -> RehearsalReport:
    from stocksdb.foundation.backbone import Backbone
    from stocksdb.foundation.connectivity import connectivity_report, require_backbone

    tell = progress or (lambda _: None)
    report = RehearsalReport(str(chosen.path), chosen.sample)
    require_backbone(settings)
    _migrate(dsn)
    with Backbone(settings, dsn, cache=cache) as backbone:
        ingest = backbone.ingest_market_slice(path=chosen.path, start=chosen.start,
                                              end=chosen.end)
        _record_ingest(report, ingest)
        tell("ingested")
        _exercise_cache(report, backbone)
        tell("cached")
        _exercise_stream(report, settings, ingest)
        tell("consumed")
    _record_connectivity(report, connectivity_report(settings))
    return report


def _first_day_file(path: Path) -> date | None:
    """The earliest date with a day file under `path` (the files layout); None if none."""
    from stocksdb.sources.flatfiles import DAY_AGGS_PREFIX, key_date

    found = [d for p in (path / "flatfiles" / DAY_AGGS_PREFIX).glob("*/*/*.csv.gz")
             if (d := key_date(p.name)) is not None]
    return min(found, default=None)


def _migrate(dsn: str) -> None:
    from stocksdb.db.connection import connect
    from stocksdb.db.migrate import migrate

    with connect(dsn, autocommit=True) as conn:
        migrate(conn)


def _record_ingest(report: RehearsalReport, ingest: IngestResult) -> None:
    report.ingest = ingest.as_dict()
    for run in ingest.runs:
        report.rows[run.job] = sum(v for k, v in run.counts.items()
                                   if k in {"rows_written", "inserted", "updated", "rows"}
                                   and isinstance(v, int))
        if run.status != "succeeded":
            report.failures.append(f"ingest: job {run.job} ended {run.status}: {run.error}")
        if run.bumped is None and run.status in {"succeeded", "partial"}:
            report.failures.append(f"cache: the versions of {run.job}'s tables were not "
                                   "bumped (Redis unreachable)")


_LATEST = """
SELECT p.trade_date, th.ticker FROM stocks_research.prices_daily p
  JOIN stocks_research.ticker_history th ON th.security_id = p.security_id
   AND p.trade_date >= th.valid_from AND (th.valid_to IS NULL OR p.trade_date < th.valid_to)
 ORDER BY p.trade_date DESC, th.ticker LIMIT 1
"""


def _exercise_cache(report: RehearsalReport, backbone: Backbone) -> None:
    """One security's raw history and the latest date's cross-section, each read twice."""
    from stocksdb.db.connection import connect

    with connect(backbone.dsn) as conn:
        row = conn.execute(_LATEST).fetchone()
    if row is None:
        report.failures.append("cache: nothing to read, prices_daily is empty after the ingest")
        return
    day, ticker = row
    backbone.cache_metrics(reset=True)
    reads: list[tuple[str, Callable[[], Any]]] = [
        (f"history {ticker}", lambda: backbone.fetch_data(ticker, end=day, adjusted=False)),
        (f"cross_section {day}", lambda: backbone.fetch_cross_section(day))]
    checks = {}
    for name, read in reads:
        first, second = read(), read()
        checks[name] = {"rows": len(first), "same": bool(first.equals(second))}
        if not checks[name]["same"]:
            report.failures.append(f"cache: the second read of {name} differs from the first")
    metrics = backbone.cache_metrics()
    report.cache = {"reads": checks, "metrics": metrics.as_dict()}
    if (metrics.misses, metrics.hits) != (len(reads), len(reads)):
        report.failures.append(
            f"cache: expected {len(reads)} misses then {len(reads)} hits, got "
            f"{metrics.misses} misses, {metrics.hits} hits, {metrics.bypassed} bypassed"
            + (" (Redis unreachable)" if metrics.degraded else ""))


def _exercise_stream(report: RehearsalReport, settings: Settings, ingest: IngestResult) -> None:
    from stocksdb.stream.consume import consume_events
    from stocksdb.stream.kafka import streaming_problem
    from stocksdb.stream.latency import StreamingLatencyBenchmark

    problem = streaming_problem(settings)
    events = [e for run in ingest.runs for e in run.events]
    delivered = sum(r.publish.delivered for r in ingest.runs if r.publish is not None)
    report.stream = {"status": problem[0] if problem else "ok", "topic":
                     settings.kafka_ingest_topic, "produced": len(events),
                     "delivered": delivered, "consumed": 0,
                     "reason": problem[1] if problem else None}
    if problem is not None:
        if problem[0] != "disabled":
            report.failures.append(f"stream: {problem[1]}")
        return
    for run in ingest.runs:
        if run.publish is not None and run.publish.status != "ok":
            report.failures.append(f"stream: publishing {run.job}'s telemetry: "
                                   f"{run.publish.reason}")
    got = consume_events(settings, event_ids=[e.event_id for e in events])
    report.stream.update(consumed=len(got.events), status=got.status, reason=got.reason)
    if got.status != "ok":
        report.failures.append(f"stream: consuming the telemetry back: {got.reason}")
    bench = StreamingLatencyBenchmark()
    for c in got.events:
        bench.record(c.event.produced_at, c.event.kind.value, {"job": c.event.job},
                     consumer_ts=c.consumed_at)
    summary: LatencyBenchmarkReport = bench.summarise()
    report.latency = summary.as_dict()


def _record_connectivity(report: RehearsalReport, connectivity: ConnectivityReport) -> None:
    report.connectivity = connectivity.as_dict()
    for c in connectivity.components:
        if c.status.value in {"degraded", "down"}:
            report.failures.append(f"connectivity: {c.component} is {c.status.value}: "
                                   f"{c.reason}")
