"""The quality report's market: a small generated sample hydrated by every job, and the
answers the report must give about it, counted from the sample's files (not our code)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from stocksdb.cli import main
from stocksdb.config import Settings
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample import SampleManifest, generate_sample
from tests.fix_pg import PgServer
from tests.fix_sample import figi_on, read_csv, read_day, sessions_of

REPORT_START, REPORT_END = date(2024, 1, 2), date(2024, 3, 28)
REPORT_JOBS = ("securities_master", "ticker_history", "prices_daily", "corporate_actions",
               "adjustment_factors_daily", "fundamentals_quarterly_raw",
               "fundamentals_derived")


@dataclass(frozen=True)
class ReportMarket:
    """The hydrated database (clone it to change it), its sample and the sample's manifest."""

    dsn: str
    root: Path
    manifest: SampleManifest


@pytest.fixture(scope="session")
def report_market(pg_server: PgServer, template_db: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportMarket]:
    """50 securities over Q1 2024 (seed 3), every job run on them once."""
    root = tmp_path_factory.mktemp("report") / "market"
    manifest = generate_sample(root, securities=50, start=REPORT_START, end=REPORT_END, seed=3)
    name = pg_server.clone(template_db, prefix="rep_")
    for job in REPORT_JOBS:
        extra: dict[str, Any] = {"start": REPORT_START, "end": REPORT_END} \
            if job == "prices_daily" else {}
        path = None if job in ("adjustment_factors_daily", "fundamentals_derived") else root
        report = run_job(Settings(), pg_server.dsn(name), RunRequest(job=job, path=path, **extra))
        assert report.status == "succeeded", report.as_dict()
    yield ReportMarket(pg_server.dsn(name), root, manifest)
    pg_server.drop(name)


@pytest.fixture(scope="session")
def default_report(report_market: ReportMarket,
                   tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`stocksdb report --out DIR` on the report market (default symbols); yields DIR. Tests
    only read it."""
    out = tmp_path_factory.mktemp("report_out") / "latest"
    assert main(["--dsn", report_market.dsn, "report", "--out", str(out)]) == 0
    return out


def expected_bars_per_session(market: ReportMarket) -> dict[str, int]:
    """Bars each session's day file should leave in prices_daily: its distinct tickers that
    named a security that day (ticker_history.csv), less the rows the manifest says are bad
    (the high-below-low bar, the row whose window_start is another day)."""
    cases = market.manifest.cases
    refused = [(c["date"], c["ticker"]) for c in cases["bad_bars"] + cases["wrong_window_start"]]
    out = {}
    for day in sessions_of(market.root):
        known = {r["ticker"] for r in read_day(market.root, day)
                 if figi_on(market.root, r["ticker"], day) is not None}
        out[day] = len(known) - sum(1 for d, t in refused if d == day and t in known)
    return out


def expected_listed_per_session(market: ReportMarket) -> dict[str, int]:
    """Securities of reference/securities.csv listed on each session: list_date <= day and
    (no delist_date or day < delist_date)."""
    rows = read_csv(market.root / "reference" / "securities.csv")
    return {day: sum(1 for r in rows if (not r["list_date"] or r["list_date"] <= day)
                     and (not r["delist_date"] or day < r["delist_date"]))
            for day in sessions_of(market.root)}


class _PageParser(HTMLParser):
    """Collects each <section id=...>'s text and its images' alt and src."""

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.text: dict[str, list[str]] = {}
        self.images: dict[str, list[tuple[str, str]]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "section":
            self.current = values.get("id", "")
            self.text[self.current], self.images[self.current] = [], []
        elif tag == "img" and self.current is not None:
            self.images[self.current].append((values.get("alt", ""), values.get("src", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.text[self.current].append(data)


@dataclass(frozen=True)
class Page:
    """A written report page: each section's text (whitespace collapsed) and images."""

    text: dict[str, str]
    images: dict[str, list[tuple[str, str]]]


def read_page(index: Path) -> Page:
    """Parse index.html into its sections."""
    parser = _PageParser()
    parser.feed(index.read_text(encoding="utf-8"))
    return Page({k: " ".join(" ".join(v).split()) for k, v in parser.text.items()},
                parser.images)


def read_data(out_dir: Path, name: str) -> list[dict[str, str]]:
    """DIR/data/NAME.csv as string rows."""
    return read_csv(out_dir / "data" / f"{name}.csv")
