"""detect_false_ticks: one-day spikes and 100x unit mix-ups are found; a split and a lasting
gap are not. Real closes come from the recorded Yahoo AAPL chart (2020-08-31 .. 2020-11-06,
tests/resources/vendors/yahoo/, read here straight from the JSON); the damage is done by hand.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stocksdb.foundation import FalseTick, detect_false_ticks
from stocksdb.foundation.false_ticks import MIN_SCALE, JumpScan, compute_robust_z
from tests.fix_http import load_vendor_json

AAPL_CHART = "yahoo/chart-AAPL-2020-08-31-to-2020-11-07.json"


def aapl_closes() -> pd.DataFrame:
    """symbol, ts (the session's date), close: the chart's 49 split-adjusted closes."""
    result = load_vendor_json(AAPL_CHART)["response"]["bodyJson"]["chart"]["result"][0]
    days = [datetime.fromtimestamp(t, UTC).date() for t in result["timestamp"]]
    closes = result["indicators"]["quote"][0]["close"]
    return pd.DataFrame({"symbol": "AAPL", "ts": pd.to_datetime(days), "close": closes})


def at(frame: pd.DataFrame, day: str) -> pd.Series:
    """A mask of the row dated `day`."""
    return frame["ts"] == pd.Timestamp(day)


def test_the_recorded_chart_has_no_false_tick() -> None:
    """49 real closes, untouched: nothing is flagged."""
    frame = aapl_closes()
    assert len(frame) == 49
    assert detect_false_ticks(frame) == []


def test_a_one_day_8x_spike_is_found_on_its_day() -> None:
    """2020-10-01's close (116.79000091552734 in the chart) times 8: one spike there, back on
    2020-10-02."""
    frame = aapl_closes()
    frame.loc[at(frame, "2020-10-01"), "close"] *= 8
    [tick] = detect_false_ticks(frame)
    assert (tick.symbol, tick.ts, tick.kind) == ("AAPL", pd.Timestamp("2020-10-01"), "spike")
    assert tick.value == pytest.approx(116.79000091552734 * 8)
    assert tick.reverted_at == pd.Timestamp("2020-10-02") and tick.score > 6


def test_a_100x_unit_error_is_found_and_named() -> None:
    """2020-09-16's close (112.12999725341797) in cents: unit_100x on that day only."""
    frame = aapl_closes()
    frame.loc[at(frame, "2020-09-16"), "close"] *= 100
    ticks = detect_false_ticks(frame)
    assert [(t.ts, t.kind) for t in ticks] == [(pd.Timestamp("2020-09-16"), "unit_100x")]
    assert ticks[0].value == pytest.approx(11212.999725341797)


def test_a_three_day_unit_error_flags_each_of_its_days() -> None:
    """2020-10-13 .. 10-15 in hundredths (pence for pounds): three unit_100x ticks, all back
    on 2020-10-16."""
    frame = aapl_closes()
    days = ["2020-10-13", "2020-10-14", "2020-10-15"]
    frame.loc[frame["ts"].isin(pd.to_datetime(days)), "close"] /= 100
    ticks = detect_false_ticks(frame)
    assert [t.ts for t in ticks] == list(pd.to_datetime(days))
    assert {t.kind for t in ticks} == {"unit_100x"}
    assert {t.reverted_at for t in ticks} == {pd.Timestamp("2020-10-16")}


def test_a_lasting_100x_shift_is_flagged_once_where_it_starts() -> None:
    """From 2020-10-20 on every close times 100: one unit_100x at 2020-10-20, not back."""
    frame = aapl_closes()
    frame.loc[frame["ts"] >= pd.Timestamp("2020-10-20"), "close"] *= 100
    [tick] = detect_false_ticks(frame)
    assert (tick.ts, tick.kind, tick.reverted_at) == (pd.Timestamp("2020-10-20"), "unit_100x",
                                                      None)


def test_the_4_for_1_split_on_raw_bars_is_not_a_false_tick() -> None:
    """Raw bars: the chart's OHLC are split-adjusted and its only split event is 4:1 going ex
    2020-08-31, the first bar, so every chart bar is already raw; the bar before it is the
    chart's meta.chartPreviousClose 124.808 (2020-08-28, split-adjusted) x 4 = 499.232. The
    series falls 499.232 -> 129.04 (a 4x drop) and stays: not flagged."""
    body = load_vendor_json(AAPL_CHART)["response"]["bodyJson"]["chart"]["result"][0]
    split = next(iter(body["events"]["splits"].values()))
    assert (split["numerator"], split["denominator"], split["date"]) == (4, 1, 1598880600)
    ratio = split["numerator"] / split["denominator"]
    before = pd.DataFrame({"symbol": ["AAPL"], "ts": [pd.Timestamp("2020-08-28")],
                           "close": [body["meta"]["chartPreviousClose"] * ratio]})
    raw = pd.concat([before, aapl_closes()], ignore_index=True)
    assert raw["close"].iloc[0] == pytest.approx(499.232)
    assert raw["close"].iloc[0] / raw["close"].iloc[1] == pytest.approx(3.869, abs=1e-3)
    assert detect_false_ticks(raw) == []


def test_a_permanent_30_percent_gap_is_not_a_false_tick() -> None:
    """From 2020-10-01 on every close times 0.7 (a lasting re-pricing): nothing flagged."""
    frame = aapl_closes()
    frame.loc[frame["ts"] >= pd.Timestamp("2020-10-01"), "close"] *= 0.7
    assert detect_false_ticks(frame) == []


def test_on_a_flat_series_the_score_is_the_jump_over_the_scale_floor() -> None:
    """Closes all 10 but one 80 (8x): the MAD is 0, so the scale is MIN_SCALE (0.005) and the
    score is ln(8) / 0.005 = 415.888..."""
    closes = [10.0] * 30
    closes[12] = 80.0
    frame = pd.DataFrame({"symbol": "X", "ts": pd.bdate_range("2024-01-01", periods=30),
                          "close": closes})
    [tick] = detect_false_ticks(frame)
    assert MIN_SCALE == 0.005
    assert tick.score == pytest.approx(math.log(8) / 0.005)
    assert tick.ts == pd.Timestamp("2024-01-17")       # the 13th weekday from 2024-01-01


def test_symbols_are_scored_apart_and_unusable_prices_are_ignored() -> None:
    """AAPL spiked and a second symbol untouched with a missing and a zero close: one tick,
    on AAPL."""
    frame = aapl_closes()
    frame.loc[at(frame, "2020-10-01"), "close"] *= 8
    other = aapl_closes().assign(symbol="COPY")
    other.loc[at(other, "2020-09-15"), "close"] = float("nan")
    other.loc[at(other, "2020-09-16"), "close"] = 0.0
    ticks = detect_false_ticks(pd.concat([other, frame], ignore_index=True))
    assert [(t.symbol, t.ts) for t in ticks] == [("AAPL", pd.Timestamp("2020-10-01"))]
    assert isinstance(ticks[0], FalseTick)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"window": 3}, "window >= 5"),
    ({"threshold": 0}, "threshold > 0"),
    ({"column": "adj_close"}, "lacks column"),
])
def test_bad_arguments_are_value_errors(kwargs: dict[str, object], fragment: str) -> None:
    """A window under 5, a non-positive threshold or an absent column."""
    with pytest.raises(ValueError, match=fragment):
        detect_false_ticks(aapl_closes(), **kwargs)  # type: ignore[arg-type]


