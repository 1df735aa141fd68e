"""securities_master job: upsert securities by composite FIGI; never delete one.

Reads:  a ReferenceBatch (files: reference/securities.csv; massive: REST reference + OpenFIGI)
Writes: stocks_research.securities; ingestion.job_runs, ingestion.rejected_rows
New securities get ids in composite-FIGI order, and unchanged rows are not rewritten, so a
re-run over the same input leaves the table (and its checksum) as it was.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from stocksdb.db.lineage import Layer, Table
from stocksdb.db.sync import sync_from_stage
from stocksdb.domain.frames import records
from stocksdb.domain.reasons import Reason
from stocksdb.domain.securities import SecurityRow, parse_security
from stocksdb.gates import checks as c
from stocksdb.jobs.base import JobContext, Outcome, Rejected
from stocksdb.jobs.registry import Job
from stocksdb.sources.base import ReferenceBatch

_CONTENT = ("share_class_figi", "name", "security_type", "primary_exchange", "currency", "cik",
            "list_date", "delist_date", "is_active")


def validate_securities(frame: pd.DataFrame, source: str
                        ) -> tuple[list[SecurityRow], list[Rejected]]:
    """Split raw rows into valid rows and rejected ones.

    Exact duplicates collapse into one; conflicting duplicates of one FIGI are all rejected
    (we cannot tell which is right)."""
    good: dict[str, SecurityRow] = {}
    conflicts: set[str] = set()
    rejected: list[Rejected] = []
    for raw in records(frame):
        key = raw.get("source_key")
        parsed = parse_security(raw)
        if isinstance(parsed, tuple):
            rejected.append(Rejected(parsed[0], parsed[1], source, key, raw=raw))
            continue
        prior = good.get(parsed.composite_figi)
        if prior is not None and prior != parsed:
            conflicts.add(parsed.composite_figi)
            rejected.append(Rejected(Reason.DUPLICATE_KEY, f"composite_figi "
                            f"{parsed.composite_figi!r} appears twice with different values",
                            source, key, raw=raw))
        good.setdefault(parsed.composite_figi, parsed)
    rejected += [Rejected(Reason.DUPLICATE_KEY, f"composite_figi {f!r} appears twice with "
                          "different values", source, None, raw=good[f].__dict__)
                 for f in sorted(conflicts)]
    return [good[f] for f in sorted(good) if f not in conflicts], rejected


_STAGE = """
CREATE TEMP TABLE stage_securities (
    composite_figi text, share_class_figi text, name text, security_type text,
    primary_exchange text, currency text, cik text, list_date date, delist_date date,
    is_active boolean) ON COMMIT DROP
"""
_TARGET = sql.Identifier("stocks_research", "securities")


def write_securities(conn: psycopg.Connection[Any], rows: list[SecurityRow], run_id: int
                     ) -> tuple[int, int]:
    """Upsert rows in the current transaction (never deleting one); returns (inserted,
    updated). New securities get their ids in composite-FIGI order."""
    conn.execute(_STAGE)
    with conn.cursor().copy(sql.SQL("COPY stage_securities ({}) FROM STDIN").format(
            sql.SQL(", ").join(map(sql.Identifier, ("composite_figi", *_CONTENT))))) as cp:
        for r in rows:
            cp.write_row((r.composite_figi, *(getattr(r, c) for c in _CONTENT)))
    counts = sync_from_stage(conn, _TARGET, ("composite_figi",), _CONTENT, None,
                             stage="stage_securities",
                             stamp={"run_id": sql.Literal(run_id),
                                    "updated_at": sql.SQL("clock_timestamp()")},
                             insert_order=("composite_figi",), staged=len(rows))
    return counts.inserted, counts.updated


def run_securities_master(ctx: JobContext, batch: ReferenceBatch) -> Outcome:
    """Validate, quarantine and upsert the batch's securities in one transaction."""
    rows, rejected = validate_securities(batch.securities, batch.source)
    rejected += [Rejected(p.reason_code, p.detail, batch.source, None, ticker=p.ticker, raw=p.raw)
                 for p in batch.problems if p.reason_code != Reason.NO_START_DATE]
    with ctx.conn.transaction():
        inserted, updated = write_securities(ctx.conn, rows, ctx.run_id)
        ctx.write_rejected(rejected)
    return Outcome(counts=dict(input=len(batch.securities), inserted=inserted, updated=updated,
                               unchanged=len(rows) - inserted - updated,
                               rejected=len(rejected)))


def reference_from_files(ctx: JobContext) -> ReferenceBatch:
    """reference/securities.csv and ticker_history.csv under --path."""
    from stocksdb.sources.local_files import read_reference

    return read_reference(ctx.request.require_path())


def reference_from_massive(ctx: JobContext) -> ReferenceBatch:
    """Massive's REST reference endpoints, FIGIs from OpenFIGI."""
    from stocksdb.sources.massive_rest import fetch_reference, rate_limit_from_settings

    return fetch_reference(ctx.settings, rate_limit=rate_limit_from_settings(ctx.settings))


JOB = Job[ReferenceBatch](
    name="securities_master",
    summary="Upsert securities by composite FIGI; never delete one.",
    run=run_securities_master,
    sources={"files": reference_from_files, "massive": reference_from_massive},
    pre_gate=(c.schema_is_latest,),
    post_gate=(c.securities_present, c.securities_figis_valid),
    writes=("securities",),
    tables=(Table(
        "securities", layer=Layer.CANONICAL,
        freshness="by 06:00 New York on a new listing's first session, before its bars load: "
                  "prices_daily resolves tickers through it, and a bar of an unknown ticker is "
                  "a rejected row (unknown_ticker) until the date is re-run",
        completeness="every security the source lists whose fields parse (FIGI check digit "
                     "included); any other row is a rejected row with its reason, never "
                     "dropped silently",
        retention="forever: a security is never deleted (a delisted one keeps its row and "
                  "its delist_date), so every stored bar stays resolvable"),),
)
