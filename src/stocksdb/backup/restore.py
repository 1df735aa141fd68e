"""`stocksdb restore FILE`: replace a database with a verified backup, then prove it matches.

Reads:  FILE and its manifest (size, sha256 and archive listing checked before anything else);
        the target database's row counts (to say what would be destroyed).
Writes: drops and re-creates the target database, pg_restore's the dump into it, and validates
        the result against the manifest. Without `yes` nothing at all is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from stocksdb.backup.inventory import all_table_counts, server_version_num
from stocksdb.backup.manifest import Manifest
from stocksdb.backup.tools import (
    ClientTool,
    archive_tables,
    find_client_tool,
    run_tool,
    tool_connection,
)
from stocksdb.backup.validate import validate_restored, verify_backup_file
from stocksdb.db.connection import connect, database_name, with_database
from stocksdb.errors import (
    BackupIntegrityError,
    InputError,
    RestoreNotConfirmedError,
    RestoreValidationError,
)

RESTORE_OPTIONS = ("--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction")
_SHOWN_MISMATCHES = 20


@dataclass(frozen=True)
class RestoreResult:
    """A restore that passed validation."""

    database: str
    server: str
    dump: Path
    manifest: Manifest

    @property
    def rows(self) -> int:
        return sum(self.manifest.row_counts.values())


def server_label(dsn: str) -> str:
    """'host:port' of a DSN, for messages (never the password)."""
    parts = conninfo_to_dict(dsn)
    return f"{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}"


def _maintenance_dsn(target_dsn: str, name: str) -> str:
    """Where to run DROP/CREATE DATABASE: any database but the target."""
    return with_database(target_dsn, "template1" if name == "postgres" else "postgres")


def _exists(admin_dsn: str, name: str) -> bool:
    with connect(admin_dsn) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is not None


def not_confirmed(admin_dsn: str, target_dsn: str, dump: Path) -> RestoreNotConfirmedError:
    """The error that says what a confirmed restore would destroy (read-only)."""
    name, server = database_name(target_dsn), server_label(target_dsn)
    if not _exists(admin_dsn, name):
        return RestoreNotConfirmedError(
            f"restore would create database {name!r} on server {server} from {dump.name!r}; "
            "it does not exist, so nothing would be destroyed; rerun with --yes to proceed",
            database=name, server=server, row_counts=None)
    with connect(target_dsn) as conn:
        counts = all_table_counts(conn)
    listing = "\n".join(f"  {t}: {n} rows" for t, n in counts.items()) or "  (no tables)"
    return RestoreNotConfirmedError(
        f"restore would destroy database {name!r} on server {server} "
        f"({sum(counts.values())} rows in {len(counts)} tables) and replace it with "
        f"{dump.name!r}; current row counts:\n{listing}\n"
        "rerun with --yes to drop it and restore the backup",
        database=name, server=server, row_counts=counts)


def _check_archive(tool: ClientTool, dump: Path, manifest: Manifest) -> None:
    """pg_restore can read the archive and it has data for every table of the manifest."""
    missing = sorted(set(manifest.row_counts) - archive_tables(tool, dump))
    if missing:
        raise BackupIntegrityError(
            f"backup {str(dump)!r} lacks data for {len(missing)} table(s) its manifest lists, "
            f"e.g. {missing[:5]}; nothing was changed; use another backup",
            path=dump, expected=sorted(manifest.row_counts), actual=missing)


def _recreate(admin_dsn: str, name: str) -> None:
    """Terminate sessions on `name`, drop it, create it empty from template0."""
    ident = sql.Identifier(name)
    with connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(ident))


def _raise_mismatches(problems: list[str], dump: Path, name: str) -> None:
    shown = "\n".join(f"  - {p}" for p in problems[:_SHOWN_MISMATCHES])
    more = len(problems) - _SHOWN_MISMATCHES
    raise RestoreValidationError(
        f"restore of {dump.name!r} into database {name!r} failed validation: "
        f"{len(problems)} mismatch(es)\n{shown}" + (f"\n  ... and {more} more" if more > 0 else "")
        + "\nthe database holds the restored data; inspect it or restore another backup",
        mismatches=problems)


def restore_backup(dump: Path, *, target_dsn: str, yes: bool) -> RestoreResult:
    """Replace the target database with `dump` and validate it against its manifest.

    Raises:
        BackupIntegrityError: the dump or manifest is missing, altered or unreadable.
        SchemaVersionError: the backup's schema is newer than this code.
        RestoreNotConfirmedError: `yes` is false; the message says what would be destroyed.
        BackupToolError: no usable pg_restore, or pg_restore failed.
        RestoreValidationError: the restored database differs from the manifest.
    """
    manifest = verify_backup_file(dump)
    name = database_name(target_dsn)
    if not name:
        raise InputError("parameter `target_dsn` names no database; add dbname=... to it")
    admin = _maintenance_dsn(target_dsn, name)
    with connect(admin) as conn:
        server_major = server_version_num(conn) // 10000
    tool = find_client_tool("pg_restore", max(server_major, manifest.pg_dump_major))
    _check_archive(tool, dump, manifest)
    if not yes:
        raise not_confirmed(admin, target_dsn, dump)
    _recreate(admin, name)
    conninfo, env = tool_connection(target_dsn)
    run_tool(tool, [*RESTORE_OPTIONS, f"--dbname={conninfo}", str(dump)], env=env,
             doing=f"restoring {dump.name} into database {name!r}")
    with connect(target_dsn, autocommit=True) as conn:
        problems = validate_restored(conn, manifest)
    if problems:
        _raise_mismatches(problems, dump, name)
    return RestoreResult(name, server_label(target_dsn), dump, manifest)
