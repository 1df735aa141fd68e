"""corporate_actions: canonical events, rejected rows, and a gate that refuses bad batches."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from stocksdb.config import Settings
from stocksdb.db.checksum import database_checksums
from stocksdb.db.connection import connect
from stocksdb.errors import GateFailedError
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import (
    dividend,
    make_interval,
    make_security,
    split,
    write_actions,
    write_reference,
)
from tests.fix_http import vendor_bytes
from tests.fix_pg import count_rows


def loaded(db: str, root: Path) -> None:
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=root))
    run_job(Settings(), db, RunRequest(job="prices_daily", path=root, start=date(2024, 1, 2)))


def actions(db: str) -> list[tuple[str, str, str, Any, Any, Any]]:
    with connect(db) as c:
        return c.execute(
            "SELECT th.ticker, c.action_type, c.ex_date::text, c.split_from, c.split_to, "
            "c.cash_amount FROM corporate_actions c JOIN ticker_history th "
            "ON th.security_id = c.security_id AND th.valid_from <= c.ex_date "
            "AND (th.valid_to IS NULL OR c.ex_date < th.valid_to) ORDER BY 3, 1, 2").fetchall()


def run_actions(db: str, root: Path) -> Any:
    return run_job(Settings(), db, RunRequest(job="corporate_actions", path=root))


def test_events_are_classified_and_resolved_as_of_ex_date(db: str, market: Path) -> None:
    """FB's event before the rename and META's after land on one security, typed correctly."""
    loaded(db, market)
    write_actions(market, [split("FB", "2024-01-03", 1, 4), split("IBM", "2024-01-04", 10, 1),
                           split("AAPL", "2024-01-03", 1, 1)],
                  [dividend("META", "2024-01-04", 0.5), dividend("AAPL", "2024-01-04", 2.0, "SC")])
    report = run_actions(db, market)
    assert report.status == "succeeded", report.as_dict()
    assert actions(db) == [
        ("FB", "split", "2024-01-03", 1.0, 4.0, None),
        ("AAPL", "special_dividend", "2024-01-04", None, None, 2.0),
        ("IBM", "reverse_split", "2024-01-04", 10.0, 1.0, None),
        ("META", "cash_dividend", "2024-01-04", None, None, 0.5)]
    assert report.rejected == {"one_to_one_split": 1}


def test_rerun_keeps_checksum(db: str, market: Path) -> None:
    """Running corporate_actions twice over the same files changes no digest."""
    loaded(db, market)
    write_actions(market, [split("FB", "2024-01-03", 1, 4)], [dividend("IBM", "2024-01-03", 1)])
    run_actions(db, market)
    with connect(db) as c:
        before = database_checksums(c)
    report = run_actions(db, market)
    with connect(db) as c:
        assert database_checksums(c) == before
    assert report.counts["unchanged"] == 2 and report.counts["inserted"] == 0


@pytest.mark.parametrize(("splits", "dividends", "check", "example"), [
    ([], [dividend("IBM", "2024-01-03", 1.0), dividend("IBM", "2024-01-03", 1.5)],
     "corporate_actions.no_conflicting_duplicates", "[1.0], [None, None, 1.5]"),
    ([split("AAPL", "2024-01-03", 0, 4)], [], "corporate_actions.split_ratio_positive",
     "'2024-01-03', 0.0, 4.0"),
    ([], [dividend("IBM", "2024-01-03", 160.0)],
     "corporate_actions.dividend_below_previous_close", "'2024-01-03', 160.0, 160.0"),
], ids=["conflicting_duplicate", "non_positive_ratio", "dividend_not_below_close"])
def test_gate_refuses_and_writes_nothing(db: str, market: Path, splits: list[dict[str, Any]],
                                         dividends: list[dict[str, Any]], check: str,
                                         example: str) -> None:
    """Each bad batch fails its check with the offending keys; no event is written."""
    loaded(db, market)
    write_actions(market, [split("FB", "2024-01-03", 1, 4), *splits],
                  [dividend("AAPL", "2024-01-04", 1.0), *dividends])
    with pytest.raises(GateFailedError, match=check) as err:
        run_actions(db, market)
    assert err.value.exit_code == 3
    assert example.replace("[1.0], ", "") in str(err.value) or example in str(err.value)
    assert count_rows(db, "corporate_actions") == 0
    with connect(db) as c:
        status = c.execute("SELECT status FROM ingestion.job_runs WHERE job = "
                           "'corporate_actions'").fetchone()
        stored = c.execute("SELECT status FROM ingestion.gate_results WHERE check_name = %s",
                           (check,)).fetchone()
    assert status == ("failed",) and stored == ("fail",)


def test_dividend_without_previous_close_is_refused(db: str, market: Path) -> None:
    """IBM has no bar before its ex-date (the market has): the gate names it, writes nothing."""
    from tests.fix_data import make_bar, write_day

    write_day(market, "2024-01-02", [make_bar("AAPL", "2024-01-02", 180)])
    loaded(db, market)
    write_actions(market, [], [dividend("IBM", "2024-01-03", 1.0)])
    with pytest.raises(GateFailedError, match=r"dividend_has_previous_close.*'2024-01-03', 1.0"):
        run_actions(db, market)
    assert count_rows(db, "corporate_actions") == 0


def test_refused_run_still_records_its_rejected_rows(db: str, market: Path) -> None:
    """A 1:1 split rejected in a run the gate rolls back is still in rejected_rows."""
    loaded(db, market)
    write_actions(market, [split("AAPL", "2024-01-03", 1, 1), split("IBM", "2024-01-03", -1, 2)],
                  [])
    with pytest.raises(GateFailedError):
        run_actions(db, market)
    with connect(db) as c:
        got = c.execute("SELECT reason_code FROM ingestion.rejected_rows").fetchall()
    assert got == [("one_to_one_split",)]


TICKERS = ("GOOGL", "GOOG", "CTO", "SHOP", "DXCM", "AMZN", "BRW", "CM", "CIG.C", "CSSEN",
           "AIRTP")
# Valid FIGIs made for this test (not the real ones): 'BBG' + 8 chars + check digit.
FIGIS = ("BBG000000016", "BBG000000025", "BBG000000034", "BBG000000043", "BBG000000052",
         "BBG000000061", "BBG000000070", "BBG000000089", "BBG000000098", "BBG0000000B5",
         "BBG0000000C4")


def test_recorded_massive_splits_collapse_shop_duplicate(
        db: str, tmp_path: Path, httpserver: HTTPServer, loopback_settings: Settings) -> None:
    """Polygon's recorded splits: SHOP's twice-listed 10:1 becomes one event (2022-06-29)."""
    root = write_reference(tmp_path, [make_security(f) for f in FIGIS],
                           [make_interval(f, t, "2000-01-03") for f, t in zip(FIGIS, TICKERS,
                                                                               strict=True)])
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=root))
    for name in ("splits", "dividends"):
        httpserver.expect_request(f"/v3/reference/{name}").respond_with_data(
            vendor_bytes(f"massive/v3/reference/{name}.json"), content_type="application/json")
    settings = replace(loopback_settings, massive_rest_calls_per_minute=0)
    report = run_job(settings, db, RunRequest(job="corporate_actions", source="massive"))
    assert report.status == "succeeded", report.as_dict()
    got = [a for a in actions(db) if a[0] == "SHOP"]
    assert got == [("SHOP", "split", "2022-06-29", 1.0, 10.0, None)]
    assert report.rejected == {"duplicate_event": 1}
    assert ("BRW", "reverse_split", "2022-05-20", 2.0, 1.0, None) in actions(db)
    assert ("CIG.C", "split", "2022-05-02", 3.0, 4.0, None) in actions(db)


def test_nan_and_infinity_in_vendor_json_are_rejected_not_a_crash(db: str, market: Path) -> None:
    """NaN / Infinity tokens (which Python's json accepts) become non_finite_value rejects
    with their raw values recorded; the valid events still load."""
    loaded(db, market)
    folder = market / "corporate_actions"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "splits.json").write_text(
        '{"status": "OK", "results": [{"execution_date": "2024-01-03", "split_from": 1, '
        '"split_to": Infinity, "ticker": "AAPL"}, {"execution_date": "2024-01-03", '
        '"split_from": 1, "split_to": 4, "ticker": "IBM"}]}')
    (folder / "dividends.json").write_text(
        '{"status": "OK", "results": [{"cash_amount": NaN, "currency": "USD", '
        '"dividend_type": "CD", "ex_dividend_date": "2024-01-03", "ticker": "AAPL"}]}')
    report = run_actions(db, market)
    assert report.status == "succeeded", report.as_dict()
    assert report.rejected == {"non_finite_value": 2}
    with connect(db) as c:
        raws = sorted(r[0] for r in c.execute(
            "SELECT coalesce(raw->>'split_to', raw->>'cash_amount') FROM rejected_rows "
            "WHERE reason_code = 'non_finite_value'"))
    assert raws == ["inf", "nan"]
    assert [a[:3] for a in actions(db)] == [("IBM", "split", "2024-01-03")]
