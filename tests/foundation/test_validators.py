"""Coverage, staleness and cross-source drift validators on frames with known answers.

The window is 2024-01-02 .. 2024-01-30: 20 XNYS sessions, listed by hand in
tests/fix_aggregator.py (JAN; 01-01 New Year's Day and 01-15 Martin Luther King Jr. Day are
closed). Every ratio, count and date below is worked out by hand from the frames built here.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from stocksdb.errors import InputError
from stocksdb.foundation import (
    AggregationResult,
    CoverageValidator,
    CrossSourceDriftValidator,
    DataQualitySeverity,
    MultiSourceAggregator,
    QualityFinding,
    StalenessValidator,
)
from stocksdb.foundation.aggregator import ProviderSpec, Validator
from stocksdb.foundation.base import Split, SymbolEvents
from tests.fix_aggregator import JAN, JAN_END, JAN_START, make_frame, rising, serving

OK, WARNING, ERROR = DataQualitySeverity.OK, DataQualitySeverity.WARNING, \
    DataQualitySeverity.ERROR


def run(validator: Validator, *specs: ProviderSpec, symbols: tuple[str, ...] = ("AAPL",),
        end: date = JAN_END) -> AggregationResult:
    return MultiSourceAggregator(list(specs), [validator]).aggregate(list(symbols), JAN_START,
                                                                     end)


def only(result: AggregationResult, validator: str) -> QualityFinding:
    [finding] = [f for f in result.quality_findings if f.validator == validator]
    return finding


# --- coverage ---------------------------------------------------------------------------

@pytest.mark.parametrize(("dropped", "ratio", "severity"), [
    (0, 1.0, OK),
    (2, 0.9, OK),          # 18/20 = 0.90: not below warn_ratio 0.9
    (3, 0.85, WARNING),    # 17/20
    (5, 0.75, WARNING),    # 15/20 = 0.75: not below error_ratio 0.75
    (6, 0.7, ERROR),       # 14/20: a provider missing 30 % of the sessions
])
def test_coverage_ratio_against_xnys_sessions(dropped: int, ratio: float,
                                              severity: DataQualitySeverity) -> None:
    """The last `dropped` sessions missing: bars / 20 sessions, judged at 0.9 and 0.75."""
    kept = JAN[:20 - dropped]
    finding = only(run(CoverageValidator(), serving("a", make_frame("v", rising(kept)))),
                   "coverage")
    assert (finding.severity, finding.metrics["ratio"]) == (severity, ratio), finding
    assert finding.metrics["expected"] == 20 and finding.metrics["bars"] == 20 - dropped
    assert [str(d) for d in finding.metrics["missing"]] == list(JAN[20 - dropped:])


def test_coverage_counts_the_stitched_series_not_one_provider() -> None:
    """`a` has the first 14 sessions, `b` the last 6: 20 of 20 together."""
    a = serving("a", make_frame("v", rising(JAN[:14])))
    b = serving("b", make_frame("w", rising(JAN[14:])))
    assert only(run(CoverageValidator(), a, b), "coverage").severity is OK


def test_coverage_of_a_symbol_nobody_has_is_an_error_per_symbol() -> None:
    """MSFT asked too but never answered: AAPL ok, MSFT 0 of 20, an error."""
    result = run(CoverageValidator(), serving("a", make_frame("v", rising(JAN))),
                 symbols=("AAPL", "MSFT"))
    assert [(f.symbol, f.severity, f.metrics["bars"]) for f in result.quality_findings] == [
        ("AAPL", OK, 20), ("MSFT", ERROR, 0)]


def test_a_series_on_its_own_calendar_is_not_judged() -> None:
    """A FRED-like frame (calendar 'own', one monthly observation): coverage and staleness are
    ok notes, not a 1-of-20 error."""
    fred = make_frame("fred", {"2024-01-02": 3.1}, symbol="CPI", calendar="own")
    result = MultiSourceAggregator(
        [serving("fred", fred)], [CoverageValidator(), StalenessValidator()]).aggregate(
        ["CPI"], JAN_START, JAN_END)
    assert [(f.validator, f.severity, f.metrics) for f in result.quality_findings] == [
        ("coverage", OK, {"calendar": "own"}), ("staleness", OK, {"calendar": "own"})]


def test_coverage_accepts_only_daily_frequency_and_ordered_ratios() -> None:
    """frequency '1H' and error_ratio above warn_ratio are InputErrors."""
    with pytest.raises(InputError, match="frequency"):
        CoverageValidator(frequency="1H")
    with pytest.raises(InputError, match="error_ratio <= warn_ratio"):
        CoverageValidator(warn_ratio=0.7, error_ratio=0.8)


# --- staleness --------------------------------------------------------------------------

@pytest.mark.parametrize(("last", "stale_days", "severity"), [
    ("2024-01-30", 0, OK),
    ("2024-01-29", 1, OK),        # 01-30 missing: 1 session, not above 2 x 0.5
    ("2024-01-26", 2, WARNING),   # 01-29, 01-30: above 1, not above 2
    ("2024-01-23", 5, ERROR),     # 01-24, 25, 26, 29, 30
])
def test_staleness_counts_the_sessions_after_the_latest_bar(
        last: str, stale_days: int, severity: DataQualitySeverity) -> None:
    """A provider whose bars stop at `last`, asked up to 2024-01-30 (weekend not counted)."""
    finding = only(run(StalenessValidator(), serving(
        "a", make_frame("v", rising([d for d in JAN if d <= last])))), "staleness")
    assert (finding.severity, finding.metrics["stale_days"]) == (severity, stale_days), finding
    assert str(finding.metrics["latest"]) == last


def test_a_weekend_end_is_not_staleness() -> None:
    """Bars to Friday 2024-01-26, asked to Sunday 01-28: no session missed, ok."""
    finding = only(run(StalenessValidator(), serving(
        "a", make_frame("v", rising(JAN[:18]))), end=date(2024, 1, 28)), "staleness")
    assert (finding.severity, finding.metrics["stale_days"]) == (OK, 0)


def test_no_data_is_stale_and_the_latest_of_each_provider_is_named() -> None:
    """MSFT has no bar: error. AAPL's metrics give each provider's latest date (a: 01-23, the
    stale one; b: 01-30), while the stitched series is fresh."""
    a = serving("a", make_frame("v", rising([d for d in JAN if d <= "2024-01-23"])))
    b = serving("b", make_frame("w", rising(JAN)))
    result = run(StalenessValidator(), a, b, symbols=("AAPL", "MSFT"))
    aapl, msft = result.quality_findings
    assert aapl.severity is OK
    assert {k: str(v) for k, v in aapl.metrics["latest_by_provider"].items()} == {
        "a": "2024-01-23", "b": "2024-01-30"}
    assert (msft.symbol, msft.severity) == ("MSFT", ERROR)


def test_staleness_threshold_is_configurable() -> None:
    """max_staleness 5 days: 5 missing sessions are a warning (above 2.5), not an error."""
    stale = serving("a", make_frame("v", rising([d for d in JAN if d <= "2024-01-23"])))
    finding = only(run(StalenessValidator(max_staleness=timedelta(days=5)), stale),
                   "staleness")
    assert finding.severity is WARNING


# --- cross-source drift -----------------------------------------------------------------

DRIFT_DAYS = ("2024-01-09", "2024-01-17", "2024-01-25")


def drifting(factor: float = 1.02) -> tuple[ProviderSpec, ProviderSpec]:
    """`a`: closes 100..119 on JAN; `b`: the same, times `factor` on DRIFT_DAYS."""
    a_closes = rising(JAN)
    b_closes = {d: c * factor if d in DRIFT_DAYS else c for d, c in a_closes.items()}
    return serving("a", make_frame("va", a_closes)), serving("b", make_frame("vb", b_closes))


def test_two_providers_drifting_two_percent_on_three_days_is_an_error_naming_them() -> None:
    """|b - a| / a = 0.02 > tolerance 0.01 on 01-09, 01-17 and 01-25 of 20 shared sessions."""
    finding = only(run(CrossSourceDriftValidator(), *drifting()), "drift")
    assert finding.severity is ERROR
    m = finding.metrics
    assert (m["shared"], m["above_tolerance"], m["above_warn"]) == (20, 3, 3)
    assert m["max_drift"] == pytest.approx(0.02)
    assert sorted(str(w["session"]) for w in m["worst"]) == list(DRIFT_DAYS)
    assert all(day in finding.message for day in DRIFT_DAYS), finding.message
    # 2024-01-09 is JAN[5]: a = 105, b = 105 x 1.02 = 107.1
    [jan9] = [w for w in m["worst"] if str(w["session"]) == "2024-01-09"]
    assert (jan9["a"], jan9["b"]) == (105.0, pytest.approx(107.1))


def test_drift_between_the_warning_and_error_tolerances_is_a_warning() -> None:
    """tolerance 0.03, warn_tolerance 0.01: a 2 % drift warns."""
    validator = CrossSourceDriftValidator(tolerance=0.03, warn_tolerance=0.01)
    assert only(run(validator, *drifting()), "drift").severity is WARNING


def test_drift_within_tolerance_is_ok_with_its_worst_value() -> None:
    """A 0.5 % difference on three days: ok, max_drift 0.005, no worst session named."""
    finding = only(run(CrossSourceDriftValidator(), *drifting(1.005)), "drift")
    assert finding.severity is OK and finding.metrics["worst"] == []
    assert finding.metrics["max_drift"] == pytest.approx(0.005)


# AAPL-like: raw closes 400, 404 before a 4-for-1 split going ex on 2024-01-04, 101, 102
# after it; split-adjusted, the first two are 400 / 4 = 100 and 404 / 4 = 101.
RAW = {"2024-01-02": 400.0, "2024-01-03": 404.0, "2024-01-04": 101.0, "2024-01-05": 102.0}
ADJUSTED = {"2024-01-02": 100.0, "2024-01-03": 101.0, "2024-01-04": 101.0, "2024-01-05": 102.0}
SPLIT = {"AAPL": SymbolEvents(splits=(Split(date(2024, 1, 4), 4.0),))}


def test_different_bases_are_compared_on_raw_prices_restored_with_the_splits() -> None:
    """The split-adjusted provider's 100 and 101 become 400 and 404 with its 4:1 split:
    no drift."""
    raw = serving("raw", make_frame("massive", RAW))
    adjusted = serving("yahoo", make_frame("yahoo", ADJUSTED, basis="split_adjusted",
                                           events=SPLIT))
    finding = only(run(CrossSourceDriftValidator(), adjusted, raw), "drift")
    assert finding.severity is OK and finding.metrics["max_drift"] == 0.0, finding


def test_a_real_difference_still_shows_after_restoring_raw_prices() -> None:
    """The raw vendor's 2024-01-03 close is 412 instead of 404: drift 8 / 404 = 0.0198 there."""
    raw = serving("raw", make_frame("massive", {**RAW, "2024-01-03": 412.0}))
    adjusted = serving("yahoo", make_frame("yahoo", ADJUSTED, basis="split_adjusted",
                                           events=SPLIT))
    finding = only(run(CrossSourceDriftValidator(), adjusted, raw), "drift")
    assert finding.severity is ERROR
    assert [str(w["session"]) for w in finding.metrics["worst"]] == ["2024-01-03"]
    assert finding.metrics["max_drift"] == pytest.approx(8 / 404)


