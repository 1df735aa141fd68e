"""Connections to PostgreSQL.

In:  a DSN. Out: psycopg connections whose search_path finds our two schemas.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from stocksdb.errors import DatabaseStateError

SEARCH_PATH = "stocks_research,ingestion,public"


def connect(dsn: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A psycopg connection with search_path = stocks_research, ingestion, public; UTC."""
    options = f"-c search_path={SEARCH_PATH} -c TimeZone=UTC"
    try:
        return psycopg.connect(dsn, options=options, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseStateError(
            f"cannot connect to {redact_dsn(dsn)}: {str(exc).strip()}; "
            "check --dsn / STOCKSDB_DSN / TIMESCALEDB_URL / TIMESCALEDB_HOST / PG* (first "
            "set wins; `stocksdb doctor` names it) or run `stocksdb db start`"
        ) from exc


def redact_dsn(dsn: str) -> str:
    """The DSN with any password replaced by '***' (for messages and logs)."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable dsn>"
    if "password" in parts:
        parts["password"] = "***"
    return make_conninfo(**{k: str(v) for k, v in parts.items()})


def reveal_password(dsn: str) -> str:
    """The DSN with its password spelled out (taken from its passfile when it names one).

    Only for `stocksdb db url --show-password`: a user asking to see it.
    """
    parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    passfile = parts.pop("passfile", None)
    if "password" not in parts and passfile:
        found = _passfile_lookup(Path(passfile), parts)
        if found is not None:
            parts["password"] = found
    return make_conninfo(**parts)


def _passfile_lookup(path: Path, parts: dict[str, str]) -> str | None:
    """The password of the first matching `host:port:db:user:password` line (libpq rules)."""
    wanted = [parts.get("host", "localhost"), parts.get("port", "5432"),
              parts.get("dbname", ""), parts.get("user", "")]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.replace("\\:", ":").replace("\\\\", "\\")
                  for f in re.split(r"(?<!\\):", line, maxsplit=4)]
        if len(fields) == 5 and all(f in ("*", w) for f, w in zip(fields, wanted, strict=False)):
            return fields[4]
    return None


def database_name(dsn: str) -> str:
    """The dbname a DSN points at."""
    return str(conninfo_to_dict(dsn).get("dbname", ""))


def with_database(dsn: str, database: str) -> str:
    """The same server, another database."""
    parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    parts["dbname"] = database
    return make_conninfo(**parts)


def ensure_database(admin_dsn: str, name: str) -> bool:
    """Create database `name` if it does not exist; True when created now."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False
        return True
