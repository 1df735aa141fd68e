"""Names of securities as arrays, for reads of many securities at once.

Reads: stocks_research.securities, ticker_history, names_changed (every security's names are
kept per database while it stays the same).
Out: `SecurityNames` (the composite FIGIs and ticker intervals of some or all securities, as
numpy arrays) and the security_id of composite FIGIs, with no Python object per security or
interval. Stored FIGIs and tickers hold no newline (both are validated on the way in), so a
column of them travels as one newline-joined text.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql

from stocksdb.db.cross_sections import NAMES_CHANGED
from stocksdb.db.queries import (
    PREPARED_IDS,
    PRICE_COLUMNS,
    decode_array,
    figis_match,
    id_array,
    read_price_columns_with,
)
from stocksdb.domain.tickers import DAY_BITS, OPEN_ORDINAL, TickerSpans
from stocksdb.errors import DatabaseStateError


@dataclass(frozen=True)
class SecurityNames:
    """Composite FIGIs and ticker intervals of `security_ids` (sorted, distinct); `complete`
    when they are every security of `securities`."""

    security_ids: np.ndarray[Any, Any]
    figis: np.ndarray[Any, Any]     # object: the composite FIGI of each security_id
    spans: TickerSpans
    complete: bool

    def figi_ids(self, figis: Sequence[str]) -> np.ndarray[Any, Any]:
        """The security_id of each of `figis` (int64, read-only; -1 where none of these
        securities).

        The answer for the last FIGI list asked is kept: a list equal to it (a universe read
        date after date) is compared in order, which costs a tenth of looking 10,000 FIGIs up.
        """
        asked = figis if isinstance(figis, list) else list(figis)
        last = self._last_ids.get("last")
        if last is not None and last[0] == asked:   # lists of other lengths differ at once
            return last[1]
        lookup = self._by_figi
        ids = np.fromiter(map(lookup.get, asked, itertools.repeat(-1)), np.int64, len(asked))
        ids.setflags(write=False)
        self._last_ids["last"] = (list(asked), ids)   # one assignment: safe across threads
        return ids

    @cached_property
    def _last_ids(self) -> dict[str, tuple[list[str], np.ndarray[Any, Any]]]:
        return {}

    @cached_property
    def figis_arrow(self) -> pa.StringArray:
        """`figis` as an Arrow string array."""
        return pa.array(self.figis.tolist(), type=pa.string())

    @cached_property
    def tickers_arrow(self) -> pa.StringArray:
        """The tickers of `spans` (spans.tickers) as an Arrow string array."""
        return pa.array(self.spans.tickers.tolist(), type=pa.string())

    def tickers_on(self, security_ids: np.ndarray[Any, Any], days: np.ndarray[Any, Any]
                   ) -> pa.StringArray:
        """spans.tickers_of as Arrow strings (null where none), with no Python str each."""
        at, hit = self.spans.ticker_positions(security_ids, days)
        return self.tickers_arrow.take(pa.array(at, mask=~hit))

    @cached_property
    def _by_figi(self) -> dict[str, int]:
        return dict(zip(self.figis.tolist(), self.security_ids.tolist(), strict=True))


_NAMES = """
WITH chosen AS (SELECT security_id, composite_figi FROM stocks_research.securities{chosen})
SELECT *
  FROM (SELECT array_send(array_agg(security_id)), string_agg(composite_figi, E'\n')
          FROM chosen) f,
       (SELECT array_send(array_agg(security_id * {day_keys}
                                    + (valid_from - DATE '0001-01-01' + 1))),
               array_send(array_agg(coalesce(valid_to - DATE '0001-01-01' + 1, {open}))),
               string_agg(ticker, E'\n')
          FROM stocks_research.ticker_history{tickers}) t{changed}
