"""Hydration: a year of prices_daily with no stored bars, loaded as one fresh partition.

Reads/writes: stocks_research.prices_daily_y<year> (created, filled, indexed and attached here),
the parent prices_daily (the attach).
A year qualifies when the run is authoritative (no --symbols), prices_daily has no user
trigger but migration 0018's (rows COPYed before the attach would not fire it; the attach
deletes the year's cross-section copies itself) and the year has no stored bar: its
partition is missing, or empty (then dropped first, in its own short transaction). The
caller then, in ONE transaction: creates the partition's table unattached, without keys or
indexes but with prices_daily's columns, defaults and CHECKs plus the year's bounds; COPYs
each checked date into it (binary COPY FREEZE: the dates follow one another in one COPY statement
while none has a rejected row to write; the dates' rejected_rows and source_files rows are
those a per-date load writes, the latter written once the COPY ends); builds the primary key
and the trade_date index once; and attaches the table as the year's partition. The bounds CHECK
lets the attach skip its validating scan, and the attach adopts the two indexes as the
partitions of the parent's. Until the commit no other session sees any of it, so a kill at any
moment leaves no date of the year half-written. A database error rolls the whole year back and
the caller loads its dates one by one instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import Copy, sql

from stocksdb.db.checksum import DATA_SCHEMA
from stocksdb.db.cross_sections import forget_cross_sections
from stocksdb.db.partitions import lock_year, partition_name
from stocksdb.jobs.prices_merge import COPY_HEADER, COPY_TRAILER, Payload, copy_statement

log = logging.getLogger("stocksdb.jobs.prices")
_PARENT = "prices_daily"
# What prices_daily's primary key carries besides its columns (migration 0017).
KEY_INCLUDES = ("open", "high", "low", "close", "volume")


# Rows COPYed into a table before it is attached fire none of the parent's triggers. Those of
# migration 0018 (cross_sections_*: forget a changed date's copy) are done by the attach.
_TRIGGERS = ("SELECT string_agg(tgname, ', ') FROM pg_trigger "
             "WHERE tgrelid = %s::regclass AND NOT tgisinternal "
             "AND tgname NOT LIKE 'cross\\_sections\\_forget\\_%%'")


def plan_hydration(conn: psycopg.Connection[Any], sessions: Sequence[date], *,
                   symbols: tuple[str, ...] | None, enabled: bool) -> dict[int, list[date]]:
    """The years of `sessions` to hydrate, each with its sessions (in order); an empty
    partition is dropped here so the hydration can attach its own."""
    if not enabled or symbols or not sessions:
        return {}
    triggers = conn.execute(_TRIGGERS, (f"{DATA_SCHEMA}.{_PARENT}",)).fetchone()
    if triggers and triggers[0]:
        log.info("prices_daily has triggers (%s): every date is loaded one at a time, so "
                 "they fire", triggers[0])
        return {}
    by_year: dict[int, list[date]] = {}
    for s in sessions:
        by_year.setdefault(s.year, []).append(s)
    plan = {}
    for year, days in by_year.items():
        name = sql.Identifier(DATA_SCHEMA, partition_name(_PARENT, year))
        with conn.transaction():
            lock_year(conn, year)
            found = conn.execute("SELECT to_regclass(%s)",
                                 (f"{DATA_SCHEMA}.{partition_name(_PARENT, year)}",)).fetchone()
            if found is not None and found[0] is not None:
                stored = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(name)
                                      ).fetchone()
                if stored is None or stored[0]:
                    continue
                conn.execute(sql.SQL("DROP TABLE {}").format(name))
        plan[year] = days
    return plan


@dataclass
class YearTable:
    """The year's partition being hydrated, inside the caller's transaction.

    Its dates' bars go into one COPY left open from date to date (the server parses one
    date while the next is checked), which `pause` ends whenever the connection must run a
    statement; `abort` ends it on an error.
    """

    year: int
    rows: int = 0
    files: list[tuple[Any, ...]] = field(default_factory=list)   # source_files rows, deferred
    _stream: ExitStack | None = field(default=None, repr=False)
    _copy: Copy | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The partition's table name (no schema)."""
        return partition_name(_PARENT, self.year)

    def _ident(self) -> sql.Identifier:
        return sql.Identifier(DATA_SCHEMA, self.name)

    def create(self, conn: psycopg.Connection[Any]) -> None:
        """Create the unattached, unindexed table with the year's bounds as a CHECK."""
        lock_year(conn, self.year)
        conn.execute(sql.SQL(
            "CREATE TABLE {t} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
            "CONSTRAINT {bounds} CHECK (trade_date >= {lo} AND trade_date < {hi}))").format(
            t=self._ident(), parent=sql.Identifier(DATA_SCHEMA, _PARENT),
            bounds=sql.Identifier(f"{self.name}_bounds"), lo=self._lo(), hi=self._hi()))

    def _lo(self) -> sql.Literal:
        return sql.Literal(date(self.year, 1, 1))

    def _hi(self) -> sql.Literal:
        return sql.Literal(date(self.year + 1, 1, 1))

    def copy(self, conn: psycopg.Connection[Any], payload: Payload) -> None:
        """One date's checked bars, appended to the open COPY (opened here if none is)."""
        if not payload.rows:
            return
        if self._copy is None:
            stream = ExitStack()
            # FREEZE: the table is this transaction's, so its pages are written all-visible
            # and the key's index-only scans need no VACUUM first.
            self._copy = stream.enter_context(conn.cursor().copy(
                copy_statement(self._ident(), freeze=True)))
            self._stream = stream
            self._copy.write(COPY_HEADER)
        self._copy.write(payload.tuples())
        self.rows += payload.rows

    def pause(self) -> None:
        """End the open COPY, if any (its rows are the server's once this returns)."""
        if self._copy is not None and self._stream is not None:
            copy, stream = self._copy, self._stream
            self._copy = self._stream = None
            copy.write(COPY_TRAILER)
            stream.close()

    def abort(self, exc: BaseException) -> None:
        """End the open COPY, if any, as failed by `exc` (the caller rolls the year back)."""
        if self._stream is not None:
            stream = self._stream
            self._copy = self._stream = None
            try:
                stream.__exit__(type(exc), exc, exc.__traceback__)
            except BaseException as again:  # noqa: BLE001 - the caller raises `exc` itself
                log.debug("ending the year's COPY after %s: %s", exc, again)

    def attach(self, conn: psycopg.Connection[Any]) -> None:
        """Build the key and index once, then attach as the year's partition."""
        t = self._ident()
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        # The parent's key exactly (migration 0017), or the attach would build another.
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY "
                             "(security_id, trade_date) INCLUDE ({})").format(
            t, sql.Identifier(f"{self.name}_pkey"),
            sql.SQL(", ").join(map(sql.Identifier, KEY_INCLUDES))))
        conn.execute(sql.SQL("CREATE INDEX {} ON {} (trade_date)").format(
            sql.Identifier(f"{self.name}_trade_date_idx"), t))
        conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})"
                             ).format(sql.Identifier(DATA_SCHEMA, _PARENT), t, self._lo(),
                                      self._hi()))
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            t, sql.Identifier(f"{self.name}_bounds")))
        # No trigger sees an attach: the year's cross-section copies go here (it had no bars,
        # so it has none unless rows were removed without a statement on prices_daily).
        forget_cross_sections(conn, date(self.year, 1, 1), date(self.year + 1, 1, 1))
