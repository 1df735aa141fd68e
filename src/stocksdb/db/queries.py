"""Shared read queries.

Reads: stocks_research.ticker_history, securities, prices_daily, fundamentals_quarterly,
fundamentals_quarterly_yoy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from stocksdb.domain.fundamentals import QuarterVersion, YoyVersion
from stocksdb.domain.identifiers import format_cik
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
    out = []
    for row in conn.execute(_READ_FUNDAMENTALS, params).fetchall():
        quarter = QuarterVersion(*row[1:12])
        yoy = YoyVersion(row[2], row[3], row[12], row[13], row[14]) if row[12] else None
        out.append(FundamentalsRow(row[0], quarter, yoy))
    return out
