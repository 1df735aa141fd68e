"""Shared read queries.

Reads: stocks_research.ticker_history, securities, prices_daily, adjustment_factors_daily,
fundamentals_quarterly, fundamentals_quarterly_yoy.
Ticker intervals come back as a domain.tickers.TickerIntervals, the one point-in-time resolver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from stocksdb.domain.fundamentals import QuarterVersion, YoyVersion
from stocksdb.domain.identifiers import format_cik
from stocksdb.domain.tickers import Interval, TickerIntervals
from stocksdb.types import SecurityId


def id_array(ids: Sequence[int]) -> str:
    """`ids` as a PostgreSQL array literal ('{1,2,3}'), to pass as a text parameter cast to
    bigint[] or inside sql.Literal: psycopg dumps a 10,000-int list element by element in
    Python (~20 ms), this string takes ~1 ms."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def read_ticker_intervals(conn: psycopg.Connection[Any], *,
                          tickers: Sequence[str] | None = None,
                          security_ids: Sequence[int] | None = None) -> TickerIntervals:
    """The stored ticker intervals, all of them or those of `tickers` / `security_ids`."""
    from psycopg.rows import class_row

    where = [sql.SQL(clause) for clause, value in (
        ("ticker = ANY(%(tickers)s)", tickers),
        ("security_id = ANY(%(ids)s::bigint[])", security_ids))
        if value is not None] or [sql.SQL("TRUE")]
    query = sql.SQL("SELECT ticker, valid_from, valid_to, security_id "
                    "FROM stocks_research.ticker_history WHERE {}").format(
        sql.SQL(" AND ").join(where))
    params = {"tickers": list(tickers or ()), "ids": id_array(security_ids or ())}
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
FACTOR_COLUMNS = ("price_factor", "volume_factor")
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
                  where: Sequence[sql.Composable], *,
                  flags: Mapping[str, sql.Composable] | None = None
                  ) -> dict[str, np.ndarray[Any, Any]]:
    """`columns` of the rows of `table` matching `where`, in (security_id, trade_date) order,
    each read as one binary array (trade_date as days since 2000-01-01); `flags`: name -> a
    boolean expression over the row, read as an int32 array of 1 (true) and 0."""
    flags = flags or {}
    query = sql.SQL("SELECT count(*), {} FROM {} WHERE {}").format(
        sql.SQL(", ").join([*(sql.SQL(_column(c)) for c in columns),
                            *(sql.SQL("array_send(array_agg(coalesce(({}), false)::int "
                                      "ORDER BY security_id, trade_date))").format(e)
                              for e in flags.values())]),
        sql.Identifier("stocks_research", table),
        sql.SQL(" AND ").join(where or [sql.SQL("TRUE")]))
    with conn.cursor(binary=True) as cur:
        row = cur.execute(query).fetchone()
    assert row is not None
    n = int(row[0])
    wires = [*(_WIRE.get(name, ">f8") for name in columns), *(">i4" for _ in flags)]
    return {name: _decode(row[i + 1], wire, n)
            for i, (name, wire) in enumerate(zip([*columns, *flags], wires, strict=True))}


