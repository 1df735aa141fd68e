"""Rebuild the database: from one backup file (scenario A) or cold from the sources (B).

Both are destructive: without `yes` they raise an error naming what would be destroyed and
touch nothing. A cold rebuild first checks every input (the source tree's layout, the
credentials of the source) and takes a backup; only then does it drop the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from stocksdb.config import Settings
from stocksdb.db.connection import connect, database_name, redact_dsn, with_database
from stocksdb.errors import (
    BackupError,
    InputError,
    MissingCredentialError,
    NotConfirmedError,
    RebuildFailedError,
    StocksdbError,
)
from stocksdb.jobs.registry import jobs
from stocksdb.ops.bootstrap import BootstrapOptions, job_step

# Settings field -> environment variable, per source of a cold rebuild (massive's fundamentals
# come from the SEC, which refuses clients without a descriptive User-Agent).
REQUIRED_CREDENTIALS: dict[str, tuple[tuple[str, str], ...]] = {
    "files": (),
    "massive": (("massive_api_key", "MASSIVE_API_KEY"),
                ("massive_s3_access_key_id", "MASSIVE_S3_ACCESS_KEY_ID"),
                ("massive_s3_secret_access_key", "MASSIVE_S3_SECRET_ACCESS_KEY"),
                ("sec_user_agent", "STOCKSDB_SEC_USER_AGENT")),
}


class RebuildNotConfirmedError(NotConfirmedError):
    """A destructive rebuild was asked for without --yes; nothing was touched."""


def describe_target(dsn: str) -> str:
    """'database X on server Y (N rows in ...)' for the confirmation message."""
    from stocksdb.db.tables import table_row_counts

    name = database_name(dsn)
    try:
        with connect(dsn) as conn:
            counts = table_row_counts(conn)
    except Exception:  # noqa: BLE001 - a missing database is described, not an error here
        counts = {}
    rows = ", ".join(f"{t} {n:,}" for t, n in counts.items() if n) or "no data rows"
    return f"database {name!r} on {redact_dsn(with_database(dsn, 'postgres'))} ({rows})"


def layout_problems(path: Path | None) -> list[str]:
    """What a `--source files` tree lacks (empty when usable); fundamentals are optional."""
    from stocksdb.sources.flatfiles import DAY_AGGS_PREFIX
    from stocksdb.sources.local_files import (
        DIVIDENDS_FILE,
        SECURITIES_FILE,
        SPLITS_FILE,
        TICKER_HISTORY_FILE,
    )

    if path is None:
        return ["--source files needs --path DIR (a tree like `stocksdb sample DIR` writes)"]
    if not path.is_dir():
        return [f"--path {str(path)!r} "
                + ("is not a directory" if path.exists() else "does not exist")]
    days = path / "flatfiles" / DAY_AGGS_PREFIX
    problems = [] if any(days.glob("*/*/*.csv.gz")) else [
        f"no day files under {str(days)!r} (YYYY/MM/YYYY-MM-DD.csv.gz)"]
    return problems + [f"no file {str(path / f)!r}" for f in
                       (SECURITIES_FILE, TICKER_HISTORY_FILE, SPLITS_FILE, DIVIDENDS_FILE)
                       if not (path / f).is_file()]


def check_cold_inputs(settings: Settings, opts: BootstrapOptions) -> None:
    """Refuse a cold rebuild whose inputs are unusable, before anything is touched.

    Raises:
        InputError: the source tree is missing or lacks part of the layout (exit 2).
        MissingCredentialError: the source needs credentials that are not set.
    """
    problems = layout_problems(opts.path) if opts.source == "files" else []
    if problems:
        raise InputError(
            f"rebuild --cold cannot read its input: {'; '.join(problems)}; expected the layout "
            "of `stocksdb sample DIR` (flatfiles/, reference/, corporate_actions/); "
            "nothing was dropped")
    missing = [env for field, env in REQUIRED_CREDENTIALS.get(opts.source, ())
               if not getattr(settings, field)]
    if missing:
        raise MissingCredentialError(
            f"rebuild --cold --source {opts.source} needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not set; set them in the environment; "
            "nothing was dropped")


def _exists(dsn: str) -> bool:
    with connect(with_database(dsn, "postgres")) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (database_name(dsn),)).fetchone() is not None


def _backup_first(dsn: str, directory: Path) -> Path:
    """A backup of the database about to be dropped; its dump's path."""
    from stocksdb.backup.dump import create_backup

    try:
        return create_backup(dsn, directory=directory).dump
    except StocksdbError as exc:
        raise BackupError(f"{exc}\nrebuild --cold stopped before the drop: database "
                          f"{database_name(dsn)!r} was not changed") from exc


@dataclass(frozen=True)
class ColdRebuild:
    """A finished cold rebuild: the backup taken before the drop, and each job's result."""

    backup: Path | None        # None when there was no database to back up
    runs: dict[str, dict[str, Any]]


def rebuild_cold(settings: Settings, dsn: str, opts: BootstrapOptions, *,
                 yes: bool) -> ColdRebuild:
    """Check the inputs, back up, drop and recreate the database, migrate, run every job.

    Raises:
        InputError, MissingCredentialError: an input is unusable (nothing is touched).
        RebuildNotConfirmedError: `yes` is false (nothing is touched).
        BackupError: the backup before the drop failed (nothing is dropped).
        RebuildFailedError: a step after the drop failed; names the backup to restore.
    """
    check_cold_inputs(settings, opts)
    if not yes:
        raise RebuildNotConfirmedError(
            f"rebuild --cold would DROP {describe_target(dsn)} (after a backup to "
            f"{str(opts.backup_dir)!r}) and reload it from --source {opts.source}; pass --yes "
            "to do it")
    backup = _backup_first(dsn, opts.backup_dir) if _exists(dsn) else None
    try:
        return ColdRebuild(backup, _drop_and_reload(settings, dsn, opts))
    except (StocksdbError, psycopg.Error, OSError) as exc:
        raise RebuildFailedError(f"{str(exc).strip()}\n{_way_back(backup)}", backup=backup,
                                 exit_code=getattr(exc, "exit_code", 1)) from exc


def _way_back(backup: Path | None) -> str:
    if backup is None:
        return "rebuild --cold failed after creating the database; there was none before it"
    return (f"rebuild --cold failed after the drop; the data from before is in {str(backup)!r}: "
            f"`stocksdb restore {backup} --yes` brings it back")


def _drop_and_reload(settings: Settings, dsn: str,
                     opts: BootstrapOptions) -> dict[str, dict[str, Any]]:
    """Drop and recreate the database, migrate it, run every job in order."""
    from stocksdb.db.migrate import migrate

    name = database_name(dsn)
    with connect(with_database(dsn, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with connect(dsn, autocommit=True) as conn:
        migrate(conn)
    return {job.name: job_step(job)(dsn, settings, opts) for job in jobs()}


def rebuild_from_backup(dump: Path, dsn: str, *, yes: bool, drop_previous: bool = False) -> Any:
    """Scenario A: restore exactly one backup file into the configured database (see
    restore_backup: validated before the swap, the replaced database kept unless
    `drop_previous`)."""
    from stocksdb.backup.restore import restore_backup

    return restore_backup(dump, target_dsn=dsn, yes=yes, drop_previous=drop_previous)
