"""Crash safety of prices_daily: killed at random moments, or losing its server mid-run,
the table only ever holds whole dates, and a re-run converges to a clean load."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect, ensure_database
from stocksdb.db.migrate import migrate
from stocksdb.db.server import EmbeddedServer
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample import generate_sample
from tests.fix_pg import PgServer, checksums

START, END = date(2024, 1, 2), date(2024, 4, 30)
TRIALS = int(os.environ.get("STOCKSDB_CRASH_TRIALS", "10"))
KILLED_AT: dict[int, int] = {}   # trial seed -> whole dates present when it was killed


@dataclass(frozen=True)
class Clean:
    """What a clean, uninterrupted load gives: rows per date, digests, run time."""

    root: Path
    template: str
    per_date: dict[date, int]
    checksums: dict[str, Any]
    seconds: float


def load_reference(dsn: str, root: Path) -> None:
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), dsn, RunRequest(job=job, path=root))


def loader(dsn: str, root: Path) -> subprocess.Popen[str]:
    """The CLI loader in its own process, as a user runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "stocksdb", "--dsn", dsn, "run", "prices_daily", "--path",
         str(root), "--start", START.isoformat(), "--end", END.isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def per_date(dsn: str) -> dict[date, int]:
    with connect(dsn) as c:
        return dict(c.execute("SELECT trade_date, count(*) FROM prices_daily GROUP BY 1"
                              ).fetchall())



@pytest.fixture(scope="module")
def clean(pg_server: PgServer, template_db: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clean]:
    """A sample market, a template with its reference data, and a clean load's results."""
    root = tmp_path_factory.mktemp("crash") / "m"
    generate_sample(root, securities=60, start=START, end=END, seed=9)
    template = pg_server.clone(template_db, prefix="ref_")
    load_reference(pg_server.dsn(template), root)
    full = pg_server.clone(template, prefix="clean_")
    t0 = time.monotonic()
    proc = loader(pg_server.dsn(full), root)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    yield Clean(root, template, per_date(pg_server.dsn(full)), checksums(pg_server.dsn(full)),
                time.monotonic() - t0)
    for name in (full, template):
        pg_server.drop(name)


def assert_whole_dates(dsn: str, expected: dict[date, int]) -> None:
    got = per_date(dsn)
    partial = {d: (n, expected.get(d)) for d, n in got.items() if n != expected.get(d)}
    assert not partial, f"dates loaded partly (got, expected): {partial}"
    with connect(dsn) as c:
        files = {row[0] for row in c.execute("SELECT key FROM ingestion.source_files")}
    assert {k[-17:-7] for k in files} == {d.isoformat() for d in got}


def trial(pg_server: PgServer, clean: Clean, seed: int) -> None:
    name = pg_server.clone(clean.template, prefix="kill_")
    try:
        dsn = pg_server.dsn(name)
        proc = loader(dsn, clean.root)
        time.sleep(random.Random(seed).uniform(0.2, clean.seconds))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert_whole_dates(dsn, clean.per_date)
        KILLED_AT[seed] = len(per_date(dsn))
        report = run_job(Settings(), dsn, RunRequest(job="prices_daily", path=clean.root,
                                                     start=START, end=END))
        assert report.status == "succeeded", report.as_dict()
        assert checksums(dsn) == clean.checksums
    finally:
        pg_server.drop(name)


@pytest.mark.parametrize("seed", range(TRIALS))
def test_sigkill_leaves_whole_dates_and_rerun_converges(pg_server: PgServer, clean: Clean,
                                                        seed: int) -> None:
    """SIGKILL at a random moment: only whole dates remain; a re-run equals a clean load."""
    trial(pg_server, clean, seed)


def test_kills_landed_in_the_middle_of_loads(clean: Clean) -> None:
    """At least three of the trials above killed a load that had written some dates but not
    all, so they tested what they claim."""
    if not KILLED_AT:
        pytest.skip("run together with the SIGKILL trials")
    middle = [s for s, n in KILLED_AT.items() if 0 < n < len(clean.per_date)]
    assert len(middle) >= 3, KILLED_AT


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 140))
def test_sigkill_many_more_trials(pg_server: PgServer, clean: Clean, seed: int) -> None:
    """The same, 40 more random moments (run with -m slow)."""
    trial(pg_server, clean, seed)


def test_server_stopped_mid_run_names_dates_and_rerun_converges(clean: Clean) -> None:
    """Stopping the server mid-run: the loader exits 1 naming dates it could not write; after
    a restart a re-run converges to the clean checksums."""
    import shutil
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="stocksdb-crash-pg-"))  # outside pytest's basetemp
    server = EmbeddedServer(home / "pgdata", fast=True)
    server.start()
    try:
        ensure_database(server.dsn("postgres"), "stocks_research")
        dsn = server.dsn("stocks_research")
        with connect(dsn, autocommit=True) as c:
            migrate(c)
        load_reference(dsn, clean.root)
        proc = loader(dsn, clean.root)
        time.sleep(max(0.5, clean.seconds * 0.6))
        server.stop()
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, (out, err)
        assert "failed" in out and "database" in (out + err)
        server.start()
        dsn = server.dsn("stocks_research")
        assert_whole_dates(dsn, clean.per_date)
        report = run_job(Settings(), dsn, RunRequest(job="prices_daily", path=clean.root,
                                                     start=START, end=END))
        assert report.status == "succeeded", report.as_dict()
        assert checksums(dsn) == clean.checksums
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
