"""Shared read queries.

Reads: stocks_research.ticker_history, securities.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from stocksdb.types import SecurityId


def resolve_security(conn: psycopg.Connection[Any], ticker: str, on: date) -> SecurityId | None:
    """The security `ticker` named on date `on` (point-in-time), or None."""
    row = conn.execute("SELECT stocks_research.resolve_ticker(%s, %s)", (ticker, on)).fetchone()
    return SecurityId(int(row[0])) if row and row[0] is not None else None


def read_ticker_on(conn: psycopg.Connection[Any], security_id: int, on: date) -> str | None:
    """The ticker of a security on a date, or None."""
    row = conn.execute(
        "SELECT ticker FROM stocks_research.ticker_history WHERE security_id = %s "
        "AND valid_from <= %s AND (valid_to IS NULL OR %s < valid_to)",
        (security_id, on, on)).fetchone()
    return str(row[0]) if row else None


PRICE_COLUMNS = ("security_id", "trade_date", "open", "high", "low", "close", "volume",
                 "transactions")
_WIRE_TYPES = (">i8", ">i4", ">f8", ">f8", ">f8", ">f8", ">i8", ">i8")  # binary send formats
_PG_EPOCH = np.datetime64("2000-01-01", "D")
_ARRAY_HEADER = 20  # ndim, flags, element type, then size and lower bound of the one dimension


def _column(name: str) -> str:
    value = "coalesce(transactions, -1)" if name == "transactions" else name
    return f"array_send(array_agg({value} ORDER BY security_id, trade_date))"


def _decode(buf: bytes | None, wire: str, n: int) -> np.ndarray[Any, Any]:
    """Values of a 1-D binary array (each element is an int32 length, then the value)."""
    if not n or buf is None:
        return np.empty(0, dtype=np.dtype(wire).newbyteorder("="))
    element = np.dtype([("length", ">i4"), ("value", wire)])
    values = np.frombuffer(buf, dtype=element, count=n, offset=_ARRAY_HEADER)["value"]
    return values.astype(np.dtype(wire).newbyteorder("="))


def read_prices_daily(conn: psycopg.Connection[Any], *, security_ids: list[int] | None = None,
                      trade_date: date | None = None, start: date | None = None,
                      end: date | None = None) -> pd.DataFrame:
    """Raw bars as a DataFrame (PRICE_COLUMNS), filtered by ids and/or dates, in key order.

    Each column comes back as one binary array decoded by numpy, with no Python object per
    value: a 10,000-row cross-section reads in about 11 ms (docs/performance.md).
    """
    from psycopg import sql

    where: list[sql.Composable] = []
    for clause, value in (("security_id = ANY({})", security_ids), ("trade_date = {}", trade_date),
                          ("trade_date >= {}", start), ("trade_date <= {}", end)):
        if value is not None:
            where.append(sql.SQL(clause).format(sql.Literal(value)))
    query = sql.SQL("SELECT count(*), {} FROM stocks_research.prices_daily WHERE {}").format(
        sql.SQL(", ").join(sql.SQL(_column(c)) for c in PRICE_COLUMNS),
        sql.SQL(" AND ").join(where or [sql.SQL("TRUE")]))
    with conn.cursor(binary=True) as cur:
        row = cur.execute(query).fetchone()
    assert row is not None
    n = int(row[0])
    frame = pd.DataFrame({name: _decode(row[i + 1], wire, n)
                          for i, (name, wire) in enumerate(zip(PRICE_COLUMNS, _WIRE_TYPES,
                                                               strict=True))})
    frame["trade_date"] = _PG_EPOCH + frame["trade_date"].to_numpy().astype("timedelta64[D]")
    frame["transactions"] = frame["transactions"].astype("Int64").mask(
        frame["transactions"] < 0)
    return frame
