"""What a database holds, as backup and restore compare it.

Reads: pg_catalog / information_schema, ingestion.schema_migrations, and every base table of the
stocks_research and ingestion schemas (row counts; checksums for stocks_research).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from stocksdb.db.checksum import DATA_SCHEMA, TableChecksum, data_tables, database_checksums
from stocksdb.db.migrate import applied_migrations
from stocksdb.db.tables import count_rows

LEDGER_SCHEMA = "ingestion"


@dataclass(frozen=True)
class DatabaseFacts:
    """A database's identity, schema version and content, read in one snapshot."""

    database: str
    server_version: str
    server_version_num: int
    schema_version: int | None
    migrations: list[str]
    row_counts: dict[str, int]
    checksums: dict[str, str]

    @property
    def server_major(self) -> int:
        return self.server_version_num // 10000


def _scalar(conn: psycopg.Connection[Any], query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def server_version_num(conn: psycopg.Connection[Any]) -> int:
    """The server's version as a number, e.g. 160004 for 16.4."""
    return int(_scalar(conn, "SHOW server_version_num"))


def read_row_counts(conn: psycopg.Connection[Any],
                    sums: dict[str, TableChecksum]) -> dict[str, int]:
    """Rows per "schema.table": stocks_research (taken from `sums`) and ingestion base tables."""
    counts = {f"{DATA_SCHEMA}.{t}": c.rows for t, c in sums.items()}
    for table in data_tables(conn, LEDGER_SCHEMA):
        counts[f"{LEDGER_SCHEMA}.{table}"] = count_rows(conn, LEDGER_SCHEMA, table)
    return dict(sorted(counts.items()))


def read_database_facts(conn: psycopg.Connection[Any]) -> DatabaseFacts:
    """Identity, schema version, row counts and stocks_research checksums of `conn`'s database."""
    sums = database_checksums(conn)
    applied = applied_migrations(conn)
    return DatabaseFacts(
        database=str(_scalar(conn, "SELECT current_database()")),
        server_version=str(_scalar(conn, "SHOW server_version")),
        server_version_num=server_version_num(conn),
        schema_version=max(applied) if applied else None,
        migrations=[applied[v][0] for v in sorted(applied)],
        row_counts=read_row_counts(conn, sums),
        checksums={t: c.digest for t, c in sorted(sums.items())},
    )


def all_table_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Rows per "schema.table" of every base table outside the system schemas."""
    rows = conn.execute(
        "SELECT n.nspname::text, c.relname::text FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_%%' "
        "ORDER BY 1, 2").fetchall()
    return {f"{s}.{t}": count_rows(conn, s, t) for s, t in rows}
