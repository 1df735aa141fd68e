"""Ingest scoring and feed anomalies: how complete and how fresh each dimension of the data is.

In:  one `DimensionResult` per dimension (units expected and observed, newest data against the
     newest expected) and `RunSnapshot`s of the recent runs of each feed.
Out: `IngestQualityReport` (per dimension: coverage, freshness, score, status, messages, and the
     feed anomalies in its metadata); `FeedAnomaly`s from `detect_feed_anomalies`.

Pure: no I/O. `stocksdb.db.ingest_history` builds the inputs from the warehouse. The formula
and every code are documented in docs/quality.md:

    coverage  = min(1, observed / expected)              (1 when nothing is expected)
    freshness = min(1, (max_lag + 1) / (lag + 1))        (0 when there is no data at all)
    score     = min(coverage, freshness)
    status    = error if score < error, warn if score < warn, else ok; raised to the severity
                of the dimension's worst anomaly (stalled: error; drop, stale: warn)
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from stocksdb.errors import InputError

DEFAULT_WARN = 0.85
DEFAULT_ERROR = 0.6
DEFAULT_MAX_DROP = 0.5   # a feed delivering less than half its trailing median is a drop
DEFAULT_WINDOW = 10      # runs before the newest that make the trailing median


class IngestQualityStatus(StrEnum):
    """How a dimension (or the whole report) grades."""

    OK = "ok"
    WARN = "warn"
    ERROR = "error"
    SKIPPED = "skipped"   # not graded (no data source for it yet); never raises the report


_RANK = {IngestQualityStatus.SKIPPED: -1, IngestQualityStatus.OK: 0,
         IngestQualityStatus.WARN: 1, IngestQualityStatus.ERROR: 2}


def worst_status(statuses: Iterable[IngestQualityStatus]) -> IngestQualityStatus:
    """The most severe of `statuses` (ok for none, skipped only when all are skipped)."""
    return max(statuses, key=_RANK.__getitem__, default=IngestQualityStatus.OK)


class AnomalyKind(StrEnum):
    """What is wrong with a feed's newest run."""

    STALLED = "stalled"   # it delivered no rows
    DROP = "drop"         # it delivered far fewer rows than the trailing median
    STALE = "stale"       # its newest data is older than the newest it asked for


ANOMALY_SEVERITY = {AnomalyKind.STALLED: IngestQualityStatus.ERROR,
                    AnomalyKind.DROP: IngestQualityStatus.WARN,
                    AnomalyKind.STALE: IngestQualityStatus.WARN}

# How a freshness lag is counted: XNYS sessions (stocksdb.domain.sessions) or calendar days.
LagUnit = Literal["sessions", "days"]


@dataclass(frozen=True, kw_only=True)
class DimensionResult:
    """What one dimension holds against what it should hold.

    `expected`/`observed` count `unit`s (sessions, securities) over the dimension's window;
    `latest` is its newest data, `expected_latest` the newest it should have, and `max_lag` the
    lag (in `lag_unit`, after `expected_latest`) tolerated before freshness falls below 1.
    A result with `skipped` (the reason) is reported but not graded.
    """

    dimension: str
    expected: int = 0
    observed: int = 0
    unit: str = "rows"
    latest: date | None = None
    expected_latest: date | None = None
    max_lag: int = 0
    lag_unit: LagUnit = "days"
    skipped: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("expected", "observed", "max_lag"):
            if getattr(self, name) < 0:
                raise InputError(f"dimension {self.dimension!r}: `{name}` is "
                                 f"{getattr(self, name)!r}; expected a count >= 0")


@dataclass(frozen=True, kw_only=True)
class RunSnapshot:
    """One finished run of a feed: when it ended, how many rows it delivered (per unit of work
    when runs differ in size: daily_bars counts bars per requested session), the newest data it
    loaded and the newest it asked for (None: unknown)."""

    dimension: str
    finished_at: datetime
    rows: float
    newest: date | None = None
    expected_newest: date | None = None
    run_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class FeedAnomaly:
    """Something wrong with a feed's newest run; `metrics` hold the numbers behind it."""

    dimension: str
    kind: AnomalyKind
    message: str
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> IngestQualityStatus:
        """error for a stalled feed, warn for a drop or stale data."""
        return ANOMALY_SEVERITY[self.kind]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"dimension": self.dimension, "kind": self.kind.value,
                "severity": self.severity.value, "message": self.message,
                "metrics": dict(self.metrics)}


