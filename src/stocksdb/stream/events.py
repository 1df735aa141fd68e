"""Ingest telemetry events: what a finished job run tells the stream.

In:  a run's records — ingestion.job_runs (status, counts; a dated job's session_dates,
     failed_dates, missing_dates), ingestion.gate_results, and per date the stored bars and the
     run's rejected rows.
Out: `TelemetryEvent`s — one per job run, one per date batch, one per gate result — and their
     JSON form (one UTF-8 JSON object per Kafka message, keyed by job).

    {"event_id": "<uuid4>", "produced_at": "2024-01-02T21:00:00.123456+00:00",
     "job": "prices_daily", "run_id": 3, "kind": "run" | "date_batch" | "gate_result",
     "status": "...", "counts": {"name": int, ...}, "detail": {"name": "text", ...}}

`status`: the run's job_runs.status; a date's ok | failed | missing; a gate result's
pass | warn | fail. Reads only: events are built after the run committed, so publishing them
can never change or lose warehouse data.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import psycopg
from psycopg.rows import dict_row

from stocksdb.errors import DatabaseStateError
from stocksdb.stream.latency import utc_now


class EventKind(StrEnum):
    """What an event is about."""

    RUN = "run"                  # one job run, with its final status and counts
    DATE_BATCH = "date_batch"    # one date of a dated job (prices_daily's sessions)
    GATE_RESULT = "gate_result"  # one check of a run's pre- or post-gate


@dataclass(frozen=True, kw_only=True)
class TelemetryEvent:
    """One telemetry message. `produced_at` is when it was handed to the producer (the
    publisher stamps it); `counts` are whole numbers, `detail` short texts."""

    event_id: str
    produced_at: datetime
    job: str
    run_id: int
    kind: EventKind
    status: str
    counts: Mapping[str, int] = field(default_factory=dict)
    detail: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form; produced_at in UTC ISO 8601 with microseconds."""
        return {"event_id": self.event_id,
                "produced_at": self.produced_at.isoformat(timespec="microseconds"),
                "job": self.job, "run_id": self.run_id, "kind": self.kind.value,
                "status": self.status, "counts": dict(self.counts), "detail": dict(self.detail)}

    def encode(self) -> bytes:
        """The Kafka message value: compact UTF-8 JSON."""
        return json.dumps(self.as_dict(), separators=(",", ":")).encode()


def new_event(job: str, run_id: int, kind: EventKind, status: str, *,
              counts: Mapping[str, int] | None = None, detail: Mapping[str, str] | None = None,
              clock: Callable[[], datetime] = utc_now) -> TelemetryEvent:
    """A fresh event with a random uuid4 id, stamped now (in UTC)."""
    return TelemetryEvent(event_id=str(uuid.uuid4()), produced_at=clock(), job=job,
                          run_id=run_id, kind=kind, status=status, counts=dict(counts or {}),
                          detail=dict(detail or {}))


def parse_event(value: bytes | str) -> TelemetryEvent:
    """The event a Kafka message value carries.

    Raises:
        ValueError: not JSON, or a field is missing or of the wrong type (the consumer skips
            such a message and counts it).
    """
    try:
        raw = json.loads(value)
        produced_at = datetime.fromisoformat(raw["produced_at"])
        event = TelemetryEvent(
            event_id=str(raw["event_id"]), produced_at=produced_at, job=str(raw["job"]),
            run_id=int(raw["run_id"]), kind=EventKind(raw["kind"]), status=str(raw["status"]),
            counts={str(k): int(v) for k, v in raw.get("counts", {}).items()},
            detail={str(k): str(v) for k, v in raw.get("detail", {}).items()})
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"telemetry message lacks or mistypes a field: {exc!r}") from exc
    if produced_at.utcoffset() is None:
        raise ValueError(f"telemetry produced_at {raw['produced_at']!r} has no UTC offset")
    return event


