"""prices_daily job: the canonical daily OHLCV loader (SPEC section 5), one transaction per date
(a year with no stored bars: hydrated in one transaction, jobs.prices_hydrate).

Reads:  day files (files: a local tree; massive: S3 through the local cache), ticker_history,
        trading_sessions (the expected sessions, where it covers the range; else the calendar)
Writes: stocks_research.prices_daily; ingestion.rejected_rows, source_files, quality_findings
        (false ticks, jobs.prices_ticks), job_runs
Per session: read and parse the file, check rows (quality.prices), resolve tickers as of that
date, then in one transaction merge (jobs.prices_merge), record rejected rows and the source
file, commit. A missing file is counted and skipped; an unreadable file or a database error
fails that date only (rolled back) and the run goes on; the run ends 'partial' naming the dates.
After the sessions, false ticks over the run's range are stored as warnings (never a refusal).
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import psycopg

from stocksdb.db.lineage import Layer, Table
from stocksdb.db.partitions import ensure_year_partitions
from stocksdb.db.queries import read_ticker_intervals
from stocksdb.db.sessions import read_known_sessions
from stocksdb.db.sync import MergeCounts
from stocksdb.domain.frames import records
from stocksdb.domain.reasons import Reason
from stocksdb.domain.tickers import TickerIntervals
from stocksdb.gates import checks as c
from stocksdb.gates.checks import RunCounts
from stocksdb.jobs.base import JobContext, Outcome, Rejected
from stocksdb.jobs.prices_hydrate import YearTable, plan_hydration
from stocksdb.jobs.prices_merge import Payload, SessionMerge, merge_session
from stocksdb.jobs.prices_prepare import Prepared, prepare_session
from stocksdb.jobs.prices_scope import (
    DEFAULT_MAX_SHRINK,
    PricesOptions,
    check_symbols,
    resolve_sessions,
)
from stocksdb.jobs.prices_ticks import RunTickScan, record_false_ticks
from stocksdb.jobs.registry import Job
from stocksdb.quality.prices import DayCheck
from stocksdb.sources.flatfiles import DayFile, DayFileStore, DayRows

log = logging.getLogger("stocksdb.jobs.prices")
_LOCK_NAMESPACE = 0x5052  # advisory xact lock per (namespace, date): one writer per date


@dataclass
class PricesTally:
    """Running totals of a prices_daily run (the completion summary)."""

    sessions: int = 0
    ok: list[date] = field(default_factory=list)
    failed: dict[date, str] = field(default_factory=dict)
    missing: list[date] = field(default_factory=list)
    rows: MergeCounts = field(default_factory=MergeCounts)
    rejected: int = 0
    unknown_tickers: set[str] = field(default_factory=set)
    skipped_by_symbols: int = 0
    false_ticks: int = 0
    # The bars stored for each session written, as the write left them (any source): per
    # date, and per security as a bincount over security_id; the post-gate's counts when
    # every session of the run was counted (`uncounted` stays False).
    stored_by_date: dict[date, int] = field(default_factory=dict)
    stored_by_security: np.ndarray[Any, Any] = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64))
    uncounted: bool = False
    fell_back: bool = False

    def count_stored(self, session: date, ids: np.ndarray[Any, Any] | None) -> None:
        """Count one written session's stored bars (None: not known, the gate scans)."""
        if ids is None:
            self.uncounted = True
            return
        self.stored_by_date[session] = len(ids)
        if len(ids):
            self.count_stored_array(np.bincount(ids))

    def run_counts(self) -> RunCounts:
        """The post-gate's RunCounts (gates.checks.run_counts) from the counted bars."""
        ids = np.flatnonzero(self.stored_by_security)
        return RunCounts({int(i): int(self.stored_by_security[i]) for i in ids},
                         {d: n for d, n in self.stored_by_date.items() if n},
                         span=(min(self.ok), max(self.ok)))

    def merge(self, other: PricesTally) -> None:
        """Add the totals of a part of the run (a hydrated year) once it is committed."""
        self.ok += other.ok
        self.failed.update(other.failed)
        self.missing += other.missing
        self.rows += other.rows
        self.rejected += other.rejected
        self.unknown_tickers |= other.unknown_tickers
        self.skipped_by_symbols += other.skipped_by_symbols
        self.stored_by_date.update(other.stored_by_date)
        self.uncounted |= other.uncounted
        if len(other.stored_by_security):
            self.count_stored_array(other.stored_by_security)

    def count_stored_array(self, counts: np.ndarray[Any, Any]) -> None:
        """Add another bincount of bars per security."""
        if len(counts) > len(self.stored_by_security):
            grown = np.zeros(len(counts), dtype=np.int64)
            grown[:len(self.stored_by_security)] = self.stored_by_security
            self.stored_by_security = grown
        self.stored_by_security[:len(counts)] += counts

    def counts(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions, "sessions_ok": len(self.ok),
            "sessions_failed": len(self.failed), "sessions_missing": len(self.missing),
            "rows_written": self.rows.inserted, "rows_updated": self.rows.updated,
            "rows_unchanged": self.rows.unchanged, "rows_deleted": self.rows.deleted,
            "rows_rejected": self.rejected, "unknown_tickers": len(self.unknown_tickers),
            "rows_skipped_by_symbols": self.skipped_by_symbols,
            "false_ticks": self.false_ticks,
        }


