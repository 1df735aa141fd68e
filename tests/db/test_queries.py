"""Read paths: the columnar read of prices_daily returns exactly what is stored, and the
point-in-time ticker resolver agrees with the SQL function resolve_ticker()."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.queries import (
    MANY_IDS,
    read_price_columns,
    read_prices_daily,
    read_ticker_intervals,
    read_ticker_on,
    resolve_security,
)
from stocksdb.errors import DatabaseStateError
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import RESOURCES, make_security, write_reference

ANSWERS = RESOURCES / "answers"


def _rows(frame: pd.DataFrame) -> Iterator[Any]:
    """The frame's rows as named tuples (untyped: columns are checked by value below)."""
    return iter(frame.itertuples())


def read_csv(name: str) -> list[dict[str, str]]:
    with (ANSWERS / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_read_prices_daily_matches_rows_by_date_and_by_security(db: str, market: Path) -> None:
    """A cross-section and a history decode to the same values plain SQL returns."""
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=market))
    run_job(Settings(), db, RunRequest(job="prices_daily", path=market, start=date(2024, 1, 2)))
    with connect(db, autocommit=True) as c:
        c.execute("UPDATE prices_daily SET transactions = NULL WHERE trade_date = '2024-01-03' "
                  "AND security_id = (SELECT min(security_id) FROM prices_daily)")
        plain = c.execute("SELECT security_id, trade_date, open, high, low, close, volume, "
                          "transactions FROM prices_daily ORDER BY 1, 2").fetchall()
        day = read_prices_daily(c, trade_date=date(2024, 1, 3))
        one = read_prices_daily(c, security_ids=[plain[0][0]])
        none = read_prices_daily(c, trade_date=date(2024, 1, 5))
    as_rows = [(int(r.security_id), r.trade_date.date(), r.open, r.high, r.low, r.close,
                int(r.volume), None if r.transactions is None or str(r.transactions) == "<NA>"
                else int(r.transactions)) for r in _rows(day)]
    assert as_rows == [r for r in plain if r[1] == date(2024, 1, 3)]
    assert as_rows[0][7] is None
    assert list(one["trade_date"].dt.date) == [date(2024, 1, 2), date(2024, 1, 3),
                                               date(2024, 1, 4)]
    assert none.empty and list(none.columns) == list(day.columns)


def test_resolvers_in_python_and_sql_agree_on_the_answer_file(db: str, tmp_path: Path) -> None:
    """ticker_intervals.csv loaded by the jobs: resolve_ticker() in SQL, TickerIntervals and
    resolve_security give the hand-worked answer of every row of ticker_resolution.csv."""
    intervals = read_csv("ticker_intervals.csv")
    figis = sorted({r["composite_figi"] for r in intervals})
    write_reference(tmp_path, [make_security(f) for f in figis], intervals)
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=tmp_path))
    wrong = []
    with connect(db) as c:
        ids = dict(c.execute("SELECT composite_figi, security_id FROM securities").fetchall())
        resolver = read_ticker_intervals(c)
        assert len(resolver) == len(intervals)
        for row in read_csv("ticker_resolution.csv"):
            day = date.fromisoformat(row["day"])
            in_sql = c.execute("SELECT resolve_ticker(%s, %s)", (row["ticker"], day)).fetchone()
            got = (in_sql[0] if in_sql else "no row", resolver.resolve(row["ticker"], day),
                   resolve_security(c, row["ticker"], day))
            want = ids.get(row["expected_figi"])
            if got != (want, want, want):
                wrong.append((row["ticker"], row["day"], want, got, row["provenance"]))
    assert not wrong, wrong


def test_loader_filters_and_ticker_on(db: str, tmp_path: Path) -> None:
    """The loader reads only the tickers or securities asked for; read_ticker_on follows A's
    rename from OLD to NEW on 2024-02-14 (README of the answers)."""
    intervals = read_csv("ticker_intervals.csv")
    write_reference(tmp_path, [make_security(f) for f in
                               sorted({r["composite_figi"] for r in intervals})], intervals)
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=tmp_path))
    with connect(db) as c:
        ids = dict(c.execute("SELECT composite_figi, security_id FROM securities").fetchall())
        a = ids["BBG000000016"]
        assert sorted(i.ticker for i in read_ticker_intervals(c, tickers=["GAP"]).intervals) \
            == ["GAP", "GAP"]
        assert sorted(i.ticker for i in read_ticker_intervals(c, security_ids=[a]).intervals) \
            == ["NEW", "OLD"]
        assert len(read_ticker_intervals(c, tickers=["GAP"], security_ids=[a])) == 0
        assert read_ticker_on(c, a, date(2024, 2, 13)) == "OLD"
        assert read_ticker_on(c, a, date(2024, 2, 14)) == "NEW"
        assert read_ticker_on(c, ids["BBG000000025"], date(2024, 2, 5)) is None


