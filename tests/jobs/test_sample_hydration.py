"""The three jobs over a generated sample market: every expected bar, every hard case."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from stocksdb.config import Settings
from stocksdb.db.checksum import database_checksums
from stocksdb.db.connection import connect
from stocksdb.db.queries import resolve_security
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample import generate_sample
from tests.fix_pg import PgServer

NY = ZoneInfo("America/New_York")
START, END = date(2024, 1, 2), date(2024, 4, 30)
JOBS = ("securities_master", "ticker_history", "prices_daily", "corporate_actions",
        "adjustment_factors_daily", "fundamentals_quarterly_raw", "fundamentals_derived")


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated market with all the hard cases (60 securities, 4 months)."""
    root = tmp_path_factory.mktemp("sample") / "market"
    generate_sample(root, securities=60, start=START, end=END, seed=3)
    return root


def run_all(dsn: str, root: Path) -> dict[str, Any]:
    reports = {}
    for job in JOBS:
        extra = {"start": START, "end": END} if job == "prices_daily" else {}
        path = None if job in ("adjustment_factors_daily", "fundamentals_derived") else root
        report = run_job(Settings(), dsn, RunRequest(job=job, path=path, **extra))  # type: ignore[arg-type]
        assert report.status == "succeeded", report.as_dict()
        reports[job] = report
    return reports


@pytest.fixture(scope="module")
def loaded(pg_server: PgServer, template_db: str, sample_dir: Path) -> Iterator[str]:
    """A database with the sample loaded by the three jobs (shared by this module)."""
    name = pg_server.clone(template_db, prefix="s_")
    run_all(pg_server.dsn(name), sample_dir)
    yield pg_server.dsn(name)
    pg_server.drop(name)


def manifest(root: Path) -> dict[str, Any]:
    return dict(json.loads((root / "manifest.json").read_text())["cases"])


def expected_bars(root: Path) -> set[tuple[str, str, float]]:
    """(figi, date, close) of every valid row, derived directly from the files by plain rules."""
    with (root / "reference/ticker_history.csv").open() as fh:
        intervals = list(csv.DictReader(fh))
    out: set[tuple[str, str, float]] = set()
    for path in sorted((root / "flatfiles").rglob("*.csv.gz")):
        day = path.name[:10]
        with gzip.open(path, "rt") as fh:
            rows = list(csv.DictReader(fh))
        seen: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            ws = datetime.fromtimestamp(int(row["window_start"]) / 1e9, tz=NY).date().isoformat()
            if ws == day:
                seen.setdefault(row["ticker"], []).append(row)
        for ticker, copies in seen.items():
            if any(c != copies[0] for c in copies):
                continue
            r = {k: float(v) for k, v in copies[0].items() if k not in ("ticker",) and v}
            if not (r["low"] <= min(r["open"], r["close"]) <= max(r["open"], r["close"])
                    <= r["high"] and r["low"] > 0 and r["volume"] >= 0):
                continue
            figi = [i["composite_figi"] for i in intervals if i["ticker"] == ticker
                    and i["valid_from"] <= day and (not i["valid_to"] or day < i["valid_to"])]
            if figi:
                out.add((figi[0], day, r["close"]))
    return out


def test_ohlcv_daily_holds_every_expected_bar(loaded: str, sample_dir: Path) -> None:
    """Reading ohlcv_daily for the full universe finds exactly the valid bars of the files."""
    with connect(loaded) as c:
        got = {(f, d.isoformat(), float(cl)) for f, d, cl in c.execute(
            "SELECT s.composite_figi, o.time, o.close FROM ohlcv_daily o "
            "JOIN securities s ON s.security_id = o.symbol_id")}
    expected = expected_bars(sample_dir)
    assert len(expected) > 4000
    assert got == expected, (sorted(expected - got)[:5], sorted(got - expected)[:5])


def test_every_planted_defect_is_quarantined_with_its_reason(loaded: str,
                                                             sample_dir: Path) -> None:
    """Unknown tickers, the duplicate, the bad bar and the wrong window_start are all kept."""
    cases = manifest(sample_dir)
    want = {("unknown_ticker", c["ticker"], c["date"]) for c in cases["unknown_tickers"]}
    want |= {("duplicate_row", c["ticker"], c["date"]) for c in cases["duplicate_rows"]}
    want |= {(c["problem"], c["ticker"], c["date"]) for c in cases["bad_bars"]}
    want |= {("window_start_mismatch", c["ticker"], c["date"])
             for c in cases["wrong_window_start"]}
    with connect(loaded) as c:
        got = {(r, t, d.isoformat()) for r, t, d in c.execute(
            "SELECT reason_code, ticker, trade_date FROM ingestion.rejected_rows "
            "WHERE job = 'prices_daily'")}
    assert got == want


