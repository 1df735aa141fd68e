"""Authentication of the embedded server: a generated superuser password, scram everywhere.

In:  the cluster's data folder and STOCKSDB_HOME. Out: pg_hba.conf demanding scram-sha-256 on
every connection (socket and 127.0.0.1), and the password in `STOCKSDB_HOME/pgpass` (libpq
.pgpass format, 0600) that our DSNs name with `passfile=`, so no command line carries it.

The password reaches initdb through a 0600 --pwfile that is deleted right after, and a cluster
that an older release created with `--auth=trust` is migrated on its next start: the password
is set as a SCRAM verifier computed here (the server never sees the plain text), then pg_hba is
rewritten and reloaded.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stocksdb.errors import ServerError

SUPERUSER = "postgres"
HBA = """\
# stocksdb: every connection needs the password (scram-sha-256); see STOCKSDB_HOME/pgpass
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  scram-sha-256
host    all          all   127.0.0.1/32   scram-sha-256
host    all          all   ::1/128        scram-sha-256
local   replication  all                  scram-sha-256
host    replication  all   127.0.0.1/32   scram-sha-256
host    replication  all   ::1/128        scram-sha-256
"""


def new_password() -> str:
    """A random password (43 URL-safe characters: no ':' or '\\' to escape in .pgpass)."""
    return secrets.token_urlsafe(32)


def write_passfile(path: Path, password: str) -> None:
    """Write `*:*:*:postgres:PASSWORD` to `path`, created 0600 (never readable by others)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"*:*:*:{SUPERUSER}:{password}\n")
    tmp.replace(path)


def read_passfile(path: Path) -> str | None:
    """The superuser password stored in `path`, or None when there is no such file."""
    try:
        line = path.read_text(encoding="utf-8").splitlines()[0]
    except (FileNotFoundError, IndexError):
        return None
    return line.rsplit(":", 1)[1]


@contextmanager
def initdb_pwfile(folder: Path, password: str, uid: int | None) -> Iterator[Path]:
    """A 0600 file holding `password` for `initdb --pwfile`, readable by `uid`, then removed."""
    path = folder / f".initdb-pw-{secrets.token_hex(4)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password + "\n")
        if uid is not None:
            os.chown(path, uid, -1)
        yield path
    finally:
        path.unlink(missing_ok=True)


def hba_trusts(pgdata: Path) -> bool:
    """True when a pg_hba.conf rule lets connections in without a password (`trust`).

    Other methods someone configured on purpose (peer, md5, cert, ...) are left alone."""
    rules = [line.split("#", 1)[0].split() for line in
             (pgdata / "pg_hba.conf").read_text().splitlines()]
    return any("trust" in rule[3:] for rule in rules)


def write_hba(pgdata: Path) -> None:
    """Replace pg_hba.conf with HBA, keeping the file's owner (the server must read it)."""
    path = pgdata / "pg_hba.conf"
    info = path.stat()
    tmp = path.with_name("pg_hba.conf.tmp")
    tmp.write_text(HBA)
    os.chown(tmp, info.st_uid, info.st_gid)
    tmp.chmod(0o600)
    tmp.replace(path)


def migrate_trust_cluster(pgdata: Path, passfile: Path, trusted_dsn: str) -> str:
    """Give a running trust cluster a password and scram pg_hba; returns the notice to show.

    Raises:
        ServerError: the running server refused the change.
    """
    import psycopg
    from psycopg import sql

    password = new_password()
    try:
        with psycopg.connect(trusted_dsn, autocommit=True) as conn:
            verifier = conn.pgconn.encrypt_password(
                password.encode(), SUPERUSER.encode(), b"scram-sha-256").decode()
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(SUPERUSER), sql.Literal(verifier)))
            write_passfile(passfile, password)
            write_hba(pgdata)
            conn.execute("SELECT pg_reload_conf()")
    except psycopg.Error as exc:
        raise ServerError(f"cannot add a password to the embedded server in {pgdata}: {exc}; "
                          "it still trusts local connections, run `stocksdb db start` again"
                          ) from exc
    return (f"the embedded server in {pgdata} trusted every local connection; it now needs "
            f"the password stored in {passfile} (scram-sha-256, socket and 127.0.0.1)")
