"""fundamentals_quarterly_raw and fundamentals_derived jobs (the point-in-time reader is
db.queries.read_fundamentals).

Reads:  CompanyFacts documents (files: fundamentals/companyfacts/*.json; sec: companyfacts API),
        securities.cik (10-digit text; every security with the CIK gets the rows)
Writes: stocks_research.fundamentals_quarterly_raw (one row per security, source, accession and
        period; unchanged payloads are not rewritten, nothing is deleted: every filing of a
        period is kept); fundamentals_quarterly and fundamentals_quarterly_yoy (recomputed from
        the raw rows and synchronised: new versions inserted, changed ones updated, vanished
        ones deleted); ingestion.rejected_rows, job_runs
Steps:  raw = parse -> stage (COPY) -> merge, one transaction per company;
        derived = read raw -> compute (domain.fundamentals) -> stage -> merge, one transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import astuple
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from stocksdb.config import Settings
from stocksdb.db.lineage import Layer, Table
from stocksdb.db.sync import Scope, sync_from_stage
from stocksdb.domain.fundamentals import (
    MATCH_DAYS,
    QUARTER_DAYS,
    RawPeriod,
    compute_quarters,
    compute_yoy,
)
from stocksdb.domain.reasons import Reason
from stocksdb.gates import checks as c
from stocksdb.jobs.base import JobContext, Outcome, Rejected
from stocksdb.jobs.registry import Job
from stocksdb.sources.sec_edgar import CompanyFacts, Problem, parse_company_facts

_RAW_STAGE = """
CREATE TEMP TABLE stage_fundamentals_raw (security_id bigint, source text, accession text,
    period_start date, period_end date, fiscal_year integer, fiscal_period text, form text,
    filed_date date, payload jsonb, payload_sha256 text) ON COMMIT DROP
"""
_RAW_TARGET = sql.Identifier("stocks_research", "fundamentals_quarterly_raw")
_RAW_KEY = ("security_id", "source", "accession", "period_start", "period_end")
# The payload is compared through its hash (cheaper than comparing jsonb), and copied along.
_RAW_VALUES = ("fiscal_year", "fiscal_period", "form", "filed_date", "payload_sha256")


def _securities_by_cik(conn: psycopg.Connection[Any]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for cik, sid in conn.execute("SELECT cik, security_id FROM stocks_research.securities "
                                 "WHERE cik IS NOT NULL ORDER BY security_id"):
        out.setdefault(cik, []).append(sid)
    return out


def write_raw_periods(conn: psycopg.Connection[Any], security_ids: Sequence[int],
                      periods: Sequence[RawPeriod], *, source: str,
                      run_id: int) -> dict[str, int]:
    """Merge the periods of one company for each of its securities (deleting none); returns
    counts."""
    conn.execute(_RAW_STAGE)
    with conn.cursor().copy("COPY stage_fundamentals_raw FROM STDIN") as copy:
        for sid in security_ids:
            for p in periods:
                copy.write_row((sid, source, p.accession, p.period_start, p.period_end,
                                p.fiscal_year, p.fiscal_period, p.form, p.filed_date,
                                json.dumps(p.payload, sort_keys=True), p.payload_sha256))
    counts = sync_from_stage(
        conn, _RAW_TARGET, _RAW_KEY, _RAW_VALUES, None, stage="stage_fundamentals_raw",
        stamp={"payload": sql.Identifier("s", "payload"), "run_id": sql.Literal(run_id)},
        insert_order=("security_id", "period_end", "period_start", "accession"),
        staged=len(security_ids) * len(periods))
    conn.execute("DROP TABLE stage_fundamentals_raw")
    return {k: v for k, v in counts.as_dict().items() if k != "deleted"}


def _rejected(problem: Problem, source: str, company: CompanyFacts) -> Rejected:
    reason, detail, raw = problem
    where = f"{company.source_key}#{raw['tag']}" if "tag" in raw else company.source_key
    return Rejected(reason, f"cik {company.cik}: {detail}", source, where, raw=raw)


def run_fundamentals_raw(ctx: JobContext, companies: Iterable[CompanyFacts]) -> Outcome:
    """Load each document's periods for the securities with its CIK (autocommit connection:
    one transaction per company)."""
    conn, source = ctx.conn, ctx.source
    by_cik = _securities_by_cik(conn)
    totals: Counter[str] = Counter()
    for company in companies:
        periods, problems = parse_company_facts(company.payload)
        rejected = [_rejected(p, source, company) for p in problems]
        sids = by_cik.get(company.cik, [])
        if not sids:
            rejected.append(Rejected(Reason.UNKNOWN_SECURITY, f"cik {company.cik} matches no "
                                     "security (securities.cik); its facts were not loaded",
                                     source, company.source_key, raw={"cik": company.cik}))
        with conn.transaction():
            if sids:
                totals.update(write_raw_periods(conn, sids, periods, source=source,
                                                run_id=ctx.run_id))
            ctx.write_rejected(rejected)
        totals.update(companies=1, periods=len(periods) * len(sids), rejected=len(rejected))
    return Outcome(counts={k: totals[k] for k in ("companies", "periods", "inserted", "updated",
                                                  "unchanged", "rejected")})


def facts_from_files(ctx: JobContext) -> Iterable[CompanyFacts]:
    """fundamentals/companyfacts/CIK##########.json under --path."""
    from stocksdb.sources.sec_edgar import read_company_facts

    return read_company_facts(ctx.request.require_path())


