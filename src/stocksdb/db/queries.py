"""Shared read queries.

Reads: stocks_research.ticker_history, securities.
"""

from __future__ import annotations

from datetime import date
from typing import Any

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
                 "transactions", "source")


def read_prices_daily(conn: psycopg.Connection[Any], *, security_ids: list[int] | None = None,
                      trade_date: date | None = None, start: date | None = None,
                      end: date | None = None) -> pd.DataFrame:
    """Raw bars as a DataFrame (PRICE_COLUMNS), filtered by ids and/or dates, in key order.

    Uses a binary cursor: a 10,000-row cross-section comes back in about half the time of
    text results.
    """
    from psycopg import sql

    where, params = [], []
    if security_ids is not None:
        where.append("security_id = ANY(%s)")
        params.append(list(security_ids))
    if trade_date is not None:
        where.append("trade_date = %s")
        params.append(trade_date)
    if start is not None:
        where.append("trade_date >= %s")
        params.append(start)
    if end is not None:
        where.append("trade_date <= %s")
        params.append(end)
    query = sql.SQL("SELECT {} FROM stocks_research.prices_daily WHERE {} "
                    "ORDER BY security_id, trade_date").format(
        sql.SQL(", ").join(map(sql.Identifier, PRICE_COLUMNS)),
        sql.SQL(" AND ").join(map(sql.SQL, where or ["TRUE"])))
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(query, params).fetchall()
    return pd.DataFrame(rows, columns=list(PRICE_COLUMNS))