def _rejected_rows(prep: Prepared, day: DayFile, session: date, source: str,
                   stored: set[int]) -> Iterator[Rejected]:
    """Rejected rows with their details, lazily; `stored`: securities whose stored bar was
    kept."""
    for frame in prep.rejected_frames():
        for raw in records(frame):
            reason = Reason(raw.pop("reason"))
            sid = raw.pop("_security_id", None)
            detail = f"{reason.replace('_', ' ')}: " + ", ".join(
                f"{k}={raw.get(k)}" for k in ("open", "high", "low", "close", "volume",
                                               "window_start") if k in raw)
            if sid is not None and not math.isnan(sid) and int(sid) in stored:
                detail += "; the stored bar was kept"
            yield Rejected(reason, detail, source, day.key, ticker=str(raw.get("ticker")),
                           trade_date=session, raw=raw)


class DateRefused(Exception):  # noqa: N818 - control flow inside the loader, never escapes
    """The merge would lose stored bars; the date's transaction is rolled back."""


def guard_shrink(session: date, counts: MergeCounts, *, universe: int,
                 max_shrink: float) -> None:
    """Refuse a merge that deletes too much of a date, or sinks its coverage.

    Raises:
        DateRefused: with the sentence that names the date in the report.
    """
    from stocksdb.gates.checks import COVERAGE_FAIL, MIN_UNIVERSE_FOR_COVERAGE

    before, after = counts.stored_before, counts.stored_after
    if max_shrink >= 1 or before == 0:
        if counts.deleted:
            log.warning("%s: --max-shrink %g: accepting the deletion of %d of %d stored bars",
                        session, max_shrink, counts.deleted, before)
        return
    if counts.deleted > max_shrink * before:
        raise DateRefused(
            f"the file would delete {counts.deleted} of the {before} stored bars "
            f"({counts.deleted / before:.1%} > --max-shrink {max_shrink:g}); nothing written, "
            "the stored bars are kept; check the file, or pass --max-shrink 1 to accept a "
            "genuine vendor removal")
    if universe >= MIN_UNIVERSE_FOR_COVERAGE and before / universe >= COVERAGE_FAIL > \
            after / universe:
        raise DateRefused(
            f"the file would leave {after} bars for {universe} listed securities (coverage "
            f"{after / universe:.1%}, was {before / universe:.1%}; error below "
            f"{COVERAGE_FAIL:.0%}); nothing written, the stored bars are kept; pass "
            "--max-shrink 1 to accept it")


