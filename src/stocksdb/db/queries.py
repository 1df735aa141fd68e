"""Shared read queries.

Reads: stocks_research.ticker_history, securities, prices_daily, adjustment_factors_daily,
fundamentals_quarterly, fundamentals_quarterly_yoy.
Ticker intervals come back as a domain.tickers.TickerIntervals, the one point-in-time resolver.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from stocksdb.db.cross_sections import CrossSection, read_cross_section
from stocksdb.domain.fundamentals import QuarterVersion, YoyVersion
from stocksdb.domain.identifiers import format_cik
from stocksdb.domain.tickers import Interval, TickerIntervals
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
# The integer columns (int8send) of a record; the others are float8send. A NULL transactions
# count travels as -1.
_WIRE = {"key": ">i8", "volume": ">i8", "transactions": ">i8"}
_PG_EPOCH = np.datetime64("2000-01-01", "D")
_ARRAY_HEADER = 20  # ndim, flags, element type, then size and lower bound of the one dimension


def _send(name: str) -> str:
    """The binary send of a column (or of "key"), as bytes of _WIRE's width."""
    value = {"transactions": "coalesce(transactions, -1)", "key": _KEY}.get(name, name)
    return f"{'int8send' if name in _WIRE else 'float8send'}({value})"


def decode_array(buf: bytes | None, wire: str) -> np.ndarray[Any, Any]:
    """Values of a 1-D binary array (each element is an int32 length, then the value); None,
    what array_agg gives for no rows, is empty."""
    n = 0 if buf is None else int.from_bytes(buf[12:16], "big")   # the size of dimension 1
    if not n or buf is None:
        return np.empty(0, dtype=np.dtype(wire).newbyteorder("="))
    element = np.dtype([("length", ">i4"), ("value", wire)])
    values = np.frombuffer(buf, dtype=element, count=n, offset=_ARRAY_HEADER)["value"]
    return values.astype(np.dtype(wire).newbyteorder("="))


