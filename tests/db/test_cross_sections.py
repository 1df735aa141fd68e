"""A date's cross-section kept as one row (migration 0018, the cross_sections job): a read of a
date with a copy comes from it and gives what the rows give; any statement on a date's bars or
factors forgets that date's copy and no other; every security's names are kept between reads
until a writer changes them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stocksdb.api import read_prices_frame
from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.cross_sections import read_cross_section
from stocksdb.db.names import read_security_names
from stocksdb.db.queries import MANY_IDS, read_price_columns
from stocksdb.gates.base import GateContext
from stocksdb.jobs.cross_sections import copies_match_rows
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import AAPL, DAYS, IBM, META, load_settings

D1, D2, D3 = (date.fromisoformat(d) for d in DAYS)


def _build(dsn: str) -> dict[str, int]:
    report = run_job(Settings(), dsn, RunRequest(job="cross_sections"))
    assert report.status == "succeeded", report.as_dict()
    return {k: report.counts[k] for k in ("inserted", "unchanged")}


def _copies(dsn: str) -> list[date]:
    with connect(dsn) as c:
        return [r[0] for r in c.execute(
            "SELECT trade_date FROM stocks_research.cross_sections ORDER BY 1")]


def _by_figi(dsn: str, columns: dict[str, np.ndarray[Any, Any]], name: str) -> dict[str, Any]:
    with connect(dsn) as c:
        figi = dict(c.execute("SELECT security_id, composite_figi FROM securities").fetchall())
    return {figi[int(s)]: v.item() for s, v in zip(columns["security_id"], columns[name],
                                                    strict=True)}


def test_a_dates_copy_holds_its_bars_and_factors_and_is_what_a_read_returns(
        adjusted_market: str) -> None:
    """Each date gets one copy (method crsp); it holds the hand-written bars (close 180+i,
    160+i, 350+i then 88 after META's 1->4 split; high = close + 0.5, volume 1000,
    transactions 10) and the factors (META 0.25 / 4 before the split); a date's read gives the
    rows' arrays bit for bit, and comes from the copy (a copy altered by hand shows through)."""
    columns = ("security_id", "trade_date", "open", "high", "low", "close", "volume",
               "transactions")
    with connect(adjusted_market) as c:
        from_rows = {(d, m): read_price_columns(c, trade_date=d, method=m, columns=columns)
                     for d in (D1, D2, D3) for m in ("crsp", None)}
    assert _build(adjusted_market) == {"inserted": 3, "unchanged": 0}
    assert _copies(adjusted_market) == [D1, D2, D3]
    with connect(adjusted_market) as c:
        copy = read_cross_section(c, D2, "crsp", transactions=True)
        from_copy = {(d, m): read_price_columns(c, trade_date=d, method=m, columns=columns)
                     for d in (D1, D2, D3) for m in ("crsp", None)}
    assert copy is not None and copy.factors is not None
    assert _by_figi(adjusted_market, copy.bars, "close") == {AAPL: 181.0, IBM: 161.0,
                                                             META: 351.0}
    assert _by_figi(adjusted_market, copy.bars, "high") == {AAPL: 181.5, IBM: 161.5,
                                                            META: 351.5}
    assert set(_by_figi(adjusted_market, copy.bars, "volume").values()) == {1000}
    assert set(_by_figi(adjusted_market, copy.bars, "transactions").values()) == {10}
    assert _by_figi(adjusted_market, copy.factors, "price_factor") == {AAPL: 1.0, IBM: 1.0,
                                                                       META: 0.25}
    assert _by_figi(adjusted_market, copy.factors, "volume_factor") == {AAPL: 1.0, IBM: 1.0,
                                                                        META: 4.0}
    for key, rows in from_rows.items():
        got = from_copy[key]
        assert list(got) == list(rows), key
        for name in rows:
            assert got[name].dtype == rows[name].dtype, (key, name)
            np.testing.assert_array_equal(got[name], rows[name], err_msg=str((key, name)))
    with connect(adjusted_market) as c:   # a hand-made close of 1e6 for every bar of D2
        n = len(from_rows[(D2, None)]["close"])
        c.execute("UPDATE stocks_research.cross_sections SET bars = overlay(bars PLACING %s "
                  "FROM %s) WHERE trade_date = %s",
                  (np.full(n, 1e6).astype("<f8").tobytes(), 1 + 4 * 8 * n, D2))
        c.commit()
        assert read_price_columns(c, trade_date=D2)["close"].tolist() == [1e6] * n


