"""Merge one session's accepted bars into prices_daily inside the caller's transaction.

Reads/writes: stocks_research.prices_daily (that session only).
New rows go in with a plain COPY (on a first load this *is* a bare COPY); changed rows are
updated from a staged COPY; unchanged rows are not touched (so re-runs write nothing and keep
run_id/ingested_at); in full-universe mode this source's rows the file no longer holds are
deleted, so vendor corrections propagate and re-runs converge.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import psycopg

_VALUES = ("open", "high", "low", "close", "volume", "transactions")
_INSERT_COLS = ("security_id", "trade_date", *_VALUES, "source", "run_id")


@dataclass
class MergeCounts:
    """What a merge did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


def _csv(frame: pd.DataFrame) -> bytes:
    """Frame as header-less CSV in COPY's format (empty = NULL), floats round-tripping."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    buf = io.BytesIO()
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buf,
                    write_options=pacsv.WriteOptions(include_header=False))
    return buf.getvalue()


def read_day(conn: psycopg.Connection[Any], session: date) -> pd.DataFrame:
    """The session's current rows: security_id, the values and source."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    buf = io.BytesIO()
    query = ("COPY (SELECT security_id, open, high, low, close, volume, transactions, source "
             "FROM stocks_research.prices_daily WHERE trade_date = {}) TO STDOUT (FORMAT csv)")
    with conn.cursor().copy(psycopg.sql.SQL(query).format(psycopg.sql.Literal(session))) as cp:
        for chunk in cp:
            buf.write(chunk)
    names = ["security_id", *_VALUES, "source"]
    if buf.tell() == 0:
        return pd.DataFrame({n: pd.Series(dtype="float64") for n in names})
    types = {"security_id": pa.int64(), "volume": pa.int64(), "transactions": pa.int64(),
             "source": pa.string()}
    table = pacsv.read_csv(pa.BufferReader(buf.getvalue()),
                           read_options=pacsv.ReadOptions(column_names=names),
                           convert_options=pacsv.ConvertOptions(column_types=types))
    return table.to_pandas()


def _copy_in(conn: psycopg.Connection[Any], table: str, cols: tuple[str, ...],
             frame: pd.DataFrame) -> None:
    stmt = psycopg.sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        psycopg.sql.SQL(table), psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, cols)))
    with conn.cursor().copy(stmt) as cp:
        cp.write(_csv(frame.loc[:, list(cols)]))


def _with_meta(bars: pd.DataFrame, session: date, source: str, run_id: int) -> pd.DataFrame:
    out = bars.loc[:, ["security_id", *_VALUES]].copy()
    out.insert(1, "trade_date", session.isoformat())
    out["source"] = source
    out["run_id"] = run_id
    return out


def _changed(joined: pd.DataFrame) -> pd.Series:
    diff = pd.Series(False, index=joined.index)
    for col in (*_VALUES, "source"):
        new, old = joined[col], joined[f"{col}_old"]
        same = (new == old) | (new.isna() & old.isna())
        diff |= ~same.fillna(False).astype(bool)
    return diff


_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_prices (
    security_id bigint, trade_date date, open double precision, high double precision,
    low double precision, close double precision, volume bigint, transactions bigint,
    source text, run_id bigint) ON COMMIT DELETE ROWS
"""
_UPDATE = """
UPDATE stocks_research.prices_daily p
   SET open = s.open, high = s.high, low = s.low, close = s.close, volume = s.volume,
       transactions = s.transactions, source = s.source, run_id = s.run_id, ingested_at = now()
  FROM stage_prices s
 WHERE p.security_id = s.security_id AND p.trade_date = s.trade_date
"""


def merge_day(conn: psycopg.Connection[Any], session: date, bars: pd.DataFrame, *,
              source: str, run_id: int, delete_missing: bool) -> MergeCounts:
    """Make prices_daily for `session` agree with `bars` (see module docstring)."""
    rows = _with_meta(bars, session, source, run_id)
    existing = read_day(conn, session)
    counts = MergeCounts()
    if existing.empty:
        if not rows.empty:
            _copy_in(conn, "stocks_research.prices_daily", _INSERT_COLS, rows)
        counts.inserted = len(rows)
        return counts
    joined = rows.merge(existing, on="security_id", how="outer", suffixes=("", "_old"),
                        indicator=True)
    new = joined[joined["_merge"] == "left_only"]
    both = joined[joined["_merge"] == "both"]
    gone = joined[joined["_merge"] == "right_only"]
    changed = both[_changed(both)]
    if not new.empty:
        _copy_in(conn, "stocks_research.prices_daily", _INSERT_COLS, _restore(new))
    if not changed.empty:
        conn.execute(_STAGE)
        _copy_in(conn, "stage_prices", _INSERT_COLS, _restore(changed))
        conn.execute(_UPDATE)
    if delete_missing:
        ids = gone.loc[gone["source_old"] == source, "security_id"].astype("int64").tolist()
        if ids:
            conn.execute("DELETE FROM stocks_research.prices_daily WHERE trade_date = %s "
                         "AND security_id = ANY(%s)", (session, ids))
        counts.deleted = len(ids)
    counts.inserted, counts.updated = len(new), len(changed)
    counts.unchanged = len(both) - len(changed)
    return counts


def _restore(part: pd.DataFrame) -> pd.DataFrame:
    """Integer columns back to integers after an outer merge turned them into floats."""
    out = part.loc[:, list(_INSERT_COLS)].copy()
    for col in ("security_id", "volume", "run_id"):
        out[col] = out[col].astype("int64")
    out["transactions"] = out["transactions"].astype("Int64")
    return out