@dataclass(frozen=True)
class RunRecord:
    """A job_runs row: its status and its counts as recorded (ints, lists, mappings)."""

    run_id: int
    job: str
    status: str
    counts: Mapping[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class GateRecord:
    """A gate_results row."""

    phase: str
    check: str
    reason_code: str
    status: str
    failed: int


@dataclass(frozen=True)
class DateRecord:
    """One date of a dated run: ok, failed (with why) or missing, with the rows the run
    rejected on it and, for prices_daily, the bars stored for the date after the run."""

    trade_date: date
    status: str
    rejected: int
    bars: int | None = None
    reason: str | None = None

    def counts(self) -> dict[str, int]:
        """bars (when known) and rejected."""
        return {**({"bars": self.bars} if self.bars is not None else {}),
                "rejected": self.rejected}


def run_counts(counts: Mapping[str, Any]) -> dict[str, int]:
    """The whole-number counts of job_runs.counts, plus `rejected:<reason>` for its rejected
    rows by reason (floats such as elapsed_s, lists and the gates are left out)."""
    out = {k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}
    rejected = counts.get("rejected") or {}
    out.update({f"rejected:{k}": int(v) for k, v in sorted(rejected.items())})
    return out


def dated_statuses(counts: Mapping[str, Any]) -> dict[date, tuple[str, str | None]]:
    """Each date a dated run covered -> (ok | failed | missing, why it failed), by date;
    from job_runs.counts session_dates, failed_dates (date -> why) and missing_dates."""
    found: dict[date, tuple[str, str | None]] = {}
    for day in counts.get("session_dates") or ():
        found[date.fromisoformat(day)] = ("ok", None)
    for day, why in (counts.get("failed_dates") or {}).items():
        found[date.fromisoformat(day)] = ("failed", str(why))
    for day in counts.get("missing_dates") or ():
        found[date.fromisoformat(day)] = ("missing", None)
    return dict(sorted(found.items()))


def build_run_events(run: RunRecord, dates: Sequence[DateRecord], gates: Sequence[GateRecord],
                     *, clock: Callable[[], datetime] = utc_now) -> list[TelemetryEvent]:
    """The run's events: the run, then each date batch by date, then each gate result."""
    def make(kind: EventKind, status: str, counts: Mapping[str, int],
             detail: Mapping[str, str]) -> TelemetryEvent:
        return new_event(run.job, run.run_id, kind, status, counts=counts, detail=detail,
                         clock=clock)

    events = [make(EventKind.RUN, run.status, run_counts(run.counts),
                   {"error": run.error} if run.error else {})]
    events += [make(EventKind.DATE_BATCH, d.status, d.counts(),
                    {"trade_date": d.trade_date.isoformat(),
                     **({"reason": d.reason} if d.reason else {})}) for d in dates]
    events += [make(EventKind.GATE_RESULT, g.status, {"failed": g.failed},
                    {"phase": g.phase, "check": g.check, "reason_code": g.reason_code})
               for g in gates]
    return events


_RUN = "SELECT run_id, job, status, counts, error FROM ingestion.job_runs WHERE run_id = %s"
_GATES = """
SELECT phase, check_name AS check, reason_code, status, failed_count AS failed
  FROM ingestion.gate_results WHERE run_id = %s
 ORDER BY phase DESC, checked_at, check_name
"""
_DATES = """
SELECT d.day AS trade_date,
       (SELECT count(*) FROM stocks_research.prices_daily p WHERE p.trade_date = d.day) AS bars,
       (SELECT count(*) FROM ingestion.rejected_rows r
         WHERE r.run_id = %(run_id)s AND r.trade_date = d.day) AS rejected
  FROM unnest(%(days)s::date[]) AS d(day)
"""


def read_run_events(conn: psycopg.Connection[Any], run_id: int, *,
                    clock: Callable[[], datetime] = utc_now) -> list[TelemetryEvent]:
    """The telemetry of one recorded run: the run, its date batches (when its counts list
    sessions; bars counted in prices_daily) and its gate results.

    Raises:
        DatabaseStateError: no job_runs row has this run_id.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_RUN, (run_id,)).fetchone()
        if row is None:
            raise DatabaseStateError(f"run_id {run_id} is not in ingestion.job_runs; "
                                     "pass the run_id a job report gave")
        run = RunRecord(**row)
        gates = [GateRecord(**g) for g in cur.execute(_GATES, (run_id,)).fetchall()]
        statuses = dated_statuses(run.counts)
        stored = {r["trade_date"]: r for r in cur.execute(
            _DATES, {"run_id": run_id, "days": list(statuses)}).fetchall()} if statuses else {}
    # Only prices_daily's dates are bars; another dated job's date batch has no bars count.
    bars = run.job == "prices_daily"
    dates = [DateRecord(day, status, int(stored[day]["rejected"]),
                        int(stored[day]["bars"]) if bars else None, why)
             for day, (status, why) in statuses.items()]
    return build_run_events(run, dates, gates, clock=clock)