def facts_from_sec(ctx: JobContext) -> Iterable[CompanyFacts]:
    """SEC's companyfacts API, for every CIK in securities."""
    from stocksdb.sources.sec_edgar import fetch_company_facts

    ciks = [r[0] for r in ctx.conn.execute(
        "SELECT DISTINCT cik FROM stocks_research.securities WHERE cik IS NOT NULL ORDER BY 1")]
    return fetch_company_facts(ctx.settings, ciks, data_url=ctx.settings.sec_data_url)


def _no_facts(profile: str | None, path: Path | None, _: Settings) -> str | None:
    if profile == "files" and not (path and (path / "fundamentals/companyfacts").is_dir()):
        return "the source tree has no fundamentals/companyfacts folder"
    return None


def read_raw_periods(conn: psycopg.Connection[Any], security_id: int) -> list[RawPeriod]:
    """Every raw period of one security (all sources), in filing order."""
    rows = conn.execute(
        "SELECT accession, period_start, period_end, fiscal_year, fiscal_period, form, "
        "filed_date, payload FROM stocks_research.fundamentals_quarterly_raw "
        "WHERE security_id = %s ORDER BY filed_date, accession, period_start, period_end, source",
        (security_id,)).fetchall()
    return [RawPeriod(*row) for row in rows]


_Q_COLS = ("security_id", "period_start", "period_end", "filed_date", "fiscal_year",
           "fiscal_quarter", "revenue", "eps_diluted", "revenue_derived", "eps_derived",
           "eps_approximate", "source_accession")
_Y_COLS = ("security_id", "period_end", "filed_date", "prior_period_end", "revenue_yoy",
           "eps_diluted_yoy")
_KEY = ("security_id", "period_end", "filed_date")


def _write_derived(conn: psycopg.Connection[Any], table: str, cols: Sequence[str],
                   rows: Sequence[tuple[Any, ...]], run_id: int) -> dict[str, int]:
    """Make `table` hold exactly `rows` (keyed by security, period end, filed date)."""
    target = sql.Identifier("stocks_research", table)
    stage = sql.Identifier(f"stage_{table}")
    conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(stage, target))
    with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
            stage, sql.SQL(", ").join(map(sql.Identifier, cols)))) as copy:
        for row in rows:
            copy.write_row(row)
    counts = sync_from_stage(conn, target, _KEY, [c for c in cols if c not in _KEY], Scope(),
                             stage=stage, stamp={"run_id": sql.Literal(run_id)},
                             insert_order=_KEY, staged=len(rows))
    conn.execute(sql.SQL("DROP TABLE {}").format(stage))
    return {"deleted": counts.deleted, "updated": counts.updated, "inserted": counts.inserted}


