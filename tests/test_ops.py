"""bootstrap and rebuild: the checklist end to end, and the destructive commands' --yes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stocksdb.backup.manifest import manifest_path
from stocksdb.db.connection import connect
from tests.fix_cli import stocksdb
from tests.fix_data import dividend, write_actions
from tests.fix_pg import PgServer, checksums


def test_bootstrap_runs_every_phase_and_writes_reports(
        pg_server: PgServer, market: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """On an empty database: every phase ok, two backups, report.md/.json list the phases."""
    write_actions(market, [], [dividend("IBM", "2024-01-03", 1.0)])
    dsn = pg_server.dsn("boot_" + tmp_path.name[-8:].replace("-", "_").lower())
    code, out, err = stocksdb(capsys, "--dsn", dsn, "bootstrap", "--path", str(market),
                              "--start", "2024-01-02", "--report", str(tmp_path / "r"),
                              "--backup-dir", str(tmp_path / "b"))
    try:
        assert code == 0, out + err
        report = json.loads((tmp_path / "r/report.json").read_text())
        names = [p["name"] for p in report["phases"]]
        assert names[:4] == ["environment", "database", "schema", "pre-ingestion backup"]
        assert names[-2:] == ["validation", "final backup"]
        assert all(p["status"] == "ok" for p in report["phases"]) and report["ok"]
        assert "| job prices_daily | ok |" in (tmp_path / "r/report.md").read_text()
        assert len(list((tmp_path / "b").glob("full_*.dump"))) == 2
    finally:
        pg_server.drop(dsn.rsplit("dbname=", 1)[-1].split()[0])


def test_bootstrap_stops_at_first_failed_phase(db: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A missing source tree fails the first job; later phases are skipped; exit 1."""
    code, out, _ = stocksdb(capsys, "--dsn", db, "bootstrap", "--path", str(tmp_path / "none"),
                            "--report", str(tmp_path / "r"), "--backup-dir", str(tmp_path / "b"))
    report = json.loads((tmp_path / "r/report.json").read_text())
    status = {p["name"]: p["status"] for p in report["phases"]}
    assert code == 1 and status["job securities_master"] == "failed"
    assert status["validation"] == "skipped" and status["final backup"] == "skipped"


