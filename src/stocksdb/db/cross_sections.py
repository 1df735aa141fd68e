"""A date's cross-section kept as one row (migration 0018): written, found and decoded here.

Reads/writes: stocks_research.cross_sections (one row per date and adjustment method: the
date's bars and the method's factors of those bars as packed little-endian column blocks),
read from prices_daily and adjustment_factors_daily.
A copy is never stale (the tables' statement triggers delete the copies of the dates a
statement touches), so a read that finds one returns what the rows would give, bit for bit;
a date without one is read from the rows (db.queries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format

from stocksdb.db.checksum import DATA_SCHEMA

# The bars' value columns, in the order of their blocks after security_id.
BAR_VALUES = ("open", "high", "low", "close", "volume")
FACTOR_VALUES = ("price_factor", "volume_factor")
_TYPES = {"security_id": "<i8", "volume": "<i8", "transactions": "<i8"}   # else <f8
_WIDTH = 8   # every block holds 8-byte values

_BUILT = """
WITH RECURSIVE day(t) AS (
    SELECT min(trade_date) FROM stocks_research.prices_daily
    UNION ALL
    SELECT (SELECT min(trade_date) FROM stocks_research.prices_daily WHERE trade_date > day.t)
      FROM day WHERE day.t IS NOT NULL)
SELECT day.t, m.method
  FROM day CROSS JOIN unnest(%(methods)s::text[]) AS m(method)
 WHERE day.t IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM stocks_research.cross_sections c
                    WHERE c.trade_date = day.t AND c.method = m.method)
   AND EXISTS (SELECT 1 FROM stocks_research.adjustment_factors_daily f
                WHERE f.method = m.method AND f.trade_date = day.t)
 ORDER BY day.t, m.method
