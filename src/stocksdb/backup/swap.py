"""Database names for a restore that never leaves the target missing or half-made.

In:  a maintenance DSN (a database that is neither the target nor the new one), names.
Out: a fresh `<name>_restoring_<stamp>` database; one transaction that renames the target to
     `<name>_before_restore_<stamp>` and the restored database to the target's name; the
     removal of older `_before_restore_` copies. Stamps are UTC, `YYYYMMDD_HHMMSS[_N]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from psycopg import sql

from stocksdb.db.connection import connect
from stocksdb.errors import InputError

RESTORING = "_restoring_"
BEFORE_RESTORE = "_before_restore_"
MAX_IDENTIFIER = 63            # PostgreSQL truncates longer names (NAMEDATALEN - 1)
_STAMP_FORMAT = "%Y%m%d_%H%M%S"
_STAMP = r"\d{8}_\d{6}(_\d+)?"
_STAMP_WIDTH = len("20250131_221500_99")


def check_name_fits(name: str) -> None:
    """Refuse a target name too long for its `_before_restore_<stamp>` copy.

    Raises:
        InputError: the copy's name would exceed PostgreSQL's 63 bytes (and be truncated).
    """
    limit = MAX_IDENTIFIER - len(BEFORE_RESTORE) - _STAMP_WIDTH
    if len(name.encode()) > limit:
        raise InputError(
            f"database name {name!r} is {len(name.encode())} bytes; restore needs at most "
            f"{limit} so that {name + BEFORE_RESTORE + 'YYYYMMDD_HHMMSS'!r} fits PostgreSQL's "
            f"{MAX_IDENTIFIER}; restore into a database with a shorter name")


def _candidates(name: str, infix: str, at: datetime) -> Iterator[str]:
    base = name + infix + at.astimezone(UTC).strftime(_STAMP_FORMAT)
    yield base
    n = 2
    while True:
        yield f"{base}_{n}"
        n += 1


def existing(admin_dsn: str) -> set[str]:
    """Names of every database on the server."""
    with connect(admin_dsn) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def free_name(admin_dsn: str, name: str, infix: str, at: datetime) -> str:
    """`<name><infix><stamp>`, with a counter when that name is taken."""
    taken = existing(admin_dsn)
    return next(c for c in _candidates(name, infix, at) if c not in taken)


def create_empty(admin_dsn: str, name: str) -> None:
    """CREATE DATABASE `name` from template0 (empty, like pg_dump expects)."""
    with connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
            sql.Identifier(name)))


def drop(admin_dsn: str, name: str) -> None:
    """DROP DATABASE IF EXISTS `name`, closing its sessions."""
    with connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def swap_in(admin_dsn: str, *, target: str, restored: str, previous: str | None) -> None:
    """In one transaction: target -> previous (when given), restored -> target.

    ALTER DATABASE ... RENAME may run inside a transaction block, so either both renames happen
    or neither: there is no moment without a database called `target`. Sessions on the target
    are terminated first (a database cannot be renamed while in use).
    """
    with connect(admin_dsn) as conn, conn.transaction():
        if previous is not None:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (target,))
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(target), sql.Identifier(previous)))
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(restored), sql.Identifier(target)))


def kept_copies(admin_dsn: str, name: str) -> list[str]:
    """Every `<name>_before_restore_<stamp>` database, oldest first."""
    pattern = re.compile(re.escape(name + BEFORE_RESTORE) + _STAMP)
    return sorted(d for d in existing(admin_dsn) if pattern.fullmatch(d))