def _stored_of(conn: psycopg.Connection[Any], session: date, ids: tuple[int, ...]) -> set[int]:
    if not ids:
        return set()
    rows = conn.execute("SELECT security_id FROM stocks_research.prices_daily "
                        "WHERE trade_date = %s AND security_id = ANY(%s)", (session, list(ids)))
    return {int(r[0]) for r in rows}


_SOURCE_FILE = """
INSERT INTO ingestion.source_files (source, key, size_bytes, etag, sha256, rows, status,
                                    last_run_id, loaded_at)
VALUES (%s, %s, %s, %s, %s, %s, 'loaded', %s, now())
ON CONFLICT (source, key) DO UPDATE SET size_bytes = EXCLUDED.size_bytes,
    etag = EXCLUDED.etag, sha256 = EXCLUDED.sha256, rows = EXCLUDED.rows, status = 'loaded',
    last_run_id = EXCLUDED.last_run_id, loaded_at = now()
"""


def _write_session(ctx: JobContext, prep: Prepared, day: DayFile, *, rows: DayRows,
                   check: DayCheck, payload: Payload, source: str,
                   opts: PricesOptions) -> SessionMerge:
    session, conn = prep.session, ctx.conn
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                     (_LOCK_NAMESPACE, session.toordinal()))
        merged = merge_session(conn, payload, source=source, delete_missing=not opts.symbols,
                               keep=check.kept_ids, bars=check.accepted)
        guard_shrink(session, merged.counts, universe=prep.universe,
                     max_shrink=opts.max_shrink)
        _record_session(ctx, prep, day, rows, source,
                        stored=_stored_of(conn, session, check.kept_ids))
    return merged


def _record_session(ctx: JobContext, prep: Prepared, day: DayFile, rows: DayRows, source: str,
                    *, stored: set[int]) -> None:
    """The date's rejected rows and its source_files row, in the date's transaction."""
    ctx.write_rejected(_rejected_rows(prep, day, prep.session, source, stored))
    ctx.conn.execute(_SOURCE_FILE, _source_file(ctx, prep, day, rows, source))


def _source_file(ctx: JobContext, prep: Prepared, day: DayFile, rows: DayRows,
                 source: str) -> tuple[Any, ...]:
    return (source, day.key, rows.size, day.etag, rows.sha256, prep.rows_read, ctx.run_id)


def _hydrate_session(ctx: JobContext, year: YearTable, prep: Prepared, source: str
                     ) -> SessionMerge:
    """One date of a hydrated year: as _write_session, into the year's fresh table (nothing is
    stored for the year, so nothing is merged, deleted or kept); its source_files row is
    written when the year's COPY ends (Run.hydrate). A database error propagates: it rolls
    back the whole year."""
    assert prep.day is not None and prep.rows is not None and prep.payload is not None
    # No per-date lock: the year's partition lock, held until the commit, already keeps
    # every other writer of the year's dates waiting (db.partitions).
    year.copy(ctx.conn, prep.payload)
    if prep.rejected_count or prep.spool is not None:
        year.pause()
        ctx.write_rejected(_rejected_rows(prep, prep.day, prep.session, source, set()))
    year.files.append(_source_file(ctx, prep, prep.day, prep.rows, source))
    assert prep.check is not None
    return SessionMerge(MergeCounts(inserted=prep.payload.rows),
                        prep.check.accepted["security_id"].to_numpy(dtype=np.int64))