"""
# When the securities' names last changed (migration 0018's names_changed; see db.names).
NAMES_CHANGED = "SELECT changed_at FROM stocks_research.names_changed"
_INSERT = ("INSERT INTO stocks_research.cross_sections (trade_date, method, bars, transactions, "
           "factors, factor_rows, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s)")


def pack(columns: dict[str, np.ndarray[Any, Any]], names: Sequence[str]) -> bytes:
    """Each of `names` as consecutive little-endian 8-byte blocks."""
    return b"".join(np.ascontiguousarray(columns[name], dtype=_TYPES.get(name, "<f8")).tobytes()
                    for name in names)


def unpack(buf: bytes | bytearray, names: Sequence[str]) -> dict[str, np.ndarray[Any, Any]]:
    """The blocks of `pack`, as arrays over `buf` (over a writable copy when it is bytes)."""
    data = buf if isinstance(buf, bytearray) else bytearray(buf)
    n = len(data) // (_WIDTH * len(names))
    return {name: np.frombuffer(data, dtype=_TYPES.get(name, "<f8"), count=n,
                                offset=i * n * _WIDTH)
            for i, name in enumerate(names)}


def aligned(bar_ids: np.ndarray[Any, Any], factors: dict[str, np.ndarray[Any, Any]]
            ) -> dict[str, np.ndarray[Any, Any]]:
    """FACTOR_VALUES of each bar of `bar_ids` (sorted) from factor rows (security_id and
    FACTOR_VALUES, sorted), NaN where a bar has none."""
    ids = factors["security_id"]
    at = np.searchsorted(ids, bar_ids)
    hit = at < len(ids)
    hit[hit] = ids[at[hit]] == bar_ids[hit]
    out = {name: np.full(len(bar_ids), np.nan) for name in FACTOR_VALUES}
    for name in FACTOR_VALUES:
        out[name][hit] = factors[name][at[hit]]
    return out


@dataclass(frozen=True)
class CrossSection:
    """One date's bars (security_id, BAR_VALUES and, when asked for, transactions; in
    security_id order) and, when read for a method, its factors of the same bars (security_id
    and FACTOR_VALUES, NaN where a bar has no factor row)."""

    bars: dict[str, np.ndarray[Any, Any]]
    factors: dict[str, np.ndarray[Any, Any]] | None
    # names_changed.changed_at as the statement that read the copy saw it, when asked for.
    names_changed: tuple[Any] | None = None

    def with_factor(self) -> np.ndarray[Any, Any] | None:
        """Which bars have a factor row (None: all of them, or read for no method)."""
        if self.factors is None:
            return None
        has = ~np.isnan(self.factors["price_factor"])
        return None if has.all() else has


class _Writable(Loader):
    """bytea as a bytearray, copied once from the result: the arrays of a copy (~630 KB) are
    writable without a second copy."""

    format = Format.BINARY

    def load(self, data: Buffer) -> bytearray:
        return bytearray(data)


def read_cross_section(conn: psycopg.Connection[Any], day: date, method: str | None, *,
                       transactions: bool = False, names_changed: bool = False
                       ) -> CrossSection | None:
    """The copy of `day` for `method` (None: raw bars, from any method's copy), or None when
    there is none (read the rows). `names_changed`: also when the securities' names last
    changed, read in the same statement (db.names keeps every name until then)."""
    columns = sql.SQL(", ").join([
        sql.SQL("bars"), sql.SQL("transactions" if transactions else "NULL::bytea"),
        sql.SQL("NULL::bytea" if method is None else "factors"),
        sql.SQL(f"({NAMES_CHANGED})" if names_changed else "NULL::timestamptz")])
    where = sql.SQL("trade_date = %(day)s" + ("" if method is None else " AND method = %(method)s"))
    query = sql.SQL("SELECT {} FROM stocks_research.cross_sections WHERE {} "
                    "ORDER BY method LIMIT 1").format(columns, where)
    with conn.cursor(binary=True) as cur:
        cur.adapters.register_loader("bytea", _Writable)
        row = cur.execute(query, {"day": day, "method": method}, prepare=True).fetchone()
    if row is None:
        return None
    bars = unpack(row[0], ("security_id", *BAR_VALUES))
    if row[1] is not None:
        bars |= unpack(row[1], ("transactions",))
    factors = None if row[2] is None else \
        {"security_id": bars["security_id"], **unpack(row[2], FACTOR_VALUES)}
    return CrossSection(bars, factors, (row[3],) if names_changed else None)


def build_cross_sections(conn: psycopg.Connection[Any], methods: Sequence[str],
                         run_id: int) -> dict[str, int]:
    """Write the missing copies: every date of prices_daily with factors of one of `methods`
    and no copy for it. Holds SHARE locks on both tables until the caller's transaction ends,
    so no writer changes a date between its read and its copy's commit. Returns counts."""
    from stocksdb.db.queries import read_cross_section_rows

    conn.execute(sql.SQL("LOCK TABLE {}, {} IN SHARE MODE").format(
        sql.Identifier(DATA_SCHEMA, "prices_daily"),
        sql.Identifier(DATA_SCHEMA, "adjustment_factors_daily")))
    missing: dict[date, list[str]] = {}
    for day, method in conn.execute(_BUILT, {"methods": list(methods)}).fetchall():
        missing.setdefault(day, []).append(method)
    before = conn.execute("SELECT count(*) FROM stocks_research.cross_sections").fetchone()
    for day, wanted in missing.items():
        bars, by_method = read_cross_section_rows(conn, day, wanted)
        packed = pack(bars, ("security_id", *BAR_VALUES))
        counts = pack(bars, ("transactions",))
        rows = []
        for m in wanted:
            factors = aligned(bars["security_id"], by_method[m])
            kept = int(np.count_nonzero(~np.isnan(factors["price_factor"])))
            rows.append((day, m, packed, counts, pack(factors, FACTOR_VALUES), kept, run_id))
        with conn.cursor() as cur:
            cur.executemany(_INSERT, rows)
    written = sum(len(w) for w in missing.values())
    return {"inserted": written, "updated": 0, "deleted": 0,
            "unchanged": int(before[0]) if before else 0}


def forget_cross_sections(conn: psycopg.Connection[Any], lo: date, hi: date) -> None:
    """Delete the copies of lo <= trade_date < hi (a writer the triggers do not see)."""
    conn.execute("DELETE FROM stocks_research.cross_sections WHERE trade_date >= %s "
                 "AND trade_date < %s", (lo, hi))
