"""What a would-be reader role holds, and what it can do once logged in.

In:  a connection (as an administrator, or as the role itself). Out: the role's powers beyond
reading, each with the statement that removes it; or a ReaderCheck of a logged-in role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from stocksdb.db.checksum import DATA_SCHEMA
from stocksdb.errors import ReaderVerificationError

LEDGER_SCHEMA = "ingestion"
_ATTRIBUTES = {"rolsuper": "SUPERUSER", "rolcreaterole": "CREATEROLE",
               "rolcreatedb": "CREATEDB", "rolbypassrls": "BYPASSRLS",
               "rolreplication": "REPLICATION"}
# Predefined roles whose members can write or read every table, or reach the server's files.
POWERFUL_ROLES = ("pg_write_all_data", "pg_read_all_data", "pg_read_server_files",
                  "pg_write_server_files", "pg_execute_server_program")
_RELKINDS = "('r', 'p', 'v', 'm', 'f')"
_WRITE = "INSERT, UPDATE, DELETE, TRUNCATE"

_MEMBER_OF = f"""
WITH RECURSIVE m(oid) AS (
    SELECT roleid FROM pg_auth_members WHERE member = %(role)s::regrole
    UNION SELECT a.roleid FROM pg_auth_members a JOIN m ON a.member = m.oid)
SELECT r.rolname FROM m JOIN pg_roles r ON r.oid = m.oid
WHERE r.rolname = ANY(%(powerful)s) OR r.rolsuper OR r.rolcreaterole OR r.rolcreatedb
   OR r.rolbypassrls OR r.rolreplication
   OR has_schema_privilege(r.oid, %(data)s::regnamespace, 'CREATE')
   OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = %(data)s::regnamespace
              AND c.relkind IN {_RELKINDS} AND has_table_privilege(r.oid, c.oid, '{_WRITE}'))
ORDER BY 1"""

_OWNS = """
SELECT EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = %(data)s::regnamespace
               AND relowner = %(role)s::regrole)
    OR EXISTS (SELECT 1 FROM pg_namespace WHERE oid = %(data)s::regnamespace
               AND nspowner = %(role)s::regrole)"""


def role_powers(conn: psycopg.Connection[Any], role: str, *, attributes_only: bool) -> list[str]:
    """Each power `role` holds beyond reading, as 'WHAT: how to remove it' (empty if none).

    With `attributes_only`, only role attributes (and being the connected role) are looked at:
    that works before the role exists. Otherwise also memberships and ownership.
    """
    row = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, "
                       "rolreplication, rolname = current_user FROM pg_roles "
                       "WHERE rolname = %s", (role,)).fetchone()
    if row is None:
        return []
    powers = [f"{name}: ALTER ROLE {role} NO{name}"
              for name, held in zip(_ATTRIBUTES.values(), row[:5], strict=True) if held]
    if row[5]:
        powers.append("it is the role connected now: connect as another administrator")
    if attributes_only:
        return powers
    args = {"role": role, "data": DATA_SCHEMA, "powerful": list(POWERFUL_ROLES)}
    powers += [f"member of {r}: REVOKE {r} FROM {role}"
               for (r,) in conn.execute(_MEMBER_OF, args).fetchall()]
    owns = conn.execute(_OWNS, args).fetchone()
    if owns and owns[0]:
        powers.append(f"owns objects in {DATA_SCHEMA}: REASSIGN OWNED BY {role} TO <admin>")
    return powers


@dataclass(frozen=True)
class ReaderCheck:
    """What logging in as the reader showed: a count of readable relations and nothing else."""

    role: str
    database: str
    readable: int


_CHECK = f"""
SELECT current_database(),
  (SELECT count(*) FROM pg_class WHERE relnamespace = '{DATA_SCHEMA}'::regnamespace
   AND relkind IN {_RELKINDS} AND has_table_privilege(oid, 'SELECT')),
  (SELECT array_agg(relname ORDER BY relname) FROM pg_class
   WHERE relnamespace = '{DATA_SCHEMA}'::regnamespace AND relkind IN {_RELKINDS}
   AND NOT has_table_privilege(oid, 'SELECT')),
  (SELECT array_agg(relname ORDER BY relname) FROM pg_class
   WHERE relnamespace = '{DATA_SCHEMA}'::regnamespace AND relkind IN {_RELKINDS}
   AND has_table_privilege(oid, '{_WRITE}')),
  has_schema_privilege('{DATA_SCHEMA}', 'CREATE'),
  has_schema_privilege('{LEDGER_SCHEMA}', 'USAGE'),
  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"""


def check_reader(conn: psycopg.Connection[Any], role: str) -> ReaderCheck:
    """Ask the server, on a connection logged in as `role`, what the role may do.

    Raises:
        ReaderVerificationError: it cannot read some stocks_research relation, can write one,
            can create in the schema, or can use schema ingestion.
    """
    row = conn.execute(_CHECK).fetchone()
    assert row is not None
    database, readable, unreadable, writable, creates, ledger, superuser = row
    problems = ([f"cannot read {DATA_SCHEMA}.{n}" for n in unreadable or []]
                + [f"can write {DATA_SCHEMA}.{n}" for n in writable or []]
                + [f"can create in {DATA_SCHEMA}"] * bool(creates)
                + [f"can use schema {LEDGER_SCHEMA}"] * bool(ledger)
                + ["is a superuser"] * bool(superuser))
    if problems:
        raise ReaderVerificationError(
            f"granted read access to {role!r}, but logged in as it, it {'; '.join(problems)}; "
            "nothing else was changed, revoke those privileges and run grant-reader again",
            role=role, problems=problems)
    return ReaderCheck(role, str(database), int(readable))
