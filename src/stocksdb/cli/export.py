"""`stocksdb export DATASET --out DIR`: Hive-partitioned Parquet for readers beyond PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import adjustment_method_option
from stocksdb.domain.adjustments import DEFAULT_METHOD, AdjustmentMethod
from stocksdb.export.datasets import DATASET_NAMES


@click.command("export")
@click.argument("dataset", metavar="DATASET", type=click.Choice(list(DATASET_NAMES)))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Directory to write (new or empty; an earlier export with --overwrite).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First date (trade_date; period_end for fundamentals).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last date, inclusive.")
@click.option("--adjusted", is_flag=True,
              help="prices: add the factors and adj_open..adj_volume columns.")
@adjustment_method_option(default=DEFAULT_METHOD,
                          help="Dividend method of the factors (with --adjusted).")
@click.option("--overwrite", is_flag=True,
              help="Replace the export already in --out (its files are deleted).")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@pass_state
def export(state: CliState, dataset: str, out: Path, start: datetime | None,
           end: datetime | None, adjusted: bool, method: AdjustmentMethod, overwrite: bool,
           as_json: bool) -> None:
    """Write DATASET (prices, factors, fundamentals) as year=YYYY/ Parquet files and
    _manifest.json (rows, schema, source checksum) under --out; see docs/export.md."""
    from stocksdb.export import export_dataset

    manifest = export_dataset(state.dsn(), dataset, out, start=start.date() if start else None,
                              end=end.date() if end else None, adjusted=adjusted,
                              method=method, overwrite=overwrite)
    if manifest.replaced is not None:
        click.echo(f"replaced {manifest.replaced.describe(out)}", err=True)
    if as_json:
        click.echo(json.dumps(manifest.to_dict(), indent=2))
        return
    kind = f" (adjusted, {manifest.method})" if manifest.adjusted else ""
    click.echo(f"exported {manifest.dataset}{kind}: {manifest.rows:,} rows in "
               f"{len(manifest.files)} file(s) under {out}")
    for f in manifest.files:
        click.echo(f"  {f.path:28} {f.rows:>12,} rows")
    digest = manifest.source.range
    click.echo(f"source: {digest.table} {digest.rows:,} rows in range, digest {digest.digest}")
    click.echo(f"manifest: {out / '_manifest.json'}")
