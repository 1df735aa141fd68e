"""`stocksdb report` on a hydrated sample (50 securities, Q1 2024): every section present, and
the numbers behind the charts equal what the sample's files and manifest say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from stocksdb.db.connection import connect, database_name
from stocksdb.report.page import write_report
from tests.fix_cli import stocksdb
from tests.fix_pg import PgServer
from tests.fix_report import (
    ReportMarket,
    expected_bars_per_session,
    expected_listed_per_session,
    read_data,
    read_page,
)
from tests.fix_sample import figi_on, read_csv, read_day, sessions_of

SECTIONS = ("coverage", "rejections", "gates", "runs", "symbols", "findings")


def run_report(capsys: pytest.CaptureFixture[str], dsn: str, out: Path,
               *args: str) -> tuple[int, str, str]:
    return stocksdb(capsys, "--dsn", dsn, "report", "--out", str(out), *args)


def test_coverage_data_counts_every_bar_and_listing_of_the_sample(
        capsys: pytest.CaptureFixture[str], report_market: ReportMarket, tmp_path: Path) -> None:
    """coverage.csv has the 61 sessions of Q1 2024 up to 03-28; each session's bars are its day
    file's known tickers less the refused rows, 2,857 in all (2,862 rows less 2 unknown
    tickers, 1 duplicate, 1 high-below-low, 1 wrong window_start); listed counts follow
    securities.csv; the halted day is short by its one halted security."""
    code, out, err = run_report(capsys, report_market.dsn, tmp_path)
    assert code == 0, err
    assert out.strip() == str(tmp_path / "index.html")
    rows = read_data(tmp_path, "coverage")
    assert [r["trade_date"] for r in rows] == sessions_of(report_market.root)
    assert len(rows) == report_market.manifest.counts["sessions"] == 61
    loaded = {r["trade_date"]: int(r["loaded"]) for r in rows}
    assert loaded == expected_bars_per_session(report_market)
    assert sum(loaded.values()) == report_market.manifest.counts["rows"] - 5 == 2857
    listed = {r["trade_date"]: int(r["listed"]) for r in rows}
    assert listed == expected_listed_per_session(report_market)
    halted = report_market.manifest.cases["halted"][0]["date"]
    assert listed[halted] - loaded[halted] == 1, (halted, listed[halted], loaded[halted])


def test_monthly_coverage_adds_up_to_the_sessions_by_exchange(
        report_market: ReportMarket, default_report: Path) -> None:
    """coverage_by_month.csv: three months x the sample's exchanges; each cell's loaded bars
    are the month's day-file rows of securities on that exchange (securities.csv)."""
    securities = read_csv(report_market.root / "reference" / "securities.csv")
    exchange = {r["composite_figi"]: r["primary_exchange"] for r in securities}
    refused = {(c["date"], c["ticker"]) for c in report_market.manifest.cases["bad_bars"]
               + report_market.manifest.cases["wrong_window_start"]}
    want: Counter[tuple[str, str]] = Counter()
    for day in sessions_of(report_market.root):
        for ticker in {r["ticker"] for r in read_day(report_market.root, day)}:
            figi = figi_on(report_market.root, ticker, day)
            if figi is not None and (day, ticker) not in refused:
                want[(day[:7] + "-01", exchange[figi])] += 1
    got = {(r["month"], r["exchange"]): int(r["loaded"])
           for r in read_data(default_report, "coverage_by_month")}
    assert got == dict(want)
    assert {m for m, _ in got} == {"2024-01-01", "2024-02-01", "2024-03-01"}


def test_page_has_every_section_with_its_charts(default_report: Path) -> None:
    """Six sections in order; coverage has its two charts, rejections, gates and runs one each
    (runs: the timeline), symbols three price charts; no findings is said in words; every
    image is an inline PNG."""
    page = read_page(default_report / "index.html")
    assert tuple(page.text) == SECTIONS
    counts = {key: len(images) for key, images in page.images.items()}
    assert counts["coverage"] == 2 and counts["rejections"] == 1, counts
    assert counts["gates"] == 1 and counts["runs"] == 1, counts
    assert sum(1 for alt, _ in page.images["symbols"] if "raw vs adjusted" in alt) == 3
    assert counts["findings"] == 0 and "No quality findings." in page.text["findings"]
    srcs = [src for images in page.images.values() for _, src in images]
    assert all(src.startswith("data:image/png;base64,iVBOR") for src in srcs), srcs[:1]
    assert "7 succeeded" in page.text["runs"], page.text["runs"][:300]


