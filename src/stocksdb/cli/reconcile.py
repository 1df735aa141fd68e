"""`stocksdb reconcile`: compare the warehouse's closes and events with another vendor's
(ops/reconcile.py), store the findings and print them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import echo_report, format_option
from stocksdb.cli.quality import exit_code

if TYPE_CHECKING:
    from stocksdb.ops.reconcile import ReconcileReport

VENDORS = ("yahoo", "alpha_vantage", "massive")
# Our severities in the words of `stocksdb quality`'s --fail-on.
_STATUS = {"ok": "ok", "warning": "warn", "error": "error"}
_COLOUR = {"ok": "green", "warning": "yellow", "error": "red"}


@click.command()
@click.option("--vendor", required=True, type=click.Choice(VENDORS),
              help="Vendor to compare with.")
@click.option("--symbols", required=True, metavar="LIST",
              help='Comma-separated tickers, e.g. "AAPL,MSFT".')
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First date of the window (default: 30 days before --end).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last date of the window (default: today, UTC).")
@click.option("--tolerance", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Relative close difference above which a session is an error.")
@click.option("--fail-on", type=click.Choice(["warn", "error"]), default="error",
              show_default=True, help="The lowest status that exits 2.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Pricing cache directory (default: $STOCKSDB_HOME/cache/pricing).")
@click.option("--refresh", is_flag=True, help="Ignore a cached vendor dataset and pull again.")
@format_option(json_alias=True)
@pass_state
def reconcile(state: CliState, vendor: str, symbols: str, start: datetime | None,
              end: datetime | None, tolerance: float, fail_on: str, cache_dir: Path | None,
              refresh: bool, fmt: str) -> int:
    """Compare the warehouse's daily closes of --symbols with --vendor's, on the vendor's price
    basis (our raw bars with our splits), and the dividends and splits each reports. Findings
    go to ingestion.quality_findings under a `reconcile` run; docs/quality.md has the codes.
    Exit 0 when ok or warn, 2 when a close differs by more than --tolerance (or warn with
    --fail-on warn). CSV: one row per drifting session."""
    from stocksdb.ops.reconcile import reconcile_warehouse

    report = reconcile_warehouse(state.settings, state.dsn(), vendor=vendor, symbols=symbols,
                                 start=start.date() if start else None,
                                 end=end.date() if end else None, tolerance=tolerance,
                                 cache_dir=cache_dir, refresh=refresh)
    document = report.as_json()
    echo_report(fmt, document=document, rows=document["rows"],
                columns=["symbol", "session", "ours", "theirs", "relative_difference",
                         "severity"], render=lambda: _render(report))
    return exit_code(_STATUS[report.result.status.value], fail_on)


def _render(report: ReconcileReport) -> None:
    result, status = report.result, report.result.status.value
    click.echo(f"reconcile with {result.vendor} ({result.price_basis}) {report.start}.."
               f"{report.end}: " + click.style(status, fg=_COLOUR[status], bold=True)
               + f" (run {report.run_id}, {report.stored} finding(s) stored)")
    if result.rows:
        click.echo(f"  {'symbol':<8} {'date':<10} {'ours':>12} {'theirs':>12} {'rel.diff':>9}")
        for r in result.rows:
            click.echo(f"  {r.symbol:<8} {r.session} {r.ours:>12.6g} {r.theirs:>12.6g} "
                       f"{r.relative_difference:>+9.2%} "
                       + click.style(r.severity.value, fg=_COLOUR[r.severity.value]))
    for f in result.findings:
        click.echo(f"  - [{f.validator} {f.severity.value}] {f.message}")
