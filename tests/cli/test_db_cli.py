"""`stocksdb db status` (dates held per table, a stopped server left stopped) and
`db checksum --table`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.fix_cli import stocksdb

# The tables with a date, as docs/schema.md describes them, and the date each is placed by.
DATED = {"prices_daily": "trade_date", "adjustment_factors_daily": "trade_date",
         "corporate_actions": "ex_date", "fundamentals_quarterly_raw": "period_end",
         "fundamentals_quarterly": "period_end", "fundamentals_quarterly_yoy": "period_end",
         "trading_sessions": "session_date", "macro_observations": "obs_date",
         "macro_events": "release_date"}


def test_status_shows_dates_held_and_newest_session(adjusted_market: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """adjusted_market holds bars and factors 2024-01-02..04 and one split ex 2024-01-04;
    every dated table is listed, empty ones without dates."""
    code, out, err = stocksdb(capsys, "--dsn", adjusted_market, "db", "status", "--json")
    assert code == 0, err
    dates = json.loads(out)["dates"]
    assert {t: d["column"] for t, d in dates.items()} == DATED
    for table in ("prices_daily", "adjustment_factors_daily"):
        assert (dates[table]["first"], dates[table]["newest"]) == ("2024-01-02", "2024-01-04")
    assert dates["corporate_actions"]["newest"] == "2024-01-04"
    assert dates["macro_observations"] == {"column": "obs_date", "first": None, "newest": None}
    code, out, err = stocksdb(capsys, "--dsn", adjusted_market, "db", "status", "--format", "csv")
    rows = {r["table"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["prices_daily"] == {"table": "prices_daily", "rows": "9",
                                    "date_column": "trade_date", "first": "2024-01-02",
                                    "newest": "2024-01-04"}
    assert rows["securities"]["first"] == "" and rows["securities"]["rows"] == "3"
    code, out, err = stocksdb(capsys, "--dsn", adjusted_market, "db", "status")
    assert code == 0 and "2024-01-04" in out and "newest" in out, out + err


def test_status_leaves_a_stopped_embedded_server_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """With the embedded server configured but never started, `db status` says it is stopped
    (exit 0) and neither initialises nor starts it."""
    home = tmp_path / "home"
    monkeypatch.setenv("STOCKSDB_HOME", str(home))
    for var in ("STOCKSDB_DSN", "PGHOST", "PGDATABASE", "TIMESCALEDB_URL", "TIMESCALEDB_HOST"):
        monkeypatch.delenv(var, raising=False)
    code, out, err = stocksdb(capsys, "db", "status")
    assert code == 0 and "embedded server: stopped" in out and "db start" in out, out + err
    code, out, err = stocksdb(capsys, "db", "status", "--json")
    report = json.loads(out)
    assert code == 0 and report["server"]["running"] is False and report["dsn"] is None, err
    assert not (home / "pgdata" / "PG_VERSION").exists()
    assert not (home / "pgdata" / "postmaster.pid").exists()


def test_checksum_of_an_unknown_table_lists_the_tables(db: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """--table nosuch exits 2 naming it and the data tables; a known one prints alone."""
    code, out, err = stocksdb(capsys, "--dsn", db, "db", "checksum", "--table", "nosuch")
    assert code == 2 and "'nosuch'" in err and "prices_daily" in err, err
    assert "Traceback" not in err and out == ""
    code, out, err = stocksdb(capsys, "--dsn", db, "db", "checksum", "--table", "securities",
                              "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [(r["table"], r["rows"]) for r in rows] == [("securities", "0")], err
