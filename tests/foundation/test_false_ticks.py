"""detect_false_ticks: one-day spikes and 100x unit mix-ups are found; a split and a lasting
gap are not. Real closes come from the recorded Yahoo AAPL chart (2020-08-31 .. 2020-11-06,
tests/resources/vendors/yahoo/, read here straight from the JSON); the damage is done by hand.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from stocksdb.foundation import FalseTick, detect_false_ticks
from stocksdb.foundation.false_ticks import MIN_SCALE
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
