"""`stocksdb cache start|status|url|stop` in-process, on the real embedded Valkey."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stocksdb.cache.server import EmbeddedValkey
from tests.fix_cli import stocksdb


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """STOCKSDB_HOME in a short /tmp folder, no Redis URL set; its server stopped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="stocksdb-test-cli-"))
    monkeypatch.setenv("STOCKSDB_HOME", str(folder))
    monkeypatch.delenv("STOCKSDB_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    yield folder
    EmbeddedValkey(folder / "valkey").stop()
    shutil.rmtree(folder, ignore_errors=True)


def test_start_status_url_stop(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """start runs the server on STOCKSDB_HOME/valkey/valkey.sock without TCP; status (JSON)
    reports it with the password redacted, `url --show-password` reveals it; stop ends it."""
    code, out, _ = stocksdb(capsys, "cache", "start")
    sock = home / "valkey" / "valkey.sock"
    assert code == 0 and f"socket {sock}, no TCP port" in out, out
    password = (home / "valkey" / "password").read_text().strip()
    code, out, _ = stocksdb(capsys, "cache", "status", "--json")
    report = json.loads(out)
    assert report["embedded"]["running"] is True and report["embedded"]["port"] is None
    assert report["uses_embedded"] is True and report["url"] == f"unix://:***@{sock}"
    assert password not in out
    assert stocksdb(capsys, "cache", "url", "--show-password")[1].strip() == \
        f"unix://:{password}@{sock}"
    assert stocksdb(capsys, "cache", "stop")[1].strip() == "embedded cache stopped"
    code, out, _ = stocksdb(capsys, "cache", "status")
    assert code == 0 and out.startswith("embedded cache: stopped"), out
    assert stocksdb(capsys, "cache", "stop")[1].strip() == "embedded cache was not running"


def test_an_external_redis_url_is_reported_redacted(
        home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """With STOCKSDB_REDIS_URL set, status and url name that server, its password masked."""
    monkeypatch.setenv("STOCKSDB_REDIS_URL", "redis://:ext-Secret-1@cache.example:6379/0")
    code, out, _ = stocksdb(capsys, "cache", "status", "--json")
    report = json.loads(out)
    assert code == 0 and report["uses_embedded"] is False
    assert report["url"] == "redis://:***@cache.example:6379/0"
    assert stocksdb(capsys, "cache", "url")[1].strip() == "redis://:***@cache.example:6379/0"


def test_a_bad_max_memory_is_a_usage_error(home: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """--max-memory lots: exit 2 naming the parameter and the sizes expected."""
    code, _, err = stocksdb(capsys, "cache", "start", "--max-memory", "lots")
    assert code == 2
    assert "parameter `max_memory` is 'lots'; expected a size such as" in err
