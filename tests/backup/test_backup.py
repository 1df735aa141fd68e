"""Backup and restore against the real test server: names, integrity, confirmation, validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from stocksdb.backup.dump import candidate_stems, create_backup
from stocksdb.backup.manifest import manifest_path, read_manifest
from stocksdb.backup.restore import restore_backup
from stocksdb.backup.tools import find_client_tool, run_tool, tool_connection, use_system_tool
from stocksdb.cli import main
from stocksdb.db.checksum import data_tables
from stocksdb.db.connection import connect, database_name
from stocksdb.db.migrate import available_migrations, latest_version
from stocksdb.db.server import bin_dir
from stocksdb.errors import (
    BackupIntegrityError,
    BackupToolError,
    RestoreNotConfirmedError,
    RestoreValidationError,
)
from tests.fix_backup import delete_last_session
from tests.fix_pg import PgServer, checksums, superuser_password


def ingestion_counts(dsn: str) -> dict[str, int]:
    """Rows of every ingestion table, counted here with plain SQL."""
    with connect(dsn) as conn:
        return {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                    sql.Identifier("ingestion", t))).fetchone()[0]  # type: ignore[index]
                for t in data_tables(conn, "ingestion")}


def database_oid(dsn: str) -> int:
    """pg_database.oid: a drop and re-create changes it, even with the same content."""
    with connect(dsn) as conn:
        row = conn.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        return int(row.fetchone()[0])  # type: ignore[index]


def test_restore_into_new_database_reproduces_every_table(
        loaded_db: str, new_db: str, tmp_path: Path) -> None:
    """Backup -> restore into a new database: equal checksums and ingestion row counts."""
    result = create_backup(loaded_db, directory=tmp_path / "b")
    restored = restore_backup(result.dump, target_dsn=new_db, yes=True)
    source = checksums(loaded_db)
    assert source["prices_daily"].rows == 9, source
    assert checksums(new_db) == source
    assert ingestion_counts(new_db) == ingestion_counts(loaded_db)
    assert restored.database == database_name(new_db)


def test_manifest_describes_the_dump_and_the_database(loaded_db: str, tmp_path: Path) -> None:
    """The manifest holds the file's sha256/size, schema version, counts and checksums."""
    import hashlib

    result = create_backup(loaded_db, directory=tmp_path)
    m = read_manifest(result.manifest_path)
    data = result.dump.read_bytes()
    assert (m.file, m.sha256, m.size) == (result.dump.name, hashlib.sha256(data).hexdigest(),
                                          len(data))
    assert m.schema_version == latest_version()
    assert m.migrations == [mig.name for mig in available_migrations()]
    assert m.checksums == {t: c.digest for t, c in checksums(loaded_db).items()}
    assert m.row_counts["stocks_research.prices_daily"] == 9
    assert m.row_counts["ingestion.job_runs"] == ingestion_counts(loaded_db)["job_runs"]
    assert m.pg_dump_major >= int(m.server_version.split(".")[0])
    assert datetime.fromisoformat(m.created_at).utcoffset() == timedelta(0)


def test_backup_names_are_distinct_and_never_overwrite(loaded_db: str, tmp_path: Path) -> None:
    """Backups in the same minute get distinct names, taken names are skipped, no temp files."""
    directory = tmp_path / "backups"
    directory.mkdir()
    now = datetime.now(UTC)
    sentinels = {directory / f"{next(candidate_stems(t))}.dump": f"keep {t}".encode()
                 for t in (now, now + timedelta(minutes=1))}
    for path, content in sentinels.items():
        path.write_bytes(content)
    results = [create_backup(loaded_db, directory=directory) for _ in range(3)]
    names = [r.dump.name for r in results]
    assert len(set(names)) == 3, names
    assert all(p.read_bytes() == c for p, c in sentinels.items())
    expected = {*(p.name for p in sentinels), *names, *(r.manifest_path.name for r in results)}
    assert {p.name for p in directory.iterdir()} == expected


def test_candidate_names_add_seconds_then_a_counter() -> None:
    """full_YYYYMMDD_HHMM, then full_YYYYMMDD_HHMMSS, then _2, _3 (in UTC)."""
    from datetime import timezone

    at = datetime(2025, 1, 31, 17, 15, 9, tzinfo=timezone(timedelta(hours=-5)))
    stems = candidate_stems(at)
    assert [next(stems) for _ in range(4)] == [
        "full_20250131_2215", "full_20250131_221509", "full_20250131_221509_2",
        "full_20250131_221509_3"]


def _truncate(dump: Path) -> None:
    dump.write_bytes(dump.read_bytes()[:-100])


def _flip_byte(dump: Path) -> None:
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))


def _edit_manifest_sha(dump: Path) -> None:
    path = manifest_path(dump)
    data = json.loads(path.read_text())
    data["sha256"] = "0" * 64
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("damage", [_truncate, _flip_byte, _edit_manifest_sha],
                         ids=["truncated", "flipped-byte", "edited-manifest-sha"])
def test_damaged_backup_is_refused_before_anything_is_dropped(
        loaded_db: str, tmp_path: Path, damage: object) -> None:
    """A truncated/corrupt dump or an edited manifest is refused; the target is untouched."""
    dump = create_backup(loaded_db, directory=tmp_path).dump
    delete_last_session(loaded_db)
    before, oid = checksums(loaded_db), database_oid(loaded_db)
    damage(dump)  # type: ignore[operator]
    with pytest.raises(BackupIntegrityError) as caught:
        restore_backup(dump, target_dsn=loaded_db, yes=True)
    message = str(caught.value)
    assert str(dump) in message and "expected" in message, message
    assert repr(caught.value.expected) in message and repr(caught.value.actual) in message
    assert database_oid(loaded_db) == oid
    assert checksums(loaded_db) == before


