"""prices_daily: per-date atomic loads, quarantine, failure modes, idempotency."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from stocksdb.config import Settings
from stocksdb.db.checksum import database_checksums
from stocksdb.db.connection import connect
from stocksdb.jobs.base import JobReport
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import (
    AAPL,
    IBM,
    META,
    make_bar,
    make_interval,
    make_security,
    write_day,
    write_reference,
)

DAYS = ["2024-01-02", "2024-01-03", "2024-01-04"]


@pytest.fixture
def market(tmp_path: Path) -> Path:
    """AAPL, IBM and META (FB until 2024-01-04, META from then) over three sessions."""
    root = write_reference(
        tmp_path / "m",
        [make_security(AAPL), make_security(IBM), make_security(META)],
        [make_interval(AAPL, "AAPL", "2000-01-03"), make_interval(IBM, "IBM", "2000-01-03"),
         make_interval(META, "FB", "2012-05-18", "2024-01-04"),
         make_interval(META, "META", "2024-01-04")])
    for i, day in enumerate(DAYS):
        fb = "FB" if day < "2024-01-04" else "META"
        write_day(root, day, [make_bar("AAPL", day, 180 + i), make_bar("IBM", day, 160 + i),
                              make_bar(fb, day, 350 + i)])
    return root


def load_reference(db: str, root: Path) -> None:
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=root))


def prices(db: str, root: Path, **kw: object) -> JobReport:
    return run_job(Settings(), db, RunRequest(job="prices_daily", path=root, **kw))  # type: ignore[arg-type]


def bars(db: str) -> list[tuple[str, str, float]]:
    with connect(db) as c:
        rows = c.execute("SELECT symbol, time::text, close FROM ohlcv_daily "
                         "ORDER BY time, symbol").fetchall()
    return [(s, t, float(v)) for s, t, v in rows]


def checksums(db: str) -> dict[str, object]:
    with connect(db) as c:
        return dict(database_checksums(c))


def test_hydration_writes_every_bar_readable_through_ohlcv_daily(db: str, market: Path) -> None:
    """Three sessions x three securities arrive in ohlcv_daily under the ticker of each date."""
    load_reference(db, market)
    report = prices(db, market, start=date(2024, 1, 2))
    assert report.status == "succeeded", report.as_dict()
    assert report.counts["rows_written"] == 9 and report.counts["sessions_ok"] == 3
    got = bars(db)
    assert ("FB", "2024-01-03", 351.0) in got and ("META", "2024-01-04", 352.0) in got
    assert len(got) == 9
    with connect(db) as c:
        ids = c.execute("SELECT count(DISTINCT symbol_id) FROM ohlcv_daily "
                        "WHERE symbol IN ('FB', 'META')").fetchone()
    assert ids == (1,), "the renamed security keeps one id across FB and META"
