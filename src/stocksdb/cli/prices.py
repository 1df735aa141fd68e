"""`stocksdb prices SYMBOL...`: print daily bars, adjusted (the default, as in
stocksdb.read_prices) or raw; symbols are tickers or composite FIGIs, separated by spaces or
commas."""

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


def split_symbols(args: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(tickers, composite FIGIs) named by `args`, each split on commas and blanks; a word of
    12 characters starting with BBG is a FIGI (and must be a valid one).

    Raises:
        InvalidIdentifierError: a FIGI-shaped word with a wrong check digit or form.
    """
    from stocksdb.domain.identifiers import FIGI_PREFIX, parse_figi

    words = [w for arg in args for w in arg.replace(",", " ").split()]
    if not words:
        raise click.UsageError("SYMBOLS is empty; pass tickers or composite FIGIs, e.g. AAPL,MSFT")
    figis = [str(parse_figi(w)) for w in words if _is_figi_shaped(w, FIGI_PREFIX)]
    tickers = [w for w in words if not _is_figi_shaped(w, FIGI_PREFIX)]
    return list(dict.fromkeys(tickers)), list(dict.fromkeys(figis))


def _is_figi_shaped(word: str, prefix: str) -> bool:
    return len(word) == 12 and word.upper().startswith(prefix)


@click.command()
@click.argument("symbols", nargs=-1, required=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First date.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last date.")
@click.option("--adjusted/--raw", default=True, show_default=True,
              help="Adjusted bars (raw x the adjustment factors of --method; only bars with a "
                   "factor) or raw bars as loaded. The library's read_prices has the same "
                   "default.")
@adjustment_method_option(default=DEFAULT_METHOD,
                          help="Dividend method of the factors of adjusted bars.")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Resolve symbols as of this date (default: --end or today).")
@format_option(json_alias=True)
@pass_state
def prices(state: CliState, symbols: tuple[str, ...], start: datetime | None,
           end: datetime | None, adjusted: bool, method: AdjustmentMethod, as_of: datetime | None,
           fmt: str) -> None:
    """Daily bars of SYMBOLS (tickers, resolved as of --as-of, or composite FIGIs such as
    BBG000B9XRY4; separated by spaces or commas); a renamed security's history comes back
    whole. Adjusted by default (--raw for the bars as loaded)."""
    from stocksdb.api import read_prices_frame
    from stocksdb.db.connection import connect

    tickers, figis = split_symbols(symbols)
    with connect(state.dsn()) as conn:
        frame = read_prices_frame(conn, symbols=tickers or None, figis=figis or None,
                                  start=start.date() if start else None,
                                  end=end.date() if end else None, adjusted=adjusted,
                                  method=method, as_of=as_of.date() if as_of else None)
    echo_frame(frame, fmt, ["symbol", "ticker", "trade_date", "open", "high", "low", "close",
                            "volume", "price_factor"],
               _price_cell, counts=["volume"])   # whole volumes print as integers


def _price_cell(_name: str, value: object, _row: dict[str, object]) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    return f"{value:,}" if isinstance(value, int) else cell_text(value)


@click.command()
@click.argument("symbols", nargs=-1, required=True)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="What was known on this date (filed on or before it; default today).")
@format_option(json_alias=True)
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
