"""Ingest scoring and feed anomalies: scores computed by hand from the formula in
docs/quality.md (coverage = observed / expected, freshness = (max_lag + 1) / (lag + 1),
score = the lower of the two)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from stocksdb.errors import InputError
from stocksdb.foundation import (
    AnomalyKind,
    DimensionResult,
    FeedAnomaly,
    IngestQualityStatus,
    RunSnapshot,
    detect_feed_anomalies,
    evaluate_ingest_quality,
)

OK, WARN, ERROR = IngestQualityStatus.OK, IngestQualityStatus.WARN, IngestQualityStatus.ERROR
T0 = datetime(2024, 4, 1, 22, 0, tzinfo=UTC)


def fresh(dimension: str = "daily_bars", **overrides: object) -> DimensionResult:
    """A complete, current dimension; override the field under study."""
    fields: dict[str, object] = {"dimension": dimension, "expected": 20, "observed": 20,
                                 "latest": date(2024, 4, 30),
                                 "expected_latest": date(2024, 4, 30), "max_lag": 1}
    fields.update(overrides)
    return DimensionResult(**fields)  # type: ignore[arg-type]


def runs(dimension: str, rows: list[float]) -> list[RunSnapshot]:
    """One snapshot per value, an hour apart, oldest first."""
    return [RunSnapshot(dimension=dimension, finished_at=T0 + timedelta(hours=i), rows=r,
                        run_id=i + 1) for i, r in enumerate(rows)]


def test_score_is_the_lower_of_coverage_and_freshness() -> None:
    """15 of 20 filers (0.75) and newest data 30 days behind with 9 tolerated: freshness
    (9 + 1) / (30 + 1) = 10/31 = 0.32258; the score is the lower one, an error."""
    result = fresh("fundamentals", observed=15, latest=date(2024, 1, 1),
                   expected_latest=date(2024, 1, 31), max_lag=9, unit="filers")
    d = evaluate_ingest_quality([result]).dimension("fundamentals")
    assert d.coverage == pytest.approx(0.75)
    assert d.lag == 30
    assert d.freshness == pytest.approx(10 / 31)
    assert d.score == pytest.approx(10 / 31)
    assert d.status is ERROR, d
    assert d.messages == ("coverage 15 of 20 filers expected (75.0%)",
                          "newest data 2024-01-01 is 30 days behind 2024-01-31 (tolerated: 9)")


def test_session_lag_skips_weekends_and_holidays() -> None:
    """Newest bar Thu 2024-03-28, expected Tue 2024-04-02: Good Friday (03-29) and the weekend
    are no sessions, so the lag is 2 sessions (04-01, 04-02), not 5 days; with 1 tolerated,
    freshness is 2/3 = 0.6667: a warning."""
    result = fresh(latest=date(2024, 3, 28), expected_latest=date(2024, 4, 2),
                   lag_unit="sessions")
    d = evaluate_ingest_quality([result]).dimension("daily_bars")
    assert (d.lag, d.coverage) == (2, 1.0)
    assert d.freshness == pytest.approx(2 / 3)
    assert d.status is WARN
    assert d.messages == ("newest data 2024-03-28 is 2 sessions behind 2024-04-02 "
                          "(tolerated: 1)",)


def test_lag_within_tolerance_keeps_full_freshness() -> None:
    """One session behind with one tolerated: freshness 1, no message."""
    d = evaluate_ingest_quality([fresh(latest=date(2024, 4, 29), lag_unit="sessions")]
                                ).dimension("daily_bars")
    assert (d.lag, d.freshness, d.status, d.messages) == (1, 1.0, OK, ())


@pytest.mark.parametrize(("observed", "status"), [(17, OK), (16, WARN), (12, WARN), (11, ERROR)])
def test_thresholds_are_strict_lower_bounds(observed: int, status: IngestQualityStatus) -> None:
    """Of 20: 17 is 0.85 (not below warn: ok), 16 is 0.80 (warn), 12 is 0.60 (not below error:
    warn), 11 is 0.55 (error)."""
    report = evaluate_ingest_quality([fresh(observed=observed)])
    assert report.status is status, report.as_dict()
    assert report.score == pytest.approx(observed / 20)


def test_custom_thresholds_move_the_bands() -> None:
    """0.80 is a warning under the defaults and ok with warn=0.8."""
    assert evaluate_ingest_quality([fresh(observed=16)], warn=0.8, error=0.5).status is OK


def test_no_data_at_all_is_an_error() -> None:
    """A dimension with no data has freshness 0 whatever its coverage."""
    d = evaluate_ingest_quality([fresh(expected=0, observed=0, latest=None)]
                                ).dimension("daily_bars")
    assert (d.coverage, d.freshness, d.score, d.status, d.lag) == (1.0, 0.0, 0.0, ERROR, None)
    assert d.messages == ("no data; expected data up to 2024-04-30",)


def test_report_takes_the_worst_graded_dimension_and_ignores_skipped() -> None:
    """daily_bars ok (1.0), fundamentals warn (16/20 = 0.8), macro skipped: the report is warn
    with score 0.8, and macro says why it was skipped."""
    report = evaluate_ingest_quality([
        fresh(), fresh("fundamentals", observed=16),
        DimensionResult(dimension="macro", skipped="no job loads macro series yet")])
    assert report.status is WARN
    assert report.score == pytest.approx(0.8)
    macro = report.dimension("macro")
    assert (macro.status, macro.score, macro.coverage) == (IngestQualityStatus.SKIPPED, None,
                                                           None)
    assert macro.messages == ("skipped: no job loads macro series yet",)
    assert [d.dimension for d in report.dimensions] == ["daily_bars", "fundamentals", "macro"]


def test_only_skipped_dimensions_report_ok_with_score_one() -> None:
    """Nothing graded: nothing failed."""
    report = evaluate_ingest_quality([DimensionResult(dimension="macro", skipped="none yet")])
    assert (report.status, report.score) == (OK, 1.0)


def test_stalled_feed_falls_to_zero() -> None:
    """Rows 100, 110, 90, 105 then 0 (given out of order): stalled, the trailing median
    (100 + 105) / 2 = 102.5 in its metrics."""
    history = runs("daily_bars", [100, 110, 90, 105, 0])
    found = detect_feed_anomalies(reversed(history))
    assert [(a.dimension, a.kind) for a in found] == [("daily_bars", AnomalyKind.STALLED)]
    assert found[0].metrics["trailing_median"] == pytest.approx(102.5)
    assert found[0].metrics["run_id"] == 5
    assert found[0].severity is ERROR


@pytest.mark.parametrize(("newest", "drop"), [(40, True), (52, False), (60, False)])
def test_drop_is_more_than_half_below_the_trailing_median(newest: float, drop: bool) -> None:
    """Against the median 102.5: 40 falls 61% (a drop), 52 falls 49.3%, 60 falls 41.5%."""
    found = detect_feed_anomalies(runs("fundamentals", [100, 110, 90, 105, newest]))
    assert [a.kind for a in found] == ([AnomalyKind.DROP] if drop else [])
    if drop:
        assert found[0].metrics["fall"] == pytest.approx(1 - 40 / 102.5, abs=1e-4)
        assert found[0].severity is WARN


def test_drop_threshold_is_a_parameter() -> None:
    """60 against 102.5 falls 41.5%: a drop when more than 40% is."""
    found = detect_feed_anomalies(runs("daily_bars", [100, 110, 90, 105, 60]), max_drop=0.4)
    assert [a.kind for a in found] == [AnomalyKind.DROP]


def test_only_the_trailing_window_makes_the_median() -> None:
    """Rows 10, 10, 10, 100, 100, 100, then 40: against the last 3 runs (median 100) it falls
    60%, a drop; against all 6 (median (10 + 100) / 2 = 55) it falls 27%, none."""
    history = runs("daily_bars", [10, 10, 10, 100, 100, 100, 40])
    assert [a.kind for a in detect_feed_anomalies(history, window=3)] == [AnomalyKind.DROP]
    assert detect_feed_anomalies(history, window=6) == ()


def test_stale_when_the_newest_run_loaded_less_than_it_asked_for() -> None:
    """The newest run asked up to 2024-04-30 and loaded up to 2024-04-26."""
    history = [RunSnapshot(dimension="daily_bars", finished_at=T0, rows=50,
                           newest=date(2024, 4, 26), expected_newest=date(2024, 4, 30))]
    found = detect_feed_anomalies(history)
    assert [a.kind for a in found] == [AnomalyKind.STALE]
    assert found[0].message == ("the newest run's newest data is 2024-04-26, older than the "
                                "2024-04-30 it asked for")


def test_only_the_newest_run_of_each_feed_is_judged() -> None:
    """An old stalled run followed by a normal one is history, not an anomaly; each feed is
    judged on its own."""
    history = runs("daily_bars", [100, 0, 100]) + runs("fundamentals", [30, 0])
    assert [(a.dimension, a.kind) for a in detect_feed_anomalies(history)] == [
        ("fundamentals", AnomalyKind.STALLED)]


def test_anomalies_attach_to_their_dimension_and_raise_its_status() -> None:
    """A complete, current dimension (score 1) with a stalled feed is an error; with a drop,
    a warning; the anomalies sit in its metadata and its messages."""
    stalled = detect_feed_anomalies(runs("daily_bars", [100, 0]))
    drop = detect_feed_anomalies(runs("fundamentals", [100, 10]))
    report = evaluate_ingest_quality([fresh(), fresh("fundamentals")],
                                     anomalies=[*stalled, *drop])
    bars, facts = report.dimension("daily_bars"), report.dimension("fundamentals")
    assert (bars.score, bars.status, facts.score, facts.status) == (1.0, ERROR, 1.0, WARN)
    assert bars.anomalies == stalled
    assert bars.messages == ("stalled: run 2 delivered no rows (the runs before it: median "
                             "100)",)
    assert report.status is ERROR


def test_report_as_json() -> None:
    """Dates become ISO strings, scores are rounded to 4 places, anomalies are listed."""
    anomaly = FeedAnomaly(dimension="daily_bars", kind=AnomalyKind.STALE, message="late")
    report = evaluate_ingest_quality([fresh(observed=13, expected=15)], anomalies=[anomaly])
    data = json.loads(json.dumps(report.as_dict()))
    bars = data["dimensions"][0]
    assert data["status"] == "warn" and data["score"] == 0.8667       # 13/15 = 0.86667
    assert data["thresholds"] == {"warn": 0.85, "error": 0.6}
    assert bars["metadata"]["latest"] == "2024-04-30"
    assert bars["metadata"]["anomalies"] == [{"dimension": "daily_bars", "kind": "stale",
                                              "severity": "warn", "message": "late",
                                              "metrics": {}}]


def test_inputs_that_make_no_sense_are_refused() -> None:
    """Thresholds out of order, a dimension twice, an anomaly without its dimension, a
    negative count, a drop threshold outside (0, 1]."""
    with pytest.raises(InputError, match="0 <= error <= warn <= 1"):
        evaluate_ingest_quality([fresh()], warn=0.5, error=0.7)
    with pytest.raises(InputError, match="more than once"):
        evaluate_ingest_quality([fresh(), fresh()])
    with pytest.raises(InputError, match="'macro', which has no result"):
        evaluate_ingest_quality([fresh()], anomalies=[
            FeedAnomaly(dimension="macro", kind=AnomalyKind.STALLED, message="x")])
    with pytest.raises(InputError, match="`observed` is -1"):
        fresh(observed=-1)
    with pytest.raises(InputError, match="max_drop"):
        detect_feed_anomalies([], max_drop=0)
    with pytest.raises(InputError, match="not in the report"):
        evaluate_ingest_quality([fresh()]).dimension("intraday")


def test_every_status_and_anomaly_kind_is_documented() -> None:
    """Each IngestQualityStatus and AnomalyKind value appears as `code` in docs/quality.md."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "quality.md").read_text()
    codes = [*IngestQualityStatus, *AnomalyKind]
    missing = [c.value for c in codes if f"`{c.value}`" not in text]
    assert not missing, f"document these codes in docs/quality.md: {missing}"