def test_a_statement_on_a_date_forgets_that_dates_copy_only(adjusted_market: str) -> None:
    """UPDATE, DELETE and upsert of bars, an UPDATE of factors and a TRUNCATE each delete the
    copies of the dates they touch, in their own transaction (a rollback keeps them); a read
    then gives the new rows, and the job builds back exactly the dates it lacks."""
    _build(adjusted_market)
    with connect(adjusted_market) as c:
        c.execute("UPDATE prices_daily SET open = open + 0.25 WHERE trade_date = %s", (D2,))
        c.rollback()
        assert _copies(adjusted_market) == [D1, D2, D3]
        c.execute("UPDATE prices_daily SET close = 161.25 WHERE trade_date = %s AND security_id = "
                  "(SELECT security_id FROM securities WHERE composite_figi = %s)", (D2, IBM))
        c.commit()
        assert _copies(adjusted_market) == [D1, D3]
        bars = read_price_columns(c, trade_date=D2)
        assert _by_figi(adjusted_market, bars, "close") == {AAPL: 181.0, IBM: 161.25,
                                                            META: 351.0}
        c.execute("DELETE FROM prices_daily WHERE trade_date = %s AND security_id = "
                  "(SELECT security_id FROM securities WHERE composite_figi = %s)", (D3, AAPL))
        c.commit()
        assert _copies(adjusted_market) == [D1]
    assert _build(adjusted_market) == {"inserted": 2, "unchanged": 1}
    with connect(adjusted_market) as c:
        bars = read_price_columns(c, trade_date=D3, method="crsp")
        assert _by_figi(adjusted_market, bars, "close") == {IBM: 162.0, META: 88.0}
        c.execute("INSERT INTO prices_daily (security_id, trade_date, open, high, low, close, "
                  "volume, source) SELECT security_id, trade_date, open, high, low, close, "
                  "volume, source FROM prices_daily WHERE trade_date = %s AND security_id = "
                  "(SELECT security_id FROM securities WHERE composite_figi = %s) "
                  "ON CONFLICT (security_id, trade_date) DO UPDATE SET close = 179.75", (D1, AAPL))
        c.commit()
        assert _copies(adjusted_market) == [D2, D3]
        c.execute("UPDATE adjustment_factors_daily SET price_factor = 0.5 WHERE trade_date = %s "
                  "AND security_id = (SELECT security_id FROM securities WHERE composite_figi "
                  "= %s)", (D2, META))
        c.commit()
        assert _copies(adjusted_market) == [D3]
        factors = read_price_columns(c, trade_date=D2, method="crsp")
        assert _by_figi(adjusted_market, factors, "price_factor")[META] == 0.5
    assert _build(adjusted_market) == {"inserted": 2, "unchanged": 1}
    with connect(adjusted_market) as c:
        c.execute("TRUNCATE adjustment_factors_daily")
        c.commit()
    assert _copies(adjusted_market) == []


def test_a_load_leaves_no_copy_of_a_date_it_wrote(db: str, market: Path,
                                                  both_load_paths: bool) -> None:
    """A copy left for a date with no bars (here by hand) is gone once a load writes that
    date: the per-date merge's statements fire the triggers, the hydration deletes its year's
    copies when it attaches the year (no trigger sees an attach)."""
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=market))
    with connect(db) as c:
        c.execute("INSERT INTO stocks_research.cross_sections (trade_date, method, bars, "
                  "transactions, factors, factor_rows) VALUES (%s, 'crsp', '', '', '', 0)",
                  (D1,))
        c.commit()
    report = run_job(load_settings(), db, RunRequest(job="prices_daily", path=market, start=D1))
    assert report.status == "succeeded", report.as_dict()
    assert _copies(db) == []
    with connect(db) as c:
        assert len(read_price_columns(c, trade_date=D1)["close"]) == 3


