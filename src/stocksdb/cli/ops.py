"""`stocksdb bootstrap` and `stocksdb rebuild`: the operational checklists."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click

from stocksdb.cli import CliState, pass_state


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.command()
@click.option("--source", default="files", show_default=True, metavar="SOURCE",
              help="Where the data comes from: files (a local tree, --path) or massive; each "
                   "job reads its own source of that kind (fundamentals: sec).")
@click.option("--path", type=click.Path(path_type=Path), default=None,
              help="Root of a local tree for --source files.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First date of prices to load.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last date (default: the latest session that has a file).")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), default=None,
              help="Where report.md and report.json go (default reports/bootstrap_<UTC>).")
@click.option("--backup-dir", type=click.Path(path_type=Path), default=Path("backups"),
              show_default=True, help="Where the pre-ingestion and final backups go.")
@pass_state
def bootstrap(state: CliState, source: str, path: Path | None, start: datetime | None,
              end: datetime | None, report_dir: Path | None, backup_dir: Path) -> int:
    """Run the bootstrap checklist: environment, database, schema, backup, every job behind
    its gate, validation, final backup. Stops at the first failed phase (exit 1)."""
    from stocksdb.ops.bootstrap import BootstrapOptions, check_profile, run_bootstrap

    check_profile(source)
    stamp = datetime.now().astimezone().strftime("%Y%m%d_%H%M%S")
    opts = BootstrapOptions(source=source, path=path, start=_day(start),
                            end=_day(end), backup_dir=backup_dir,
                            report_dir=report_dir or Path("reports") / f"bootstrap_{stamp}")
    report = run_bootstrap(state.settings, state.dsn(), opts)
    for phase in report.phases:
        mark = {"ok": "ok", "failed": "FAILED", "skipped": "skipped"}[phase.status]
        click.echo(f"  {phase.name:36} {mark:8} {phase.seconds:7.2f}s"
                   + (f"  {phase.error}" if phase.error else ""))
    click.echo(f"bootstrap {'succeeded' if report.ok else 'failed'}; report: "
               + ", ".join(report.files))
    return 0 if report.ok else 1


@click.command()
@click.option("--from-backup", "dump", type=click.Path(path_type=Path), default=None,
              help="Scenario A: restore exactly this backup file.")
@click.option("--cold", is_flag=True, help="Scenario B: empty database, then every job.")
@click.option("--source", default="files", show_default=True, metavar="SOURCE",
              help="With --cold: where the data comes from (files or massive, as bootstrap).")
@click.option("--path", type=click.Path(path_type=Path), default=None,
              help="With --cold --source files: root of the local tree.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="With --cold: first date of prices.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="With --cold: last date of prices.")
@click.option("--backup-dir", type=click.Path(path_type=Path), default=Path("backups"),
              show_default=True, help="With --cold: where the backup taken before the drop goes.")
@click.option("--yes", is_flag=True, help="Confirm: the configured database is replaced.")
@click.option("--drop-previous", is_flag=True,
              help="With --from-backup: drop the replaced database instead of keeping it as "
                   "NAME_before_restore_YYYYMMDD_HHMMSS.")
@pass_state
def rebuild(state: CliState, dump: Path | None, cold: bool, source: str, path: Path | None,
            start: datetime | None, end: datetime | None, backup_dir: Path, yes: bool,
            drop_previous: bool) -> None:
    """Rebuild the database from a backup (--from-backup FILE) or from the sources (--cold).
    Destructive: without --yes it says what it would destroy and touches nothing. --cold first
    checks the source tree's layout and the source's credentials (exit 2 / 1, nothing touched),
    then backs the database up to --backup-dir, and only then drops it."""
    from stocksdb.ops.bootstrap import BootstrapOptions
    from stocksdb.ops.rebuild import rebuild_cold, rebuild_from_backup

    if (dump is None) == (not cold):
        raise click.UsageError("pass exactly one of --from-backup FILE or --cold")
    if dump is not None:
        from stocksdb.cli.backup import echo_restored

        echo_restored(rebuild_from_backup(dump, state.dsn(), yes=yes,
                                          drop_previous=drop_previous))
        return
    from stocksdb.ops.bootstrap import check_profile

    check_profile(source)
    opts = BootstrapOptions(source=source, path=path, start=_day(start),
                            end=_day(end), backup_dir=backup_dir)
    done = rebuild_cold(state.settings, state.dsn(), opts, yes=yes)
    click.echo(f"backup taken before the drop: {done.backup}" if done.backup else
               "no database existed, so no backup was taken")
    for job, run in done.runs.items():
        click.echo(f"{job}: {json.dumps(run.get('counts', run), default=str)}")
