"""The embedded PostgreSQL server, and where the configured database lives.

In:  Settings (a DSN, PG* variables, or STOCKSDB_HOME for the embedded server).
Out: a DSN for the stocks_research database; init / start / stop / status of the embedded server.

The embedded server uses the PostgreSQL 16 binaries shipped in the `pgserver` wheel, listens on
127.0.0.1 on a free port chosen at each start (read back from postmaster.pid) and on a Unix
socket in a 0700 folder (the DSNs we build name the socket; see EmbeddedServer._host), and
asks every connection for the superuser password generated at initdb (scram-sha-256; see
server_auth). PostgreSQL refuses to run as root, so when we are root it runs as the system
user `pgserver` with that user's own group (see server_files for where its files live and
which folder permissions that may need).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import socket
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

from psycopg.conninfo import make_conninfo

from stocksdb.config import Settings
from stocksdb.db import server_auth as auth
from stocksdb.db import server_files as files
from stocksdb.db.server_files import SERVER_USER, ServiceAccount
from stocksdb.errors import ServerError
from stocksdb.processes import pid_alive

__all__ = ["SERVER_USER", "EmbeddedServer", "ServerStatus", "bin_dir", "embedded_server",
           "resolve_dsn"]

log = logging.getLogger(__name__)
START_TIMEOUT_S = 60

# Durable settings for a user's database; tests and benchmarks may pass fast=True, which turns
# off fsync: a crash of the *machine* could then corrupt the cluster, a crash of a client cannot.
_BASE_CONF = {
    "listen_addresses": "'127.0.0.1'",
    "password_encryption": "'scram-sha-256'",
    "max_connections": "100",
    "shared_buffers": "'256MB'",
    "work_mem": "'32MB'",
    "maintenance_work_mem": "'256MB'",
    "max_wal_size": "'4GB'",
    # No streaming replication or WAL archiving (backups are pg_dump): the hydration path's
    # COPY into a table created in the same transaction, and its index builds, write no WAL;
    # the relation is synced at commit instead (docs/schema.md).
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "checkpoint_timeout": "'15min'",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "lc_messages": "'C'",
}
_FAST_CONF = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def bin_dir() -> Path:
    """Directory of the PostgreSQL binaries shipped with the pgserver wheel (client tools)."""
    return files.wheel_dir() / "bin"


@dataclass(frozen=True)
class ServerStatus:
    """What `stocksdb db status` reports about the embedded server."""

    pgdata: Path
    initialized: bool
    running: bool
    pid: int | None
    port: int | None
    socket_dir: Path | None = None
    opened_folders: tuple[str, ...] = ()  # folders above STOCKSDB_HOME we widened (o+x)
    notices: tuple[str, ...] = field(default=(), compare=False)  # what start() just changed


class EmbeddedServer:
    """A private PostgreSQL cluster in `pgdata` (STOCKSDB_HOME/pgdata), run with pg_ctl."""

    def __init__(self, pgdata: Path, *, fast: bool = False) -> None:
        self.pgdata = pgdata.expanduser().resolve()
        self.home = self.pgdata.parent
        self.fast = fast
        self._account: ServiceAccount | None = (
            files.service_account() if os.geteuid() == 0 else None)
        self._notices: list[str] = []  # what init/start changed, told once by start()

    @property
    def passfile(self) -> Path:
        """The superuser password, libpq .pgpass format, 0600 (named by our DSNs)."""
        return self.home / "pgpass"

    @property
    def socket_dir(self) -> Path:
        """The 0700 folder holding the server's Unix socket."""
        return files.socket_dir(self.home)

    # -- lifecycle ---------------------------------------------------------------------------
    def init(self) -> bool:
        """Create the cluster if it does not exist; True when it was created now."""
        if (self.pgdata / "PG_VERSION").exists():
            return False
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        password = auth.new_password()
        uid = self._account.uid if self._account else None
        with auth.initdb_pwfile(self.home, password, uid) as pwfile:
            self._run("initdb", "-D", str(self.pgdata), "--auth=scram-sha-256",
                      f"--pwfile={pwfile}", "-U", auth.SUPERUSER, "--encoding=UTF8",
                      "--locale=C", "--no-sync")
        auth.write_passfile(self.passfile, password)
        auth.write_hba(self.pgdata)
        conf = dict(_BASE_CONF, **(_FAST_CONF if self.fast else {}))
        lines = "".join(f"{k} = {v}\n" for k, v in conf.items())
        with (self.pgdata / "postgresql.conf").open("a", encoding="utf-8") as fh:
            fh.write("\n# --- stocksdb embedded server ---\n" + lines)
        return True

    def start(self) -> ServerStatus:
        """Start the server if needed (initialising first); returns its status and notices."""
        self.init()
        if not self.status().running:
            self._add_settings()
            self._launch()
        notices, self._notices = self._notices, []
        started = self.status()
        if not started.running:
            raise ServerError(f"embedded server in {self.pgdata} did not start; "
                              f"see {self.pgdata / 'server.log'}")
        if auth.hba_trusts(self.pgdata):
            trusted = make_conninfo(host="127.0.0.1", port=str(started.port),
                                    user=auth.SUPERUSER, dbname="postgres")
            notices.append(auth.migrate_trust_cluster(self.pgdata, self.passfile, trusted))
        return replace(started, notices=tuple(notices))

    def _add_settings(self) -> None:
        """Append the settings of _BASE_CONF a cluster made by an earlier version lacks (it is
        stopped: they take effect as it starts)."""
        conf = self.pgdata / "postgresql.conf"
        text = conf.read_text(encoding="utf-8")
        ours = text.partition("# --- stocksdb embedded server ---")[2]
        missing = {k: v for k, v in _BASE_CONF.items()
                   if not re.search(rf"^{k}\s*=", ours, re.MULTILINE)}
        if ours and missing:
            with conf.open("a", encoding="utf-8") as fh:
                fh.write("".join(f"{k} = {v}\n" for k, v in missing.items()))
            self._notices.append(f"settings added to {conf}: "
                                 + ", ".join(f"{k} = {v}" for k, v in missing.items()))

    def _launch(self) -> None:
        """pg_ctl start on a free port, with the socket in a private folder."""
        self._prepare_permissions()
        sockets = self.socket_dir
        files.make_private_dir(sockets, self._account)
        if sockets != self.home / "run":
            self._notices.append(f"socket folder {self.home / 'run'} would exceed the "
                           f"{files.MAX_SOCKET_PATH}-byte socket path limit; using {sockets}")
        port = _free_port()
        self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.pgdata / "server.log"), "-w",
                  "-t", str(START_TIMEOUT_S), "-o", f"-p {port} -k {shlex.quote(str(sockets))}",
                  "start")

    def stop(self) -> bool:
        """Stop the server (fast shutdown) and undo folder changes; True when it was running."""
        running = self.status().running
        if running:
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop")
        for note in files.close_folders(self.home):
            log.info("%s", note)
        sockets = self.socket_dir
        if sockets != self.home / "run":
            _remove_empty(sockets)
        return running

    def status(self) -> ServerStatus:
        """Initialised? running? on which port? (from postmaster.pid)."""
        initialized = (self.pgdata / "PG_VERSION").exists()
        pid, port = _read_postmaster_pid(self.pgdata / "postmaster.pid")
        running = pid is not None and pid_alive(pid) and port is not None and _port_open(port)
        return ServerStatus(self.pgdata, initialized, running, pid if running else None,
                            port if running else None, self.socket_dir,
                            tuple(files.opened_folders(self.home)))

    def dsn(self, database: str = "postgres") -> str:
        """Connection string for `database` on the running server (password via passfile)."""
        port = self.status().port
        if port is None:
            raise ServerError(f"embedded server in {self.pgdata} is not running; "
                              "run `stocksdb db start`")
        if not self.passfile.exists():
            raise ServerError(
                f"password file {self.passfile} of the embedded server is missing; restore it "
                "from a copy, or set a new password with psql as the server's OS user")
        return make_conninfo(host=self._host(port), port=str(port), user=auth.SUPERUSER,
                             dbname=database, passfile=str(self.passfile))

    def _host(self, port: int) -> str:
        """The folder of the server's Unix socket when the socket is there, else 127.0.0.1.

        The socket is the faster road (a 630 KB cross-section arrives in 2.6 ms, against 3 to
        4 ms over loopback TCP; docs/performance.md), and the safer one: its folder is 0700,
        so only the server's user (or root) reaches it and no other local user can stand in
        for a stopped server there, as one could on its freed TCP port. TCP stays for a client
        that cannot reach the folder, or a server started with its socket elsewhere."""
        sockets = self.socket_dir
        try:
            if (sockets / f".s.PGSQL.{port}").is_socket():
                return str(sockets)
        except OSError:   # the folder is not ours to look into
            pass
        return "127.0.0.1"

    # -- helpers -----------------------------------------------------------------------------
    def _run(self, program: str, *args: str) -> None:
        cmd = [str(files.server_bin_dir(self.home, self._account) / program), *args]
        acct = self._account  # the service user with its own group only, never root's
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, cwd="/",
                           stdin=subprocess.DEVNULL, timeout=START_TIMEOUT_S + 30,
                           user=acct.uid if acct else None, group=acct.gid if acct else None,
                           extra_groups=[] if acct else None)
        except subprocess.CalledProcessError as exc:
            raise ServerError(
                f"{program} failed for the embedded server in {self.pgdata} "
                f"(exit {exc.returncode}): {exc.stderr.strip() or exc.stdout.strip()}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise ServerError(
                f"{program} timed out for the embedded server in {self.pgdata}") from exc

    def _prepare_permissions(self) -> None:
        """As root, hand pgdata to the server user and let it reach STOCKSDB_HOME."""
        if self._account is None:
            return
        self._notices += files.let_server_reach(self.home, self._account)
        files.chown_tree(self.pgdata, self._account)
        self.pgdata.chmod(0o700)


