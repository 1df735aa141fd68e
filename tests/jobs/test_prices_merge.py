"""merge_session on hand-made sessions: an unchanged re-run writes nothing, any difference merges.

Every expected count and stored row below is worked out by hand from STORED and the change a
test makes. "Writes nothing" is checked twice: the stored rows keep their run_id and
ingested_at, and the date's transaction never got a transaction id (PostgreSQL assigns one on
the first write, the temporary stage table included), so the merge path was not taken either.
A -0.0 against 0.0 cannot be stored (prices_daily requires prices > 0 and volume and
transactions are bigint), so the smallest float change tested is one ulp.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.partitions import ensure_year_partitions
from stocksdb.db.sync import MergeCounts
from stocksdb.jobs.prices_merge import encode_bars, merge_session
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import load_reference

SESSION = date(2024, 1, 3)
# (security_id, open, high, low, close, volume, transactions), stored by run 1 of "files"
STORED = [(1, 10.0, 11.0, 9.0, 10.5, 1000, 50), (2, 20.0, 21.0, 19.0, 20.5, 2000, None),
          (3, 30.0, 31.0, 29.0, 30.5, 3000, 70)]
Bar = tuple[Any, ...]


def make_bars(rows: Sequence[Bar]) -> pd.DataFrame:
    """Accepted bars with DayCheck.accepted's dtypes (transactions nullable Int64)."""
    frame = pd.DataFrame(list(rows), columns=["security_id", "open", "high", "low", "close",
                                              "volume", "transactions"])
    return frame.astype({"security_id": "int64", "open": "float64", "high": "float64",
                         "low": "float64", "close": "float64", "volume": "int64",
                         "transactions": "Int64"})


def merge(dsn: str, rows: Sequence[Bar], *, run_id: int, source: str = "files",
          delete_missing: bool = True, keep: Sequence[int] = ()) -> tuple[MergeCounts, bool]:
    """merge_session of `rows` in one committed transaction; its counts, and whether it
    wrote."""
    bars = make_bars(rows)
    with connect(dsn) as conn, conn.transaction():
        ensure_year_partitions(conn, "prices_daily", SESSION, SESSION)
        counts = merge_session(conn, encode_bars(bars, SESSION, source=source, run_id=run_id),
                               source=source, delete_missing=delete_missing, keep=keep,
                               bars=bars).counts
        row = conn.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL").fetchone()
    assert row is not None
    return counts, bool(row[0])


def stored(dsn: str) -> list[tuple[Any, ...]]:
    """The session's rows: bar values, source, run_id and ingested_at, by security_id."""
    with connect(dsn) as conn:
        return conn.execute(
            "SELECT security_id, open, high, low, close, volume, transactions, source, run_id, "
            "ingested_at FROM stocks_research.prices_daily WHERE trade_date = %s "
            "ORDER BY security_id", (SESSION,)).fetchall()


@pytest.fixture
def session_db(db: str) -> str:
    """A database whose session SESSION holds STORED, written by run 1 of source files."""
    counts, wrote = merge(db, STORED, run_id=1)
    assert counts == MergeCounts(inserted=3) and wrote, counts
    return db


def with_bar(security_id: int, **values: object) -> list[Bar]:
    """STORED with one bar's fields replaced."""
    names = ("security_id", "open", "high", "low", "close", "volume", "transactions")
    return [tuple(values.get(n, v) for n, v in zip(names, bar, strict=True))
            if bar[0] == security_id else bar for bar in STORED]


def test_unchanged_rerun_writes_nothing(session_db: str) -> None:
    """The same bars again: 3 unchanged of 3 stored, no write, run_id and ingested_at kept."""
    before = stored(session_db)
    counts, wrote = merge(session_db, STORED, run_id=2)
    assert counts == MergeCounts(unchanged=3, stored_before=3), counts
    assert not wrote, "an unchanged re-run must not write (not even the stage table)"
    assert stored(session_db) == before
    assert {r[8] for r in before} == {1}


@pytest.mark.parametrize(("kw", "rows"), [
    ({"keep": (3,)}, STORED[:2]),                  # bar 3's row was rejected: it is kept
    ({"delete_missing": False}, STORED[:2]),       # --symbols: nothing is deleted
], ids=["missing-but-kept", "missing-without-delete"])
def test_missing_bar_out_of_delete_scope_writes_nothing(session_db: str, kw: dict[str, Any],
                                                        rows: list[Bar]) -> None:
    """A bar missing from the file but outside the delete scope changes nothing: 2 unchanged,
    the 3 stored rows as they were."""
    before = stored(session_db)
    counts, wrote = merge(session_db, rows, run_id=2, **kw)
    assert counts == MergeCounts(unchanged=2, stored_before=3), counts
    assert not wrote and stored(session_db) == before