@dataclass(frozen=True, kw_only=True)
class DimensionQuality:
    """The grade of one dimension: scores are None when it was skipped (and lag when there is
    no data or no expectation)."""

    dimension: str
    status: IngestQualityStatus
    score: float | None
    coverage: float | None
    freshness: float | None
    lag: int | None
    messages: tuple[str, ...]
    metadata: Mapping[str, Any]

    @property
    def anomalies(self) -> tuple[FeedAnomaly, ...]:
        """The feed anomalies attached to this dimension."""
        return tuple(self.metadata.get("anomalies", ()))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (scores rounded to 4 places)."""
        meta = {k: v for k, v in self.metadata.items() if k != "anomalies"}
        return {"dimension": self.dimension, "status": self.status.value,
                "score": _round(self.score), "coverage": _round(self.coverage),
                "freshness": _round(self.freshness), "lag": self.lag,
                "messages": list(self.messages),
                "metadata": {**_jsonable(meta),
                             "anomalies": [a.as_dict() for a in self.anomalies]}}


@dataclass(frozen=True, kw_only=True)
class IngestQualityReport:
    """Every dimension's grade; `status` is the worst graded one, `score` the lowest (1 when
    nothing was graded)."""

    status: IngestQualityStatus
    score: float
    dimensions: tuple[DimensionQuality, ...]
    warn: float
    error: float

    def dimension(self, name: str) -> DimensionQuality:
        """The grade of dimension `name`.

        Raises:
            InputError: no such dimension in the report.
        """
        for d in self.dimensions:
            if d.dimension == name:
                return d
        known = ", ".join(d.dimension for d in self.dimensions)
        raise InputError(f"dimension {name!r} is not in the report; it has {known}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (`stocksdb quality --json`)."""
        return {"status": self.status.value, "score": _round(self.score),
                "thresholds": {"warn": self.warn, "error": self.error},
                "dimensions": [d.as_dict() for d in self.dimensions]}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _jsonable(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in meta.items()}


def compute_lag(latest: date, expected_latest: date, unit: LagUnit) -> int:
    """How far `latest` trails `expected_latest`: XNYS sessions after `latest` up to and
    including `expected_latest`, or calendar days; 0 when it does not trail."""
    if latest >= expected_latest:
        return 0
    if unit == "days":
        return (expected_latest - latest).days
    from stocksdb.domain.sessions import sessions_in_range

    return len(sessions_in_range(latest + timedelta(days=1), expected_latest))


def compute_coverage(result: DimensionResult) -> float:
    """observed / expected, capped at 1; 1 when nothing is expected."""
    if result.expected == 0:
        return 1.0
    return min(1.0, result.observed / result.expected)


def compute_freshness(result: DimensionResult) -> tuple[float, int | None]:
    """(max_lag + 1) / (lag + 1), capped at 1, and the lag; (0, None) with no data, (1, None)
    with no expectation."""
    if result.expected_latest is None:
        return 1.0, None
    if result.latest is None:
        return 0.0, None
    lag = compute_lag(result.latest, result.expected_latest, result.lag_unit)
    return min(1.0, (result.max_lag + 1) / (lag + 1)), lag


def _band(score: float, *, warn: float, error: float) -> IngestQualityStatus:
    if score < error:
        return IngestQualityStatus.ERROR
    if score < warn:
        return IngestQualityStatus.WARN
    return IngestQualityStatus.OK


def _messages(result: DimensionResult, coverage: float, lag: int | None) -> list[str]:
    """Why a dimension is below 1: its coverage gap and its freshness breach."""
    out = []
    if coverage < 1:
        out.append(f"coverage {result.observed} of {result.expected} {result.unit} expected "
                   f"({coverage:.1%})")
    if result.expected_latest is not None and result.latest is None:
        out.append(f"no data; expected data up to {result.expected_latest}")
    elif lag is not None and lag > result.max_lag:
        out.append(f"newest data {result.latest} is {lag} {result.lag_unit} behind "
                   f"{result.expected_latest} (tolerated: {result.max_lag})")
    return out


def grade_dimension(result: DimensionResult, anomalies: Iterable[FeedAnomaly] = (), *,
                    warn: float = DEFAULT_WARN, error: float = DEFAULT_ERROR) -> DimensionQuality:
    """The grade of one dimension (see the module docstring for the formula)."""
    found = tuple(anomalies)
    metadata = {"expected": result.expected, "observed": result.observed, "unit": result.unit,
                "latest": result.latest, "expected_latest": result.expected_latest,
                "max_lag": result.max_lag, "lag_unit": result.lag_unit,
                **result.metadata, "anomalies": found}
    notes = [f"{a.kind.value}: {a.message}" for a in found]
    if result.skipped is not None:
        return DimensionQuality(dimension=result.dimension, status=IngestQualityStatus.SKIPPED,
                                score=None, coverage=None, freshness=None, lag=None,
                                messages=(f"skipped: {result.skipped}", *notes),
                                metadata=metadata)
    coverage = compute_coverage(result)
    freshness, lag = compute_freshness(result)
    score = min(coverage, freshness)
    status = worst_status([_band(score, warn=warn, error=error),
                           *(a.severity for a in found)])
    return DimensionQuality(dimension=result.dimension, status=status, score=score,
                            coverage=coverage, freshness=freshness, lag=lag,
                            messages=(*_messages(result, coverage, lag), *notes),
                            metadata=metadata)


