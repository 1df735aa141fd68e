"""Where the embedded server's files live, who owns them, and who may reach them.

In:  STOCKSDB_HOME and, when we are root, the service account the server runs as.
Out: the binaries the server runs, its private socket folder, and the record of every folder
     permission we had to widen (so that `db status` names it and `db stop` undoes it).

Layout under STOCKSDB_HOME (nothing else is written outside it, except the socket fallback
folder below and the `pgserver` system user that `useradd` creates once):

    pgdata/      the cluster, owned by the server's user, 0700
    pgpass       the superuser password, libpq .pgpass format, 0600, owned by the caller
    run/         the Unix socket folder, owned by the server's user, 0700
    pginstall/   as root only: a root-owned copy of the wheel's bin/, lib/, share/ and its
                 pgserver.libs (~30 MB), because the wheel may sit where the service user
                 cannot go (a venv under /root); re-copied when the wheel changes
    opened-folders.json   as root only, while running: folders above STOCKSDB_HOME we gave
                 `other` search permission to, with their previous modes

A socket path longer than PostgreSQL accepts (107 bytes) falls back to /tmp/stocksdb-<hash>.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "pgserver"  # the system user pgserver itself uses when run as root
MAX_SOCKET_PATH = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux
# Paths under site-packages the server needs; the binaries' RPATH is $ORIGIN/../../../pgserver.libs
# (auditwheel), so a copy keeps this relative layout.
_WHEEL_PARTS = ("pgserver/pginstall/bin", "pgserver/pginstall/lib", "pgserver/pginstall/share",
                "pgserver.libs")
_OPENED = "opened-folders.json"


@dataclass(frozen=True)
class ServiceAccount:
    """The OS user (and its own primary group) the server runs as when we are root."""

    name: str
    uid: int
    gid: int


def service_account() -> ServiceAccount:
    """The `pgserver` system user, created (with its own group) if missing."""
    import pwd

    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "-M", "-s", "/usr/sbin/nologin",
                        SERVER_USER], check=True, capture_output=True)
        entry = pwd.getpwnam(SERVER_USER)
    return ServiceAccount(SERVER_USER, entry.pw_uid, entry.pw_gid)


def wheel_dir() -> Path:
    """The `pginstall` folder of the pgserver wheel (bin/, lib/, share/)."""
    import importlib.util

    from stocksdb.errors import ServerError

    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        raise ServerError("package 'pgserver' is not installed; run `make venv` (pip install -e .)")
    return Path(spec.origin).parent / "pginstall"


def server_bin_dir(home: Path, account: ServiceAccount | None) -> Path:
    """The binaries the server itself runs: the wheel's, or as root a copy under `home`."""
    if account is None:
        return wheel_dir() / "bin"
    site = wheel_dir().parent.parent
    target = home / "pginstall"
    stamp = target / "SOURCE"
    if not stamp.exists() or stamp.read_text() != _stamp(site):
        _copy_wheel(site, target)
    return target / "pgserver" / "pginstall" / "bin"


def _stamp(site: Path) -> str:
    postgres = site / "pgserver" / "pginstall" / "bin" / "postgres"
    return f"{site}\n{postgres.stat().st_mtime_ns if postgres.exists() else 0}\n"


def _copy_wheel(site: Path, target: Path) -> None:
    """Copy what the server runs to `target` (root-owned, not writable by the service user)."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for part in _WHEEL_PARTS:
        shutil.copytree(site / part, tmp / part, symlinks=True)
    (tmp / "SOURCE").write_text(_stamp(site))
    for root, dirs, _ in os.walk(tmp):
        for name in dirs:
            Path(root, name).chmod(0o755)
    tmp.chmod(0o755)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def socket_dir(home: Path) -> Path:
    """`home/run`, or a short folder in /tmp when the socket path would be too long."""
    preferred = home / "run"
    if len(str(preferred / ".s.PGSQL.65535").encode()) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    return Path("/tmp") / f"stocksdb-{digest}"


def make_private_dir(path: Path, account: ServiceAccount | None) -> None:
    """Create `path` (0700) for the server's user; an existing one is re-owned and re-moded.

    Raises:
        ServerError: `path` is a symlink or belongs to someone else (in /tmp, another user
            could have made it first to catch the socket or our chown).
    """
    from stocksdb.errors import ServerError

    path.mkdir(parents=True, exist_ok=True)
    info = path.lstat()
    owners = {os.geteuid(), *([account.uid] if account else [])}
    if stat.S_ISLNK(info.st_mode) or info.st_uid not in owners:
        raise ServerError(f"socket folder {str(path)!r} is a symlink or owned by uid "
                          f"{info.st_uid}, expected a folder of ours; remove it and start again")
    if account is not None:
        os.chown(path, account.uid, account.gid)
    path.chmod(0o700)


def chown_tree(path: Path, account: ServiceAccount) -> None:
    """Hand `path` and everything below it to the service account."""
    if path.stat().st_uid == account.uid and path.stat().st_gid == account.gid:
        return
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), account.uid, account.gid, follow_symlinks=False)
    os.chown(path, account.uid, account.gid)


def _can_search(path: Path, account: ServiceAccount) -> bool:
    info = path.stat()
    if info.st_uid == account.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == account.gid:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def let_server_reach(home: Path, account: ServiceAccount) -> list[str]:
    """Make `home` searchable by the service account; returns notices for folders above it.

    `home` itself gets the account's group and g+x when needed (it is ours). A folder above it
    that the account cannot search gets o+x: that change is recorded in `home/opened-folders.json`
    first, named in the returned notices and undone by `close_folders` on `db stop`.
    """
    if not _can_search(home, account):
        os.chown(home, -1, account.gid)
        home.chmod(stat.S_IMODE(home.stat().st_mode) | stat.S_IXGRP)
    blocked = [p for p in home.parents if not _can_search(p, account)]
    if not blocked:
        return []
    record = home / _OPENED
    opened = _read_opened(record)
    for p in blocked:
        opened.setdefault(str(p), stat.S_IMODE(p.stat().st_mode))
    record.write_text(json.dumps(opened, indent=2))
    for p in blocked:
        p.chmod(stat.S_IMODE(p.stat().st_mode) | stat.S_IXOTH)
    return [f"gave other users search (x) permission on {p} (was {opened[str(p)]:o}) so that "
            f"user {account.name} can reach {home}; `stocksdb db stop` restores it"
            for p in blocked]


def opened_folders(home: Path) -> dict[str, int]:
    """Folders above `home` we widened and their previous modes (empty when none)."""
    return _read_opened(home / _OPENED)


def close_folders(home: Path) -> list[str]:
    """Restore the modes recorded by `let_server_reach`; returns what was restored."""
    record = home / _OPENED
    restored = []
    for name, mode in _read_opened(record).items():
        path = Path(name)
        if path.exists() and stat.S_IMODE(path.stat().st_mode) == mode | stat.S_IXOTH:
            path.chmod(mode)
            restored.append(f"restored mode {mode:o} on {path}")
    record.unlink(missing_ok=True)
    return restored


def _read_opened(record: Path) -> dict[str, int]:
    try:
        data = json.loads(record.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items()}
