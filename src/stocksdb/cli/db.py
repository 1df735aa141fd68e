"""`stocksdb db ...`: the embedded server, the schema, checksums."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import click

from stocksdb.cli import CliState, pass_state


@click.group()
def db() -> None:
    """Embedded server and schema."""


@db.command()
@pass_state
def start(state: CliState) -> None:
    """Start the embedded PostgreSQL server (initialising it on first use)."""
    from stocksdb.db.server import embedded_server, resolve_dsn

    server = embedded_server(state.settings)
    status = server.start()
    resolve_dsn(state.settings)
    for notice in status.notices:
        click.echo(f"note: {notice}")
    click.echo(f"embedded server running: pid {status.pid}, port {status.port}, "
               f"data {status.pgdata}, socket {status.socket_dir}, password in {server.passfile}")


@db.command()
@pass_state
def stop(state: CliState) -> None:
    """Stop the embedded PostgreSQL server."""
    from stocksdb.db.server import embedded_server

    server = embedded_server(state.settings)
    click.echo("embedded server stopped" if server.stop() else "embedded server was not running")


@db.command()
@click.option("--show-password", is_flag=True,
              help="Print the password in the DSN (read from its passfile if needed).")
@pass_state
def url(state: CliState, show_password: bool) -> None:
    """Print the connection string of the configured database (password redacted)."""
    from stocksdb.db.connection import redact_dsn, reveal_password

    dsn = state.dsn()
    click.echo(reveal_password(dsn) if show_password else redact_dsn(dsn))


@db.command(context_settings={"ignore_unknown_options": True})
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@pass_state
def psql(state: CliState, psql_args: tuple[str, ...]) -> None:
    """Open psql on the configured database; PSQL_ARGS go to psql (e.g. -c 'select 1').

    The password reaches psql through PGPASSFILE / PGPASSWORD, never its command line.
    """
    import shutil

    from stocksdb.backup.tools import tool_connection
    from stocksdb.db.server import bin_dir

    exe = shutil.which("psql") or str(bin_dir() / "psql")
    conninfo, env = tool_connection(state.dsn())
    sys.exit(subprocess.call([exe, "--dbname", conninfo, *psql_args], env=env))


@db.command()
@pass_state
def migrate(state: CliState) -> None:
    """Apply pending schema migrations."""
    from stocksdb.db.connection import connect
    from stocksdb.db.migrate import migrate as apply

    with connect(state.dsn(), autocommit=True) as conn:
        done = apply(conn)
    click.echo("\n".join(f"applied {n}" for n in done) if done else "schema is up to date")


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_state
def status(state: CliState, as_json: bool) -> None:
    """Server, migrations and row counts of the configured database."""
    from stocksdb.db.status import database_status

    report = database_status(state.settings, state.dsn())
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        _render_status(report)


def _render_status(report: dict[str, Any]) -> None:
    """Print a database_status report as rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"database: {report['dsn']} (PostgreSQL {report['server_version']})")
    if "server" in report:
        s = report["server"]
        console.print(f"embedded server: {'running' if s['running'] else 'stopped'}, "
                      f"pid {s['pid']}, port {s['port']}, data {s['pgdata']}, "
                      f"socket {s['socket_dir']}")
        for folder in s["opened_folders"]:
            console.print(f"  widened for the server (o+x until `db stop`): {folder}")
    pending = [m["name"] for m in report["migrations"] if m["applied_at"] is None]
    console.print(f"migrations: {len(report['migrations']) - len(pending)} applied, "
                  f"{len(pending)} pending" + (f" ({', '.join(pending)})" if pending else ""))
    table = Table("table", "rows", title="stocks_research")
    for name, rows in report["tables"].items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    if report.get("abandoned_now"):
        console.print(f"marked abandoned now (their process is gone): runs "
                      f"{', '.join(map(str, report['abandoned_now']))}")
    if report["recent_runs"]:
        runs = Table("run", "job", "status", "started", title="recent runs")
        for r in report["recent_runs"]:
            runs.add_row(str(r["run_id"]), r["job"], r["status"], str(r["started_at"]))
        console.print(runs)


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--table", "tables", multiple=True, help="Only these tables (repeatable).")
@pass_state
def checksum(state: CliState, as_json: bool, tables: tuple[str, ...]) -> None:
    """A deterministic digest per data table (same content, same digest)."""
    from stocksdb.db.checksum import database_checksums
    from stocksdb.db.connection import connect

    with connect(state.dsn()) as conn:
        sums = database_checksums(conn)
    chosen = [sums[t] for t in sorted(sums) if not tables or t in tables]
    if as_json:
        click.echo(json.dumps({c.table: {"rows": c.rows, "digest": c.digest} for c in chosen},
                              indent=2))
        return
    for c in chosen:
        click.echo(f"{c.table:32} {c.rows:>12}  {c.digest}")
