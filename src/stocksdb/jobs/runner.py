"""`stocksdb run JOB`: resolve the job and its source, open the run record, take the locks, run
the pre-gate, the job and the post-gate, close the record.

Reads/writes: whatever the job does; ingestion.job_runs for every run, failed or not.
"""

from __future__ import annotations

import logging

import psycopg

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.locks import mark_abandoned, take_table_locks
from stocksdb.db.migrate import require_latest
from stocksdb.errors import GateFailedError, StocksdbError
from stocksdb.gates.checks import GateContext
from stocksdb.gates.gate import GateReport, Phase, record_gate, run_gate
from stocksdb.jobs.base import (
    JobContext,
    JobReport,
    ProgressFn,
    RunRequest,
    finish_run,
    start_run,
    write_rejected,
)
from stocksdb.jobs.registry import get_job

__all__ = ["RunRequest", "run_job"]

log = logging.getLogger("stocksdb.jobs")


def run_job(settings: Settings, dsn: str, request: RunRequest,
            progress: ProgressFn | None = None) -> JobReport:
    """Run one job with a job_runs record that always ends: 'succeeded', 'partial', 'failed'
    (with the error text, on any exception), 'refused' (pre-gate) or 'interrupted' (SIGINT or
    SIGTERM, re-raised as KeyboardInterrupt after the current date rolled back).

    Raises:
        UnknownJobError: the job name is not registered.
        UnsupportedSourceError: the job does not have `request.source`.
        SchemaVersionError: the database is not at the latest migration.
        LockBusyError: `request.no_wait` and another run holds a table the job needs.
    """
    job = get_job(request.job)
    request = job.resolve(request)
    conn = connect(dsn, autocommit=True)
    try:
        require_latest(conn)
        mark_abandoned(conn)
        report = start_run(conn, request.job, request.params())
    except BaseException:
        conn.close()
        raise
    ctx = JobContext(dsn, settings, request, job, report, conn, progress)
    try:
        return _run_body(ctx)
    except KeyboardInterrupt:
        _finish(ctx, "interrupted", "interrupted by a signal (SIGINT/SIGTERM); the date being "
                "written was rolled back, dates committed before it are whole")
        raise
    except GateFailedError:
        raise
    except BaseException as exc:
        if ctx.report.status == "running":
            _finish(ctx, "failed", f"{type(exc).__name__}: {exc}"
                    if not isinstance(exc, StocksdbError | psycopg.Error) else str(exc))
        raise
    finally:
        ctx.conn.close()


def _run_body(ctx: JobContext) -> JobReport:
    job, report = ctx.job, ctx.report
    take_table_locks(ctx.conn, job.name, job.writes, job.reads, wait=not ctx.request.no_wait)
    _gate(ctx, "pre")
    if job.atomic:
        _run_atomic(ctx)     # runs its post-gate inside the job's transaction
    else:
        outcome = job.run(ctx, job.read(ctx))
        ctx.sessions, ctx.gate_facts = outcome.sessions, outcome.gate_facts
        report.take(outcome)
        if not _alive(ctx):
            report.status = "partial"
            report.error = ((report.error + "; ") if report.error else "") + \
                "database unreachable after the run: post-gate not run"
            return _finish(ctx, report.status, report.error)
        _gate(ctx, "post")
    status = "succeeded" if report.status == "running" else report.status
    return _finish(ctx, status, report.error)


class _PostGateFailed(Exception):
    def __init__(self, gate: GateReport) -> None:
        super().__init__("post-gate failed")
        self.gate = gate


def _run_atomic(ctx: JobContext) -> None:
    """Run the job and its post-gate in one transaction; roll it all back if the gate fails,
    then record the gate results and the rejected rows (which must not be lost) on their own."""
    job = ctx.job
    ctx.keep_rejected = True
    try:
        with ctx.conn.transaction():
            outcome = job.run(ctx, job.read(ctx))
            ctx.sessions, ctx.gate_facts = outcome.sessions, outcome.gate_facts
            ctx.report.take(outcome)
            gate = run_gate(ctx.conn, job.post_gate, "post", _gate_context(ctx))
            if not gate.passed:
                raise _PostGateFailed(gate)
    except _PostGateFailed as failed:
        ctx.keep_rejected = False
        ctx.report.rejected.clear()
        with ctx.conn.transaction():
            write_rejected(ctx.conn, ctx.report, ctx.rejected_rows)
        _conclude(ctx, failed.gate, note="\nthe run was rolled back: nothing was written")
        return
    _conclude(ctx, gate)


def _gate_context(ctx: JobContext) -> GateContext:
    return GateContext(ctx.job.name, ctx.sessions, ctx.request.source, ctx.report.run_id,
                       ctx.request.method, cache=dict(ctx.gate_facts))


def _gate(ctx: JobContext, phase: Phase) -> None:
    """Run and record a gate phase outside any transaction (see _conclude)."""
    _conclude(ctx, run_gate(ctx.conn, ctx.job.checks(phase), phase, _gate_context(ctx)))


def _conclude(ctx: JobContext, gate: GateReport, note: str = "") -> None:
    """Record a gate phase's results; a failure ends the run (refused before, failed after).

    Raises:
        GateFailedError: a check of the phase failed.
    """
    phase = gate.phase
    record_gate(ctx.conn, ctx.report.run_id, gate)
    ctx.report.gates[phase] = [r.as_dict() for r in gate.results]
    for warn in (r for r in gate.results if r.status.value == "warn"):
        log.warning("%s-gate warning %s [%s]: %d, e.g. %s", phase, warn.check, warn.reason,
                    warn.failed, list(warn.examples[:3]))
    if not gate.passed:
        status = "refused" if phase == "pre" else "failed"
        _finish(ctx, status, gate.summary() + note)
        raise GateFailedError(
            gate.summary() + ("\nnothing was written" if phase == "pre" else note or
                              f"\nfull results: ingestion.gate_results, run {ctx.report.run_id}"),
            report=gate)


def _alive(ctx: JobContext) -> bool:
    """The connection works (reconnecting once if it broke)."""
    if ctx.conn.broken or ctx.conn.closed:
        return ctx.reconnect()
    try:
        ctx.conn.execute("SELECT 1")
    except psycopg.Error:
        return ctx.reconnect()
    return True


def _finish(ctx: JobContext, status: str, error: str | None) -> JobReport:
    """Record the end of a run, reconnecting (and retrying once) if the connection broke or
    was left unusable, e.g. by an interrupt in the middle of a statement, or inside a
    transaction an interrupt kept from ending (the record would be a savepoint of it, never
    committed; closing the connection rolls that transaction back)."""
    from psycopg.pq import TransactionStatus

    for attempt in (1, 2):
        if ctx.conn.broken or ctx.conn.closed or attempt == 2 or \
                ctx.conn.info.transaction_status != TransactionStatus.IDLE:
            ctx.reconnect(relock=False)
        try:
            return finish_run(ctx.conn, ctx.report, status, error)
        except psycopg.Error as exc:
            log.error("could not record the end of run %s (attempt %d): %s",
                      ctx.report.run_id, attempt, exc)
    ctx.report.status, ctx.report.error = status, error
    return ctx.report