def test_reused_ticker_and_rename_resolve_point_in_time(loaded: str, sample_dir: Path) -> None:
    """The reused ticker names two securities around its gap; the renamed one keeps its id."""
    cases = manifest(sample_dir)
    reused, renamed = cases["reused_ticker"], cases["renamed"]
    with connect(loaded) as c:
        ids = dict(c.execute("SELECT composite_figi, security_id FROM securities").fetchall())
        before = date.fromisoformat(reused["first_valid_to"]).toordinal() - 1
        assert resolve_security(c, reused["ticker"], date.fromordinal(before)) == \
            ids[reused["first_figi"]]
        assert resolve_security(c, reused["ticker"],
                                date.fromisoformat(reused["second_valid_from"])) == \
            ids[reused["second_figi"]]
        change = date.fromisoformat(renamed["change_date"])
        symbols = c.execute("SELECT DISTINCT symbol FROM ohlcv_daily WHERE symbol_id = %s",
                            (ids[renamed["composite_figi"]],)).fetchall()
        assert resolve_security(c, renamed["new_ticker"], change) == \
            ids[renamed["composite_figi"]]
    assert {s for (s,) in symbols} == {renamed["old_ticker"], renamed["new_ticker"]}


def test_halted_day_is_a_gap(loaded: str, sample_dir: Path) -> None:
    """A halted security has no bar on its halted day but has bars around it."""
    halt = manifest(sample_dir)["halted"][0]
    with connect(loaded) as c:
        days = {d.isoformat() for (d,) in c.execute(
            "SELECT p.trade_date FROM prices_daily p JOIN securities s USING (security_id) "
            "WHERE s.composite_figi = %s", (halt["composite_figi"],))}
    assert halt["date"] not in days and len(days) > 20


def test_rerunning_all_jobs_keeps_every_checksum(pg_server: PgServer, template_db: str,
                                                 sample_dir: Path) -> None:
    """Running the three jobs twice over the sample leaves the database digest unchanged."""
    name = pg_server.clone(template_db)
    try:
        run_all(pg_server.dsn(name), sample_dir)
        with connect(pg_server.dsn(name)) as c:
            before = database_checksums(c)
        reports = run_all(pg_server.dsn(name), sample_dir)
        with connect(pg_server.dsn(name)) as c:
            assert database_checksums(c) == before
        assert reports["prices_daily"].counts["rows_written"] == 0
        assert reports["adjustment_factors_daily"].counts["unchanged"] > 4000
    finally:
        pg_server.drop(name)


def test_sample_events_are_canonical_and_adjusted(loaded: str, sample_dir: Path) -> None:
    """The manifest's splits, special dividend and same-day split+dividend are stored as such,
    and a split's earlier bars are scaled by its ratio."""
    cases = manifest(sample_dir)
    fwd, rev = cases["forward_split"], cases["reverse_split"]
    with connect(loaded) as c:
        kinds = dict(((f, t, d.isoformat()), k) for f, t, d, k in c.execute(
            "SELECT s.composite_figi, c.action_type, c.ex_date, c.action_type "
            "FROM corporate_actions c JOIN securities s USING (security_id)"))
        factor = c.execute(
            "SELECT min(split_factor), max(split_factor) FROM adjustment_factors_daily a "
            "JOIN securities s USING (security_id) WHERE s.composite_figi = %s "
            "AND a.trade_date < %s AND method = 'crsp'",
            (fwd["composite_figi"], fwd["execution_date"])).fetchone()
    assert (fwd["composite_figi"], "split", fwd["execution_date"]) in kinds
    assert (rev["composite_figi"], "reverse_split", rev["execution_date"]) in kinds
    special = cases["special_dividend"]
    assert (special["composite_figi"], "special_dividend", special["ex_dividend_date"]) in kinds
    same = cases["split_and_dividend_same_day"]
    assert (same["composite_figi"], "cash_dividend", same["date"]) in kinds
    assert (same["composite_figi"], "split", same["execution_date"]) in kinds
    ratio = fwd["split_from"] / fwd["split_to"]
    assert factor == (ratio, ratio)


def test_restatement_is_read_point_in_time(loaded: str, sample_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The sample's restated quarter reads the original value before the restatement was
    filed and the restated one after, through `stocksdb fundamentals --as-of`."""
    from stocksdb.cli import main

    case = manifest(sample_dir)["restatement"]
    with connect(loaded) as c:
        row = c.execute("SELECT th.ticker FROM securities s JOIN ticker_history th "
                        "USING (security_id) WHERE s.cik = %s ORDER BY th.valid_from DESC "
                        "LIMIT 1", (case["cik"],)).fetchone()
    assert row is not None
    answers = {}
    for as_of in (case["original_filed"], case["restated_filed"]):
        code = main(["--dsn", loaded, "fundamentals", row[0], "--as-of", as_of,
                     "--format", "json"])
        rows = json.loads(capsys.readouterr().out)
        assert code == 0
        answers[as_of] = [int(float(r["revenue"])) for r in rows
                          if r["period_end"].startswith(case["end"])]
    assert answers == {case["original_filed"]: [case["original_val"]],
                       case["restated_filed"]: [case["restated_val"]]}
