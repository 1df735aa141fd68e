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
from psycopg import sql

from stocksdb.db.lineage import Layer, Table
from stocksdb.db.queries import read_ticker_intervals
from stocksdb.db.sync import Scope, sync_from_stage
from stocksdb.domain.frames import records
from stocksdb.domain.reasons import Reason
from stocksdb.domain.tickers import Interval, accept_intervals, parse_interval
from stocksdb.gates import checks as c
from stocksdb.jobs.base import JobContext, Outcome, Rejected
from stocksdb.jobs.registry import Job
from stocksdb.jobs.securities import reference_from_files, reference_from_massive
from stocksdb.sources.base import ReferenceBatch


def validate_intervals(conn: psycopg.Connection[Any], frame: pd.DataFrame, source: str
                       ) -> tuple[list[Interval], list[Rejected]]:
    """Accepted intervals (for the securities they cover) and rejected rows."""
    ids = dict(conn.execute("SELECT composite_figi, security_id "
                            "FROM stocks_research.securities").fetchall())
    parsed: list[Interval] = []
    raws: dict[int, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    seen: set[Interval] = set()
    for raw in records(frame):
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


_TARGET = sql.Identifier("stocks_research", "ticker_history")
_ROW = ("ticker", "valid_from", "valid_to", "security_id")


def write_intervals(conn: psycopg.Connection[Any], rows: list[Interval], run_id: int
                    ) -> tuple[int, int]:
    """Make the covered securities' intervals equal `rows`; returns (deleted, inserted).

    An interval is its whole row: a changed one is deleted and its successor inserted."""
    conn.execute("CREATE TEMP TABLE stage_th (ticker text, valid_from date, valid_to date, "
                 "security_id bigint) ON COMMIT DROP")
    with conn.cursor().copy("COPY stage_th FROM STDIN") as cp:
        for r in rows:
            cp.write_row((r.ticker, r.valid_from, r.valid_to, r.security_id))
    counts = sync_from_stage(conn, _TARGET, _ROW, (), Scope(staged=("security_id",)),
                             stage="stage_th", stamp={"run_id": sql.Literal(run_id)},
                             insert_order=("ticker", "valid_from"), null_safe=("valid_to",),
                             staged=len(rows))
    return counts.deleted, counts.inserted


def run_ticker_history(ctx: JobContext, batch: ReferenceBatch) -> Outcome:
    """Validate, quarantine and synchronise ticker intervals in one transaction."""
    conn = ctx.conn
    with conn.transaction():
        rows, rejected = validate_intervals(conn, batch.ticker_history, batch.source)
        rejected += [Rejected(p.reason_code, p.detail, batch.source, None, ticker=p.ticker,
                              raw=p.raw)
                     for p in batch.problems if p.reason_code == Reason.NO_START_DATE]
        deleted, inserted = write_intervals(conn, rows, ctx.run_id)
        ctx.write_rejected(rejected)
    return Outcome(counts=dict(input=len(batch.ticker_history), inserted=inserted,
                               deleted=deleted, unchanged=len(rows) - inserted,
                               rejected=len(rejected)))


JOB = Job[ReferenceBatch](
    name="ticker_history",
    summary="Point-in-time ticker intervals per security; the batch is the truth for the "
            "securities it covers.",
    run=run_ticker_history,
    sources={"files": reference_from_files, "massive": reference_from_massive},
    pre_gate=(c.schema_is_latest, c.securities_present),
    post_gate=(c.ticker_intervals_disjoint, c.one_ticker_per_security,
               c.no_orphans("ticker_history")),
    depends_on=("securities_master",),
    writes=("ticker_history",),
    reads=("securities",),
    tables=(Table(
        "ticker_history", layer=Layer.CANONICAL,
        freshness="by 06:00 New York on the first session of a new or changed ticker, before "
                  "its bars load (bars resolve their ticker as of their date)",
        completeness="every interval of the batch's securities that parses and overlaps no "
                     "accepted one; any other is a rejected row with its reason",
        retention="forever for securities a batch does not cover; for one it covers, its "
                  "intervals become exactly the batch's accepted ones (closed intervals stay "
                  "while the source lists them: point-in-time lookups need them)"),),
)
