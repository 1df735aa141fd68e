"""`stocksdb run JOB`: pick the source, open the run record, run the job, close the record.

Reads/writes: whatever the job does; ingestion.job_runs for every run, failed or not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.migrate import require_latest
from stocksdb.errors import InputError, StocksdbError, UnknownJobError
from stocksdb.jobs.base import JobReport, finish_run, start_run
from stocksdb.sources.base import ReferenceBatch

log = logging.getLogger("stocksdb.jobs")

SOURCES = ("files", "massive")


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """The options of `stocksdb run`, validated by the CLI."""

    job: str
    source: str = "files"
    path: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """What job_runs.params records (no secrets: those live only in Settings)."""
        out: dict[str, Any] = {"source": self.source}
        if self.path is not None:
            out["path"] = str(self.path)
        out.update({k: v for k, v in self.options.items() if v is not None})
        return out


JobFunc = Callable[[psycopg.Connection[Any], Settings, RunRequest, JobReport], JobReport]


def _reference_batch(settings: Settings, request: RunRequest) -> ReferenceBatch:
    if request.source == "files":
        from stocksdb.sources.local_files import read_reference

        return read_reference(_require_path(request))
    if request.source == "massive":
        from stocksdb.sources.massive_rest import fetch_reference

        return fetch_reference(settings)
    raise InputError(f"source {request.source!r} is unknown; expected one of {SOURCES}")


def _require_path(request: RunRequest) -> Path:
    if request.path is None:
        raise InputError(f"job {request.job!r} with --source files needs --path DIR "
                         "(a tree like the one `stocksdb sample DIR` writes)")
    if not request.path.is_dir():
        raise InputError(f"--path {str(request.path)!r} is not a directory")
    return request.path


def _securities(conn: psycopg.Connection[Any], settings: Settings, request: RunRequest,
                report: JobReport) -> JobReport:
    from stocksdb.jobs.securities import run_securities_master

    return run_securities_master(conn, _reference_batch(settings, request), report)


def _tickers(conn: psycopg.Connection[Any], settings: Settings, request: RunRequest,
             report: JobReport) -> JobReport:
    from stocksdb.jobs.tickers import run_ticker_history

    return run_ticker_history(conn, _reference_batch(settings, request), report)


# Jobs in dependency order (SPEC section 4); later issues add the rest.
JOBS: dict[str, JobFunc] = {
    "securities_master": _securities,
    "ticker_history": _tickers,
}


def job_names() -> list[str]:
    """Registered jobs, in run order."""
    return list(JOBS)


def run_job(settings: Settings, dsn: str, request: RunRequest) -> JobReport:
    """Run one job with a job_runs record; a failure is recorded, then re-raised.

    Raises:
        UnknownJobError: the job name is not registered.
        SchemaVersionError: the database is not at the latest migration.
    """
    func = JOBS.get(request.job)
    if func is None:
        raise UnknownJobError(f"job {request.job!r} is unknown; expected one of {job_names()}")
    with connect(dsn, autocommit=True) as conn:
        require_latest(conn)
        report = start_run(conn, request.job, request.params())
        try:
            func(conn, settings, request, report)
        except (StocksdbError, psycopg.Error) as exc:
            finish_run(conn, report, "failed", error=str(exc))
            raise
        status = "succeeded" if report.status == "running" else report.status
        return finish_run(conn, report, status, error=report.error)
