"""Reading stored trading sessions and the day files recorded for prices_daily.

Reads: stocks_research.trading_sessions, trading_session_coverage, prices_daily;
       ingestion.source_files, job_runs.
The prices loader and the coverage checks pass what `read_known_sessions` returns to the pure
functions of domain/sessions.py, which fall back to the exchange_calendars calendar where the
table does not cover the dates asked for.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import psycopg

from stocksdb.domain.sessions import DEFAULT_EXCHANGE, KnownSessions
from stocksdb.sources.flatfiles import DAY_AGGS_PREFIX

# The session date of each day file prices_daily loaded (files and massive sources record the
# same object keys: us_stocks_sip/day_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz). Takes the parameter
# %(day_prefix)s (DAY_FILES below).
DAY_FILE_DATES = r"""
SELECT DISTINCT substring(key from '(\d{4}-\d{2}-\d{2})\.csv\.gz$')::date AS day
  FROM ingestion.source_files
 WHERE starts_with(key, %(day_prefix)s) AND status = 'loaded'
   AND key ~ '\d{4}-\d{2}-\d{2}\.csv\.gz$'
"""
DAY_FILES = {"day_prefix": DAY_AGGS_PREFIX + "/"}

# Sessions a prices_daily run listed as missing (no day file) or failed (a file it could not
# load), from the run records: job_runs.counts->'missing_dates' and ->'failed_dates'.
LISTED_MISSING_DATES = """
SELECT jsonb_array_elements_text(counts->'missing_dates')::date AS day
  FROM ingestion.job_runs
 WHERE job = 'prices_daily' AND jsonb_typeof(counts->'missing_dates') = 'array'
UNION
SELECT jsonb_object_keys(counts->'failed_dates')::date
  FROM ingestion.job_runs
 WHERE job = 'prices_daily' AND jsonb_typeof(counts->'failed_dates') = 'object'
"""


def read_known_sessions(conn: psycopg.Connection[Any], around: date,
                        exchange: str = DEFAULT_EXCHANGE) -> KnownSessions | None:
    """The stored sessions of `exchange` over the covered span that holds `around` (the one
    range of trading_session_coverage containing it), or None when `around` is not covered."""
    row = conn.execute(
        "SELECT lower(r), upper(r) FROM stocks_research.trading_session_coverage c, "
        "unnest(c.covered) r WHERE c.exchange = %s AND r @> %s::date", (exchange, around),
    ).fetchone()
    if row is None:
        return None
    first, last = row[0], row[1] - timedelta(days=1)   # date ranges are [lower, upper)
    days = conn.execute(
        "SELECT session_date FROM stocks_research.trading_sessions WHERE exchange = %s "
        "AND session_date BETWEEN %s AND %s ORDER BY session_date", (exchange, first, last))
    return KnownSessions(first, last, tuple(r[0] for r in days))


def read_day_file_span(conn: psycopg.Connection[Any]) -> tuple[date, date] | None:
    """The first and last date of prices_daily's loaded data: its day files recorded in
    ingestion.source_files and its bars (None when there is neither)."""
    row = conn.execute(
        "SELECT least(min(f.day), (SELECT min(trade_date) FROM stocks_research.prices_daily)),"
        " greatest(max(f.day), (SELECT max(trade_date) FROM stocks_research.prices_daily)) "
        f"FROM ({DAY_FILE_DATES}) f", DAY_FILES).fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]
