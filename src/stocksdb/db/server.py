"""The embedded PostgreSQL server, and where the configured database lives.

In:  Settings (a DSN, PG* variables, or STOCKSDB_HOME for the embedded server).
Out: a DSN for the stocks_research database; init / start / stop / status of the embedded server.

The embedded server uses the PostgreSQL 16 binaries shipped in the `pgserver` wheel, listens on
127.0.0.1 only on a free port chosen at each start (read back from postmaster.pid), and trusts
local connections: it is a private, single-user development server, not a shared one. PostgreSQL
refuses to run as root, so when we are root it runs as a dedicated system user `pgserver`.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from stocksdb.config import Settings
from stocksdb.errors import ServerError

SERVER_USER = "pgserver"  # the system user pgserver itself uses when run as root
START_TIMEOUT_S = 60

# Durable settings for a user's database; tests and benchmarks may pass fast=True, which turns
# off fsync: a crash of the *machine* could then corrupt the cluster, a crash of a client cannot.
_BASE_CONF = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "100",
    "shared_buffers": "'256MB'",
    "work_mem": "'32MB'",
    "maintenance_work_mem": "'256MB'",
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'15min'",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "lc_messages": "'C'",
}
_FAST_CONF = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def bin_dir() -> Path:
    """Directory of the PostgreSQL binaries shipped with the pgserver wheel."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        raise ServerError("package 'pgserver' is not installed; run `make venv` (pip install -e .)")
    return Path(spec.origin).parent / "pginstall" / "bin"


@dataclass(frozen=True)
class ServerStatus:
    """What `stocksdb db status` reports about the embedded server."""

    pgdata: Path
    initialized: bool
    running: bool
    pid: int | None
    port: int | None


class EmbeddedServer:
    """A private PostgreSQL cluster in `pgdata`, started and stopped with pg_ctl."""

    def __init__(self, pgdata: Path, *, fast: bool = False) -> None:
        self.pgdata = pgdata.expanduser().resolve()
        self.fast = fast
        self._user = SERVER_USER if os.geteuid() == 0 else None

    # -- lifecycle ---------------------------------------------------------------------------
    def init(self) -> bool:
        """Create the cluster if it does not exist; True when it was created now."""
        if (self.pgdata / "PG_VERSION").exists():
            return False
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        self._run(
            "initdb", "-D", str(self.pgdata), "--auth=trust", "-U", "postgres",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )
        conf = dict(_BASE_CONF, **(_FAST_CONF if self.fast else {}))
        lines = "".join(f"{k} = {v}\n" for k, v in conf.items())
        with (self.pgdata / "postgresql.conf").open("a", encoding="utf-8") as fh:
            fh.write("\n# --- stocksdb embedded server ---\n" + lines)
        return True

    def start(self) -> ServerStatus:
        """Start the server if needed (initialising first); returns its status."""
        self.init()
        current = self.status()
        if current.running:
            return current
        self._prepare_permissions()
        port = _free_port()
        log = self.pgdata / "server.log"
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(log), "-w", "-t", str(START_TIMEOUT_S),
            "-o", f"-p {port}", "start",
        )
        started = self.status()
        if not started.running:
            raise ServerError(f"embedded server in {self.pgdata} did not start; see {log}")
        return started

    def stop(self) -> bool:
        """Stop the server (fast shutdown); True when it was running."""
        if not self.status().running:
            return False
        self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop")
        return True

    def status(self) -> ServerStatus:
        """Initialised? running? on which port? (from postmaster.pid)."""
        initialized = (self.pgdata / "PG_VERSION").exists()
        pid, port = _read_postmaster_pid(self.pgdata / "postmaster.pid")
        running = pid is not None and _pid_alive(pid) and port is not None and _port_open(port)
        return ServerStatus(self.pgdata, initialized, running, pid if running else None,
                            port if running else None)

    def dsn(self, database: str = "postgres") -> str:
        """Connection string for `database` on the running server."""
        port = self.status().port
        if port is None:
            raise ServerError(f"embedded server in {self.pgdata} is not running; "
                              "run `stocksdb db start`")
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    # -- helpers -----------------------------------------------------------------------------
    def _run(self, program: str, *args: str) -> None:
        cmd = [str(bin_dir() / program), *args]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, user=self._user,
                           stdin=subprocess.DEVNULL, timeout=START_TIMEOUT_S + 30)
        except subprocess.CalledProcessError as exc:
            raise ServerError(
                f"{program} failed for the embedded server in {self.pgdata} "
                f"(exit {exc.returncode}): {exc.stderr.strip() or exc.stdout.strip()}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise ServerError(
                f"{program} timed out for the embedded server in {self.pgdata}") from exc

    def _prepare_permissions(self) -> None:
        """As root, hand pgdata to the server user and let it traverse to its binaries."""
        if self._user is None:
            return
        import pwd

        try:
            entry = pwd.getpwnam(self._user)
        except KeyError:
            subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", self._user],
                           check=True, capture_output=True)
            entry = pwd.getpwnam(self._user)
        for path in (self.pgdata, bin_dir()):
            _allow_traverse(path.parent)
        _chown_tree(self.pgdata, entry.pw_uid, entry.pw_gid)
        self.pgdata.chmod(0o700)


def _allow_traverse(path: Path) -> None:
    """Give group/other execute (search) permission on path and every ancestor."""
    for p in (path, *path.parents):
        mode = p.stat().st_mode
        if not mode & stat.S_IXOTH:
            p.chmod(mode | stat.S_IXGRP | stat.S_IXOTH)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    if path.stat().st_uid == uid:
        return
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)
    os.chown(path, uid, gid)


def _read_postmaster_pid(path: Path) -> tuple[int | None, int | None]:
    try:
        lines = path.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None, None
    try:
        return int(lines[0]), int(lines[3])
    except (IndexError, ValueError):
        return None, None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    """DSN of the stocks_research database: --dsn/STOCKSDB_DSN, else PG*, else embedded.

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
        server.start()
    from stocksdb.db.connection import ensure_database

    ensure_database(server.dsn("postgres"), settings.database)
    return server.dsn(settings.database)
