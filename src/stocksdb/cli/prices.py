"""`stocksdb prices SYMBOL...`: print daily bars, raw or adjusted."""

from __future__ import annotations

from datetime import datetime

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import (
    adjustment_method_option,
    cell_text,
    echo_frame,
    format_option,
)
from stocksdb.domain.adjustments import DEFAULT_METHOD, AdjustmentMethod


@click.command()
@click.argument("symbols", nargs=-1, required=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First date.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last date.")
@click.option("--adjusted", is_flag=True, help="Multiply by the adjustment factors.")
@adjustment_method_option(default=DEFAULT_METHOD,
                          help="Dividend method of the factors (with --adjusted).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Resolve symbols as of this date (default: --end or today).")
@format_option()
@pass_state
def prices(state: CliState, symbols: tuple[str, ...], start: datetime | None,
           end: datetime | None, adjusted: bool, method: AdjustmentMethod, as_of: datetime | None,
           fmt: str) -> None:
    """Daily bars of SYMBOLS; a renamed security's history comes back whole."""
    from stocksdb.api import read_prices_frame
    from stocksdb.db.connection import connect

    with connect(state.dsn()) as conn:
        frame = read_prices_frame(conn, symbols=list(symbols),
                                  start=start.date() if start else None,
                                  end=end.date() if end else None, adjusted=adjusted,
                                  method=method, as_of=as_of.date() if as_of else None)
    echo_frame(frame, fmt, ["symbol", "ticker", "trade_date", "open", "high", "low", "close",
                            "volume", "price_factor"],
               lambda _, v, __: f"{v:,.4f}" if isinstance(v, float) else cell_text(v))


@click.command()
@click.argument("symbols", nargs=-1, required=True)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="What was known on this date (filed on or before it; default today).")
@format_option()
@pass_state
def fundamentals(state: CliState, symbols: tuple[str, ...], as_of: datetime | None,
                 fmt: str) -> None:
    """Quarterly revenue and diluted EPS of SYMBOLS with YoY, point in time."""
    from stocksdb.api import read_fundamentals_frame
    from stocksdb.db.connection import connect

    with connect(state.dsn()) as conn:
        frame = read_fundamentals_frame(conn, symbols=list(symbols),
                                        as_of=as_of.date() if as_of else None)
    echo_frame(frame, fmt, ["symbol", "period_end", "fiscal_year", "fiscal_quarter",
                            "filed_date", "revenue", "eps_diluted", "revenue_derived",
                            "revenue_yoy", "eps_diluted_yoy"])
