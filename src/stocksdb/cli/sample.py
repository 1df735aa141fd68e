"""`stocksdb sample DIR`: write the deterministic synthetic market."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--securities", type=int, default=300, show_default=True,
              help="Number of securities.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2023-01-03",
              show_default=True, help="First session.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default="2024-12-31",
              show_default=True, help="Last session.")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed.")
def sample(directory: Path, securities: int, start: object, end: object, seed: int) -> None:
    """Write a synthetic market to DIRECTORY in the vendors' layouts (SPEC section 12)."""
    from stocksdb.sample.generate import generate_sample

    assert hasattr(start, "date") and hasattr(end, "date")
    manifest = generate_sample(directory, securities=securities, start=start.date(),
                               end=end.date(), seed=seed)
    counts = getattr(manifest, "counts", None) or {}
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    click.echo(f"sample market written to {directory}" + (f": {summary}" if summary else ""))


