"""Usage that fails loudly: `stocksdb run prices_daily` and `stocksdb prices` given symbols or
dates that cannot mean what the user hoped, in-process against the real test database.

The `market` fixture holds AAPL, IBM and META (FB until 2024-01-04) with day files for
2024-01-02, -03 and -04 only; every later session's file is missing.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from stocksdb.db.connection import connect
from tests.fix_cli import stocksdb


def load_reference(capsys: pytest.CaptureFixture[str], db: str, market: Path) -> None:
    for job in ("securities_master", "ticker_history"):
        code, _, err = stocksdb(capsys, "--dsn", db, "run", job, "--path", str(market))
        assert code == 0, err


def run_prices(capsys: pytest.CaptureFixture[str], db: str, market: Path,
               *args: str) -> tuple[int, str, str]:
    return stocksdb(capsys, "--dsn", db, "run", "prices_daily", "--path", str(market), *args)


def stored_bars(db: str) -> set[tuple[str, str]]:
    """(symbol, date) of every bar, through the ohlcv_daily view."""
    with connect(db) as c:
        return {(str(s), str(t)[:10]) for s, t in c.execute(
            "SELECT symbol, time FROM stocks_research.ohlcv_daily")}


def recent_weekday_bound() -> tuple[date, date]:
    """A window that must hold the last completed XNYS session, whatever today is: it closed
    at most 5 days ago (the longest market closure, a long weekend plus a holiday, is 4
    days) and not after today in New York."""
    today = datetime.now(ZoneInfo("America/New_York")).date()
    return today - timedelta(days=6), today


def test_symbols_naming_no_known_ticker_exit_2_listing_them(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--symbols NOPE,ZZZZ (no ticker of ticker_history) exits 2 naming both; nothing loads."""
    load_reference(capsys, db, market)
    code, _, err = run_prices(capsys, db, market, "--start", "2024-01-02", "--end",
                              "2024-01-04", "--symbols", "nope,ZZZZ")
    assert code == 2, err
    assert "NOPE" in err and "ZZZZ" in err and "no known ticker" in err, err
    assert "Traceback" not in err
    assert stored_bars(db) == set()


