"""Stored bars survive bad republished files (issue 9, defects 1 and 4), on a generated sample.

Each test loads the sample, republishes one day file in a damaged form, re-runs the loader and
checks that the date's stored bars and the database checksum are unchanged, that the failure is
named and that the CLI exits 1.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.jobs.base import JobReport
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample import generate_sample
from tests.fix_cli import stocksdb
from tests.fix_data import load_settings
from tests.fix_pg import PgServer, checksums
from tests.fix_sample import day_path

pytestmark = pytest.mark.usefixtures("both_load_paths")

START, END = date(2024, 1, 2), date(2024, 3, 15)
DAY = "2024-03-11"
DAY_D = date(2024, 3, 11)


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-security sample over two weeks of March 2024."""
    root = tmp_path_factory.mktemp("lost") / "market"
    generate_sample(root, securities=60, start=START, end=END, seed=11)
    return root


@pytest.fixture
def market(sample_root: Path, tmp_path: Path) -> Path:
    """A private copy of the sample (tests republish its files)."""
    import shutil

    return Path(shutil.copytree(sample_root, tmp_path / "market"))


@pytest.fixture(scope="module")
def loaded_template(pg_server: PgServer, template_db: str, sample_root: Path) -> Iterator[str]:
    """A database holding the sample's reference data and prices (cloned per test)."""
    name = pg_server.clone(template_db, prefix="lt_")
    dsn = pg_server.dsn(name)
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), dsn, RunRequest(job=job, path=sample_root))
    report = prices(dsn, sample_root, START, END)
    assert not report.extra["failed_dates"], report.as_dict()
    yield name
    pg_server.drop(name)


@pytest.fixture
def loaded(pg_server: PgServer, loaded_template: str) -> Iterator[str]:
    """A private clone of the loaded sample database."""
    name = pg_server.clone(loaded_template, prefix="l_")
    yield pg_server.dsn(name)
    pg_server.drop(name)


def prices(dsn: str, root: Path, start: date = DAY_D, end: date = DAY_D,
           **kw: Any) -> JobReport:
    """Run the loader over start..end (by default only DAY, the date under study)."""
    return run_job(load_settings(), dsn, RunRequest(job="prices_daily", path=root, start=start,
                                               end=end, **kw))


def day_bars(dsn: str, day: str) -> list[tuple[object, ...]]:
    with connect(dsn) as c:
        return c.execute("SELECT security_id, open, high, low, close, volume, transactions, "
                         "source, run_id FROM stocks_research.prices_daily "
                         "WHERE trade_date = %s ORDER BY 1", (day,)).fetchall()


def lines(root: Path, day: str) -> list[str]:
    with gzip.open(day_path(root, day), "rt") as fh:
        return fh.read().splitlines()


def clean_lines(dsn: str, text: list[str]) -> list[int]:
    """Indices of data lines whose ticker has a stored bar on DAY and occurs once in the file."""
    with connect(dsn) as c:
        stored = {r[0] for r in c.execute("SELECT symbol FROM ohlcv_daily WHERE time = %s",
                                          (DAY,))}
    tickers = [t.split(",")[0] for t in text]
    return [i for i, t in enumerate(tickers) if i > 0 and t in stored and tickers.count(t) == 1]


def republish(root: Path, day: str, text_lines: list[str]) -> None:
    day_path(root, day).write_bytes(
        gzip.compress(("\n".join(text_lines) + "\n").encode(), mtime=0))


def assert_kept(dsn: str, before_bars: list[tuple[object, ...]], before_sums: object,
                report: JobReport, why: str) -> None:
    assert report.status == "partial", report.as_dict()
    assert report.counts["rows_deleted"] == 0
    assert DAY in report.extra["failed_dates"], report.extra["failed_dates"]
    assert why in report.extra["failed_dates"][DAY]
    assert day_bars(dsn, DAY) == before_bars
    assert checksums(dsn) == before_sums
    with connect(dsn) as c:
        row = c.execute("SELECT status, counts->'failed_dates' FROM ingestion.job_runs "
                        "WHERE run_id = %s", (report.run_id,)).fetchone()
    assert row is not None and row[0] == "partial" and DAY in row[1]


def test_header_only_file_fails_its_date_and_deletes_nothing(loaded: str, market: Path) -> None:
    """A republished header-only day file is a failed date, never a delete."""
    before, sums = day_bars(loaded, DAY), checksums(loaded)
    assert len(before) > 40
    republish(market, DAY, lines(market, DAY)[:1])
    assert_kept(loaded, before, sums, prices(loaded, market), "no rows")


def test_file_cut_short_at_a_row_boundary_is_refused(loaded: str, market: Path) -> None:
    """A file holding only its first 5 rows (valid gzip) would delete most bars: refused."""
    before, sums = day_bars(loaded, DAY), checksums(loaded)
    republish(market, DAY, lines(market, DAY)[:6])
    assert_kept(loaded, before, sums, prices(loaded, market), "--max-shrink")


