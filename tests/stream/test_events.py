"""Telemetry events: their JSON form, and the events of a real prices_daily run read back from
ingestion.job_runs / gate_results. Expected numbers come from the `market` fixture's files
(three securities a day; the test's own edits are written beside each number)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.errors import DatabaseStateError
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.stream.events import (
    EventKind,
    GateRecord,
    RunRecord,
    TelemetryEvent,
    build_run_events,
    parse_event,
    read_run_events,
)
from tests.fix_data import load_reference, make_bar, write_day

AT = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# prices_daily's gate checks in registry order (jobs/prices.py JOB: pre_gate, post_gate)
PRE = ["schema.latest_migration", "securities.non_empty", "ticker_history.non_empty",
       "ticker_history.no_overlaps", "ticker_history.one_ticker_at_a_time"]
POST = ["prices_daily.no_orphans", "prices_daily.date_coverage",
        "prices_daily.security_coverage", "prices.false_ticks"]


def test_an_event_is_one_compact_json_object_with_a_microsecond_utc_stamp() -> None:
    """The wire form: every field, produced_at in ISO 8601 with microseconds and +00:00."""
    event = TelemetryEvent(event_id="6f1c2a52-8d1e-4f7e-9a53-0c1d2e3f4a5b", produced_at=AT,
                           job="prices_daily", run_id=3, kind=EventKind.DATE_BATCH,
                           status="ok", counts={"bars": 3, "rejected": 0},
                           detail={"trade_date": "2024-01-02"})
    assert json.loads(event.encode()) == {
        "event_id": "6f1c2a52-8d1e-4f7e-9a53-0c1d2e3f4a5b",
        "produced_at": "2024-01-02T21:00:00.000000+00:00", "job": "prices_daily",
        "run_id": 3, "kind": "date_batch", "status": "ok",
        "counts": {"bars": 3, "rejected": 0}, "detail": {"trade_date": "2024-01-02"}}
    assert b" " not in event.encode()
    assert parse_event(event.encode()) == event


@pytest.mark.parametrize("value", [b"not json", b"[]", b'{"event_id": "x"}',
                                   b'{"event_id": "x", "produced_at": "2024-01-02T21:00:00",'
                                   b' "job": "j", "run_id": 1, "kind": "run", "status": "ok"}',
                                   b'{"event_id": "x", "produced_at": "2024-01-02T21:00:00Z",'
                                   b' "job": "j", "run_id": 1, "kind": "lunch", "status": "ok"}'])
def test_a_message_that_is_not_telemetry_is_a_value_error(value: bytes) -> None:
    """Not JSON, missing fields, a naive produced_at or an unknown kind: ValueError."""
    with pytest.raises(ValueError, match="telemetry|Expecting value|lunch"):
        parse_event(value)


def test_build_gives_the_run_then_dates_then_gates_with_fresh_ids() -> None:
    """Counts keep whole numbers (not elapsed_s, lists or gates) and rejected by reason."""
    run = RunRecord(7, "prices_daily", "succeeded",
                    {"rows_written": 9, "elapsed_s": 0.5, "rejected": {"high_below_low": 2},
                     "session_dates": ["2024-01-02"], "gates": {"pre": []}, "flag": True})
    events = build_run_events(run, [], [GateRecord("pre", "schema.latest_migration",
                                                   "schema_not_latest", "pass", 0)],
                              clock=lambda: AT)
    assert [(e.kind, e.status, dict(e.counts)) for e in events] == [
        (EventKind.RUN, "succeeded", {"rows_written": 9, "rejected:high_below_low": 2}),
        (EventKind.GATE_RESULT, "pass", {"failed": 0})]
    assert dict(events[1].detail) == {"phase": "pre", "check": "schema.latest_migration",
                                      "reason_code": "schema_not_latest"}
    assert all(UUID4.match(e.event_id) for e in events)
    assert len({e.event_id for e in events}) == 2
    assert {e.produced_at for e in events} == {AT}


def test_events_of_a_partial_prices_daily_run(db: str, market: Path) -> None:
    """One run event, one event per session (ok, failed with why, missing) and one per gate
    result, read from the warehouse after a real run."""
    load_reference(db, market)
    # 2024-01-03: only an AAPL bar with high below low (rejected); 2024-01-04: header only
    # (the date fails); 2024-01-05 has no file (missing); 2024-01-02 keeps its three bars.
    write_day(market, "2024-01-03", [make_bar("AAPL", "2024-01-03", 181, high=1.0)])
    write_day(market, "2024-01-04", [])
    report = run_job(Settings(), db, RunRequest(job="prices_daily", path=market,
                                                start=date(2024, 1, 2), end=date(2024, 1, 5)))
    with connect(db) as conn:
        events = read_run_events(conn, report.run_id)
    run, dates, gates = events[0], events[1:5], events[5:]
    assert (run.kind, run.job, run.run_id, run.status) == \
        (EventKind.RUN, "prices_daily", report.run_id, "partial")
    assert {k: run.counts[k] for k in ("sessions", "sessions_ok", "sessions_failed",
                                       "sessions_missing", "rows_written", "rows_rejected",
                                       "rejected:high_below_low")} == {
        "sessions": 4, "sessions_ok": 2, "sessions_failed": 1, "sessions_missing": 1,
        "rows_written": 3, "rows_rejected": 1, "rejected:high_below_low": 1}
    assert "1 failed and 1 missing" in run.detail["error"]
    assert [(e.kind, e.status, e.detail["trade_date"], dict(e.counts)) for e in dates] == [
        (EventKind.DATE_BATCH, "ok", "2024-01-02", {"bars": 3, "rejected": 0}),
        (EventKind.DATE_BATCH, "ok", "2024-01-03", {"bars": 0, "rejected": 1}),
        (EventKind.DATE_BATCH, "failed", "2024-01-04", {"bars": 0, "rejected": 0}),
        (EventKind.DATE_BATCH, "missing", "2024-01-05", {"bars": 0, "rejected": 0})]
    assert "has no rows" in dates[2].detail["reason"]
    assert [(g.kind, g.detail["phase"], g.detail["check"]) for g in gates] == \
        [(EventKind.GATE_RESULT, "pre", c) for c in PRE] + \
        [(EventKind.GATE_RESULT, "post", c) for c in POST]
    assert all(e.job == "prices_daily" and e.run_id == report.run_id for e in events)


def test_a_run_without_dates_has_no_date_batches(db: str, market: Path) -> None:
    """securities_master: its run event and its gate results only (1 pre, 2 post checks)."""
    report = run_job(Settings(), db, RunRequest(job="securities_master", path=market))
    with connect(db) as conn:
        events = read_run_events(conn, report.run_id)
    assert [e.kind for e in events] == [EventKind.RUN] + [EventKind.GATE_RESULT] * 3
    assert {k: events[0].counts[k] for k in ("input", "inserted")} == {"input": 3, "inserted": 3}


def test_an_unknown_run_is_a_database_state_error(db: str) -> None:
    """A run_id that was never recorded is named in the error."""
    with connect(db) as conn, pytest.raises(DatabaseStateError, match="run_id 999"):
        read_run_events(conn, 999)
