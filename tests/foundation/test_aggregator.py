"""MultiSourceAggregator: priority stitching with provenance, symbol identity, snapshots, a
raising provider, and the request's checks. Frames are built from {date: close} maps
(tests/fix_aggregator.py); every expected number below is counted by hand from those maps."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pytest_httpserver import HTTPServer

from stocksdb.errors import InputError
from stocksdb.foundation import (
    AggregationResult,
    CoverageValidator,
    DataQualitySeverity,
    MultiSourceAggregator,
    ProviderSpec,
    QualityFinding,
)
from stocksdb.foundation.base import Split, SymbolEvents
from stocksdb.sources.yahoo import YahooProvider
from tests.fix_aggregator import JAN, JAN_END, JAN_START, failing, make_frame, rising, serving
from tests.fix_http import FakeClock, load_vendor_json

OK, WARNING, ERROR = DataQualitySeverity.OK, DataQualitySeverity.WARNING, \
    DataQualitySeverity.ERROR


def by_validator(result: AggregationResult, name: str) -> list[QualityFinding]:
    return [f for f in result.quality_findings if f.validator == name]


def test_the_first_provider_wins_and_the_second_fills_its_gaps_with_provenance() -> None:
    """`a` lacks 2024-01-09 and 01-10; `b` has all 20 sessions at other prices: the data has
    20 bars, those two from `b` (its closes 1005, 1006), the other 18 from `a`."""
    a_days = [d for d in JAN if d not in ("2024-01-09", "2024-01-10")]
    a = serving("a", make_frame("va", {d: 100.0 for d in a_days}))
    b = serving("b", make_frame("vb", rising(JAN, 1000.0)))
    result = MultiSourceAggregator([a, b]).aggregate(["aapl"], JAN_START, JAN_END)
    data = result.data
    assert len(data) == 20 and list(data["symbol"].unique()) == ["AAPL"]
    from_b = data[data["provider"] == "b"]
    # rising(JAN, 1000): 2024-01-09 is JAN[5] -> 1005, 2024-01-10 is JAN[6] -> 1006
    assert [str(d) for d in from_b["session"]] == ["2024-01-09", "2024-01-10"]
    assert from_b["close"].tolist() == [1005.0, 1006.0]
    assert set(data.loc[data["provider"] == "a", "close"]) == {100.0}
    assert list(data.columns[-4:]) == ["session", "provider", "price_basis", "calendar"]
    assert (result.status, result.quality_findings) == (OK, ())


def test_an_explicit_priority_beats_the_list_order() -> None:
    """`b` listed second but with priority 0 (a: 1) supplies every bar."""
    a = serving("a", make_frame("va", {d: 100.0 for d in JAN}), priority=1)
    b = serving("b", make_frame("vb", {d: 101.0 for d in JAN}), priority=0)
    aggregator = MultiSourceAggregator([a, b])
    result = aggregator.aggregate(["AAPL"], JAN_START, JAN_END)
    assert set(result.data["provider"]) == {"b"}
    assert list(result.snapshots) == ["b", "a"]
    assert [p.priority for p in aggregator.providers] == [0, 1]


def test_a_raising_provider_is_a_snapshot_and_a_warning_not_a_crash() -> None:
    """`down` raises; `up` answers: its 20 bars are the data, `down`'s snapshot holds the error
    text and no frame, and one `fetch` warning names it."""
    up = serving("up", make_frame("vu", {d: 100.0 for d in JAN}))
    down = failing("down", ConnectionError("vendor unreachable after 5 tries"))
    result = MultiSourceAggregator([down, up]).aggregate(["AAPL"], JAN_START, JAN_END)
    snap = result.snapshots["down"]
    assert (snap.frame, snap.rows, snap.error) == (
        None, 0, "ConnectionError: vendor unreachable after 5 tries")
    assert result.snapshots["up"].rows == 20 and result.snapshots["up"].error is None
    assert len(result.data) == 20
    [finding] = result.quality_findings
    assert (finding.validator, finding.severity, finding.symbol) == ("fetch", WARNING, None)
    assert "'down'" in finding.message and "unreachable" in finding.message
    assert result.status is WARNING


def test_every_provider_raising_is_an_error_with_empty_data() -> None:
    """Both raise: two `fetch` errors, no bars, status error."""
    result = MultiSourceAggregator([failing("x", RuntimeError("boom")),
                                    failing("y", ValueError("bad"))]).aggregate(
        ["AAPL"], JAN_START, JAN_END)
    assert [(f.validator, f.severity) for f in result.quality_findings] == [
        ("fetch", ERROR), ("fetch", ERROR)]
    assert result.data.empty and result.status is ERROR


def test_a_fetch_returning_something_else_is_that_providers_error() -> None:
    """A fetch that returns a DataFrame instead of a VendorFrame fails its snapshot."""
    odd = ProviderSpec("odd", lambda symbols, start, end: [])  # type: ignore[arg-type,return-value]
    result = MultiSourceAggregator([odd]).aggregate(["AAPL"], JAN_START, JAN_END)
    assert result.snapshots["odd"].error == "TypeError: fetch returned list, expected VendorFrame"


def test_snapshots_keep_each_providers_own_frame_and_elapsed_time() -> None:
    """Each snapshot holds its provider's bars (not the stitched ones) and the seconds the
    fetch took on the injected clock (0.5 s per reading)."""
    ticks = iter(float(n) * 0.5 for n in range(10))
    a = serving("a", make_frame("va", {JAN[0]: 10.0}))
    b = serving("b", make_frame("vb", {JAN[0]: 20.0, JAN[1]: 21.0}))
    result = MultiSourceAggregator([a, b], clock=lambda: next(ticks)).aggregate(
        ["AAPL"], JAN_START, JAN_END)
    frame_b = result.snapshots["b"].frame
    assert frame_b is not None and frame_b.bars["close"].tolist() == [20.0, 21.0]
    assert [s.elapsed for s in result.snapshots.values()] == [0.5, 0.5]
    assert result.data["close"].tolist() == [10.0, 21.0]


def test_bars_outside_the_window_and_unrequested_symbols_are_left_out() -> None:
    """A provider answering 2023-12-29 and MSFT too: only AAPL's bars in the window remain."""
    frame = make_frame("v", {"2023-12-29": 1.0, JAN[0]: 2.0, JAN[1]: 3.0})
    other = make_frame("v", {JAN[0]: 9.0}, symbol="MSFT")
    result = MultiSourceAggregator([serving("a", frame, other)]).aggregate(
        ["AAPL"], JAN_START, JAN_END)
    assert result.data[["symbol", "close"]].values.tolist() == [["AAPL", 2.0], ["AAPL", 3.0]]
    assert result.snapshots["a"].rows == 2


