"""`stocksdb reconcile --vendor yahoo` over a hydrated sample, against a loopback Yahoo whose
charts are built from the sample's own day files, split-adjusted the Yahoo way (OHLC divided by
the ratios of the splits going ex after the bar) with its split and dividend events.

UOW splits 1-for-4 on 2024-02-01 and XCR pays 0.40 on 2024-01-10 (the sample's manifest)."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample import generate_sample
from tests.fix_cli import stocksdb
from tests.fix_pg import PgServer

NY = ZoneInfo("America/New_York")
START, END = date(2024, 1, 2), date(2024, 3, 28)
JOBS = ("securities_master", "ticker_history", "prices_daily", "corporate_actions")
SYMBOLS = ("UOW", "XCR")
CHART = "/v8/finance/chart/"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated market (50 securities, Q1 2024)."""
    root = tmp_path_factory.mktemp("reconcile") / "market"
    generate_sample(root, securities=50, start=START, end=END, seed=3)
    return root


@pytest.fixture(scope="module")
def hydrated(pg_server: PgServer, template_db: str, sample_dir: Path) -> Iterator[str]:
    """A database holding the sample's securities, tickers, bars and corporate actions."""
    name = pg_server.clone(template_db, prefix="r_")
    for job in JOBS:
        extra = {"start": START, "end": END} if job == "prices_daily" else {}
        report = run_job(Settings(), pg_server.dsn(name),
                         RunRequest(job=job, path=sample_dir, **extra))  # type: ignore[arg-type]
        assert report.status == "succeeded", report.as_dict()
    yield name
    pg_server.drop(name)


def _open_at(day: date) -> int:
    """Epoch seconds of 09:30 New York on `day`, how Yahoo stamps a daily bar."""
    return int(datetime.combine(day, time(9, 30), NY).timestamp())


def sample_bars(root: Path, ticker: str) -> list[dict[str, Any]]:
    """The ticker's rows of every day file, with their New York date, in date order."""
    rows = []
    for path in sorted((root / "flatfiles").rglob("*.csv.gz")):
        with gzip.open(path, "rt") as fh:
            for row in csv.DictReader(fh):
                if row["ticker"] == ticker:
                    day = datetime.fromtimestamp(int(row["window_start"]) / 1e9, NY).date()
                    rows.append({**row, "day": day})
    return sorted(rows, key=lambda r: r["day"])


def build_chart(root: Path, ticker: str, bump: dict[date, float] | None = None
                ) -> dict[str, Any]:
    """A Yahoo chart v8 answer from the sample's files: prices split-adjusted, volumes scaled
    the other way, the ticker's splits and dividends as events; `bump` multiplies a close."""
    actions = root / "corporate_actions"
    splits = [s for s in json.loads((actions / "splits.json").read_text())["results"]
              if s["ticker"] == ticker]
    dividends = [d for d in json.loads((actions / "dividends.json").read_text())["results"]
                 if d["ticker"] == ticker]
    bars = sample_bars(root, ticker)
    factor = [1.0] * len(bars)
    for s in splits:
        ex = date.fromisoformat(s["execution_date"])
        factor = [f * (s["split_to"] / s["split_from"] if b["day"] < ex else 1.0)
                  for f, b in zip(factor, bars, strict=True)]
    quote = {name: [float(b[name]) / f for b, f in zip(bars, factor, strict=True)]
             for name in ("open", "high", "low", "close")}
    quote["volume"] = [int(float(b["volume"]) * f) for b, f in zip(bars, factor, strict=True)]
    for i, b in enumerate(bars):
        quote["close"][i] *= (bump or {}).get(b["day"], 1.0)
    events = {
        "splits": {str(_open_at(date.fromisoformat(s["execution_date"]))): {
            "date": _open_at(date.fromisoformat(s["execution_date"])),
            "numerator": s["split_to"], "denominator": s["split_from"]} for s in splits},
        "dividends": {str(_open_at(date.fromisoformat(d["ex_dividend_date"]))): {
            "date": _open_at(date.fromisoformat(d["ex_dividend_date"])),
            "amount": d["cash_amount"]} for d in dividends}}
    return {"chart": {"error": None, "result": [{
        "meta": {"symbol": ticker, "exchangeTimezoneName": "America/New_York",
                 "instrumentType": "EQUITY"},
        "timestamp": [_open_at(b["day"]) for b in bars], "events": events,
        "indicators": {"quote": [quote]}}]}}


def serve(httpserver: HTTPServer, root: Path, bump: dict[date, float] | None = None) -> None:
    httpserver.clear()
    for ticker in SYMBOLS:
        httpserver.expect_request(CHART + ticker).respond_with_json(
            build_chart(root, ticker, bump if ticker == "UOW" else None))


