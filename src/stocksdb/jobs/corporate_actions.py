"""corporate_actions job: canonical splits and dividends, keyed by security and ex-date.

Reads:  an ActionsBatch (files: corporate_actions/*.json; massive: REST v3), ticker_history
Writes: stocks_research.corporate_actions; ingestion.rejected_rows, quality_findings, job_runs
Tickers resolve as of the ex-date. 1:1 "splits" and duplicates are rejected rows with reasons;
conflicting duplicates are recorded as findings that fail the post-gate, which runs inside the
job's transaction, so a refused run writes nothing. The batch is the truth for its source:
this source's events that it no longer lists are removed.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from stocksdb.db.queries import read_ticker_intervals
from stocksdb.domain.actions import Event, collapse, parse_dividend, parse_split
from stocksdb.jobs.base import JobReport, Rejected, write_rejected
from stocksdb.sources.base import ActionsBatch

JOB = "corporate_actions"
CONFLICT_CHECK = "corporate_actions.no_conflicting_duplicates"
_COLS = ("security_id", "action_type", "ex_date", "split_from", "split_to", "cash_amount",
         "currency", "declared_date", "record_date", "pay_date", "source_event_id")


@dataclass
class Canonical:
    """The batch after parsing and collapsing."""

    events: list[Event]
    rejected: list[Rejected]
    conflicts: list[tuple[Event, Event]]


def canonicalize(conn: psycopg.Connection[Any], batch: ActionsBatch) -> Canonical:
    """Parse, resolve, classify and collapse the batch."""
    resolve = read_ticker_intervals(conn).resolve
    events: list[Event] = []
    rejected: list[Rejected] = []
    for frame, parse in ((batch.splits, parse_split), (batch.dividends, parse_dividend)):
        for raw in frame.to_dict("records"):
            raw = {k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
                   for k, v in raw.items()}
            out = parse(raw, resolve)
            if isinstance(out, Event):
                events.append(out)
            else:
                rejected.append(_rejected(out, batch.source))
    kept, dupes, conflicts = collapse(events)
    rejected += [_rejected(d, batch.source) for d in dupes]
    return Canonical(kept, rejected, conflicts)


def _rejected(problem: tuple[Any, str, dict[str, Any]], source: str) -> Rejected:
    reason, detail, raw = problem
    day = raw.get("execution_date") or raw.get("ex_dividend_date") or raw.get("ex_date")
    try:
        trade_date = date.fromisoformat(str(day)) if day else None
    except ValueError:
        trade_date = None
    return Rejected(str(reason), detail, source, raw.get("source_key"),
                    ticker=raw.get("ticker"), trade_date=trade_date, raw=raw)


_STAGE = """
CREATE TEMP TABLE stage_actions (security_id bigint, action_type text, ex_date date,
    split_from double precision, split_to double precision, cash_amount double precision,
    currency text, declared_date date, record_date date, pay_date date, source_event_id text)
    ON COMMIT DROP
"""
_DELETE = """
DELETE FROM stocks_research.corporate_actions c WHERE c.source = %(source)s
   AND NOT EXISTS (SELECT 1 FROM stage_actions s WHERE (s.security_id, s.action_type, s.ex_date)
                   = (c.security_id, c.action_type, c.ex_date))
"""
_UPDATE = """
UPDATE stocks_research.corporate_actions c SET split_from = s.split_from, split_to = s.split_to,
       cash_amount = s.cash_amount, currency = s.currency, declared_date = s.declared_date,
       record_date = s.record_date, pay_date = s.pay_date, source_event_id = s.source_event_id,
       source = %(source)s, run_id = %(run_id)s
  FROM stage_actions s
 WHERE (s.security_id, s.action_type, s.ex_date) = (c.security_id, c.action_type, c.ex_date)
   AND (c.split_from, c.split_to, c.cash_amount, c.currency, c.declared_date, c.record_date,
        c.pay_date, c.source_event_id, c.source) IS DISTINCT FROM
       (s.split_from, s.split_to, s.cash_amount, s.currency, s.declared_date, s.record_date,
        s.pay_date, s.source_event_id, %(source)s)
"""
_INSERT = """
INSERT INTO stocks_research.corporate_actions (security_id, action_type, ex_date, split_from,
    split_to, cash_amount, currency, declared_date, record_date, pay_date, source_event_id,
    source, run_id)
SELECT s.*, %(source)s, %(run_id)s FROM stage_actions s
 WHERE NOT EXISTS (SELECT 1 FROM stocks_research.corporate_actions c
                    WHERE (s.security_id, s.action_type, s.ex_date)
                          = (c.security_id, c.action_type, c.ex_date))
 ORDER BY s.security_id, s.ex_date, s.action_type
"""


def write_events(conn: psycopg.Connection[Any], events: list[Event], *, source: str,
                 run_id: int) -> dict[str, int]:
    """Synchronise this source's events with `events`; returns counts."""
    conn.execute(_STAGE)
    with conn.cursor().copy(f"COPY stage_actions ({', '.join(_COLS)}) FROM STDIN") as cp:
        for e in events:
            row = dict(zip(Event.__dataclass_fields__, astuple(e), strict=True))
            cp.write_row(tuple(row[c] for c in _COLS))
    params = {"source": source, "run_id": run_id}
    deleted = conn.execute(_DELETE, params).rowcount
    updated = conn.execute(_UPDATE, params).rowcount
    inserted = conn.execute(_INSERT, params).rowcount
    return {"inserted": inserted, "updated": updated, "deleted": deleted,
            "unchanged": len(events) - inserted - updated}


def record_conflicts(conn: psycopg.Connection[Any], conflicts: list[tuple[Event, Event]],
                     run_id: int) -> None:
    """One finding per conflicting pair, naming both; the post-gate fails on them."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ingestion.quality_findings (run_id, check_name, reason_code, severity, "
            "subject, detail) VALUES (%s, %s, 'conflicting_duplicate', 'fail', %s, %s)",
            [(run_id, CONFLICT_CHECK, Jsonb({"security_id": a.security_id,
                                             "action_type": a.action_type,
                                             "ex_date": str(a.ex_date),
                                             "values": [list(a.value), list(b.value)],
                                             "sources": [a.source_key, b.source_key]}),
              f"{a.ticker} {a.action_type} on {a.ex_date}: {a.value} vs {b.value}")
             for a, b in conflicts])


def run_corporate_actions(conn: psycopg.Connection[Any], batch: ActionsBatch,
                          report: JobReport) -> JobReport:
    """Canonicalize and write the batch (the caller's transaction makes it all-or-nothing)."""
    canon = canonicalize(conn, batch)
    counts = write_events(conn, canon.events, source=batch.source, run_id=report.run_id)
    record_conflicts(conn, canon.conflicts, report.run_id)
    write_rejected(conn, report, canon.rejected)
    report.counts.update(input=len(batch.splits) + len(batch.dividends), **counts,
                         rejected=len(canon.rejected), conflicts=len(canon.conflicts))
    return report