def test_read_prices_daily_with_a_method_joins_its_factors(db: str, market: Path) -> None:
    """With `method`, each bar comes with its stored factors of that method (the other
    method's are not read), and a bar without a factor row is left out."""
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=market))
    run_job(Settings(), db, RunRequest(job="prices_daily", path=market, start=date(2024, 1, 2)))
    with connect(db, autocommit=True) as c:
        c.execute("SELECT ensure_year_partitions('adjustment_factors_daily', '2024-01-01', "
                  "'2024-12-31')")
        for method, scale in (("crsp", 1.0), ("exdate_close", 3.0)):
            c.execute("INSERT INTO adjustment_factors_daily (security_id, trade_date, method, "
                      "price_factor, volume_factor, split_factor, dividend_factor) "
                      "SELECT security_id, trade_date, %s, "
                      "%s / (security_id * 10 + extract(day FROM trade_date)), "
                      "security_id + 0.5, 1, 1 FROM prices_daily", (method, scale))
        c.execute("DELETE FROM adjustment_factors_daily WHERE method = 'exdate_close' "
                  "AND trade_date = '2024-01-03' AND security_id = (SELECT min(security_id) "
                  "FROM prices_daily)")
        plain = c.execute("SELECT security_id, trade_date, open, high, low, close, volume, "
                          "transactions, price_factor, volume_factor FROM prices_daily "
                          "JOIN adjustment_factors_daily USING (security_id, trade_date) "
                          "WHERE method = 'exdate_close' ORDER BY 1, 2").fetchall()
        got = read_prices_daily(c, method="exdate_close")
        first = read_prices_daily(c, security_ids=[plain[0][0]], method="exdate_close")
    rows = [(int(r.security_id), r.trade_date.date(), r.open, r.high, r.low, r.close,
             int(r.volume), int(r.transactions), r.price_factor, r.volume_factor)
            for r in _rows(got)]
    assert rows == plain
    assert list(got.columns[-2:]) == ["price_factor", "volume_factor"]
    assert list(first["trade_date"].dt.date) == [date(2024, 1, 2), date(2024, 1, 4)]
    assert len(plain) == 3 * 3 - 1


def test_many_ids_read_the_same_bars_as_a_join_of_them(db: str, market: Path) -> None:
    """Ids that are half the securities or more are filtered in numpy, not joined in SQL:
    the same bars either way, the securities not asked for left out."""
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=market))
    run_job(Settings(), db, RunRequest(job="prices_daily", path=market, start=date(2024, 1, 2)))
    with connect(db) as c:
        ids = sorted(r[0] for r in c.execute("SELECT security_id FROM securities"))
        asked = ids[1:]
        joined = read_price_columns(c, security_ids=asked, securities=len(ids))
        # Ids with no security pad the list past MANY_IDS: a list that long is filtered in
        # numpy whenever it is half the securities (as the count of 3 here says).
        padded = asked + list(range(max(ids) + 1, max(ids) + 2 + MANY_IDS))
        kept = read_price_columns(c, security_ids=padded[::-1], securities=len(ids))
        counted = read_price_columns(c, security_ids=padded)
    assert set(joined["security_id"]) == set(asked)
    for got in (kept, counted):
        assert list(got) == list(joined)
        for name, values in joined.items():
            assert list(got[name]) == list(values), name


def test_a_null_the_schema_forbids_is_an_error_not_a_lost_bar(db: str, market: Path) -> None:
    """A bar whose open was made NULL by hand (its NOT NULL dropped) makes the read fail,
    naming the table; the other bars are not returned without it."""
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=market))
    run_job(Settings(), db, RunRequest(job="prices_daily", path=market, start=date(2024, 1, 2)))
    with connect(db, autocommit=True) as c:
        c.execute("ALTER TABLE prices_daily ALTER COLUMN open DROP NOT NULL")
        c.execute("UPDATE prices_daily SET open = NULL WHERE trade_date = '2024-01-03' "
                  "AND security_id = (SELECT min(security_id) FROM prices_daily)")
        with pytest.raises(DatabaseStateError, match="prices_daily: .* a value read is NULL"):
            read_prices_daily(c, trade_date=date(2024, 1, 3))
        assert len(read_prices_daily(c, trade_date=date(2024, 1, 4))) == 3
