"""The read API's price queries through a QueryCache.

Reads: securities, ticker_history, prices_daily and, for adjusted bars, adjustment_factors_daily
(through stocksdb.api / db.queries), on a miss only: a hit does not touch PostgreSQL, and a DSN
given instead of a connection is only opened on a miss. Each query names the tables it reads,
so an ingest's `cache.bump(job.writes)` reaches exactly the queries that read them. Keys also
name the database (host, port, name), not its contents: whatever rewrites tables without an
ingest that bumps them (a restore, a rebuild, hand-written SQL) must bump them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from typing import Any

import pandas as pd
import psycopg

from stocksdb.cache.codec import FRAMES
from stocksdb.cache.query import QueryCache
from stocksdb.domain.adjustments import DEFAULT_METHOD, AdjustmentMethod

# What each query reads; a bump of any of these tables makes its cached results stale.
PRICE_TABLES = ("securities", "ticker_history", "prices_daily")
FACTOR_TABLE = "adjustment_factors_daily"

ConnOrDsn = psycopg.Connection[Any] | str


def fetch_prices(cache: QueryCache, conn_or_dsn: ConnOrDsn, symbols: str | Sequence[str], *,
                 start: date | None = None, end: date | None = None, adjusted: bool = True,
                 method: AdjustmentMethod | str | None = None,
                 as_of: date | None = None) -> pd.DataFrame:
    """`stocksdb.api.read_prices_frame` for `symbols` over start..end inclusive, read through
    `cache` (see read_prices_frame for the columns and the point-in-time symbol rules).

    `end` defaults to today and `as_of` to `end`, both fixed in the key, so tomorrow's call
    does not get today's answer.

    Raises:
        InputError: from read_prices_frame (unknown symbols, methods, missing factors).
    """
    from stocksdb.api import read_prices_frame

    names = [symbols] if isinstance(symbols, str) else list(symbols)
    end = end or date.today()
    chosen = _method_name(method) if adjusted else None
    params = {"database": database_identity(conn_or_dsn),
              "symbols": [s.strip().upper() for s in names], "start": start, "end": end,
              "adjusted": adjusted, "method": chosen, "as_of": as_of or end}
    tables = (*PRICE_TABLES, FACTOR_TABLE) if adjusted else PRICE_TABLES

    def load() -> pd.DataFrame:
        with _connection(conn_or_dsn) as conn:
            return read_prices_frame(conn, symbols=names, start=start, end=end,
                                     adjusted=adjusted, method=method, as_of=as_of)

    return cache.fetch("prices", params, tables, load, FRAMES)


def fetch_cross_section(cache: QueryCache, conn_or_dsn: ConnOrDsn, trade_date: date, *,
                        method: AdjustmentMethod | str | None = None) -> pd.DataFrame:
    """Every security's raw bar of `trade_date` (`db.queries.read_prices_daily(conn,
    trade_date=...)`: PRICE_COLUMNS by security_id), read through `cache`; with `method`, only
    the bars that have a factor of it, with the factor columns."""
    from stocksdb.db.queries import read_prices_daily

    chosen = None if method is None else _method_name(method)
    tables = ("prices_daily", FACTOR_TABLE) if chosen else ("prices_daily",)

    def load() -> pd.DataFrame:
        with _connection(conn_or_dsn) as conn:
            return read_prices_daily(conn, trade_date=trade_date, method=chosen)

    params = {"database": database_identity(conn_or_dsn), "trade_date": trade_date,
              "method": chosen}
    return cache.fetch("cross_section", params, tables, load, FRAMES)


def database_identity(conn_or_dsn: ConnOrDsn) -> str:
    """'host:port/dbname' of the database read, without opening a connection: part of every
    key, so two databases (a copy, a restore target) on one Redis never share results."""
    if isinstance(conn_or_dsn, str):
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(conn_or_dsn)
        host, port, name = parts.get("host"), parts.get("port"), parts.get("dbname")
    else:
        info = conn_or_dsn.info
        host, port, name = info.host, info.port, info.dbname
    return f"{host or ''}:{port or ''}/{name or ''}"


def _method_name(method: AdjustmentMethod | str | None) -> str:
    """The method's name for the key, unchecked: a bad one fails in the loader, clearly."""
    if isinstance(method, AdjustmentMethod):
        return method.value
    return method or DEFAULT_METHOD.value


def _connection(conn_or_dsn: ConnOrDsn) -> AbstractContextManager[psycopg.Connection[Any]]:
    """The caller's connection (left open), or one opened on the DSN for this read."""
    if isinstance(conn_or_dsn, str):
        from stocksdb.db.connection import connect

        return connect(conn_or_dsn)
    return nullcontext(conn_or_dsn)

