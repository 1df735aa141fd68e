"""What every job shares: its run record, its rejected rows, its report.

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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from stocksdb.domain.reasons import Reason
from stocksdb.redact import redact

log = logging.getLogger("stocksdb.jobs")


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
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the --json output)."""
        return {
            "job": self.job, "run_id": self.run_id, "status": self.status,
            "params": self.params, "counts": self.counts, "rejected": self.rejected,
            "elapsed_s": round(self.elapsed_s, 3), "error": self.error,
            # internal bookkeeping (`_t0`, `_keep_rejected`, `_rejected_rows`) never leaves
            **{k: v for k, v in self.details.items() if not k.startswith("_")},
        }


def start_run(conn: psycopg.Connection[Any], job: str, params: dict[str, Any]) -> JobReport:
    """Insert the job_runs row (committed at once, so a crash leaves a 'running' trace) and take
    the run's liveness lock on `conn` in the same transaction (jobs.locks): keep `conn` open for
    the whole run, or the run is taken for abandoned."""
    from stocksdb.jobs.locks import hold_run_lock

    with conn.transaction():
        row = conn.execute(
            "INSERT INTO ingestion.job_runs (job, params) VALUES (%s, %s) RETURNING run_id",
            (job, Jsonb(params)),
        ).fetchone()
        assert row is not None
        hold_run_lock(conn, int(row[0]))
    log.info("job %s started (run %s) with %s", job, row[0], json.dumps(params, default=str))
    report = JobReport(job=job, run_id=int(row[0]), params=params)
    report.details["_t0"] = time.monotonic()
    return report


def finish_run(conn: psycopg.Connection[Any], report: JobReport, status: str,
               error: str | None = None) -> JobReport:
    """Record the final status, counts and error of a run."""
    report.status = status
    report.error = error = redact(error) if error else error  # vendors echo keys in errors
    report.elapsed_s = time.monotonic() - float(report.details.pop("_t0", time.monotonic()))
    extra = {k: v for k, v in report.details.items() if not k.startswith("_")}
    counts: dict[str, Any] = dict(report.counts, rejected=report.rejected,
                                  elapsed_s=round(report.elapsed_s, 3), **extra)
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
    if report.details.get("_keep_rejected"):
        # an atomic run may be rolled back by its gate: keep them to record again afterwards
        rows = list(rows)
        report.details.setdefault("_rejected_rows", []).extend(rows)
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
