"""`stocksdb cache ...`: the embedded Valkey server of the query cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import echo_report, format_option

if TYPE_CHECKING:
    from stocksdb.cache.server import ValkeyStatus


@click.group()
def cache() -> None:
    """Embedded Valkey server of the query cache (Redis protocol)."""


@cache.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Also listen on this TCP port of 127.0.0.1; 0 = the Unix socket only.")
@click.option("--max-memory", default="256mb", show_default=True,
              help="Memory limit; at it the least recently used query results are evicted.")
@pass_state
def start(state: CliState, port: int, max_memory: str) -> None:
    """Start the embedded Valkey server (stopping orphans first); it runs until `cache stop`.

    No persistence: it is a cache. Every connection needs the password generated at first
    start (STOCKSDB_HOME/valkey/password); `stocksdb cache url --show-password` prints it.
    """
    from stocksdb.cache.server import embedded_valkey

    status = embedded_valkey(state.settings).start(port=port, max_memory=max_memory)
    for notice in status.notices:
        click.echo(f"note: {notice}")
    if "already running" in status.notices and status.port != (port or None):
        click.echo("note: its TCP port is unchanged; `stocksdb cache stop` first to change it")
    click.echo(f"embedded cache running: {_describe(status)}")
    if state.settings.redis_url:
        click.echo(f"note: STOCKSDB_REDIS_URL / REDIS_URL is set, so the query cache uses "
                   f"{_redacted(state.settings.redis_url)}, not this server")


@cache.command()
@pass_state
def stop(state: CliState) -> None:
    """Stop the embedded Valkey server and any orphan of it (cached results are dropped)."""
    from stocksdb.cache.server import embedded_valkey

    stopped = embedded_valkey(state.settings).stop()
    click.echo("embedded cache stopped" if stopped else "embedded cache was not running")


@cache.command()
@format_option(json_alias=True)
@pass_state
def status(state: CliState, fmt: str) -> None:
    """The embedded server (running? pid, socket, port, orphans) and the cache URL in use.
    CSV: one row, the embedded server's fields and the URL."""
    from stocksdb.cache.server import embedded_valkey

    server = embedded_valkey(state.settings)
    current = server.status()
    report = _report(current, state.settings.redis_url or server.url(),
                     uses_embedded=state.settings.redis_url is None)
    echo_report(fmt, document=report, rows=[{**report["embedded"], "url": report["url"]}],
                columns=["running", "pid", "socket", "port", "owner", "orphans", "folder",
                         "url"], render=lambda: _render(current, str(report["url"])))


def _render(current: ValkeyStatus, url: str) -> None:
    click.echo(f"embedded cache: {'running, ' if current.running else 'stopped'}"
               f"{_describe(current) if current.running else ''}")
    if current.orphans:
        click.echo(f"orphans: pids {', '.join(map(str, current.orphans))}; the next "
                   "`stocksdb cache start` or `stop` stops them")
    click.echo(f"query cache uses: {url}")


@cache.command()
@click.option("--show-password", is_flag=True, help="Print the password in the URL.")
@pass_state
def url(state: CliState, show_password: bool) -> None:
    """Print the URL of the query cache's server (password redacted)."""
    from stocksdb.cache.server import resolve_redis_url

    value = resolve_redis_url(state.settings, start=False)
    click.echo(value if show_password else _redacted(value))


def _describe(status: ValkeyStatus) -> str:
    port = f", port {status.port}" if status.port else ", no TCP port"
    owner = f", ends with process {status.owner}" if status.owner else ""
    return f"pid {status.pid}, socket {status.socket}{port}{owner}, files {status.folder}"


def _report(status: ValkeyStatus, url: str, *, uses_embedded: bool) -> dict[str, Any]:
    return {"embedded": {"folder": str(status.folder), "running": status.running,
                         "pid": status.pid, "socket": str(status.socket), "port": status.port,
                         "owner": status.owner, "orphans": list(status.orphans)},
            "uses_embedded": uses_embedded, "url": _redacted(url)}


def _redacted(url: str) -> str:
    from stocksdb.redact import redact, url_passwords

    return redact(url, url_passwords(url))