def run_fundamentals_derived(ctx: JobContext, _: None) -> Outcome:
    """Recompute quarters and YoY of every security with raw rows, in one transaction."""
    conn, run_id = ctx.conn, ctx.run_id
    quarters: list[tuple[Any, ...]] = []
    yoy: list[tuple[Any, ...]] = []
    with conn.transaction():
        sids = [r[0] for r in conn.execute("SELECT DISTINCT security_id FROM "
                                           "stocks_research.fundamentals_quarterly_raw ORDER BY 1")]
        for sid in sids:
            versions = compute_quarters(read_raw_periods(conn, sid))
            quarters += [(sid, *astuple(q)) for q in versions]
            yoy += [(sid, *astuple(y)) for y in compute_yoy(versions)]
        q_counts = _write_derived(conn, "fundamentals_quarterly", _Q_COLS, quarters, run_id)
        y_counts = _write_derived(conn, "fundamentals_quarterly_yoy", _Y_COLS, yoy, run_id)
    return Outcome(counts=dict(securities=len(sids), quarters=len(quarters), yoy=len(yoy),
                               **q_counts, **{f"yoy_{k}": v for k, v in y_counts.items()}))


RAW_JOB = Job[Iterable[CompanyFacts]](
    name="fundamentals_quarterly_raw",
    summary="SEC companyfacts periods per security (by CIK); every filing of a period kept.",
    run=run_fundamentals_raw,
    sources={"files": facts_from_files, "sec": facts_from_sec},
    pre_gate=(c.schema_is_latest, c.securities_present, c.securities_with_cik),
    post_gate=(c.no_orphans("fundamentals_quarterly_raw"),),
    depends_on=("securities_master",),
    writes=("fundamentals_quarterly_raw",),
    reads=("securities",),
    no_input=_no_facts,
    tables=(Table(
        "fundamentals_quarterly_raw", layer=Layer.RAW,
        freshness="within a day of a filing's acceptance on EDGAR",
        completeness="every period of every filing in the companyfacts document of each "
                     "security with a CIK; a fact not loaded is a rejected row with its reason "
                     "(missing_tag, unknown_unit, malformed_fact, ...)",
        retention="forever: every filing of a period is kept (restatements included); nothing "
                  "is deleted, and an unchanged payload is not rewritten"),),
)

_DERIVED_RETENTION = ("one version per filing that changed the quarter, kept as long as the raw "
                      "rows that give it: each run recomputes from the raw rows, inserting new "
                      "versions and deleting vanished ones")

DERIVED_JOB = Job[None](
    name="fundamentals_derived",
    summary="Point-in-time quarters (Q4 = FY - 9M) and year-over-year growth from the raw rows.",
    run=run_fundamentals_derived,
    pre_gate=(c.schema_is_latest, c.fundamentals_raw_present),
    post_gate=(c.raw_quarters_derived, c.yoy_where_prior_exists,
               c.no_orphans("fundamentals_quarterly")),
    depends_on=("fundamentals_quarterly_raw",),
    writes=("fundamentals_quarterly", "fundamentals_quarterly_yoy"),
    reads=("fundamentals_quarterly_raw",),
    no_input=_no_facts,
    tables=(
        Table("fundamentals_quarterly", layer=Layer.DERIVED,
              freshness="within a day of a filing, right after fundamentals_quarterly_raw",
              completeness=f"a quarter for every raw period of {QUARTER_DAYS[0]}-"
                           f"{QUARTER_DAYS[1]} days carrying revenue or diluted EPS, and Q4 "
                           "(FY - 9-month YTD) once the fiscal year is filed",
              retention=_DERIVED_RETENTION),
        Table("fundamentals_quarterly_yoy", layer=Layer.DERIVED,
              freshness="within a day of a filing, with fundamentals_quarterly",
              completeness=f"a row for every derived quarter whose quarter a year earlier "
                           f"(+- {MATCH_DAYS} days) exists",
              retention=_DERIVED_RETENTION),
    ),
)
