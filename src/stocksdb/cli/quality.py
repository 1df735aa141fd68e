"""`stocksdb quality`: grade the warehouse's ingest (coverage, freshness, feed anomalies)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import echo_report, format_option

if TYPE_CHECKING:
    from stocksdb.foundation.scoring import IngestQualityReport

EXIT_FAILED = 2   # the contract: a graded failure exits 2 (like a usage error)
_COLOUR = {"ok": "green", "warn": "yellow", "error": "red", "skipped": "bright_black"}


def exit_code(status: str, fail_on: str) -> int:
    """0 for ok (and skipped); 2 for error; warn is 0, or 2 with --fail-on warn."""
    if status == "error" or (status == "warn" and fail_on == "warn"):
        return EXIT_FAILED
    return 0


def _today_in_new_york() -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("America/New_York")).date()


@click.command()
@format_option(json_alias=True)
@click.option("--fail-on", type=click.Choice(["warn", "error"]), default="error",
              show_default=True,
              help="The lowest status that exits 2: `warn` makes a warning fail too.")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Grade as of this day (default: today in New York): bars are expected up "
                   "to the session before it, filings up to it.")
@click.option("--warn", "warn", type=click.FloatRange(0, 1), default=0.85, show_default=True,
              help="A dimension scoring below this warns.")
@click.option("--error", "error", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="A dimension scoring below this is an error.")
@pass_state
def quality(state: CliState, fmt: str, fail_on: str, as_of: datetime | None, warn: float,
            error: float) -> int:
    """Grade each dimension of the warehouse (daily_bars, fundamentals, macro) by coverage and
    freshness, score = min(coverage, freshness), and flag feed anomalies of recent runs
    (stalled, drop, stale); docs/quality.md has the formula and codes. Read-only. Exit 0 when
    ok or warn, 2 when error (or warn with --fail-on warn). CSV: one row per dimension."""
    from stocksdb.db.connection import connect
    from stocksdb.db.ingest_history import read_ingest_quality

    day = as_of.date() if as_of else _today_in_new_york()
    with connect(state.dsn()) as conn:
        report = read_ingest_quality(conn, as_of=day, warn=warn, error=error)
    document = {"as_of": day.isoformat(), **report.as_dict()}
    echo_report(fmt, document=document, rows=document["dimensions"],
                columns=["dimension", "status", "score", "coverage", "freshness", "lag",
                         "messages"], render=lambda: _render(report, day))
    return exit_code(report.status.value, fail_on)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _render(report: IngestQualityReport, day: date) -> None:
    status = report.status.value
    click.echo(f"ingest quality as of {day}: "
               + click.style(status, fg=_COLOUR[status], bold=True)
               + f" (score {report.score:.3f}; warn below {report.warn:g}, error below "
                 f"{report.error:g})")
    for d in report.dimensions:
        s = d.status.value
        scores = "" if d.score is None else (
            f" score {_score(d.score)}  coverage {_score(d.coverage)}  "
            f"freshness {_score(d.freshness)}")
        click.echo(f"  {d.dimension:<13} " + click.style(f"{s:<7}", fg=_COLOUR[s]) + scores)
        for message in d.messages:
            click.echo(f"      - {message}")
