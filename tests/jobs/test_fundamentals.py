"""fundamentals_quarterly_raw and fundamentals_derived on real Tesla and Snowflake companyfacts.

Expected numbers come from the issue text and tests/resources/answers/snowflake_quarters.csv
(read from the JSON and computed by hand), never from the code under test.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from psycopg import Connection
from pytest_httpserver import HTTPServer

from stocksdb.config import Settings
from stocksdb.db.checksum import database_checksums
from stocksdb.db.connection import connect
from stocksdb.db.queries import FundamentalsRow, read_fundamentals
from stocksdb.jobs.base import JobContext, JobReport, finish_run, start_run
from stocksdb.jobs.fundamentals import (
    DERIVED_JOB,
    RAW_JOB,
    run_fundamentals_derived,
    run_fundamentals_raw,
)
from stocksdb.jobs.registry import Job
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sources.sec_edgar import CompanyFacts, fetch_company_facts, read_company_facts
from tests.fix_data import RESOURCES, make_security, write_reference
from tests.fix_http import VENDORS, FakeClock
from tests.fix_pg import count_rows

TESLA, SNOW = "BBG000000016", "BBG000000025"
TESLA_CIK, SNOW_CIK = "0001318605", "0001640147"
FILES = {TESLA_CIK: "company_facts.json", SNOW_CIK: "snow_facts.json"}


def load_securities(db: str, root: Path) -> None:
    """Tesla and Snowflake as securities with their CIKs (made-up but valid FIGIs)."""
    write_reference(root, [make_security(TESLA, name="Tesla", cik=TESLA_CIK),
                           make_security(SNOW, name="Snowflake", cik=SNOW_CIK)], [])
    report = run_job(Settings(), db, RunRequest(job="securities_master", source="files",
                                                path=root))
    assert report.status == "succeeded", report.as_dict()


def facts_tree(root: Path, files: dict[str, str] = FILES) -> Path:
    """DIR/fundamentals/companyfacts/CIK##########.json copied from the vendor resources."""
    folder = root / "fundamentals" / "companyfacts"
    folder.mkdir(parents=True)
    for cik, name in files.items():
        shutil.copyfile(VENDORS / "sec" / name, folder / f"CIK{cik}.json")
    return root


def _context(db: str, conn: Connection[Any], job: Job[Any], source: str | None) -> JobContext:
    """A run record and context for calling a job's body directly (no gates)."""
    request = job.resolve(RunRequest(job=job.name, source=source))
    return JobContext(db, Settings(), request, job, start_run(conn, job.name, request.params()),
                      conn)


def run_raw(db: str, companies: Iterable[CompanyFacts], source: str = "files") -> JobReport:
    with connect(db, autocommit=True) as conn:
        ctx = _context(db, conn, RAW_JOB, source)
        ctx.report.take(run_fundamentals_raw(ctx, companies))
        return finish_run(conn, ctx.report, "succeeded")


def run_derived(db: str) -> JobReport:
    with connect(db, autocommit=True) as conn:
        ctx = _context(db, conn, DERIVED_JOB, None)
        ctx.report.take(run_fundamentals_derived(ctx, None))
        return finish_run(conn, ctx.report, "succeeded")


@pytest.fixture
def loaded(db: str, tmp_path: Path) -> str:
    """Tesla and Snowflake loaded from the files layout, raw and derived."""
    load_securities(db, tmp_path / "ref")
    run_raw(db, read_company_facts(facts_tree(tmp_path / "facts")))
    run_derived(db)
    return db


def quarter(db: str, cik: str, end: date, as_of: date | None = None) -> FundamentalsRow:
    with connect(db) as conn:
        rows = [r for r in read_fundamentals(conn, cik=cik, as_of=as_of)
                if r.quarter.period_end == end]
    assert len(rows) == 1, rows
    return rows[0]


