"""The bootstrap checklist as code (seeds 001/002, SPEC section 7).

Phases, in order, stopping at the first that fails: environment, database, schema,
pre-ingestion backup, every job behind its gate, validation, final backup. Writes report.md and
report.json listing each phase, its checks and figures.
Reads/writes: whatever the jobs do; backups under the backup directory; the report directory.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from stocksdb.config import Settings
from stocksdb.domain.adjustments import DEFAULT_METHOD, AdjustmentMethod
from stocksdb.errors import InputError, StocksdbError
from stocksdb.jobs.registry import Job, jobs


@dataclass
class Phase:
    """One step of the checklist and what it found."""

    name: str
    status: str = "pending"           # ok, failed, skipped
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class BootstrapOptions:
    """What to load and where to write."""

    source: str = "files"
    path: Path | None = None
    start: date | None = None
    end: date | None = None
    report_dir: Path = Path("reports")
    backup_dir: Path = Path("backups")
    method: AdjustmentMethod = DEFAULT_METHOD


@dataclass
class BootstrapReport:
    """Every phase, in order; ok when all ran and none failed."""

    phases: list[Phase]
    started_at: str
    ok: bool = False
    files: tuple[str, ...] = ()


def _environment(dsn: str, _: Settings, __: BootstrapOptions) -> dict[str, Any]:
    import pandas
    import psycopg
    import pyarrow

    from stocksdb.backup.tools import find_client_tool
    from stocksdb.db.connection import connect, redact_dsn, with_database

    with connect(with_database(dsn, "postgres")) as conn:
        row = conn.execute("SELECT current_setting('server_version'), "
                           "current_setting('server_version_num')::int").fetchone()
    assert row is not None
    tools = {n: str(find_client_tool(n, row[1] // 10000).path) for n in ("pg_dump", "pg_restore")}
    free = shutil.disk_usage(".").free
    return {"python": platform.python_version(), "psycopg": psycopg.__version__,
            "pyarrow": pyarrow.__version__, "pandas": pandas.__version__,
            "server": row[0], "database": redact_dsn(dsn), "client_tools": tools,
            "disk_free_gb": round(free / 2**30, 1)}


def _database(dsn: str, _: Settings, __: BootstrapOptions) -> dict[str, Any]:
    from stocksdb.db.connection import database_name, ensure_database, with_database

    name = database_name(dsn)
    created = ensure_database(with_database(dsn, "postgres"), name)
    return {"database": name, "created_now": created}


def _schema(dsn: str, _: Settings, __: BootstrapOptions) -> dict[str, Any]:
    from stocksdb.db.connection import connect
    from stocksdb.db.migrate import latest_version, migrate

    with connect(dsn, autocommit=True) as conn:
        applied = migrate(conn)
    return {"applied_now": applied, "schema_version": latest_version()}


def _backup(dsn: str, _: Settings, opts: BootstrapOptions) -> dict[str, Any]:
    from stocksdb.backup.dump import create_backup

    result = create_backup(dsn, directory=opts.backup_dir)
    return {"dump": str(result.dump), "manifest": str(result.manifest_path),
            "size_bytes": result.dump.stat().st_size}


def job_step(job: Job[Any]) -> Callable[[str, Settings, BootstrapOptions], dict[str, Any]]:
    """The checklist step that runs `job` with the options of a bootstrap (or cold rebuild)."""
    def run(dsn: str, settings: Settings, opts: BootstrapOptions) -> dict[str, Any]:
        from stocksdb.jobs.runner import RunRequest, run_job

        why = _no_input(job, opts, settings)
        if why:
            return {"skipped": why}
        source = job.source_for(opts.source)
        takes = job.options if job.bootstrap_dates else job.options - {"start", "end"}
        request = RunRequest(job=job.name, source=source,
                             path=opts.path if source == "files" else None,
                             start=opts.start if "start" in takes else None,
                             end=opts.end if "end" in takes else None,
                             method=opts.method if "method" in takes else None)
        report = run_job(settings, dsn, request)
        if report.status != "succeeded":
            raise StocksdbError(f"job {job.name} ended {report.status}: {report.error}")
        return {"run_id": report.run_id, "counts": report.counts, "rejected": report.rejected,
                "checks": {p: {r["check"]: r["status"] for r in rs}
                           for p, rs in report.gates.items()}}
    return run


def profiles() -> list[str]:
    """The values of bootstrap's and rebuild's --source: the sources of the securities master,
    where every load starts (each other job maps a profile to its own source, see
    Job.source_for: with `massive`, fundamentals read `sec` and macro series `fred`;
    trading_sessions reads its `calendar` whatever the profile)."""
    from stocksdb.jobs.registry import get_job

    return list(get_job("securities_master").sources)


def check_profile(source: str) -> None:
    """
    Raises:
        InputError: `source` is not one of profiles().
    """
    if source not in profiles():
        raise InputError(f"--source {source!r} is unknown; expected one of "
                         f"{', '.join(profiles())}")


def _no_input(job: Job[Any], opts: BootstrapOptions, settings: Settings) -> str | None:
    """Why `job` has nothing to do for this source tree and settings (None: it has work)."""
    return job.no_input(opts.source, opts.path, settings) if job.no_input else None


def _validation(dsn: str, settings: Settings, opts: BootstrapOptions) -> dict[str, Any]:
    """Every job's pre-gate over the finished database (of the jobs that ran): nothing may
    fail."""
    from stocksdb.db.connection import connect
    from stocksdb.gates.gate import run_gate

    results: dict[str, dict[str, str]] = {}
    with connect(dsn) as conn:
        for job in (j for j in jobs() if not _no_input(j, opts, settings)):
            gate = run_gate(conn, job.pre_gate, "pre", job.gate_context())
            results[job.name] = {r.check: r.status.value for r in gate.results}
            if not gate.passed:
                raise StocksdbError("validation failed: " + gate.summary())
    return {"checks": results}


def phases() -> tuple[tuple[str, Callable[[str, Settings, BootstrapOptions], dict[str, Any]]],
                      ...]:
    """The checklist, in order: set-up, every registered job in dependency order, checks."""
    return (
        ("environment", _environment),
        ("database", _database),
        ("schema", _schema),
        ("pre-ingestion backup", _backup),
        *((f"job {j.name}", job_step(j)) for j in jobs()),
        ("validation", _validation),
        ("final backup", _backup),
    )


def run_bootstrap(settings: Settings, dsn: str, opts: BootstrapOptions) -> BootstrapReport:
    """Run the checklist; stops at the first failed phase; writes the report either way."""
    steps = phases()
    report = BootstrapReport([Phase(n) for n, _ in steps],
                             datetime.now(UTC).isoformat(timespec="seconds"))
    for phase, (_, step) in zip(report.phases, steps, strict=True):
        t0 = time.monotonic()
        try:
            phase.details = step(dsn, settings, opts)
            phase.status = "ok"
        except (StocksdbError, OSError) as exc:
            phase.status, phase.error = "failed", str(exc)
        phase.seconds = round(time.monotonic() - t0, 2)
        if phase.status == "failed":
            break
    for phase in report.phases:
        if phase.status == "pending":
            phase.status = "skipped"
    report.ok = all(p.status == "ok" for p in report.phases)
    report.files = write_report(report, opts.report_dir)
    return report


def write_report(report: BootstrapReport, directory: Path) -> tuple[str, ...]:
    """report.json and report.md in `directory` (written to temp names, then renamed)."""
    directory.mkdir(parents=True, exist_ok=True)
    data = {"started_at": report.started_at, "ok": report.ok,
            "phases": [p.__dict__ for p in report.phases]}
    lines = [f"# stocksdb bootstrap — {'OK' if report.ok else 'FAILED'}", "",
             f"Started {report.started_at} (UTC).", "", "| phase | status | seconds |",
             "|---|---|---|"]
    lines += [f"| {p.name} | {p.status} | {p.seconds} |" for p in report.phases]
    for p in report.phases:
        if p.status == "skipped":
            continue
        lines += ["", f"## {p.name}: {p.status}", ""]
        lines += [f"- error: {p.error}"] if p.error else []
        lines += [f"- {k}: `{json.dumps(v, default=str)}`" for k, v in p.details.items()]
    out = []
    for name, text in (("report.json", json.dumps(data, indent=2, default=str)),
                       ("report.md", "\n".join(lines) + "\n")):
        tmp = directory / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(directory / name)
        out.append(str(directory / name))
    return tuple(out)