def _keys(columns: dict[str, np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    """(security_id, trade_date) as one int64 that sorts like the pair."""
    return (columns["security_id"] << 23) + (columns["trade_date"].astype(np.int64) + (1 << 22))


def _with_factors(bars: dict[str, np.ndarray[Any, Any]],
                  factors: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
    """The bars that have a factor row, each with its FACTOR_COLUMNS (both in key order)."""
    bar_keys, factor_keys = _keys(bars), _keys(factors)
    at = np.searchsorted(factor_keys, bar_keys)
    hit = at < len(factor_keys)
    hit[hit] = factor_keys[at[hit]] == bar_keys[hit]
    return {**{c: v[hit] for c, v in bars.items()},
            **{c: factors[c][at[hit]] for c in FACTOR_COLUMNS}}


def read_closes(conn: psycopg.Connection[Any], security_ids: list[int], start: date,
                end: date) -> pd.DataFrame:
    """security_id, trade_date (datetime64) and close of the bars of `security_ids` from
    `start` to `end`, in key order: the columnar read of three columns only."""
    where = [sql.SQL("security_id = ANY({}::bigint[])").format(sql.Literal(id_array(security_ids))),
             sql.SQL("trade_date >= {}").format(sql.Literal(start)),
             sql.SQL("trade_date <= {}").format(sql.Literal(end))]
    frame = pd.DataFrame(_read_columns(conn, "prices_daily",
                                       ("security_id", "trade_date", "close"), where))
    frame["trade_date"] = _PG_EPOCH + frame["trade_date"].to_numpy().astype("timedelta64[D]")
    return frame


def read_prices_daily(conn: psycopg.Connection[Any], *, security_ids: list[int] | None = None,
                      trade_date: date | None = None, start: date | None = None,
                      end: date | None = None, method: str | None = None) -> pd.DataFrame:
    """Raw bars as a DataFrame (PRICE_COLUMNS), filtered by ids and/or dates, in key order.

    With `method`, only the bars that have an adjustment factor of that method, with its
    FACTOR_COLUMNS appended (prices stay raw; stocksdb.api multiplies).
    Each column comes back as one binary array decoded by numpy, with no Python object per
    value: a 10,000-row cross-section reads in about 11 ms (docs/performance.md).
    """
    where: list[sql.Composable] = []
    ids = None if security_ids is None else id_array(security_ids)
    for clause, value in (("security_id = ANY({}::bigint[])", ids), ("trade_date = {}", trade_date),
                          ("trade_date >= {}", start), ("trade_date <= {}", end)):
        if value is not None:
            where.append(sql.SQL(clause).format(sql.Literal(value)))
    columns = _read_columns(conn, "prices_daily", PRICE_COLUMNS, where)
    if method is not None:
        # Two reads aligned in numpy: joining in SQL probes the factor index once per bar
        # (1.4 s against 0.6 s for 500 securities' year).
        columns = _with_factors(columns, _read_columns(
            conn, "adjustment_factors_daily", ("security_id", "trade_date", *FACTOR_COLUMNS),
            [*where, sql.SQL("method = {}").format(sql.Literal(method))]))
    frame = pd.DataFrame(columns)
    frame["trade_date"] = _PG_EPOCH + frame["trade_date"].to_numpy().astype("timedelta64[D]")
    frame["transactions"] = frame["transactions"].astype("Int64").mask(
        frame["transactions"] < 0)
    return frame


def read_session_bars(conn: psycopg.Connection[Any], session: date, *,
                      source: str) -> dict[str, np.ndarray[Any, Any]]:
    """The bars stored for `session` in security_id order, in one query: security_id, open,
    high, low, close, volume, transactions (-1 where NULL) and `same_source` (1 where the
    bar's source is `source`, else 0), each an array decoded by numpy."""
    columns = ("security_id", "open", "high", "low", "close", "volume", "transactions")
    return _read_columns(conn, "prices_daily", columns,
                         [sql.SQL("trade_date = {}").format(sql.Literal(session))],
                         flags={"same_source": sql.SQL("source = {}").format(
                             sql.Literal(source))})


@dataclass(frozen=True)
class FundamentalsRow:
    """A fiscal quarter as known on the as-of date, with its YoY when a prior quarter exists."""

    security_id: int
    quarter: QuarterVersion
    yoy: YoyVersion | None


_READ_FUNDAMENTALS = """
SELECT DISTINCT ON (q.security_id, q.period_end)
       q.security_id, q.period_start, q.period_end, q.filed_date, q.fiscal_year,
       q.fiscal_quarter, q.revenue, q.eps_diluted, q.revenue_derived, q.eps_derived,
       q.eps_approximate, q.source_accession, y.prior_period_end, y.revenue_yoy,
       y.eps_diluted_yoy
  FROM stocks_research.fundamentals_quarterly q
  JOIN stocks_research.securities s ON s.security_id = q.security_id
  LEFT JOIN stocks_research.fundamentals_quarterly_yoy y
    ON (y.security_id, y.period_end, y.filed_date) = (q.security_id, q.period_end, q.filed_date)
 WHERE q.filed_date <= %(as_of)s
   AND (%(sids)s::bigint[] IS NULL OR q.security_id = ANY(%(sids)s::bigint[]))
   AND (%(cik)s::text IS NULL OR s.cik = %(cik)s::text)
 ORDER BY q.security_id, q.period_end, q.filed_date DESC
"""


def read_fundamentals(conn: psycopg.Connection[Any], security_ids: Sequence[int] | None = None,
                      *, cik: str | int | None = None,
                      as_of: date | None = None) -> list[FundamentalsRow]:
    """Quarters as known on `as_of` (the latest version filed on or before it; default: all
    known now), for the given securities and/or CIK, ordered by security and period end.

    Raises:
        InvalidIdentifierError: `cik` is not 1 to 10 digits."""
    params = {"as_of": as_of or date.max, "cik": format_cik(cik) if cik is not None else None,
              "sids": list(security_ids) if security_ids is not None else None}
    quarter_fields = [f.name for f in fields(QuarterVersion)]
    out = []
    with conn.cursor(row_factory=dict_row) as cur:
        for row in cur.execute(_READ_FUNDAMENTALS, params):
            quarter = QuarterVersion(**{name: row[name] for name in quarter_fields})
            yoy = YoyVersion(row["period_end"], row["filed_date"], row["prior_period_end"],
                             row["revenue_yoy"], row["eps_diluted_yoy"]) \
                if row["prior_period_end"] is not None else None
            out.append(FundamentalsRow(row["security_id"], quarter, yoy))
    return out