def test_tesla_q4_2021_revenue_is_derived_and_its_yoy_uses_reported_q4_2020(loaded: str) -> None:
    """Q4 2021 = 53,823,000,000 - 36,104,000,000, flagged derived; YoY vs 10,744,000,000."""
    row = quarter(loaded, TESLA_CIK, date(2021, 12, 31))
    q = row.quarter
    assert (q.period_start, q.revenue, q.revenue_derived) == \
        (date(2021, 10, 1), Decimal(17_719_000_000), True), q
    assert (q.fiscal_year, q.fiscal_quarter, q.filed_date) == (2021, 4, date(2022, 2, 7)), q
    assert q.eps_derived and q.eps_approximate, q
    prior = quarter(loaded, TESLA_CIK, date(2020, 12, 31)).quarter
    assert (prior.revenue, prior.revenue_derived) == (Decimal(10_744_000_000), False), prior
    assert row.yoy is not None and row.yoy.prior_period_end == date(2020, 12, 31), row
    assert row.yoy.revenue_yoy is not None, row.yoy
    assert round(row.yoy.revenue_yoy, 4) == Decimal("0.6492"), row.yoy


@pytest.mark.parametrize(("end", "as_of", "eps"), [
    (date(2020, 6, 30), date(2020, 8, 1), "0.50"),
    (date(2020, 6, 30), date(2021, 8, 1), "0.10"),
    (date(2021, 9, 30), date(2021, 11, 1), "1.44"),
    (date(2021, 9, 30), date(2022, 11, 1), "0.48"),
])
def test_tesla_diluted_eps_is_point_in_time_across_splits(loaded: str, end: date, as_of: date,
                                                          eps: str) -> None:
    """EPS as known on the as-of date: restated in later filings after the 5:1 and 3:1 splits."""
    q = quarter(loaded, TESLA_CIK, end, as_of).quarter
    assert q.eps_diluted == Decimal(eps), q
    assert not q.eps_derived and (q.period_end - q.period_start).days < 100, q


def test_quarter_unknown_before_its_first_filing(loaded: str) -> None:
    """Nothing is known of Q4 2021 before the 10-K of 2022-02-07."""
    with connect(loaded) as conn:
        ends = {r.quarter.period_end for r in read_fundamentals(conn, cik=TESLA_CIK,
                                                                as_of=date(2022, 2, 6))}
    assert date(2021, 9, 30) in ends and date(2021, 12, 31) not in ends


def _answers() -> list[dict[str, str]]:
    with (RESOURCES / "answers" / "snowflake_quarters.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("answer", _answers(), ids=lambda a: f"FY{a['fiscal_year']}Q"
                         f"{a['fiscal_quarter']}")
def test_snowflake_quarters_match_answers(loaded: str, answer: dict[str, str]) -> None:
    """Fiscal years ending 31 January: quarters, derived Q4 and YoY as hand-checked."""
    row = quarter(loaded, SNOW_CIK, date.fromisoformat(answer["period_end"]))
    q = row.quarter
    got = (q.fiscal_year, q.fiscal_quarter, str(q.period_start), str(q.filed_date), q.revenue,
           q.revenue_derived, q.eps_diluted, q.eps_derived)
    want = (int(answer["fiscal_year"]), int(answer["fiscal_quarter"]), answer["period_start"],
            answer["filed_date"], Decimal(answer["revenue"]), answer["revenue_derived"] == "true",
            Decimal(answer["eps_diluted"]), answer["eps_derived"] == "true")
    assert got == want, answer["provenance"]
    for column in ("revenue_yoy", "eps_diluted_yoy"):
        if answer[column]:
            assert row.yoy is not None, answer["provenance"]
            value = getattr(row.yoy, column)
            assert abs(value - Decimal(answer[column])) <= Decimal("0.00005"), (column, value)


def test_rerun_rewrites_nothing(loaded: str, tmp_path: Path) -> None:
    """A second raw and derived run over the same files changes no table digest."""
    with connect(loaded) as conn:
        before = database_checksums(conn)
    raw = run_raw(loaded, read_company_facts(facts_tree(tmp_path / "again")))
    derived = run_derived(loaded)
    with connect(loaded) as conn:
        after = database_checksums(conn)
    assert (raw.counts["inserted"], raw.counts["updated"]) == (0, 0), raw.counts
    assert raw.counts["unchanged"] == raw.counts["periods"] > 0, raw.counts
    assert (derived.counts["inserted"], derived.counts["updated"], derived.counts["deleted"]) \
        == (0, 0, 0), derived.counts
    assert after == before


