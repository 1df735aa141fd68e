"""`stocksdb quality` over a small hydrated sample (every job run on it), then a stalled feed.

The sample covers the XNYS sessions 2024-01-02 .. 2024-03-28 (2024-03-29 is Good Friday), one
day file each, so every expected number below is counted on the calendar by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stocksdb.config import Settings
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample import generate_sample
from tests.fix_cli import stocksdb
from tests.fix_pg import PgServer, count_rows

START, END = date(2024, 1, 2), date(2024, 3, 28)
SESSIONS = 61      # XNYS sessions of Jan-Mar 2024 up to the 28th: 21 + 20 (Presidents' Day) + 20
JOBS = ("securities_master", "ticker_history", "prices_daily", "corporate_actions",
        "adjustment_factors_daily", "fundamentals_quarterly_raw", "fundamentals_derived")


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated market (50 securities, Q1 2024)."""
    root = tmp_path_factory.mktemp("quality") / "market"
    generate_sample(root, securities=50, start=START, end=END, seed=3)
    return root


@pytest.fixture(scope="module")
def hydrated(pg_server: PgServer, template_db: str, sample_dir: Path) -> Iterator[str]:
    """The name of a database every job loaded the sample into (clone it to change it)."""
    name = pg_server.clone(template_db, prefix="q_")
    for job in JOBS:
        extra = {"start": START, "end": END} if job == "prices_daily" else {}
        path = None if job in ("adjustment_factors_daily", "fundamentals_derived") else sample_dir
        report = run_job(Settings(), pg_server.dsn(name),
                         RunRequest(job=job, path=path, **extra))  # type: ignore[arg-type]
        assert report.status == "succeeded", report.as_dict()
    yield name
    pg_server.drop(name)


def newest_filing(root: Path) -> str:
    """The latest `filed` date of any fact in the sample's companyfacts documents."""
    filed: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            filed.extend([node["filed"]] if "filed" in node else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in (root / "fundamentals/companyfacts").glob("*.json"):
        walk(json.loads(path.read_text()))
    return max(filed)


def quality_json(capsys: pytest.CaptureFixture[str], dsn: str,
                 *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = stocksdb(capsys, "--dsn", dsn, "quality", "--json", *args)
    assert not err or code, err
    report = json.loads(out)
    return code, {**report, "by": {d["dimension"]: d for d in report["dimensions"]}}


def test_quality_of_a_freshly_hydrated_sample_is_ok(
        capsys: pytest.CaptureFixture[str], pg_server: PgServer, hydrated: str,
        sample_dir: Path) -> None:
    """As of 2024-03-29 the window is the 21 sessions up to 03-28, all loaded, newest bar
    03-28: daily_bars scores 1; every filer filed within 120 days; macro is skipped; exit 0."""
    dsn = pg_server.dsn(hydrated)
    code, report = quality_json(capsys, dsn, "--as-of", "2024-03-29")
    assert code == 0, report
    bars, facts, macro = (report["by"][k] for k in ("daily_bars", "fundamentals", "macro"))
    assert (report["status"], report["score"]) == ("ok", 1.0), report
    assert (bars["status"], bars["score"], bars["lag"]) == ("ok", 1.0, 0), bars
    assert bars["metadata"]["anomalies"] == []
    assert {k: bars["metadata"][k] for k in ("expected", "observed", "latest", "window_start",
                                            "window_end", "missing_sessions")} == {
        "expected": 21, "observed": 21, "latest": "2024-03-28",
        # 21 sessions back from 03-28: the 20 of March (03-01 .. 03-28) and 02-29
        "window_start": "2024-02-29", "window_end": "2024-03-28", "missing_sessions": []}
    assert (facts["status"], facts["coverage"]) == ("ok", 1.0), facts
    assert facts["metadata"]["latest"] == newest_filing(sample_dir)
    assert macro["status"] == "skipped" and macro["score"] is None
    assert macro["messages"] == ["skipped: no job loads macro series yet "
                                 "(stocks_research.macro_observations holds 0 rows); not graded"]

    code, out, _ = stocksdb(capsys, "--dsn", dsn, "quality", "--as-of", "2024-03-29")
    assert code == 0
    assert out.splitlines()[0] == ("ingest quality as of 2024-03-29: ok (score 1.000; warn "
                                   "below 0.85, error below 0.6)"), out
    assert "      - skipped: no job loads macro series yet" in out


def test_a_warning_exits_0_unless_fail_on_warn(
        capsys: pytest.CaptureFixture[str], pg_server: PgServer, hydrated: str) -> None:
    """As of 2024-04-03 the window ends 04-02: 04-01 and 04-02 were never loaded (coverage
    19/21 = 0.905) and the newest bar 03-28 is 2 sessions behind (freshness 2/3): warn."""
    dsn = pg_server.dsn(hydrated)
    code, report = quality_json(capsys, dsn, "--as-of", "2024-04-03")
    bars = report["by"]["daily_bars"]
    assert (code, report["status"], bars["status"]) == (0, "warn", "warn"), report
    assert (bars["coverage"], bars["freshness"], bars["lag"]) == (0.9048, 0.6667, 2)
    assert bars["metadata"]["missing_sessions"] == ["2024-04-01", "2024-04-02"]
    assert bars["messages"] == [
        "coverage 19 of 21 sessions expected (90.5%)",
        "newest data 2024-03-28 is 2 sessions behind 2024-04-02 (tolerated: 1)"]
    code, _ = quality_json(capsys, dsn, "--as-of", "2024-04-03", "--fail-on", "warn")
    assert code == 2
    code, out, err = stocksdb(capsys, "--dsn", dsn, "quality", "--warn", "0.5", "--error", "0.7")
    assert (code, out) == (2, ""), out
    assert "expected 0 <= error <= warn <= 1" in err


def test_a_stalled_daily_bars_feed_is_an_error(
        capsys: pytest.CaptureFixture[str], pg_server: PgServer, hydrated: str,
        sample_dir: Path) -> None:
    """A prices_daily run over 04-01..04-03, whose day files the vendor never published,
    delivers no bars: daily_bars is stalled (its trailing median is the hydration run's bars
    per session), 18 of 21 sessions covered and 3 sessions behind (freshness 2/4): exit 2."""
    name = pg_server.clone(hydrated, prefix="q_")
    try:
        dsn = pg_server.dsn(name)
        stalled = run_job(Settings(), dsn, RunRequest(job="prices_daily", path=sample_dir,
                                                      start=date(2024, 4, 1),
                                                      end=date(2024, 4, 3)))
        assert (stalled.status, stalled.counts["sessions_missing"]) == ("partial", 3)
        code, report = quality_json(capsys, dsn, "--as-of", "2024-04-04")
        bars_per_session = count_rows(dsn, "stocks_research.prices_daily") / SESSIONS
    finally:
        pg_server.drop(name)
    bars = report["by"]["daily_bars"]
    assert (code, report["status"], bars["status"]) == (2, "error", "error"), report
    assert (bars["coverage"], bars["freshness"], bars["score"]) == (0.8571, 0.5, 0.5)
    [anomaly] = bars["metadata"]["anomalies"]
    assert (anomaly["kind"], anomaly["severity"], anomaly["metrics"]["run_id"]) == (
        "stalled", "error", stalled.run_id)
    assert anomaly["metrics"]["trailing_median"] == pytest.approx(bars_per_session)
    assert report["by"]["fundamentals"]["status"] == "ok"
    assert report["by"]["fundamentals"]["metadata"]["anomalies"] == []
