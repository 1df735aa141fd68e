"""`stocksdb backup`, `stocksdb restore FILE`, and `grant_reader` (mounted as `db grant-reader`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from stocksdb.cli import CliState, pass_state

if TYPE_CHECKING:
    from stocksdb.backup.restore import RestoreResult


@click.command("backup")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("backups"), show_default=True,
              help="Directory of full_YYYYMMDD_HHMM.dump and its .manifest.json (UTC).")
@click.option("--copy-to", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="DIR", help="Also copy both files to DIR (e.g. an off-site mount).")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@pass_state
def backup(state: CliState, directory: Path, copy_to: Path | None, as_json: bool) -> None:
    """Dump the database (pg_dump, custom format), verify it, and write its manifest."""
    from stocksdb.backup.dump import create_backup

    result = create_backup(state.dsn(), directory=directory, copy_to=copy_to)
    if as_json:
        click.echo(result.manifest.to_json(), nl=False)
        return
    m = result.manifest
    click.echo(f"backup {result.dump} ({m.size} bytes, sha256 {m.sha256[:16]}…, "
               f"schema version {m.schema_version}, {sum(m.row_counts.values())} rows)")
    click.echo(f"manifest {result.manifest_path}")
    for copy in result.copies:
        click.echo(f"copied to {copy}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True,
              help="Really replace the configured database with FILE.")
@click.option("--drop-previous", is_flag=True,
              help="Drop the replaced database instead of keeping it as "
                   "NAME_before_restore_YYYYMMDD_HHMMSS.")
@pass_state
def restore(state: CliState, file: Path, yes: bool, drop_previous: bool) -> None:
    """Replace the configured database with backup FILE, validated before it takes over.

    FILE's size and sha256 are checked against its manifest first. FILE is restored into a new
    database, which must match the manifest (row counts, checksums, orphans, views); only then
    are the names swapped in one transaction. The replaced database is kept as
    NAME_before_restore_<UTC stamp> (older such copies are dropped) unless --drop-previous. Any
    failure leaves the configured database unchanged. Without --yes, says what would happen and
    exits 1.
    """
    from stocksdb.backup.restore import restore_backup

    result = restore_backup(file, target_dsn=state.dsn(), yes=yes, drop_previous=drop_previous)
    echo_restored(result)


def echo_restored(result: RestoreResult) -> None:
    """What a restore did: the database, what was validated, what was kept and dropped."""
    click.echo(f"restored {result.dump.name} into database {result.database!r} on "
               f"{result.server}: {len(result.manifest.row_counts)} tables, {result.rows} rows; "
               "row counts, checksums, orphans and views validated")
    if result.previous:
        click.echo(f"the replaced database is kept as {result.previous} (drop it with "
                   "--drop-previous next time, or DROP DATABASE)")
    for name in result.dropped:
        click.echo(f"dropped {name}")


@click.command("grant-reader")
@click.argument("role")
@click.option("--password-stdin", is_flag=True,
              help="Read ROLE's password from the first line of stdin (else "
              "STOCKSDB_READER_PASSWORD, else a hidden prompt asked twice).")
@pass_state
def grant_reader(state: CliState, role: str, password_stdin: bool) -> None:
    """Create or update login ROLE that may read stocks_research and nothing else.

    Refuses (exit 2) a role with other powers (CREATEROLE, CREATEDB, BYPASSRLS, REPLICATION,
    SUPERUSER, membership in a role that can write). The password is hashed here (SCRAM), and
    the result is checked by logging in as ROLE.
    """
    from stocksdb.backup.reader import grant_reader as grant
    from stocksdb.backup.reader import parse_role_name

    role = parse_role_name(role)
    check = grant(state.dsn(), role, _reader_password(role, password_stdin))
    click.echo(f"role {role!r} can log in to database {check.database!r} and read "
               f"stocks_research: verified by logging in as it ({check.readable} tables and "
               "views readable, none writable, no access to ingestion)")


def _reader_password(role: str, from_stdin: bool) -> str:
    """The reader's password from stdin, STOCKSDB_READER_PASSWORD or a confirmed prompt."""
    import os
    import sys

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = os.environ.get("STOCKSDB_READER_PASSWORD") or click.prompt(
            f"password for {role}", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.UsageError("the reader's password is empty; give a non-empty one")
    return str(password)
