"""The research API: DataFrames of prices, raw or adjusted, by symbol or FIGI.

Reads: securities, ticker_history, prices_daily, adjustment_factors_daily.
A symbol resolves point in time: to the security that held it on `as_of` (default: `end`, or
today), or, if none did, the last one that held it before. That security's whole history in the
range comes back, under whatever tickers it had, so a renamed security is not cut in two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
import psycopg

from stocksdb.db.queries import read_ticker_intervals
from stocksdb.errors import InputError

COLUMNS = ("symbol", "ticker", "composite_figi", "security_id", "trade_date", "open", "high",
           "low", "close", "volume", "price_factor", "volume_factor")

_BARS = """
SELECT s.composite_figi, p.security_id, p.trade_date,
       th.ticker, p.open * f.pf AS open, p.high * f.pf AS high, p.low * f.pf AS low,
       p.close * f.pf AS close, p.volume * f.vf AS volume, f.pf AS price_factor,
       f.vf AS volume_factor
  FROM stocks_research.prices_daily p
  JOIN stocks_research.securities s ON s.security_id = p.security_id
  LEFT JOIN stocks_research.ticker_history th
    ON th.security_id = p.security_id AND th.valid_from <= p.trade_date
   AND (th.valid_to IS NULL OR p.trade_date < th.valid_to)
  {factor_join}
 WHERE p.security_id = ANY(%(ids)s)
   AND p.trade_date >= %(start)s AND p.trade_date <= %(end)s
 ORDER BY p.security_id, p.trade_date
"""
_RAW = "CROSS JOIN LATERAL (SELECT 1.0::float8 AS pf, 1.0::float8 AS vf) f"
_ADJUSTED = ("JOIN LATERAL (SELECT a.price_factor AS pf, a.volume_factor AS vf FROM "
             "stocks_research.adjustment_factors_daily a WHERE a.security_id = p.security_id "
             "AND a.trade_date = p.trade_date AND a.method = %(method)s) f ON true")


def resolve_symbols(conn: psycopg.Connection[Any], symbols: Sequence[str],
                    as_of: date) -> dict[str, int]:
    """symbol -> security_id point in time (see module docstring).

    Raises:
        InputError: a symbol no security held on or before `as_of`.
    """
    wanted = [s.strip().upper() for s in symbols]
    intervals = read_ticker_intervals(conn, tickers=wanted)
    held = {s: intervals.last_holder(s, as_of) for s in wanted}
    found = {s: sid for s, sid in held.items() if sid is not None}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise InputError(f"symbol(s) {missing} named no security on or before {as_of}; check "
                         "the spelling or pass --as-of")
    return {s: int(found[s]) for s in wanted}


def _figi_ids(conn: psycopg.Connection[Any], figis: Sequence[str]) -> dict[str, int]:
    rows = dict(conn.execute("SELECT composite_figi, security_id FROM stocks_research.securities "
                             "WHERE composite_figi = ANY(%s)", (list(figis),)).fetchall())
    missing = [f for f in figis if f not in rows]
    if missing:
        raise InputError(f"composite FIGI(s) {missing} are not in securities")
    return {f: int(rows[f]) for f in figis}


def read_prices_frame(conn: psycopg.Connection[Any], *, symbols: Sequence[str] | None = None,
                      figis: Sequence[str] | None = None, start: date | None = None,
                      end: date | None = None, adjusted: bool = True,
                      method: str | None = None, as_of: date | None = None) -> pd.DataFrame:
    """Daily bars (COLUMNS) for symbols or composite FIGIs over start..end inclusive.

    Raises:
        InputError: neither or both of symbols/figis, unknown names, or no factors stored for
            the method when adjusted.
    """
    if (symbols is None) == (figis is None):
        raise InputError("pass exactly one of symbols=... or figis=...")
    start, end = start or date(1900, 1, 1), end or date.today()
    keys = resolve_symbols(conn, symbols, as_of or end) if symbols is not None \
        else _figi_ids(conn, figis or [])
    method = method or "crsp"
    if adjusted:
        _require_factors(conn, method)
    query = _BARS.format(factor_join=_ADJUSTED if adjusted else _RAW)
    rows = conn.execute(query, {"ids": list(keys.values()), "start": start, "end": end,
                                "method": method}).fetchall()
    names = ["composite_figi", "security_id", "trade_date", "ticker", "open", "high", "low",
             "close", "volume", "price_factor", "volume_factor"]
    frame = pd.DataFrame(rows, columns=names)
    by_id = {sid: key for key, sid in keys.items()}
    frame.insert(0, "symbol", frame["security_id"].map(by_id))
    return frame.loc[:, list(COLUMNS)]


def _require_factors(conn: psycopg.Connection[Any], method: str) -> None:
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM stocks_research.adjustment_factors_daily "
                       "WHERE method = %s)", (method,)).fetchone()
    if not (row and row[0]):
        raise InputError(f"no adjustment factors stored for method {method!r}; run "
                         f"`stocksdb run adjustment_factors_daily --method {method}` or pass "
                         "adjusted=False")


def read_fundamentals_frame(conn: psycopg.Connection[Any], *, symbols: Sequence[str],
                            as_of: date | None = None) -> pd.DataFrame:
    """Quarterly revenue and diluted EPS with YoY, as known on `as_of` (default: today), for
    symbols resolved point in time on that date.

    Raises:
        InputError: a symbol no security held on or before `as_of`.
    """
    from dataclasses import asdict

    from stocksdb.jobs.fundamentals import read_fundamentals

    day = as_of or date.today()
    keys = resolve_symbols(conn, symbols, day)
    by_id = {sid: key for key, sid in keys.items()}
    rows = []
    for r in read_fundamentals(conn, list(keys.values()), as_of=day):
        yoy = asdict(r.yoy) if r.yoy else {}
        rows.append({"symbol": by_id.get(r.security_id), "security_id": r.security_id,
                     **asdict(r.quarter), "revenue_yoy": yoy.get("revenue_yoy"),
                     "eps_diluted_yoy": yoy.get("eps_diluted_yoy")})
    return pd.DataFrame(rows)
