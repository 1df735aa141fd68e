"""The tables partitioned by year (migration 0015): their names and their partitions.

Reads/writes: the partitions of stocks_research.prices_daily and adjustment_factors_daily
(<table>_y<year>, FOR VALUES FROM (Jan 1) TO (next Jan 1)); ensure_year_partitions creates the
missing ones of a date range, in the caller's transaction.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import psycopg

from stocksdb.db.checksum import DATA_SCHEMA

PARTITIONED_BY_YEAR = ("prices_daily", "adjustment_factors_daily")
_PARTITION = re.compile(r"^(?P<parent>[a-z_]+)_y(?P<year>\d{4})$")
_LOCK_NAMESPACE = 0x5044  # advisory xact lock (namespace, year): one creator per year


def partition_name(table: str, year: int) -> str:
    """The partition of `table` holding `year`'s rows."""
    return f"{table}_y{year}"


def parent_of(name: str) -> str:
    """The partitioned table a partition's rows belong to ("schema.table" or "table"), or the
    name itself when it is no partition."""
    schema, _, table = name.rpartition(".")
    m = _PARTITION.match(table)
    if m is None or m["parent"] not in PARTITIONED_BY_YEAR:
        return name
    return f"{schema}.{m['parent']}" if schema else m["parent"]


def lock_year(conn: psycopg.Connection[Any], year: int) -> None:
    """Hold `year`'s partition lock until the transaction ends: whoever creates, drops or
    hydrates a year's partition holds it."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_NAMESPACE, year))


def ensure_year_partitions(conn: psycopg.Connection[Any], table: str, first: date,
                           last: date) -> int:
    """Create the missing yearly partitions of `table` for first .. last; returns how many.

    Serialised per year by an advisory transaction lock, so two loaders never race to create
    the same partition."""
    for year in range(first.year, last.year + 1):
        lock_year(conn, year)
    row = conn.execute(f"SELECT {DATA_SCHEMA}.ensure_year_partitions(%s, %s, %s)",
                       (table, first, last)).fetchone()
    return int(row[0]) if row else 0
