"""Names as arrays (db.names): every security's names, those of some ids and those of some
FIGIs agree with each other and with the point-in-time resolver of domain.tickers."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.names import read_security_names
from stocksdb.db.queries import read_ticker_intervals
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import RESOURCES, make_security, write_reference


def _load_answer_intervals(db: str, tmp_path: Path) -> None:
    with (RESOURCES / "answers" / "ticker_intervals.csv").open(newline="") as fh:
        intervals = list(csv.DictReader(fh))
    figis = sorted({r["composite_figi"] for r in intervals})
    write_reference(tmp_path, [make_security(f) for f in figis], intervals)
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=tmp_path))


def test_names_by_all_ids_and_figis_agree_with_the_resolver(db: str, tmp_path: Path) -> None:
    """On every day of 2024, each security's ticker from the names read three ways is the one
    TickerIntervals gives, and its composite FIGI is the one securities holds."""
    _load_answer_intervals(db, tmp_path)
    with connect(db) as c:
        stored = dict(c.execute("SELECT security_id, composite_figi FROM securities").fetchall())
        resolver = read_ticker_intervals(c)
        ids = np.array(sorted(stored), dtype=np.int64)
        reads = {"everyone": read_security_names(c),
                 "by id": read_security_names(c, security_ids=ids),
                 "by figi": read_security_names(c, figis=[stored[i] for i in ids[::-1]])}
    days = np.array([date(2024, 1, 1) + timedelta(n) for n in range(366)], dtype="datetime64[D]")
    grid_ids, grid_days = np.repeat(ids, len(days)), np.tile(days, len(ids))
    want = resolver.tickers_of(grid_ids, grid_days)
    for how, names in reads.items():
        assert list(names.security_ids) == list(ids), how
        assert list(names.figis) == [stored[i] for i in ids], how
        assert names.figis_arrow.to_pylist() == [stored[i] for i in ids], how
        got = names.spans.tickers_of(grid_ids, grid_days)
        assert list(got) == list(want), how
    assert reads["everyone"].complete and not reads["by id"].complete


def test_figi_ids_answer_minus_one_for_names_that_are_no_figi(db: str, tmp_path: Path) -> None:
    """Duplicates resolve twice; an unknown FIGI, one holding a newline and "" resolve to -1
    (a newline must not split a name into two FIGIs)."""
    _load_answer_intervals(db, tmp_path)
    with connect(db) as c:
        stored = dict(c.execute("SELECT composite_figi, security_id FROM securities").fetchall())
        a, b = sorted(stored)[:2]
        asked = [a, b, a, "BBG000NOPE00", f"{a}\n{b}", ""]
        by_figi = read_security_names(c, figis=asked)
        everyone = read_security_names(c)
    want = [stored[a], stored[b], stored[a], -1, -1, -1]
    assert list(by_figi.figi_ids(asked)) == want
    assert list(everyone.figi_ids(asked)) == want
    assert list(by_figi.security_ids) == sorted([stored[a], stored[b]])


def test_figi_ids_of_a_list_asked_again_follow_its_content(db: str, tmp_path: Path) -> None:
    """The answer kept for the last list serves an equal list only: the same list changed in
    place since, or another list of the same length, gets its own answer."""
    _load_answer_intervals(db, tmp_path)
    with connect(db) as c:
        stored = dict(c.execute("SELECT composite_figi, security_id FROM securities").fetchall())
        names = read_security_names(c)
    a, b = sorted(stored)[:2]
    asked = [a, b]
    first = names.figi_ids(asked).tolist()
    same = names.figi_ids([a, b]).tolist()
    asked[1] = "BBG000NOPE00"
    changed = names.figi_ids(asked).tolist()
    other = names.figi_ids((b, a)).tolist()
    assert (first, same, changed, other) == ([stored[a], stored[b]], [stored[a], stored[b]],
                                             [stored[a], -1], [stored[b], stored[a]])