def test_the_post_gate_names_a_copy_that_does_not_match_its_rows(adjusted_market: str) -> None:
    """A copy of D1 holding one bar (D1 has three) and two factor rows is named with both
    counts; the copies the job writes pass."""
    _build(adjusted_market)
    with connect(adjusted_market) as c:
        c.execute("UPDATE stocks_research.cross_sections SET bars = substr(bars, 1, 48), "
                  "factor_rows = 2, run_id = -7 WHERE trade_date = %s", (D1,))
        found = copies_match_rows(c, GateContext(job="cross_sections", run_id=-7))
        clean = copies_match_rows(c, GateContext(job="cross_sections", run_id=None))
    assert found.failed == 1
    assert list(found.examples) == [f"{D1} crsp: 1 bars for 3 rows, 2 factors for 3 bars with one"]
    assert clean.failed == 0


def test_every_security_names_are_kept_until_a_writer_changes_them(
        adjusted_market: str) -> None:
    """Two reads of every security's names give the one kept object; another connection's
    change to ticker_history is not seen before its commit and is seen at once after it."""
    with connect(adjusted_market) as reader, connect(adjusted_market) as writer:
        first = read_security_names(reader)
        reader.commit()
        assert read_security_names(reader) is first
        reader.commit()
        writer.execute("UPDATE ticker_history SET ticker = 'FBX' WHERE ticker = 'FB'")
        assert read_security_names(reader) is first   # not committed yet
        reader.commit()
        writer.commit()
        after = read_security_names(reader)
    assert after is not first
    meta = int(after.security_ids[after.figis.tolist().index(META)])
    assert after.spans.tickers_of(np.array([meta]), np.array([D1], "datetime64[D]")).tolist() \
        == ["FBX"]
    assert first.spans.tickers_of(np.array([meta]), np.array([D1], "datetime64[D]")).tolist() \
        == ["FB"]


@pytest.mark.parametrize("method", ["crsp", None])
def test_a_date_without_a_copy_is_read_from_its_rows(adjusted_market: str,
                                                      method: str | None) -> None:
    """No copy built: read_cross_section finds none and the read gives the rows."""
    with connect(adjusted_market) as c:
        assert read_cross_section(c, D3, method) is None
        bars = read_price_columns(c, trade_date=D3, method=method)
    assert _by_figi(adjusted_market, bars, "close") == {AAPL: 182.0, IBM: 162.0, META: 88.0}


def test_a_date_outside_the_range_also_asked_for_reads_nothing(adjusted_market: str) -> None:
    """trade_date D1 with start = end = D2 matches no row: the copy of D2 is not used for it."""
    _build(adjusted_market)
    with connect(adjusted_market) as c:
        both = read_price_columns(c, trade_date=D1, start=D2, end=D2)
        one = read_price_columns(c, trade_date=D1, start=D1)
    assert len(both["close"]) == 0
    assert _by_figi(adjusted_market, one, "close") == {AAPL: 180.0, IBM: 160.0, META: 350.0}


def test_a_universe_read_of_a_date_takes_its_copy_and_sees_a_names_change_at_once(
        adjusted_market: str) -> None:
    """read_prices_frame for more than MANY_IDS FIGIs on one date, read again: the same frame
    (the second read takes the copy and the names' moment in one statement); a rename
    committed by another connection between two reads shows in the next one."""
    _build(adjusted_market)
    with connect(adjusted_market) as c:
        real = [r[0] for r in c.execute("SELECT composite_figi FROM securities ORDER BY 1")]
    universe = real * (MANY_IDS // len(real) + 1)
    with connect(adjusted_market, autocommit=True) as reader, \
            connect(adjusted_market, autocommit=True) as writer:
        first = read_prices_frame(reader, figis=universe, start=D1, end=D1)
        again = read_prices_frame(reader, figis=universe, start=D1, end=D1)
        writer.execute("UPDATE ticker_history SET ticker = 'FBX' WHERE ticker = 'FB'")
        renamed = read_prices_frame(reader, figis=universe, start=D1, end=D1)
    assert again.equals(first)
    assert dict(zip(first["composite_figi"], first["ticker"], strict=True)) == {
        AAPL: "AAPL", IBM: "IBM", META: "FB"}
    assert dict(zip(first["composite_figi"], first["close"], strict=True)) == {
        AAPL: 180.0, IBM: 160.0, META: 350 * 0.25}
    assert dict(zip(renamed["composite_figi"], renamed["ticker"], strict=True))[META] == "FBX"
