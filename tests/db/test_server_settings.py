"""The embedded server's settings: a cluster made by an earlier version gains the new ones."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from stocksdb.db.connection import connect
from stocksdb.db.server import EmbeddedServer

MARK = "# --- stocksdb embedded server ---"


def wal_level(server: EmbeddedServer) -> str:
    with connect(server.dsn("postgres")) as c:
        row = c.execute("SHOW wal_level").fetchone()
    assert row is not None
    return str(row[0])


def test_an_older_cluster_gains_wal_level_minimal_as_it_starts() -> None:
    """A new cluster runs with wal_level=minimal (the hydration's COPY writes no WAL); one whose
    settings predate it gets the two lines appended, said in a notice, on its next start, and
    only once."""
    home = Path(tempfile.mkdtemp(prefix="stocksdb-conf-")) / "home"   # a short socket path
    server = EmbeddedServer(home / "pgdata", fast=True)
    try:
        server.start()
        assert wal_level(server) == "minimal"
        server.stop()
        conf = server.pgdata / "postgresql.conf"
        before, _, ours = conf.read_text().partition(MARK)
        older = [line for line in ours.splitlines()
                 if not line.startswith(("wal_level", "max_wal_senders"))]
        conf.write_text(before + MARK + "\n".join(older) + "\n")
        assert wal_level_line(conf) == []
        started = server.start()
        assert wal_level(server) == "minimal"
        assert [n for n in started.notices if "settings added" in n] == [
            f"settings added to {conf}: wal_level = minimal, max_wal_senders = 0"]
        server.stop()
        again = server.start()
        assert not [n for n in again.notices if "settings added" in n]
        assert wal_level_line(conf) == ["wal_level = minimal"]
    finally:
        server.stop()
        shutil.rmtree(home.parent, ignore_errors=True)


def wal_level_line(conf: Path) -> list[str]:
    return [line for line in conf.read_text().splitlines() if line.startswith("wal_level")]
