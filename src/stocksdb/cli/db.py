"""`stocksdb db ...`: the embedded server, the schema, checksums."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Any

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import (
    cell_text,
    echo_frame,
    echo_table,
    format_option,
    plain_value,
)

if TYPE_CHECKING:
    import pandas as pd


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
@format_option(json_alias=True)
@pass_state
def status(state: CliState, fmt: str) -> None:
    """Server, migrations, row counts, and the dates each dated table holds (first and newest)
    of the configured database. A stopped embedded server is reported as stopped (exit 0), not
    started. CSV: one row per table (rows, date column, first, newest)."""
    from stocksdb.db.status import database_status, embedded_status, stopped_status

    server = embedded_status(state.settings)
    report = stopped_status(server) if server is not None and not server["running"] \
        else database_status(state.settings, state.dsn())
    if fmt == "table":
        _render_status(report)
        return
    echo_frame(_tables_frame(report), fmt, document=report)


def _tables_frame(report: dict[str, Any]) -> pd.DataFrame:
    """One row per data table: rows, and for a dated table its date column, first, newest."""
    import pandas as pd

    dates = report["dates"]
    return pd.DataFrame(
        [{"table": name, "rows": rows, "date_column": dates.get(name, {}).get("column"),
          "first": dates.get(name, {}).get("first"), "newest": dates.get(name, {}).get("newest")}
         for name, rows in report["tables"].items()],
        columns=["table", "rows", "date_column", "first", "newest"])


def _render_status(report: dict[str, Any]) -> None:
    """Print a database_status report as rich tables."""
    from rich.console import Console

    console = Console()
    if report["dsn"] is None:
        _render_stopped(report["server"])
        return
    console.print(f"database: {report['dsn']} (PostgreSQL {report['server_version']})")
    if "server" in report:
        s = report["server"]
        console.print(f"embedded server: running, pid {s['pid']}, port {s['port']}, "
                      f"data {s['pgdata']}, socket {s['socket_dir']}")
        for folder in s["opened_folders"]:
            console.print(f"  widened for the server (o+x until `db stop`): {folder}")
    pending = [m["name"] for m in report["migrations"] if m["applied_at"] is None]
    console.print(f"migrations: {len(report['migrations']) - len(pending)} applied, "
                  f"{len(pending)} pending" + (f" ({', '.join(pending)})" if pending else ""))
    echo_frame(_tables_frame(report), "table", title="stocks_research")
    _render_runs(report)


def _render_stopped(server: dict[str, Any]) -> None:
    state = "stopped" if server["initialized"] else "stopped (not initialised yet)"
    click.echo(f"embedded server: {state}; data {server['pgdata']}")
    click.echo("nothing else to report while it is stopped; `stocksdb db start` starts it")


def _render_runs(report: dict[str, Any]) -> None:
    if report.get("abandoned_now"):
        click.echo(f"marked abandoned now (their process is gone): runs "
                   f"{', '.join(map(str, report['abandoned_now']))}")
    if report["recent_runs"]:
        echo_table(["run", "job", "status", "started"],
                   [[str(r["run_id"]), r["job"], r["status"], cell_text(plain_value(
                       r["started_at"]))] for r in report["recent_runs"]],
                   right=[True, False, False, False], title="recent runs")


@db.command()
@format_option(json_alias=True)
@click.option("--table", "tables", multiple=True,
              help="Only these tables (repeatable); an unknown one exits 2 listing the tables.")
@pass_state
def checksum(state: CliState, fmt: str, tables: tuple[str, ...]) -> None:
    """A deterministic digest per data table (same content, same digest). JSON: {table: {rows,
    digest}}."""
    import pandas as pd

    from stocksdb.db.checksum import data_tables, table_checksum
    from stocksdb.db.connection import connect

    with connect(state.dsn()) as conn:
        known = data_tables(conn)
        unknown = [t for t in tables if t not in known]
        if unknown:
            raise click.BadParameter(f"no data table {', '.join(map(repr, unknown))}; the "
                                     f"tables are: {', '.join(known)}", param_hint="--table")
        chosen = [table_checksum(conn, t) for t in known if not tables or t in tables]
    frame = pd.DataFrame([(c.table, c.rows, c.digest) for c in chosen],
                         columns=["table", "rows", "digest"])
    echo_frame(frame, fmt, document={c.table: {"rows": c.rows, "digest": c.digest}
                                     for c in chosen})
