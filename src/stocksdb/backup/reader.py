"""`stocksdb db grant-reader ROLE`: a login role that reads stocks_research and nothing else.

Writes: the role (roles are cluster-wide) and, in the configured database, CONNECT; USAGE on
schema stocks_research; SELECT on its tables and views, now and (by default privileges) on those
the connected role creates later; write privileges on stocks_research revoked from the role and
from PUBLIC; every privilege on schema ingestion revoked from the role and from PUBLIC; CREATE
on schemas public and stocks_research revoked from PUBLIC. All in one transaction.

A role holding any power beyond reading (an attribute such as CREATEROLE, a membership that
can write or read everything, objects it owns in stocks_research) is refused before anything
changes. The password is turned into a SCRAM-SHA-256 verifier here, so the server never
receives (and never logs) the plain text. Success is checked by logging in as the role.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from stocksdb.backup.reader_checks import LEDGER_SCHEMA, ReaderCheck, check_reader, role_powers
from stocksdb.db.checksum import DATA_SCHEMA
from stocksdb.db.connection import connect, redact_dsn
from stocksdb.db.migrate import require_latest
from stocksdb.errors import DatabaseStateError, InputError, ReaderVerificationError, RolePowersError

__all__ = ["LEDGER_SCHEMA", "ReaderCheck", "grant_reader", "parse_role_name"]

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Names PostgreSQL gives a meaning in GRANT / ALTER ROLE, so they cannot be a reader's name.
RESERVED_ROLES = frozenset({"public", "none", "current_user", "current_role", "session_user",
                            "all"})


def parse_role_name(role: str) -> str:
    """`role` if it is a plain lowercase identifier (no quoting needed), else raise InputError."""
    if not _ROLE.fullmatch(role) or role.startswith("pg_") or role in RESERVED_ROLES:
        raise InputError(
            f"parameter `role` is {role!r}; expected 1-63 lowercase letters, digits or "
            "underscores, starting with a letter or underscore, not starting with 'pg_' and "
            f"not one of {', '.join(sorted(RESERVED_ROLES))}")
    return role


def _upsert_role(conn: psycopg.Connection[Any], role: str, verifier: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    conn.execute(sql.SQL("{verb} ROLE {role} WITH LOGIN PASSWORD {verifier}").format(
        verb=sql.SQL("ALTER" if exists else "CREATE"), role=sql.Identifier(role),
        verifier=sql.Literal(verifier)))


def _statements(role: str, database: str) -> list[sql.Composed]:
    fmt = {"r": sql.Identifier(role), "db": sql.Identifier(database),
           "data": sql.Identifier(DATA_SCHEMA), "ledger": sql.Identifier(LEDGER_SCHEMA)}
    writes = "INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"
    texts = [
        "GRANT CONNECT ON DATABASE {db} TO {r}",
        "GRANT USAGE ON SCHEMA {data} TO {r}",
        "REVOKE CREATE ON SCHEMA {data} FROM {r}, PUBLIC",
        "GRANT SELECT ON ALL TABLES IN SCHEMA {data} TO {r}",
        f"REVOKE {writes} ON ALL TABLES IN SCHEMA {{data}} FROM {{r}}, PUBLIC",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {data} GRANT SELECT ON TABLES TO {r}",
        "REVOKE ALL ON SCHEMA {ledger} FROM PUBLIC",
        "REVOKE ALL ON SCHEMA {ledger} FROM {r}",
        "REVOKE ALL ON ALL TABLES IN SCHEMA {ledger} FROM {r}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    ]
    return [sql.SQL(t).format(**fmt) for t in texts]


def _refuse(role: str, powers: list[str]) -> None:
    if powers:
        lines = "".join(f"\n  - {p}" for p in powers)
        raise RolePowersError(
            f"role {role!r} holds {len(powers)} power(s) beyond reading, so it could still "
            f"write after a read-only grant:{lines}\nremove them (as shown) or choose a new "
            "role name", role=role, powers=powers)


def grant_reader(dsn: str, role: str, password: str) -> ReaderCheck:
    """Make LOGIN role `role` (created if needed) a read-only reader of stocks_research, with
    password `password`, and check it by logging in as `role`.

    Raises:
        InputError: `role` is not a plain identifier, or is reserved.
        RolePowersError: the role holds powers beyond reading; nothing was changed.
        SchemaVersionError: the database is not fully migrated.
        DatabaseStateError: the server refused (e.g. the connected role may not create roles).
        ReaderVerificationError: granted, but logging in as the role showed otherwise.
    """
    role = parse_role_name(role)
    with connect(dsn) as conn:
        require_latest(conn)
        _refuse(role, role_powers(conn, role, attributes_only=True))
        row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None
        verifier = conn.pgconn.encrypt_password(
            password.encode(), role.encode(), b"scram-sha-256").decode()
        try:
            with conn.transaction():
                _upsert_role(conn, role, verifier)
                for statement in _statements(role, str(row[0])):
                    conn.execute(statement)
                # After PUBLIC lost its write grants, what the role can still reach is its own.
                _refuse(role, role_powers(conn, role, attributes_only=False))
        except psycopg.Error as exc:
            raise DatabaseStateError(
                f"cannot make {role!r} a reader of {redact_dsn(dsn)}: "
                f"{str(exc).strip().splitlines()[0]}; connect as a role that may create roles "
                "and owns the stocks_research schema") from exc
    return _verify(dsn, role, password)


def _verify(dsn: str, role: str, password: str) -> ReaderCheck:
    parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if k != "passfile"}
    parts.update(user=role, password=password)
    try:
        with psycopg.connect(make_conninfo(**parts), autocommit=True) as conn:
            return check_reader(conn, role)
    except psycopg.OperationalError as exc:
        raise ReaderVerificationError(
            f"granted read access to {role!r}, but cannot log in as it to check: "
            f"{str(exc).strip().splitlines()[-1]}; allow it in the server's pg_hba.conf",
            role=role, problems=["cannot log in"]) from exc
