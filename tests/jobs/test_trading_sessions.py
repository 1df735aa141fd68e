"""trading_sessions: the sample's range filled from the calendar, idempotent re-runs, the
post-gate (a bar dated a holiday; a session without a day file), the prices loader reading the
table, and bootstrap running the job.

Expected sessions are counted by hand from NYSE's calendar (nyse.com "Holidays & Trading
Hours"): May 2024 has 23 weekdays less Memorial Day (27th) = 22 sessions, June 20 less
Juneteenth (19th) = 19, July 23 less Independence Day = 22; 2024-07-03 closes at 13:00 New
York (17:00 UTC). 2024-01-01 is New Year's Day.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.errors import GateFailedError
from stocksdb.jobs.base import JobReport
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_cli import stocksdb
from tests.fix_data import load_reference
from tests.fix_pg import checksums
from tests.fix_sample import make_small_sample


def sessions_job(db: str, **kw: Any) -> JobReport:
    return run_job(Settings(), db, RunRequest(job="trading_sessions", **kw))


def prices(db: str, root: Path, **kw: Any) -> JobReport:
    return run_job(Settings(), db, RunRequest(job="prices_daily", path=root, **kw))


def stored(db: str, exchange: str = "XNYS") -> list[tuple[str, datetime, datetime, bool]]:
    with connect(db) as c:
        rows = c.execute("SELECT session_date, open_at, close_at, early_close "
                         "FROM stocks_research.trading_sessions WHERE exchange = %s "
                         "ORDER BY 1", (exchange,)).fetchall()
    return [(d.isoformat(), o, cl, e) for d, o, cl, e in rows]


def coverage(db: str) -> dict[str, str]:
    with connect(db) as c:
        rows = c.execute("SELECT exchange, covered::text "
                         "FROM stocks_research.trading_session_coverage").fetchall()
    return dict(rows)


def post_gate(db: str, run_id: int) -> dict[str, tuple[str, list[Any], dict[str, Any]]]:
    with connect(db) as c:
        rows = c.execute("SELECT check_name, status, examples, observed "
                         "FROM ingestion.gate_results WHERE run_id = %s AND phase = 'post'",
                         (run_id,)).fetchall()
    return {name: (status, examples, observed) for name, status, examples, observed in rows}


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 60-security sample of May-July 2024 (tests/fix_sample.py)."""
    root = tmp_path_factory.mktemp("sessions") / "market"
    make_small_sample(root)
    return root


def test_default_range_covers_the_samples_range_and_reruns_write_nothing(
        db: str, small_sample: Path) -> None:
    """After loading the sample, the job fills May-July 2024 (63 sessions per exchange, the
    range of the loaded day files), its post-gate passes, and a re-run changes no digest."""
    load_reference(db, small_sample)
    assert prices(db, small_sample, start=date(2024, 5, 1)).status == "succeeded"
    report = sessions_job(db)
    assert report.status == "succeeded", report.as_dict()
    assert report.extra["range"] == {"start": "2024-05-01", "end": "2024-07-31"}
    assert report.counts["sessions"] == 3 * 63 and report.counts["inserted"] == 3 * 63
    xnys = stored(db)
    assert len(xnys) == 22 + 19 + 22
    assert "2024-05-27" not in {d for d, *_ in xnys} and "2024-07-04" not in {d for d, *_ in xnys}
    by_day = {d: (o, cl, e) for d, o, cl, e in xnys}
    assert by_day["2024-07-03"][2] is True
    assert by_day["2024-07-03"][1].isoformat() == "2024-07-03T17:00:00+00:00"
    assert by_day["2024-07-05"][:2] == (datetime.fromisoformat("2024-07-05T13:30:00+00:00"),
                                        datetime.fromisoformat("2024-07-05T20:00:00+00:00"))
    assert [d for d, *_ in stored(db, "XNAS")] == [d for d, *_ in xnys]
    assert coverage(db) == {x: "{[2024-05-01,2024-08-01)}" for x in ("XNYS", "XNAS", "ARCX")}
    gate = post_gate(db, report.run_id)
    assert gate["prices_daily.dates_are_sessions"][0] == "pass"
    assert gate["trading_sessions.day_files_accounted"][:2] == ("pass", [])
    before = checksums(db)
    again = sessions_job(db)
    assert (again.counts["inserted"], again.counts["updated"], again.counts["deleted"]) == \
        (0, 0, 0)
    assert checksums(db) == before


