"""HTTP fixtures: a fake clock, recorded vendor payloads, settings aimed at the loopback server."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from stocksdb.config import Settings

VENDORS = Path(__file__).resolve().parent / "resources" / "vendors"
# A fake key shaped like a real one; tests assert it never leaks into logs, errors or reprs.
FAKE_KEY = "sk_test_SECRET123"


@dataclass
class FakeClock:
    """A monotonic clock that moves only when `sleep` is called; records every wait."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        """The current fake time in seconds."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the wait and advance the clock instead of sleeping."""
        self.sleeps.append(seconds)
        self.now += seconds


def load_vendor_json(relative: str) -> Any:
    """A recorded payload from tests/resources/vendors/<relative>, parsed."""
    return json.loads((VENDORS / relative).read_text(encoding="utf-8"))


def vendor_bytes(relative: str) -> bytes:
    """A recorded payload from tests/resources/vendors/<relative>, as served by the vendor."""
    return (VENDORS / relative).read_bytes()


def client_log_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Captured log messages from our side of the wire; the loopback server's own access log
    (logger `werkzeug`) plays the vendor's side and is left out."""
    return [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock/sleep pair that never really sleeps."""
    return FakeClock()


@pytest.fixture
def fake_key() -> str:
    """A fake API key that must never appear in logs, error messages or reprs."""
    return FAKE_KEY


@pytest.fixture
def vendor_json() -> Callable[[str], Any]:
    """Loader of recorded payloads under tests/resources/vendors."""
    return load_vendor_json


@pytest.fixture
def loopback_settings(httpserver: HTTPServer, fake_key: str) -> Settings:
    """Settings with Massive and OpenFIGI on the loopback server and a fake Massive key."""
    base = httpserver.url_for("/").rstrip("/")
    return Settings(massive_api_key=fake_key, massive_api_url=base, openfigi_api_url=base)
