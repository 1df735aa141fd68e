"""Checks of a backup file before restore, and of the restored database after it.

Before: the dump's size and sha256 equal its manifest's, and its schema is not newer than this
        code. After: every table's row count and every stocks_research checksum equal the
        manifest, no security_id is an orphan, and every stocks_research view resolves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from stocksdb.backup.files import sha256_and_size
from stocksdb.backup.inventory import read_row_counts
from stocksdb.backup.manifest import Manifest, manifest_path, read_manifest
from stocksdb.db.checksum import DATA_SCHEMA, database_checksums
from stocksdb.db.migrate import latest_version
from stocksdb.errors import BackupIntegrityError, SchemaVersionError


def _refuse(dump: Path, man: Path, what: str, expected: object, actual: object) -> None:
    raise BackupIntegrityError(
        f"backup {str(dump)!r} does not match its manifest {man.name!r}: {what} is {actual!r}, "
        f"expected {expected!r}; the file is truncated, corrupt or not the one described — "
        "nothing was changed; use another backup",
        path=dump, expected=expected, actual=actual)


def verify_backup_file(dump: Path) -> Manifest:
    """The manifest of `dump`, once its size, sha256 and schema version check out.

    Raises:
        BackupIntegrityError: the dump or its manifest is missing, or they do not match.
        SchemaVersionError: the backup's schema is newer than this code's migrations.
    """
    man = manifest_path(dump)
    manifest = read_manifest(man)
    if not dump.is_file():
        raise BackupIntegrityError(f"backup file {str(dump)!r} not found", path=dump)
    sha256, size = sha256_and_size(dump)
    if size != manifest.size:
        _refuse(dump, man, "size", manifest.size, size)
    if sha256 != manifest.sha256:
        _refuse(dump, man, "sha256", manifest.sha256, sha256)
    if manifest.schema_version is not None and manifest.schema_version > latest_version():
        raise SchemaVersionError(
            f"backup {dump.name!r} has schema version {manifest.schema_version}, newer than "
            f"this code's {latest_version()}; restore it with a newer stocksdb")
    return manifest


def compare_counts(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    """One line per table whose row count differs, or that exists on one side only."""
    return [f"rows of {t}: expected {expected.get(t)}, found {actual.get(t)}"
            for t in sorted(set(expected) | set(actual)) if expected.get(t) != actual.get(t)]


def compare_checksums(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """One line per stocks_research table whose checksum differs."""
    return [f"checksum of {DATA_SCHEMA}.{t}: expected {expected.get(t)}, found {actual.get(t)}"
            for t in sorted(set(expected) | set(actual)) if expected.get(t) != actual.get(t)]


def find_orphans(conn: psycopg.Connection[Any]) -> list[str]:
    """One line per stocks_research table with security_ids missing from securities."""
    tables = [t for (t,) in conn.execute(
        "SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relnamespace = %s::regnamespace AND a.attname = 'security_id' "
        "AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND c.relname <> 'securities' ORDER BY 1", (DATA_SCHEMA,))]
    problems = []
    for table in tables:
        query = sql.SQL(
            "SELECT count(*) FROM {t} x WHERE NOT EXISTS "
            "(SELECT 1 FROM {s} s WHERE s.security_id = x.security_id)"
        ).format(t=sql.Identifier(DATA_SCHEMA, table),
                 s=sql.Identifier(DATA_SCHEMA, "securities"))
        row = conn.execute(query).fetchone()
        if row and row[0]:
            problems.append(f"orphans in {DATA_SCHEMA}.{table}: {row[0]} row(s) whose "
                            "security_id is not in securities")
    return problems


def broken_views(conn: psycopg.Connection[Any]) -> list[str]:
    """One line per stocks_research view that cannot be selected from. `conn` is autocommit."""
    views = [v for (v,) in conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = %s ORDER BY 1",
        (DATA_SCHEMA,))]
    problems = []
    for view in views:
        query = sql.SQL("SELECT 1 FROM {} LIMIT 0").format(sql.Identifier(DATA_SCHEMA, view))
        try:
            with conn.transaction():
                conn.execute(query)
        except psycopg.Error as exc:
            problems.append(f"view {DATA_SCHEMA}.{view} does not resolve: "
                            f"{str(exc).strip().splitlines()[0]}")
    return problems


def validate_restored(conn: psycopg.Connection[Any], manifest: Manifest) -> list[str]:
    """Every difference between the restored database and `manifest` (empty when none)."""
    sums = database_checksums(conn)
    digests = {t: c.digest for t, c in sums.items()}
    return [*compare_counts(manifest.row_counts, read_row_counts(conn, sums)),
            *compare_checksums(manifest.checksums, digests),
            *find_orphans(conn), *broken_views(conn)]