def test_post_gate_fails_on_a_price_row_dated_a_holiday(db: str, market: Path) -> None:
    """A bar dated New Year's Day 2024 (which a mixed-up vendor file or a hand fix could
    leave; the loader itself never walks a holiday) fails `prices_daily.dates_are_sessions`;
    the sessions themselves are stored."""
    load_reference(db, market)
    prices(db, market, start=date(2024, 1, 2))
    with connect(db, autocommit=True) as c:
        c.execute("INSERT INTO stocks_research.prices_daily (security_id, trade_date, open, "
                  "high, low, close, volume, source) SELECT security_id, '2024-01-01', open, "
                  "high, low, close, volume, source FROM stocks_research.prices_daily "
                  "WHERE trade_date = '2024-01-02' ORDER BY security_id LIMIT 1")
    with pytest.raises(GateFailedError, match=r"prices_daily.dates_are_sessions \[not_a_sess"):
        sessions_job(db, start=date(2023, 12, 29), end=date(2024, 1, 4))
    with connect(db) as c:
        run_id, status = c.execute("SELECT run_id, status FROM ingestion.job_runs "
                                   "WHERE job = 'trading_sessions'").fetchone() or (0, "")
    assert status == "failed"
    gate = post_gate(db, run_id)
    assert gate["prices_daily.dates_are_sessions"][:2] == (
        "fail", [["2024-01-01", 1, "not a session"]])
    assert gate["trading_sessions.day_files_accounted"][0] == "pass"
    assert [d for d, *_ in stored(db)] == ["2023-12-29", "2024-01-02", "2024-01-03",
                                          "2024-01-04"]


def test_a_price_row_outside_the_covered_range_fails_too(db: str, market: Path) -> None:
    """With the table covering only 2024-01-03..04, the bars of 2024-01-02 are not known to be
    on a session: the check fails, saying the date is not covered."""
    load_reference(db, market)
    prices(db, market, start=date(2024, 1, 2))
    with pytest.raises(GateFailedError):
        sessions_job(db, start=date(2024, 1, 3))
    with connect(db) as c:
        (run_id,) = c.execute("SELECT max(run_id) FROM ingestion.job_runs").fetchone() or (0,)
    assert post_gate(db, run_id)["prices_daily.dates_are_sessions"][1] == [
        ["2024-01-02", 3, "not covered by trading_sessions"]]


def test_a_session_without_its_day_file_passes_only_when_listed_missing(
        db: str, market: Path) -> None:
    """2024-01-03's day file is gone: prices_daily lists it in job_runs.counts missing_dates,
    which accounts for it; with that record removed the post-gate fails naming the date."""
    (market / "flatfiles/us_stocks_sip/day_aggs_v1/2024/01/2024-01-03.csv.gz").unlink()
    load_reference(db, market)
    assert prices(db, market, start=date(2024, 1, 2), end=date(2024, 1, 4)).status == "partial"
    report = sessions_job(db)
    assert report.extra["range"] == {"start": "2024-01-02", "end": "2024-01-04"}
    status, examples, observed = post_gate(db, report.run_id)[
        "trading_sessions.day_files_accounted"]
    assert (status, examples, observed["listed_missing"]) == ("pass", [], 1)
    with connect(db, autocommit=True) as c:
        c.execute("UPDATE ingestion.job_runs SET counts = counts - 'missing_dates' "
                  "WHERE job = 'prices_daily'")
    with pytest.raises(GateFailedError, match="session_without_day_file"):
        sessions_job(db)
    with connect(db) as c:
        (run_id,) = c.execute("SELECT max(run_id) FROM ingestion.job_runs").fetchone() or (0,)
    assert post_gate(db, run_id)["trading_sessions.day_files_accounted"][:2] == (
        "fail", ["2024-01-03"])


def test_the_prices_loader_takes_its_sessions_from_the_table(db: str, market: Path) -> None:
    """Where trading_sessions covers the range, its sessions are the loader's: a session the
    table lacks (as an ad hoc closure the calendar did not know yet) is neither loaded nor
    reported missing, and the coverage checks say where their sessions came from."""
    load_reference(db, market)
    assert sessions_job(db, start=date(2024, 1, 1), end=date(2024, 1, 31)).status == \
        "succeeded"
    with connect(db, autocommit=True) as c:
        c.execute("DELETE FROM stocks_research.trading_sessions "
                  "WHERE exchange = 'XNYS' AND session_date = '2024-01-03'")
    report = prices(db, market, start=date(2024, 1, 2), end=date(2024, 1, 4))
    assert report.status == "succeeded", report.as_dict()
    assert report.extra["session_dates"] == ["2024-01-02", "2024-01-04"]
    assert report.counts["rows_written"] == 6 and report.counts["sessions_missing"] == 0
    coverage_checks = {r["check"]: r["observed"] for r in report.gates["post"]}
    assert coverage_checks["prices_daily.date_coverage"]["sessions_from"] == "trading_sessions"
    # outside the covered span the calendar answers: 2024-02-01 is not covered
    later = prices(db, market, start=date(2024, 1, 2), end=date(2024, 2, 1))
    assert "2024-01-03" in later.extra["session_dates"]


