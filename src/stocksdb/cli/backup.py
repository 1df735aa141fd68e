"""`stocksdb backup`, `stocksdb restore FILE`, and `grant_reader` (mounted as `db grant-reader`)."""

from __future__ import annotations

from pathlib import Path

import click

from stocksdb.cli import CliState, pass_state


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
              help="Really drop the configured database and restore FILE into it.")
@pass_state
def restore(state: CliState, file: Path, yes: bool) -> None:
    """Replace the configured database with backup FILE, then validate it.

    FILE's size and sha256 are checked against its manifest before anything is dropped.
    Without --yes, says what would be destroyed and exits 1.
    """
    from stocksdb.backup.restore import restore_backup

    result = restore_backup(file, target_dsn=state.dsn(), yes=yes)
    click.echo(f"restored {result.dump.name} into database {result.database!r} on "
               f"{result.server}: {len(result.manifest.row_counts)} tables, {result.rows} rows; "
               "row counts, checksums, orphans and views validated")


@click.command("grant-reader")
@click.argument("role")
@click.option("--password", default=None,
              help="Set ROLE's password (else an existing one is kept).")
@pass_state
def grant_reader(state: CliState, role: str, password: str | None) -> None:
    """Create or update login ROLE that may read stocks_research and nothing else."""
    from stocksdb.backup.reader import grant_reader as grant

    grant(state.dsn(), role, password)
    click.echo(f"role {role!r} can log in and read stocks_research (not ingestion)")

