"""adjustment_factors_daily matches hand-checked answer files (tests/resources/answers)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.domain.adjustments import AdjustmentMethod
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import (
    RESOURCES,
    dividend,
    make_bar,
    make_interval,
    make_security,
    split,
    write_actions,
    write_day,
    write_reference,
)

ANSWERS = RESOURCES / "answers"
METHODS = ("crsp", "exdate_close")
RTOL = 1e-12
# Well-formed FIGIs made for tests (not real ones): 'BBG' + 8 chars + check digit.
FIGI_A, FIGI_B = "BBG000000016", "BBG000000025"

Bar = tuple[str, str, float, float, float, float]  # ticker, day, open, high, low, close


@dataclass(frozen=True)
class Case:
    """The reviewed inputs of one answer file."""

    name: str
    securities: list[dict[str, str]]
    intervals: list[dict[str, str]]
    bars: list[Bar]
    splits: list[dict[str, Any]] = field(default_factory=list)
    dividends: list[dict[str, Any]] = field(default_factory=list)


def flat(ticker: str, days: list[str], close: float) -> list[Bar]:
    return [(ticker, d, close, close + 0.5, close - 0.5, close) for d in days]


FORWARD_SPLIT = Case(
    "forward_split",
    [make_security(FIGI_A), make_security(FIGI_B)],
    [make_interval(FIGI_A, "FWD", "2000-01-03"), make_interval(FIGI_B, "OTHR", "2000-01-03")],
    [("FWD", "2024-01-02", 99, 101, 98, 100),
     ("FWD", "2024-01-03", 100, 103, 99, 102),
     ("FWD", "2024-01-04", 102, 105, 101, 104),
     ("FWD", "2024-01-05", 104, 104.5, 99.5, 100),
     ("FWD", "2024-01-08", 25, 26, 24.5, 25.5),
     ("FWD", "2024-01-09", 25.5, 26.5, 25, 26),
     ("FWD", "2024-01-10", 26, 26.25, 24.75, 25),
     *flat("OTHR", ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08",
                    "2024-01-09", "2024-01-10"], 50)],
    splits=[split("FWD", "2024-01-08", 1, 4)])

REVERSE_SPLIT = Case(
    "reverse_split",
    [make_security(FIGI_A)],
    [make_interval(FIGI_A, "REV", "2000-01-03")],
    [("REV", "2024-01-16", 1.95, 2.05, 1.9, 2.0),
     ("REV", "2024-01-17", 2.0, 2.15, 1.95, 2.1),
     ("REV", "2024-01-18", 2.1, 2.25, 2.05, 2.2),
     ("REV", "2024-01-19", 2.2, 2.2, 1.95, 2.0),
     ("REV", "2024-01-22", 20, 20.8, 19.8, 20.5),
     ("REV", "2024-01-23", 20.5, 21.2, 20.3, 21),
     ("REV", "2024-01-24", 21, 21, 19.9, 20)],
    splits=[split("REV", "2024-01-22", 10, 1)])

SPECIAL_AND_CASH_DIVIDEND = Case(
    "special_and_cash_dividend",
    [make_security(FIGI_A)],
    [make_interval(FIGI_A, "DIV", "2000-01-03")],
    [("DIV", "2024-02-01", 50.5, 51.5, 50, 51),
     ("DIV", "2024-02-02", 51, 51, 49.5, 50),
     ("DIV", "2024-02-05", 45, 45.5, 43.5, 44),
     ("DIV", "2024-02-06", 44, 46.5, 44, 46),
     ("DIV", "2024-02-07", 46, 50.5, 46, 50),
     ("DIV", "2024-02-08", 49.5, 49.8, 48.8, 49),
     ("DIV", "2024-02-09", 49, 50, 48.9, 49.5)],
    dividends=[dividend("DIV", "2024-02-05", 5.0, "SC"), dividend("DIV", "2024-02-08", 0.5)])

SPLIT_AND_DIVIDEND_SAME_DAY = Case(
    "split_and_dividend_same_day",
    [make_security(FIGI_A)],
    [make_interval(FIGI_A, "SAM", "2000-01-03")],
    [("SAM", "2024-01-22", 79.5, 80.5, 79, 80),
     ("SAM", "2024-01-23", 80, 81.5, 79.8, 81),
     ("SAM", "2024-01-24", 81, 81, 78.5, 79),
     ("SAM", "2024-01-25", 79, 80.2, 78.8, 80),
     ("SAM", "2024-01-26", 39, 39.8, 38.6, 39.5),
     ("SAM", "2024-01-29", 39.5, 39.6, 38.8, 39),
     ("SAM", "2024-01-30", 39, 40.2, 38.9, 40)],
    splits=[split("SAM", "2024-01-26", 1, 2)],
    dividends=[dividend("SAM", "2024-01-26", 1.0)])

RENAMED_SECURITY = Case(
    "renamed_security",
    [make_security(FIGI_A), make_security(FIGI_B, list_date="2024-02-14")],
    [make_interval(FIGI_A, "OLD", "2000-01-03", "2024-02-14"),
     make_interval(FIGI_A, "NEW", "2024-02-14"),
     make_interval(FIGI_B, "OLD", "2024-02-14")],
    [("OLD", "2024-02-07", 28.8, 29.3, 28.5, 29),
     ("OLD", "2024-02-08", 29, 30.2, 28.9, 30),
     ("OLD", "2024-02-09", 29.5, 29.6, 29, 29.2),
     ("OLD", "2024-02-12", 29.2, 29.8, 29.1, 29.5),
     ("OLD", "2024-02-13", 29.5, 30.1, 29.4, 30),
     ("NEW", "2024-02-14", 10, 10.4, 9.9, 10.2),
     ("NEW", "2024-02-15", 10.2, 10.3, 10, 10.1),
     ("NEW", "2024-02-16", 10.1, 10.2, 9.9, 10),
     *flat("OLD", ["2024-02-14", "2024-02-15", "2024-02-16"], 7)],
    splits=[split("NEW", "2024-02-14", 1, 3)],
    dividends=[dividend("OLD", "2024-02-09", 0.3)])

Key = tuple[str, str, str]          # ticker_on_date, trade_date, method
Row = tuple[float, float, float]    # raw_close, price_factor, volume_factor


def answers(case: Case) -> dict[Key, Row]:
    with (ANSWERS / f"{case.name}.csv").open(newline="") as fh:
        return {(r["ticker_on_date"], r["trade_date"], r["method"]):
                (float(r["raw_close"]), float(r["price_factor"]), float(r["volume_factor"]))
                for r in csv.DictReader(fh)}


def computed(db: str, root: Path, case: Case) -> dict[Key, Row]:
    """Load the case through every job, both methods, and read the stored factors."""
    write_reference(root, case.securities, case.intervals)
    days = sorted({b[1] for b in case.bars})
    for day in days:
        write_day(root, day, [make_bar(t, d, c, open=o, high=h, low=lo)
                              for t, d, o, h, lo, c in case.bars if d == day])
    write_actions(root, case.splits, case.dividends)
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=root))
    prices = run_job(Settings(), db, RunRequest(job="prices_daily", path=root,
                                                start=date.fromisoformat(days[0]),
                                                end=date.fromisoformat(days[-1])))
    assert prices.counts["rows_written"] == len(case.bars), prices.as_dict()
    requests = [RunRequest(job="corporate_actions", path=root)] + [
        RunRequest(job="adjustment_factors_daily", method=AdjustmentMethod(m)) for m in METHODS]
    for request in requests:
        report = run_job(Settings(), db, request)
        assert report.status == "succeeded", report.as_dict()
    with connect(db) as c:
        rows = c.execute("""
            SELECT th.ticker, a.trade_date::text, a.method, p.close, a.price_factor,
                   a.volume_factor
              FROM stocks_research.adjustment_factors_daily a
              JOIN stocks_research.prices_daily p USING (security_id, trade_date)
              JOIN stocks_research.ticker_history th
                ON th.security_id = a.security_id AND th.valid_from <= a.trade_date
               AND (th.valid_to IS NULL OR a.trade_date < th.valid_to)""").fetchall()
    return {(t, d, m): (float(c), float(pf), float(vf)) for t, d, m, c, pf, vf in rows}


def assert_matches_answers(db: str, root: Path, case: Case) -> None:
    expected, got = answers(case), computed(db, root, case)
    assert got.keys() == expected.keys(), (sorted(got.keys() - expected.keys()),
                                           sorted(expected.keys() - got.keys()))
    wrong = [(key, "expected", expected[key], "got", got[key]) for key in sorted(expected)
             if got[key][0] != expected[key][0]
             or not all(math.isclose(g, e, rel_tol=RTOL, abs_tol=0.0)
                        for g, e in zip(got[key][1:], expected[key][1:], strict=True))]
    assert not wrong, "\n".join(map(str, wrong))


def test_forward_split_scales_earlier_prices_by_a_quarter(db: str, tmp_path: Path) -> None:
    """A 1->4 split gives 0.25 (volume 4) before its ex-date and leaves a control at 1."""
    assert_matches_answers(db, tmp_path, FORWARD_SPLIT)


def test_reverse_split_scales_earlier_prices_by_ten(db: str, tmp_path: Path) -> None:
    """A 10->1 reverse split gives 10 (volume 0.1) before its ex-date."""
    assert_matches_answers(db, tmp_path, REVERSE_SPLIT)


def test_special_and_cash_dividends_compound_per_method(db: str, tmp_path: Path) -> None:
    """A special and a regular dividend multiply: 0.891 under crsp, 8/9 under exdate_close."""
    assert_matches_answers(db, tmp_path, SPECIAL_AND_CASH_DIVIDEND)


def test_same_day_dividend_is_per_post_split_share(db: str, tmp_path: Path) -> None:
    """Split 1->2 with D=1 on one ex-date: crsp 1/2*(1-1/(80/2)) = 0.4875, exdate 79/162."""
    assert_matches_answers(db, tmp_path, SPLIT_AND_DIVIDEND_SAME_DAY)


def test_renamed_security_carries_factors_across_both_tickers(db: str, tmp_path: Path) -> None:
    """OLD's dividend and NEW's split land on one security; the ticker's next holder gets 1."""
    assert_matches_answers(db, tmp_path, RENAMED_SECURITY)