def test_stored_bar_of_another_source_is_out_of_delete_scope(session_db: str) -> None:
    """Security 4 stored by source 'other' is not this source's to delete: the files re-run
    is 3 unchanged of 4 stored and writes nothing."""
    merge(session_db, [(4, 40.0, 41.0, 39.0, 40.5, 4000, 80)], run_id=5, source="other",
          delete_missing=False)
    before = stored(session_db)
    counts, wrote = merge(session_db, STORED, run_id=2)
    assert counts == MergeCounts(unchanged=3, stored_before=4), counts
    assert not wrote and stored(session_db) == before


ONE_ULP = float(np.nextafter(10.0, np.inf))   # 10.000000000000002: the next double up


@pytest.mark.parametrize(("rows", "changed", "value"), [
    (with_bar(2, close=20.75), 2, ("close", 20.75)),
    (with_bar(1, open=ONE_ULP), 1, ("open", ONE_ULP)),
    (with_bar(3, volume=3001), 3, ("volume", 3001)),
    (with_bar(2, transactions=0), 2, ("transactions", 0)),        # NULL -> 0
    (with_bar(1, transactions=None), 1, ("transactions", None)),  # 50 -> NULL
], ids=["close", "open-one-ulp", "volume", "transactions-null-to-zero",
        "transactions-to-null"])
def test_one_changed_value_updates_that_bar_only(session_db: str, rows: list[Bar], changed: int,
                                                 value: tuple[str, object]) -> None:
    """One bar differing in one value: 1 updated (run 2 stamped on it), 2 unchanged."""
    before = {r[0]: r for r in stored(session_db)}
    counts, wrote = merge(session_db, rows, run_id=2)
    assert counts == MergeCounts(updated=1, unchanged=2, stored_before=3), counts
    after = {r[0]: r for r in stored(session_db)}
    column = ("open", "high", "low", "close", "volume", "transactions").index(value[0]) + 1
    assert wrote and after[changed][column] == value[1] and after[changed][8] == 2, after
    assert all(after[i] == before[i] for i in before if i != changed), after


def test_missing_bar_is_deleted(session_db: str) -> None:
    """Bar 3 gone from the file: 1 deleted, 2 unchanged, 2 rows stored."""
    counts, wrote = merge(session_db, STORED[:2], run_id=2)
    assert counts == MergeCounts(deleted=1, unchanged=2, stored_before=3), counts
    assert wrote and [r[0] for r in stored(session_db)] == [1, 2]


def test_extra_bar_is_inserted(session_db: str) -> None:
    """A fourth bar: 1 inserted (by run 2), 3 unchanged (still run 1's)."""
    counts, wrote = merge(session_db, [*STORED, (4, 40.0, 41.0, 39.0, 40.5, 4000, 80)],
                          run_id=2)
    assert counts == MergeCounts(inserted=1, unchanged=3, stored_before=3), counts
    assert wrote and [(r[0], r[8]) for r in stored(session_db)] == [(1, 1), (2, 1), (3, 1),
                                                                    (4, 2)]


def test_same_values_from_another_source_update_every_bar(session_db: str) -> None:
    """The same bars from source 'massive' replace the files bars: 3 updated, none deleted."""
    counts, wrote = merge(session_db, STORED, run_id=2, source="massive")
    assert counts == MergeCounts(updated=3, stored_before=3), counts
    assert wrote and {(r[7], r[8]) for r in stored(session_db)} == {("massive", 2)}


def test_loader_rerun_keeps_run_id_and_ingested_at(db: str, market: Path) -> None:
    """Through the job: a second run over the same three files counts the 9 bars unchanged and
    leaves every bar stamped by the first run."""
    load_reference(db, market)

    def run() -> dict[str, Any]:
        report = run_job(Settings(), db, RunRequest(job="prices_daily", path=market,
                                                    start=date(2024, 1, 2)))
        assert report.status == "succeeded", report.as_dict()
        return dict(report.counts)

    run()
    with connect(db) as conn:
        query = ("SELECT security_id, trade_date, run_id, ingested_at "
                 "FROM stocks_research.prices_daily ORDER BY 1, 2")
        before = conn.execute(query).fetchall()
    counts = run()
    assert (counts["rows_unchanged"], counts["rows_written"], counts["rows_updated"],
            counts["rows_deleted"]) == (9, 0, 0, 0), counts
    with connect(db) as conn:
        assert conn.execute(query).fetchall() == before
    assert len(before) == 9 and len({r[2] for r in before}) == 1
