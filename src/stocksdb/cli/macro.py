"""`stocksdb macro SERIES...`: print macro observations, latest or as known on a date."""

from __future__ import annotations

from datetime import datetime

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import cell_text, echo_frame, format_option


@click.command()
@click.argument("series", nargs=-1, required=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First observation date.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last observation date.")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Each date's value as published on this date (ALFRED); default: the latest.")
@format_option(json_alias=True)
@pass_state
def macro(state: CliState, series: tuple[str, ...], start: datetime | None,
          end: datetime | None, as_of: datetime | None, fmt: str) -> None:
    """Observations of FRED SERIES such as GDP, point in time; '.' prints as missing."""
    from stocksdb.api_macro import read_macro_frame
    from stocksdb.db.connection import connect

    with connect(state.dsn()) as conn:
        frame = read_macro_frame(conn, list(series), start=start.date() if start else None,
                                 end=end.date() if end else None,
                                 as_of=as_of.date() if as_of else None)
    echo_frame(frame, fmt, None, lambda name, v, row: "missing"
               if name == "value" and row["missing"] else cell_text(v))
