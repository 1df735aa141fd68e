"""Where the embedded server writes, and which folder permissions it touches (as root)."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stocksdb.db.server import EmbeddedServer

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="only root runs the server as another user")

# Every place outside STOCKSDB_HOME that `db start` may create something in, and what.
OUTSIDE_HOME = {
    "/tmp/stocksdb-": "the socket folder, only when STOCKSDB_HOME/run is too long",
    "/dev/shm/PostgreSQL.": "PostgreSQL's own dynamic shared memory segments",
}
WATCHED = ("/tmp", "/var/tmp", "/var/lib", "/run", "/dev/shm", "/etc", "/home", "/opt")


def modes_above(path: Path) -> dict[str, tuple[int, int, int]]:
    """(mode, uid, gid) of every folder above `path`."""
    return {str(p): (p.stat().st_mode, p.stat().st_uid, p.stat().st_gid) for p in path.parents}


def server_owned_entries() -> set[str]:
    """Top-level entries of the watched folders that belong to the server's OS user."""
    uid = pwd.getpwnam("pgserver").pw_uid
    found = set()
    for folder in WATCHED:
        with os.scandir(folder) as it:
            found |= {e.path for e in it if e.stat(follow_symlinks=False).st_uid == uid}
    return found


@pytest.fixture
def parent() -> Iterator[Path]:
    """A fresh root-owned folder to put STOCKSDB_HOME in (mode set by the test)."""
    path = Path(tempfile.mkdtemp(prefix="stocksdb-layout-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_folders_above_home_are_untouched_when_reachable(parent: Path) -> None:
    """With searchable folders above STOCKSDB_HOME, start and stop change none of them."""
    parent.chmod(0o755)
    home = parent / "a" / "home"
    home.mkdir(parents=True)
    before = modes_above(home)
    server = EmbeddedServer(home / "pgdata", fast=True)
    try:
        started = server.start()
        assert modes_above(home) == before
        assert started.notices == () and started.opened_folders == ()
    finally:
        server.stop()
    assert modes_above(home) == before


def test_a_closed_folder_above_home_is_named_and_restored(parent: Path) -> None:
    """A 0700 folder above STOCKSDB_HOME gets o+x while running, said so, and 0700 after stop."""
    parent.chmod(0o700)
    home = parent / "home"
    server = EmbeddedServer(home / "pgdata", fast=True)
    try:
        started = server.start()
        assert any(str(parent) in n and "db stop" in n for n in started.notices), started.notices
        assert stat.S_IMODE(parent.stat().st_mode) == 0o701
        assert server.status().opened_folders == (str(parent),)
    finally:
        server.stop()
    assert stat.S_IMODE(parent.stat().st_mode) == 0o700
    assert server.status().opened_folders == ()


def test_every_path_written_outside_home_is_listed(parent: Path) -> None:
    """A STOCKSDB_HOME too long for a socket path: the /tmp fallback is announced and removed;
    nothing else owned by the server appears outside STOCKSDB_HOME but PostgreSQL's shm."""
    parent.chmod(0o755)
    home = parent / ("x" * 80) / "home"
    before = server_owned_entries()
    server = EmbeddedServer(home / "pgdata", fast=True)
    try:
        started = server.start()
        new = server_owned_entries() - before
        unexpected = {p for p in new if not p.startswith(tuple(OUTSIDE_HOME))}
        assert not unexpected, f"undocumented paths outside STOCKSDB_HOME: {unexpected}"
        sockets = [p for p in new if p.startswith("/tmp/")]
        assert len(sockets) == 1 and any(sockets[0] in n for n in started.notices), new
        assert stat.S_IMODE(os.stat(sockets[0]).st_mode) == 0o700
    finally:
        server.stop()
    assert not Path(sockets[0]).exists()


def test_a_socket_folder_made_by_someone_else_is_refused(tmp_path: Path) -> None:
    """A symlink squatting the socket folder name is refused, and its target keeps its owner."""
    from stocksdb.db.server_files import make_private_dir
    from stocksdb.errors import ServerError

    target = tmp_path / "target"
    target.mkdir()
    squat = tmp_path / "squat"
    squat.symlink_to(target)
    with pytest.raises(ServerError, match="symlink"):
        make_private_dir(squat, None)
    assert target.stat().st_uid == 0 and stat.S_IMODE(target.stat().st_mode) == 0o755