def test_yahoo_fetch_fits_and_eurusd_x_meets_eurusd(httpserver: HTTPServer,
                                                     fake_clock: FakeClock) -> None:
    """Asked for `EURUSD=X`: the yahoo provider's own `.fetch` (recorded EURUSD=X chart, 3
    bars 2020-01-01..03 at midnight UTC, on loopback) and a vendor spelling it `EURUSD`
    stitch into one series spelled as asked; Yahoo's closes win (chart close[0..2] =
    1.1220825910568237, 1.1220825910568237, 1.1171437501907349), 2020-01-06 comes from the
    other vendor, and coverage counts weekdays."""
    body = load_vendor_json("yahoo/chart-EURUSD=X-2020-01-01-to-2020-01-03.json")
    httpserver.expect_request("/v8/finance/chart/EURUSD=X").respond_with_json(
        body["response"]["bodyJson"])
    yahoo = YahooProvider(httpserver.url_for("/").rstrip("/"), clock=fake_clock.clock,
                          sleep=fake_clock.sleep)
    plain = make_frame("fx", {"2020-01-02": 1.0, "2020-01-06": 1.2}, symbol="EURUSD")
    result = MultiSourceAggregator(
        [ProviderSpec("yahoo", yahoo.fetch), serving("fx", plain)],
        [CoverageValidator()]).aggregate(["EURUSD=X"], date(2020, 1, 1), date(2020, 1, 6))
    data = result.data
    assert set(data["symbol"]) == {"EURUSD=X"}
    assert data["close"].tolist() == [1.1220825910568237, 1.1220825910568237,
                                      1.1171437501907349, 1.2]
    assert data["provider"].tolist() == ["yahoo", "yahoo", "yahoo", "fx"]
    [coverage] = result.quality_findings
    # weekdays 2020-01-01 (Wed) .. 01-03 (Fri) and 01-06 (Mon): 4 of 4, New Year's Day counts
    assert (coverage.metrics["expected"], coverage.metrics["bars"]) == (4, 4)


