"""PostgreSQL fixtures: one server per run, a migrated template, a fresh clone per test."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from stocksdb.db.checksum import TableChecksum, database_checksums
from stocksdb.db.connection import connect, with_database
from stocksdb.db.migrate import migrate
from stocksdb.db.server import EmbeddedServer

TEMPLATE = "stocksdb_test_template"


@dataclass
class PgServer:
    """A server we may create and drop databases on."""

    admin_dsn: str
    log: Path | None = None  # the embedded server's log file (None for STOCKSDB_TEST_DSN)

    def dsn(self, database: str) -> str:
        return with_database(self.admin_dsn, database)

    def execute(self, query: sql.SQL | sql.Composed | str) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(query)

    def clone(self, template: str, prefix: str = "t_") -> str:
        name = f"{prefix}{uuid.uuid4().hex[:12]}"
        self.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
        return name

    def drop(self, name: str) -> None:
        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))

    def family(self, name: str) -> list[str]:
        """`name` and the databases named `name_...` (e.g. a restore's _before_restore_ copy)."""
        with psycopg.connect(self.admin_dsn) as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE datname = %s "
                                "OR starts_with(datname, %s) ORDER BY 1", (name, name + "_"))
            return [r[0] for r in rows]

    def drop_family(self, name: str) -> None:
        """Drop `name` and every `name_...` database."""
        for member in self.family(name):
            self.drop(member)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    """The PostgreSQL all tests use: STOCKSDB_TEST_DSN if set, else an embedded one."""
    external = os.environ.get("STOCKSDB_TEST_DSN")
    if external:
        try:
            psycopg.connect(external).close()
        except psycopg.Error as exc:
            pytest.exit(f"STOCKSDB_TEST_DSN does not connect: {exc}", returncode=1)
        yield PgServer(external)
        return
    # Not under pytest's basetemp: a concurrent pytest run prunes old basetemps, and pulling a
    # running cluster's directory away crashes it.
    home = Path(tempfile.mkdtemp(prefix="stocksdb-test-pg-"))
    server = EmbeddedServer(home / "pgdata", fast=True)
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001 - any failure here makes the run meaningless
        pytest.exit(f"cannot start the embedded PostgreSQL for tests: {exc}", returncode=1)
    try:
        yield PgServer(server.dsn("postgres"), log=server.pgdata / "server.log")
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer) -> str:
    """A migrated database to clone from; its connection is closed so cloning works."""
    pg_server.drop(TEMPLATE)
    pg_server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    with connect(pg_server.dsn(TEMPLATE), autocommit=True) as conn:
        migrate(conn)
    return TEMPLATE


@pytest.fixture
def db(pg_server: PgServer, template_db: str) -> Iterator[str]:
    """A fresh, fully migrated database; yields its DSN, dropped after the test."""
    name = pg_server.clone(template_db)
    yield pg_server.dsn(name)
    pg_server.drop_family(name)


@pytest.fixture
def empty_db(pg_server: PgServer) -> Iterator[str]:
    """A fresh database with no schema at all; yields its DSN."""
    name = f"e_{uuid.uuid4().hex[:12]}"
    pg_server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield pg_server.dsn(name)
    pg_server.drop_family(name)


@pytest.fixture
def conn(db: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to a fresh database."""
    with connect(db, autocommit=True) as c:
        yield c


def superuser_password(dsn: str) -> str:
    """The password the DSN authenticates with: its own, or the last field of its passfile."""
    parts = conninfo_to_dict(dsn)
    if "password" in parts:
        return str(parts["password"])
    line = Path(str(parts["passfile"])).read_text().splitlines()[0]
    return line.rsplit(":", 1)[1]


def count_rows(dsn: str, table: str, where: str = "TRUE") -> int:
    """Rows of a table (test helper)."""
    with connect(dsn) as c:
        row = c.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()  # noqa: S608
        assert row is not None
        return int(row[0])


def checksums(dsn: str) -> dict[str, TableChecksum]:
    """Every data table's digest (test helper)."""
    with connect(dsn) as c:
        return database_checksums(c)
