"""What every job shares: its request, its typed run context, its run record, its rejected rows,
its outcome.

Writes: ingestion.job_runs (one row per run: params, status, timings, counts, error),
        ingestion.rejected_rows (every row not loaded, with a stable reason code).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import psycopg
from psycopg.types.json import Jsonb

from stocksdb.config import Settings
from stocksdb.db.sync import MergeCounts
from stocksdb.domain.adjustments import AdjustmentMethod
from stocksdb.domain.reasons import Reason
from stocksdb.errors import DatabaseStateError, InputError
from stocksdb.redact import redact

if TYPE_CHECKING:
    from stocksdb.jobs.registry import Job

log = logging.getLogger("stocksdb.jobs")

class ProgressFn(Protocol):
    """How a dated job reports its walk: `total` once the sessions are known, then a call
    after each session with its outcome ('ok' | 'failed' | 'missing') and counts (or None)."""

    def total(self, sessions: int) -> None:
        """The number of sessions the run will walk."""

    def __call__(self, session: date, outcome: str, counts: MergeCounts | None) -> None:
        """One session done."""


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """The options of `stocksdb run`, validated by the CLI; `Job.resolve` fills the source and
    the job's defaults before a run starts."""

    job: str
    source: str | None = None         # None: the job's first source (none for database-only jobs)
    path: Path | None = None
    start: date | None = None
    end: date | None = None
    days: int | None = None
    symbols: tuple[str, ...] | None = None
    series: tuple[str, ...] | None = None   # macro series ids (macro_observations)
    method: AdjustmentMethod | None = None
    max_shrink: float | None = None   # prices_daily; None: the loader's default (0.02)
    no_wait: bool = False             # fail at once when another run holds a needed table

    def params(self) -> dict[str, Any]:
        """What job_runs.params records (no secrets: those live only in Settings)."""
        out: dict[str, Any] = {}
        for name in ("source", "path", "start", "end", "days", "symbols", "series", "method",
                     "max_shrink"):
            value = getattr(self, name)
            if isinstance(value, tuple):
                out[name] = list(value)
            elif isinstance(value, int | float):
                out[name] = value
            elif value is not None:
                out[name] = str(value)
        return out

    def require_path(self) -> Path:
        """The --path of a files source.

        Raises:
            InputError: no --path, or not a directory.
        """
        if self.path is None:
            raise InputError(f"job {self.job!r} with --source files needs --path DIR "
                             "(a tree like the one `stocksdb sample DIR` writes)")
        if not self.path.is_dir():
            raise InputError(f"--path {str(self.path)!r} is not a directory")
        return self.path


@dataclass(frozen=True)
class Rejected:
    """A row we did not load, and why."""

    reason: Reason                    # stable, documented in docs/checks.md
    detail: str
    source: str
    source_key: str | None = None     # file:line, URL, object key
    ticker: str | None = None
    trade_date: date | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a job did, returned to the runner: its counts, the sessions it covered (for a dated
    job's post-gate) and, when some of its work failed, why the run is only partial."""

    counts: Mapping[str, int]
    sessions: tuple[date, ...] = ()
    partial: str | None = None
    # What the job learnt while writing that spares its post-gate a scan, by the name under
    # which a check caches it in GateContext.cache (prices_daily: "run_counts").
    gate_facts: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def recorded(self) -> dict[str, Any]:
        """Extra JSON-ready fields kept with the run (job_runs.counts and --json)."""
        return {}


@dataclass
class JobReport:
    """The outcome of one run, as printed by the CLI and stored in job_runs."""

    job: str
    run_id: int
    params: dict[str, Any]
    status: str = "running"
    counts: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)     # Outcome.recorded()
    gates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # phase -> results
    started: float = field(default_factory=time.monotonic, repr=False)

    def recorded(self) -> dict[str, Any]:
        """The fields kept beside the counts: the outcome's extras, then the gate results."""
        return {**self.extra, **({"gates": self.gates} if self.gates else {})}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the --json output)."""
        return {
            "job": self.job, "run_id": self.run_id, "status": self.status,
            "params": self.params, "counts": self.counts, "rejected": self.rejected,
            "elapsed_s": round(self.elapsed_s, 3), "error": self.error, **self.recorded(),
        }

    def take(self, outcome: Outcome) -> None:
        """Record a job's outcome on the report."""
        self.counts.update(outcome.counts)
        self.extra.update(outcome.recorded())
        if outcome.partial:
            self.status = "partial"
            self.error = outcome.partial