@pytest.mark.parametrize(("basis", "events", "why"), [
    ("split_adjusted", {}, "reported no events"),
    ("total_return", SPLIT, "total-return"),
])
def test_bases_that_cannot_be_restored_are_skipped_with_an_ok_note(
        basis: str, events: dict[str, SymbolEvents], why: str) -> None:
    """No events for the symbol, or a total-return series: ok, skipped, never a false alarm
    (the 4x difference before the split would otherwise be a 300 % drift)."""
    raw = serving("raw", make_frame("massive", RAW))
    other = serving("other", make_frame("v", ADJUSTED, basis=basis,  # type: ignore[arg-type]
                                        events=events))
    finding = only(run(CrossSourceDriftValidator(), raw, other), "drift")
    assert finding.severity is OK and finding.metrics["skipped"] is True
    assert why in finding.message, finding.message


def test_a_constant_ratio_between_bases_is_an_unreported_split_not_drift() -> None:
    """A split-adjusted vendor whose every close is a quarter of the raw one and that
    reported no split in the window (a split after it): ratio 0.25 on all 4 shared
    sessions, skipped with an ok note."""
    raw = serving("raw", make_frame("massive", {d: 400.0 + i for i, d in enumerate(JAN[:4])}))
    quarter = {d: (400.0 + i) / 4 for i, d in enumerate(JAN[:4])}
    adjusted = serving("yahoo", make_frame("yahoo", quarter, basis="split_adjusted",
                                           events={"AAPL": SymbolEvents()}))
    finding = only(run(CrossSourceDriftValidator(), raw, adjusted), "drift")
    assert finding.severity is OK and finding.metrics["ratio"] == pytest.approx(0.25)


