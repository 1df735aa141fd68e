"""Read paths: the columnar read of prices_daily returns exactly what is stored."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.queries import read_prices_daily
from stocksdb.jobs.runner import RunRequest, run_job


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
                else int(r.transactions)) for r in day.itertuples()]
    assert as_rows == [r for r in plain if r[1] == date(2024, 1, 3)]
    assert as_rows[0][7] is None
    assert list(one["trade_date"].dt.date) == [date(2024, 1, 2), date(2024, 1, 3),
                                               date(2024, 1, 4)]
    assert none.empty and list(none.columns) == list(day.columns)
