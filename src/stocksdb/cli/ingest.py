"""`stocksdb run JOB ...`: run one job."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stocksdb.cli import CliState, pass_state


@click.command()
@click.argument("job")
@click.option("--source", type=click.Choice(["files", "massive"]), default="files",
              show_default=True, help="Where the data comes from.")
@click.option("--path", type=click.Path(path_type=Path), default=None,
              help="Root of a local tree (SPEC section 12) for --source files.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@pass_state
def run(state: CliState, job: str, source: str, path: Path | None, as_json: bool) -> int:
    """Run JOB (securities_master, ticker_history, ...) and record it in ingestion.job_runs."""
    from stocksdb.jobs.runner import RunRequest, run_job

    report = run_job(state.settings, state.dsn(), RunRequest(job=job, source=source, path=path))
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
        click.echo(f"{job} run {report.run_id} {report.status} in {report.elapsed_s:.2f}s: "
                   f"{counts}")
        for reason, n in sorted(report.rejected.items()):
            click.echo(f"  rejected {n} row(s): {reason}")
    return 0 if report.status == "succeeded" else 1
