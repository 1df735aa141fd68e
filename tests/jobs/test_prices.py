"""prices_daily: per-date atomic loads, quarantine, failure modes, idempotency."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from stocksdb.db.connection import connect
from stocksdb.jobs.base import JobReport
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import load_reference, load_settings, make_bar, ohlcv_bars, write_day
from tests.fix_pg import checksums

pytestmark = pytest.mark.usefixtures("both_load_paths")


def prices(db: str, root: Path, **kw: object) -> JobReport:
    return run_job(load_settings(), db, RunRequest(job="prices_daily", path=root, **kw))  # type: ignore[arg-type]


def test_hydration_writes_every_bar_readable_through_ohlcv_daily(db: str, market: Path) -> None:
    """Three sessions x three securities arrive in ohlcv_daily under the ticker of each date."""
    load_reference(db, market)
    report = prices(db, market, start=date(2024, 1, 2))
    assert report.status == "succeeded", report.as_dict()
    assert report.counts["rows_written"] == 9 and report.counts["sessions_ok"] == 3
    got = ohlcv_bars(db)
    assert ("FB", "2024-01-03", 351.0) in got and ("META", "2024-01-04", 352.0) in got
    assert len(got) == 9
    with connect(db) as c:
        ids = c.execute("SELECT count(DISTINCT symbol_id) FROM ohlcv_daily "
                        "WHERE symbol IN ('FB', 'META')").fetchone()
    assert ids == (1,), "the renamed security keeps one id across FB and META"


def test_a_security_history_is_read_from_the_key_alone(db: str, market: Path,
                                                       both_load_paths: bool) -> None:
    """prices_daily's key carries the bar (migration 0017): a security's history is an
    index-only scan. A hydrated year is written frozen, so it needs no heap page even before
    any VACUUM (a year merged date by date visits the pages vacuum has not yet marked); its
    partition has the parent's two indexes, adopted, not built twice."""
    load_reference(db, market)
    prices(db, market, start=date(2024, 1, 2))
    if not both_load_paths:   # dates merged one by one: all-visible once vacuumed
        with connect(db, autocommit=True) as c:
            c.execute("VACUUM stocks_research.prices_daily")
    with connect(db) as c:
        indexes = c.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = "
                            "'stocks_research' AND tablename = 'prices_daily_y2024' "
                            "ORDER BY indexname").fetchall()
        c.execute("SET enable_seqscan = off")     # three rows: the planner would scan them
        plan = "\n".join(r[0] for r in c.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT trade_date, open, "
            "high, low, close, volume FROM stocks_research.prices_daily WHERE security_id = "
            "(SELECT security_id FROM stocks_research.ticker_history WHERE ticker = 'AAPL')"))
    assert [i for (i,) in indexes] == [
        "CREATE UNIQUE INDEX prices_daily_y2024_pkey ON stocks_research.prices_daily_y2024 "
        "USING btree (security_id, trade_date) INCLUDE (open, high, low, close, volume)",
        "CREATE INDEX prices_daily_y2024_trade_date_idx ON stocks_research.prices_daily_y2024 "
        "USING btree (trade_date)"]
    assert "Index Only Scan using prices_daily_y2024_pkey" in plan, plan
    if both_load_paths:   # frozen by the hydration's COPY: no page to visit
        assert "Heap Fetches: 0" in plan, plan


def test_rerun_leaves_checksum_unchanged_and_writes_nothing(db: str, market: Path) -> None:
    """A second identical run counts every row unchanged and keeps every digest."""
    load_reference(db, market)
    prices(db, market, start=date(2024, 1, 2))
    before = checksums(db)
    report = prices(db, market, start=date(2024, 1, 2))
    assert report.counts["rows_unchanged"] == 9 and report.counts["rows_written"] == 0
    assert report.counts["rows_updated"] == 0 and report.counts["rows_deleted"] == 0
    assert checksums(db) == before


def test_republished_file_converges_to_clean_load(pg_server: object, template_db: str,
                                                  market: Path, tmp_path: Path) -> None:
    """A corrected file (changed close, one row dropped) is refused by the shrink guard, then
    with --max-shrink 1 re-run equals a clean load of it."""
    from tests.fix_pg import PgServer

    assert isinstance(pg_server, PgServer)
    first, clean = pg_server.clone(template_db), pg_server.clone(template_db)
    try:
        load_reference(pg_server.dsn(first), market)
        prices(pg_server.dsn(first), market, start=date(2024, 1, 2))
        write_day(market, "2024-01-03", [make_bar("AAPL", "2024-01-03", 181.25),
                                         make_bar("FB", "2024-01-03", 351)])
        refused = prices(pg_server.dsn(first), market, start=date(2024, 1, 2))
        assert "2024-01-03" in refused.extra["failed_dates"], "1 of 3 bars is > 2 %"
        report = prices(pg_server.dsn(first), market, start=date(2024, 1, 2), max_shrink=1.0)
        assert (report.counts["rows_updated"], report.counts["rows_deleted"]) == (1, 1)
        load_reference(pg_server.dsn(clean), market)
        prices(pg_server.dsn(clean), market, start=date(2024, 1, 2))
        assert checksums(pg_server.dsn(first)) == checksums(pg_server.dsn(clean))
    finally:
        pg_server.drop(first)
        pg_server.drop(clean)


