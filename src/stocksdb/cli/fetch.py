"""`stocksdb fetch`: a quick pull of any symbols from one vendor, validated and cached as
Parquet (foundation/pipeline.py); one JSON summary on stdout, progress on stderr."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from stocksdb.cli import CliState, pass_state

if TYPE_CHECKING:
    from stocksdb.foundation.base import Interval

VENDOR_HELP = ("Vendor to pull from: yahoo, alpha_vantage, fred, massive or files "
               "(STOCKSDB_VENDOR_FILES_DIR).")


@click.command()
@click.option("--symbols", required=True, metavar="LIST",
              help='Comma-separated symbols, e.g. "EURUSD=X,GBPUSD=X".')
@click.option("--vendor", required=True, metavar="NAME", help=VENDOR_HELP)
@click.option("--lookback-days", type=click.IntRange(min=1), default=None, metavar="N",
              help="Window of N calendar days ending at --end (instead of --start).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First date of the window (instead of --lookback-days).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last date of the window (default: today, UTC).")
@click.option("--interval", type=click.Choice(["1d"]), default="1d", show_default=True,
              help="Bar interval.")
@click.option("--cache-retention-days", type=click.IntRange(min=0), default=None, metavar="N",
              help="Datasets older than N days are refetched and evicted (default: kept).")
@click.option("--cache-max-entries", type=click.IntRange(min=1), default=None, metavar="N",
              help="Keep at most N datasets, evicting the oldest (default: no cap).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache directory (default: $STOCKSDB_HOME/cache/pricing).")
@click.option("--fail-on-quality", is_flag=True,
              help="Exit 2, caching nothing, when an error-level issue (no_data) exists.")
@click.option("--refresh", is_flag=True, help="Ignore a cached dataset and pull again.")
@pass_state
def fetch(state: CliState, symbols: str, vendor: str, lookback_days: int | None,
          start: datetime | None, end: datetime | None, interval: str,
          cache_retention_days: int | None, cache_max_entries: int | None,
          cache_dir: Path | None, fail_on_quality: bool, refresh: bool) -> int:
    """Pull daily bars of --symbols from a vendor, check them and cache them; print a JSON
    summary: {dataset, format, rows, symbols: {SYM: {rows, first, last}}, issues, status,
    cache: {hit, evicted}}. Exit 0, or 2 with --fail-on-quality and an error-level issue."""
    from stocksdb.foundation import PricingCache, PricingPipeline, get_provider

    cache = PricingCache(cache_dir or state.settings.cache_dir / "pricing",
                         retention_days=cache_retention_days, max_entries=cache_max_entries)
    pipeline = PricingPipeline(get_provider(vendor, state.settings), cache)
    result = pipeline.run(symbols, start=start.date() if start else None,
                          lookback_days=lookback_days, end=end.date() if end else None,
                          interval=cast("Interval", interval), refresh=refresh,
                          fail_on_quality=fail_on_quality)
    click.echo(json.dumps(result.as_json(), indent=2))
    click.echo(f"status {result.status}: {result.rows} rows, {len(result.issues)} issue(s), "
               f"{'cache hit' if result.cache.hit else 'pulled'}; "
               f"{result.dataset or 'nothing cached'}", err=True)
    return 2 if fail_on_quality and result.status == "error" else 0
