"""`stocksdb sample DIR`: write the deterministic synthetic market (or keep the one there)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

_OPTIONS = ("securities", "start", "end", "seed")


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--securities", type=int, default=300, show_default=True,
              help="Number of securities.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2023-01-03",
              show_default=True, help="First session.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default="2024-12-31",
              show_default=True, help="Last session.")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed.")
@click.pass_context
def sample(ctx: click.Context, directory: Path, securities: int, start: datetime,
           end: datetime, seed: int) -> None:
    """Write a synthetic market to DIRECTORY in the vendors' layouts (SPEC section 12).

    A DIRECTORY that already holds a sample (its manifest.json) is kept as it is, so running
    this twice (or after `make demo`) is harmless; exit 2 if an option you pass differs from
    that sample's."""
    from stocksdb.sample.generate import generate_sample

    if (directory / "manifest.json").is_file():
        _keep_existing(ctx, directory, {"securities": securities, "start": start.date(),
                                        "end": end.date(), "seed": seed})
        return
    manifest = generate_sample(directory, securities=securities, start=start.date(),
                               end=end.date(), seed=seed)
    counts = getattr(manifest, "counts", None) or {}
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    click.echo(f"sample market written to {directory}" + (f": {summary}" if summary else ""))


def _keep_existing(ctx: click.Context, directory: Path, asked: dict[str, Any]) -> None:
    """Say what the sample in `directory` holds; a usage error when an option passed on the
    command line asks for another one."""
    held = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))["options"]
    passed = {name for name in _OPTIONS
              if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT}
    differ = [f"--{name} {asked[name]} (it has {held.get(name)})" for name in sorted(passed)
              if str(asked[name]) != str(held.get(name))]
    if differ:
        raise click.UsageError(f"{directory} already holds another sample: "
                               f"{'; '.join(differ)}; remove it or choose another directory")
    described = ", ".join(f"{name} {held.get(name)}" for name in _OPTIONS)
    click.echo(f"sample market already in {directory} ({described}); kept as it is")