def test_symbols_partly_unknown_warn_naming_them_and_load_the_rest(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--symbols AAPL,NOPE loads AAPL's three bars and warns that NOPE is unknown; an old
    ticker (FB, renamed META) is known."""
    load_reference(capsys, db, market)
    code, _, err = run_prices(capsys, db, market, "--start", "2024-01-02", "--end",
                              "2024-01-04", "--symbols", "AAPL,NOPE,FB")
    assert code == 0, err
    warning = next((line for line in err.splitlines() if "unknown ticker" in line), "")
    assert "WARNING" in warning and "NOPE" in warning and "FB" not in warning, err
    assert stored_bars(db) == {("AAPL", "2024-01-02"), ("AAPL", "2024-01-03"),
                               ("AAPL", "2024-01-04"), ("FB", "2024-01-02"),
                               ("FB", "2024-01-03")}


def test_start_in_the_future_says_no_sessions_on_or_after_it(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--start a year ahead exits 2 with "no sessions on or after D", and does not blame an
    `end` the user never gave."""
    load_reference(capsys, db, market)
    ahead = (date.today() + timedelta(days=365)).isoformat()
    code, _, err = run_prices(capsys, db, market, "--start", ahead)
    assert code == 2, err
    assert f"no sessions on or after {ahead}" in err, err
    assert "`end`" not in err and "--end" not in err, err


def test_end_in_the_future_is_clamped_to_the_last_completed_session(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--end far ahead is brought back to the last completed session with a note; the files
    after 2024-01-04 are missing, so the run exits 1 naming them, up to that session."""
    load_reference(capsys, db, market)
    code, out, err = run_prices(capsys, db, market, "--start", "2024-01-02", "--end",
                                "2099-12-31", "--json")
    summary = json.loads(out)
    assert code == 1 and summary["status"] == "partial", err
    note = next((line for line in err.splitlines() if "note:" in line), "")
    assert "2099-12-31" in note and "last completed" in note, err
    lo, hi = recent_weekday_bound()
    last = date.fromisoformat(summary["missing_dates"][-1])
    assert lo <= last <= hi and last.weekday() < 5, summary["missing_dates"][-3:]
    assert summary["missing_dates"][0] == "2024-01-05"
    assert summary["session_dates"] == ["2024-01-02", "2024-01-03", "2024-01-04"]


def test_a_range_without_sessions_warns_and_exits_0(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A weekend (2024-01-06 .. 2024-01-07) holds no session: a warning saying so, exit 0,
    nothing written."""
    load_reference(capsys, db, market)
    code, out, err = run_prices(capsys, db, market, "--start", "2024-01-06", "--end",
                                "2024-01-07", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"]["sessions"] == 0
    warning = next((line for line in err.splitlines() if "no XNYS sessions" in line), "")
    assert "WARNING" in warning and "2024-01-06" in warning and "2024-01-07" in warning, err
    assert stored_bars(db) == set()


def test_days_counts_back_from_the_last_completed_session_and_reports_a_late_file(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--days 1 is the last completed session, not the latest file (2024-01-04): its file is
    missing, so the run exits 1 naming it, as a daily cron must notice."""
    load_reference(capsys, db, market)
    code, out, err = run_prices(capsys, db, market, "--days", "1", "--json")
    summary = json.loads(out)
    assert code == 1 and summary["status"] == "partial", err
    (missing,) = summary["missing_dates"]
    lo, hi = recent_weekday_bound()
    assert lo <= date.fromisoformat(missing) <= hi, missing
    assert missing in summary["error"]
    assert stored_bars(db) == set()


def test_per_session_log_lines_are_short_sentences_and_quiet_silences_them(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Off a terminal each session logs one sentence with its counts (no MergeCounts repr);
    --quiet leaves only warnings and errors (here: the missing file of 2024-01-05)."""
    load_reference(capsys, db, market)
    code, _, err = run_prices(capsys, db, market, "--start", "2024-01-02", "--end",
                              "2024-01-04")
    assert code == 0, err
    assert "MergeCounts" not in err, err
    assert "2024-01-02 loaded: 3 new, 0 changed, 0 unchanged, 0 deleted bars (1 of 3)" in err
    code, out, err = stocksdb(capsys, "--dsn", db, "--quiet", "run", "prices_daily", "--path",
                              str(market), "--start", "2024-01-02", "--end", "2024-01-05")
    assert code == 1
    assert "INFO" not in err and "loaded:" not in err, err
    assert "WARNING" in err and "2024-01-05" in err, err
    assert "prices_daily run" in out, "the result still prints"


def test_prices_with_start_after_end_is_a_usage_error(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`stocksdb prices AAPL --start 2024-01-04 --end 2024-01-02` exits 2 naming the flags."""
    load_reference(capsys, db, market)
    code, _, err = stocksdb(capsys, "--dsn", db, "prices", "AAPL", "--start", "2024-01-04",
                            "--end", "2024-01-02")
    assert code == 2, err
    assert "--start 2024-01-04 is after --end 2024-01-02" in err, err


def test_prices_messages_name_flags_not_keyword_arguments(
        db: str, market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--adjusted without factors says to pass --raw (never `adjusted=False`); an unknown
    symbol suggests --as-of only when it was not passed."""
    load_reference(capsys, db, market)
    code, _, err = stocksdb(capsys, "--dsn", db, "prices", "AAPL", "--adjusted")
    assert code == 2 and "--raw" in err and "adjusted=False" not in err, err
    code, _, err = stocksdb(capsys, "--dsn", db, "prices", "NOPE")
    assert code == 2 and "--as-of" in err and "as_of=" not in err, err
    code, _, err = stocksdb(capsys, "--dsn", db, "prices", "META", "--as-of", "2020-01-02")
    assert code == 2 and "META" in err and "2020-01-02" in err, err
    assert "--as-of" not in err and "as_of" not in err, err


def test_library_messages_name_keyword_arguments(db: str, market: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The same mistakes through the library name `adjusted=False` and `as_of=`."""
    from stocksdb.api import read_prices_frame
    from stocksdb.errors import InputError

    load_reference(capsys, db, market)
    with connect(db) as conn:
        with pytest.raises(InputError, match="adjusted=False"):
            read_prices_frame(conn, symbols=["AAPL"], adjusted=True)
        with pytest.raises(InputError, match="as_of=") as raised:
            read_prices_frame(conn, symbols=["NOPE"], adjusted=False)
        assert "--as-of" not in str(raised.value)
        with pytest.raises(InputError, match="after `end`"):
            read_prices_frame(conn, symbols=["AAPL"], start=date(2024, 1, 4),
                              end=date(2024, 1, 2), adjusted=False)


def filer_listed_after_filing(root: Path) -> tuple[str, str, str, str]:
    """(ticker, composite FIGI, first filed date, listing date) of a sample company that filed
    with the SEC before its ticker's first day, read from the sample's own files."""
    import csv

    securities = {r["cik"]: r for r in csv.DictReader(
        (root / "reference/securities.csv").open(encoding="utf-8"))}
    history = list(csv.DictReader((root / "reference/ticker_history.csv").open(encoding="utf-8")))
    for path in sorted((root / "fundamentals/companyfacts").glob("CIK*.json")):
        facts = json.loads(path.read_text(encoding="utf-8"))["facts"]
        filed = min(x["filed"] for ns in facts.values() for tag in ns.values()
                    for unit in tag["units"].values() for x in unit)
        figi = securities[path.stem.removeprefix("CIK")]["composite_figi"]
        first = min(h["valid_from"] for h in history if h["composite_figi"] == figi)
        if filed < first:
            (ticker,) = {h["ticker"] for h in history if h["composite_figi"] == figi}
            return ticker, figi, filed, first
    raise AssertionError("the sample has no company filing before its listing")


def test_fundamentals_as_of_before_listing_find_the_company_by_ticker_or_figi(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A company that filed before it listed: `fundamentals TICKER --as-of` a day between
    (before its ticker existed) finds it through ticker history, and its composite FIGI finds
    it too; both print the same filings, none filed after that day."""
    from stocksdb.sample import generate_sample

    root = tmp_path / "sample"
    generate_sample(root, securities=50, start=date(2024, 1, 2), end=date(2024, 4, 30), seed=7)
    for job in ("securities_master", "ticker_history", "fundamentals_quarterly_raw"):
        code, _, err = stocksdb(capsys, "--dsn", db, "run", job, "--path", str(root))
        assert code == 0, err
    assert stocksdb(capsys, "--dsn", db, "run", "fundamentals_derived")[0] == 0
    ticker, figi, filed, listed = filer_listed_after_filing(root)
    as_of = (date.fromisoformat(listed) - timedelta(days=1)).isoformat()
    assert filed <= as_of, (filed, as_of)
    code, out, err = stocksdb(capsys, "--dsn", db, "fundamentals", ticker, "--as-of", as_of,
                              "--format", "json")
    assert code == 0, err
    by_ticker = json.loads(out)
    assert by_ticker and all(r["filed_date"][:10] <= as_of for r in by_ticker), by_ticker
    code, out, err = stocksdb(capsys, "--dsn", db, "fundamentals", figi, "--as-of", as_of,
                              "--format", "json")
    assert code == 0, err
    by_figi = json.loads(out)
    assert [r["period_end"] for r in by_figi] == [r["period_end"] for r in by_ticker]


def test_sample_into_a_directory_holding_one_keeps_it_unless_options_differ(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`stocksdb sample DIR` where `make demo` already wrote one: kept, exit 0, nothing
    rewritten; the same with an option equal to the sample's; an option that differs exits 2
    naming it."""
    root = tmp_path / "sample"
    assert stocksdb(capsys, "sample", str(root), "--securities", "50")[0] == 0
    manifest = (root / "manifest.json").stat().st_mtime_ns
    code, out, err = stocksdb(capsys, "sample", str(root))
    assert code == 0 and "kept as it is" in out and "securities 50" in out, err
    assert stocksdb(capsys, "sample", str(root), "--seed", "7")[0] == 0
    code, _, err = stocksdb(capsys, "sample", str(root), "--securities", "60")
    assert code == 2 and "--securities 60 (it has 50)" in err, err
    assert (root / "manifest.json").stat().st_mtime_ns == manifest