def test_daily_increment_loads_only_the_session_of_end(db: str, market: Path) -> None:
    """--days 1 --end D loads the session D, and nothing else."""
    load_reference(db, market)
    report = prices(db, market, days=1, end=date(2024, 1, 4))
    assert report.status == "succeeded"
    assert {t for _, t, _ in ohlcv_bars(db)} == {"2024-01-04"}


def test_backfill_of_a_range(db: str, market: Path) -> None:
    """--start/--end loads exactly the sessions in the range."""
    load_reference(db, market)
    prices(db, market, start=date(2024, 1, 3), end=date(2024, 1, 3))
    assert {t for _, t, _ in ohlcv_bars(db)} == {"2024-01-03"}


def test_missing_file_is_counted_and_named_and_run_exits_partial(db: str, market: Path) -> None:
    """A session without a file writes nothing for it; the others load; the run is partial."""
    load_reference(db, market)
    (market / "flatfiles/us_stocks_sip/day_aggs_v1/2024/01/2024-01-03.csv.gz").unlink()
    report = prices(db, market, start=date(2024, 1, 2), end=date(2024, 1, 4))
    assert report.status == "partial"
    assert report.counts["sessions_missing"] == 1 and report.counts["sessions_ok"] == 2
    assert report.extra["missing_dates"] == ["2024-01-03"]
    assert "2024-01-03" in (report.error or "")
    assert {t for _, t, _ in ohlcv_bars(db)} == {"2024-01-02", "2024-01-04"}


def test_holiday_is_not_expected(db: str, market: Path) -> None:
    """New Year's Day is not a session: a range over it misses nothing."""
    load_reference(db, market)
    report = prices(db, market, start=date(2023, 12, 30), end=date(2024, 1, 2))
    assert report.status == "succeeded" and report.counts["sessions"] == 1


def test_truncated_file_skips_its_date_only(db: str, market: Path) -> None:
    """A truncated gzip fails that date with no writes; the next date still loads."""
    load_reference(db, market)
    path = market / "flatfiles/us_stocks_sip/day_aggs_v1/2024/01/2024-01-03.csv.gz"
    path.write_bytes(path.read_bytes()[:-12])
    report = prices(db, market, start=date(2024, 1, 2))
    assert report.status == "partial" and report.counts["sessions_failed"] == 1
    assert "2024-01-03" in report.extra["failed_dates"]
    assert {t for _, t, _ in ohlcv_bars(db)} == {"2024-01-02", "2024-01-04"}
    with connect(db) as c:
        keys = [k for (k,) in c.execute("SELECT key FROM ingestion.source_files ORDER BY key")]
    assert [k[-17:] for k in keys] == ["2024-01-02.csv.gz", "2024-01-04.csv.gz"]


def test_a_missing_trade_count_is_stored_as_null(db: str, market: Path) -> None:
    """An empty transactions cell, and a file with no transactions column (it is optional):
    the bar loads with transactions NULL, not 0; a count given is stored as given."""
    load_reference(db, market)
    write_day(market, "2024-01-02", [make_bar("AAPL", "2024-01-02", transactions=""),
                                     make_bar("IBM", "2024-01-02", transactions=7)])
    write_day(market, "2024-01-03", [make_bar("AAPL", "2024-01-03"),
                                     make_bar("IBM", "2024-01-03")],
              header="ticker,volume,open,close,high,low,window_start")
    report = prices(db, market, start=date(2024, 1, 2), end=date(2024, 1, 3))
    assert report.status == "succeeded", report.extra
    with connect(db) as c:
        got = c.execute("SELECT t.ticker, p.trade_date::text, p.transactions "
                        "FROM stocks_research.prices_daily p "
                        "JOIN stocks_research.ticker_history t ON t.security_id = "
                        "p.security_id AND t.valid_from <= p.trade_date "
                        "ORDER BY 2, 1").fetchall()
    assert got == [("AAPL", "2024-01-02", None), ("IBM", "2024-01-02", 7),
                   ("AAPL", "2024-01-03", None), ("IBM", "2024-01-03", None)]