class _IdFilter:
    """How a read keeps the rows of some securities.

    Few ids are joined, not tested with `= ANY(array)`: the planner counts an unnested array
    but estimates `= ANY` element by element (~6 ms for 10,000 ids, more than the read). Ids
    that are at least half of the securities are not sent at all: reading every security's
    rows and dropping the others in numpy costs less than any join (a date's cross-section).
    """

    def __init__(self, conn: psycopg.Connection[Any], security_ids: Any,
                 securities: int | None = None) -> None:
        self.kept: np.ndarray[Any, Any] | None = None
        self.join: sql.Composable = sql.SQL("")
        self.params: dict[str, Any] = {}
        # The read takes every security's rows (with `kept`, then drops the others).
        self.every = security_ids is None
        if security_ids is None:
            return
        ids = np.asarray(security_ids, dtype=np.int64)
        if not (ids[1:] > ids[:-1]).all():
            ids = np.unique(ids)
        if len(ids) <= PREPARED_IDS:
            # A parameter: the statement's text is the same for any few securities, so the
            # server plans it once per connection (planning 5 partitions cost ~1 ms a read).
            self.params = {"ids": id_array(ids)}
            self.join = sql.SQL(" JOIN unnest(%(ids)s::bigint[]) AS wanted(security_id) USING "
                                "(security_id)")
            return
        if len(ids) > MANY_IDS:
            if securities is None:
                row = conn.execute("SELECT count(*) FROM stocks_research.securities").fetchone()
                securities = int(row[0]) if row else 0
            if 2 * len(ids) >= securities:
                self.kept, self.every = ids, True
                return
        self.join = sql.SQL(" JOIN unnest({}::bigint[]) AS wanted(security_id) USING "
                            "(security_id)").format(sql.Literal(id_array(ids)))

    @classmethod
    def of_figis(cls, figis: Sequence[str]) -> _IdFilter:
        """The securities of a few composite FIGIs, found in the statement itself."""
        found = cls.__new__(cls)
        found.kept, found.params, found.every = None, {"figis": list(figis)}, False
        found.join = sql.SQL(" JOIN (SELECT security_id FROM stocks_research.securities WHERE "
                             "{}) AS wanted USING (security_id)").format(
            figis_match(len(figis) == 1))
        return found

    def hits(self, ids: np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
        """Which of `ids` were asked for (None: all of them)."""
        if self.kept is None or np.array_equal(self.kept, ids):
            return None
        hit = self.kept[np.minimum(np.searchsorted(self.kept, ids), len(self.kept) - 1)] == ids
        return None if hit.all() else hit

    def apply(self, columns: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
        """`columns` without the rows of the securities not asked for."""
        hit = None if self.kept is None else self.hits(_key_ids(columns["key"]))
        return columns if hit is None else {name: v[hit] for name, v in columns.items()}


def figis_match(one: bool) -> sql.SQL:
    """securities' rows whose composite_figi is one of the parameter %(figis)s (a text[]: of
    `one` FIGI, or more). One FIGI is matched by `=`: the planner estimates an array parameter at
    ten elements, so for `= ANY` a generic plan looks ten times dearer than a custom one and
    every read of a security's history would be planned anew (~1.3 ms, five partitions of two
    tables); matched by `=`, the one plan made for the statement serves every FIGI."""
    if one:
        return sql.SQL("composite_figi = (%(figis)s::text[])[1]")
    return sql.SQL("composite_figi = ANY(%(figis)s::text[])")


# Above this many ids a read asks whether they are half the securities (see _IdFilter).
MANY_IDS = 1_000
# Up to this many ids a read is a prepared statement, its ids and dates parameters: a plan
# that probes the key per security suits them all.
PREPARED_IDS = 64


# (security_id, trade_date) as one int64 that sorts like the pair: one aggregate, not two. The
# low _DATE_BITS hold the day (days since 2000-01-01, offset to be positive), the rest the id.
_DATE_BITS = 23
_KEY = (f"security_id * {1 << _DATE_BITS} "
        f"+ (trade_date - DATE '2000-01-01' + {1 << (_DATE_BITS - 1)})")


def _key_ids(keys: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The security_id of each _KEY."""
    return keys >> _DATE_BITS


@dataclass(frozen=True)
class _Read:
    """Columns of one table to read as arrays (see _read_columns)."""

    table: str
    columns: Sequence[str]
    where: Sequence[sql.Composable]
    extra: Mapping[str, sql.Composable] = field(default_factory=dict)

    def query(self, ids: _IdFilter) -> sql.Composed:
        # Each row's values as one record of bytes, the records of all rows as one bytea, and
        # their count: a value sent as an array element costs the server half as much again
        # (its length word and array_agg's bookkeeping; 5.8 ms against 3.9 for a date's
        # 10,000 bars). Every value is NOT NULL (a NULL would lose its record: the count
        # tells). No ORDER BY: numpy sorts faster than PostgreSQL does (_in_key_order).
        return sql.SQL("SELECT count(*), string_agg({}, ''::bytea) FROM {}{} WHERE {}").format(
            sql.SQL(" || ").join([*(sql.SQL(_send(c)) for c in ("key", *self.columns)),
                                  *(sql.SQL("int8send(({})::bigint)").format(e)
                                    for e in self.extra.values())]),
            sql.Identifier("stocks_research", self.table), ids.join,
            sql.SQL(" AND ").join(self.where or [sql.SQL("TRUE")]))

    def decode(self, row: Sequence[Any], ids: _IdFilter) -> dict[str, np.ndarray[Any, Any]]:
        record = np.dtype([("key", ">i8"), *((c, _WIRE.get(c, ">f8")) for c in self.columns),
                           *((name, ">i8") for name in self.extra)])
        count, buf = int(row[0]), row[1] or b""
        if len(buf) != count * record.itemsize:
            raise DatabaseStateError(
                f"{self.table}: {len(buf)} bytes for {count} rows of {record.itemsize}; a "
                f"value read is NULL (columns {list(self.columns)}, {list(self.extra)})")
        records = np.frombuffer(buf, dtype=record, count=count)
        read = {name: records[name].astype(record[name].newbyteorder("="))
                for name in record.names or ()}
        return _in_key_order(ids.apply(read))


def _read_columns(conn: psycopg.Connection[Any], table: str, columns: Sequence[str],
                  where: Sequence[sql.Composable], ids: _IdFilter, *,
                  extra: Mapping[str, sql.Composable] | None = None,
                  bounds: Mapping[str, Any] | None = None
                  ) -> dict[str, np.ndarray[Any, Any]]:
    """"key" (see _KEY) and `columns` of the rows of `table` matching `where` and `ids`, in
    key order, read as one bytea of binary records (see _Read.query); `extra`: name -> a
    bigint expression over the row, read as an int64 array. With few `ids` (a parameter
    then), `where` may name the parameters of `bounds` (%(name)s); else it holds literals
    only."""
    return _read_all(conn, [_Read(table, columns, where, extra or {})], ids, bounds)[0]


def _read_all(conn: psycopg.Connection[Any], reads: Sequence[_Read], ids: _IdFilter,
              bounds: Mapping[str, Any] | None = None) -> list[dict[str, np.ndarray[Any, Any]]]:
    """Each of `reads` (as _read_columns), in one statement."""
    return _read_with(conn, None, reads, ids, bounds)[1]


def _read_with(conn: psycopg.Connection[Any], head: tuple[sql.Composable, int] | None,
               reads: Sequence[_Read], ids: _IdFilter, bounds: Mapping[str, Any] | None = None,
               *, shape: Hashable | None = None
               ) -> tuple[tuple[Any, ...], list[dict[str, np.ndarray[Any, Any]]]]:
    """`head` (a one-row statement and its width; its row comes back as it is) and each of
    `reads`, in one statement. `shape`: all that the statement's text depends on, when the
    caller knows it (its text is then composed once, not at every read)."""
    query = _STATEMENTS.get(shape) if shape is not None else None
    if query is None:
        queries = [*([head[0]] if head else []), *(r.query(ids) for r in reads)]
        composed = queries[0] if len(queries) == 1 else sql.SQL("SELECT * FROM {}").format(
            sql.SQL(", ").join(sql.SQL("({}) {}").format(q, sql.Identifier(f"r{i}"))
                               for i, q in enumerate(queries)))
        query = composed.as_bytes(conn)
        if shape is not None:
            _STATEMENTS[shape] = query
    params = {**ids.params, **(bounds or {})} if ids.params else None
    with conn.cursor(binary=True) as cur:
        row = cur.execute(query, params, prepare=params is not None).fetchone()
    assert row is not None
    at = head[1] if head else 0
    out: list[dict[str, np.ndarray[Any, Any]]] = []
    for r in reads:   # two columns each: the count of rows, their records
        out.append(r.decode(row[at:at + 2], ids))
        at += 2
    return tuple(row[:head[1]]) if head else (), out


# Statements by shape (see _read_with): composing one costs ~0.2 ms, a security's history
# about 3 ms all told.
_STATEMENTS: dict[Hashable, bytes] = {}


def _in_key_order(columns: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
    keys = columns["key"]
    if (keys[1:] > keys[:-1]).all():
        return columns
    order = np.argsort(keys, kind="stable")
    return {name: values[order] for name, values in columns.items()}


def _split_key(columns: dict[str, np.ndarray[Any, Any]], names: Sequence[str]
               ) -> dict[str, np.ndarray[Any, Any]]:
    """security_id and trade_date (datetime64[D]) from "key", then `names` of `columns`."""
    keys = columns["key"]
    days = (keys & ((1 << _DATE_BITS) - 1)) - (1 << (_DATE_BITS - 1))
    return {"security_id": _key_ids(keys), "trade_date": _PG_EPOCH + days.astype("timedelta64[D]"),
            **{name: columns[name] for name in names}}


def _with_factors(bars: dict[str, np.ndarray[Any, Any]],
                  factors: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
    """The bars that have a factor row, each with its FACTOR_COLUMNS (both in key order)."""
    bar_keys, factor_keys = bars["key"], factors["key"]
    if np.array_equal(bar_keys, factor_keys):   # a factor for every bar (the usual case)
        return {**bars, **{c: factors[c] for c in FACTOR_COLUMNS}}
    at = np.searchsorted(factor_keys, bar_keys)
    hit = at < len(factor_keys)
    hit[hit] = factor_keys[at[hit]] == bar_keys[hit]
    return {**{c: v[hit] for c, v in bars.items()},
            **{c: factors[c][at[hit]] for c in FACTOR_COLUMNS}}


def read_closes(conn: psycopg.Connection[Any], security_ids: list[int], start: date,
                end: date) -> pd.DataFrame:
    """security_id, trade_date (datetime64) and close of the bars of `security_ids` from
    `start` to `end`, in key order: the columnar read of three columns only."""
    where = [sql.SQL("trade_date >= {}").format(sql.Literal(start)),
             sql.SQL("trade_date <= {}").format(sql.Literal(end))]
    read = _read_columns(conn, "prices_daily", ("close",), where, _IdFilter(conn, security_ids))
    return pd.DataFrame(_split_key(read, ("close",)))


def read_prices_daily(conn: psycopg.Connection[Any], *, security_ids: list[int] | None = None,
                      trade_date: date | None = None, start: date | None = None,
                      end: date | None = None, method: str | None = None) -> pd.DataFrame:
    """Raw bars as a DataFrame (PRICE_COLUMNS), filtered by ids and/or dates, in key order.

    With `method`, only the bars that have an adjustment factor of that method, with its
    FACTOR_COLUMNS appended (prices stay raw; stocksdb.api multiplies).
    The rows come back as one bytea of binary records decoded by numpy, with no Python object
    per value (or from the date's copy in cross_sections; docs/performance.md).
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
                       end: date | None = None, method: str | None = None,
                       columns: Sequence[str] = PRICE_COLUMNS,
                       securities: int | None = None,
                       copy: CrossSection | None = None) -> dict[str, np.ndarray[Any, Any]]:
    """read_prices_daily as numpy arrays, one per column of `columns` (security_id and
    trade_date always first), before any DataFrame is built: trade_date as datetime64[D], a
    NULL transactions count as -1. `securities`: the number of rows of securities, when the
    caller knows it; `copy`: the copy of the date asked for (cross_sections.read_cross_section
    for `method` and `columns`), when the caller has read it."""
    ids = _IdFilter(conn, security_ids, securities)
    values = [c for c in columns if c not in ("security_id", "trade_date")]
    day = one_day(trade_date=trade_date, start=start, end=end)
    if day is not None and ids.every:   # a date's cross-section: its copy, if it has one
        if copy is None:
            copy = read_cross_section(conn, day, method, transactions="transactions" in values)
        if copy is not None:
            return _from_copy(copy, day, values, ids)
    reads, bounds, values = _price_reads(ids, trade_date=trade_date, start=start, end=end,
                                         method=method, columns=columns)
    if len(reads) == 1 or ids.params:   # few securities: one statement, one round trip
        found = _read_all(conn, reads, ids, bounds)
    else:   # the bars' arrays are gone before the factors' come
        found = [_read_all(conn, [r], ids, bounds)[0] for r in reads]
    return _price_columns(found, values)


def one_day(*, trade_date: date | None, start: date | None, end: date | None) -> date | None:
    """The one date a read asks for (trade_date alone, or start and end the same), else None."""
    if trade_date is None:
        return start if start is not None and start == end else None
    return trade_date if start is None and end is None else None


def _from_copy(copy: CrossSection, day: date, values: Sequence[str],
               asked: _IdFilter) -> dict[str, np.ndarray[Any, Any]]:
    """read_price_columns' arrays from a date's copy: its bars that have a factor (when read
    for a method) and were `asked` for."""
    ids = copy.bars["security_id"]
    keep, hit = copy.with_factor(), asked.hits(ids)
    if hit is not None:
        keep = hit if keep is None else keep & hit
    columns = {"security_id": ids, **{name: copy.bars[name] for name in values},
               **({} if copy.factors is None else
                  {name: copy.factors[name] for name in FACTOR_COLUMNS})}
    if keep is not None:
        columns = {name: v[keep] for name, v in columns.items()}
    sids = columns.pop("security_id")
    return {"security_id": sids, "trade_date": np.full(len(sids), np.datetime64(day, "D")),
            **columns}


def read_cross_section_rows(conn: psycopg.Connection[Any], day: date, methods: Sequence[str]
                            ) -> tuple[dict[str, np.ndarray[Any, Any]],
                                       dict[str, dict[str, np.ndarray[Any, Any]]]]:
    """A date's bars (security_id and every value column, a NULL transactions count as -1)
    and each method's factors (security_id and FACTOR_COLUMNS), read from the rows in one
    statement: what db.cross_sections packs into a copy."""
    on = sql.SQL("trade_date = {}").format(sql.Literal(day))
    reads = [_Read("prices_daily", PRICE_COLUMNS[2:], [on]),
             *(_Read("adjustment_factors_daily", FACTOR_COLUMNS,
                     [on, sql.SQL("method = {}").format(sql.Literal(m))]) for m in methods)]
    found = _read_all(conn, reads, _IdFilter(conn, None))
    out = [{"security_id": _key_ids(f["key"]), **{n: v for n, v in f.items() if n != "key"}}
           for f in found]
    return out[0], dict(zip(methods, out[1:], strict=True))


def read_price_columns_with(conn: psycopg.Connection[Any], head: tuple[str, int],
                            figis: Sequence[str], *, start: date | None = None,
                            end: date | None = None, method: str | None = None,
                            columns: Sequence[str] = PRICE_COLUMNS
                            ) -> tuple[tuple[Any, ...], dict[str, np.ndarray[Any, Any]]]:
    """read_price_columns of the securities of a few composite FIGIs (at most PREPARED_IDS),
    in one prepared statement with `head` (the text of a one-row statement of `figis`, as the
    parameter %(figis)s, and its width): head's row, and the columns."""
    assert len(figis) <= PREPARED_IDS
    ids = _IdFilter.of_figis(figis)
    reads, bounds, values = _price_reads(ids, trade_date=None, start=start, end=end,
                                         method=method, columns=columns)
    # Every value is a parameter: the text depends on these only.
    shape = (head, len(figis) == 1, tuple(bounds), tuple(columns))
    row, found = _read_with(conn, (sql.SQL(head[0]), head[1]), reads, ids, bounds, shape=shape)
    return row, _price_columns(found, values)


def _price_reads(ids: _IdFilter, *, trade_date: date | None, start: date | None,
                 end: date | None, method: str | None, columns: Sequence[str]
                 ) -> tuple[list[_Read], dict[str, Any], list[str]]:
    """The reads of read_price_columns (the bars, then the factors of `method`), their
    parameters (with few ids) and the value columns."""
    bounds = {name: value for name, value in (("trade_date", trade_date), ("start", start),
                                              ("end", end), ("method", method))
              if value is not None}
    where = [sql.SQL(clause).format(sql.Placeholder(name) if ids.params else
                                    sql.Literal(bounds[name]))
             for clause, name in (("trade_date = {}", "trade_date"), ("trade_date >= {}", "start"),
                                  ("trade_date <= {}", "end")) if name in bounds]
    values = [c for c in columns if c not in ("security_id", "trade_date")]
    reads = [_Read("prices_daily", values, where)]
    if method is not None:
        # Two reads aligned in numpy: joining in SQL probes the factor index once per bar
        # (1.4 s against 0.6 s for 500 securities' year).
        by_method = sql.SQL("method = {}").format(
            sql.Placeholder("method") if ids.params else sql.Literal(method))
        reads.append(_Read("adjustment_factors_daily", FACTOR_COLUMNS, [*where, by_method]))
    return reads, bounds, values


def _price_columns(found: list[dict[str, np.ndarray[Any, Any]]], values: list[str]
                   ) -> dict[str, np.ndarray[Any, Any]]:
    if len(found) == 1:
        return _split_key(found[0], values)
    return _split_key(_with_factors(found[0], found[1]), [*values, *FACTOR_COLUMNS])


def read_session_bars(conn: psycopg.Connection[Any], session: date, *,
                      source: str) -> dict[str, np.ndarray[Any, Any]]:
    """The bars stored for `session` in security_id order, in one query: security_id, open,
    high, low, close, volume, transactions (-1 where NULL, or where the bar is another
    source's) and `same_source` (1 where the bar's source is `source`, else 0), each an array
    decoded by numpy."""
    columns = ("open", "high", "low", "close", "volume")
    # One value carries both the count and the source (-2: another source's bar): each value
    # sent costs the server about as much as the scan of its row.
    read = _read_columns(conn, "prices_daily", columns,
                         [sql.SQL("trade_date = {}").format(sql.Literal(session))],
                         _IdFilter(conn, None),
                         extra={"counted": sql.SQL(
                             "CASE WHEN source = {} THEN coalesce(transactions, -1) ELSE -2 "
                             "END").format(sql.Literal(source))})
    counted = read["counted"]
    same = counted != -2
    return {"security_id": _key_ids(read["key"]), **{c: read[c] for c in columns},
            "transactions": np.where(same, counted, -1),
            "same_source": same.astype(np.int32)}


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