def test_rebuild_without_yes_touches_nothing_and_cold_rebuild_converges(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`rebuild --cold` without --yes names the database and changes nothing; with --yes it
    rebuilds to the same checksums; `rebuild --from-backup` without --yes refuses too."""
    write_actions(market, [], [dividend("IBM", "2024-01-03", 1.0)])
    args = ["--dsn", db, "rebuild", "--cold", "--path", str(market), "--start", "2024-01-02",
            "--backup-dir", str(market.parent / "b")]
    assert stocksdb(capsys, *args, "--yes")[0] == 0
    before = checksums(db)
    code, _, err = stocksdb(capsys, *args)
    assert code == 1 and "would DROP database" in err and "prices_daily 9" in err
    assert checksums(db) == before
    assert stocksdb(capsys, *args, "--yes")[0] == 0
    assert checksums(db) == before
    code, _, err = stocksdb(capsys, "--dsn", db, "rebuild", "--from-backup", "nope.dump")
    assert code != 0 and checksums(db) == before


def test_rebuild_from_backup_restores_exact_checksums(
        db: str, market: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Scenario A: back up, change the data, rebuild from the file: checksums are the backup's."""
    write_actions(market, [], [dividend("IBM", "2024-01-03", 1.0)])
    assert stocksdb(capsys, "--dsn", db, "rebuild", "--cold", "--path", str(market),
                    "--start", "2024-01-02", "--backup-dir", str(tmp_path / "cold"),
                    "--yes")[0] == 0
    before = checksums(db)
    code, out, _ = stocksdb(capsys, "--dsn", db, "backup", "--dir", str(tmp_path), "--json")
    assert code == 0
    dump = next(tmp_path.glob("full_*.dump"))
    with connect(db, autocommit=True) as c:
        c.execute("DELETE FROM prices_daily WHERE trade_date = '2024-01-03'")
    assert checksums(db) != before
    code, out, err = stocksdb(capsys, "--dsn", db, "rebuild", "--from-backup", str(dump), "--yes")
    assert code == 0, err
    assert checksums(db) == before


def test_cold_rebuild_with_misspelled_path_touches_nothing(
        loaded_db: str, market: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`rebuild --cold --path sampel --yes`: exit 2 naming the path, database unchanged."""
    before = checksums(loaded_db)
    wrong = market.parent / "sampel"
    code, out, err = stocksdb(capsys, "--dsn", loaded_db, "rebuild", "--cold", "--path",
                              str(wrong), "--backup-dir", str(tmp_path / "b"), "--yes")
    assert checksums(loaded_db) == before
    assert code == 2 and repr(str(wrong)) in err and "Traceback" not in err, out + err
    assert not (tmp_path / "b").exists()


def test_cold_rebuild_names_every_missing_part_of_the_layout(
        loaded_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory without the sample layout: exit 2, each missing file or folder named."""
    before = checksums(loaded_db)
    (tmp_path / "tree/reference").mkdir(parents=True)
    code, _, err = stocksdb(capsys, "--dsn", loaded_db, "rebuild", "--cold", "--path",
                            str(tmp_path / "tree"), "--yes")
    assert checksums(loaded_db) == before
    assert code == 2, err
    for part in ("flatfiles/us_stocks_sip/day_aggs_v1", "reference/securities.csv",
                 "reference/ticker_history.csv", "corporate_actions/splits.json",
                 "corporate_actions/dividends.json"):
        assert part in err, err


def test_cold_rebuild_from_massive_without_credentials_touches_nothing(
        loaded_db: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """--source massive with no keys: refused before the drop, naming every variable needed."""
    for name in ("MASSIVE_API_KEY", "MASSIVE_S3_ACCESS_KEY_ID", "MASSIVE_S3_SECRET_ACCESS_KEY",
                 "STOCKSDB_SEC_USER_AGENT"):
        monkeypatch.delenv(name, raising=False)
    before = checksums(loaded_db)
    code, _, err = stocksdb(capsys, "--dsn", loaded_db, "rebuild", "--cold", "--source",
                            "massive", "--yes")
    assert checksums(loaded_db) == before
    assert code != 0 and "Traceback" not in err, err
    for name in ("MASSIVE_API_KEY", "MASSIVE_S3_ACCESS_KEY_ID", "MASSIVE_S3_SECRET_ACCESS_KEY",
                 "STOCKSDB_SEC_USER_AGENT"):
        assert name in err, err


def test_cold_rebuild_backs_up_before_the_drop_and_names_the_backup(
        loaded_db: str, market: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A successful cold rebuild prints the backup it took; that backup holds the old data."""
    write_actions(market, [], [dividend("IBM", "2024-01-03", 1.0)])
    before = checksums(loaded_db)
    code, out, err = stocksdb(capsys, "--dsn", loaded_db, "rebuild", "--cold", "--path",
                              str(market), "--start", "2024-01-02",
                              "--backup-dir", str(tmp_path / "b"), "--yes")
    assert code == 0, err
    (dump,) = (tmp_path / "b").glob("full_*.dump")
    assert str(dump) in out, out
    manifest = json.loads(manifest_path(dump).read_text())
    assert manifest["checksums"] == {t: c.digest for t, c in before.items()}


def test_cold_rebuild_failing_after_the_drop_names_the_backup_to_restore(
        loaded_db: str, market: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A job that fails after the drop (a securities.csv without its columns): the error keeps
    its exit code and names the backup holding the data from before, and how to restore it."""
    write_actions(market, [], [])
    (market / "reference/securities.csv").write_text("wrong,header\n1,2\n")
    code, _, err = stocksdb(capsys, "--dsn", loaded_db, "rebuild", "--cold", "--path",
                            str(market), "--backup-dir", str(tmp_path / "b"), "--yes")
    (dump,) = (tmp_path / "b").glob("full_*.dump")
    assert code == 2 and "securities.csv" in err, err
    assert f"stocksdb restore {dump} --yes" in err, err
