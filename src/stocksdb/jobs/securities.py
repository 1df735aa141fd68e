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

from stocksdb.domain.securities import SecurityRow, parse_security
from stocksdb.jobs.base import JobReport, Rejected, write_rejected
from stocksdb.quality.reasons import Reason
from stocksdb.sources.base import ReferenceBatch

JOB = "securities_master"
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
    for raw in frame.to_dict("records"):
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
_INSERT_NEW = """
INSERT INTO stocks_research.securities (composite_figi, {cols}, run_id)
SELECT s.composite_figi, {scols}, %(run_id)s FROM stage_securities s
 WHERE NOT EXISTS (SELECT 1 FROM stocks_research.securities t
                    WHERE t.composite_figi = s.composite_figi)
 ORDER BY s.composite_figi
"""
_UPDATE_CHANGED = """
UPDATE stocks_research.securities t SET {sets}, run_id = %(run_id)s,
       updated_at = clock_timestamp()
  FROM stage_securities s
 WHERE t.composite_figi = s.composite_figi AND ({distinct})
"""


def write_securities(conn: psycopg.Connection[Any], rows: list[SecurityRow], run_id: int
                     ) -> tuple[int, int]:
    """Upsert rows in the current transaction; returns (inserted, updated)."""
    cols = ", ".join(_CONTENT)
    conn.execute(_STAGE)
    with conn.cursor().copy(f"COPY stage_securities (composite_figi, {cols}) FROM STDIN") as cp:
        for r in rows:
            cp.write_row((r.composite_figi, *(getattr(r, c) for c in _CONTENT)))
    inserted = conn.execute(_INSERT_NEW.format(
        cols=cols, scols=", ".join(f"s.{c}" for c in _CONTENT)), {"run_id": run_id}).rowcount
    updated = conn.execute(_UPDATE_CHANGED.format(
        sets=", ".join(f"{c} = s.{c}" for c in _CONTENT),
        distinct=" OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in _CONTENT),
    ), {"run_id": run_id}).rowcount
    return inserted, updated


def run_securities_master(conn: psycopg.Connection[Any], batch: ReferenceBatch,
                          report: JobReport) -> JobReport:
    """Validate, quarantine and upsert the batch's securities in one transaction."""
    rows, rejected = validate_securities(batch.securities, batch.source)
    rejected += [Rejected(p.reason_code, p.detail, batch.source, None, ticker=p.ticker, raw=p.raw)
                 for p in batch.problems if p.reason_code != Reason.NO_START_DATE]
    with conn.transaction():
        inserted, updated = write_securities(conn, rows, report.run_id)
        write_rejected(conn, report, rejected)
    report.counts.update(input=len(batch.securities), inserted=inserted, updated=updated,
                         unchanged=len(rows) - inserted - updated, rejected=len(rejected))
    return report
