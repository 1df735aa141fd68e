"""What the quality report shows, read as DataFrames (one function per chart or table).

Reads: stocks_research.securities, ticker_history, prices_daily, corporate_actions,
       adjustment_factors_daily (through stocksdb.api), fundamentals_quarterly(_yoy),
       trading_sessions; ingestion.job_runs, gate_results, rejected_rows, quality_findings.
Out:   plain DataFrames with documented columns; every function returns an empty frame (with
       its columns) when there is nothing to show, never None.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
import psycopg

from stocksdb.errors import InputError

# A security is listed on day d when list_date <= d < delist_date (delist_date is exclusive: the
# sample's last session of a delisted security is the session before it); unknown list or delist
# dates do not bound it.
_LISTED = """
SELECT s.day AS trade_date, count(*) AS listed
  FROM unnest(%(days)s::date[]) AS s(day)
  JOIN stocks_research.securities c
    ON (c.list_date IS NULL OR c.list_date <= s.day)
   AND (c.delist_date IS NULL OR s.day < c.delist_date)
 GROUP BY s.day
"""
_LOADED = """
SELECT trade_date, count(*) AS loaded FROM stocks_research.prices_daily GROUP BY trade_date
"""
_MONTH_EXCHANGE = """
WITH days AS (SELECT unnest(%(days)s::date[]) AS day),
listed AS (
  SELECT date_trunc('month', d.day)::date AS month,
         coalesce(c.primary_exchange, '?') AS exchange, count(*) AS listed
    FROM days d JOIN stocks_research.securities c
      ON (c.list_date IS NULL OR c.list_date <= d.day)
     AND (c.delist_date IS NULL OR d.day < c.delist_date)
   GROUP BY 1, 2),
loaded AS (
  SELECT date_trunc('month', p.trade_date)::date AS month,
         coalesce(c.primary_exchange, '?') AS exchange, count(*) AS loaded
    FROM stocks_research.prices_daily p
    JOIN stocks_research.securities c USING (security_id)
   WHERE p.trade_date = ANY(%(days)s::date[])
   GROUP BY 1, 2)
SELECT month, exchange, coalesce(loaded.loaded, 0) AS loaded, coalesce(listed.listed, 0) AS listed
  FROM listed FULL JOIN loaded USING (month, exchange)
 ORDER BY month, exchange
"""


def read_session_span(conn: psycopg.Connection[Any]) -> tuple[date, date] | None:
    """The first and last trade_date of prices_daily (None when it is empty)."""
    row = conn.execute("SELECT min(trade_date), max(trade_date) "
                       "FROM stocks_research.prices_daily").fetchone()
    return None if row is None or row[0] is None else (row[0], row[1])


def read_sessions(conn: psycopg.Connection[Any], start: date, end: date) -> list[date]:
    """The XNYS sessions start..end: the trading_sessions table where it covers them, else the
    exchange calendar (so a session without any bar still shows, as zero); the dates that have
    bars when the span reaches outside the calendar."""
    from stocksdb.db.sessions import read_known_sessions
    from stocksdb.domain.sessions import sessions_in_range
    from stocksdb.errors import DateOutOfRangeError

    try:
        return sessions_in_range(start, end, known=read_known_sessions(conn, start))
    except DateOutOfRangeError:
        rows = conn.execute("SELECT DISTINCT trade_date FROM stocks_research.prices_daily "
                            "ORDER BY 1").fetchall()
        return [r[0] for r in rows]


def read_coverage(conn: psycopg.Connection[Any], sessions: Sequence[date]) -> pd.DataFrame:
    """trade_date, loaded (bars in prices_daily), listed (securities listed that day), one row
    per session in `sessions`, ascending."""
    days = list(sessions)
    listed = pd.DataFrame(conn.execute(_LISTED, {"days": days}).fetchall(),
                          columns=["trade_date", "listed"])
    loaded = pd.DataFrame(conn.execute(_LOADED).fetchall(), columns=["trade_date", "loaded"])
    frame = pd.DataFrame({"trade_date": days})
    frame = frame.merge(loaded, how="left", on="trade_date").merge(listed, how="left",
                                                                     on="trade_date")
    return frame.fillna(0).astype({"loaded": "int64", "listed": "int64"}).loc[
        :, ["trade_date", "loaded", "listed"]]


def read_coverage_by_month(conn: psycopg.Connection[Any],
                           sessions: Sequence[date]) -> pd.DataFrame:
    """month (its first day), exchange (primary_exchange, '?' when unknown), loaded, listed
    (security-sessions), coverage (loaded / listed; NaN when none was listed)."""
    rows = conn.execute(_MONTH_EXCHANGE, {"days": list(sessions)}).fetchall()
    frame = pd.DataFrame(rows, columns=["month", "exchange", "loaded", "listed"])
    frame["coverage"] = frame["loaded"].astype("float64") / \
        frame["listed"].where(frame["listed"] > 0).astype("float64")
    return frame


_REJECTED = """
SELECT coalesce(trade_date, rejected_at::date) AS day, reason_code, count(*) AS n
  FROM ingestion.rejected_rows GROUP BY 1, 2 ORDER BY 1, 2
