"""What `stocksdb db status` reports: where the database is, its migrations, its row counts
(cli/db.py renders it).

Reads: ingestion.schema_migrations, ingestion.job_runs, row counts of the data tables.
"""

from __future__ import annotations

from typing import Any

from stocksdb.config import Settings
from stocksdb.db.connection import connect, redact_dsn
from stocksdb.db.migrate import migration_status
from stocksdb.db.tables import table_row_counts


def database_status(settings: Settings, dsn: str) -> dict[str, Any]:
    """A JSON-ready status report."""
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
        report["tables"] = table_row_counts(conn)
        runs = conn.execute(
            "SELECT run_id, job, status, started_at FROM ingestion.job_runs "
            "ORDER BY run_id DESC LIMIT 5").fetchall() if report["migrations"] and \
            report["migrations"][0]["applied_at"] else []
        report["recent_runs"] = [{"run_id": r[0], "job": r[1], "status": r[2],
                                  "started_at": r[3]} for r in runs]
    return report


def _mark_abandoned(conn: Any) -> list[int]:
    """Runs whose process is gone, ended as 'abandoned' now (none before migrations)."""
    from stocksdb.db.locks import mark_abandoned

    exists = conn.execute("SELECT to_regclass('ingestion.job_runs') IS NOT NULL").fetchone()
    return mark_abandoned(conn) if exists and exists[0] else []
