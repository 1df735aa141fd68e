"""The command line, run in-process against the real test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stocksdb.config import Settings
from tests.fix_cli import stocksdb


def test_run_prints_json_summary_and_checksum_is_stable(
        db: str, reference_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Both jobs run from the CLI; a second pass leaves `db checksum --json` unchanged."""
    for job in ("securities_master", "ticker_history"):
        code, out, err = stocksdb(capsys, "--dsn", db, "run", job, "--path", str(reference_dir),
                                  "--json")
        assert code == 0, err
        assert json.loads(out)["status"] == "succeeded"
    code, first, _ = stocksdb(capsys, "--dsn", db, "db", "checksum", "--json")
    for job in ("securities_master", "ticker_history"):
        assert stocksdb(capsys, "--dsn", db, "run", job, "--path", str(reference_dir))[0] == 0
    code, second, _ = stocksdb(capsys, "--dsn", db, "db", "checksum", "--json")
    assert json.loads(first) == json.loads(second)
    assert json.loads(first)["securities"]["rows"] == 3
    assert json.loads(first)["ticker_history"]["rows"] == 4


def test_status_lists_tables_and_runs(db: str, reference_dir: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`db status --json` shows the migrations applied and the loaded row counts."""
    stocksdb(capsys, "--dsn", db, "run", "securities_master", "--path", str(reference_dir))
    code, out, _ = stocksdb(capsys, "--dsn", db, "db", "status", "--json")
    report = json.loads(out)
    assert code == 0
    assert all(m["applied_at"] for m in report["migrations"])
    assert report["tables"]["securities"] == 3
    assert report["recent_runs"][0]["job"] == "securities_master"


def test_unknown_job_is_a_usage_error(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown job exits 2 and lists the known ones."""
    code, _, err = stocksdb(capsys, "--dsn", db, "run", "nope", "--path", ".")
    assert code == 2 and "securities_master" in err


def test_files_source_without_path_says_what_to_pass(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--source files without --path exits 2 naming --path."""
    code, _, err = stocksdb(capsys, "--dsn", db, "run", "securities_master")
    assert code == 2 and "--path" in err


def test_bad_file_is_exit_2_with_clear_message(db: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A missing reference file exits 2 and names the file."""
    (tmp_path / "reference").mkdir()
    code, _, err = stocksdb(capsys, "--dsn", db, "run", "securities_master", "--path",
                            str(tmp_path))
    assert code == 2 and "securities.csv" in err and "Traceback" not in err


def test_unreachable_database_is_exit_1_without_password(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A DSN that does not connect exits 1 and never echoes its password."""
    dsn = "postgresql://u:hunter2secret@127.0.0.1:1/x?connect_timeout=2"
    code, _, err = stocksdb(capsys, "--dsn", dsn, "db", "checksum")
    assert code == 1 and "cannot connect" in err
    assert "hunter2secret" not in err


def test_secrets_stay_out_of_settings_repr_and_run_logs(
        db: str, reference_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Fake keys in the environment appear neither in repr(Settings) nor in a run's output."""
    fake = {"MASSIVE_API_KEY": "fakekey_AAA111", "MASSIVE_S3_ACCESS_KEY_ID": "fakekey_BBB222",
            "MASSIVE_S3_SECRET_ACCESS_KEY": "fakekey_CCC333", "OPENFIGI_API_KEY": "fakekey_D4"}
    for k, v in fake.items():
        monkeypatch.setenv(k, v)
    import os

    settings = Settings.from_env(os.environ, dsn="postgresql://u:pw_EEE555@h/db")
    assert settings.massive_api_key == "fakekey_AAA111"
    text = repr(settings)
    code, out, err = stocksdb(capsys, "--dsn", db, "--debug", "run", "securities_master",
                              "--path", str(reference_dir), "--json")
    assert code == 0
    for secret in [*fake.values(), "pw_EEE555"]:
        assert secret not in text and secret not in out and secret not in err


def test_embedded_server_lifecycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """`db start`, `db migrate`, `db status`, `db stop` on a private embedded server."""
    monkeypatch.setenv("STOCKSDB_HOME", str(tmp_path / "home"))
    for var in ("STOCKSDB_DSN", "PGHOST", "PGDATABASE"):
        monkeypatch.delenv(var, raising=False)
    try:
        code, out, err = stocksdb(capsys, "db", "start")
        assert code == 0 and "running" in out, err
        assert f"password in {tmp_path / 'home' / 'pgpass'}" in out
        assert stocksdb(capsys, "db", "migrate")[0] == 0
        code, out, _ = stocksdb(capsys, "db", "status", "--json")
        report = json.loads(out)
        assert report["server"]["running"] and report["tables"]["securities"] == 0
        code, out, _ = stocksdb(capsys, "db", "url")
        assert "stocks_research" in out
    finally:
        code, out, _ = stocksdb(capsys, "db", "stop")
    assert code == 0 and "stopped" in out
    code, out, _ = stocksdb(capsys, "db", "status")   # reports it stopped, does not start it
    assert code == 0 and "embedded server: stopped;" in out, out
    assert not (tmp_path / "home" / "pgdata" / "postmaster.pid").exists()


def test_prices_run_with_missing_date_exits_1_and_names_it(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A prices_daily run missing a day file exits 1, names the date, records it in job_runs."""
    for job in ("securities_master", "ticker_history"):
        assert stocksdb(capsys, "--dsn", db, "run", job, "--path", str(market))[0] == 0
    (market / "flatfiles/us_stocks_sip/day_aggs_v1/2024/01/2024-01-03.csv.gz").unlink()
    code, out, _ = stocksdb(capsys, "--dsn", db, "run", "prices_daily", "--path", str(market),
                            "--start", "2024-01-02", "--end", "2024-01-04", "--json")
    summary = json.loads(out)
    assert code == 1 and summary["status"] == "partial"
    assert summary["missing_dates"] == ["2024-01-03"]
    assert summary["counts"]["sessions_ok"] == 2
    from stocksdb.db.connection import connect

    with connect(db) as c:
        row = c.execute("SELECT status, counts->'missing_dates', error FROM ingestion.job_runs "
                        "WHERE job = 'prices_daily'").fetchone()
    assert row is not None and row[0] == "partial" and row[1] == ["2024-01-03"]
    assert "2024-01-03" in row[2]


def test_start_and_days_together_is_a_usage_error(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--start with --days exits 2."""
    code, _, err = stocksdb(capsys, "--dsn", db, "run", "prices_daily", "--path", str(market),
                            "--start", "2024-01-02", "--days", "2")
    assert code == 2 and "--days" in err


def test_python_dash_m_runs_the_cli() -> None:
    """`python -m stocksdb --version` works (the module entry point)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "stocksdb", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("stocksdb, version ")


def test_tickers_view_lists_the_current_universe(db: str, market: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The seed-004 `tickers` view shows today's symbols: META, not FB."""
    for job in ("securities_master", "ticker_history"):
        stocksdb(capsys, "--dsn", db, "run", job, "--path", str(market))
    from stocksdb.db.connection import connect

    with connect(db) as c:
        symbols = {s for (s,) in c.execute("SELECT symbol FROM tickers")}
    assert symbols == {"AAPL", "IBM", "META"}


def test_json_of_an_atomic_job_shows_no_internal_fields(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run corporate_actions --json` with a rejected row prints no `_keep_rejected` /
    `_rejected_rows` bookkeeping (which would repeat raw vendor rows)."""
    for job in ("securities_master", "ticker_history"):
        assert stocksdb(capsys, "--dsn", db, "run", job, "--path", str(market))[0] == 0
    folder = market / "corporate_actions"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "splits.json").write_text(json.dumps({"results": [
        {"execution_date": "2024-01-03", "split_from": 1, "split_to": 1, "ticker": "AAPL"}]}))
    (folder / "dividends.json").write_text(json.dumps({"results": []}))
    code, out, err = stocksdb(capsys, "--dsn", db, "run", "corporate_actions", "--path",
                              str(market), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["rejected"] == {"one_to_one_split": 1}
    assert not [k for k in report if k.startswith("_")], sorted(report)