def _load_session(ctx: JobContext, store: DayFileStore, prep: Prepared, *, opts: PricesOptions,
                  tally: PricesTally, year: YearTable | None = None) -> SessionMerge | str:
    """Write one prepared session (into `year`'s table when hydrating); returns its counts, or
    'missing' / 'failed'."""
    session = prep.session
    if prep.failure is not None:
        tally.failed[session] = prep.failure
        log.error("%s: skipped, nothing written: %s", session, prep.failure)
        return "failed"
    if prep.day is None or prep.rows is None or prep.check is None or prep.payload is None:
        log.warning("%s: no day file (expected %s) — missing, nothing written", session,
                    f"{session:%Y/%m/%Y-%m-%d}.csv.gz")
        return "missing"
    tally.skipped_by_symbols += prep.skipped
    if year is not None:
        merged = _hydrate_session(ctx, year, prep, store.source)
        tally.rejected += prep.rejected_count
        tally.unknown_tickers.update(prep.unknown)
        return merged
    try:
        merged = _write_session(ctx, prep, prep.day, rows=prep.rows, check=prep.check,
                                payload=prep.payload, source=store.source, opts=opts)
    except DateRefused as exc:
        tally.failed[session] = str(exc)
        log.error("%s: refused: %s", session, exc)
        return "failed"
    except psycopg.Error as exc:
        tally.failed[session] = f"database error: {str(exc).strip().splitlines()[0]}"
        log.error("%s: rolled back, nothing written: %s", session, tally.failed[session])
        if ctx.conn.broken or ctx.conn.closed:
            ctx.reconnect()
        return "failed"
    tally.rejected += prep.rejected_count
    tally.unknown_tickers.update(prep.unknown)
    log.debug("%s: %s", session, merged.counts)
    return merged


def _prepared(store: DayFileStore, sessions: list[date], intervals: TickerIntervals,
              opts: PricesOptions, run_id: int) -> Iterator[Prepared]:
    """Prepared sessions in order; the next one is read and checked in a worker thread while
    the caller writes the current one (pyarrow and the database wait release the GIL).
    At most two sessions are in memory at once, so memory stays flat in the range length.
    (Worker processes, and a second preparing thread, were tried for hydrations: both made a
    year slower than this one thread on 2 cores; docs/performance.md.)"""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prices-prep") as pool:
        pending = [pool.submit(prepare_session, store, s, intervals, opts.symbols, run_id,
                               max_bytes=opts.max_file_bytes) for s in sessions[:1]]
        for i in range(len(sessions)):
            current = pending.pop()
            if i + 1 < len(sessions):
                pending.append(pool.submit(prepare_session, store, sessions[i + 1], intervals,
                                           opts.symbols, run_id,
                                           max_bytes=opts.max_file_bytes))
            yield current.result()


@dataclass(frozen=True, kw_only=True)
class PricesOutcome(Outcome):
    """The counts, the sessions written (`sessions`), failed (with why) and missing."""

    failed: Mapping[date, str]
    missing: tuple[date, ...]

    def recorded(self) -> dict[str, Any]:
        return {"failed_dates": {d.isoformat(): why for d, why in self.failed.items()},
                "session_dates": [d.isoformat() for d in self.sessions],
                "missing_dates": [d.isoformat() for d in self.missing]}


def options_of(ctx: JobContext) -> PricesOptions:
    """The loader's options from the run request and settings."""
    r = ctx.request
    return PricesOptions(start=r.start, end=r.end, days=r.days, symbols=r.symbols,
                         max_file_bytes=ctx.settings.max_file_bytes,
                         max_shrink=DEFAULT_MAX_SHRINK if r.max_shrink is None
                         else r.max_shrink)


