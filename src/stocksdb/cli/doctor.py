"""`stocksdb doctor`: is the backbone (PostgreSQL, Redis, Kafka) reachable, and how well?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import echo_report, format_option

if TYPE_CHECKING:
    from stocksdb.foundation.connectivity import ComponentReport, ConnectivityReport

_COLOUR = {"ok": "green", "degraded": "yellow", "down": "red", "disabled": "bright_black"}


@click.command()
@format_option(json_alias=True)
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 60), default=3.0,
              show_default=True, metavar="SECONDS",
              help="How long each probe waits for its server (PostgreSQL: at least 2 s).")
@pass_state
def doctor(state: CliState, fmt: str, timeout_s: float) -> int:
    """Probe PostgreSQL (version, timescaledb available / installed), Redis (PING, version,
    latency, a write check) and Kafka (metadata, the ingest topic, a producer flush), each
    ok, degraded, down or disabled with the reason. Starts no server and publishes nothing
    (the Redis write check's key expires in 10 s). In STOCKSDB_BACKBONE_MODE=institutional a
    missing Redis (or Kafka with streaming on) is down. Exit 0 when every component is ok or
    disabled, 1 when any is degraded or down. CSV: one row per component."""
    from stocksdb.foundation.connectivity import connectivity_report

    report = connectivity_report(state.settings, timeout_s=timeout_s)
    document = report.as_dict()
    echo_report(fmt, document=document,
                rows=[{"component": name, **c} for name, c in document["components"].items()],
                columns=["component", "status", "reason", "target", "origin", "elapsed_ms"],
                render=lambda: _render(report))
    return report.exit_code


def _render(report: ConnectivityReport) -> None:
    status = report.status.value
    click.echo("backbone connectivity: " + click.style(status, fg=_COLOUR[status], bold=True)
               + f" (mode {report.backbone_mode}, at "
                 f"{report.checked_at.isoformat(timespec='seconds')})")
    for component in report.components:
        _render_component(component)


def _render_component(c: ComponentReport) -> None:
    s = c.status.value
    click.echo(f"  {c.component:<9} " + click.style(f"{s:<9}", fg=_COLOUR[s]) + c.reason)
    where = f"{c.target} " if c.target else ""
    source = f"(from {c.origin}) " if c.origin else ""
    if where or source:
        click.echo(f"{'':21}{where}{source}in {c.elapsed_ms:.1f} ms")
