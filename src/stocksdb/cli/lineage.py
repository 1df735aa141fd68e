"""`stocksdb lineage`: the data lineage and SLA document, from the job registry (no database)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the document to this file (e.g. docs/data_lineage.md) instead of "
                   "printing it.")
def lineage(out: Path | None) -> None:
    """Print the data lineage and SLA document: every table's layer, writing job, sources,
    upstream tables, gates and thresholds, freshness, completeness and retention."""
    from stocksdb.ops.lineage import render_lineage, write_lineage

    if out is None:
        click.echo(render_lineage(), nl=False)
        return
    write_lineage(out)
    click.echo(f"lineage written to {out}")
