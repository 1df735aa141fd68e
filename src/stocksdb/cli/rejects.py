"""`stocksdb rejects`: the quarantine (ingestion.rejected_rows), newest first, with a count
per reason code."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import echo_frame, echo_table, format_option, frame_records

if TYPE_CHECKING:
    from stocksdb.db.rejects import RejectedRows
    from stocksdb.domain.reasons import Reason

_SHOWN = ["rejected_at", "run_id", "job", "trade_date", "ticker", "reason_code", "source_key",
          "detail"]


def _reason(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Reason | None:
    from stocksdb.db.rejects import parse_reason
    from stocksdb.errors import InputError

    try:
        return None if value is None else parse_reason(value)
    except InputError as exc:
        raise click.BadParameter(str(exc)) from None


def _job(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from stocksdb.jobs.registry import jobs

    names = [j.name for j in jobs()]
    if value is not None and value not in names:
        raise click.BadParameter(f"job {value!r} is unknown; known jobs: {', '.join(names)}")
    return value


def _window(day: datetime | None, start: datetime | None,
            end: datetime | None) -> tuple[date | None, date | None]:
    if day is not None and (start or end):
        raise click.UsageError("pass either --date or --start/--end, not both")
    if day is not None:
        return day.date(), day.date()
    if start and end and start > end:
        raise click.UsageError(f"--start {start:%Y-%m-%d} is after --end {end:%Y-%m-%d}")
    return (start.date() if start else None), (end.date() if end else None)


@click.command()
@click.option("--job", default=None, callback=_job, help="Only rows this job rejected.")
@click.option("--reason", default=None, metavar="CODE", callback=_reason,
              help="Only this reason code (docs/checks.md lists them).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Only rows of this trade date.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Only rows with a trade date on or after this one.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Only rows with a trade date on or before this one.")
@click.option("--ticker", default=None, help="Only rows of this ticker (as the vendor sent it).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Print at most this many rows (the counts cover every matching row).")
@format_option(json_alias=True)
@pass_state
def rejects(state: CliState, job: str | None, reason: Reason | None, day: datetime | None,
            start: datetime | None, end: datetime | None, ticker: str | None, limit: int,
            fmt: str) -> None:
    """Rows the jobs did not load (ingestion.rejected_rows), newest first, and how many
    matching rows each reason code has. Table: the rows, then the counts. CSV: the rows on
    stdout, the counts on stderr. JSON: {"total", "shown", "reason_counts", "rows"}."""
    from stocksdb.db.connection import connect
    from stocksdb.db.rejects import read_rejected_rows

    first, last = _window(day, start, end)
    with connect(state.dsn()) as conn:
        found = read_rejected_rows(conn, job=job, reason=reason, start=first, end=last,
                                   ticker=ticker, limit=limit)
    document = {"total": found.total, "shown": len(found.rows),
                "reason_counts": found.reason_counts, "rows": frame_records(found.rows)}
    echo_frame(found.rows, fmt, _SHOWN, document=document)
    if fmt != "json":
        _echo_counts(found, err=fmt == "csv")


def _echo_counts(found: RejectedRows, *, err: bool) -> None:
    """The reason counts: a table under the rows, or plain lines on stderr (CSV)."""
    shown = f"{len(found.rows)} of {found.total} matching row(s) shown"
    if err:
        click.echo(f"{shown}; by reason: " + ", ".join(
            f"{r} {n}" for r, n in found.reason_counts.items()), err=True)
        return
    if found.reason_counts:
        echo_table(["reason_code", "rows"], [[r, str(n)] for r, n in found.reason_counts.items()],
                   right=[False, True], title="by reason")
    click.echo(shown)
