"""Backup fixtures: a loaded database, a database name not yet created, helpers around them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_pg import PgServer


def load(dsn: str, market: Path) -> None:
    """Securities, ticker history and three sessions of prices, through the real jobs."""
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), dsn, RunRequest(job=job, path=market))
    run_job(Settings(), dsn, RunRequest(job="prices_daily", path=market, start=date(2024, 1, 2)))


def delete_last_session(dsn: str) -> None:
    """Make the database differ from a backup taken before."""
    with connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM prices_daily WHERE trade_date = '2024-01-04'")


@pytest.fixture
def loaded_db(db: str, market: Path) -> str:
    """A migrated database holding the `market` tree; yields its DSN."""
    load(db, market)
    return db


@pytest.fixture
def new_db(pg_server: PgServer) -> Iterator[str]:
    """The DSN of a database name that does not exist yet; dropped after the test."""
    name = f"r_{uuid.uuid4().hex[:12]}"
    yield pg_server.dsn(name)
    pg_server.drop_family(name)
