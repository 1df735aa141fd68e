"""What `stocksdb db status` reports: where the database is, its migrations, its row counts,
the dates each dated table holds (cli/db.py renders it).

Reads: ingestion.schema_migrations, ingestion.job_runs, row counts and date ranges of the
data tables. A stopped embedded server is reported as stopped, never started.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from stocksdb.config import Settings
from stocksdb.db.checksum import DATA_SCHEMA
from stocksdb.db.connection import connect, redact_dsn
from stocksdb.db.migrate import migration_status
from stocksdb.db.tables import table_row_counts

# The date that places a row in time, per data table that has one: its range is what the
# table holds, its maximum the newest session (or period, or observation) loaded.
DATE_COLUMNS = {
    "prices_daily": "trade_date",
    "adjustment_factors_daily": "trade_date",
    "corporate_actions": "ex_date",
    "fundamentals_quarterly_raw": "period_end",
    "fundamentals_quarterly": "period_end",
    "fundamentals_quarterly_yoy": "period_end",
    "trading_sessions": "session_date",
    "macro_observations": "obs_date",
    "macro_events": "release_date",
}


def embedded_status(settings: Settings) -> dict[str, Any] | None:
    """The embedded server's part of the report (None when another server is configured);
    reading it never starts the server."""
    if not settings.uses_embedded_server:
        return None
    from stocksdb.db.server import embedded_server

    st = embedded_server(settings).status()
    return {"pgdata": str(st.pgdata), "initialized": st.initialized, "running": st.running,
            "pid": st.pid, "port": st.port, "socket_dir": str(st.socket_dir),
            "opened_folders": list(st.opened_folders)}


def stopped_status(server: dict[str, Any]) -> dict[str, Any]:
    """The report of a stopped embedded server: the server part, nothing of the database."""
    return {"dsn": None, "embedded": True, "server": server, "server_version": None,
            "abandoned_now": [], "migrations": [], "tables": {}, "dates": {},
            "recent_runs": []}


def database_status(settings: Settings, dsn: str) -> dict[str, Any]:
    """A JSON-ready status report of the database at `dsn`."""
    report: dict[str, Any] = {"dsn": redact_dsn(dsn),
                              "embedded": settings.uses_embedded_server}
    server = embedded_status(settings)
    if server is not None:
        report["server"] = server
    with connect(dsn, autocommit=True) as conn:
        report["abandoned_now"] = _mark_abandoned(conn)
        report["server_version"] = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        report["migrations"] = [
            {"version": m.version, "name": m.name, "applied_at": m.applied_at}
            for m in migration_status(conn)]
        report["tables"] = table_row_counts(conn)
        report["dates"] = table_date_ranges(conn, report["tables"])
        runs = conn.execute(
            "SELECT run_id, job, status, started_at FROM ingestion.job_runs "
            "ORDER BY run_id DESC LIMIT 5").fetchall() if report["migrations"] and \
            report["migrations"][0]["applied_at"] else []
        report["recent_runs"] = [{"run_id": r[0], "job": r[1], "status": r[2],
                                  "started_at": r[3]} for r in runs]
    return report


def table_date_ranges(conn: psycopg.Connection[Any],
                      tables: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Per dated table present in `tables`: its date column, first and newest date (None
    when the table is empty)."""
    ranges = {}
    for table, column in DATE_COLUMNS.items():
        if table not in tables:
            continue
        query = sql.SQL("SELECT min({c}), max({c}) FROM {t}").format(
            c=sql.Identifier(column), t=sql.Identifier(DATA_SCHEMA, table))
        first, last = conn.execute(query).fetchone() or (None, None)
        ranges[table] = {"column": column, "first": first, "newest": last}
    return ranges


def _mark_abandoned(conn: Any) -> list[int]:
    """Runs whose process is gone, ended as 'abandoned' now (none before migrations)."""
    from stocksdb.db.locks import mark_abandoned

    exists = conn.execute("SELECT to_regclass('ingestion.job_runs') IS NOT NULL").fetchone()
    return mark_abandoned(conn) if exists and exists[0] else []
