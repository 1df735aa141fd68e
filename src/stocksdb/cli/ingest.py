"""`stocksdb run JOB ...`: run one job."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import adjustment_method_option
from stocksdb.domain.adjustments import DEFAULT_METHOD, AdjustmentMethod

if TYPE_CHECKING:
    from rich.progress import Progress

    from stocksdb.db.sync import MergeCounts
    from stocksdb.jobs.base import ProgressFn

log = logging.getLogger("stocksdb.jobs")


def _symbols(_: click.Context, __: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    symbols = tuple(sorted({s.strip().upper() for s in value.split(",") if s.strip()}))
    if not symbols:
        raise click.BadParameter("expected a comma-separated list such as AAPL,MSFT")
    return symbols


def describe_session(session: date, outcome: str, counts: MergeCounts | None) -> str:
    """One short sentence about a session of a dated job, for a log line."""
    if counts is None:
        return f"{session} {outcome}, nothing written"
    return (f"{session} loaded: {counts.inserted} new, {counts.updated} changed, "
            f"{counts.unchanged} unchanged, {counts.deleted} deleted bars")


class _LogProgress:
    """Off a terminal (or with a bar unwanted): one short log line per session."""

    def __init__(self) -> None:
        self.done, self.of = 0, 0

    def total(self, sessions: int) -> None:
        self.of = sessions

    def __call__(self, session: date, outcome: str, counts: MergeCounts | None) -> None:
        self.done += 1
        log.info("%s (%d of %d)", describe_session(session, outcome, counts), self.done,
                 self.of)


class _BarProgress:
    """On a terminal: a rich progress bar over the run's sessions."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task = bar.add_task("sessions", total=None)

    def total(self, sessions: int) -> None:
        self.bar.update(self.task, total=sessions)

    def __call__(self, session: date, outcome: str, counts: MergeCounts | None) -> None:
        self.bar.update(self.task, advance=1, description=f"{session} {outcome}")


@contextmanager
def _progress(dated: bool, quiet: bool) -> Iterator[ProgressFn | None]:
    """A rich progress bar on a terminal; plain log lines otherwise; nothing with --quiet."""
    if quiet or not dated:
        yield None
        return
    if not sys.stderr.isatty():
        yield _LogProgress()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  transient=True) as bar:
        yield _BarProgress(bar)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C while a job runs: the current date rolls back, the run is
    recorded 'interrupted'. A second signal is ignored, so it cannot cut the recording short.
    (Only the main thread may set handlers; elsewhere nothing changes.)"""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.command()
@click.argument("job")
@click.option("--source", default=None, metavar="SOURCE",
              help="Where the data comes from: one of the job's sources (default: its first; "
                   "`stocksdb jobs` lists them). A source the job lacks exits 2.")
@click.option("--path", type=click.Path(path_type=Path), default=None,
              help="Root of a local tree (SPEC section 12) for --source files.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First date (prices_daily; trading_sessions: default the first loaded day "
                   "file).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last date; default: the latest day file on or after --start, else the last "
                   "completed XNYS session; a later date is brought back to that session "
                   "(trading_sessions: default the last loaded day file).")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="The last N XNYS sessions up to --end, default the last completed session "
                   "(instead of --start); its file missing exits 1.")
@click.option("--series", callback=_symbols, default=None, metavar="A,B",
              help="Macro series ids, e.g. GDP,CPIAUCSL (jobs that take them: `stocksdb jobs`).")
@click.option("--symbols", callback=_symbols, default=None, metavar="A,B",
              help="Only these tickers: an explicit, logged, non-authoritative override. None "
                   "in ticker_history exits 2; some not: a warning naming them.")
@adjustment_method_option(
    default=None,
    help=f"Dividend adjustment method (adjustment_factors_daily; default {DEFAULT_METHOD}).")
@click.option("--max-shrink", type=click.FloatRange(min=0, max=1), default=None,
              metavar="FRACTION",
              help="prices_daily: most of a date's stored bars a republished file may delete "
                   "(default 0.02); 1 accepts a genuine vendor removal (logged).")
@click.option("--no-wait", is_flag=True,
              help="Exit 1 at once, naming the run, when another run holds a table this job "
                   "reads or writes (default: wait for it, saying so).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@pass_state
def run(state: CliState, job: str, source: str | None, path: Path | None,
        start: datetime | None, end: datetime | None, days: int | None,
        series: tuple[str, ...] | None, symbols: tuple[str, ...] | None,
        method: AdjustmentMethod | None,
        max_shrink: float | None, no_wait: bool, as_json: bool) -> int:
    """Run JOB behind its gate and record it in ingestion.job_runs (`stocksdb jobs` lists the
    jobs in run order, with their sources). Exit 2 for an unknown job or source, 1 when
    the run failed or some dates failed or were missing, 3 when a gate refused, 130 when
    interrupted (SIGINT/SIGTERM: the date being written is rolled back, the run is recorded
    'interrupted')."""
    from stocksdb.jobs.registry import get_job
    from stocksdb.jobs.runner import RunRequest, run_job

    if start is not None and days is not None:
        raise click.UsageError("pass either --start/--end or --days, not both")
    request = RunRequest(job=job, source=source, path=path, start=_day(start), end=_day(end),
                         days=days, symbols=symbols, series=series, method=method,
                         max_shrink=max_shrink, no_wait=no_wait)
    try:
        with _sigterm_interrupts(), _progress(get_job(job).dated, state.quiet) as progress:
            report = run_job(state.settings, state.dsn(), request, progress=progress)
    except KeyboardInterrupt:
        click.echo(f"{job}: interrupted; the date being written was rolled back and the run "
                   "is recorded as 'interrupted'", err=True)
        return 130
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
        click.echo(f"{job} run {report.run_id} {report.status} in {report.elapsed_s:.2f}s: "
                   f"{counts}")
        for reason, n in sorted(report.rejected.items()):
            click.echo(f"  rejected {n} row(s): {reason}")
        if report.error:
            click.echo(f"  {report.error}")
    return 0 if report.status == "succeeded" else 1
