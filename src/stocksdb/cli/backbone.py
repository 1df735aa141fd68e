"""`stocksdb backbone rehearse`: store -> cache -> stream end to end, reported."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stocksdb.cli import CliState, pass_state

if TYPE_CHECKING:
    from stocksdb.foundation.rehearsal import RehearsalReport


@click.group()
def backbone() -> None:
    """The operational backbone: warehouse, query cache (Redis) and telemetry (Kafka)."""


@backbone.command("rehearse")
@click.option("--path", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Source tree to ingest (files layout; default: a small "
              "generated sample in a temporary folder, removed afterwards).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First session to ingest (default: the whole tree or sample).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last session to ingest.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the report as Markdown.")
@pass_state
def rehearse(state: CliState, path: Path | None, start: datetime | None,
             end: datetime | None, as_json: bool, as_markdown: bool) -> int:
    """Ingest a slice (migrating the database first), read one security's history and one
    date's cross-section twice through the cache (a miss then a hit), publish the ingest
    telemetry and consume it back, measure its latency, and probe connectivity. Prints ingest
    rows, cache metrics, events produced/consumed, latency percentiles, the connectivity
    report and every failure. With streaming off it says so and does the rest. Exit 0 when
    everything is ok, 1 when anything is degraded."""
    from stocksdb.foundation.rehearsal import rehearse as run_rehearsal

    if as_json and as_markdown:
        raise click.UsageError("pass at most one of --json and --markdown")
    report = run_rehearsal(state.settings, state.dsn(), path=path,
                           start=start.date() if start else None,
                           end=end.date() if end else None)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        click.echo(render_markdown(report) if as_markdown else render_text(report))
    return report.exit_code


def render_text(report: RehearsalReport) -> str:
    """A short human summary."""
    stream, cache = report.stream, report.cache.get("metrics", {})
    latency = report.latency or {}
    lines = [f"backbone rehearsal: {report.status} ({'sample' if report.sample else 'path'} "
             f"{report.path})",
             "  ingest rows: " + ", ".join(f"{k} {v}" for k, v in report.rows.items()),
             f"  cache: {cache.get('misses')} misses, {cache.get('hits')} hits, "
             f"{cache.get('bypassed')} bypassed, {cache.get('evictions')} evictions",
             f"  stream: {stream.get('status')}, {stream.get('produced')} produced, "
             f"{stream.get('consumed')} consumed"
             + (f" ({stream['reason']})" if stream.get("reason") else ""),
             f"  latency: p50 {latency.get('p50_ms')} ms, p99 {latency.get('p99_ms')} ms"
             if latency else "  latency: not measured",
             "  connectivity: " + ", ".join(
                 f"{n} {c['status']}" for n, c in report.connectivity.get("components",
                                                                          {}).items())]
    lines += [f"  failure: {f}" for f in report.failures]
    return "\n".join(lines)


def render_markdown(report: RehearsalReport) -> str:
    """The report as a Markdown document."""
    out = [f"# Backbone rehearsal: {report.status}", "",
           f"Source: {'generated sample' if report.sample else 'path'} `{report.path}`", "",
           "## Ingest", "", "| job | rows |", "|---|---:|"]
    out += [f"| {job} | {rows} |" for job, rows in report.rows.items()]
    out += ["", "## Cache", "", *_table(report.cache.get("metrics", {})),
            "", "## Telemetry", "", *_table(report.stream)]
    if report.latency:
        out += ["", "## Latency (ms)", "",
                *_table({k: v for k, v in report.latency.items() if k != "dimensions"})]
    out += ["", "## Connectivity", "", "| component | status | reason |", "|---|---|---|"]
    out += [f"| {name} | {c['status']} | {c['reason']} |"
            for name, c in report.connectivity.get("components", {}).items()]
    out += ["", "## Failures", ""] + ([f"- {f}" for f in report.failures] or ["none"])
    return "\n".join(out)


def _table(values: dict[str, Any]) -> list[str]:
    return ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in values.items())]
