"""`stocksdb doctor`: is the backbone (PostgreSQL, Redis, Kafka) reachable, and how well?"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from stocksdb.cli import CliState, pass_state

if TYPE_CHECKING:
    from stocksdb.foundation.connectivity import ComponentReport, ConnectivityReport

_COLOUR = {"ok": "green", "degraded": "yellow", "down": "red", "disabled": "bright_black"}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 60), default=3.0,
              show_default=True, metavar="SECONDS",
              help="How long each probe waits for its server (PostgreSQL: at least 2 s).")
@pass_state
def doctor(state: CliState, as_json: bool, timeout_s: float) -> int:
    """Probe PostgreSQL (version, timescaledb available / installed), Redis (PING, version,
    latency, a write check) and Kafka (metadata, the ingest topic, a producer flush), each
    ok, degraded, down or disabled with the reason. Starts no server and publishes nothing
    (the Redis write check's key expires in 10 s). In STOCKSDB_BACKBONE_MODE=institutional a
    missing Redis (or Kafka with streaming on) is down. Exit 0 when every component is ok or
    disabled, 1 when any is degraded or down."""
    from stocksdb.foundation.connectivity import connectivity_report

    report = connectivity_report(state.settings, timeout_s=timeout_s)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _render(report)
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
