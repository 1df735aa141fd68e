"""Deterministic per-table digests: same content => same digest, whatever the physical order.

Reads: every base table of the stocks_research schema (or the tables asked for).
Audit columns (`run_id` and timestamps named `*_at`) are left out: they say *when* a row was
written, not what it holds, so a re-run that writes nothing new keeps every digest.
The digest is order-independent: per-row md5s are summed as integers (a multiset hash), so no
sort of the table is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

DATA_SCHEMA = "stocks_research"
_EXCLUDED = {"run_id"}
# Tables of DATA_SCHEMA that hold no data: names_changed (migration 0018) says when the names
# of securities last changed, for readers that keep them; one row from the start.
BOOKKEEPING = ("names_changed",)


@dataclass(frozen=True)
class TableChecksum:
    """Row count and digest of one table."""

    table: str
    rows: int
    digest: str


def data_tables(conn: psycopg.Connection[Any], schema: str = DATA_SCHEMA) -> list[str]:
    """Tables of `schema`, sorted by name: a partitioned table once, never its partitions
    (their rows are the table's), and none of BOOKKEEPING."""
    rows = conn.execute(
        "SELECT relname::text FROM pg_class WHERE relnamespace = %s::regnamespace "
        "AND relkind IN ('r', 'p') AND NOT relispartition AND relname <> ALL(%s) "
        "ORDER BY relname",
        (schema, list(BOOKKEEPING)),
    ).fetchall()
    return [r[0] for r in rows]


def _content_columns(conn: psycopg.Connection[Any], schema: str, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table),
    ).fetchall()
    return [c for (c,) in rows if c not in _EXCLUDED and not c.endswith("_at")]


def table_checksum(conn: psycopg.Connection[Any], table: str,
                   schema: str = DATA_SCHEMA, *,
                   where: sql.Composable | None = None) -> TableChecksum:
    """Digest of one table's content columns; with `where` (a condition on its columns), the
    digest the table would have if it held only those rows (an export's range checksum)."""
    cols = _content_columns(conn, schema, table)
    row_expr = sql.SQL("md5(ROW({})::text)").format(sql.SQL(", ").join(map(sql.Identifier, cols)))
    query = sql.SQL(
        "SELECT count(*), "
        "coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::bigint), 0), "
        "coalesce(sum(('x' || substr(h, 16, 15))::bit(60)::bigint), 0) "
        "FROM (SELECT {row} AS h FROM {tbl} WHERE {where}) t"
    ).format(row=row_expr, tbl=sql.Identifier(schema, table), where=where or sql.SQL("TRUE"))
    row = conn.execute(query).fetchone()
    assert row is not None
    count, s1, s2 = row
    import hashlib

    digest = hashlib.sha256(f"{','.join(cols)}|{count}|{s1}|{s2}".encode()).hexdigest()
    return TableChecksum(table, int(count), digest)


def database_checksums(conn: psycopg.Connection[Any],
                       schema: str = DATA_SCHEMA) -> dict[str, TableChecksum]:
    """Digest of every data table, by table name."""
    return {t: table_checksum(conn, t, schema) for t in data_tables(conn, schema)}