def run_prices_daily(ctx: JobContext, store: DayFileStore) -> Outcome:
    """Load every session of the range (the run is 'partial' when a date failed or was
    missing)."""
    opts, progress = options_of(ctx), ctx.progress
    sessions = resolve_sessions(store, opts, lambda end: read_known_sessions(ctx.conn, end))
    intervals = read_ticker_intervals(ctx.conn)
    check_symbols(opts.symbols, intervals)
    if opts.symbols:
        log.warning("--symbols given: loading only %d symbol(s) %s; this run is "
                    "non-authoritative and deletes nothing", len(opts.symbols),
                    ",".join(opts.symbols[:10]))
    log.info("prices_daily: %d session(s) %s .. %s from %s", len(sessions),
             sessions[0] if sessions else "-", sessions[-1] if sessions else "-", store.source)
    tally = PricesTally(sessions=len(sessions))
    if progress:
        progress.total(len(sessions))
    t0 = time.monotonic()
    plan = plan_hydration(ctx.conn, sessions, symbols=opts.symbols,
                          enabled=ctx.settings.hydrate)
    _ensure_partitions(ctx, [s for s in sessions if s.year not in plan])
    run = _Run(ctx, store, opts, intervals, tally, _start_tick_scan(ctx, sessions, opts))
    try:
        preps = _prepared(store, sessions, intervals, opts, ctx.run_id)
        for prep in preps:
            days = plan.get(prep.session.year)
            if days is not None and prep.session == days[0]:
                run.hydrate(prep, preps, days)
            else:
                run.load(prep)
        tally.false_ticks = _flag_false_ticks(ctx, tally.ok, run.ticks)
    finally:
        if run.ticks is not None:
            run.ticks.close()
    outcome = _summarize(tally, time.monotonic() - t0)
    if tally.ok and not (tally.uncounted or tally.fell_back) and \
            _nothing_between(ctx, tally.ok):
        # every bar of the run's span is on a date it wrote, and was counted as it stood
        return replace(outcome, gate_facts={"run_counts": tally.run_counts()})
    return outcome


_BETWEEN = """
SELECT EXISTS (SELECT 1 FROM unnest(%s::date[], %s::date[]) AS g(after, before)
                WHERE EXISTS (SELECT 1 FROM stocks_research.prices_daily p
                               WHERE p.trade_date > g.after AND p.trade_date < g.before))
"""


def _nothing_between(ctx: JobContext, written: list[date]) -> bool:
    """Whether prices_daily holds no bar on a date between two consecutive dates of
    `written` (one index probe per gap, not a scan); a database error answers False."""
    days = sorted(written)
    gaps = [(a, b) for a, b in itertools.pairwise(days) if (b - a).days > 1]
    if not gaps:
        return True
    try:
        row = ctx.conn.execute(_BETWEEN, ([a for a, _ in gaps], [b for _, b in gaps])
                               ).fetchone()
    except psycopg.Error as exc:
        _recover(ctx, exc, "post-gate counts: the table is scanned instead")
        return False
    return bool(row is not None and not row[0])


def _ensure_partitions(ctx: JobContext, sessions: list[date]) -> None:
    """The yearly partitions the per-date loads of `sessions` write into."""
    years = sorted({s.year for s in sessions})
    if years:
        with ctx.conn.transaction():
            for y in years:
                ensure_year_partitions(ctx.conn, "prices_daily", date(y, 1, 1), date(y, 12, 31))