def test_refilling_restores_edited_rows_and_merges_coverage(db: str) -> None:
    """A re-run over a range puts back a deleted session and corrects an edited one; rows
    outside the range are untouched; adjoining ranges merge into one covered span."""
    assert sessions_job(db, start=date(2024, 1, 2), end=date(2024, 1, 5)).status == "succeeded"
    assert sessions_job(db, start=date(2024, 1, 8), end=date(2024, 1, 12)).status == \
        "succeeded"
    assert coverage(db)["XNYS"] == "{[2024-01-02,2024-01-06),[2024-01-08,2024-01-13)}"
    with connect(db, autocommit=True) as c:
        c.execute("DELETE FROM stocks_research.trading_sessions WHERE session_date = "
                  "'2024-01-03'")
        c.execute("UPDATE stocks_research.trading_sessions SET early_close = true "
                  "WHERE session_date = '2024-01-04'")
        c.execute("INSERT INTO stocks_research.trading_sessions VALUES ('XNYS', '2024-01-06', "
                  "'2024-01-06 14:30+00', '2024-01-06 21:00+00', false)")
    report = sessions_job(db, start=date(2024, 1, 3), end=date(2024, 1, 7))
    assert (report.counts["inserted"], report.counts["updated"], report.counts["deleted"]) == \
        (3, 3, 1), "3 exchanges x (2024-01-03 back, 2024-01-04 fixed); the Saturday deleted"
    assert coverage(db)["XNYS"] == "{[2024-01-02,2024-01-13)}"
    assert [d for d, *_ in stored(db)][:3] == ["2024-01-02", "2024-01-03", "2024-01-04"]


def test_without_loaded_prices_the_range_must_be_given(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing loaded and no --start/--end: exit 2 saying what to pass."""
    code, _, err = stocksdb(capsys, "--dsn", db, "run", "trading_sessions")
    assert code == 2, err
    assert "pass --start and --end" in err
    code, out, err = stocksdb(capsys, "--dsn", db, "run", "trading_sessions", "--start",
                              "2024-01-02", "--end", "2024-01-05")
    assert code == 0, out + err


def test_bootstrap_runs_trading_sessions_over_the_loaded_range(db: str, market: Path) -> None:
    """Bootstrap's checklist has the job after prices_daily; its step, given bootstrap's
    --start and no --end, fills 2024-01-02 .. the last day file (2024-01-04). Bootstrap's
    --source stays files|massive: the securities master's sources."""
    from stocksdb.jobs.registry import get_job
    from stocksdb.ops.bootstrap import BootstrapOptions, job_step, phases, profiles

    names = [name for name, _ in phases()]
    assert names.index("job trading_sessions") > names.index("job prices_daily")
    assert profiles() == ["files", "massive"]
    load_reference(db, market)
    prices(db, market, start=date(2024, 1, 2))
    step = job_step(get_job("trading_sessions"))
    details = step(db, Settings(), BootstrapOptions(source="files", path=market,
                                                     start=date(2024, 1, 2)))
    assert details["counts"]["sessions"] == 3 * 3
    assert details["checks"]["post"] == {"prices_daily.dates_are_sessions": "pass",
                                         "trading_sessions.day_files_accounted": "pass"}
    assert coverage(db)["XNYS"] == "{[2024-01-02,2024-01-05)}"


def test_start_after_the_loaded_files_without_end_names_the_default_end(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--start after the last loaded day file (2024-01-04) and no --end: exit 2 saying the
    default --end is that file's date, not blaming an `end` the user never gave."""
    load_reference(db, market)
    prices(db, market, start=date(2024, 1, 2), end=date(2024, 1, 4))
    code, _, err = stocksdb(capsys, "--dsn", db, "run", "trading_sessions", "--start",
                            "2024-02-01")
    assert code == 2, err
    assert "--start 2024-02-01 is after the last loaded day file (2024-01-04)" in err, err
    assert "parameter `end`" not in err, err
