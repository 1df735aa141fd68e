"""Ticker intervals without a database: parsing, first-come overlap acceptance, and the
point-in-time resolver checked against the hand-worked answer file."""

from __future__ import annotations

import csv
from datetime import date
from typing import Any

import numpy as np
import pytest

from stocksdb.domain.reasons import Reason
from stocksdb.domain.tickers import Interval, TickerIntervals, accept_intervals, parse_interval
from tests.fix_data import RESOURCES, make_interval

ANSWERS = RESOURCES / "answers"
# The answer file's securities A, B, C (README) under made-up ids.
IDS = {"BBG000000016": 1, "BBG000000025": 2, "BBG000000034": 3}
A, B, C = 1, 2, 3


def read_csv(name: str) -> list[dict[str, str]]:
    with (ANSWERS / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def answer_intervals() -> TickerIntervals:
    """The five intervals of ticker_intervals.csv, parsed."""
    parsed = [parse_interval(raw, IDS) for raw in read_csv("ticker_intervals.csv")]
    assert all(isinstance(p, Interval) for p in parsed), parsed
    return TickerIntervals(p for p in parsed if isinstance(p, Interval))


def test_resolve_matches_every_hand_worked_answer(answer_intervals: TickerIntervals) -> None:
    """Every row of ticker_resolution.csv: the security named, or None in a gap."""
    wrong = []
    for row in read_csv("ticker_resolution.csv"):
        want = IDS.get(row["expected_figi"])
        got = answer_intervals.resolve(row["ticker"], date.fromisoformat(row["day"]))
        if got != want:
            wrong.append((row["ticker"], row["day"], want, got, row["provenance"]))
    assert not wrong, wrong


def test_on_a_day_lists_each_live_ticker_once(answer_intervals: TickerIntervals) -> None:
    """On the rename day OLD has passed from A to B; in C's gap only A's OLD is live."""
    assert answer_intervals.on(date(2024, 2, 14)) == {"NEW": A, "OLD": B}
    assert answer_intervals.on(date(2024, 2, 13)) == {"OLD": A}
    assert answer_intervals.on(date(2024, 1, 12)) == {"OLD": A}
    assert answer_intervals.on(date(2024, 1, 16)) == {"OLD": A, "GAP": B}
    assert answer_intervals.on(date(1999, 1, 4)) == {}


def _live(intervals: TickerIntervals, day: date) -> list[tuple[str, int]]:
    index = intervals.live_index(day)
    return list(zip(intervals.ticker_array[index].tolist(),
                    intervals.id_array[index].tolist(), strict=True))


def test_live_index_names_the_same_tickers_as_on(answer_intervals: TickerIntervals) -> None:
    """The positions the loader takes a day's tickers by: the answers above, in ticker
    order."""
    assert _live(answer_intervals, date(2024, 2, 14)) == [("NEW", A), ("OLD", B)]
    assert _live(answer_intervals, date(2024, 2, 13)) == [("OLD", A)]
    assert _live(answer_intervals, date(2024, 1, 16)) == [("GAP", B), ("OLD", A)]
    assert _live(answer_intervals, date(1999, 1, 4)) == []
    assert _live(TickerIntervals([]), date(2024, 1, 2)) == []


def test_live_index_takes_the_latest_of_overlapping_intervals_of_a_ticker() -> None:
    """Intervals of one ticker that overlap (the table refuses them; a set built in memory may
    hold them): the latest valid_from names the security, as resolve() says."""
    def iv(ticker: str, security_id: int, start: str) -> Interval:
        return Interval(ticker, date.fromisoformat(start), None, security_id)

    overlapping = TickerIntervals([iv("XX", 1, "2024-01-02"), iv("XX", 2, "2024-02-01"),
                                   iv("AA", 3, "2024-01-02"), iv("ZZ", 4, "2024-03-01")])
    assert _live(overlapping, date(2024, 1, 15)) == [("AA", 3), ("XX", 1)]
    assert _live(overlapping, date(2024, 3, 1)) == [("AA", 3), ("XX", 2), ("ZZ", 4)]
    assert overlapping.resolve("XX", date(2024, 3, 1)) == 2


def test_last_holder_falls_back_to_the_latest_earlier_holder(
        answer_intervals: TickerIntervals) -> None:
    """In a gap a symbol means the security that last held it; before any holder, None."""
    assert answer_intervals.last_holder("GAP", date(2024, 1, 12)) == C    # C ended 01-10
    assert answer_intervals.last_holder("GAP", date(2024, 3, 1)) == B     # B ended 02-01
    assert answer_intervals.last_holder("gap", date(2024, 1, 20)) == B    # B holds it
    assert answer_intervals.last_holder("OLD", date(2024, 2, 13)) == A
    assert answer_intervals.last_holder("GAP", date(2024, 1, 1)) is None


def test_ticker_of_a_security_follows_its_rename(answer_intervals: TickerIntervals) -> None:
    """A is OLD up to 2024-02-13 and NEW from 2024-02-14; B has no ticker in its own gap."""
    assert answer_intervals.ticker_of(A, date(2024, 2, 13)) == "OLD"
    assert answer_intervals.ticker_of(A, date(2024, 2, 14)) == "NEW"
    assert answer_intervals.ticker_of(B, date(2024, 2, 5)) is None
    assert answer_intervals.ticker_of(4, date(2024, 2, 5)) is None
    days = np.array(["1999-12-31", "2000-01-03", "2024-01-09", "2024-01-10", "2024-02-14",
                     "2024-02-14"], dtype="datetime64[D]")
    got = answer_intervals.tickers_of(np.array([A, A, C, C, A, B]), days)
    assert list(got) == [None, "OLD", "GAP", None, "NEW", "OLD"]


def test_an_empty_set_resolves_nothing() -> None:
    """No intervals: every question has no answer."""
    none = TickerIntervals([])
    assert none.resolve("OLD", date(2024, 1, 2)) is None
    assert none.on(date(2024, 1, 2)) == {}
    assert list(none.tickers_of(np.array([1]), np.array(["2024-01-02"], "datetime64[D]"))) \
        == [None]


@pytest.mark.parametrize(("raw", "reason"), [
    (make_interval("BBG000000017", "OLD", "2024-01-02"), Reason.INVALID_FIGI),  # check digit
    (make_interval("BBG000000016", "OLD!", "2024-01-02"), Reason.INVALID_TICKER),
    (make_interval("BBG000000016", "OLD", "2024-02-30"), Reason.INVALID_DATE),
    (make_interval("BBG000000016", "OLD", "02/01/2024"), Reason.INVALID_DATE),
    (make_interval("BBG000000016", "OLD", ""), Reason.INVALID_DATE),
    (make_interval("BBG000000016", "OLD", "2024-01-02", "2024-13-01"), Reason.INVALID_DATE),
    (make_interval("BBG000000016", "OLD", "2024-01-02", "2024-01-02"), Reason.EMPTY_INTERVAL),
    (make_interval("BBG000000016", "OLD", "2024-01-03", "2024-01-02"), Reason.EMPTY_INTERVAL),
    (make_interval("BBG000000043", "OLD", "2024-01-02"), Reason.UNKNOWN_SECURITY),
])
def test_bad_rows_are_refused_with_their_reason(raw: dict[str, Any], reason: Reason) -> None:
    """Bad FIGI, ticker or dates, an empty interval, a security not in the map."""
    got = parse_interval(raw, IDS)
    assert isinstance(got, tuple) and got[0] == reason, got


def test_a_good_row_parses_upper_cased_and_open() -> None:
    """Ticker upper-cased and trimmed; an empty valid_to is an open interval."""
    raw = {**make_interval("BBG000000016", " brk.b ", "2024-01-02"), "source_key": "f:3"}
    assert parse_interval(raw, IDS) == Interval("BRK.B", date(2024, 1, 2), None, A, "f:3")


def iv(ticker: str, start: str, end: str | None, sid: int) -> Interval:
    return Interval(ticker, date.fromisoformat(start),
                    date.fromisoformat(end) if end else None, sid)


def test_overlaps_are_refused_first_come_first_served() -> None:
    """Earliest valid_from wins; a later overlap of the same ticker or of the same security is
    refused with its reason; touching intervals ([a, b) then [b, c)) do not overlap."""
    kept = [iv("OLD", "2000-01-03", "2024-02-14", A)]
    candidates = [
        iv("NEW", "2024-02-14", None, A),            # touches A's OLD: accepted
        iv("OLD", "2024-02-13", None, B),            # OLD still A's on 02-13: ticker overlap
        iv("NEW", "2024-03-01", None, C),            # NEW is A's (open): ticker overlap
        iv("GAP", "2024-01-02", "2024-01-10", C),    # free: accepted
        iv("GAP", "2024-01-09", "2024-02-01", B),    # C holds GAP on 01-09: ticker overlap
        iv("TWO", "2024-01-05", None, C),            # C is GAP until 01-10: security overlap
    ]
    accepted, refused = accept_intervals(candidates, kept)
    assert accepted == [candidates[3], candidates[0]]
    assert [(r[0], r[1]) for r in refused] == [
        (candidates[5], Reason.SECURITY_TICKER_OVERLAP),
        (candidates[4], Reason.TICKER_INTERVAL_OVERLAP),
        (candidates[1], Reason.TICKER_INTERVAL_OVERLAP),
        (candidates[2], Reason.TICKER_INTERVAL_OVERLAP)]
    assert refused[1][2] == ("GAP [2024-01-09, 2024-02-01) of security 2 overlaps "
                             "GAP [2024-01-02, 2024-01-10) of security 3")
    assert "OLD [2000-01-03, 2024-02-14) of security 1" in refused[2][2]
    assert "NEW [2024-02-14, open) of security 1" in refused[3][2]


def test_two_open_intervals_of_one_ticker_overlap() -> None:
    """Open intervals run forever, so any two of one ticker overlap."""
    accepted, refused = accept_intervals([iv("X", "2024-01-02", None, A),
                                          iv("X", "2030-01-02", None, B)], [])
    assert [i.security_id for i in accepted] == [A]
    assert refused[0][1] == Reason.TICKER_INTERVAL_OVERLAP