"""
_TOP_TICKERS = """
SELECT reason_code, ticker, n FROM (
  SELECT reason_code, coalesce(ticker, '(none)') AS ticker, count(*) AS n,
         row_number() OVER (PARTITION BY reason_code ORDER BY count(*) DESC,
                            coalesce(ticker, '(none)')) AS rank
    FROM ingestion.rejected_rows GROUP BY 1, 2) r
 WHERE rank <= %(top)s ORDER BY reason_code, n DESC, ticker
"""


def read_rejections(conn: psycopg.Connection[Any]) -> pd.DataFrame:
    """day (the row's trade_date, else the day it was rejected), reason_code, n (rows)."""
    return pd.DataFrame(conn.execute(_REJECTED).fetchall(), columns=["day", "reason_code", "n"])


def read_top_rejected_tickers(conn: psycopg.Connection[Any], top: int = 5) -> pd.DataFrame:
    """reason_code, ticker, n: the `top` tickers of each reason by rejected rows."""
    return pd.DataFrame(conn.execute(_TOP_TICKERS, {"top": top}).fetchall(),
                        columns=["reason_code", "ticker", "n"])


_GATES = """
SELECT r.job, r.run_id, r.started_at, g.phase, g.check_name, g.status, g.failed_count
  FROM (SELECT job, run_id, started_at,
               row_number() OVER (PARTITION BY job ORDER BY started_at DESC, run_id DESC) AS k
          FROM ingestion.job_runs) r
  JOIN ingestion.gate_results g USING (run_id)
 WHERE r.k <= %(runs)s ORDER BY r.job, r.started_at, r.run_id, g.phase, g.check_name
"""
# Rows a run wrote: prices_daily counts rows_written; the other jobs inserted/updated/deleted.
_RUNS = """
SELECT run_id, job, status, started_at, coalesce(finished_at, clock_timestamp()) AS ended_at,
       extract(epoch FROM coalesce(finished_at, clock_timestamp()) - started_at) AS seconds,
       coalesce((counts->>'rows_written')::bigint,
                coalesce((counts->>'inserted')::bigint, 0)
                + coalesce((counts->>'updated')::bigint, 0)
                + coalesce((counts->>'deleted')::bigint, 0)) AS rows,
       finished_at IS NULL AS unfinished, error
  FROM ingestion.job_runs ORDER BY started_at DESC, run_id DESC LIMIT %(limit)s
"""


def read_gate_results(conn: psycopg.Connection[Any], runs: int = 10) -> pd.DataFrame:
    """job, run_id, started_at, phase, check_name, status (pass|warn|fail), failed_count of
    the gate checks of each job's last `runs` runs, oldest run first within a job."""
    return pd.DataFrame(conn.execute(_GATES, {"runs": runs}).fetchall(),
                        columns=["job", "run_id", "started_at", "phase", "check_name",
                                 "status", "failed_count"])


def read_job_runs(conn: psycopg.Connection[Any], limit: int = 200) -> pd.DataFrame:
    """run_id, job, status, started_at, ended_at (now while unfinished), seconds, rows,
    unfinished, error of the last `limit` runs, newest first."""
    frame = pd.DataFrame(conn.execute(_RUNS, {"limit": limit}).fetchall(),
                         columns=["run_id", "job", "status", "started_at", "ended_at",
                                  "seconds", "rows", "unfinished", "error"])
    return frame.astype({"seconds": "float64"})


_MOST_TRADED = """
SELECT p.security_id FROM stocks_research.prices_daily p
 GROUP BY p.security_id ORDER BY sum(p.close * p.volume) DESC, p.security_id LIMIT %(n)s
"""
_LAST_TICKER = """
SELECT DISTINCT ON (security_id) security_id, ticker FROM stocks_research.ticker_history
 WHERE security_id = ANY(%(ids)s) ORDER BY security_id, valid_from DESC
"""


def read_most_traded(conn: psycopg.Connection[Any], n: int = 3) -> dict[str, int]:
    """The `n` securities with the most traded value (sum of close x volume over every bar),
    by their latest ticker, most traded first."""
    ids = [int(r[0]) for r in conn.execute(_MOST_TRADED, {"n": n}).fetchall()]
    names = dict(conn.execute(_LAST_TICKER, {"ids": ids}).fetchall())
    return {str(names.get(i, f"#{i}")): i for i in ids}


def resolve_report_symbols(conn: psycopg.Connection[Any], symbols: Sequence[str]) -> dict[str, int]:
    """symbol -> security_id as the research API resolves it today (point in time: the security
    holding it now, else its last holder).

    Raises:
        InputError: a symbol no security ever held.
    """
    from stocksdb.api import resolve_symbols

    found: dict[str, int] = {}
    missing = []
    for symbol in symbols:
        try:
            found.update(resolve_symbols(conn, [symbol], date.today()))
        except InputError:
            missing.append(symbol)
    if missing:
        raise InputError(f"parameter `--symbols`: {missing} named no security in "
                         "ticker_history; check the spelling (`stocksdb prices SYMBOL`)")
    return found


_CLOSES = """
SELECT p.trade_date, p.close, p.close * f.price_factor AS adjusted
  FROM stocks_research.prices_daily p
  LEFT JOIN stocks_research.adjustment_factors_daily f
    ON f.security_id = p.security_id AND f.trade_date = p.trade_date AND f.method = %(method)s
 WHERE p.security_id = %(sid)s ORDER BY p.trade_date
"""
_ACTIONS = """
SELECT ex_date, action_type, split_from, split_to, cash_amount
  FROM stocks_research.corporate_actions WHERE security_id = %(sid)s ORDER BY ex_date, action_id
"""


def read_closes(conn: psycopg.Connection[Any], security_id: int) -> pd.DataFrame:
    """trade_date, close (raw), adjusted (raw x the default method's price factor; NaN where
    no factor is stored) of one security, ascending."""
    from stocksdb.domain.adjustments import DEFAULT_METHOD

    rows = conn.execute(_CLOSES, {"sid": security_id, "method": DEFAULT_METHOD.value})
    frame = pd.DataFrame(rows.fetchall(), columns=["trade_date", "close", "adjusted"])
    return frame.astype({"close": "float64", "adjusted": "float64"})


def read_actions(conn: psycopg.Connection[Any], security_id: int) -> pd.DataFrame:
    """ex_date, action_type, split_from, split_to, cash_amount of one security."""
    return pd.DataFrame(conn.execute(_ACTIONS, {"sid": security_id}).fetchall(),
                        columns=["ex_date", "action_type", "split_from", "split_to",
                                 "cash_amount"])


def read_revenue(conn: psycopg.Connection[Any], security_id: int) -> pd.DataFrame:
    """period_end, fiscal_year, fiscal_quarter, revenue, revenue_yoy (a fraction) of the
    latest filed version of each quarter; empty without fundamentals."""
    from stocksdb.db.queries import read_fundamentals

    rows = [{"period_end": r.quarter.period_end, "fiscal_year": r.quarter.fiscal_year,
             "fiscal_quarter": r.quarter.fiscal_quarter,
             "revenue": None if r.quarter.revenue is None else float(r.quarter.revenue),
             "revenue_yoy": None if r.yoy is None or r.yoy.revenue_yoy is None
             else float(r.yoy.revenue_yoy)}
            for r in read_fundamentals(conn, [security_id])]
    return pd.DataFrame(rows, columns=["period_end", "fiscal_year", "fiscal_quarter", "revenue",
                                       "revenue_yoy"])


_FINDINGS = """
SELECT finding_id, run_id, check_name, reason_code, severity, subject::text AS subject, detail,
       found_at
  FROM ingestion.quality_findings ORDER BY found_at DESC, finding_id DESC
"""


def read_findings(conn: psycopg.Connection[Any]) -> pd.DataFrame:
    """finding_id, run_id, check_name, reason_code, severity, subject (JSON text), detail,
    found_at of every quality finding, newest first."""
    return pd.DataFrame(conn.execute(_FINDINGS).fetchall(),
                        columns=["finding_id", "run_id", "check_name", "reason_code",
                                 "severity", "subject", "detail", "found_at"])