def test_file_shifted_a_day_keeps_every_stored_bar(loaded: str, market: Path) -> None:
    """Every window_start a day late: all rows are rejected, and no stored bar is touched;
    each reject says the stored bar was kept."""
    before, sums = day_bars(loaded, DAY), checksums(loaded)
    text = lines(market, DAY)
    header = text[0].split(",")
    ws = header.index("window_start")
    shifted = [text[0]]
    for line in text[1:]:
        cells = line.split(",")
        cells[ws] = str(int(cells[ws]) + 86_400 * 10**9)
        shifted.append(",".join(cells))
    republish(market, DAY, shifted)
    report = prices(loaded, market)
    assert day_bars(loaded, DAY) == before
    assert report.counts["rows_deleted"] == 0
    with connect(loaded) as c:
        kept = c.execute("SELECT count(*) FILTER (WHERE detail LIKE '%%stored bar was kept%%'), "
                         "count(*) FROM ingestion.rejected_rows WHERE run_id = %s AND "
                         "reason_code = 'window_start_mismatch'", (report.run_id,)).fetchone()
    assert kept is not None and kept[1] >= len(before), kept
    assert kept[0] == len(before), kept
    assert checksums(loaded)["prices_daily"] == sums["prices_daily"]


def test_rejected_row_never_changes_the_stored_bar(loaded: str, market: Path) -> None:
    """One security's row republished with high < low keeps its stored bar; others load."""
    before = {b[0]: b for b in day_bars(loaded, DAY)}
    text = lines(market, DAY)
    header = text[0].split(",")
    hi, lo = header.index("high"), header.index("low")
    first = clean_lines(loaded, text)[0]
    cells = text[first].split(",")
    cells[hi], cells[lo] = "1.0", "2.0"
    text[first] = ",".join(cells)
    republish(market, DAY, text)
    report = prices(loaded, market)
    assert report.rejected.get("high_below_low") == 1, report.as_dict()
    assert report.counts["rows_deleted"] == 0
    after = {b[0]: b for b in day_bars(loaded, DAY)}
    assert after == before


def test_max_shrink_one_accepts_a_genuine_removal(loaded: str, market: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """--max-shrink 1 lets a vendor's removal of 10 % of a date through (logged); without it
    the same file is refused."""
    text = lines(market, DAY)
    drop = clean_lines(loaded, text)[:6]
    republish(market, DAY, [t for i, t in enumerate(text) if i not in drop])
    before = len(day_bars(loaded, DAY))
    code, out, _ = stocksdb(capsys, "--dsn", loaded, "run", "prices_daily", "--path",
                            str(market), "--start", DAY, "--end", DAY)
    assert code == 1 and len(day_bars(loaded, DAY)) == before, out
    code, out, err = stocksdb(capsys, "--dsn", loaded, "run", "prices_daily", "--path",
                              str(market), "--start", DAY, "--end", DAY, "--max-shrink", "1")
    assert code == 0, out + err
    assert len(day_bars(loaded, DAY)) == before - 6
    assert "accepting the deletion of 6" in err


def test_cli_exit_1_names_the_refused_date(loaded: str, market: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI exits 1 and names the date a shrinking file was refused for."""
    before = day_bars(loaded, DAY)
    republish(market, DAY, lines(market, DAY)[:6])
    code, out, _ = stocksdb(capsys, "--dsn", loaded, "run", "prices_daily", "--path",
                            str(market), "--start", DAY, "--end", DAY)
    assert code == 1
    assert DAY in out
    assert day_bars(loaded, DAY) == before


NON_FINITE = [("close", "inf", "non_finite_value"), ("open", "Infinity", "non_finite_value"),
              ("high", "nan", "non_finite_value"), ("volume", "inf", "non_finite_value"),
              ("volume", "1e30", "value_out_of_range"), ("close", "1e300", "value_out_of_range")]


@pytest.mark.parametrize(("column", "value", "reason"), NON_FINITE,
                         ids=[f"{c}={v}" for c, v, _ in NON_FINITE])
def test_non_finite_or_huge_value_is_quarantined(loaded: str, market: Path, column: str,
                                                 value: str, reason: str) -> None:
    """inf/NaN/huge numbers become one rejected row with a reason; the rest of the file loads
    and the stored bar of that security is kept."""
    before = {b[0]: b for b in day_bars(loaded, DAY)}
    text = lines(market, DAY)
    header = text[0].split(",")
    first, second = clean_lines(loaded, text)[:2]
    cells = text[first].split(",")
    cells[header.index(column)] = value
    text[first] = ",".join(cells)
    other = text[second].split(",")
    other[header.index("volume")] = str(int(float(other[header.index("volume")]) + 1))
    text[second] = ",".join(other)
    republish(market, DAY, text)
    report = prices(loaded, market)
    assert not report.extra["failed_dates"], report.as_dict()
    assert report.rejected.get(reason) == 1, report.rejected
    assert report.counts["rows_updated"] == 1
    after = {b[0]: b for b in day_bars(loaded, DAY)}
    assert set(after) == set(before)


@pytest.mark.parametrize("literal", ["'Infinity'", "'NaN'"])
def test_table_checks_refuse_non_finite_prices(loaded: str, literal: str) -> None:
    """The prices_daily CHECKs refuse Infinity and NaN written by any client."""
    import psycopg

    with connect(loaded) as c, pytest.raises(psycopg.errors.CheckViolation):
        c.execute(f"UPDATE stocks_research.prices_daily SET high = {literal}::float8 "  # noqa: S608
                  "WHERE trade_date = %s", (DAY,))
