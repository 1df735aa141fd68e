"""Schema migrations: apply schema/NNNN_*.sql in order, each in its own transaction.

Reads/writes: ingestion.schema_migrations (version, name, sha256 checksum, applied_at).
An applied file whose checksum changed is an error naming the file, never a silent skip.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

import psycopg

from stocksdb.errors import MigrationChecksumError, SchemaVersionError

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x570C5DB  # advisory lock: one migrator at a time

LEDGER_DDL = """
CREATE SCHEMA IF NOT EXISTS ingestion;
CREATE TABLE IF NOT EXISTS ingestion.schema_migrations (
    version     integer PRIMARY KEY,
    name        text    NOT NULL,
    checksum    text    NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file shipped with the package."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MigrationState:
    """A migration as the database sees it."""

    version: int
    name: str
    applied_at: datetime | None


def available_migrations() -> list[Migration]:
    """Every migration file in the package, in version order."""
    folder = resources.files("stocksdb.db") / "schema"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


def latest_version() -> int:
    """The version of the newest migration this code ships."""
    return available_migrations()[-1].version


def applied_migrations(conn: psycopg.Connection[Any]) -> dict[int, tuple[str, str]]:
    """version -> (name, checksum) of migrations recorded in the ledger ({} if no ledger)."""
    exists = conn.execute("SELECT to_regclass('ingestion.schema_migrations')").fetchone()
    if not exists or exists[0] is None:
        return {}
    rows = conn.execute("SELECT version, name, checksum FROM ingestion.schema_migrations")
    return {v: (n, c) for v, n, c in rows.fetchall()}


def verify_applied(available: list[Migration], applied: dict[int, tuple[str, str]]) -> None:
    """Raise when an applied migration was edited, or the database is newer than the code."""
    by_version = {m.version: m for m in available}
    for version, (name, checksum) in sorted(applied.items()):
        mig = by_version.get(version)
        if mig is None:
            raise SchemaVersionError(
                f"database has migration {name} (version {version}) that this code does not "
                "ship; upgrade stocksdb"
            )
        if mig.checksum != checksum:
            raise MigrationChecksumError(
                f"migration {mig.name} changed after it was applied (recorded sha256 "
                f"{checksum[:12]}…, file {mig.checksum[:12]}…); revert the edit and add a new "
                "migration instead"
            )


def migrate(conn: psycopg.Connection[Any]) -> list[str]:
    """Apply pending migrations; returns the names applied now. `conn` must be autocommit."""
    available = available_migrations()
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        with conn.transaction():
            conn.execute(LEDGER_DDL)
        applied = applied_migrations(conn)
        verify_applied(available, applied)
        done = []
        for mig in available:
            if mig.version in applied:
                continue
            with conn.transaction():
                conn.execute(mig.sql.encode("utf-8"))
                conn.execute(
                    "INSERT INTO ingestion.schema_migrations (version, name, checksum) "
                    "VALUES (%s, %s, %s)",
                    (mig.version, mig.name, mig.checksum),
                )
            done.append(mig.name)
        return done
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def migration_status(conn: psycopg.Connection[Any]) -> list[MigrationState]:
    """Every shipped migration with its applied time (None = pending)."""
    applied_at: dict[int, datetime] = {}
    if applied_migrations(conn):
        rows = conn.execute("SELECT version, applied_at FROM ingestion.schema_migrations")
        applied_at = dict(rows.fetchall())
    return [MigrationState(m.version, m.name, applied_at.get(m.version))
            for m in available_migrations()]


def require_latest(conn: psycopg.Connection[Any]) -> None:
    """Raise SchemaVersionError unless every shipped migration is applied and unedited."""
    available = available_migrations()
    applied = applied_migrations(conn)
    verify_applied(available, applied)
    pending = [m.name for m in available if m.version not in applied]
    if pending:
        raise SchemaVersionError(
            f"database schema is behind: {len(pending)} pending migration(s), first "
            f"{pending[0]}; run `stocksdb db migrate`"
        )
