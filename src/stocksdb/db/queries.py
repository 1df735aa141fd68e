"""Shared read queries.

Reads: stocks_research.ticker_history, prices_daily, adjustment_factors_daily.
Ticker intervals come back as a domain.tickers.TickerIntervals, the one point-in-time resolver.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from stocksdb.domain.tickers import Interval, TickerIntervals
from stocksdb.types import SecurityId


def read_ticker_intervals(conn: psycopg.Connection[Any], *,
                          tickers: Sequence[str] | None = None,
                          security_ids: Sequence[int] | None = None) -> TickerIntervals:
    """The stored ticker intervals, all of them or those of `tickers` / `security_ids`."""
    from psycopg import sql
    from psycopg.rows import class_row

    where = [sql.SQL(clause) for clause, value in (
        ("ticker = ANY(%(tickers)s)", tickers), ("security_id = ANY(%(ids)s)", security_ids))
        if value is not None] or [sql.SQL("TRUE")]
    query = sql.SQL("SELECT ticker, valid_from, valid_to, security_id "
                    "FROM stocks_research.ticker_history WHERE {}").format(
        sql.SQL(" AND ").join(where))
    params = {"tickers": list(tickers or ()), "ids": list(security_ids or ())}
    with conn.cursor(row_factory=class_row(Interval)) as cur:
        return TickerIntervals(cur.execute(query, params).fetchall())


def resolve_security(conn: psycopg.Connection[Any], ticker: str, on: date) -> SecurityId | None:
    """The security `ticker` named on date `on` (point-in-time), or None."""
    return read_ticker_intervals(conn, tickers=[ticker.upper()]).resolve(ticker, on)


def read_ticker_on(conn: psycopg.Connection[Any], security_id: int, on: date) -> str | None:
    """The ticker of a security on a date, or None."""
    return read_ticker_intervals(conn, security_ids=[security_id]).ticker_of(security_id, on)


PRICE_COLUMNS = ("security_id", "trade_date", "open", "high", "low", "close", "volume",
                 "transactions")
FACTOR_COLUMNS = ("security_id", "trade_date", "price_factor", "volume_factor")
# Binary send format of each column; a NULL transactions count travels as -1.
_WIRE = {"security_id": ">i8", "trade_date": ">i4", "volume": ">i8", "transactions": ">i8"}
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


def _read_columns(conn: psycopg.Connection[Any], table: str, columns: Sequence[str],
                  filters: Sequence[tuple[str, object]]) -> pd.DataFrame:
    """`columns` of the rows of `table` passing every (clause, value) filter whose value is not
    None, in (security_id, trade_date) order, each column read as one binary array."""
    from psycopg import sql

    where: list[sql.Composable] = [sql.SQL(clause).format(sql.Literal(value))
                                   for clause, value in filters if value is not None]
    query = sql.SQL("SELECT count(*), {} FROM {} WHERE {}").format(
        sql.SQL(", ").join(sql.SQL(_column(c)) for c in columns),
        sql.Identifier("stocks_research", table),
        sql.SQL(" AND ").join(where or [sql.SQL("TRUE")]))
    with conn.cursor(binary=True) as cur:
        row = cur.execute(query).fetchone()
    assert row is not None
    n = int(row[0])
    frame = pd.DataFrame({name: _decode(row[i + 1], _WIRE.get(name, ">f8"), n)
                          for i, name in enumerate(columns)})
    frame["trade_date"] = _PG_EPOCH + frame["trade_date"].to_numpy().astype("timedelta64[D]")
    return frame


def _key_filters(security_ids: Sequence[int] | None, trade_date: date | None,
                 start: date | None, end: date | None) -> list[tuple[str, object]]:
    return [("security_id = ANY({})", None if security_ids is None else list(security_ids)),
            ("trade_date = {}", trade_date), ("trade_date >= {}", start),
            ("trade_date <= {}", end)]


def read_prices_daily(conn: psycopg.Connection[Any], *, security_ids: list[int] | None = None,
                      trade_date: date | None = None, start: date | None = None,
                      end: date | None = None) -> pd.DataFrame:
    """Raw bars as a DataFrame (PRICE_COLUMNS), filtered by ids and/or dates, in key order.

    Each column comes back as one binary array decoded by numpy, with no Python object per
    value: a 10,000-row cross-section reads in about 11 ms (docs/performance.md).
    """
    frame = _read_columns(conn, "prices_daily", PRICE_COLUMNS,
                          _key_filters(security_ids, trade_date, start, end))
    frame["transactions"] = frame["transactions"].astype("Int64").mask(
        frame["transactions"] < 0)
    return frame


def read_adjustment_factors(conn: psycopg.Connection[Any], *, method: str,
                            security_ids: list[int] | None = None,
                            trade_date: date | None = None, start: date | None = None,
                            end: date | None = None) -> pd.DataFrame:
    """Stored factors of `method` (FACTOR_COLUMNS), filtered like read_prices_daily and read
    the same columnar way, in key order."""
    return _read_columns(conn, "adjustment_factors_daily", FACTOR_COLUMNS,
                         [*_key_filters(security_ids, trade_date, start, end),
                          ("method = {}", method)])
