"""`stocksdb restore FILE`: replace a database with a verified backup, then prove it matches.

Reads:  FILE and its manifest (size, sha256 and archive listing checked before anything else);
        the target database's row counts (to say what would be destroyed).
Writes: a new database `<name>_restoring_<stamp>` that pg_restore fills and that is validated
        against the manifest; then, in one transaction, the target is renamed
        `<name>_before_restore_<stamp>` and the new database takes its name (UTC stamps). Older
        `_before_restore_` copies are dropped, and the one just made too with drop_previous.
        Any failure before the swap drops the new database and leaves the target as it was.
        Without `yes` nothing at all is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from stocksdb.backup import swap
from stocksdb.backup.inventory import all_table_counts, server_version_num
from stocksdb.backup.manifest import Manifest
from stocksdb.backup.tools import (
    ClientTool,
    archive_tables,
    find_client_tool,
    run_tool,
    tables_lacking_data,
    tool_connection,
)
from stocksdb.backup.validate import validate_restored, verify_backup_file
from stocksdb.db.connection import connect, database_name, with_database
from stocksdb.errors import (
    BackupIntegrityError,
    InputError,
    RestoreFailedError,
    RestoreNotConfirmedError,
    RestoreValidationError,
    StocksdbError,
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
    previous: str | None = None          # the replaced database, kept under this name
    dropped: tuple[str, ...] = ()        # databases dropped: older copies, or `previous`

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


def _fate(admin_dsn: str, name: str, drop_previous: bool) -> str:
    """What a confirmed restore does with the current database and older copies."""
    older = swap.kept_copies(admin_dsn, name)
    kept = ("it would be DROPPED (--drop-previous)" if drop_previous else
            f"it would be kept as {name + swap.BEFORE_RESTORE + '<UTC stamp>'!r} "
            "(--drop-previous drops it instead)")
    return kept + (f"; older copies that would be dropped: {older}" if older else "")


def not_confirmed(admin_dsn: str, target_dsn: str, dump: Path, *,
                  drop_previous: bool = False) -> RestoreNotConfirmedError:
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
        f"restore would replace database {name!r} on server {server} "
        f"({sum(counts.values())} rows in {len(counts)} tables) with {dump.name!r}; "
        f"{_fate(admin_dsn, name, drop_previous)}; current row counts:\n{listing}\n"
        "rerun with --yes to restore the backup",
        database=name, server=server, row_counts=counts)


def _check_archive(tool: ClientTool, dump: Path, manifest: Manifest) -> None:
    """pg_restore can read the archive and it has data for every table of the manifest."""
    missing = tables_lacking_data(manifest.row_counts, archive_tables(tool, dump))
    if missing:
        raise BackupIntegrityError(
            f"backup {str(dump)!r} lacks data for {len(missing)} table(s) its manifest lists, "
            f"e.g. {missing[:5]}; nothing was changed; use another backup",
            path=dump, expected=sorted(manifest.row_counts), actual=missing)


def _mismatches(problems: list[str], dump: Path) -> RestoreValidationError:
    shown = "\n".join(f"  - {p}" for p in problems[:_SHOWN_MISMATCHES])
    more = len(problems) - _SHOWN_MISMATCHES
    return RestoreValidationError(
        f"restore of {dump.name!r} failed validation: {len(problems)} mismatch(es)\n{shown}"
        + (f"\n  ... and {more} more" if more > 0 else ""), mismatches=problems)


def _fill(tool: ClientTool, dump: Path, manifest: Manifest, dsn: str) -> list[str]:
    """pg_restore `dump` into the empty database `dsn`; every mismatch with `manifest`."""
    conninfo, env = tool_connection(dsn)
    run_tool(tool, [*RESTORE_OPTIONS, f"--dbname={conninfo}", str(dump)], env=env,
             doing=f"restoring {dump.name} into new database {database_name(dsn)!r}")
    with connect(dsn, autocommit=True) as conn:
        return validate_restored(conn, manifest)


def _dropped_quietly(admin_dsn: str, name: str) -> bool:
    """Drop `name`; False (and no exception) when that fails too."""
    try:
        swap.drop(admin_dsn, name)
    except (StocksdbError, psycopg.Error):
        return False
    return True


def _not_changed(exc: Exception, name: str, restoring: str, dropped: bool) -> StocksdbError:
    """`exc`, restated to say the target is untouched and what became of the new database."""
    partial = (f"the partial copy {restoring!r} was dropped" if dropped else
               f"the partial copy {restoring!r} could not be dropped; drop it by hand")
    message = f"{str(exc).rstrip()}\ndatabase {name!r} was not changed; {partial}"
    if isinstance(exc, RestoreValidationError):
        return RestoreValidationError(message + "; use another backup",
                                      mismatches=exc.mismatches)
    return RestoreFailedError(message, database=name)


def _create_aside(admin: str, name: str, restoring: str) -> None:
    try:
        swap.create_empty(admin, restoring)
    except (StocksdbError, psycopg.Error) as exc:
        raise RestoreFailedError(
            f"cannot create database {restoring!r} to restore into: "
            f"{str(exc).strip().splitlines()[0]}; database {name!r} was not changed",
            database=name) from exc


def _restore_and_swap(tool: ClientTool, dump: Path, manifest: Manifest, target_dsn: str,
                      admin: str) -> str | None:
    """Restore into a new database, validate, swap it in; the kept previous name, if any."""
    name, now = database_name(target_dsn), datetime.now(UTC)
    restoring = swap.free_name(admin, name, swap.RESTORING, now)
    _create_aside(admin, name, restoring)
    try:
        problems = _fill(tool, dump, manifest, with_database(target_dsn, restoring))
        if problems:
            raise _mismatches(problems, dump)
        previous = swap.free_name(admin, name, swap.BEFORE_RESTORE, now) \
            if _exists(admin, name) else None
        swap.swap_in(admin, target=name, restored=restoring, previous=previous)
    except Exception as exc:
        raise _not_changed(exc, name, restoring, _dropped_quietly(admin, restoring)) from exc
    except BaseException:
        _dropped_quietly(admin, restoring)
        raise
    return previous


def restore_backup(dump: Path, *, target_dsn: str, yes: bool,
                   drop_previous: bool = False) -> RestoreResult:
    """Replace the target database with `dump`, validated against its manifest before the swap.

    The replaced database is kept as `<name>_before_restore_<UTC stamp>` unless
    `drop_previous`; older copies of that name are dropped.

    Raises:
        BackupIntegrityError: the dump or manifest is missing, altered or unreadable.
        SchemaVersionError: the backup's schema is newer than this code.
        InputError: the DSN names no database, or a name too long for its copy.
        RestoreNotConfirmedError: `yes` is false; the message says what would be destroyed.
        BackupToolError: no usable pg_restore (nothing changed).
        RestoreFailedError: pg_restore or the swap failed; the target was not changed.
        RestoreValidationError: the restored copy differs from the manifest; the target was
            not changed.
    """
    manifest = verify_backup_file(dump)
    name = database_name(target_dsn)
    if not name:
        raise InputError("parameter `target_dsn` names no database; add dbname=... to it")
    swap.check_name_fits(name)
    admin = _maintenance_dsn(target_dsn, name)
    with connect(admin) as conn:
        server_major = server_version_num(conn) // 10000
    tool = find_client_tool("pg_restore", max(server_major, manifest.pg_dump_major))
    _check_archive(tool, dump, manifest)
    if not yes:
        raise not_confirmed(admin, target_dsn, dump, drop_previous=drop_previous)
    previous = _restore_and_swap(tool, dump, manifest, target_dsn, admin)
    stale = [c for c in swap.kept_copies(admin, name) if c != previous or drop_previous]
    for copy in stale:
        swap.drop(admin, copy)
    return RestoreResult(name, server_label(target_dsn), dump, manifest,
                         previous=None if drop_previous else previous, dropped=tuple(stale))
