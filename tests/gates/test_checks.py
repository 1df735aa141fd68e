"""Phase gates: pre-gates refuse and write nothing; post-gates flag broken invariants."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.errors import GateFailedError
from stocksdb.gates.checks import GateContext, date_coverage, security_coverage
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample import generate_sample
from tests.fix_cli import stocksdb
from tests.fix_data import (
    IBM,
    dividend,
    make_bar,
    make_interval,
    make_security,
    write_actions,
    write_day,
    write_reference,
)
from tests.fix_pg import count_rows


def gate_rows(db: str) -> list[tuple[str, str, str, str]]:
    with connect(db) as c:
        return c.execute("SELECT j.status, g.phase, g.check_name, g.status FROM "
                         "ingestion.gate_results g JOIN ingestion.job_runs j USING (run_id) "
                         "ORDER BY g.run_id, g.phase DESC, g.check_name").fetchall()


def test_prices_without_ticker_history_is_refused_with_exit_3(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The pre-gate refuses prices_daily before any ticker history exists; nothing is written."""
    assert stocksdb(capsys, "--dsn", db, "run", "securities_master", "--path", str(market))[0] == 0
    code, _, err = stocksdb(capsys, "--dsn", db, "run", "prices_daily", "--path", str(market),
                            "--start", "2024-01-02")
    assert code == 3 and "ticker_history.non_empty" in err and "nothing was written" in err
    assert count_rows(db, "prices_daily") == 0
    assert count_rows(db, "ingestion.source_files") == 0
    refused = [r for r in gate_rows(db) if r[0] == "refused"]
    assert ("refused", "pre", "ticker_history.non_empty", "fail") in refused


def test_validate_prints_each_check_and_exits_3_on_failure(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`validate ticker_history` on an empty database fails securities.non_empty (exit 3)."""
    code, out, _ = stocksdb(capsys, "--dsn", db, "validate", "ticker_history", "--json")
    results = {r["check"]: r["status"] for r in json.loads(out)["results"]}
    assert code == 3
    assert results == {"schema.latest_migration": "pass", "securities.non_empty": "fail"}
    code, out, _ = stocksdb(capsys, "--dsn", db, "validate", "securities_master")
    assert code == 0 and "schema.latest_migration" in out


def test_overlapping_history_in_database_blocks_prices(db: str, tmp_path: Path) -> None:
    """Overlaps written behind the trigger's back are caught by the pre-gate, with keys."""
    root = write_reference(tmp_path, [make_security(IBM)],
                           [make_interval(IBM, "IBM", "2000-01-03")])
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=root))
    with connect(db, autocommit=True) as c:
        c.execute("ALTER TABLE ticker_history DISABLE TRIGGER ticker_history_no_overlap")
        c.execute("INSERT INTO ticker_history (ticker, valid_from, security_id) "
                  "SELECT 'IBM', '2010-01-04', security_id FROM securities")
    with pytest.raises(GateFailedError, match=r"ticker_history.no_overlaps.*IBM") as err:
        run_job(Settings(), db, RunRequest(job="prices_daily", path=root, start=date(2024, 1, 2)))
    assert err.value.exit_code == 3


def test_orphan_price_row_fails_the_post_gate(db: str, market: Path) -> None:
    """A prices_daily row whose security does not exist fails prices_daily.no_orphans."""
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=market))
    with connect(db, autocommit=True) as c:
        c.execute("SELECT ensure_year_partitions('prices_daily', '2023-06-01', '2023-06-01')")
        c.execute("INSERT INTO prices_daily (security_id, trade_date, open, high, low, close, "
                  "volume, source) VALUES (999999, '2023-06-01', 1, 1, 1, 1, 0, 'x')")
    with pytest.raises(GateFailedError, match=r"prices_daily.no_orphans.*999999"):
        run_job(Settings(), db, RunRequest(job="prices_daily", path=market,
                                           start=date(2024, 1, 2)))
    assert gate_rows(db)[-3:][0][:1] == ("failed",)


def test_gutted_day_file_fails_date_coverage(db: str, tmp_path: Path) -> None:
    """A day file holding a handful of the listed universe fails prices_daily.date_coverage."""
    root = tmp_path / "m"
    generate_sample(root, securities=60, start=date(2024, 1, 2), end=date(2024, 3, 1), seed=5)
    path = root / "flatfiles/us_stocks_sip/day_aggs_v1/2024/02/2024-02-01.csv.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    path.write_bytes(gzip.compress(("\n".join(lines[:6]) + "\n").encode(), mtime=0))
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=root))
    with pytest.raises(GateFailedError, match=r"date_coverage.*2024-02-01"):
        run_job(Settings(), db, RunRequest(job="prices_daily", path=root,
                                           start=date(2024, 1, 2)))
    with connect(db) as c:
        status = c.execute("SELECT status FROM ingestion.job_runs WHERE job = 'prices_daily'"
                           ).fetchone()
    assert status == ("failed",)


