"""Export fixtures: a generated market spanning a year end, loaded by every job (session-wide;
exports only read it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stocksdb.config import Settings
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample import generate_sample
from tests.fix_pg import PgServer

# Two calendar years, so an export has two year partitions. Sessions counted by hand on a
# calendar: Nov 2023 22 weekdays - Thanksgiving = 21, Dec 21 - Christmas = 20; Jan 2024 23 -
# New Year - MLK day = 21, Feb 21 - Presidents' Day = 20.
SESSIONS_PER_YEAR = {2023: 41, 2024: 41}
EXPORT_START, EXPORT_END = date(2023, 11, 1), date(2024, 2, 29)
JOBS = ("securities_master", "ticker_history", "prices_daily", "corporate_actions",
        "adjustment_factors_daily", "fundamentals_quarterly_raw", "fundamentals_derived")


@dataclass(frozen=True)
class ExportMarket:
    """The loaded database and the sample it came from."""

    dsn: str
    database: str
    root: Path
    cases: dict[str, Any]


def load_all(dsn: str, root: Path) -> None:
    """Every job over the sample, in order; each must succeed."""
    for job in JOBS:
        path = None if job in ("adjustment_factors_daily", "fundamentals_derived") else root
        prices = job == "prices_daily"
        report = run_job(Settings(), dsn, RunRequest(
            job=job, path=path, start=EXPORT_START if prices else None,
            end=EXPORT_END if prices else None))
        assert report.status == "succeeded", report.as_dict()


@pytest.fixture(scope="session")
def export_market(pg_server: PgServer, template_db: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExportMarket]:
    """50 securities from 2023-11-01 to 2024-02-29 (seed 11), every job run once."""
    root = tmp_path_factory.mktemp("export") / "market"
    generate_sample(root, securities=50, start=EXPORT_START, end=EXPORT_END, seed=11)
    name = pg_server.clone(template_db, prefix="x_")
    dsn = pg_server.dsn(name)
    load_all(dsn, root)
    cases = json.loads((root / "manifest.json").read_text())["cases"]
    yield ExportMarket(dsn, name, root, cases)
    pg_server.drop_family(name)


@pytest.fixture
def export_market_copy(pg_server: PgServer, export_market: ExportMarket) -> Iterator[ExportMarket]:
    """A private copy of the loaded market's database, for a test that changes it."""
    name = pg_server.clone(export_market.database, prefix="xc_")
    yield ExportMarket(pg_server.dsn(name), name, export_market.root, export_market.cases)
    pg_server.drop_family(name)