def whole_series_jumped(frame: pd.DataFrame, threshold: float = 6.0) -> set[int]:
    """Symbols with |z| > threshold somewhere, by compute_robust_z over each whole series."""
    out = set()
    for symbol, rows in frame.groupby("symbol"):
        returns = np.diff(np.log(rows.sort_values("ts")["close"].to_numpy()))
        if not len(returns):
            continue
        z = compute_robust_z(returns, 21)
        if (np.abs(np.nan_to_num(z)) > threshold).any():
            out.add(int(str(symbol)))
    return out


def whole_series_flaggable(frame: pd.DataFrame, threshold: float = 6.0,
                           max_run: int = 3) -> set[int]:
    """Symbols with a jump that detect_false_ticks could flag, by a plain loop over each whole
    series: a jump of about 100x, or a jump with another of a different sign at most max_run
    returns before it."""
    out = set()
    for symbol, rows in frame.groupby("symbol"):
        r = np.diff(np.log(rows.sort_values("ts")["close"].to_numpy()))
        if not len(r):
            continue
        jumps = np.abs(np.nan_to_num(compute_robust_z(r, 21))) > threshold
        for i in map(int, np.flatnonzero(jumps)):
            unit = abs(abs(r[i]) - math.log(100.0)) <= math.log(1.1)
            back = any(jumps[j] and np.sign(r[j]) != np.sign(r[i])
                       for j in range(max(i - max_run, 0), i))
            if unit or back:
                out.add(int(str(symbol)))
    return out


def streamed_jumped(frame: pd.DataFrame, ids: list[int], margin: float,
                    max_run: int | None = None) -> set[int]:
    """JumpScan fed one session at a time, in date order."""
    scan = JumpScan(np.array(ids), 21, 6.0, margin=margin, max_run=max_run)
    for _, day in frame.sort_values("ts").groupby("ts", sort=True):
        sids = day["symbol"].astype("int64").to_numpy()
        scan.feed(scan.positions(sids), np.log(day["close"].to_numpy()))
    return {int(i) for i in scan.finish()}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_symbols=st.integers(1, 12),
       n_sessions=st.integers(2, 70))
