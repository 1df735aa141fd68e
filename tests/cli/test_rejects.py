"""`stocksdb rejects`: the quarantine at hand, filtered, newest first, counted by reason."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stocksdb.config import Settings
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_cli import stocksdb
from tests.fix_data import load_reference, make_bar, write_day


@pytest.fixture
def quarantined(db: str, market: Path) -> str:
    """prices_daily over 2024-01-02..03 rejected four rows (hand-made): on 01-02 AAPL
    (high 9 < low 9.5: high_below_low) and NOSUCH (unknown_ticker); on 01-03 NOSUCH again
    (unknown_ticker) and IBM (volume -5: negative_volume)."""
    load_reference(db, market)
    write_day(market, "2024-01-02", [make_bar("AAPL", "2024-01-02", high=9, low=9.5),
                                     make_bar("NOSUCH", "2024-01-02"),
                                     make_bar("IBM", "2024-01-02", 160)])
    write_day(market, "2024-01-03", [make_bar("NOSUCH", "2024-01-03"),
                                     make_bar("IBM", "2024-01-03", 161, volume=-5),
                                     make_bar("AAPL", "2024-01-03", 181)])
    run_job(Settings(), db, RunRequest(job="prices_daily", path=market,
                                       start=date(2024, 1, 2), end=date(2024, 1, 3)))
    return db


def test_json_lists_rows_newest_first_with_reason_counts(
        quarantined: str, capsys: pytest.CaptureFixture[str]) -> None:
    """All four rows, 2024-01-03's first; counts per reason over every matching row."""
    code, out, err = stocksdb(capsys, "--dsn", quarantined, "rejects", "--format", "json")
    assert code == 0, err
    got = json.loads(out)
    assert got["total"] == 4 and got["shown"] == 4
    assert got["reason_counts"] == {"unknown_ticker": 2, "high_below_low": 1,
                                    "negative_volume": 1}
    assert [r["trade_date"] for r in got["rows"]] == ["2024-01-03"] * 2 + ["2024-01-02"] * 2
    assert {(r["ticker"], r["reason_code"]) for r in got["rows"][:2]} == {
        ("NOSUCH", "unknown_ticker"), ("IBM", "negative_volume")}
    assert all(isinstance(r["run_id"], int) and r["job"] == "prices_daily" for r in got["rows"])


def test_filters_narrow_rows_and_counts(quarantined: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """--reason with --date, --ticker (any case) and --start/--end pick the hand-made rows;
    --limit cuts the rows shown, not the counts."""
    def rows(*args: str) -> Any:
        code, out, err = stocksdb(capsys, "--dsn", quarantined, "rejects", "--format", "json",
                                  *args)
        assert code == 0, err
        return json.loads(out)

    one = rows("--reason", "unknown_ticker", "--date", "2024-01-03")
    assert [(r["ticker"], r["trade_date"]) for r in one["rows"]] == [("NOSUCH", "2024-01-03")]
    aapl = rows("--ticker", "aapl")
    assert [r["reason_code"] for r in aapl["rows"]] == ["high_below_low"]
    first_day = rows("--start", "2024-01-01", "--end", "2024-01-02", "--job", "prices_daily")
    assert first_day["reason_counts"] == {"high_below_low": 1, "unknown_ticker": 1}
    limited = rows("--limit", "1")
    assert limited["shown"] == 1 and limited["total"] == 4 and len(limited["rows"]) == 1


def test_csv_keeps_stdout_machine_readable(quarantined: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """CSV rows on stdout (every column), the reason counts on stderr."""
    code, out, err = stocksdb(capsys, "--dsn", quarantined, "rejects", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4 and rows[0]["trade_date"] == "2024-01-03"
    assert int(rows[0]["run_id"]) > 0
    assert "unknown_ticker 2" in err and "4 of 4" in err, err


def test_table_prints_rows_then_counts(quarantined: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The table keeps dates and tickers whole and ends with the per-reason counts."""
    code, out, err = stocksdb(capsys, "--dsn", quarantined, "rejects")
    assert code == 0, err
    assert "2024-01-03" in out and "NOSUCH" in out and "by reason" in out
    assert out.index("by reason") > out.index("2024-01-02"), out
    assert "4 of 4 matching row(s) shown" in out


@pytest.mark.parametrize("args", [["--reason", "nosuch_reason"],
                                  ["--date", "2024-01-02", "--start", "2024-01-01"],
                                  ["--job", "nosuch_job"],
                                  ["--start", "2024-01-05", "--end", "2024-01-01"]],
                         ids=["reason", "date-and-start", "job", "inverted"])
def test_bad_filters_are_usage_errors(db: str, args: list[str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2 with a sentence, no traceback; an unknown reason lists the known codes."""
    code, _, err = stocksdb(capsys, "--dsn", db, "rejects", *args)
    assert code == 2, err
    assert "Traceback" not in err
    if args[0] == "--reason":
        assert "high_below_low" in err and "unknown_ticker" in err, err
    if args[0] == "--job":
        assert "prices_daily" in err, err
