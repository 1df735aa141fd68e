"""Shared read queries.

Reads: stocks_research.ticker_history, securities, prices_daily, adjustment_factors_daily,
fundamentals_quarterly, fundamentals_quarterly_yoy.
Ticker intervals come back as a domain.tickers.TickerIntervals, the one point-in-time resolver.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from stocksdb.domain.tickers import OPEN_ORDINAL, Interval, TickerIntervals, TickerSpans
from stocksdb.errors import DatabaseStateError
from stocksdb.types import SecurityId


def id_array(ids: Sequence[int] | np.ndarray[Any, Any]) -> str:
    """`ids` as a PostgreSQL array literal ('{1,2,3}'), to pass as a text parameter cast to
    bigint[] or inside sql.Literal: psycopg dumps a 10,000-int list element by element in
    Python (~20 ms), this string takes ~1 ms."""
    values = ids.tolist() if isinstance(ids, np.ndarray) else [int(i) for i in ids]
    return "{" + ",".join(map(str, values)) + "}"


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
                  where: Sequence[sql.Composable]) -> dict[str, np.ndarray[Any, Any]]:
    """`columns` of the rows of `table` matching `where`, in (security_id, trade_date) order,
    each read as one binary array (trade_date as days since 2000-01-01)."""
    query = sql.SQL("SELECT count(*), {} FROM {} WHERE {}").format(
        sql.SQL(", ").join(sql.SQL(_column(c)) for c in columns),
        sql.Identifier("stocks_research", table),
        sql.SQL(" AND ").join(where or [sql.SQL("TRUE")]))
    with conn.cursor(binary=True) as cur:
        row = cur.execute(query).fetchone()
    assert row is not None
    n = int(row[0])
    return {name: _decode(row[i + 1], _WIRE.get(name, ">f8"), n)
            for i, name in enumerate(columns)}


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
    frame = pd.DataFrame(read_price_columns(conn, security_ids=security_ids,
                                            trade_date=trade_date, start=start, end=end,
                                            method=method))
    frame["transactions"] = frame["transactions"].astype("Int64").mask(
        frame["transactions"] < 0)
    return frame


def read_price_columns(conn: psycopg.Connection[Any], *,
                       security_ids: Sequence[int] | np.ndarray[Any, Any] | None = None,
                       trade_date: date | None = None, start: date | None = None,
                       end: date | None = None,
                       method: str | None = None) -> dict[str, np.ndarray[Any, Any]]:
    """read_prices_daily as numpy arrays, one per column, before any DataFrame is built:
    trade_date as datetime64[D], a NULL transactions count as -1."""
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
    columns["trade_date"] = _PG_EPOCH + columns["trade_date"].astype("timedelta64[D]")
    return columns


_FIGI_IDS = """
SELECT array_send(array_agg(coalesce(s.security_id, -1) ORDER BY f.at))
  FROM unnest({figis}) WITH ORDINALITY AS f(composite_figi, at)
  LEFT JOIN stocks_research.securities s USING (composite_figi)
"""


def read_figi_ids(conn: psycopg.Connection[Any], figis: Sequence[str]) -> np.ndarray[Any, Any]:
    """The security_id of each composite FIGI of `figis`, in their order (int64; -1 where
    securities has none). The FIGIs travel as one newline-joined text, which psycopg sends
    as is, where a list of 10,000 strings costs it ~15 ms to dump."""
    if not len(figis):
        return np.empty(0, dtype=np.int64)
    joined = "\n".join(figis)
    param: str | list[str] = joined
    source = sql.SQL("string_to_array(%s, E'\\n')")
    if not joined or joined.count("\n") != len(figis) - 1:
        # A newline inside a name (never a FIGI, but it must not split in two), or [""].
        source, param = sql.SQL("%s::text[]"), list(figis)
    with conn.cursor(binary=True) as cur:
        row = cur.execute(sql.SQL(_FIGI_IDS).format(figis=source), (param,)).fetchone()
    return _decode(row[0] if row else None, ">i8", len(figis))


_SECURITY_NAMES = """
SELECT f.figis, t.*
  FROM (SELECT string_agg(composite_figi, E'\n' ORDER BY security_id) AS figis
          FROM stocks_research.securities WHERE security_id = ANY(%(ids)s::bigint[])) f,
       (SELECT count(*),
               array_send(array_agg(security_id ORDER BY security_id, valid_from)),
               array_send(array_agg(valid_from - DATE '0001-01-01' + 1
                                    ORDER BY security_id, valid_from)),
               array_send(array_agg(coalesce(valid_to - DATE '0001-01-01' + 1, %(open)s::int)
                                    ORDER BY security_id, valid_from)),
               string_agg(ticker, E'\n' ORDER BY security_id, valid_from)
          FROM stocks_research.ticker_history WHERE security_id = ANY(%(ids)s::bigint[])) t
"""


def read_security_names(conn: psycopg.Connection[Any], security_ids: np.ndarray[Any, Any]
                        ) -> tuple[np.ndarray[Any, Any], TickerSpans]:
    """For sorted, distinct `security_ids`: the composite FIGI of each (an object array in
    their order) and their ticker intervals, in one round trip and without a Python object
    per interval (stored FIGIs and tickers never hold a newline: both are validated)."""
    with conn.cursor(binary=True) as cur:
        row = cur.execute(_SECURITY_NAMES, {"ids": id_array(security_ids.tolist()),
                                            "open": OPEN_ORDINAL}).fetchone()
    assert row is not None
    figis = np.array(row[0].split("\n") if row[0] is not None else [], dtype=object)
    if len(figis) != len(security_ids):
        raise DatabaseStateError(f"securities holds {len(figis)} of the {len(security_ids)} "
                                 "security ids of the bars read; prices_daily lost its key")
    n = int(row[1])
    tickers = row[5].split("\n") if n else []
    return figis, TickerSpans(_decode(row[2], ">i8", n), _decode(row[3], ">i4", n),
                              _decode(row[4], ">i4", n), np.array(tickers, dtype=object))


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
