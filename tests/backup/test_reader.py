"""grant_reader: a login role that reads stocks_research and nothing in ingestion."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from psycopg.conninfo import make_conninfo

from stocksdb.backup.reader import grant_reader
from stocksdb.cli import CliState
from stocksdb.config import Settings
from stocksdb.errors import InputError
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_pg import PgServer


@pytest.fixture
def role(db: str, pg_server: PgServer) -> Iterator[str]:
    """A fresh role name; the role and its grants are removed after the test."""
    name = f"reader_{uuid.uuid4().hex[:10]}"
    yield name
    ident = sql.Identifier(name)
    with psycopg.connect(db, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("DROP OWNED BY {}").format(ident))
    pg_server.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))


@pytest.fixture
def loaded_db(db: str, market: Path) -> str:
    """A migrated database with securities and ticker history; yields its DSN."""
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=market))
    return db


def as_role(dsn: str, role: str) -> psycopg.Connection[Any]:
    """A connection as `role` (the test server trusts local logins; a password is sent anyway)."""
    return psycopg.connect(make_conninfo(dsn, user=role, password="s3cret-reader"),
                           autocommit=True)


def test_reader_selects_stocks_research_and_nothing_else(loaded_db: str, role: str) -> None:
    """The role reads securities and ohlcv_daily, cannot insert, cannot read ingestion."""
    with psycopg.connect(loaded_db, autocommit=True) as conn:  # a lax setup to tighten
        conn.execute("GRANT USAGE ON SCHEMA ingestion TO PUBLIC")
        conn.execute("GRANT SELECT ON ingestion.job_runs TO PUBLIC")
        conn.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    grant_reader(loaded_db, role, "s3cret-reader")
    with as_role(loaded_db, role) as conn:
        assert conn.execute("SELECT count(*) FROM stocks_research.securities").fetchone() == (3,)
        conn.execute("SELECT * FROM stocks_research.ohlcv_daily LIMIT 1").fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO stocks_research.securities (composite_figi, name) "
                         "VALUES ('BBG000BLNNH6', 'x')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT 1 FROM ingestion.job_runs")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.scratch (x int)")


def test_reader_can_select_tables_created_later(db: str, role: str) -> None:
    """Default privileges give the role SELECT on a stocks_research table made afterwards."""
    grant_reader(db, role, None)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE stocks_research.later_table (x int)")
    with as_role(db, role) as conn:
        assert conn.execute("SELECT count(*) FROM stocks_research.later_table").fetchone() == (0,)


def test_existing_role_is_updated_to_read_only(db: str, role: str) -> None:
    """An existing role that could write loses that; granting again with a new password works."""
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA stocks_research TO {r}; "
                             "GRANT INSERT ON stocks_research.securities TO {r}").format(
            r=sql.Identifier(role)))
    grant_reader(db, role, "first")
    grant_reader(db, role, "second")
    with as_role(db, role) as conn:
        assert conn.execute("SELECT count(*) FROM stocks_research.securities").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO stocks_research.securities (composite_figi, name) "
                         "VALUES ('BBG000BLNNH6', 'x')")


@pytest.mark.parametrize("bad", ['x"; DROP ROLE postgres; --', "Reader", "pg_reader", "1abc",
                                 "", "a" * 64])
def test_role_names_that_need_quoting_are_refused(db: str, bad: str) -> None:
    """Anything but a plain lowercase identifier is an InputError naming `role`."""
    with pytest.raises(InputError, match="parameter `role`"):
        grant_reader(db, bad, None)


def test_superuser_cannot_be_made_a_reader(db: str) -> None:
    """Granting to the connected superuser is refused before any change."""
    with pytest.raises(InputError, match="superuser"):
        grant_reader(db, "postgres", None)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = 'postgres'"
                            ).fetchone() == (True,)


def test_grant_reader_command_creates_the_role(db: str, role: str) -> None:
    """The click command (to be mounted as `db grant-reader`) grants and reports the role."""
    from stocksdb.cli.backup import grant_reader as command

    state = CliState(Settings(dsn=db))
    result = CliRunner().invoke(command, [role, "--password", "pw"], obj=state)
    assert result.exit_code == 0, result.output
    assert role in result.output
    with as_role(db, role) as conn:
        conn.execute("SELECT 1 FROM stocks_research.tickers LIMIT 0")