def test_every_filing_of_a_period_is_kept_with_its_payload_digest(loaded: str) -> None:
    """Tesla Q2 2020 EPS is stored from both the 2020 10-Q and the 2021 10-Q comparative."""
    with connect(loaded) as conn:
        rows = conn.execute(
            "SELECT r.accession, r.filed_date, r.payload #>> '{us-gaap,EarningsPerShareDiluted,"
            "USD/shares}', r.payload_sha256 FROM fundamentals_quarterly_raw r "
            "JOIN securities s USING (security_id) WHERE s.cik = %s AND period_start = "
            "'2020-04-01' AND period_end = '2020-06-30' "
            "AND payload #> '{us-gaap,EarningsPerShareDiluted}' IS NOT NULL ORDER BY filed_date",
            (TESLA_CIK,)).fetchall()
    assert [(r[0], str(r[1]), r[2]) for r in rows] == [
        ("0001564590-20-033670", "2020-07-28", "0.5"),
        ("0000950170-21-000524", "2021-07-27", "0.1")], rows
    assert all(len(r[3]) == 64 for r in rows)


def bad_payload() -> dict[str, object]:
    """A tiny companyfacts document: one good revenue fact, one text value, one EUR revenue,
    and no diluted-EPS tag at all."""
    good = {"start": "2023-01-01", "end": "2023-03-31", "val": 100, "accn": "0000000001-23-1",
            "fy": 2023, "fp": "Q1", "form": "10-Q", "filed": "2023-05-01"}
    return {"cik": 1318605, "entityName": "Bad Corp", "facts": {"us-gaap": {
        "Revenues": {"units": {"USD": [good, {**good, "end": "2023-06-30",
                                               "start": "2023-04-01", "val": "n/a"}],
                               "EUR": [{**good, "val": 90}]}}}}}


def test_bad_facts_become_rejected_rows_not_a_crash(db: str, tmp_path: Path) -> None:
    """A text value, an unknown unit and a missing EPS tag are rejected with their reasons."""
    load_securities(db, tmp_path / "ref")
    report = run_raw(db, [CompanyFacts(TESLA_CIK, bad_payload(), "bad.json")])
    assert report.rejected == {"non_numeric_value": 1, "unknown_unit": 1, "missing_tag": 1}, \
        report.rejected
    with connect(db) as conn:
        reasons = conn.execute("SELECT reason_code, source_key FROM ingestion.rejected_rows "
                               "ORDER BY reason_code").fetchall()
    assert reasons == [("missing_tag", "bad.json"), ("non_numeric_value", "bad.json#Revenues"),
                       ("unknown_unit", "bad.json#Revenues")], reasons
    assert count_rows(db, "stocks_research.fundamentals_quarterly_raw") == 1
    run_derived(db)
    assert count_rows(db, "stocks_research.fundamentals_quarterly") == 1


def test_unknown_cik_is_rejected(db: str, tmp_path: Path) -> None:
    """A document whose CIK matches no security loads nothing and says why."""
    tree = facts_tree(tmp_path / "f", {SNOW_CIK: FILES[SNOW_CIK]})
    report = run_raw(db, read_company_facts(tree))
    assert report.rejected == {"unknown_security": 1}, report.rejected
    assert count_rows(db, "stocks_research.fundamentals_quarterly_raw") == 0


def test_sec_source_on_loopback_loads_like_files(db: str, tmp_path: Path,
                                                 httpserver: HTTPServer) -> None:
    """companyfacts fetched over HTTP with the User-Agent gives the same Tesla Q4 2021."""
    payload = json.loads((VENDORS / "sec" / FILES[TESLA_CIK]).read_text())
    httpserver.expect_request(f"/api/xbrl/companyfacts/CIK{TESLA_CIK}.json",
                              headers={"User-Agent": "stocksdb tests test@example.com"}
                              ).respond_with_json(payload)
    load_securities(db, tmp_path / "ref")
    clock = FakeClock()
    companies = fetch_company_facts(Settings(sec_user_agent="stocksdb tests test@example.com"),
                                    [TESLA_CIK], data_url=httpserver.url_for("/").rstrip("/"),
                                    clock=clock.clock, sleep=clock.sleep)
    report = run_raw(db, companies, source="sec")
    run_derived(db)
    assert report.counts["companies"] == 1 and report.counts["inserted"] > 0, report.counts
    q = quarter(db, TESLA_CIK, date(2021, 12, 31)).quarter
    assert (q.revenue, q.revenue_derived) == (Decimal(17_719_000_000), True), q