def test_file_without_required_column_fails_its_date(db: str, market: Path) -> None:
    """A day file lacking `close` is unreadable for that date, named in the failure."""
    load_reference(db, market)
    write_day(market, "2024-01-02", [make_bar("AAPL", "2024-01-02")],
              header="ticker,volume,open,high,low,window_start,transactions")
    report = prices(db, market, start=date(2024, 1, 2))
    assert "close" in report.extra["failed_dates"]["2024-01-02"]


def test_database_error_rolls_back_that_date_and_continues(db: str, market: Path) -> None:
    """A real database error while writing one date rolls it back; later dates load."""
    load_reference(db, market)
    with connect(db, autocommit=True) as c:
        c.execute("""CREATE FUNCTION fail_on_0103() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN IF NEW.trade_date = '2024-01-03' THEN
                       RAISE EXCEPTION 'disk on fire for %', NEW.trade_date; END IF;
                     RETURN NEW; END $$""")
        c.execute("CREATE TRIGGER fail_0103 BEFORE INSERT ON stocks_research.prices_daily "
                  "FOR EACH ROW EXECUTE FUNCTION fail_on_0103()")
    report = prices(db, market, start=date(2024, 1, 2))
    assert report.status == "partial"
    assert "disk on fire" in report.extra["failed_dates"]["2024-01-03"]
    assert {t for _, t, _ in ohlcv_bars(db)} == {"2024-01-02", "2024-01-04"}
    with connect(db) as c:
        rejected = c.execute("SELECT count(*) FROM ingestion.rejected_rows "
                             "WHERE trade_date = '2024-01-03'").fetchone()
    assert rejected == (0,)


def test_database_error_in_a_hydrated_year_loads_its_dates_one_by_one(db: str,
                                                                      market: Path) -> None:
    """A database error while a year is hydrated rolls the whole year back; its dates are then
    loaded one per transaction: only the date the database refuses fails, the others are
    stored with their source files, and rejected rows are not counted twice."""
    for i, day in enumerate(("2024-01-02", "2024-01-03")):
        write_day(market, day, [make_bar("AAPL", day, 180 + i), make_bar("IBM", day, 160 + i),
                                make_bar("FB", day, 350 + i), make_bar("NOSUCH", day, 5)])
    load_reference(db, market)
    with connect(db, autocommit=True) as c:
        c.execute("ALTER TABLE stocks_research.prices_daily ADD CONSTRAINT not_0103 "
                  "CHECK (trade_date <> '2024-01-03')")
    report = prices(db, market, start=date(2024, 1, 2))
    assert report.status == "partial"
    assert "not_0103" in report.extra["failed_dates"]["2024-01-03"]
    assert {t for _, t, _ in ohlcv_bars(db)} == {"2024-01-02", "2024-01-04"}
    with connect(db) as c:
        files = c.execute("SELECT key FROM ingestion.source_files ORDER BY 1").fetchall()
        rejected = c.execute("SELECT trade_date::text, count(*) FROM ingestion.rejected_rows "
                             "GROUP BY 1 ORDER BY 1").fetchall()
    assert [k[-17:-7] for (k,) in files] == ["2024-01-02", "2024-01-04"]
    assert rejected == [("2024-01-02", 1)]     # the NOSUCH row; 2024-01-03's was rolled back
    assert (report.counts["rows_rejected"], report.rejected) == (1, {"unknown_ticker": 1})


def test_a_year_that_cannot_be_attached_is_loaded_date_by_date(
        db: str, market: Path, both_load_paths: bool, caplog: pytest.LogCaptureFixture) -> None:
    """A database error after every date of a hydrated year was written (its key's name is
    taken by another relation) rolls the year back and loads each date on its own: every bar
    is stored, each date's source file once, and the run succeeds."""
    load_reference(db, market)
    with connect(db, autocommit=True) as c:
        c.execute("CREATE SEQUENCE stocks_research.prices_daily_y2024_pkey")
    report = prices(db, market, start=date(2024, 1, 2))
    assert report.status == "succeeded", report.as_dict()
    assert report.counts["rows_written"] == 9 and report.counts["sessions_ok"] == 3
    assert sorted({t for _, t, _ in ohlcv_bars(db)}) == ["2024-01-02", "2024-01-03",
                                                         "2024-01-04"]
    with connect(db) as c:
        files = c.execute("SELECT count(*), count(DISTINCT key) FROM ingestion.source_files"
                          ).fetchone()
    assert files == (3, 3)
    rolled_back = [r.message for r in caplog.records if "hydration rolled back" in r.message]
    assert len(rolled_back) == (1 if both_load_paths else 0), rolled_back