def test_validate_exdate_close_needs_a_close_on_the_ex_date(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A dividend on a day IBM did not trade passes for crsp but fails for exdate_close."""
    write_day(market, "2024-01-03", [make_bar("AAPL", "2024-01-03", 181),
                                     make_bar("FB", "2024-01-03", 351)])
    write_actions(market, [], [dividend("IBM", "2024-01-03", 1.0)])
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=market))
    run_job(Settings(), db, RunRequest(job="prices_daily", path=market, start=date(2024, 1, 2)))
    run_job(Settings(), db, RunRequest(job="corporate_actions", path=market))
    code, _, _ = stocksdb(capsys, "--dsn", db, "validate", "adjustment_factors_daily")
    assert code == 0
    code, out, _ = stocksdb(capsys, "--dsn", db, "validate", "adjustment_factors_daily",
                            "--method", "exdate_close", "--json")
    failed = [r["check"] for r in json.loads(out)["results"] if r["status"] == "fail"]
    assert code == 3 and failed == ["corporate_actions.dividend_has_exdate_close"]


def test_fundamentals_checks_judge_by_their_declared_day_windows(
        conn: psycopg.Connection[Any]) -> None:
    """A raw 90-day period with revenue and no derived quarter fails covers_raw_periods; a
    181-day one is not a quarter. A quarter 366 days after another, without a YoY row, fails
    present_where_prior_exists; one 400 days after its predecessor is not judged."""
    from stocksdb.gates.checks import raw_quarters_derived, yoy_where_prior_exists

    (sid,) = conn.execute("INSERT INTO stocks_research.securities (composite_figi) VALUES (%s) "
                          "RETURNING security_id", (IBM,)).fetchone() or (None,)
    payload = '{"us-gaap": {"Revenues": {"USD": 1}}}'
    conn.execute("INSERT INTO stocks_research.fundamentals_quarterly_raw (security_id, source, "
                  "accession, period_start, period_end, form, filed_date, payload, "
                  "payload_sha256) VALUES (%(s)s, 'sec', 'a', '2023-01-01', '2023-03-31', '10-Q', "
                  "'2023-05-01', %(p)s, repeat('0', 64)), (%(s)s, 'sec', 'a', '2023-01-01', "
                  "'2023-06-30', '10-Q', '2023-08-01', %(p)s, repeat('0', 64))",
                  {"s": sid, "p": payload})
    ctx = GateContext("fundamentals_derived")
    assert raw_quarters_derived(conn, ctx).examples == ((sid, "2023-03-31"),)
    conn.execute("INSERT INTO stocks_research.fundamentals_quarterly (security_id, period_start, "
                 "period_end, filed_date) VALUES (%(s)s, '2023-01-01', '2023-03-31', "
                 "'2023-05-01'), (%(s)s, '2024-01-01', '2024-03-31', '2024-05-01'), "
                 "(%(s)s, '2025-04-05', '2025-05-05', '2025-06-01')", {"s": sid})
    assert raw_quarters_derived(conn, ctx).failed == 0
    assert yoy_where_prior_exists(conn, ctx).examples == ((sid, "2024-03-31"),)


def _coverage_recorded(dsn: str, run_id: int) -> list[tuple[Any, ...]]:
    with connect(dsn) as c:
        return c.execute("SELECT check_name, status, failed_count, examples, observed "
                         "FROM ingestion.gate_results WHERE run_id = %s AND phase = 'post' "
                         "AND check_name LIKE 'prices_daily.%%coverage' ORDER BY 1",
                         (run_id,)).fetchall()


def _coverage_scanned(dsn: str, sessions: list[str]) -> list[tuple[Any, ...]]:
    """The coverage checks run afresh on the table (no counts handed over: they scan)."""
    ctx = GateContext("prices_daily", tuple(date.fromisoformat(d) for d in sessions))
    with connect(dsn) as c:
        found = [check(c, ctx) for check in (date_coverage, security_coverage)]
    return [(r.check, r.status.value, r.failed,
             json.loads(json.dumps([list(e) if isinstance(e, tuple) else e
                                    for e in r.examples], default=str)),
             json.loads(json.dumps(r.observed, default=str))) for r in found]


@pytest.mark.parametrize("hydrate", [True, False], ids=["hydrated", "per_date"])
def test_post_gate_counts_from_the_load_as_a_scan_would(
        db: str, tmp_path: Path, hydrate: bool, caplog: pytest.LogCaptureFixture) -> None:
    """A run that wrote every date of its span hands its post-gate the bars it counted while
    writing (no scan of the table), whether it hydrated or merged date by date, and so does
    its unchanged re-run: the coverage checks record exactly what a scan of the table gives;
    a date missing 12 of its 60 bars is a date_coverage warning. A stray bar on a date
    between two of the run's dates (which the run did not count) makes the gate scan."""
    root = tmp_path / "m"
    generate_sample(root, securities=60, start=date(2024, 1, 2), end=date(2024, 3, 1), seed=5)
    path = root / "flatfiles/us_stocks_sip/day_aggs_v1/2024/02/2024-02-01.csv.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    path.write_bytes(gzip.compress(("\n".join(lines[:-12]) + "\n").encode(), mtime=0))
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=root))
    for attempt in ("first", "unchanged re-run", "stray bar"):
        if attempt == "stray bar":
            with connect(db, autocommit=True) as c:   # a Saturday inside the span
                c.execute("INSERT INTO stocks_research.prices_daily (security_id, trade_date, "
                          "open, high, low, close, volume, source) SELECT security_id, "
                          "'2024-02-03', open, high, low, close, volume, source FROM "
                          "stocks_research.prices_daily WHERE trade_date = '2024-02-02' "
                          "ORDER BY security_id LIMIT 1")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="stocksdb.gates"):
            report = run_job(Settings(hydrate=hydrate), db,
                             RunRequest(job="prices_daily", path=root, start=date(2024, 1, 2)))
        assert report.status == "succeeded", report.as_dict()
        counted = any("no scan" in r.message for r in caplog.records)
        assert counted == (attempt != "stray bar"), attempt
        recorded = _coverage_recorded(db, report.run_id)
        assert recorded == _coverage_scanned(db, report.extra["session_dates"]), attempt
        date_coverage = recorded[0]
        assert date_coverage[:3] == ("prices_daily.date_coverage", "warn", 1)
        assert date_coverage[3][0][0] == "2024-02-01"