def test_restore_without_yes_names_what_it_would_destroy(loaded_db: str, tmp_path: Path) -> None:
    """Without yes: an error naming the database and its row counts; nothing changes."""
    dump = create_backup(loaded_db, directory=tmp_path).dump
    delete_last_session(loaded_db)
    before, oid = checksums(loaded_db), database_oid(loaded_db)
    with pytest.raises(RestoreNotConfirmedError) as caught:
        restore_backup(dump, target_dsn=loaded_db, yes=False)
    message = str(caught.value)
    assert repr(database_name(loaded_db)) in message, message
    assert "stocks_research.prices_daily: 6 rows" in message, message
    assert "stocks_research.securities: 3 rows" in message, message
    assert database_oid(loaded_db) == oid
    assert checksums(loaded_db) == before


def test_confirmed_restore_replaces_changed_database(loaded_db: str, tmp_path: Path) -> None:
    """With yes, a database changed after the backup gets the backup's content back."""
    dump = create_backup(loaded_db, directory=tmp_path).dump
    expected = checksums(loaded_db)
    delete_last_session(loaded_db)
    assert checksums(loaded_db) != expected
    restore_backup(dump, target_dsn=loaded_db, yes=True)
    assert checksums(loaded_db) == expected


def test_restore_that_differs_from_manifest_fails_validation(
        loaded_db: str, new_db: str, tmp_path: Path) -> None:
    """Manifest counts that the dump does not match, and orphan rows, are listed as mismatches."""
    with connect(loaded_db, autocommit=True) as conn:
        conn.execute("INSERT INTO prices_daily (security_id, trade_date, open, high, low, close, "
                     "volume, source) VALUES (999999, '2024-01-02', 1, 1, 1, 1, 1, 'test')")
    dump = create_backup(loaded_db, directory=tmp_path).dump
    path = manifest_path(dump)
    data = json.loads(path.read_text())
    data["row_counts"]["stocks_research.securities"] = 4
    path.write_text(json.dumps(data))
    with pytest.raises(RestoreValidationError) as caught:
        restore_backup(dump, target_dsn=new_db, yes=True)
    assert caught.value.mismatches == [
        "rows of stocks_research.securities: expected 4, found 3",
        "orphans in stocks_research.prices_daily: 1 row(s) whose security_id is not in "
        "securities"], str(caught.value)


def test_system_tool_is_used_only_when_not_older_than_the_server() -> None:
    """use_system_tool: a system client of major >= the server's, else the bundled one."""
    assert use_system_tool(16, 16) and use_system_tool(17, 16)
    assert not use_system_tool(15, 16)
    assert not use_system_tool(None, 16)


def test_client_tool_falls_back_to_the_bundled_binaries(pg_server: PgServer) -> None:
    """For this server, the chosen pg_dump is new enough; an older system one is passed over."""
    import shutil

    from stocksdb.backup.tools import tool_major

    with psycopg.connect(pg_server.admin_dsn) as conn:
        server_major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000  # type: ignore[index]
    tool = find_client_tool("pg_dump", server_major)
    assert tool.major >= server_major
    system = shutil.which("pg_dump")
    if system is None or (tool_major(Path(system)) or 0) < server_major:
        assert tool.path == bin_dir() / "pg_dump"
    with pytest.raises(BackupToolError, match="major version >= 99"):
        find_client_tool("pg_dump", 99)


def test_password_reaches_tools_only_through_the_environment(
        pg_server: PgServer, loaded_db: str, tmp_path: Path) -> None:
    """The conninfo argument lacks the password; a tool error does not show it either."""
    secret = superuser_password(loaded_db)  # the server checks it now
    dsn = make_conninfo(loaded_db, password=secret, passfile="/nonexistent")
    conninfo, env = tool_connection(dsn)
    assert secret not in conninfo and env["PGPASSWORD"] == secret
    assert create_backup(dsn, directory=tmp_path).manifest.row_counts
    missing, env = tool_connection(make_conninfo(pg_server.dsn("no_such_db"), password=secret))
    with pytest.raises(BackupToolError) as caught:
        run_tool(find_client_tool("pg_dump", 16), [f"--dbname={missing}"], env=env,
                 doing="testing")
    assert "no_such_db" in str(caught.value) and secret not in str(caught.value)


# -- CLI -------------------------------------------------------------------------------------

def test_cli_backup_json_prints_the_manifest_and_restore_needs_yes(
        loaded_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`backup --json` prints the manifest file; `restore` exits 1 without --yes, 0 with it."""
    code = main(["--dsn", loaded_db, "backup", "--dir", str(tmp_path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    printed = json.loads(out)
    dump = tmp_path / printed["file"]
    assert printed == json.loads(manifest_path(dump).read_text())
    code = main(["--dsn", loaded_db, "restore", str(dump)])
    out, err = capsys.readouterr()
    assert code == 1 and "--yes" in err and database_name(loaded_db) in err, err
    code = main(["--dsn", loaded_db, "restore", str(dump), "--yes"])
    out, err = capsys.readouterr()
    assert code == 0 and "validated" in out, err