BAD_ROWS = [
    (make_bar("AAPL", "2024-01-02", open=0), "non_positive_price"),
    (make_bar("AAPL", "2024-01-02", high=9, low=9.5), "high_below_low"),
    (make_bar("AAPL", "2024-01-02", high=10.2, close=10.4, low=9), "high_below_open_or_close"),
    (make_bar("AAPL", "2024-01-02", low=10.1), "low_above_open_or_close"),
    (make_bar("AAPL", "2024-01-02", volume=-5), "negative_volume"),
    (make_bar("AAPL", "2024-01-02", window_start=1704258000000000000), "window_start_mismatch"),
    (make_bar("NOSUCH", "2024-01-02"), "unknown_ticker"),
    (make_bar("AAPL", "2024-01-02", open="abc"), "unparseable_value"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_bad_row_is_quarantined_with_reason(db: str, market: Path, row: dict[str, object],
                                            reason: str) -> None:
    """The bad row is in rejected_rows with its reason and raw values; IBM still loads."""
    load_reference(db, market)
    write_day(market, "2024-01-02", [row, make_bar("IBM", "2024-01-02", 160)])
    report = prices(db, market, start=date(2024, 1, 2), end=date(2024, 1, 2))
    assert report.rejected == {reason: 1}, report.as_dict()
    with connect(db) as c:
        got = c.execute("SELECT reason_code, ticker, trade_date::text, raw->>'ticker', source_key "
                        "FROM ingestion.rejected_rows").fetchall()
    assert got == [(reason, row["ticker"], "2024-01-02", row["ticker"],
                    "us_stocks_sip/day_aggs_v1/2024/01/2024-01-02.csv.gz")]
    assert ohlcv_bars(db) == [("IBM", "2024-01-02", 160.0)]


def test_duplicates_exact_keep_one_conflicting_reject_all(db: str, market: Path) -> None:
    """An exact duplicate loads once (extra copy quarantined); conflicting copies all go."""
    load_reference(db, market)
    day = "2024-01-02"
    write_day(market, day, [make_bar("AAPL", day, 180), make_bar("AAPL", day, 180),
                            make_bar("IBM", day, 160), make_bar("IBM", day, 161)])
    report = prices(db, market, start=date(2024, 1, 2), end=date(2024, 1, 2))
    assert report.rejected == {"duplicate_row": 1, "duplicate_ticker": 2}
    assert ohlcv_bars(db) == [("AAPL", day, 180.0)]


def test_next_day_rows_do_not_poison_their_duplicates(db: str, market: Path) -> None:
    """Rows stamped with the next day (Massive 2019-08-12 defect) go; the true rows load."""
    load_reference(db, market)
    day, nxt = "2024-01-02", 1704258000000000000
    write_day(market, day, [make_bar("AAPL", day, 180), make_bar("AAPL", day, 181,
                                                                 window_start=nxt)])
    report = prices(db, market, start=date(2024, 1, 2), end=date(2024, 1, 2))
    assert report.rejected == {"window_start_mismatch": 1}
    assert ohlcv_bars(db) == [("AAPL", day, 180.0)]


def test_partial_coverage_loads_what_is_there(db: str, market: Path) -> None:
    """A day file lacking a listed security loads the others; that security has a gap."""
    load_reference(db, market)
    write_day(market, "2024-01-03", [make_bar("AAPL", "2024-01-03", 181)])
    report = prices(db, market, start=date(2024, 1, 2))
    assert report.status == "succeeded" and report.counts["rows_written"] == 7
    assert ("IBM", "2024-01-03") not in {(s, t) for s, t, _ in ohlcv_bars(db)}


def test_symbols_override_is_logged_and_deletes_nothing(db: str, market: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """--symbols loads only those tickers, warns it is non-authoritative, removes nothing."""
    load_reference(db, market)
    prices(db, market, start=date(2024, 1, 2))
    write_day(market, "2024-01-02", [make_bar("AAPL", "2024-01-02", 199)])
    caplog.set_level(logging.WARNING, logger="stocksdb")
    logging.getLogger("stocksdb").propagate = True
    report = prices(db, market, start=date(2024, 1, 2), end=date(2024, 1, 2), symbols=("AAPL",))
    assert "non-authoritative" in caplog.text
    assert report.counts["rows_updated"] == 1 and report.counts["rows_deleted"] == 0
    got = ohlcv_bars(db)
    assert ("IBM", "2024-01-02", 160.0) in got and ("AAPL", "2024-01-02", 199.0) in got
