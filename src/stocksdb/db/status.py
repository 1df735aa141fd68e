"""What `stocksdb db status` shows: where the database is, its migrations, its row counts.

Reads: ingestion.schema_migrations, ingestion.job_runs, row counts of the data tables.
"""

from __future__ import annotations

from typing import Any

from stocksdb.config import Settings
from stocksdb.db.checksum import data_tables
from stocksdb.db.connection import connect, redact_dsn
from stocksdb.db.migrate import migration_status


def database_status(settings: Settings, dsn: str) -> dict[str, Any]:
    """A JSON-ready status report."""
    from psycopg import sql

    report: dict[str, Any] = {"dsn": redact_dsn(dsn),
                              "embedded": settings.uses_embedded_server}
    if settings.uses_embedded_server:
        from stocksdb.db.server import embedded_server

        st = embedded_server(settings).status()
        report["server"] = {"pgdata": str(st.pgdata), "running": st.running, "pid": st.pid,
                            "port": st.port, "socket_dir": str(st.socket_dir),
                            "opened_folders": list(st.opened_folders)}
    with connect(dsn, autocommit=True) as conn:
        report["abandoned_now"] = _mark_abandoned(conn)
        report["server_version"] = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        report["migrations"] = [
            {"version": m.version, "name": m.name, "applied_at": m.applied_at}
            for m in migration_status(conn)]
        report["tables"] = {
            t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier("stocks_research", t))).fetchone()[0]  # type: ignore[index]
            for t in data_tables(conn)}
        runs = conn.execute(
            "SELECT run_id, job, status, started_at FROM ingestion.job_runs "
            "ORDER BY run_id DESC LIMIT 5").fetchall() if report["migrations"] and \
            report["migrations"][0]["applied_at"] else []
        report["recent_runs"] = [{"run_id": r[0], "job": r[1], "status": r[2],
                                  "started_at": r[3]} for r in runs]
    return report


def _mark_abandoned(conn: Any) -> list[int]:
    """Runs whose process is gone, ended as 'abandoned' now (none before migrations)."""
    from stocksdb.jobs.locks import mark_abandoned

    exists = conn.execute("SELECT to_regclass('ingestion.job_runs') IS NOT NULL").fetchone()
    return mark_abandoned(conn) if exists and exists[0] else []


def render_status(report: dict[str, Any]) -> None:
    """Print the report as rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"database: {report['dsn']} (PostgreSQL {report['server_version']})")
    if "server" in report:
        s = report["server"]
        console.print(f"embedded server: {'running' if s['running'] else 'stopped'}, "
                      f"pid {s['pid']}, port {s['port']}, data {s['pgdata']}, "
                      f"socket {s['socket_dir']}")
        for folder in s["opened_folders"]:
            console.print(f"  widened for the server (o+x until `db stop`): {folder}")
    pending = [m["name"] for m in report["migrations"] if m["applied_at"] is None]
    console.print(f"migrations: {len(report['migrations']) - len(pending)} applied, "
                  f"{len(pending)} pending" + (f" ({', '.join(pending)})" if pending else ""))
    table = Table("table", "rows", title="stocks_research")
    for name, rows in report["tables"].items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    if report.get("abandoned_now"):
        console.print(f"marked abandoned now (their process is gone): runs "
                      f"{', '.join(map(str, report['abandoned_now']))}")
    if report["recent_runs"]:
        runs = Table("run", "job", "status", "started", title="recent runs")
        for r in report["recent_runs"]:
            runs.add_row(str(r["run_id"]), r["job"], r["status"], str(r["started_at"]))
        console.print(runs)