@dataclass
class _Run:
    """A run's loop state: the tally, and the false-tick scan fed as sessions are written."""

    ctx: JobContext
    store: DayFileStore
    opts: PricesOptions
    intervals: TickerIntervals
    tally: PricesTally
    ticks: RunTickScan | None

    def load(self, prep: Prepared, year: YearTable | None = None,
             tally: PricesTally | None = None) -> None:
        """Write one session (per date, or into the year being hydrated) and count it."""
        tally = tally or self.tally
        outcome = _load_session(self.ctx, self.store, prep, opts=self.opts, tally=tally,
                                year=year)
        counts = None
        if isinstance(outcome, SessionMerge):
            counts = outcome.counts
            tally.ok.append(prep.session)
            tally.rows += counts
            tally.count_stored(prep.session, outcome.stored_ids)
        else:
            tally.uncounted = True       # a date not written: its stored bars are not known
            if outcome == "missing":
                tally.missing.append(prep.session)
        if year is not None and counts is None and self.ticks is not None:
            year.pause()      # the scan reads the date's stored bars (none, in this year)
        self.ticks = _feed_tick_scan(self.ctx, self.ticks, prep, written=counts is not None,
                                     hydrated=year is not None)
        if self.ctx.progress:
            self.ctx.progress(prep.session, "ok" if counts is not None else str(outcome), counts)

    def hydrate(self, first: Prepared, rest: Iterator[Prepared], days: list[date]) -> None:
        """Load a year with no stored bars in one transaction (jobs.prices_hydrate): `first`
        and the next len(days) - 1 sessions of `rest`. On a database error the year is rolled
        back and its sessions are loaded one date at a time."""
        ctx, year = self.ctx, YearTable(days[0].year)
        part = PricesTally()
        rejected = dict(ctx.report.rejected)
        kept = len(ctx.rejected_rows)
        pending = itertools.islice(rest, len(days) - 1)
        seen = [first.session]       # taken from the run's sessions: reloaded on a fallback
        t0 = time.monotonic()
        try:
            with ctx.conn.transaction():
                try:
                    year.create(ctx.conn)
                    self.load(first, year, part)
                    for prep in pending:
                        seen.append(prep.session)
                        self.load(prep, year, part)
                    year.pause()
                    if year.files:
                        ctx.conn.cursor().executemany(_SOURCE_FILE, year.files)
                    year.attach(ctx.conn)
                except BaseException as exc:
                    year.abort(exc)
                    raise
        except psycopg.Error as exc:
            self._fall_back(year.year, exc, seen, pending, rejected=rejected, kept=kept)
            return
        log.info("%d: hydrated %d session(s), %d bars, in %.1fs", year.year, len(seen),
                 year.rows, time.monotonic() - t0)
        self.tally.merge(part)

    def _fall_back(self, year: int, exc: psycopg.Error, seen: list[date],
                   pending: Iterator[Prepared], *, rejected: dict[str, int],
                   kept: int) -> None:
        ctx = self.ctx
        self.tally.fell_back = True
        log.warning("%d: hydration rolled back (database error: %s); loading its sessions one "
                    "date at a time", year, str(exc).strip().splitlines()[0])
        ctx.report.rejected.clear()
        ctx.report.rejected.update(rejected)
        del ctx.rejected_rows[kept:]
        if self.ticks is not None:       # it saw sessions that were rolled back: read back
            self.ticks.close()
            self.ticks = None
        if ctx.conn.broken or ctx.conn.closed:
            ctx.reconnect()
        _ensure_partitions(ctx, seen)
        for prep in _prepared(self.store, seen, self.intervals, self.opts, ctx.run_id):
            self.load(prep)
        for prep in pending:
            self.load(prep)


def _start_tick_scan(ctx: JobContext, sessions: list[date],
                     opts: PricesOptions) -> RunTickScan | None:
    """The false-tick scan fed as the run writes; None (the range is read back at the end)
    for a run of some symbols only, whose sessions keep other securities' stored bars."""
    if not sessions or opts.symbols:
        return None
    try:
        return RunTickScan(ctx.conn, sessions)
    except psycopg.Error as exc:
        _recover(ctx, exc, "false ticks: the range will be read back")
        return None


def _feed_tick_scan(ctx: JobContext, scan: RunTickScan | None, prep: Prepared, *,
                    written: bool, hydrated: bool = False) -> RunTickScan | None:
    """Feed one session to the scan; on a database error the scan is dropped (and the range
    read back at the end). A `hydrated` session has no stored bar to keep (nor to read back,
    in the middle of the year's COPY)."""
    if scan is None:
        return None
    try:
        if written and prep.check is not None:
            scan.written(ctx.conn, prep.session, prep.check.accepted,
                         () if hydrated else prep.check.kept_ids)
        else:
            scan.not_written(ctx.conn, prep.session)
    except psycopg.Error as exc:
        _recover(ctx, exc, "false ticks: the range will be read back")
        scan.close()
        return None
    return scan


def _flag_false_ticks(ctx: JobContext, sessions: list[date],
                      scan: RunTickScan | None = None) -> int:
    """Store the false ticks of the sessions written as warnings (jobs.prices_ticks); a
    database error here is logged, never fatal: the bars are already committed."""
    try:
        return record_false_ticks(ctx.conn, ctx.run_id, sessions, scan=scan)
    except psycopg.Error as exc:
        _recover(ctx, exc, "false ticks not checked", level=logging.ERROR)
        return 0


