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
from stocksdb.errors import DatabaseStateError, InputError, RolePowersError
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


def as_role(dsn: str, role: str, password: str = "s3cret-reader") -> psycopg.Connection[Any]:
    """A connection as `role`, logging in with its password."""
    return psycopg.connect(make_conninfo(dsn, user=role, password=password, passfile=""),
                           autocommit=True)


def create_role(dsn: str, role: str, options: str = "") -> None:
    """CREATE ROLE `role` LOGIN with extra `options` (test setup, as the superuser)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN " + options).format(sql.Identifier(role)))


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
    grant_reader(db, role, "s3cret-reader")
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
    with pytest.raises(psycopg.OperationalError, match="password"):
        as_role(db, role, "first").close()
    with as_role(db, role, "second") as conn:
        assert conn.execute("SELECT count(*) FROM stocks_research.securities").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO stocks_research.securities (composite_figi, name) "
                         "VALUES ('BBG000BLNNH6', 'x')")


@pytest.mark.parametrize("bad", ['x"; DROP ROLE postgres; --', "Reader", "pg_reader", "1abc",
                                 "", "a" * 64, "public", "none", "current_user"])
def test_reserved_or_quoted_role_names_are_refused_before_any_sql(bad: str) -> None:
    """Anything but a plain, unreserved lowercase identifier is an InputError naming `role`,
    raised before connecting (the DSN here points at no server)."""
    with pytest.raises(InputError, match="parameter `role`"):
        grant_reader("host=127.0.0.1 port=1 connect_timeout=1", bad, "pw")


def test_superuser_cannot_be_made_a_reader(db: str) -> None:
    """Granting to the connected superuser is refused before any change."""
    with pytest.raises(InputError, match="SUPERUSER"):
        grant_reader(db, "postgres", "pw")
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = 'postgres'"
                            ).fetchone() == (True,)


@pytest.mark.parametrize(("options", "named"), [
    ("CREATEROLE", "NOCREATEROLE"), ("CREATEDB", "NOCREATEDB"), ("BYPASSRLS", "NOBYPASSRLS"),
    ("REPLICATION", "NOREPLICATION"), ("IN ROLE pg_write_all_data", "pg_write_all_data"),
    ("IN ROLE pg_read_all_data", "pg_read_all_data")])
def test_role_with_other_powers_is_refused_and_left_alone(db: str, role: str, options: str,
                                                          named: str) -> None:
    """A role holding a power beyond reading is refused (exit 2) naming it and its removal;
    the role gets no grant."""
    create_role(db, role, options)
    with pytest.raises(RolePowersError, match=named) as caught:
        grant_reader(db, role, "s3cret-reader")
    assert caught.value.exit_code == 2
    with psycopg.connect(db) as conn:
        acl = conn.execute("SELECT coalesce(array_to_string(nspacl, ','), '') FROM pg_namespace "
                           "WHERE nspname = 'stocks_research'").fetchone()
    assert acl is not None and role not in acl[0], acl


def test_member_of_a_writing_role_is_refused(db: str, role: str) -> None:
    """Membership in a role that may insert into stocks_research is named with its REVOKE."""
    writer = f"{role}_w"
    try:
        create_role(db, role)
        create_role(db, writer)
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT INSERT ON stocks_research.securities TO {w}; "
                                 "GRANT {w} TO {r}").format(w=sql.Identifier(writer),
                                                            r=sql.Identifier(role)))
        with pytest.raises(RolePowersError, match=f"REVOKE {writer} FROM {role}"):
            grant_reader(db, role, "s3cret-reader")
    finally:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {w}; DROP ROLE {w}").format(
                w=sql.Identifier(writer)))


def test_failed_grant_leaves_no_plain_password_in_the_server_log(
        db: str, role: str, pg_server: PgServer) -> None:
    """A CREATE ROLE the server refuses is logged with its statement: a SCRAM verifier only."""
    if pg_server.log is None:
        pytest.skip("the server log is only readable for the embedded test server")
    weak, secret = f"{role}_weak", "Plain-Text-Reader-Secret-42"
    create_role(db, weak, "PASSWORD 'weak-pw'")
    try:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA ingestion TO {w}; GRANT SELECT ON ALL "
                                 "TABLES IN SCHEMA ingestion TO {w}").format(
                w=sql.Identifier(weak)))
        weak_dsn = make_conninfo(db, user=weak, password="weak-pw", passfile="")
        with pytest.raises(DatabaseStateError, match="permission denied") as caught:
            grant_reader(weak_dsn, role, secret)
        assert secret not in str(caught.value)
        log = pg_server.log.read_text(errors="replace")
        assert "permission denied to create role" in log
        assert secret not in log
    finally:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {w}; DROP ROLE {w}").format(
                w=sql.Identifier(weak)))


def test_grant_reader_command_reads_the_password_from_stdin_and_verifies(
        db: str, role: str) -> None:
    """`db grant-reader ROLE --password-stdin` grants, logs in as ROLE and says it checked."""
    from stocksdb.cli.backup import grant_reader as command

    state = CliState(Settings(dsn=db))
    result = CliRunner().invoke(command, [role, "--password-stdin"], obj=state,
                                input="stdin-secret-1\n")
    assert result.exit_code == 0, result.output
    assert role in result.output and "verified" in result.output
    assert "stdin-secret-1" not in result.output
    with as_role(db, role, "stdin-secret-1") as conn:
        conn.execute("SELECT 1 FROM stocks_research.tickers LIMIT 0")


def test_grant_reader_command_takes_env_or_a_confirmed_prompt(
        db: str, role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """STOCKSDB_READER_PASSWORD wins; without it a hidden prompt asks twice."""
    from stocksdb.cli.backup import grant_reader as command

    state = CliState(Settings(dsn=db))
    result = CliRunner().invoke(command, [role], obj=state, input="prompt-pw\nprompt-pw\n")
    assert result.exit_code == 0 and "prompt-pw" not in result.output, result.output
    as_role(db, role, "prompt-pw").close()
    monkeypatch.setenv("STOCKSDB_READER_PASSWORD", "env-pw")
    result = CliRunner().invoke(command, [role], obj=state)
    assert result.exit_code == 0, result.output
    as_role(db, role, "env-pw").close()


def test_grant_reader_command_has_no_password_option(db: str, role: str) -> None:
    """--password on the command line (visible in ps and shell history) is a usage error."""
    from stocksdb.cli.backup import grant_reader as command

    result = CliRunner().invoke(command, [role, "--password", "pw"],
                                obj=CliState(Settings(dsn=db)))
    assert result.exit_code == 2, result.output
