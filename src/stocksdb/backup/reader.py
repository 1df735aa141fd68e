"""`stocksdb db grant-reader ROLE`: a login role that reads stocks_research and nothing else.

Writes: the role (roles are cluster-wide) and, in the configured database, CONNECT; USAGE on
schema stocks_research; SELECT on its tables and views, now and (by default privileges) on those
the connected role creates later; write privileges on stocks_research revoked from the role;
every privilege on schema ingestion revoked from the role and from PUBLIC; CREATE on schema
public revoked from PUBLIC. All in one transaction.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

from stocksdb.db.checksum import DATA_SCHEMA
from stocksdb.db.connection import connect, redact_dsn
from stocksdb.db.migrate import require_latest
from stocksdb.errors import DatabaseStateError, InputError

LEDGER_SCHEMA = "ingestion"
_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def parse_role_name(role: str) -> str:
    """`role` if it is a plain lowercase identifier (no quoting needed), else raise InputError."""
    if not _ROLE.fullmatch(role) or role.startswith("pg_"):
        raise InputError(
            f"parameter `role` is {role!r}; expected 1-63 lowercase letters, digits or "
            "underscores, starting with a letter or underscore and not with 'pg_'")
    return role


def _upsert_role(conn: psycopg.Connection[Any], role: str, password: str | None) -> None:
    row = conn.execute("SELECT rolsuper, rolname = current_user FROM pg_roles "
                       "WHERE rolname = %s", (role,)).fetchone()
    if row is not None and (row[0] or row[1]):
        raise InputError(f"role {role!r} is a superuser or the role connected now; choose a "
                         "dedicated role name for read-only access")
    query = sql.SQL("{verb} ROLE {role} WITH LOGIN").format(
        verb=sql.SQL("ALTER" if row else "CREATE"), role=sql.Identifier(role))
    if password is not None:
        query = sql.SQL("{} PASSWORD {}").format(query, sql.Literal(password))
    conn.execute(query)


def _statements(role: str, database: str) -> list[sql.Composed]:
    fmt = {"r": sql.Identifier(role), "db": sql.Identifier(database),
           "data": sql.Identifier(DATA_SCHEMA), "ledger": sql.Identifier(LEDGER_SCHEMA)}
    texts = [
        "GRANT CONNECT ON DATABASE {db} TO {r}",
        "GRANT USAGE ON SCHEMA {data} TO {r}",
        "REVOKE CREATE ON SCHEMA {data} FROM {r}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA {data} TO {r}",
        "REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER "
        "ON ALL TABLES IN SCHEMA {data} FROM {r}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {data} GRANT SELECT ON TABLES TO {r}",
        "REVOKE ALL ON SCHEMA {ledger} FROM PUBLIC",
        "REVOKE ALL ON SCHEMA {ledger} FROM {r}",
        "REVOKE ALL ON ALL TABLES IN SCHEMA {ledger} FROM {r}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    ]
    return [sql.SQL(t).format(**fmt) for t in texts]


def grant_reader(dsn: str, role: str, password: str | None) -> None:
    """Create or update LOGIN role `role` with read-only access to stocks_research.

    `password` None leaves an existing password as it is (and creates a role without one).

    Raises:
        InputError: `role` is not a plain identifier, or names a superuser / the current role.
        SchemaVersionError: the database is not fully migrated.
        DatabaseStateError: the server refused (e.g. the connected role may not create roles).
    """
    role = parse_role_name(role)
    with connect(dsn) as conn:
        require_latest(conn)
        row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None
        try:
            with conn.transaction():
                _upsert_role(conn, role, password)
                for statement in _statements(role, str(row[0])):
                    conn.execute(statement)
        except psycopg.Error as exc:
            raise DatabaseStateError(
                f"cannot make {role!r} a reader of {redact_dsn(dsn)}: "
                f"{str(exc).strip().splitlines()[0]}; connect as a role that may create roles "
                "and owns the stocks_research schema") from exc