def test_rejections_are_the_manifest_cases_by_reason_and_ticker(
        report_market: ReportMarket, default_report: Path) -> None:
    """One rejected row per manifest case, on its day, under its reason; the top tickers of
    unknown_ticker are the two unknown tickers."""
    cases = report_market.manifest.cases
    want = Counter({(c["date"], "unknown_ticker") for c in cases["unknown_tickers"]})
    want.update([(cases["duplicate_rows"][0]["date"], "duplicate_row"),
                 (cases["bad_bars"][0]["date"], "high_below_low"),
                 (cases["wrong_window_start"][0]["date"], "window_start_mismatch")])
    got = Counter({(r["day"], r["reason_code"]): int(r["n"])
                   for r in read_data(default_report, "rejections")})
    assert got == want
    top = read_data(default_report, "rejections_top_tickers")
    assert sorted(r["ticker"] for r in top if r["reason_code"] == "unknown_ticker") == \
        sorted(c["ticker"] for c in cases["unknown_tickers"])


def test_default_symbols_are_the_three_most_traded(report_market: ReportMarket,
                                                   tmp_path: Path) -> None:
    """Without --symbols the report charts the three securities with the most close x volume
    over the day files' loaded rows, most traded first."""
    cases = report_market.manifest.cases
    refused = {(c["date"], c["ticker"]) for c in cases["bad_bars"] + cases["wrong_window_start"]}
    traded: dict[str, float] = {}
    for day in sessions_of(report_market.root):
        seen = set()
        for row in read_day(report_market.root, day):
            figi = figi_on(report_market.root, row["ticker"], day)
            if figi and (day, row["ticker"]) not in refused and row["ticker"] not in seen:
                seen.add(row["ticker"])
                traded[figi] = traded.get(figi, 0.0) + float(row["close"]) * float(row["volume"])
    with connect(report_market.dsn) as conn:
        result = write_report(conn, tmp_path)
        figis = dict(conn.execute("SELECT security_id, composite_figi FROM "
                                  "stocks_research.securities").fetchall())
    assert [figis[sid] for sid in result.symbols.values()] == \
        sorted(traded, key=traded.__getitem__, reverse=True)[:3]


def test_symbols_show_split_adjustment_and_revenue_when_filed(
        capsys: pytest.CaptureFixture[str], report_market: ReportMarket, tmp_path: Path) -> None:
    """--symbols UOW (a 1:4 split on 2024-02-01, no dividend, no filings) and the January
    fiscal-year filer: UOW's adjusted close is a quarter of the raw close before the ex-date
    and equal from it; the filer's quarterly revenue is charted with YoY."""
    cases = report_market.manifest.cases
    split = cases["forward_split"]
    filer = next(r["ticker"] for r in read_csv(report_market.root / "reference" /
                                               "ticker_history.csv")
                 if r["composite_figi"] == cases["fiscal_year_january"]["composite_figi"])
    dividends = json.loads((report_market.root / "corporate_actions" / "dividends.json")
                           .read_text())["results"]
    assert split["ticker"] not in {d["ticker"] for d in dividends}   # precondition: splits only
    code, _, err = run_report(capsys, report_market.dsn, tmp_path, "--symbols",
                              f"{split['ticker'].lower()}, {filer}")
    assert code == 0, err
    key = f"symbol_{split['ticker'].lower()}"
    actions = read_data(tmp_path, f"{key}_actions")
    assert [(a["ex_date"], a["action_type"], float(a["split_from"]), float(a["split_to"]))
            for a in actions] == [(split["execution_date"], "split", 1.0, 4.0)]
    ratios = {r["trade_date"] < split["execution_date"]: round(float(r["adjusted"])
                                                               / float(r["close"]), 12)
              for r in read_data(tmp_path, f"{key}_closes")}
    assert ratios == {True: 0.25, False: 1.0}
    revenue = read_data(tmp_path, f"symbol_{filer.lower()}_revenue")
    assert revenue and any(r["revenue_yoy"] for r in revenue), revenue[:3]
    page = read_page(tmp_path / "index.html")
    assert f"No fundamentals for {split['ticker']}." in page.text["symbols"]
    assert [alt for alt, _ in page.images["symbols"]] == [
        f"{split['ticker']} raw vs adjusted close", f"{filer} raw vs adjusted close",
        f"{filer} quarterly revenue and YoY"]


