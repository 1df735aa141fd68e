"""Checks against the stored trading sessions: trading_sessions' post-gate, and which sessions
the prices_daily coverage checks judge.

Reads: stocks_research.trading_sessions, trading_session_coverage, prices_daily;
       ingestion.source_files, job_runs. Never writes, never raises for bad data.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from stocksdb.db.sessions import (
    DAY_FILE_DATES,
    DAY_FILES,
    LISTED_MISSING_DATES,
    read_known_sessions,
)
from stocksdb.domain.reasons import GateReason
from stocksdb.domain.sessions import DEFAULT_EXCHANGE
from stocksdb.gates.base import Found, GateContext, gate_check

# prices_daily follows the XNYS calendar (domain/sessions.py); its dates are judged against
# the XNYS rows of trading_sessions.
PRICES_EXCHANGE = DEFAULT_EXCHANGE

# Distinct trade dates by a skip scan of prices_daily's trade_date index: one probe per date.
_PRICE_DATES = """
WITH RECURSIVE days AS (
  (SELECT trade_date AS day FROM stocks_research.prices_daily ORDER BY trade_date LIMIT 1)
  UNION ALL
  SELECT (SELECT p.trade_date FROM stocks_research.prices_daily p
           WHERE p.trade_date > days.day ORDER BY p.trade_date LIMIT 1)
    FROM days WHERE days.day IS NOT NULL)
SELECT d.day,
       (SELECT count(*) FROM stocks_research.prices_daily p WHERE p.trade_date = d.day),
       coalesce((SELECT c.covered @> d.day FROM stocks_research.trading_session_coverage c
                  WHERE c.exchange = %(exchange)s), false)
  FROM days d
 WHERE d.day IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM stocks_research.trading_sessions s
                    WHERE s.exchange = %(exchange)s AND s.session_date = d.day)
 ORDER BY 1
"""


@gate_check("prices_daily.dates_are_sessions", GateReason.NOT_A_SESSION)
def price_dates_are_sessions(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """Every date of prices_daily is an XNYS session in trading_sessions: a bar dated a
    holiday or a weekend fails, and so does one dated outside what the table covers."""
    bad = conn.execute(_PRICE_DATES, {"exchange": PRICES_EXCHANGE}).fetchall()
    return Found(len(bad), [(str(day), bars, "not a session" if covered else
                             "not covered by trading_sessions") for day, bars, covered in bad],
                 observed={"exchange": PRICES_EXCHANGE})


_UNFILED = f"""
WITH files AS ({DAY_FILE_DATES}),
     listed AS ({LISTED_MISSING_DATES}),
     span AS (SELECT greatest(min(day), %(lo)s) AS lo, least(max(day), %(hi)s) AS hi
                FROM files HAVING count(*) > 0)
SELECT s.session_date, EXISTS (SELECT 1 FROM listed l WHERE l.day = s.session_date)
  FROM stocks_research.trading_sessions s, span
 WHERE s.exchange = %(exchange)s AND s.session_date BETWEEN span.lo AND span.hi
   AND NOT EXISTS (SELECT 1 FROM files f WHERE f.day = s.session_date)
 ORDER BY 1
"""


@gate_check("trading_sessions.day_files_accounted", GateReason.SESSION_WITHOUT_DAY_FILE)
def sessions_have_day_files(conn: psycopg.Connection[Any], ctx: GateContext) -> Found:
    """Every XNYS session the run stored, between the first and the last day file
    prices_daily loaded, has a day file in ingestion.source_files, or a prices_daily run
    listed it as missing or failed (job_runs.counts missing_dates / failed_dates)."""
    if not ctx.sessions:
        return Found(0, observed={"judged": False})
    rows = conn.execute(_UNFILED, {**DAY_FILES, "exchange": PRICES_EXCHANGE,
                                   "lo": min(ctx.sessions), "hi": max(ctx.sessions)}).fetchall()
    unlisted = [str(day) for day, listed in rows if not listed]
    listed = [str(day) for day, was_listed in rows if was_listed]
    return Found(len(unlisted), unlisted,
                 observed={"listed_missing": len(listed), "listed_examples": listed[:5]})


def judged_sessions(conn: psycopg.Connection[Any],
                    ctx: GateContext) -> tuple[tuple[date, ...], str]:
    """The run's sessions a prices_daily coverage check judges, and where they were checked:
    'trading_sessions' when the table covers the run's span (a date it lists as no session is
    not judged), else 'calendar' (the run's sessions as the calendar gave them)."""
    if not ctx.sessions:
        return (), "calendar"
    lo, hi = min(ctx.sessions), max(ctx.sessions)
    known = read_known_sessions(conn, hi, PRICES_EXCHANGE)
    if known is None or not known.covers(lo, hi):
        return ctx.sessions, "calendar"
    stored = set(known.dates)
    return tuple(d for d in ctx.sessions if d in stored), "trading_sessions"
