"""Restore never leaves the target without its data: restore aside, validate, then swap names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stocksdb.backup.dump import create_backup
from stocksdb.backup.restore import restore_backup
from stocksdb.db.connection import database_name
from stocksdb.errors import BackupError
from tests.fix_backup import delete_last_session
from tests.fix_cli import stocksdb
from tests.fix_pg import PgServer, checksums

READ_ONLY = "-c default_transaction_read_only=on"


def kept_copies(pg_server: PgServer, dsn: str) -> list[str]:
    """The `<name>_before_restore_<stamp>` databases of the target, oldest first."""
    name = database_name(dsn)
    pattern = re.compile(re.escape(name) + r"_before_restore_\d{8}_\d{6}(_\d+)?")
    return [d for d in pg_server.family(name) if pattern.fullmatch(d)]


def test_failed_pg_restore_leaves_the_target_unchanged(
        pg_server: PgServer, loaded_db: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """pg_restore refused (read-only sessions): the error says so, the target keeps its data,
    and no half-restored database is left behind."""
    dump = create_backup(loaded_db, directory=tmp_path).dump
    delete_last_session(loaded_db)
    before = checksums(loaded_db)
    name = database_name(loaded_db)
    monkeypatch.setenv("PGOPTIONS", READ_ONLY)   # pg_restore inherits it; our sessions override
    with pytest.raises(BackupError) as caught:
        restore_backup(dump, target_dsn=loaded_db, yes=True)
    monkeypatch.delenv("PGOPTIONS")
    assert checksums(loaded_db) == before
    message = str(caught.value)
    assert "pg_restore" in message and "read-only" in message, message
    assert f"database {name!r} was not changed" in message, message
    assert pg_server.family(name) == [name]


def test_cli_failed_restore_exits_1_and_says_nothing_changed(
        pg_server: PgServer, loaded_db: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`stocksdb restore --yes` whose pg_restore fails: exit 1, one error, target unchanged."""
    dump = create_backup(loaded_db, directory=tmp_path).dump
    delete_last_session(loaded_db)
    before = checksums(loaded_db)
    monkeypatch.setenv("PGOPTIONS", READ_ONLY)
    code, out, err = stocksdb(capsys, "--dsn", loaded_db, "restore", str(dump), "--yes")
    monkeypatch.delenv("PGOPTIONS")
    assert checksums(loaded_db) == before
    assert code == 1, out + err
    assert "was not changed" in err and "Traceback" not in err, err


def test_restore_keeps_the_previous_database_until_the_next_restore(
        pg_server: PgServer, loaded_db: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A restore keeps the replaced database as <name>_before_restore_<stamp> and names it; a
    later restore drops that copy (saying so) and keeps its own."""
    dump = create_backup(loaded_db, directory=tmp_path).dump
    expected = checksums(loaded_db)
    delete_last_session(loaded_db)
    changed = checksums(loaded_db)
    code, out, err = stocksdb(capsys, "--dsn", loaded_db, "restore", str(dump), "--yes")
    assert code == 0, err
    assert checksums(loaded_db) == expected
    (first,) = kept_copies(pg_server, loaded_db)
    assert first in out, out
    assert checksums(pg_server.dsn(first)) == changed
    code, out, err = stocksdb(capsys, "--dsn", loaded_db, "restore", str(dump), "--yes")
    assert code == 0, err
    (second,) = kept_copies(pg_server, loaded_db)
    assert second != first and second in out and f"dropped {first}" in out, out
    assert checksums(pg_server.dsn(second)) == expected


def test_drop_previous_removes_the_replaced_database(
        pg_server: PgServer, loaded_db: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`restore --yes --drop-previous` leaves no _before_restore_ copy and says it dropped it."""
    dump = create_backup(loaded_db, directory=tmp_path).dump
    expected = checksums(loaded_db)
    delete_last_session(loaded_db)
    code, out, err = stocksdb(capsys, "--dsn", loaded_db, "restore", str(dump), "--yes",
                              "--drop-previous")
    assert code == 0, err
    assert checksums(loaded_db) == expected
    assert kept_copies(pg_server, loaded_db) == []
    assert "dropped" in out and "_before_restore_" in out, out


def test_rebuild_from_backup_drop_previous(
        pg_server: PgServer, loaded_db: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`rebuild --from-backup FILE --yes` keeps the copy; with --drop-previous it does not."""
    dump = create_backup(loaded_db, directory=tmp_path).dump
    code, out, err = stocksdb(capsys, "--dsn", loaded_db, "rebuild", "--from-backup", str(dump),
                              "--yes")
    assert code == 0, err
    (kept,) = kept_copies(pg_server, loaded_db)
    assert kept in out, out
    code, out, err = stocksdb(capsys, "--dsn", loaded_db, "rebuild", "--from-backup", str(dump),
                              "--yes", "--drop-previous")
    assert code == 0, err
    assert kept_copies(pg_server, loaded_db) == []


def test_restore_without_yes_says_what_becomes_of_the_current_database(
        pg_server: PgServer, loaded_db: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Without --yes: exit 1, the message says the database would be kept as a
    _before_restore_ copy, or dropped with --drop-previous; nothing changes."""
    dump = create_backup(loaded_db, directory=tmp_path).dump
    before = checksums(loaded_db)
    name = database_name(loaded_db)
    code, _, err = stocksdb(capsys, "--dsn", loaded_db, "restore", str(dump))
    assert code == 1 and f"kept as '{name}_before_restore_<UTC stamp>'" in err, err
    code, _, err = stocksdb(capsys, "--dsn", loaded_db, "restore", str(dump), "--drop-previous")
    assert code == 1 and "DROPPED" in err, err
    assert checksums(loaded_db) == before and pg_server.family(name) == [name]


def test_restore_failing_validation_leaves_the_target_unchanged(
        pg_server: PgServer, loaded_db: str, tmp_path: Path) -> None:
    """A dump whose restored copy differs from its manifest: RestoreValidationError, the
    target keeps its data, and the copy is dropped."""
    import json

    from stocksdb.backup.manifest import manifest_path
    from stocksdb.errors import RestoreValidationError

    dump = create_backup(loaded_db, directory=tmp_path).dump
    path = manifest_path(dump)
    data = json.loads(path.read_text())
    data["row_counts"]["stocks_research.securities"] = 4
    path.write_text(json.dumps(data))
    delete_last_session(loaded_db)
    before, name = checksums(loaded_db), database_name(loaded_db)
    with pytest.raises(RestoreValidationError) as caught:
        restore_backup(dump, target_dsn=loaded_db, yes=True)
    assert checksums(loaded_db) == before
    assert caught.value.mismatches == ["rows of stocks_research.securities: expected 4, found 3"]
    assert f"database {name!r} was not changed" in str(caught.value), str(caught.value)
    assert pg_server.family(name) == [name]