def test_the_streamed_scan_finds_exactly_the_jumped_series(seed: int, n_symbols: int,
                                                           n_sessions: int) -> None:
    """Random walks with holes (a symbol missing sessions, listed late, delisted early) and
    spikes: fed session by session, JumpScan names the same symbols as the robust z of each
    whole series (margin 1), and a superset with the default margin."""
    rng = np.random.default_rng(seed)
    rows = []
    for sid in range(1, n_symbols + 1):
        start, stop = sorted(rng.integers(0, n_sessions + 1, size=2))
        present = [t for t in range(start, stop) if rng.random() > 0.1]
        price = 50.0 * np.exp(np.cumsum(rng.normal(0, rng.choice([0.001, 0.02]),
                                                   len(present))))
        for k in np.flatnonzero(rng.random(len(present)) < 0.04):
            price[k] *= rng.choice([0.2, 8.0, 100.0])
        rows += [(str(sid), t, p) for t, p in zip(present, price, strict=True)]
    frame = pd.DataFrame(rows, columns=["symbol", "ts", "close"])
    if frame.empty:
        return
    ids = list(range(1, n_symbols + 1))
    expected = whole_series_jumped(frame)
    assert streamed_jumped(frame, ids, margin=1.0) == expected
    assert streamed_jumped(frame, ids, margin=0.98) >= expected
    flaggable = whole_series_flaggable(frame)
    assert streamed_jumped(frame, ids, margin=1.0, max_run=3) == flaggable
    flagged = {int(t.symbol) for t in detect_false_ticks(frame)}
    assert flagged <= streamed_jumped(frame, ids, margin=0.98, max_run=3)


def test_the_streamed_scan_on_a_known_spike() -> None:
    """The recorded AAPL closes with an 8x spike on 2020-09-15 as security 7 and untouched as
    security 8: only 7 has a jump; an id the scan was not given is counted as unknown."""
    clean = aapl_closes().assign(symbol="8")
    spiked = clean.assign(symbol="7")
    spiked.loc[at(spiked, "2020-09-15"), "close"] *= 8
    frame = pd.concat([clean, spiked])
    assert streamed_jumped(frame, [7, 8], margin=0.98) == {7}
    scan = JumpScan(np.array([7, 8]))
    scan.positions(np.array([7, 9, 8]))
    assert scan.unknown == 1


def test_the_streamed_scan_sees_a_jump_at_every_position() -> None:
    """A 3 % zigzag of 12..40 bars with an 8x jump put at each bar in turn (the start and the
    last ten bars, scored only at `finish`, included): the scan names the series exactly when
    the whole-series robust z does (the early bars lack the 10 returns a score needs); and
    with max_run 3, spikes of 1, 3 and 4 bars that come back exactly when a plain loop over
    the whole series finds a flaggable jump (a 4-bar spike's way back is too late)."""
    seen = seen_runs = 0
    for length in (12, 21, 25, 40):
        for at_bar in range(length):
            close = 100.0 * np.exp(0.03 * (np.arange(length) % 2))
            close[at_bar:] *= 8.0
            frame = pd.DataFrame({"symbol": "1", "ts": range(length), "close": close})
            expected = whole_series_jumped(frame)
            assert streamed_jumped(frame, [1], margin=1.0) == expected, (length, at_bar)
            seen += bool(expected)
            for run in (1, 3, 4):           # a spike of `run` bars that comes back
                close = 100.0 * np.exp(0.03 * (np.arange(length) % 2))
                close[at_bar:at_bar + run] *= 8.0
                frame = pd.DataFrame({"symbol": "1", "ts": range(length), "close": close})
                flaggable = whole_series_flaggable(frame)
                assert streamed_jumped(frame, [1], margin=1.0, max_run=3) == flaggable, (
                    length, at_bar, run)
                seen_runs += bool(flaggable)
    assert seen > 60 and seen_runs > 60


def test_many_series_are_scored_in_blocks_as_each_is_alone() -> None:
    """More returns than one block holds (the rows are then scored a block at a time): each
    row's robust z is the one it gets scored alone, NaN padding and all."""
    from stocksdb.foundation.false_ticks import _Z_BLOCK

    rng = np.random.default_rng(7)
    rows = rng.normal(0, 0.02, size=(_Z_BLOCK // 50 + 3, 60))
    rows[::7, 45:] = np.nan                       # shorter series, padded
    rows[3, 30] = 1.5                             # a jump
    together = compute_robust_z(rows, 21)
    alone = np.vstack([compute_robust_z(r, 21) for r in rows])
    np.testing.assert_array_equal(together, alone)
    assert abs(together[3, 30]) > 6
