"""Shared read queries.

Reads: stocks_research.ticker_history, securities.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from stocksdb.types import SecurityId


def resolve_security(conn: psycopg.Connection[Any], ticker: str, on: date) -> SecurityId | None:
    """The security `ticker` named on date `on` (point-in-time), or None."""
    row = conn.execute("SELECT stocks_research.resolve_ticker(%s, %s)", (ticker, on)).fetchone()
    return SecurityId(int(row[0])) if row and row[0] is not None else None


def read_ticker_on(conn: psycopg.Connection[Any], security_id: int, on: date) -> str | None:
    """The ticker of a security on a date, or None."""
    row = conn.execute(
        "SELECT ticker FROM stocks_research.ticker_history WHERE security_id = %s "
        "AND valid_from <= %s AND (valid_to IS NULL OR %s < valid_to)",
        (security_id, on, on)).fetchone()
    return str(row[0]) if row else None