def test_runs_and_findings_sections_show_what_was_recorded(
        capsys: pytest.CaptureFixture[str], pg_server: PgServer, report_market: ReportMarket,
        tmp_path: Path) -> None:
    """An abandoned and an interrupted run appear in the runs data and table; a stored false
    tick fills the findings section with a chart, its detail and findings.csv."""
    name = pg_server.clone(database_name(report_market.dsn), prefix="repf_")
    dsn = pg_server.dsn(name)
    try:
        with connect(dsn, autocommit=True) as conn:
            for status in ("abandoned", "interrupted"):
                conn.execute("INSERT INTO ingestion.job_runs (job, status, finished_at) "
                             "VALUES ('prices_daily', %s, clock_timestamp())", (status,))
            conn.execute("INSERT INTO ingestion.quality_findings (check_name, reason_code, "
                         "severity, subject, detail) VALUES ('prices.false_ticks', "
                         "'false_tick', 'warn', '{\"ticker\": \"ZZZ\"}', "
                         "'ZZZ 2024-02-02: close 10x its neighbours')")
        assert run_report(capsys, dsn, tmp_path)[0] == 0
    finally:
        pg_server.drop(name)
    statuses = Counter(r["status"] for r in read_data(tmp_path, "runs"))
    assert statuses == {"succeeded": 7, "abandoned": 1, "interrupted": 1}
    page = read_page(tmp_path / "index.html")
    assert "abandoned" in page.text["runs"] and "interrupted" in page.text["runs"]
    assert [f["detail"] for f in read_data(tmp_path, "findings")] == [
        "ZZZ 2024-02-02: close 10x its neighbours"]
    assert "ZZZ 2024-02-02: close 10x its neighbours" in page.text["findings"]
    assert len(page.images["findings"]) == 1


def test_empty_database_gives_a_page_of_sentences(
        capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    """A migrated, empty warehouse: exit 0, every section says it has nothing, no image."""
    code, _, err = run_report(capsys, db, tmp_path / "r")
    assert code == 0, err
    page = read_page(tmp_path / "r" / "index.html")
    assert tuple(page.text) == SECTIONS
    assert not any(page.images.values()), page.images
    assert page.text["coverage"].endswith("No bars loaded (prices_daily is empty).")
    for key, words in (("rejections", "No rejected rows."), ("gates", "No gate results"),
                       ("runs", "No job runs"), ("symbols", "No securities with bars"),
                       ("findings", "No quality findings.")):
        assert words in page.text[key], (key, page.text[key])


@pytest.mark.parametrize(("symbols", "said"), [("UOW,NOPE", "['NOPE'] named no security"),
                                               (" , ", "names no symbol")])
def test_bad_symbols_are_a_usage_error(capsys: pytest.CaptureFixture[str],
                                       report_market: ReportMarket, tmp_path: Path,
                                       symbols: str, said: str) -> None:
    """An unknown symbol or an empty list: exit 2, one sentence, no traceback, no page."""
    code, _, err = run_report(capsys, report_market.dsn, tmp_path / "r", "--symbols", symbols)
    assert code == 2 and said in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "r" / "index.html").exists()


def test_open_hands_the_page_to_browser_and_is_quiet_without_one(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        report_market: ReportMarket, tmp_path: Path) -> None:
    """--open with $BROWSER runs it on the page's file:// URL; with no display and no
    $BROWSER it opens nothing, says so on stderr and exits 0."""
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = run_report(capsys, report_market.dsn, tmp_path / "a", "--open")
    assert code == 0 and "no web browser" in err, err
    seen = tmp_path / "seen.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {seen}\n')
    browser.chmod(0o755)
    env = {**os.environ, "BROWSER": str(browser), "STOCKSDB_DSN": report_market.dsn}
    done = subprocess.run([sys.executable, "-m", "stocksdb", "report", "--out",
                           str(tmp_path / "b"), "--open"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert seen.read_text().strip() == (tmp_path / "b" / "index.html").resolve().as_uri()


def test_a_session_without_bars_shows_as_zero(
        capsys: pytest.CaptureFixture[str], pg_server: PgServer, report_market: ReportMarket,
        tmp_path: Path) -> None:
    """Bars of 2024-02-14 deleted: the session stays in coverage.csv with 0 loaded and its
    listed count, and the page lists it among the short sessions."""
    name = pg_server.clone(database_name(report_market.dsn), prefix="repz_")
    dsn = pg_server.dsn(name)
    try:
        with connect(dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM stocks_research.prices_daily WHERE trade_date = "
                         "'2024-02-14'")
        assert run_report(capsys, dsn, tmp_path)[0] == 0
    finally:
        pg_server.drop(name)
    rows = {r["trade_date"]: r for r in read_data(tmp_path, "coverage")}
    assert len(rows) == 61
    assert rows["2024-02-14"]["loaded"] == "0"
    assert int(rows["2024-02-14"]["listed"]) == \
        expected_listed_per_session(report_market)["2024-02-14"]
    assert "2024-02-14 0 " in read_page(tmp_path / "index.html").text["coverage"]


def test_report_before_migrate_says_to_migrate(capsys: pytest.CaptureFixture[str],
                                               empty_db: str, tmp_path: Path) -> None:
    """A database without the schema: exit 1, one line naming `stocksdb db migrate`."""
    code, _, err = run_report(capsys, empty_db, tmp_path / "r")
    assert code == 1 and "stocksdb db migrate" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