def reconcile(capsys: pytest.CaptureFixture[str], dsn: str, cache: Path,
              *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = stocksdb(capsys, "--dsn", dsn, "reconcile", "--vendor", "yahoo",
                            "--symbols", ",".join(SYMBOLS), "--start", "2024-01-02",
                            "--end", "2024-03-28", "--cache-dir", str(cache), "--json", *args)
    return code, json.loads(out)


@pytest.fixture
def yahoo(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    monkeypatch.setenv("STOCKSDB_YAHOO_URL", httpserver.url_for("/").rstrip("/"))
    return httpserver


def stored_findings(dsn: str, run_id: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    with connect(dsn) as conn:
        return [(r[0], r[1], r[2], r[3]) for r in conn.execute(
            "SELECT check_name, reason_code, severity, subject FROM ingestion.quality_findings"
            " WHERE run_id = %s ORDER BY finding_id", (run_id,))]


def test_reconcile_with_a_yahoo_built_from_the_sample(
        capsys: pytest.CaptureFixture[str], pg_server: PgServer, hydrated: str,
        sample_dir: Path, yahoo: HTTPServer, tmp_path: Path) -> None:
    """The same bars on Yahoo's basis: zero drift on every session of both symbols (UOW's
    split and XCR's dividend agree too), exit 0; then a cached rerun does not call Yahoo."""
    dsn = pg_server.dsn(hydrated)
    serve(yahoo, sample_dir)
    code, report = reconcile(capsys, dsn, tmp_path / "cache")
    assert (code, report["status"], report["price_basis"]) == (0, "ok", "split_adjusted")
    assert report["rows"] == []
    drift = {f["symbol"]: f["metrics"] for f in report["findings"]}
    # 61 XNYS sessions 2024-01-02 .. 2024-03-28, all traded by both symbols
    assert {s: (m["shared"], m["max_drift"]) for s, m in drift.items()} == {
        "UOW": (61, 0.0), "XCR": (61, 0.0)}, report["findings"]
    assert stored_findings(dsn, report["run_id"]) == []
    with connect(dsn) as conn:
        row = conn.execute("SELECT job, status, params->>'vendor' FROM ingestion.job_runs "
                           "WHERE run_id = %s", (report["run_id"],)).fetchone()
    assert row == ("reconcile", "succeeded", "yahoo")
    calls = len(yahoo.log)
    assert reconcile(capsys, dsn, tmp_path / "cache")[0] == 0
    assert len(yahoo.log) == calls        # the pipeline's cache answered


def test_a_perturbed_close_is_reported_on_its_day(
        capsys: pytest.CaptureFixture[str], pg_server: PgServer, hydrated: str,
        sample_dir: Path, yahoo: HTTPServer, tmp_path: Path) -> None:
    """UOW's close of 2024-03-05 5 % higher on Yahoo: one error row naming that day with both
    closes, stored as `reconcile.drift` / `close_drift` / `fail`; exit 2."""
    dsn = pg_server.dsn(hydrated)
    day = date(2024, 3, 5)
    ours = float(next(b for b in sample_bars(sample_dir, "UOW") if b["day"] == day)["close"])
    serve(yahoo, sample_dir, bump={day: 1.05})
    code, report = reconcile(capsys, dsn, tmp_path / "cache", "--refresh")
    assert (code, report["status"]) == (2, "error")
    assert [(r["symbol"], r["session"], r["severity"]) for r in report["rows"]] == [
        ("UOW", "2024-03-05", "error")]
    (row,) = report["rows"]
    assert row["ours"] == pytest.approx(ours)      # after the split: raw = split-adjusted
    assert row["theirs"] == pytest.approx(ours * 1.05)
    assert row["relative_difference"] == pytest.approx(0.05)
    (stored,) = stored_findings(dsn, report["run_id"])
    assert stored[:3] == ("reconcile.drift", "close_drift", "fail")
    assert (stored[3]["symbol"], stored[3]["trade_date"]) == ("UOW", "2024-03-05")
    code, out, _ = stocksdb(capsys, "--dsn", dsn, "reconcile", "--vendor", "yahoo",
                            "--symbols", "UOW", "--start", "2024-01-02", "--end", "2024-03-28",
                            "--cache-dir", str(tmp_path / "cache"))
    assert code == 2
    assert "UOW      2024-03-05" in out and "+5.00%" in out, out


def test_symbols_naming_no_security_exit_2_before_any_vendor_call(
        capsys: pytest.CaptureFixture[str], pg_server: PgServer, hydrated: str,
        sample_dir: Path, yahoo: HTTPServer, tmp_path: Path) -> None:
    """--symbols NOPE,ZZZZ (tickers the sample never had) exits 2 naming both and --symbols,
    and Yahoo is never called."""
    serve(yahoo, sample_dir)
    code, _, err = stocksdb(capsys, "--dsn", pg_server.dsn(hydrated), "reconcile", "--vendor",
                            "yahoo", "--symbols", "NOPE,zzzz", "--start", "2024-01-02",
                            "--end", "2024-03-28", "--cache-dir", str(tmp_path / "cache"))
    assert code == 2, err
    assert "--symbols" in err and "NOPE" in err and "ZZZZ" in err, err
    assert "Traceback" not in err and len(yahoo.log) == 0


def test_symbols_partly_unknown_warn_and_reconcile_the_rest(
        capsys: pytest.CaptureFixture[str], pg_server: PgServer, hydrated: str,
        sample_dir: Path, yahoo: HTTPServer, tmp_path: Path) -> None:
    """--symbols UOW,NOPE reconciles UOW alone (61 shared sessions, no drift) and warns that
    NOPE named no security; exit 0."""
    serve(yahoo, sample_dir)
    code, out, err = stocksdb(capsys, "--dsn", pg_server.dsn(hydrated), "reconcile",
                              "--vendor", "yahoo", "--symbols", "UOW,NOPE", "--start",
                              "2024-01-02", "--end", "2024-03-28", "--cache-dir",
                              str(tmp_path / "cache"), "--json")
    assert code == 0, err
    warning = next((line for line in err.splitlines() if "NOPE" in line), "")
    assert "WARNING" in warning and "skipped" in warning, err
    report = json.loads(out)
    drift = {f["symbol"]: f["metrics"]["shared"] for f in report["findings"]
             if "shared" in f.get("metrics", {})}
    assert drift == {"UOW": 61}, report["findings"]
