"""Rebuild the database: from one backup file (scenario A) or cold from the sources (B).

Both are destructive: without `yes` they raise an error naming what would be destroyed and
touch nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg import sql

from stocksdb.config import Settings
from stocksdb.db.connection import connect, database_name, redact_dsn, with_database
from stocksdb.errors import NotConfirmedError
from stocksdb.ops.bootstrap import JOB_ORDER, BootstrapOptions, job_step


class RebuildNotConfirmedError(NotConfirmedError):
    """A destructive rebuild was asked for without --yes; nothing was touched."""


def describe_target(dsn: str) -> str:
    """'database X on server Y (N rows in ...)' for the confirmation message."""
    from stocksdb.db.checksum import data_tables

    name = database_name(dsn)
    try:
        with connect(dsn) as conn:
            counts = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier("stocks_research", t))).fetchone()[0]  # type: ignore[index]
                for t in data_tables(conn)}
    except Exception:  # noqa: BLE001 - a missing database is described, not an error here
        counts = {}
    rows = ", ".join(f"{t} {n:,}" for t, n in counts.items() if n) or "no data rows"
    return f"database {name!r} on {redact_dsn(with_database(dsn, 'postgres'))} ({rows})"


def rebuild_cold(settings: Settings, dsn: str, opts: BootstrapOptions, *,
                 yes: bool) -> dict[str, Any]:
    """Drop and recreate the database, migrate, then run every job in order behind its gate.

    Raises:
        RebuildNotConfirmedError: `yes` is false (nothing is touched).
    """
    if not yes:
        raise RebuildNotConfirmedError(
            f"rebuild --cold would DROP {describe_target(dsn)} and reload it from "
            f"--source {opts.source}; pass --yes to do it")
    name = database_name(dsn)
    with connect(with_database(dsn, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    from stocksdb.db.migrate import migrate

    with connect(dsn, autocommit=True) as conn:
        migrate(conn)
    return {job: job_step(job)(dsn, settings, opts) for job in JOB_ORDER}


def rebuild_from_backup(dump: Path, dsn: str, *, yes: bool, drop_previous: bool = False) -> Any:
    """Scenario A: restore exactly one backup file into the configured database (see
    restore_backup: validated before the swap, the replaced database kept unless
    `drop_previous`)."""
    from stocksdb.backup.restore import restore_backup

    return restore_backup(dump, target_dsn=dsn, yes=yes, drop_previous=drop_previous)
