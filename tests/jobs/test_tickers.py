"""ticker_history: point-in-time intervals, renames, reuse, overlaps."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from stocksdb.db.checksum import database_checksums
from stocksdb.db.connection import connect
from stocksdb.db.queries import resolve_security
from tests.fix_data import (
    AAPL,
    IBM,
    META,
    make_interval,
    make_security,
    rejected_keys,
    run_counts,
    write_reference,
)
from tests.fix_pg import count_rows

SECURITIES = [make_security(AAPL), make_security(META), make_security(IBM)]


def load(db: str, root: Path, intervals: list[dict[str, str]]) -> dict[str, int]:
    write_reference(root, SECURITIES, intervals)
    run_counts(db, "securities_master", root)
    return run_counts(db, "ticker_history", root)


def ids(db: str) -> dict[str, int]:
    with connect(db) as c:
        return dict(c.execute("SELECT composite_figi, security_id FROM securities").fetchall())


def test_renamed_security_keeps_one_id_across_tickers(db: str, reference_dir: Path) -> None:
    """FB before 2022-06-11 and META from then on resolve to the same security."""
    run_counts(db, "securities_master", reference_dir)
    counts = run_counts(db, "ticker_history", reference_dir)
    assert counts["inserted"] == 4 and counts["rejected"] == 0, counts
    meta = ids(db)[META]
    with connect(db) as c:
        assert resolve_security(c, "FB", date(2022, 6, 10)) == meta
        assert resolve_security(c, "META", date(2022, 6, 11)) == meta
        assert resolve_security(c, "FB", date(2022, 6, 11)) is None   # valid_to is exclusive
        assert resolve_security(c, "META", date(2022, 6, 10)) is None
        assert resolve_security(c, "fb", date(2015, 1, 2)) == meta    # case-insensitive


def test_reused_ticker_resolves_to_different_securities(db: str, tmp_path: Path) -> None:
    """A ticker delisted by one security and later reused by another resolves by date."""
    counts = load(db, tmp_path, [
        make_interval(AAPL, "ZZ", "2010-01-04", "2015-06-01"),
        make_interval(IBM, "ZZ", "2015-06-10"),
    ])
    assert counts["inserted"] == 2, counts
    sid = ids(db)
    with connect(db) as c:
        assert resolve_security(c, "ZZ", date(2015, 5, 29)) == sid[AAPL]
        assert resolve_security(c, "ZZ", date(2015, 6, 3)) is None      # the gap
        assert resolve_security(c, "ZZ", date(2015, 6, 10)) == sid[IBM]
        assert resolve_security(c, "ZZ", date(2009, 12, 31)) is None


def test_overlapping_interval_is_rejected_not_crashing(db: str, tmp_path: Path) -> None:
    """Two securities claiming one ticker on overlapping dates: the later claim is rejected."""
    counts = load(db, tmp_path, [
        make_interval(AAPL, "ZZ", "2010-01-04", "2015-06-01"),
        make_interval(IBM, "ZZ", "2015-01-02"),
    ])
    assert counts["inserted"] == 1 and counts["rejected:ticker_interval_overlap"] == 1, counts
    assert rejected_keys(db) == [("ticker_interval_overlap", "ticker_history.csv:3")]


def test_security_with_two_tickers_at_once_is_rejected(db: str, tmp_path: Path) -> None:
    """One security under two tickers on the same day: the second interval is rejected."""
    counts = load(db, tmp_path, [
        make_interval(AAPL, "AAPL", "2010-01-04"),
        make_interval(AAPL, "APPL", "2012-01-03", "2013-01-02"),
    ])
    assert counts["rejected:security_ticker_overlap"] == 1, counts
    assert count_rows(db, "ticker_history") == 1


def test_bad_rows_are_rejected_with_reasons(db: str, tmp_path: Path) -> None:
    """Bad FIGI, bad date, empty interval, unknown security and bad ticker each get a reason."""
    counts = load(db, tmp_path, [
        make_interval("BBG000B9XRY5", "AAPL", "2010-01-04"),
        make_interval(AAPL, "AAPL", "2010-02-30"),
        make_interval(IBM, "IBM", "2020-01-02", "2020-01-02"),
        make_interval("BBG000BLNNV0", "IBMX", "2020-01-02"),
        make_interval(META, "ME TA", "2020-01-02"),
        make_interval(META, "META", "2022-06-11"),
    ])
    got = sorted(r for r, _ in rejected_keys(db))
    assert got == ["empty_interval", "invalid_date", "invalid_figi", "invalid_ticker",
                   "unknown_security"], counts
    assert counts["inserted"] == 1


def test_rerun_leaves_checksum_unchanged(db: str, reference_dir: Path) -> None:
    """Running ticker_history twice over the same file changes no digest."""
    run_counts(db, "securities_master", reference_dir)
    run_counts(db, "ticker_history", reference_dir)
    with connect(db) as c:
        before = database_checksums(c)
    counts = run_counts(db, "ticker_history", reference_dir)
    with connect(db) as c:
        after = database_checksums(c)
    assert counts["inserted"] == 0 and counts["deleted"] == 0
    assert after == before


def test_closing_an_open_interval_replaces_it(db: str, tmp_path: Path) -> None:
    """A later file that closes FB's interval and opens META's updates the history."""
    load(db, tmp_path / "a", [make_interval(META, "FB", "2012-05-18")])
    counts = load(db, tmp_path / "b", [make_interval(META, "FB", "2012-05-18", "2022-06-11"),
                                       make_interval(META, "META", "2022-06-11")])
    assert counts["deleted"] == 1 and counts["inserted"] == 2, counts
    with connect(db) as c:
        assert resolve_security(c, "META", date(2023, 1, 3)) == ids(db)[META]
        assert resolve_security(c, "FB", date(2023, 1, 3)) is None


def test_trigger_refuses_overlap_written_directly(db: str) -> None:
    """The database itself refuses overlapping intervals (a safety net under the job)."""
    import psycopg
    import pytest

    with connect(db, autocommit=True) as c:
        c.execute("INSERT INTO securities (composite_figi) VALUES (%s), (%s)", (AAPL, IBM))
        c.execute("INSERT INTO ticker_history (ticker, valid_from, security_id) "
                  "SELECT 'ZZ', '2020-01-02', security_id FROM securities "
                  "WHERE composite_figi = %s",
                  (AAPL,))
        with pytest.raises(psycopg.errors.ExclusionViolation, match="overlaps"):
            c.execute("INSERT INTO ticker_history (ticker, valid_from, security_id) "
                      "SELECT 'ZZ', '2021-01-04', security_id FROM securities "
                      "WHERE composite_figi = %s", (IBM,))
