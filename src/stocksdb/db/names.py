"""Names of securities as arrays, for reads of many securities at once.

Reads: stocks_research.securities, ticker_history.
Out: `SecurityNames` (the composite FIGIs and ticker intervals of some or all securities, as
numpy arrays) and the security_id of composite FIGIs, with no Python object per security or
interval. Stored FIGIs and tickers hold no newline (both are validated on the way in), so a
column of them travels as one newline-joined text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from stocksdb.db.queries import decode_array, id_array
from stocksdb.domain.tickers import OPEN_ORDINAL, TickerSpans
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
        """The security_id of each of `figis` (int64, -1 where none of these securities)."""
        at = pd.Index(self.figis, dtype=object).get_indexer(np.asarray(figis, dtype=object))
        return np.where(at >= 0, self.security_ids[at], -1)

    def figis_of(self, security_ids: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The composite FIGI of each of `security_ids`, all of them among these."""
        return self.figis[np.searchsorted(self.security_ids, security_ids)]


_NAMES = """
SELECT f.*, t.*
  FROM (SELECT count(*), array_send(array_agg(security_id)), string_agg(composite_figi, E'\\n')
          FROM stocks_research.securities{ids}) f,
       (SELECT count(*), array_send(array_agg(security_id)),
               array_send(array_agg(valid_from - DATE '0001-01-01' + 1)),
               array_send(array_agg(coalesce(valid_to - DATE '0001-01-01' + 1, {open}))),
               string_agg(ticker, E'\\n')
          FROM stocks_research.ticker_history{ids}) t
"""


def read_security_names(conn: psycopg.Connection[Any],
                        security_ids: np.ndarray[Any, Any] | None = None) -> SecurityNames:
    """The names of `security_ids` (distinct), or of every security, in one round trip.

    Raises:
        DatabaseStateError: an id that is not in securities (a bar naming no security).
    """
    ids: sql.Composable = sql.SQL("")
    if security_ids is not None:
        ids = sql.SQL(" JOIN unnest({}::bigint[]) AS wanted(security_id) USING (security_id)"
                      ).format(sql.Literal(id_array(security_ids)))
    query = sql.SQL(_NAMES).format(ids=ids, open=sql.Literal(OPEN_ORDINAL))
    with conn.cursor(binary=True) as cur:
        row = cur.execute(query).fetchone()
    assert row is not None
    if security_ids is not None and row[0] != len(security_ids):
        raise DatabaseStateError(f"securities holds {row[0]} of the {len(security_ids)} "
                                 "security ids of the bars read; a bar names no security")
    sids, order = _sorted(decode_array(row[1], ">i8", row[0]))
    figis = np.array(row[2].split("\n") if row[0] else [], dtype=object)[order]
    n = int(row[3])
    starts = decode_array(row[5], ">i4", n)
    by_security = np.lexsort((starts, decode_array(row[4], ">i8", n)))
    tickers = np.array(row[7].split("\n") if n else [], dtype=object)
    spans = TickerSpans(decode_array(row[4], ">i8", n)[by_security], starts[by_security],
                        decode_array(row[6], ">i4", n)[by_security], tickers[by_security])
    return SecurityNames(sids, figis, spans, complete=security_ids is None)


def _sorted(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    order = np.argsort(values, kind="stable")
    return values[order], order


_FIGI_IDS = """
SELECT count(*), array_send(array_agg(f.at)), array_send(array_agg(s.security_id))
  FROM unnest({figis}) WITH ORDINALITY AS f(composite_figi, at)
  JOIN stocks_research.securities s USING (composite_figi)
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
    assert row is not None
    ids = np.full(len(figis), -1, dtype=np.int64)
    ids[decode_array(row[1], ">i8", row[0]) - 1] = decode_array(row[2], ">i8", row[0])
    return ids