def test_a_plain_pair_asked_collects_the_yahoo_spelling_too() -> None:
    """Asked for `eurusd`: bars spelled `EURUSD=X` and `EURUSD` are one symbol `EURUSD`, and
    its expected days are weekdays (2024-01-01, New Year's Day, included: 2 of 2)."""
    yahoo_like = make_frame("y", {"2024-01-01": 1.10}, symbol="EURUSD=X")
    plain = make_frame("p", {"2024-01-02": 1.11}, symbol="EURUSD")
    result = MultiSourceAggregator([serving("y", yahoo_like), serving("p", plain)],
                                   [CoverageValidator()]).aggregate(
        ["eurusd"], date(2024, 1, 1), date(2024, 1, 2))
    assert result.data[["symbol", "close"]].values.tolist() == [["EURUSD", 1.10],
                                                                ["EURUSD", 1.11]]
    assert result.quality_findings[0].metrics["ratio"] == 1.0


def test_bars_of_mixed_price_bases_in_one_series_are_a_stitch_warning() -> None:
    """A raw vendor missing 2024-01-03, filled by a split-adjusted one: a `stitch` warning
    counting 19 raw bars and 1 split-adjusted bar."""
    raw = make_frame("raw_v", {d: 100.0 for d in JAN if d != "2024-01-03"})
    adjusted = make_frame("adj_v", {d: 100.0 for d in JAN}, basis="split_adjusted",
                          events={"AAPL": SymbolEvents(splits=(Split(date(2024, 2, 1), 2),))})
    result = MultiSourceAggregator([serving("r", raw), serving("s", adjusted)]).aggregate(
        ["AAPL"], JAN_START, JAN_END)
    [finding] = by_validator(result, "stitch")
    assert finding.severity is WARNING and finding.symbol == "AAPL"
    assert finding.metrics["bars_by_basis"] == {"raw": 19, "split_adjusted": 1}


def test_tz_aware_datetimes_count_by_their_utc_date() -> None:
    """start 2024-01-02 20:00 at UTC-5 is 2024-01-03 01:00 UTC: the 01-02 bar is left out."""
    frame = make_frame("v", {JAN[0]: 1.0, JAN[1]: 2.0})
    start = datetime(2024, 1, 2, 20, tzinfo=timezone(timedelta(hours=-5)))
    result = MultiSourceAggregator([serving("a", frame)]).aggregate(
        ["AAPL"], start, datetime(2024, 1, 30, tzinfo=UTC))
    assert result.data["close"].tolist() == [2.0]


@pytest.mark.parametrize(("symbols", "start", "end", "fragment"), [
    ([" ", ""], JAN_START, JAN_END, "parameter `symbols`"),
    (["AAPL"], datetime(2024, 1, 2), JAN_END, "naive datetime"),
    (["AAPL"], JAN_END, JAN_START, "before `start`"),
])
def test_a_bad_request_is_an_input_error(symbols: list[str], start: date, end: date,
                                         fragment: str) -> None:
    """No symbol, a naive datetime, or end before start: InputError naming the parameter."""
    aggregator = MultiSourceAggregator([serving("a", make_frame("v", {JAN[0]: 1.0}))])
    with pytest.raises(InputError, match=fragment):
        aggregator.aggregate(symbols, start, end)


def test_providers_need_distinct_names() -> None:
    """Two specs named `a`, or none at all, is an InputError."""
    spec = serving("a", make_frame("v", {JAN[0]: 1.0}))
    for providers in ([spec, spec], []):
        with pytest.raises(InputError, match="distinct names"):
            MultiSourceAggregator(providers)


def test_findings_serialise_to_json() -> None:
    """A finding's as_json has ISO dates and survives json.dumps."""
    result = MultiSourceAggregator([serving("a", make_frame("v", {JAN[0]: 1.0}))],
                                   [CoverageValidator()]).aggregate(["AAPL"], JAN_START,
                                                                     date(2024, 1, 3))
    [finding] = result.quality_findings
    dumped = json.loads(json.dumps(finding.as_json()))
    # 2024-01-02..03 are 2 sessions, the bar is on the first: 1 of 2, below 75 %
    assert dumped["severity"] == "error" and dumped["metrics"]["missing"] == ["2024-01-03"]
