"""Merge one session's accepted bars into prices_daily inside the caller's transaction.

Reads/writes: stocks_research.prices_daily (that session only).
A session with no rows yet gets a plain COPY straight into the table (a first load *is* a bare
COPY). Otherwise the bars are staged with COPY into a temporary table and merged in SQL by
db.sync.sync_from_stage: changed rows are updated, unchanged rows are not touched (re-runs
write nothing and keep run_id/ingested_at), new rows are inserted, and in full-universe mode
this source's rows the file no longer holds are deleted, so vendor corrections propagate and
re-runs converge. Bars of `keep` (securities whose row in the file was rejected) are never
deleted: a bad row must not cost a good stored bar. The caller compares the counts with what
was stored before committing.
Given the accepted bars as a frame too, a session with stored rows is first read back (one
query) and compared in numpy: when the merge would change nothing (the common re-run of the
same files) nothing is written, and the counts are those the merge would have returned.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from stocksdb.db.queries import read_session_bars
from stocksdb.db.sync import MergeCounts, Scope, sync_from_stage

_VALUES = ("open", "high", "low", "close", "volume", "transactions")
_INSERT_COLS = ("security_id", "trade_date", *_VALUES, "source", "run_id")


def _csv(frame: pd.DataFrame) -> bytes:
    """Frame as header-less CSV in COPY's format (empty = NULL), floats round-tripping."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    buf = io.BytesIO()
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buf,
                    write_options=pacsv.WriteOptions(include_header=False))
    return buf.getvalue()


def _copy_in(conn: psycopg.Connection[Any], table: sql.Composable, payload: bytes) -> None:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, _INSERT_COLS)))
    with conn.cursor().copy(stmt) as cp:
        cp.write(payload)


@dataclass(frozen=True)
class Payload:
    """A session's accepted bars encoded for COPY (built off the database thread)."""

    session: date
    rows: int
    data: bytes


def encode_bars(bars: pd.DataFrame, session: date, *, source: str, run_id: int) -> Payload:
    """The bars as COPY CSV in the column order of _INSERT_COLS."""
    out = bars.loc[:, ["security_id", *_VALUES]].copy()
    out.insert(1, "trade_date", session.isoformat())
    out["source"] = source
    out["run_id"] = run_id
    return Payload(session, len(out), _csv(out.loc[:, list(_INSERT_COLS)]))


_TABLE = sql.Identifier("stocks_research", "prices_daily")
_STAGE_NAME = sql.Identifier("stage_prices")
_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_prices (
    security_id bigint, trade_date date, open double precision, high double precision,
    low double precision, close double precision, volume bigint, transactions bigint,
    source text, run_id bigint) ON COMMIT DELETE ROWS
"""
_STORED = "SELECT count(*) FROM stocks_research.prices_daily WHERE trade_date = %s"
_KEY = ("security_id", "trade_date")
_COMPARED = (*_VALUES, "source")  # a bar from another source is replaced by this one
_STAMP = {"run_id": sql.Identifier("s", "run_id"), "ingested_at": sql.SQL("now()")}


def _unchanged(stored: dict[str, np.ndarray[Any, Any]], bars: pd.DataFrame, *,
               delete_missing: bool, keep: Sequence[int]) -> bool:
    """Whether merging `bars` (BAR_COLUMNS) leaves the stored rows (read_session_bars) as
    they are: each bar has a stored row of its security with bitwise-equal values (NULL
    transactions equal only NULL) and this source, and no stored row is in delete scope."""
    sid = stored["security_id"]
    ids = bars["security_id"].to_numpy(dtype=np.int64)
    at = np.minimum(np.searchsorted(sid, ids), len(sid) - 1)   # sid: sorted, not empty
    if not np.array_equal(sid[at], ids):
        return False
    # Bitwise: a float's bits differ whenever the merge's IS DISTINCT FROM could see a change
    # (it treats -0.0 as 0.0; a bar found different here still gets the merge's verdict).
    for name in ("open", "high", "low", "close"):
        mine = np.ascontiguousarray(bars[name].to_numpy(dtype=np.float64)).view(np.int64)
        if not np.array_equal(stored[name][at].view(np.int64), mine):
            return False
    if not (np.array_equal(stored["volume"][at], bars["volume"].to_numpy(dtype=np.int64))
            and np.array_equal(stored["transactions"][at], bars["transactions"].to_numpy(
                dtype=np.int64, na_value=-1)) and stored["same_source"][at].all()):
        return False
    if not delete_missing:
        return True
    doomed = stored["same_source"].astype(bool) & ~np.isin(sid, np.asarray(keep, np.int64))
    doomed[at] = False
    return not doomed.any()


def merge_day(conn: psycopg.Connection[Any], payload: Payload, *, source: str,
              delete_missing: bool, keep: Sequence[int] = (),
              bars: pd.DataFrame | None = None) -> MergeCounts:
    """Make prices_daily for the payload's session agree with it (see module docstring).

    bars: the accepted bars the payload encodes (BAR_COLUMNS of quality.prices), to skip the
          merge when it would change nothing; without them every session is merged.
    """
    session, n = payload.session, payload.rows
    if bars is not None and len(bars) == n:
        current = read_session_bars(conn, session, source=source)
        stored = len(current["security_id"])
        if stored and _unchanged(current, bars, delete_missing=delete_missing, keep=keep):
            return MergeCounts(unchanged=n, stored_before=stored)
    else:
        row = conn.execute(_STORED, (session,)).fetchone()
        stored = int(row[0]) if row else 0
    if not stored:
        if n:
            _copy_in(conn, _TABLE, payload.data)
        return MergeCounts(inserted=n)
    conn.execute(_STAGE)
    if n:
        _copy_in(conn, _STAGE_NAME, payload.data)
    # This source's bars of the session, but never those of `keep`; none with --symbols.
    scope = Scope(equal={"trade_date": session, "source": source},
                  exclude={"security_id": keep}) if delete_missing else None
    counts = sync_from_stage(conn, _TABLE, _KEY, _COMPARED, scope, stage=_STAGE_NAME,
                             stamp=_STAMP, pin={"trade_date": session}, staged=n)
    return replace(counts, stored_before=stored)
