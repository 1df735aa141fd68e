"""`stocksdb backup`: a verified pg_dump of the whole database, with a manifest beside it.

Reads:  every table of the database, through one exported snapshot that pg_dump and the
        manifest's row counts and checksums share (so they describe the same instant).
Writes: DIR/full_YYYYMMDD_HHMM.dump and DIR/full_YYYYMMDD_HHMM.manifest.json (UTC), each through
        a temporary sibling and a rename; an existing file is never overwritten. With copy_to,
        both are copied there the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import IsolationLevel

from stocksdb.backup.files import (
    copy_new,
    publish_new,
    sha256_and_size,
    temp_sibling,
    write_new_text,
)
from stocksdb.backup.inventory import DatabaseFacts, read_database_facts
from stocksdb.backup.manifest import DUMP_SUFFIX, Manifest, manifest_path
from stocksdb.backup.tools import (
    ClientTool,
    archive_tables,
    find_client_tool,
    run_tool,
    tables_lacking_data,
    tool_connection,
)
from stocksdb.db.connection import connect
from stocksdb.errors import BackupCopyError, BackupError, StocksdbError

DUMP_OPTIONS = ("--format=custom", "--compress=9", "--no-owner", "--no-privileges")


@dataclass(frozen=True)
class BackupResult:
    """Where a backup went and what its manifest says."""

    dump: Path
    manifest_path: Path
    manifest: Manifest
    copies: tuple[Path, ...] = ()


def candidate_stems(at: datetime) -> Iterator[str]:
    """full_YYYYMMDD_HHMM, then with seconds, then _2, _3 ...: UTC, sortable, filename-safe."""
    utc = at.astimezone(UTC)
    minute = "full_" + utc.strftime("%Y%m%d_%H%M")
    yield minute
    second = minute + utc.strftime("%S")
    yield second
    for n in itertools.count(2):
        yield f"{second}_{n}"


@contextmanager
def _snapshot(dsn: str) -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """A read-only repeatable-read transaction and the id of its exported snapshot."""
    with connect(dsn) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert row is not None
            yield conn, str(row[0])


def _run_pg_dump(tool: ClientTool, dsn: str, snapshot: str, out: Path) -> None:
    conninfo, env = tool_connection(dsn)
    run_tool(tool, [*DUMP_OPTIONS, f"--snapshot={snapshot}", f"--file={out}",
                    f"--dbname={conninfo}"], env=env, doing=f"dumping into {out}")


def _verify_archive(dump: Path, facts: DatabaseFacts, min_major: int) -> None:
    """pg_restore can list the archive, and it holds data for every table we counted."""
    missing = tables_lacking_data(
        facts.row_counts, archive_tables(find_client_tool("pg_restore", min_major), dump))
    if missing:
        raise BackupError(
            f"dump {str(dump)!r} lacks data for {len(missing)} table(s), e.g. {missing[:5]}; "
            "it was not kept")


def _publish_dump(tmp: Path, directory: Path, created: datetime) -> Path:
    """Give the verified dump the first free name (dump and manifest both free)."""
    for stem in candidate_stems(created):
        dump = directory / f"{stem}{DUMP_SUFFIX}"
        if not manifest_path(dump).exists() and publish_new(tmp, dump):
            return dump
    raise AssertionError("unreachable: candidate_stems is infinite")


def _manifest(dump: Path, created: datetime, facts: DatabaseFacts, dump_major: int) -> Manifest:
    sha256, size = sha256_and_size(dump)
    return Manifest(
        file=dump.name, sha256=sha256, size=size,
        created_at=created.isoformat(timespec="seconds"), database=facts.database,
        server_version=facts.server_version, pg_dump_major=dump_major,
        schema_version=facts.schema_version, migrations=facts.migrations,
        row_counts=facts.row_counts, checksums=facts.checksums,
    )


def _copy_pair(paths: tuple[Path, Path], copy_to: Path) -> tuple[Path, ...]:
    copy_to.mkdir(parents=True, exist_ok=True)
    copies = []
    for src in paths:
        dst, fresh = copy_new(src, copy_to)
        if not fresh:
            raise BackupError(f"{str(dst)!r} already exists and was not overwritten")
        copies.append(dst)
    return tuple(copies)


def create_backup(dsn: str, *, directory: Path, copy_to: Path | None = None) -> BackupResult:
    """Dump the database to `directory` with a manifest; optionally copy both to `copy_to`.

    Raises:
        BackupToolError: no usable pg_dump / pg_restore, or one of them failed.
        BackupError: the archive lacks a table (nothing is kept).
        BackupCopyError: the backup is complete but copying it to `copy_to` failed (a name
            taken, bytes differing, or an OSError such as a full disk).
    """
    directory.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC)
    with _snapshot(dsn) as (conn, snapshot), temp_sibling(directory, "full.dump") as tmp:
        facts = read_database_facts(conn)
        dump_tool = find_client_tool("pg_dump", facts.server_major)
        _run_pg_dump(dump_tool, dsn, snapshot, tmp)
        _verify_archive(tmp, facts, dump_tool.major)
        dump = _publish_dump(tmp, directory, created)
    manifest = _manifest(dump, created, facts, dump_tool.major)
    man_path = manifest_path(dump)
    if not write_new_text(man_path, manifest.to_json()):
        raise BackupError(f"{str(man_path)!r} appeared while the backup ran; it was not "
                          f"overwritten, and {str(dump)!r} has no manifest of its own")
    copies = _copy_elsewhere(dump, man_path, copy_to) if copy_to is not None else ()
    return BackupResult(dump, man_path, manifest, copies)


def _copy_elsewhere(dump: Path, man_path: Path, copy_to: Path) -> tuple[Path, ...]:
    """Copy the finished pair to `copy_to`; a failure says the backup itself is complete."""
    try:
        return _copy_pair((dump, man_path), copy_to)
    except (OSError, StocksdbError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BackupCopyError(
            f"the backup is complete ({str(dump)!r} and its manifest {man_path.name!r}), but "
            f"copying it to {str(copy_to)!r} failed: {reason}; copy both files there by hand "
            "or rerun with another --copy-to", dump=dump, manifest=man_path) from exc
