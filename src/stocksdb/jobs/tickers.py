"""ticker_history job: point-in-time validity intervals of tickers per security.

Reads:  a ReferenceBatch's ticker_history; stocks_research.securities, ticker_history
Writes: stocks_research.ticker_history; ingestion.job_runs, ingestion.rejected_rows
For every security with an accepted row, the batch is the truth: its intervals become exactly
the accepted ones. Securities absent from the batch keep theirs. Intervals are half-open
[valid_from, valid_to); a row overlapping an accepted interval of the same ticker, or giving a
security two tickers at once, is rejected with its reason (first come, in date order, wins).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import psycopg

from stocksdb.db.queries import read_ticker_intervals
from stocksdb.domain.tickers import Interval, accept_intervals, parse_interval
from stocksdb.jobs.base import JobReport, Rejected, write_rejected
from stocksdb.quality.reasons import Reason
from stocksdb.sources.base import ReferenceBatch

JOB = "ticker_history"


def validate_intervals(conn: psycopg.Connection[Any], frame: pd.DataFrame, source: str
                       ) -> tuple[list[Interval], list[Rejected]]:
    """Accepted intervals (for the securities they cover) and rejected rows."""
    ids = dict(conn.execute("SELECT composite_figi, security_id "
                            "FROM stocks_research.securities").fetchall())
    parsed: list[Interval] = []
    raws: dict[int, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    seen: set[Interval] = set()
    for raw in frame.to_dict("records"):
        result = parse_interval(raw, ids)
        if isinstance(result, tuple):
            rejected.append(Rejected(result[0], result[1], source, raw.get("source_key"),
                                     ticker=raw.get("ticker"), raw=raw))
            continue
        plain = Interval(result.ticker, result.valid_from, result.valid_to, result.security_id)
        if plain in seen:  # an exact duplicate says nothing new
            continue
        seen.add(plain)
        parsed.append(result)
        raws[id(result)] = raw
    covered = {iv.security_id for iv in parsed}
    kept = [iv for iv in read_ticker_intervals(conn).intervals if iv.security_id not in covered]
    accepted, refused = accept_intervals(parsed, kept)
    rejected += [Rejected(reason, detail, source, iv.source_key, ticker=iv.ticker,
                          raw=raws[id(iv)]) for iv, reason, detail in refused]
    return accepted, rejected


_SYNC_DELETE = """
DELETE FROM stocks_research.ticker_history th
 WHERE th.security_id IN (SELECT DISTINCT security_id FROM stage_th)
   AND NOT EXISTS (SELECT 1 FROM stage_th s
                    WHERE s.ticker = th.ticker AND s.valid_from = th.valid_from
                      AND s.valid_to IS NOT DISTINCT FROM th.valid_to
                      AND s.security_id = th.security_id)
"""
_SYNC_INSERT = """
INSERT INTO stocks_research.ticker_history (ticker, valid_from, valid_to, security_id, run_id)
SELECT s.ticker, s.valid_from, s.valid_to, s.security_id, %(run_id)s FROM stage_th s
 WHERE NOT EXISTS (SELECT 1 FROM stocks_research.ticker_history th
                    WHERE th.ticker = s.ticker AND th.valid_from = s.valid_from)
 ORDER BY s.ticker, s.valid_from
"""


def write_intervals(conn: psycopg.Connection[Any], rows: list[Interval], run_id: int
                    ) -> tuple[int, int]:
    """Make the covered securities' intervals equal `rows`; returns (deleted, inserted)."""
    conn.execute("CREATE TEMP TABLE stage_th (ticker text, valid_from date, valid_to date, "
                 "security_id bigint) ON COMMIT DROP")
    with conn.cursor().copy("COPY stage_th FROM STDIN") as cp:
        for r in rows:
            cp.write_row((r.ticker, r.valid_from, r.valid_to, r.security_id))
    deleted = conn.execute(_SYNC_DELETE).rowcount
    inserted = conn.execute(_SYNC_INSERT, {"run_id": run_id}).rowcount
    return deleted, inserted


def run_ticker_history(conn: psycopg.Connection[Any], batch: ReferenceBatch,
                       report: JobReport) -> JobReport:
    """Validate, quarantine and synchronise ticker intervals in one transaction."""
    with conn.transaction():
        rows, rejected = validate_intervals(conn, batch.ticker_history, batch.source)
        rejected += [Rejected(p.reason_code, p.detail, batch.source, None, ticker=p.ticker,
                              raw=p.raw)
                     for p in batch.problems if p.reason_code == Reason.NO_START_DATE]
        deleted, inserted = write_intervals(conn, rows, report.run_id)
        write_rejected(conn, report, rejected)
    report.counts.update(input=len(batch.ticker_history), inserted=inserted, deleted=deleted,
                         unchanged=len(rows) - inserted, rejected=len(rejected))
    return report
