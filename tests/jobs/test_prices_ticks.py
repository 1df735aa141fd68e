"""prices_daily flags false ticks on split-adjusted closes as warnings in
ingestion.quality_findings; the run still succeeds (a small generated market, fix_data)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.queries import read_closes
from stocksdb.domain.sessions import sessions_in_range
from stocksdb.foundation.false_ticks import FalseTick
from stocksdb.jobs.base import JobReport
from stocksdb.jobs.prices_ticks import RunTickScan, find_run_false_ticks
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import (
    AAPL,
    IBM,
    META,
    make_bar,
    make_interval,
    make_security,
    split,
    write_actions,
    write_day,
    write_reference,
)

# 2024-01-02 .. 2024-02-06: 25 XNYS sessions (01-01 and 01-15 closed)
FIRST, LAST = date(2024, 1, 2), date(2024, 2, 6)
SPIKE_DAY, BACK_DAY = "2024-01-19", "2024-01-22"


def build_market(root: Path, *, spike: bool = True, ibm_from: str | None = None) -> Path:
    """AAPL at 180, 181, 182, 180, ... and IBM at 1.60, 1.61, ...; AAPL's SPIKE_DAY bar at
    1440 (8 x 180) when `spike`; IBM x 100 from `ibm_from` on (a 1-for-100 reverse split)."""
    write_reference(root, [make_security(AAPL), make_security(IBM)],
                    [make_interval(AAPL, "AAPL", "2000-01-03"),
                     make_interval(IBM, "IBM", "2000-01-03")])
    for i, day in enumerate(sessions_in_range(FIRST, LAST)):
        iso = day.isoformat()
        aapl = 1440.0 if spike and iso == SPIKE_DAY else 180.0 + i % 3
        ibm = (1.6 + (i % 2) / 100) * (100 if ibm_from and iso >= ibm_from else 1)
        write_day(root, iso, [make_bar("AAPL", iso, aapl),
                              make_bar("IBM", iso, ibm, high=ibm * 1.01, low=ibm * 0.99)])
    return root


def prices(db: str, root: Path, start: date, end: date = LAST) -> JobReport:
    return run_job(Settings(), db, RunRequest(job="prices_daily", path=root, start=start,
                                              end=end))


def load_reference_and_actions(db: str, root: Path) -> None:
    for job in ("securities_master", "ticker_history", "corporate_actions"):
        report = run_job(Settings(), db, RunRequest(job=job, path=root))
        assert report.status == "succeeded", report.as_dict()


def findings(db: str) -> list[tuple[Any, ...]]:
    """(run_id, check_name, reason_code, severity, subject) of every finding, in order."""
    with connect(db) as c:
        return c.execute("SELECT run_id, check_name, reason_code, severity, subject FROM "
                         "ingestion.quality_findings ORDER BY finding_id").fetchall()


def test_a_spiked_close_is_a_warning_and_the_run_succeeds(db: str, tmp_path: Path) -> None:
    """AAPL at 1440 on 2024-01-19 between 180-182 closes: one `prices.false_ticks` finding
    (warn, false_tick) naming it, back on 2024-01-22; the post-gate warns, the run succeeds."""
    root = build_market(tmp_path / "m")
    write_actions(root, [], [])
    load_reference_and_actions(db, root)
    report = prices(db, root, FIRST)
    assert report.status == "succeeded", report.as_dict()
    assert report.counts["false_ticks"] == 1
    [(run_id, check, reason, severity, subject)] = findings(db)
    assert (run_id, check, reason, severity) == (report.run_id, "prices.false_ticks",
                                                 "false_tick", "warn")
    assert {k: subject[k] for k in ("ticker", "trade_date", "kind", "close", "back_on")} == {
        "ticker": "AAPL", "trade_date": SPIKE_DAY, "kind": "spike", "close": 1440.0,
        "back_on": BACK_DAY}
    [gate] = [g for g in report.gates["post"] if g["check"] == "prices.false_ticks"]
    assert (gate["status"], gate["failed"], gate["examples"]) == (
        "warn", 1, [["AAPL", SPIKE_DAY, "spike"]])


def test_a_clean_market_has_no_finding(db: str, tmp_path: Path) -> None:
    """Without the spike: no finding, the gate check passes."""
    root = build_market(tmp_path / "m", spike=False)
    write_actions(root, [], [])
    load_reference_and_actions(db, root)
    report = prices(db, root, FIRST)
    assert report.counts["false_ticks"] == 0 and findings(db) == []
    [gate] = [g for g in report.gates["post"] if g["check"] == "prices.false_ticks"]
    assert gate["status"] == "pass"


def test_closes_are_split_adjusted_with_corporate_actions(db: str, tmp_path: Path) -> None:
    """IBM's raw close jumps 100x on 2024-01-24 for good: a 1-for-100 reverse split listed in
    corporate_actions, so its split-adjusted closes are smooth and nothing is flagged."""
    root = build_market(tmp_path / "m", spike=False, ibm_from="2024-01-24")
    write_actions(root, [split("IBM", "2024-01-24", 100, 1)], [])
    load_reference_and_actions(db, root)
    assert prices(db, root, FIRST).counts["false_ticks"] == 0
    with connect(db) as conn:   # the scan fed as a run writes sees no jump either
        sessions = sessions_in_range(FIRST, LAST)
        scan = RunTickScan(conn, sessions)
        for day in sessions:
            scan.written(conn, day, read_closes(conn, [int(i) for i in scan.scan.ids], day,
                                                day), [])
        assert scan.jumped() == []
        scan.close()


def test_without_the_split_event_the_100x_jump_is_a_unit_warning(db: str,
                                                                 tmp_path: Path) -> None:
    """The same raw closes with no split listed: one unit_100x finding on IBM, 2024-01-24."""
    root = build_market(tmp_path / "m", spike=False, ibm_from="2024-01-24")
    write_actions(root, [], [])
    load_reference_and_actions(db, root)
    prices(db, root, FIRST)
    [(*_, subject)] = findings(db)
    assert (subject["ticker"], subject["trade_date"], subject["kind"], subject["back_on"]) == (
        "IBM", "2024-01-24", "unit_100x", None)


def test_a_tick_is_reported_by_the_run_that_loads_the_bar_bringing_it_back(
        db: str, tmp_path: Path) -> None:
    """A run ending on the spike (2024-01-19) cannot tell it from a new level: no finding.
    The next daily run (2024-01-22 alone) loads the way back and reports the 01-19 tick."""
    root = build_market(tmp_path / "m")
    write_actions(root, [], [])
    load_reference_and_actions(db, root)
    first = prices(db, root, FIRST, date(2024, 1, 19))
    assert first.counts["false_ticks"] == 0
    second = prices(db, root, date(2024, 1, 22), date(2024, 1, 22))
    assert second.counts["false_ticks"] == 1
    [(run_id, *_, subject)] = findings(db)
    assert (run_id, subject["trade_date"], subject["back_on"]) == (second.run_id, SPIKE_DAY,
                                                                   BACK_DAY)


def test_the_scan_fed_as_the_run_writes_finds_what_the_whole_range_scan_finds(
        db: str, tmp_path: Path) -> None:
    """A noisy three-security market (2 % random walks, 8x and 1/5 spikes, IBM missing days,
    META's 2-for-1 split on 2024-02-15 with its event): for ranges at the start, the middle and
    the end of the data, RunTickScan fed session by session gives exactly the false ticks of
    find_run_false_ticks, which reads the whole range back; some ranges have ticks."""
    rng = np.random.default_rng(7)
    days = sessions_in_range(date(2024, 1, 2), date(2024, 3, 28))
    walks = {t: 50.0 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))
             for t in ("AAPL", "IBM", "META")}
    for ticker, at_day, factor in (("AAPL", 15, 8.0), ("IBM", 30, 0.2), ("META", 44, 8.0),
                                   ("AAPL", 50, 0.2)):
        walks[ticker][at_day] *= factor
    walks["META"][[i for i, d in enumerate(days) if d >= date(2024, 2, 15)]] /= 2
    root = tmp_path / "m"
    write_reference(root, [make_security(f) for f in (AAPL, IBM, META)],
                    [make_interval(f, t, "2000-01-03")
                     for f, t in ((AAPL, "AAPL"), (IBM, "IBM"), (META, "META"))])
    for i, day in enumerate(days):
        iso = day.isoformat()
        write_day(root, iso, [make_bar(t, iso, float(round(w[i], 4))) for t, w in walks.items()
                              if not (t == "IBM" and i % 7 == 3)])
    write_actions(root, [split("META", "2024-02-15", 1, 2)], [])
    load_reference_and_actions(db, root)
    assert prices(db, root, days[0], days[-1]).status == "succeeded"

    def key(found: list[tuple[FalseTick, float]]) -> list[tuple[Any, ...]]:
        return sorted((t.symbol, t.ts, t.kind, t.reverted_at, round(close, 6))
                      for t, close in found)

    total = 0
    with connect(db) as conn:
        for first, last in ((0, 20), (10, 35), (16, 16), (40, len(days) - 1), (51, 51)):
            sessions = days[first:last + 1]
            scan = RunTickScan(conn, sessions)
            for day in sessions:
                stored = read_closes(conn, [int(i) for i in scan.scan.ids], day, day)
                scan.written(conn, day, stored, [])
            streamed = scan.find(conn, sessions)
            scan.close()
            assert scan.scan.unknown == 0
            assert key(streamed) == key(find_run_false_ticks(conn, sessions)), (first, last)
            total += len(streamed)
    assert total >= 3
