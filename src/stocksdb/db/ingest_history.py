"""The warehouse's ingest history as inputs of the ingest scoring (foundation/scoring.py).

Reads:  ingestion.job_runs (prices_daily, fundamentals_quarterly_raw), stocks_research.
        prices_daily, fundamentals_quarterly_raw, securities, macro_observations
Out:    a `DimensionResult` per dimension, `RunSnapshot`s of each feed's recent runs, and the
        `IngestQualityReport` of both (`read_ingest_quality`, what `stocksdb quality` prints).

Dimensions (docs/quality.md):
- daily_bars: the last DAILY_BARS_WINDOW XNYS sessions before the as-of day; a session is
  observed when a prices_daily run recorded it ok (job_runs.counts.session_dates); newest
  trade_date against the last of those sessions, one session of lag tolerated.
- fundamentals: securities with raw filings that were still listed in the last
  FUNDAMENTALS_MAX_LAG days; observed when one of them filed in those days; newest filed_date
  against the as-of day, FUNDAMENTALS_MAX_LAG days of lag tolerated.
- macro: skipped (no job loads macro series yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import psycopg

from stocksdb.domain.sessions import last_sessions
from stocksdb.foundation.scoring import (
    DEFAULT_ERROR,
    DEFAULT_WARN,
    DimensionResult,
    IngestQualityReport,
    RunSnapshot,
    detect_feed_anomalies,
    evaluate_ingest_quality,
)

DAILY_BARS_WINDOW = 21        # sessions: about a month
# A day's bars are published the next morning: the last session may be missing for a while.
DAILY_BARS_MAX_LAG = 1        # sessions
# A quarterly filer files at least every four months (10-Q 40-45 days after a quarter, 10-K
# 60-90 days after the year): a filer silent for longer has been missed.
FUNDAMENTALS_MAX_LAG = 120    # days
RUNS_PER_FEED = 11            # the newest run and the 10 before it (the trailing median)
# Runs that ended having tried: 'refused' did nothing (its pre-gate judged the warehouse, not
# the feed); 'running', 'interrupted' and 'abandoned' have no trustworthy counts.
_JUDGED_STATUSES = ("succeeded", "partial", "failed")

_SESSIONS_OK = """
SELECT DISTINCT d::date FROM ingestion.job_runs r,
       jsonb_array_elements_text(coalesce(r.counts -> 'session_dates', '[]'::jsonb)) d
WHERE r.job = 'prices_daily' AND d::date BETWEEN %s AND %s
"""


def read_daily_bars(conn: psycopg.Connection[Any], *, as_of: date) -> DimensionResult:
    """daily_bars: sessions loaded ok over the recent window, newest trade_date."""
    window = last_sessions(DAILY_BARS_WINDOW, as_of - timedelta(days=1))
    ok = {r[0] for r in conn.execute(_SESSIONS_OK, (window[0], window[-1]))}
    latest = conn.execute("SELECT max(trade_date) FROM stocks_research.prices_daily "
                          "WHERE trade_date <= %s", (as_of,)).fetchone()
    missing = [d.isoformat() for d in window if d not in ok]
    return DimensionResult(
        dimension="daily_bars", expected=len(window), observed=len(window) - len(missing),
        unit="sessions", latest=latest[0] if latest else None, expected_latest=window[-1],
        max_lag=DAILY_BARS_MAX_LAG, lag_unit="sessions",
        metadata={"window_start": window[0], "window_end": window[-1],
                  "missing_sessions": missing[:10], "missing_count": len(missing)})


_FILERS = """
SELECT count(*), count(*) FILTER (WHERE last_filed > %(since)s)
FROM (SELECT r.security_id, max(r.filed_date) AS last_filed
      FROM stocks_research.fundamentals_quarterly_raw r
      JOIN stocks_research.securities s USING (security_id)
      WHERE r.filed_date <= %(as_of)s AND (s.delist_date IS NULL OR s.delist_date > %(since)s)
      GROUP BY r.security_id) f