def _recover(ctx: JobContext, exc: psycopg.Error, what: str, *,
             level: int = logging.WARNING) -> None:
    """Log a database error of a side task (the false-tick scan, the post-gate's counts;
    never fatal) and reconnect if needed."""
    log.log(level, "%s: %s", what, str(exc).strip().splitlines()[0])
    if ctx.conn.broken or ctx.conn.closed:
        ctx.reconnect()


def _summarize(tally: PricesTally, elapsed: float) -> PricesOutcome:
    if tally.unknown_tickers:
        sample = ", ".join(sorted(tally.unknown_tickers)[:10])
        log.warning("%d distinct unknown ticker(s) quarantined, e.g. %s",
                    len(tally.unknown_tickers), sample)
    rate = (tally.rows.inserted + tally.rows.updated) / elapsed if elapsed > 0 else 0.0
    log.info("prices_daily: sessions ok %d, failed %d, missing %d; rows written %d, updated %d, "
             "unchanged %d, deleted %d, rejected %d; %.1fs (%.0f rows/s)", len(tally.ok),
             len(tally.failed), len(tally.missing), tally.rows.inserted, tally.rows.updated,
             tally.rows.unchanged, tally.rows.deleted, tally.rejected, elapsed, rate)
    partial = None
    if tally.failed or tally.missing:
        bad = sorted([*tally.failed, *tally.missing])
        partial = (f"{len(tally.failed)} failed and {len(tally.missing)} missing "
                   f"session(s): {', '.join(d.isoformat() for d in bad[:20])}"
                   + (" …" if len(bad) > 20 else ""))
    return PricesOutcome(counts=tally.counts(), sessions=tuple(tally.ok), partial=partial,
                         failed=dict(tally.failed), missing=tuple(tally.missing))


def day_files_from_files(ctx: JobContext) -> DayFileStore:
    """Day files under --path (the flat-file layout)."""
    from stocksdb.sources.flatfiles import LocalFlatFiles

    return LocalFlatFiles(ctx.request.require_path())


def day_files_from_massive(ctx: JobContext) -> DayFileStore:
    """Massive's S3 flat files, through the local cache."""
    from stocksdb.sources.massive_s3 import MassiveS3

    return MassiveS3(ctx.settings)


JOB = Job[DayFileStore](
    name="prices_daily",
    summary="The canonical daily OHLCV bars, one transaction per date (a year with none "
            "stored is hydrated in one); a bad file fails its date, never the stored bars.",
    run=run_prices_daily,
    sources={"files": day_files_from_files, "massive": day_files_from_massive},
    pre_gate=(c.schema_is_latest, c.securities_present, c.ticker_history_present,
              c.ticker_intervals_disjoint, c.one_ticker_per_security),
    post_gate=(c.no_orphans("prices_daily"), c.date_coverage, c.security_coverage,
               c.false_ticks_flagged),
    depends_on=("ticker_history",),
    writes=("prices_daily",),
    reads=("securities", "ticker_history", "trading_session_coverage", "trading_sessions"),
    options=frozenset({"start", "end", "days", "symbols", "max_shrink"}),
    tables=(Table(
        "prices_daily", layer=Layer.CANONICAL,
        freshness="by 06:00 New York on the next session: a session's day file, published "
                  "overnight, is loaded before the following session opens",
        completeness="every session of a run has its day file loaded, or is a failed date of "
                     "the run (job_runs.counts->'failed_dates'); a row not loaded is a rejected "
                     f"row; bars cover at least {c.COVERAGE_WARN:.0%} of the securities with a "
                     f"ticker each session (a warning below, refused below "
                     f"{c.COVERAGE_FAIL:.0%}), and each security the same share of the "
                     "sessions of its listed life",
        retention="forever: no date is pruned; loading a date again replaces its bars, "
                  f"deleting at most --max-shrink (default {DEFAULT_MAX_SHRINK:.0%}) of the "
                  "date's stored bars, and none when --symbols narrows the run"),),
)
