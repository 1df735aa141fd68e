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
from psycopg import sql
from psycopg.types.json import Jsonb

from stocksdb.db.lineage import Layer, Table
from stocksdb.db.queries import read_ticker_intervals
from stocksdb.db.sync import Scope, sync_from_stage
from stocksdb.domain.actions import Event, Problem, collapse, parse_dividend, parse_split
from stocksdb.domain.frames import records
from stocksdb.gates import checks as c
from stocksdb.jobs.base import JobContext, Outcome, Rejected
from stocksdb.jobs.registry import Job
from stocksdb.sources.base import ActionsBatch

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
        for raw in records(frame):
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


def _rejected(problem: Problem, source: str) -> Rejected:
    reason, detail, raw = problem
    day = raw.get("execution_date") or raw.get("ex_dividend_date") or raw.get("ex_date")
    try:
        trade_date = date.fromisoformat(str(day)) if day else None
    except ValueError:
        trade_date = None
    return Rejected(reason, detail, source, raw.get("source_key"),
                    ticker=raw.get("ticker"), trade_date=trade_date, raw=raw)


_STAGE = """
CREATE TEMP TABLE stage_actions (security_id bigint, action_type text, ex_date date,
    split_from double precision, split_to double precision, cash_amount double precision,
    currency text, declared_date date, record_date date, pay_date date, source_event_id text,
    source text) ON COMMIT DROP
"""
_TARGET = sql.Identifier("stocks_research", "corporate_actions")
_KEY = ("security_id", "action_type", "ex_date")
# source is compared too: an event another source stored is taken over by this one.
_VALUES = ("split_from", "split_to", "cash_amount", "currency", "declared_date", "record_date",
           "pay_date", "source_event_id", "source")


def write_events(conn: psycopg.Connection[Any], events: list[Event], *, source: str,
                 run_id: int) -> dict[str, int]:
    """Synchronise this source's events with `events`; returns counts."""
    conn.execute(_STAGE)
    with conn.cursor().copy(sql.SQL("COPY stage_actions ({}) FROM STDIN").format(
            sql.SQL(", ").join(map(sql.Identifier, (*_COLS, "source"))))) as cp:
        for e in events:
            row = dict(zip(Event.__dataclass_fields__, astuple(e), strict=True))
            cp.write_row((*(row[c] for c in _COLS), source))
    counts = sync_from_stage(conn, _TARGET, _KEY, _VALUES, Scope(equal={"source": source}),
                             stage="stage_actions", stamp={"run_id": sql.Literal(run_id)},
                             insert_order=("security_id", "ex_date", "action_type"),
                             staged=len(events))
    return counts.as_dict()


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


def run_corporate_actions(ctx: JobContext, batch: ActionsBatch) -> Outcome:
    """Canonicalize and write the batch (the runner's transaction makes it all-or-nothing)."""
    canon = canonicalize(ctx.conn, batch)
    counts = write_events(ctx.conn, canon.events, source=batch.source, run_id=ctx.run_id)
    record_conflicts(ctx.conn, canon.conflicts, ctx.run_id)
    ctx.write_rejected(canon.rejected)
    return Outcome(counts=dict(input=len(batch.splits) + len(batch.dividends), **counts,
                               rejected=len(canon.rejected), conflicts=len(canon.conflicts)))


def actions_from_files(ctx: JobContext) -> ActionsBatch:
    """corporate_actions/splits.json and dividends.json under --path."""
    from stocksdb.sources.local_files import read_corporate_actions

    return read_corporate_actions(ctx.request.require_path())


def actions_from_massive(ctx: JobContext) -> ActionsBatch:
    """Massive's REST v3 splits and dividends."""
    from stocksdb.sources.massive_actions import fetch_corporate_actions

    return fetch_corporate_actions(ctx.settings)


JOB = Job[ActionsBatch](
    name="corporate_actions",
    summary="Canonical splits and dividends keyed by security and ex-date; conflicting "
            "duplicates refuse the whole run.",
    run=run_corporate_actions,
    sources={"files": actions_from_files, "massive": actions_from_massive},
    pre_gate=(c.schema_is_latest, c.securities_present, c.ticker_history_present),
    post_gate=(c.no_conflicting_duplicates, c.split_ratios_positive,
               c.dividends_have_previous_close, c.dividends_below_previous_close,
               c.no_orphans("corporate_actions")),
    atomic=True,
    depends_on=("prices_daily",),
    writes=("corporate_actions",),
    reads=("securities", "ticker_history", "prices_daily"),
    tables=(Table(
        "corporate_actions", layer=Layer.CANONICAL,
        freshness="by 06:00 New York on the session after the ex-date, with the ex-date's "
                  "bars: without the event the adjusted series jumps at the ex-date",
        completeness="every split and dividend the source lists for a ticker known on its "
                     "ex-date; 1:1 splits and duplicates are rejected rows, and conflicting "
                     "duplicates refuse the whole run",
        retention="forever while the source lists them: a batch is the truth for its source, "
                  "so an event the source withdraws is removed; other sources' events stay"),),
)
