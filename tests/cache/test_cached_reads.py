"""fetch_prices / fetch_cross_section: the read API through the query cache, on the real test
PostgreSQL and Valkey. Expected closes are the `market` fixture's (tests/fix_data.py): on
2024-01-03, AAPL 181, IBM 161, FB 351 (180 + i, 160 + i, 350 + i on the i-th session)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from stocksdb.api import read_prices_frame
from stocksdb.cache.codec import JSON
from stocksdb.cache.prices import fetch_cross_section, fetch_prices
from stocksdb.cache.query import QueryCache
from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.queries import read_prices_daily
from stocksdb.errors import DatabaseStateError
from stocksdb.jobs.registry import get_job
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import make_bar, split, write_actions, write_day
from tests.fix_pg import PgServer, count_rows

DAY = date(2024, 1, 3)


def unusable(dsn: str) -> str:
    """The same database (host, port, name) as `dsn` for a role that does not exist: a read
    through it can only succeed without connecting."""
    keep = {k: str(v) for k, v in conninfo_to_dict(dsn).items()
            if k in ("host", "port", "dbname") and v is not None}
    return make_conninfo("", **keep, user="no_such_role", password="x", connect_timeout="2")


def load_market(dsn: str, market: Path, *, start: date = date(2024, 1, 2),
                end: date | None = None) -> None:
    """Reference data, then the day files start..end through prices_daily (must succeed)."""
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), dsn, RunRequest(job=job, path=market))
    report = run_job(Settings(), dsn, RunRequest(job="prices_daily", path=market, start=start,
                                                 end=end))
    assert report.status == "succeeded", report.as_dict()


def closes(frame: pd.DataFrame) -> list[float]:
    return [float(c) for c in frame.sort_values("security_id")["close"]]


def test_cross_section_is_served_until_the_ingest_bumps_prices_daily_then_fresh(
        db: str, market: Path, query_cache: QueryCache) -> None:
    """A vendor correction of AAPL on 2024-01-03 (181 -> 191) is ingested: the cached
    cross-section is served until bump(prices_daily's writes), fresh after it; a cached query
    of securities alone is not invalidated by that bump."""
    load_market(db, market)

    def securities() -> int:
        return int(query_cache.fetch("security_count", {}, ["securities"],
                                     lambda: count_rows(db, "securities"), JSON))

    assert closes(fetch_cross_section(query_cache, db, DAY)) == [181.0, 161.0, 351.0]
    assert securities() == 3
    write_day(market, "2024-01-03", [make_bar("AAPL", "2024-01-03", 191),
                                     make_bar("IBM", "2024-01-03", 161),
                                     make_bar("FB", "2024-01-03", 351)])
    load_market(db, market, start=DAY, end=DAY)
    assert closes(fetch_cross_section(query_cache, db, DAY)) == [181.0, 161.0, 351.0], \
        "before the bump the cached copy is served"
    query_cache.bump(get_job("prices_daily").writes)
    assert closes(fetch_cross_section(query_cache, db, DAY)) == [191.0, 161.0, 351.0]
    assert securities() == 3
    metrics = query_cache.metrics()
    assert (metrics.hits, metrics.misses, metrics.invalidations) == (2, 3, 1), metrics


def test_a_hit_is_the_read_api_frame_and_never_touches_postgresql(
        db: str, market: Path, query_cache: QueryCache) -> None:
    """META adjusted for its 1->4 split of 2024-01-04 (closes 350/4, 351/4, 88): the cached
    frame equals read_prices_frame exactly (columns, dtypes, dates), and the hit comes back
    even with a DSN that cannot connect."""
    day = "2024-01-04"
    write_day(market, day, [make_bar("AAPL", day, 182), make_bar("IBM", day, 162),
                            make_bar("META", day, 88)])
    write_actions(market, [split("META", "2024-01-04", 1, 4)], [])
    load_market(db, market)
    run_job(Settings(), db, RunRequest(job="corporate_actions", path=market))
    run_job(Settings(), db, RunRequest(job="adjustment_factors_daily"))
    end = date(2024, 1, 31)
    first = fetch_prices(query_cache, db, "META", end=end)
    again = fetch_prices(query_cache, unusable(db), "meta", end=end)
    with connect(db) as conn:
        direct = read_prices_frame(conn, symbols=["META"], end=end)
    with pytest.raises(DatabaseStateError, match="no_such_role"):
        connect(unusable(db)).close()
    assert list(again["close"]) == [87.5, 87.75, 88.0]
    assert_frame_equal(first, direct)
    assert_frame_equal(again, direct)
    assert query_cache.metrics().hits == 1


def test_a_cross_section_round_trips_the_query_frame_exactly(
        db: str, market: Path, query_cache: QueryCache) -> None:
    """read_prices_daily's frame (datetime trade_date, nullable Int64 transactions) comes back
    from the cache equal, dtypes included."""
    load_market(db, market)
    fetch_cross_section(query_cache, db, DAY)
    cached = fetch_cross_section(query_cache, unusable(db), DAY)
    with connect(db) as conn:
        assert_frame_equal(cached, read_prices_daily(conn, trade_date=DAY))


def test_two_databases_on_one_redis_never_share_results(
        db: str, market: Path, query_cache: QueryCache, pg_server: PgServer,
        template_db: str) -> None:
    """The same cross-section query on a loaded database and on an empty copy of the schema:
    the second is its own (empty) result, not the first one's cached rows."""
    load_market(db, market)
    assert len(fetch_cross_section(query_cache, db, DAY)) == 3
    other = pg_server.clone(template_db)
    try:
        assert len(fetch_cross_section(query_cache, pg_server.dsn(other), DAY)) == 0
    finally:
        pg_server.drop(other)
    assert query_cache.metrics().misses == 2


def test_without_redis_the_reads_come_from_postgresql(db: str, market: Path) -> None:
    """No server at the URL: fetch_prices answers from the database, the cache says degraded."""
    load_market(db, market)
    with QueryCache.from_url("unix:///nonexistent-dir/valkey.sock") as cache:
        frame = fetch_prices(cache, db, "AAPL", end=date(2024, 1, 31), adjusted=False)
        assert list(frame["close"]) == [180.0, 181.0, 182.0]
        assert cache.degraded and cache.metrics().bypassed == 1
