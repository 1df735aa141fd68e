"""stocksdb: a research-grade warehouse of US-equity market data on PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    import psycopg

__all__ = ["__version__", "connect"]


def connect(**kwargs: Any) -> psycopg.Connection[Any]:
    """A psycopg connection to the configured database (STOCKSDB_DSN, PG*, or embedded)."""
    import os

    from stocksdb.config import Settings
    from stocksdb.db.connection import connect as _connect
    from stocksdb.db.server import resolve_dsn

    settings = Settings.from_env(os.environ)
    return _connect(resolve_dsn(settings), **kwargs)