"""


def read_fundamentals(conn: psycopg.Connection[Any], *, as_of: date) -> DimensionResult:
    """fundamentals: listed filers with a recent filing, newest filed_date."""
    since = as_of - timedelta(days=FUNDAMENTALS_MAX_LAG)
    row = conn.execute(_FILERS, {"since": since, "as_of": as_of}).fetchone()
    filers, recent = (int(row[0]), int(row[1])) if row else (0, 0)
    latest = conn.execute("SELECT max(filed_date) FROM stocks_research."
                          "fundamentals_quarterly_raw WHERE filed_date <= %s",
                          (as_of,)).fetchone()
    return DimensionResult(
        dimension="fundamentals", expected=filers, observed=recent, unit="filers",
        latest=latest[0] if latest else None, expected_latest=as_of,
        max_lag=FUNDAMENTALS_MAX_LAG, lag_unit="days", metadata={"filed_since": since})


def read_macro(conn: psycopg.Connection[Any]) -> DimensionResult:
    """macro: not graded until a job loads macro series."""
    row = conn.execute("SELECT count(*) FROM stocks_research.macro_observations").fetchone()
    rows = int(row[0]) if row else 0
    return DimensionResult(
        dimension="macro", skipped="no job loads macro series yet "
        f"(stocks_research.macro_observations holds {rows} rows); not graded",
        metadata={"rows": rows})


def read_dimension_results(conn: psycopg.Connection[Any], *,
                           as_of: date) -> tuple[DimensionResult, ...]:
    """Every dimension of the warehouse as of the day `as_of`."""
    return (read_daily_bars(conn, as_of=as_of), read_fundamentals(conn, as_of=as_of),
            read_macro(conn))


_RUNS = """
SELECT run_id, finished_at, counts FROM ingestion.job_runs
WHERE job = %s AND status = ANY(%s) AND finished_at IS NOT NULL AND NOT (params ? 'symbols')
ORDER BY finished_at DESC, run_id DESC LIMIT %s
"""


def _dates(counts: Mapping[str, Any], *keys: str) -> list[date]:
    out: list[date] = []
    for key in keys:
        value = counts.get(key) or []
        out += [date.fromisoformat(d) for d in value]   # a list, or failed_dates' mapping
    return out


def _bars_snapshot(run_id: int, finished_at: Any, counts: Mapping[str, Any]) -> RunSnapshot:
    """A prices_daily run: bars delivered (written, updated or unchanged) per requested
    session, so a one-day run compares with a backfill."""
    sessions = int(counts.get("sessions") or 0)
    bars = sum(int(counts.get(k) or 0) for k in ("rows_written", "rows_updated",
                                                   "rows_unchanged"))
    ok = _dates(counts, "session_dates")
    asked = ok + _dates(counts, "missing_dates", "failed_dates")
    return RunSnapshot(dimension="daily_bars", finished_at=finished_at, run_id=run_id,
                       rows=bars / sessions if sessions else 0.0,
                       newest=max(ok, default=None), expected_newest=max(asked, default=None))


def read_run_snapshots(conn: psycopg.Connection[Any], *,
                       limit: int = RUNS_PER_FEED) -> tuple[RunSnapshot, ...]:
    """The newest `limit` judged runs of each feed (runs limited by --symbols left out: they
    load a chosen few on purpose)."""
    statuses = list(_JUDGED_STATUSES)
    out = [_bars_snapshot(*row)
           for row in conn.execute(_RUNS, ("prices_daily", statuses, limit))]
    out += [RunSnapshot(dimension="fundamentals", finished_at=at, run_id=run_id,
                        rows=float(counts.get("periods") or 0))
            for run_id, at, counts in conn.execute(_RUNS, ("fundamentals_quarterly_raw",
                                                           statuses, limit))]
    return tuple(out)


def read_ingest_quality(conn: psycopg.Connection[Any], *, as_of: date, warn: float = DEFAULT_WARN,
                        error: float = DEFAULT_ERROR) -> IngestQualityReport:
    """The warehouse's ingest quality as of the day `as_of`: every dimension graded, with the
    anomalies of its feed's recent runs.

    Raises:
        InputError: thresholds out of order.
        DateOutOfRangeError: `as_of` outside the XNYS calendar.
    """
    anomalies = detect_feed_anomalies(read_run_snapshots(conn))
    return evaluate_ingest_quality(read_dimension_results(conn, as_of=as_of), warn=warn,
                                   error=error, anomalies=anomalies)
