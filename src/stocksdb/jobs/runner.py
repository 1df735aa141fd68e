"""`stocksdb run JOB`: pick the source, open the run record, run the job, close the record.

Reads/writes: whatever the job does; ingestion.job_runs for every run, failed or not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.migrate import require_latest
from stocksdb.errors import (
    DatabaseStateError,
    GateFailedError,
    InputError,
    StocksdbError,
    UnknownJobError,
)
from stocksdb.jobs.base import JobReport, finish_run, start_run
from stocksdb.sources.base import ReferenceBatch

log = logging.getLogger("stocksdb.jobs")

SOURCES = ("files", "massive", "sec")


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """The options of `stocksdb run`, validated by the CLI."""

    job: str
    source: str = "files"
    path: Path | None = None
    start: date | None = None
    end: date | None = None
    days: int | None = None
    symbols: tuple[str, ...] | None = None
    method: str | None = None
    max_shrink: float | None = None   # prices_daily; None: the loader's default (0.02)
    no_wait: bool = False             # fail at once when another run holds a needed table

    def params(self) -> dict[str, Any]:
        """What job_runs.params records (no secrets: those live only in Settings)."""
        out: dict[str, Any] = {"source": self.source}
        for name in ("path", "start", "end", "days", "symbols", "method", "max_shrink"):
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if isinstance(value, tuple) else str(value) \
                    if not isinstance(value, int | float) else value
        return out


@dataclass
class JobContext:
    """What a job works with: settings, request, its report, and a connection it may renew."""

    dsn: str
    settings: Settings
    request: RunRequest
    report: JobReport
    conn: psycopg.Connection[Any]
    progress: Callable[..., None] | None = field(default=None)
    sessions: tuple[date, ...] = ()     # what a dated job covered, for its post-gate

    def reconnect(self, *, relock: bool = True) -> bool:
        """Replace a broken connection (taking the run's locks again unless `relock` is off);
        False when the database is still unreachable."""
        from stocksdb.jobs.locks import hold_run_lock, take_table_locks

        try:
            self.conn.close()
            self.conn = connect(self.dsn, autocommit=True)
            hold_run_lock(self.conn, self.report.run_id)
            if relock:
                take_table_locks(self.conn, self.request.job)
        except (DatabaseStateError, psycopg.OperationalError) as exc:
            log.error("database unreachable: %s", exc)
            return False
        return True


JobFunc = Callable[[JobContext], JobReport]


def _require_path(request: RunRequest) -> Path:
    if request.path is None:
        raise InputError(f"job {request.job!r} with --source files needs --path DIR "
                         "(a tree like the one `stocksdb sample DIR` writes)")
    if not request.path.is_dir():
        raise InputError(f"--path {str(request.path)!r} is not a directory")
    return request.path


def _reference_batch(ctx: JobContext) -> ReferenceBatch:
    if ctx.request.source == "files":
        from stocksdb.sources.local_files import read_reference

        return read_reference(_require_path(ctx.request))
    from stocksdb.sources.massive_rest import fetch_reference, rate_limit_from_settings

    return fetch_reference(ctx.settings, rate_limit=rate_limit_from_settings(ctx.settings))


def _securities(ctx: JobContext) -> JobReport:
    from stocksdb.jobs.securities import run_securities_master

    return run_securities_master(ctx.conn, _reference_batch(ctx), ctx.report)


def _tickers(ctx: JobContext) -> JobReport:
    from stocksdb.jobs.tickers import run_ticker_history

    return run_ticker_history(ctx.conn, _reference_batch(ctx), ctx.report)


def _actions(ctx: JobContext) -> JobReport:
    from stocksdb.jobs.corporate_actions import run_corporate_actions

    if ctx.request.source == "files":
        from stocksdb.sources.local_files import read_corporate_actions

        batch = read_corporate_actions(_require_path(ctx.request))
    else:
        from stocksdb.sources.massive_actions import fetch_corporate_actions

        batch = fetch_corporate_actions(ctx.settings)
    return run_corporate_actions(ctx.conn, batch, ctx.report)


def _prices(ctx: JobContext) -> JobReport:
    from stocksdb.jobs.prices import PricesOptions, run_prices_daily
    from stocksdb.sources.flatfiles import DayFileStore

    r = ctx.request
    store: DayFileStore
    if r.source == "files":
        from stocksdb.sources.flatfiles import LocalFlatFiles

        store = LocalFlatFiles(_require_path(r))
    else:
        from stocksdb.sources.massive_s3 import MassiveS3

        store = MassiveS3(ctx.settings)
    opts = PricesOptions(start=r.start, end=r.end, days=r.days, symbols=r.symbols,
                         max_file_bytes=ctx.settings.max_file_bytes,
                         **({} if r.max_shrink is None else {"max_shrink": r.max_shrink}))
    report = run_prices_daily(ctx, store, opts, ctx.progress)
    ctx.sessions = tuple(date.fromisoformat(d) for d in report.details.get("session_dates", ()))
    return report


def _factors(ctx: JobContext) -> JobReport:
    from stocksdb.jobs.adjustments import run_adjustment_factors

    return run_adjustment_factors(ctx.conn, ctx.request.method or "crsp", ctx.report)


def _fundamentals_raw(ctx: JobContext) -> JobReport:
    from stocksdb.jobs.fundamentals import run_fundamentals_raw
    from stocksdb.sources import sec_edgar

    if ctx.request.source == "files":
        companies = sec_edgar.read_company_facts(_require_path(ctx.request))
    elif ctx.request.source == "sec":
        ciks = [r[0] for r in ctx.conn.execute(
            "SELECT DISTINCT cik FROM stocks_research.securities WHERE cik IS NOT NULL "
            "ORDER BY 1")]
        companies = sec_edgar.fetch_company_facts(ctx.settings, ciks,
                                                  data_url=ctx.settings.sec_data_url)
    else:
        raise InputError("fundamentals_quarterly_raw reads --source files or sec")
    return run_fundamentals_raw(ctx.conn, companies, ctx.report, source=ctx.request.source)


def _fundamentals_derived(ctx: JobContext) -> JobReport:
    from stocksdb.jobs.fundamentals import run_fundamentals_derived

    return run_fundamentals_derived(ctx.conn, ctx.report)


# Jobs in dependency order (SPEC section 4).
JOBS: dict[str, JobFunc] = {
    "securities_master": _securities,
    "ticker_history": _tickers,
    "prices_daily": _prices,
    "corporate_actions": _actions,
    "adjustment_factors_daily": _factors,
    "fundamentals_quarterly_raw": _fundamentals_raw,
    "fundamentals_derived": _fundamentals_derived,
}
# Jobs whose writes and post-gate share one transaction: a failing post-gate writes nothing.
ATOMIC_JOBS = frozenset({"corporate_actions", "adjustment_factors_daily"})


def job_names() -> list[str]:
    """Registered jobs, in run order."""
    return list(JOBS)


def run_job(settings: Settings, dsn: str, request: RunRequest,
            progress: Callable[..., None] | None = None) -> JobReport:
    """Run one job with a job_runs record that always ends: 'succeeded', 'partial', 'failed'
    (with the error text, on any exception), 'refused' (pre-gate) or 'interrupted' (SIGINT or
    SIGTERM, re-raised as KeyboardInterrupt after the current date rolled back).

    Raises:
        UnknownJobError: the job name is not registered.
        SchemaVersionError: the database is not at the latest migration.
        LockBusyError: `request.no_wait` and another run holds a table the job needs.
    """
    from stocksdb.jobs.locks import mark_abandoned

    func = JOBS.get(request.job)
    if func is None:
        raise UnknownJobError(f"job {request.job!r} is unknown; expected one of {job_names()}")
    if request.source not in SOURCES:
        raise InputError(f"source {request.source!r} is unknown; expected one of {SOURCES}")
    conn = connect(dsn, autocommit=True)
    try:
        require_latest(conn)
        mark_abandoned(conn)
        report = start_run(conn, request.job, request.params())
    except BaseException:
        conn.close()
        raise
    ctx = JobContext(dsn, settings, request, report, conn, progress)
    try:
        return _run_body(ctx, func)
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


def _run_body(ctx: JobContext, func: JobFunc) -> JobReport:
    from stocksdb.jobs.locks import take_table_locks

    request, report = ctx.request, ctx.report
    take_table_locks(ctx.conn, request.job, wait=not request.no_wait)
    _gate(ctx, "pre")
    if request.job in ATOMIC_JOBS:
        _run_atomic(ctx, func)     # runs its post-gate inside the job's transaction
    else:
        func(ctx)
        if not _alive(ctx):
            report.status = "partial"
            report.error = ((report.error + "; ") if report.error else "") + \
                "database unreachable after the run: post-gate not run"
            return _finish(ctx, report.status, report.error)
        _gate(ctx, "post")
    status = "succeeded" if report.status == "running" else report.status
    return _finish(ctx, status, report.error)


class _PostGateFailed(Exception):
    def __init__(self, gate: Any) -> None:
        super().__init__("post-gate failed")
        self.gate = gate


def _run_atomic(ctx: JobContext, func: JobFunc) -> None:
    """Run the job and its post-gate in one transaction; roll it all back if the gate fails,
    then record the gate results and the rejected rows (which must not be lost) on their own."""
    from stocksdb.gates.gate import run_gate

    ctx.report.details["_keep_rejected"] = True
    try:
        with ctx.conn.transaction():
            func(ctx)
            gate = run_gate(ctx.conn, ctx.request.job, "post", _gate_context(ctx))
            if not gate.passed:
                raise _PostGateFailed(gate)
    except _PostGateFailed as failed:
        from stocksdb.jobs.base import write_rejected

        rows = ctx.report.details.pop("_rejected_rows", [])
        ctx.report.details.pop("_keep_rejected", None)
        ctx.report.rejected.clear()
        with ctx.conn.transaction():
            write_rejected(ctx.conn, ctx.report, rows)
        _conclude(ctx, failed.gate, note="\nthe run was rolled back: nothing was written")
        return
    _conclude(ctx, gate)


def _gate_context(ctx: JobContext) -> Any:
    from stocksdb.gates.checks import GateContext

    method = ctx.request.method or ("crsp" if ctx.request.job == "adjustment_factors_daily"
                                    else None)
    return GateContext(ctx.request.job, ctx.sessions, ctx.request.source, ctx.report.run_id,
                       method)


def _gate(ctx: JobContext, phase: str) -> None:
    """Run and record a gate phase outside any transaction (see _conclude)."""
    from stocksdb.gates.gate import run_gate

    _conclude(ctx, run_gate(ctx.conn, ctx.request.job, phase, _gate_context(ctx)))


def _conclude(ctx: JobContext, gate: Any, note: str = "") -> None:
    """Record a gate phase's results; a failure ends the run (refused before, failed after).

    Raises:
        GateFailedError: a check of the phase failed.
    """
    from stocksdb.gates.gate import record_gate

    phase = gate.phase
    record_gate(ctx.conn, ctx.report.run_id, gate)
    ctx.report.details.setdefault("gates", {})[phase] = [r.as_dict() for r in gate.results]
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
    was left unusable, e.g. by an interrupt in the middle of a statement."""
    for attempt in (1, 2):
        if ctx.conn.broken or ctx.conn.closed or attempt == 2:
            ctx.reconnect(relock=False)
        try:
            return finish_run(ctx.conn, ctx.report, status, error)
        except psycopg.Error as exc:
            log.error("could not record the end of run %s (attempt %d): %s",
                      ctx.report.run_id, attempt, exc)
    ctx.report.status, ctx.report.error = status, error
    return ctx.report