"""
# Every security's names, per database (host, port, name): when names_changed said so, and
# the names then.
_EVERYONE: dict[tuple[Any, ...], tuple[Any, SecurityNames]] = {}


def read_security_names(conn: psycopg.Connection[Any], *,
                        security_ids: np.ndarray[Any, Any] | None = None,
                        figis: Sequence[str] | None = None,
                        names_changed: tuple[Any] | None = None) -> SecurityNames:
    """The names of the securities of `security_ids` (distinct) or of composite FIGIs `figis`
    (those that name one), or of every security, in one round trip; none for every security
    when `names_changed` (names_changed.changed_at, read by the caller's last statement) says
    the names kept are still those.

    Raises:
        DatabaseStateError: an id that is not in securities (a bar naming no security).
    """
    chosen: sql.Composable = sql.SQL("")
    params: dict[str, Any] | None = None
    if security_ids is not None and len(security_ids) <= PREPARED_IDS:
        # Few names: the statement's text is the same each time, planned once (queries.py)
        params = {"ids": id_array(security_ids)}
        chosen = sql.SQL(" JOIN unnest(%(ids)s::bigint[]) AS wanted(security_id) USING "
                         "(security_id)")
    elif security_ids is not None:
        chosen = sql.SQL(" JOIN unnest({}::bigint[]) AS wanted(security_id) USING "
                         "(security_id)").format(sql.Literal(id_array(security_ids)))
    elif figis is not None and len(figis) <= PREPARED_IDS:
        params = {"figis": list(figis)}
        chosen = sql.SQL(" WHERE {}").format(figis_match(len(figis) == 1))
    elif figis is not None:
        chosen = sql.SQL(" WHERE composite_figi IN (SELECT unnest({}))").format(
            _text_array(figis))
    everyone = security_ids is None and figis is None
    if everyone:
        return _every_name(conn, names_changed)
    query = _names_query(chosen, everyone=everyone)
    with conn.cursor(binary=True) as cur:
        row = cur.execute(query, params, prepare=params is not None).fetchone()
    assert row is not None
    names = _names(row, everyone)
    if security_ids is not None and len(names.security_ids) != len(security_ids):
        raise DatabaseStateError(f"securities holds {len(names.security_ids)} of the "
                                 f"{len(security_ids)} security ids of the bars read; a bar "
                                 "names no security")
    return names


def kept_securities(conn: psycopg.Connection[Any]) -> float:
    """How many securities the names kept for this database hold (they may be out of date),
    with no query; infinity when none are kept."""
    kept = _EVERYONE.get(_database(conn))
    return math.inf if kept is None else len(kept[1].security_ids)


def _database(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    """The key of _EVERYONE: the database's host, port and name."""
    info = conn.info
    return info.host, info.port, info.dbname


def _every_name(conn: psycopg.Connection[Any], seen: tuple[Any] | None) -> SecurityNames:
    """Every security's names: those this process read last from this database while
    names_changed has not moved since (`seen`, or one small query), else read with the moment
    it says."""
    where = _database(conn)
    kept = _EVERYONE.get(where)
    if kept is not None:
        row = seen or conn.execute(NAMES_CHANGED).fetchone()
        if row is not None and row[0] == kept[0]:
            return kept[1]
    with conn.cursor(binary=True) as cur:
        row = cur.execute(_names_query(sql.SQL(""), everyone=True)).fetchone()
    assert row is not None
    names = _names(row, everyone=True)
    names.security_ids.setflags(write=False)   # shared by every later read: never changed
    names.figis.setflags(write=False)
    _EVERYONE[where] = (row[_NAMES_WIDTH], names)
    return names


def _names_query(chosen: sql.Composable, *, everyone: bool) -> sql.Composed:
    return sql.SQL(_NAMES).format(
        chosen=chosen, open=sql.Literal(OPEN_ORDINAL), day_keys=sql.Literal(1 << DAY_BITS),
        tickers=sql.SQL("" if everyone else " JOIN chosen USING (security_id)"),
        changed=sql.SQL(f", ({NAMES_CHANGED}) c" if everyone else ""))


_NAMES_WIDTH = 5   # the columns of a row of _NAMES


def read_names_and_prices(conn: psycopg.Connection[Any], figis: Sequence[str], *,
                          start: date | None = None, end: date | None = None,
                          method: str | None = None, columns: Sequence[str] = PRICE_COLUMNS
                          ) -> tuple[SecurityNames, dict[str, np.ndarray[Any, Any]]]:
    """The names of a few composite FIGIs' securities (at most PREPARED_IDS; those that name
    one) and their price columns (queries.read_price_columns), in one round trip: a
    security's history by FIGI in one prepared statement."""
    row, bars = read_price_columns_with(conn, (_figis_head(len(figis) == 1), _NAMES_WIDTH),
                                        figis, start=start, end=end, method=method,
                                        columns=columns)
    return _names(row, everyone=False), bars


@functools.cache
def _figis_head(one: bool) -> str:
    """The text of _NAMES for the FIGIs of the parameter %(figis)s (one of them, or more)."""
    return _names_query(sql.SQL(" WHERE {}").format(figis_match(one)),
                        everyone=False).as_string()


def _names(row: tuple[Any, ...], everyone: bool) -> SecurityNames:
    """SecurityNames from a row of _NAMES: ticker intervals keyed as TickerSpans keys them,
    (security_id, valid_from) in one int64."""
    sids = decode_array(row[0], ">i8")
    order = np.argsort(sids, kind="stable")
    figis = np.array(row[1].split("\n") if len(sids) else [], dtype=object)[order]
    keys = decode_array(row[2], ">i8")
    tickers = np.array(row[4].split("\n") if len(keys) else [], dtype=object)
    by_key = np.argsort(keys, kind="stable")
    if (keys[by_key][1:] == keys[by_key][:-1]).any():
        # Two tickers of one security from one day (the loader refuses it, the table does
        # not): ties go by ticker, as TickerIntervals orders them.
        by_key = np.array(sorted(range(len(keys)), key=lambda i: (keys[i], tickers[i])))
    keys, tickers = keys[by_key], tickers[by_key]
    spans = TickerSpans(keys >> DAY_BITS, keys & ((1 << DAY_BITS) - 1),
                        decode_array(row[3], ">i4")[by_key], tickers)
    return SecurityNames(sids[order], figis, spans, complete=everyone)


def _text_array(values: Sequence[str]) -> sql.Composable:
    """`values` as a text[] expression: one newline-joined text split by the server, which
    psycopg sends as is, where it dumps a list of 10,000 strings one by one (~15 ms)."""
    joined = "\n".join(values)
    if joined and joined.count("\n") == len(values) - 1:
        return sql.SQL("string_to_array({}, E'\\n')").format(sql.Literal(joined))
    # A newline inside a value (never in a FIGI, but it must not split it in two), or [""].
    return sql.SQL("{}::text[]").format(sql.Literal(list(values)))