@dataclass
class JobContext:
    """What a job works with: settings, the resolved request, its registry entry, its report,
    and a connection it may renew. While `keep_rejected` is on (an atomic run, which its gate
    may roll back) every rejected row written is also kept in `rejected_rows`."""

    dsn: str
    settings: Settings
    request: RunRequest
    job: Job[Any]
    report: JobReport
    conn: psycopg.Connection[Any]
    progress: ProgressFn | None = None
    sessions: tuple[date, ...] = ()     # what a dated job covered, for its post-gate
    gate_facts: Mapping[str, Any] = field(default_factory=dict)   # Outcome.gate_facts
    keep_rejected: bool = False
    rejected_rows: list[Rejected] = field(default_factory=list)

    @property
    def run_id(self) -> int:
        return self.report.run_id

    @property
    def source(self) -> str:
        """The source the run reads (jobs with sources only; `Job.resolve` filled it)."""
        assert self.request.source is not None, "a database-only job has no source"
        return self.request.source

    def reconnect(self, *, relock: bool = True) -> bool:
        """Replace a broken connection (taking the run's locks again unless `relock` is off);
        False when the database is still unreachable."""
        from stocksdb.db.connection import connect
        from stocksdb.db.locks import hold_run_lock, take_table_locks

        try:
            self.conn.close()
            self.conn = connect(self.dsn, autocommit=True)
            hold_run_lock(self.conn, self.report.run_id)
            if relock:
                take_table_locks(self.conn, self.job.name, self.job.writes, self.job.reads)
        except (DatabaseStateError, psycopg.OperationalError) as exc:
            log.error("database unreachable: %s", exc)
            return False
        return True

    def write_rejected(self, rows: Iterable[Rejected]) -> int:
        """COPY rejected rows into ingestion.rejected_rows on the context's connection."""
        if self.keep_rejected:
            rows = list(rows)
            self.rejected_rows.extend(rows)
        return write_rejected(self.conn, self.report, rows)


def start_run(conn: psycopg.Connection[Any], job: str, params: dict[str, Any]) -> JobReport:
    """Insert the job_runs row (committed at once, so a crash leaves a 'running' trace) and take
    the run's liveness lock on `conn` in the same transaction (db.locks): keep `conn` open for
    the whole run, or the run is taken for abandoned."""
    from stocksdb.db.locks import hold_run_lock

    with conn.transaction():
        row = conn.execute(
            "INSERT INTO ingestion.job_runs (job, params) VALUES (%s, %s) RETURNING run_id",
            (job, Jsonb(params)),
        ).fetchone()
        assert row is not None
        hold_run_lock(conn, int(row[0]))
    log.info("job %s started (run %s) with %s", job, row[0], json.dumps(params, default=str))
    return JobReport(job=job, run_id=int(row[0]), params=params)


def finish_run(conn: psycopg.Connection[Any], report: JobReport, status: str,
               error: str | None = None) -> JobReport:
    """Record the final status, counts and error of a run."""
    report.status = status
    report.error = error = redact(error) if error else error  # vendors echo keys in errors
    report.elapsed_s = time.monotonic() - report.started
    counts: dict[str, Any] = dict(report.counts, rejected=report.rejected,
                                  elapsed_s=round(report.elapsed_s, 3), **report.recorded())
    with conn.transaction():
        conn.execute(
            "UPDATE ingestion.job_runs SET status = %s, finished_at = clock_timestamp(), "
            "counts = %s, error = %s WHERE run_id = %s",
            (status, Jsonb(counts), error, report.run_id),
        )
    log.info("job %s finished (run %s): %s %s", report.job, report.run_id, status,
             json.dumps(dict(report.counts, rejected=report.rejected), default=str))
    return report


def json_safe(value: Any) -> Any:
    """`value` with non-finite floats as text ('nan', 'inf') and missing values as null: jsonb
    refuses NaN and Infinity, and a vendor's bad number must still be recorded."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is not None and not isinstance(value, str | int | float | bool):
        import pandas as pd

        if pd.api.types.is_scalar(value) and pd.isna(value):
            return None
    return value


def write_rejected(conn: psycopg.Connection[Any], report: JobReport,
                   rows: Iterable[Rejected]) -> int:
    """COPY rejected rows into ingestion.rejected_rows; counts them by reason on the report."""
    n = 0
    by_reason: Counter[str] = Counter()
    it = iter(rows)
    first = next(it, None)
    if first is None:  # the common case on the per-date hot path: no COPY round trip
        return 0
    rows = itertools.chain((first,), it)   # lazily: a huge file's rejects are never all held
    with conn.cursor().copy(
        "COPY ingestion.rejected_rows (run_id, job, source, source_key, trade_date, ticker, "
        "reason_code, detail, raw) FROM STDIN"
    ) as copy:
        for r in rows:
            raw = json.dumps(json_safe(r.raw), default=str, sort_keys=True, allow_nan=False)
            copy.write_row((report.run_id, report.job, r.source, r.source_key, r.trade_date,
                            r.ticker, r.reason, redact(r.detail), raw))
            by_reason[r.reason] += 1
            n += 1
    for reason, count in by_reason.items():
        report.rejected[reason] = report.rejected.get(reason, 0) + count
    if n:
        top = ", ".join(f"{k}={v}" for k, v in sorted(by_reason.items()))
        log.warning("job %s rejected %d row(s): %s", report.job, n, top)
    return n
