"""stocksdb: a research-grade warehouse of US-equity market data on PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    import psycopg

__all__ = ["__version__", "connect", "read_fundamentals", "read_macro", "read_prices"]


def connect(**kwargs: Any) -> psycopg.Connection[Any]:
    """A psycopg connection to the configured database (STOCKSDB_DSN, PG*, or embedded)."""
    import os

    from stocksdb.config import Settings
    from stocksdb.db.connection import connect as _connect
    from stocksdb.db.server import resolve_dsn

    settings = Settings.from_env(os.environ)
    return _connect(resolve_dsn(settings), **kwargs)


def read_prices(symbols: Any = None, *, figis: Any = None, start: Any = None, end: Any = None,
                adjusted: bool = True, method: str | None = None, as_of: Any = None) -> Any:
    """Daily bars as a pandas DataFrame, raw or adjusted (see stocksdb.api.read_prices_frame).

    `symbols` or `figis` (a string or a list); dates as `date` or 'YYYY-MM-DD'.
    """
    from stocksdb.api import read_prices_frame
    from stocksdb.domain.fields import parse_date

    def day(value: Any) -> Any:
        return None if value is None else parse_date(value)

    def names(value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    with connect() as conn:
        return read_prices_frame(conn, symbols=names(symbols), figis=names(figis),
                                 start=day(start), end=day(end), adjusted=adjusted,
                                 method=method, as_of=day(as_of))


def read_fundamentals(symbols: Any, *, as_of: Any = None) -> Any:
    """Quarterly revenue / diluted EPS and YoY known on `as_of`, as a pandas DataFrame."""
    from stocksdb.api import read_fundamentals_frame
    from stocksdb.domain.fields import parse_date

    names = [symbols] if isinstance(symbols, str) else list(symbols)
    with connect() as conn:
        return read_fundamentals_frame(conn, symbols=names,
                                       as_of=None if as_of is None else parse_date(as_of))


def read_macro(series: Any, start: Any = None, end: Any = None, as_of: Any = None) -> Any:
    """Macro observations as a pandas DataFrame (see stocksdb.api_macro.read_macro_frame):
    with `as_of`, each date's value as known that day (ALFRED); without, the latest.

    `series` is an id or a list of ids; dates as `date` or 'YYYY-MM-DD'.
    """
    from stocksdb.api_macro import read_macro_frame
    from stocksdb.domain.fields import parse_date

    def day(value: Any) -> Any:
        return None if value is None else parse_date(value)

    names = [series] if isinstance(series, str) else list(series)
    with connect() as conn:
        return read_macro_frame(conn, names, start=day(start), end=day(end), as_of=day(as_of))