def test_the_same_constant_ratio_between_equal_bases_is_drift() -> None:
    """Two raw vendors 4x apart (a unit error, not a basis): an error."""
    a = serving("a", make_frame("v", {d: 400.0 for d in JAN[:4]}))
    b = serving("b", make_frame("w", {d: 100.0 for d in JAN[:4]}))
    assert only(run(CrossSourceDriftValidator(), a, b), "drift").severity is ERROR


def test_providers_without_a_shared_session_give_no_drift_finding() -> None:
    """`a` has the first 10 sessions, `b` the last 10: nothing to compare, no finding."""
    a = serving("a", make_frame("v", rising(JAN[:10])))
    b = serving("b", make_frame("w", rising(JAN[10:])))
    assert run(CrossSourceDriftValidator(), a, b).quality_findings == ()


def test_warn_tolerance_above_tolerance_is_refused() -> None:
    """warn_tolerance 0.05 with tolerance 0.01 is an InputError."""
    with pytest.raises(InputError, match="warn_tolerance <= tolerance"):
        CrossSourceDriftValidator(tolerance=0.01, warn_tolerance=0.05)


def test_every_severity_validator_and_tick_kind_is_documented() -> None:
    """docs/quality.md names each DataQualitySeverity, each finding's `validator` and each
    false-tick kind as `code`."""
    from pathlib import Path
    from typing import get_args

    from stocksdb.foundation.aggregator import FETCH_FINDING, STITCH_FINDING
    from stocksdb.foundation.false_ticks import TickKind

    text = (Path(__file__).resolve().parents[2] / "docs" / "quality.md").read_text()
    names = [*DataQualitySeverity, CoverageValidator().name, StalenessValidator().name,
             CrossSourceDriftValidator().name, FETCH_FINDING, STITCH_FINDING,
             *get_args(TickKind)]
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing, f"document these in docs/quality.md: {missing}"
