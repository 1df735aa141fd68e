"""Exact row counts of tables: the one helper `db status`, `ops rebuild` and backups share.

Reads: information_schema.tables and every table counted.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from stocksdb.db.checksum import DATA_SCHEMA, data_tables


def count_rows(conn: psycopg.Connection[Any], schema: str, table: str) -> int:
    """Exact row count of one table."""
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def table_row_counts(conn: psycopg.Connection[Any], schema: str = DATA_SCHEMA) -> dict[str, int]:
    """Exact rows per base table of `schema`, by table name in name order."""
    return {table: count_rows(conn, schema, table) for table in data_tables(conn, schema)}