def _check_thresholds(warn: float, error: float) -> None:
    if not 0 <= error <= warn <= 1:
        raise InputError(f"thresholds warn={warn!r}, error={error!r}; expected "
                         "0 <= error <= warn <= 1")


def evaluate_ingest_quality(results: Iterable[DimensionResult], *, warn: float = DEFAULT_WARN,
                            error: float = DEFAULT_ERROR,
                            anomalies: Iterable[FeedAnomaly] = ()) -> IngestQualityReport:
    """Grade every dimension of `results` and attach `anomalies` (from
    `detect_feed_anomalies`) to their dimension's metadata; dimensions keep their order.

    Raises:
        InputError: thresholds out of order, a dimension given twice, or an anomaly of a
            dimension without a result.
    """
    _check_thresholds(warn, error)
    given = list(results)
    names = [r.dimension for r in given]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"dimensions {twice} are given more than once; pass one result each")
    by_dimension: dict[str, list[FeedAnomaly]] = {n: [] for n in names}
    for anomaly in anomalies:
        if anomaly.dimension not in by_dimension:
            raise InputError(f"anomaly of dimension {anomaly.dimension!r}, which has no "
                             f"result (dimensions: {', '.join(names)}); pass its result too")
        by_dimension[anomaly.dimension].append(anomaly)
    graded = tuple(grade_dimension(r, by_dimension[r.dimension], warn=warn, error=error)
                   for r in given)
    scores = [d.score for d in graded if d.score is not None]
    return IngestQualityReport(
        status=worst_status(d.status for d in graded if d.score is not None),
        score=min(scores, default=1.0), dimensions=graded, warn=warn, error=error)


def _anomalies_of(runs: list[RunSnapshot], *, max_drop: float,
                  window: int) -> list[FeedAnomaly]:
    """The anomalies of one feed's newest run (`runs` in finishing order)."""
    newest, before = runs[-1], runs[:-1][-window:]
    dim = newest.dimension
    median = statistics.median(r.rows for r in before) if before else None
    base = {"run_id": newest.run_id, "rows": newest.rows, "trailing_median": median,
            "trailing_runs": len(before)}
    found = []
    if newest.rows == 0:
        found.append(FeedAnomaly(dimension=dim, kind=AnomalyKind.STALLED, metrics=base,
                                 message=_stalled_message(newest, median)))
    elif median and 1 - newest.rows / median > max_drop:
        fall = 1 - newest.rows / median
        found.append(FeedAnomaly(
            dimension=dim, kind=AnomalyKind.DROP, metrics={**base, "fall": round(fall, 4)},
            message=f"the newest run delivered {newest.rows:g} rows, {fall:.0%} below the "
                    f"median {median:g} of the {len(before)} run(s) before it (more than "
                    f"{max_drop:.0%} is a drop)"))
    if newest.newest and newest.expected_newest and newest.newest < newest.expected_newest:
        found.append(FeedAnomaly(
            dimension=dim, kind=AnomalyKind.STALE,
            metrics={**base, "newest": newest.newest.isoformat(),
                     "expected_newest": newest.expected_newest.isoformat()},
            message=f"the newest run's newest data is {newest.newest}, older than the "
                    f"{newest.expected_newest} it asked for"))
    return found


def _stalled_message(newest: RunSnapshot, median: float | None) -> str:
    run = f"run {newest.run_id}" if newest.run_id is not None else "the newest run"
    before = f" (the runs before it: median {median:g})" if median is not None else ""
    return f"{run} delivered no rows{before}"


def detect_feed_anomalies(history: Iterable[RunSnapshot], *, max_drop: float = DEFAULT_MAX_DROP,
                          window: int = DEFAULT_WINDOW) -> tuple[FeedAnomaly, ...]:
    """Per dimension, judge its newest run (by `finished_at`) against the `window` runs before
    it: no rows is `stalled`; rows more than `max_drop` (a fraction) below the trailing median
    is a `drop`; newest data older than the newest it asked for is `stale`.

    Raises:
        InputError: `max_drop` outside (0, 1] or `window` below 1.
    """
    if not 0 < max_drop <= 1:
        raise InputError(f"parameter `max_drop` is {max_drop!r}; expected a fraction in (0, 1]")
    if window < 1:
        raise InputError(f"parameter `window` is {window!r}; expected at least 1 run")
    feeds: dict[str, list[RunSnapshot]] = {}
    for snapshot in sorted(history, key=lambda s: s.finished_at):
        feeds.setdefault(snapshot.dimension, []).append(snapshot)
    return tuple(a for runs in feeds.values()
                 for a in _anomalies_of(runs, max_drop=max_drop, window=window))