def _remove_empty(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()


def _read_postmaster_pid(path: Path) -> tuple[int | None, int | None]:
    try:
        lines = path.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None, None
    try:
        return int(lines[0]), int(lines[3])
    except (IndexError, ValueError):
        return None, None


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def embedded_server(settings: Settings) -> EmbeddedServer:
    """The embedded server configured by STOCKSDB_HOME."""
    return EmbeddedServer(settings.server_dir)


def resolve_dsn(settings: Settings, *, start: bool = True) -> str:
    """DSN of the stocks_research database: Settings.dsn (--dsn, STOCKSDB_DSN, TIMESCALEDB_*),
    else PG*, else embedded.

    With the embedded server, it is started (and the database created) when needed.
    """
    if settings.dsn:
        return settings.dsn
    if not settings.uses_embedded_server:
        parts = {k: v for k, v in settings.pg_env}
        keys = {"PGHOST": "host", "PGPORT": "port", "PGUSER": "user", "PGPASSWORD": "password"}
        conninfo = {keys[k]: v for k, v in parts.items() if k in keys}
        conninfo["dbname"] = settings.database
        from psycopg.conninfo import make_conninfo

        return make_conninfo(**conninfo)
    server = embedded_server(settings)
    if start:
        for notice in server.start().notices:
            log.warning("%s", notice)
    from stocksdb.db.connection import ensure_database

    ensure_database(server.dsn("postgres"), settings.database)
    return server.dsn(settings.database)