def test_a_first_run_on_no_factors_leaves_the_indexes_as_the_migrations_made_them(
        db: str, tmp_path: Path) -> None:
    """The first factors of an empty table are written before the date index is built (it is
    dropped and made again in the run's transaction): afterwards the table's indexes, and its
    partitions', are those the migrations define, and the answers hold."""
    query = ("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = "
             "'stocks_research' AND tablename = 'adjustment_factors_daily' ORDER BY 2")
    with connect(db) as c:
        migrated = c.execute(query).fetchall()
    assert [name for _, name, _ in migrated] == ["adjustment_factors_daily_date_idx",
                                                 "adjustment_factors_daily_pkey"]
    assert_matches_answers(db, tmp_path, FORWARD_SPLIT)
    with connect(db) as c:
        assert c.execute(query).fetchall() == migrated
        partitions = c.execute(
            "SELECT count(*) FILTER (WHERE indexdef LIKE '%(method, trade_date, security_id) "
            "INCLUDE (price_factor, volume_factor)'), count(DISTINCT tablename) FROM "
            "pg_indexes WHERE tablename LIKE 'adjustment_factors_daily_y%'").fetchone()
    assert partitions is not None and partitions[0] == partitions[1] > 0, partitions


def test_a_run_that_writes_the_factors_analyzes_them(db: str, tmp_path: Path) -> None:
    """Every factor partition written by a first run has planner statistics of its rows (its
    method column seen) when the run commits, whatever autovacuum has done."""
    with connect(db, autocommit=True) as c:
        c.execute("SELECT ensure_year_partitions('adjustment_factors_daily', '2024-01-01', "
                  "'2024-12-31')")
        c.execute("ANALYZE stocks_research.adjustment_factors_daily")   # as when still empty
    assert_matches_answers(db, tmp_path, FORWARD_SPLIT)
    with connect(db) as c:
        seen = c.execute("SELECT tablename, most_common_vals::text FROM pg_stats "
                         "WHERE schemaname = 'stocks_research' AND attname = 'method' AND "
                         "tablename LIKE 'adjustment_factors_daily_y%'").fetchall()
    assert seen and all(vals == "{crsp,exdate_close}" for _, vals in seen), seen
