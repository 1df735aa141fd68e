"""False ticks of a prices_daily run: flagged on split-adjusted closes, stored as warnings.

Reads:  prices_daily, corporate_actions (splits), ticker_history
Writes: ingestion.quality_findings (check `prices.false_ticks`, reason `false_tick`, severity
        `warn`), one row per flagged bar, in its own transaction after the run's sessions
The post-gate check `prices.false_ticks` (gates/checks.py) reads them back: a warning in
ingestion.gate_results and the run's log, never a refusal.

The scan runs alongside the load (RunTickScan): every session's bars are fed to a JumpScan
from memory as they are written, so the run never reads its own range back; only the few
securities with a jump are then read and run through detect_false_ticks, the exact whole-range
answer for them. Securities without a jump have no false tick, so the findings are those of
a whole-range scan (find_run_false_ticks). The stored bars around the run (the 20 sessions
before it, a session that failed or had no file, a week after it) are read from the table,
as the whole-range scan reads them; prices_daily holds bars on sessions only, so nothing else
in the range is stored. A run that loaded only some symbols, or whose first or last session
did not load, falls back to the whole-range scan.

The closes are split-adjusted from corporate_actions, not from adjustment_factors_daily: that
job runs after prices_daily, so the factors lack the bars just loaded. Only splits going ex
inside the window read matter (a later split scales the whole window alike and changes no
return). Corporate_actions is read without a table lock: a concurrent corporate_actions run
can at worst add or drop a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from stocksdb.db.queries import id_array
from stocksdb.domain.reasons import GateReason
from stocksdb.domain.sessions import last_sessions
from stocksdb.foundation.base import Split
from stocksdb.foundation.basis import compute_split_multipliers
from stocksdb.foundation.false_ticks import FalseTick, JumpScan, detect_false_ticks

log = logging.getLogger("stocksdb.jobs.prices")

FALSE_TICKS_CHECK = "prices.false_ticks"
WINDOW = 21          # sessions of the robust window (detect_false_ticks' default)
THRESHOLD = 6.0      # robust z of a jump
MAX_RUN = 3          # bars a false tick may last before the price comes back
CHUNK_BARS = 100_000  # bars read and scored at a time: 400 securities' year, ~20 MB
# Calendar days read after the run's last session, so that a backfill finds the bar that
# brings a tick at its end back (MAX_RUN sessions fit in 7 days bar a long holiday).
_AFTER = timedelta(days=7)

_SPLITS = """
SELECT security_id, ex_date, split_to / split_from FROM stocks_research.corporate_actions
 WHERE security_id = ANY(%s::bigint[])
   AND action_type IN ('split', 'reverse_split', 'stock_dividend')
   AND ex_date > %s AND ex_date <= %s AND split_from > 0 AND split_to > 0
 ORDER BY security_id, ex_date, action_id
"""
_TICKERS = """
SELECT t.sid, t.d, th.ticker FROM unnest(%s::bigint[], %s::date[]) AS t(sid, d)
  LEFT JOIN stocks_research.ticker_history th
    ON th.security_id = t.sid AND th.valid_from <= t.d
   AND (th.valid_to IS NULL OR th.valid_to > t.d)
"""
_INSERT = """
INSERT INTO ingestion.quality_findings (run_id, check_name, reason_code, severity, subject,
                                        detail) VALUES (%s, %s, %s, 'warn', %s, %s)
"""


def read_split_adjusted_closes(conn: psycopg.Connection[Any], ids: Sequence[int],
                               first: date, last: date) -> pd.DataFrame:
    """symbol (the security_id as text), security_id, ts (trade_date), close (raw), adjusted
    (the close divided by the ratios of the splits going ex after it, up to `last`) of the
    bars of `ids` first..last."""
    from stocksdb.db.queries import read_closes  # the columnar read path, three columns

    read = read_closes(conn, list(ids), first, last)
    bars = pd.DataFrame({"security_id": read["security_id"].to_numpy(),
                         "ts": read["trade_date"].dt.date.to_numpy(dtype=object),
                         "close": read["close"].to_numpy(dtype="float64")})
    bars["adjusted"] = bars["close"]
    splits: dict[int, list[Split]] = {}
    for sid, ex_date, ratio in conn.execute(_SPLITS, (id_array(ids), first, last)):
        splits.setdefault(int(sid), []).append(Split(ex_date, float(ratio)))
    for sid, events in splits.items():
        mine = bars["security_id"] == sid
        bars.loc[mine, "adjusted"] = bars.loc[mine, "close"].to_numpy() / \
            compute_split_multipliers(bars.loc[mine, "ts"], events)
    return bars.assign(symbol=bars["security_id"].astype(str))


def find_run_false_ticks(conn: psycopg.Connection[Any], sessions: Sequence[date], *,
                         ids: Sequence[int] | None = None) -> list[tuple[FalseTick, float]]:
    """False ticks a run over `sessions` must report (the flagged bar, or the bar that brought
    it back, is in the run's range), each with its raw close; of `ids` (default: every
    security), about CHUNK_BARS bars at a time (fewer securities the longer the range), so
    memory stays flat in the size of the market and the length of the range."""
    first, last = min(sessions), max(sessions)
    lo, hi = last_sessions(WINDOW, first)[0], last + _AFTER
    if ids is None:
        ids = _security_ids(conn)

    def in_range(day: date | None) -> bool:
        return day is not None and first <= day <= last

    found: list[tuple[FalseTick, float]] = []
    chunk = max(1, CHUNK_BARS // (len(sessions) + WINDOW + 5))
    for i in range(0, len(ids), chunk):
        bars = read_split_adjusted_closes(conn, ids[i:i + chunk], lo, hi)
        ticks = [t for t in detect_false_ticks(bars, WINDOW, THRESHOLD, column="adjusted",
                                               max_run=MAX_RUN)
                 if in_range(t.ts) or in_range(t.reverted_at)]
        if not ticks:
            continue
        flagged = bars[bars["symbol"].isin({t.symbol for t in ticks})]
        raw = dict(zip(zip(flagged["symbol"], flagged["ts"], strict=True), flagged["close"],
                       strict=True))
        found += [(t, float(raw[(t.symbol, t.ts)])) for t in ticks]
    return found


def _security_ids(conn: psycopg.Connection[Any]) -> list[int]:
    return [int(r[0]) for r in conn.execute(
        "SELECT security_id FROM stocks_research.securities ORDER BY 1")]


class RunTickScan:
    """The false-tick scan of one prices_daily run over `sessions`, fed as the run writes.

    Call `written` for each session written (its accepted bars, and the ids whose stored bar
    it kept), `not_written` for each other session, in order; then `find`, and `close`.
    Database reads happen on the caller's thread; the scoring runs on one thread of its own,
    in order, while the caller writes the next session (numpy's sorts release the GIL), so
    the database is not left waiting for it.
    """

    def __init__(self, conn: psycopg.Connection[Any], sessions: Sequence[date]) -> None:
        self.first, self.last = sessions[0], sessions[-1]
        self.lo, self.hi = last_sessions(WINDOW, self.first)[0], self.last + _AFTER
        self.scan = JumpScan(np.array(_security_ids(conn), dtype="int64"), WINDOW, THRESHOLD,
                             max_run=MAX_RUN)
        # Splits going ex in (lo, hi], in date order: a bar's log close plus the log ratios
        # of the splits gone ex on or before it is its split-adjusted log close (up to a
        # constant per security, which no return sees).
        self._splits = [(ex, sid, float(np.log(float(ratio)))) for sid, ex, ratio in
                        conn.execute(_SPLITS, (id_array(self.scan.ids.tolist()), self.lo,
                                               self.hi))]
        self._splits.sort(key=lambda s: s[0])
        self._shift = np.zeros(len(self.scan.ids) + 1)
        self._fed_to = self.lo - timedelta(days=1)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prices-ticks")
        self._queued: list[Future[None]] = []
        self._feed_stored(conn, self.lo, self.first - timedelta(days=1))

    def written(self, conn: psycopg.Connection[Any], session: date, bars: pd.DataFrame,
                kept_ids: Sequence[int]) -> None:
        """A session written: its accepted `bars` (security_id, close), and the stored bars
        of `kept_ids` it kept (read back: a few rows, when any)."""
        ids = bars["security_id"].to_numpy(dtype="int64")
        closes = bars["close"].to_numpy(dtype="float64")
        if len(kept_ids):
            kept = conn.execute(
                "SELECT security_id, close FROM stocks_research.prices_daily "
                "WHERE trade_date = %s AND security_id = ANY(%s)",
                (session, list(kept_ids))).fetchall()
            ids = np.r_[ids, np.array([k[0] for k in kept], dtype="int64")]
            closes = np.r_[closes, np.array([k[1] for k in kept], dtype="float64")]
        self._feed(session, ids, closes)

    def not_written(self, conn: psycopg.Connection[Any], session: date) -> None:
        """A session that failed or had no file: its stored bars, if any."""
        self._feed_stored(conn, session, session)

    def find(self, conn: psycopg.Connection[Any],
             written: Sequence[date]) -> list[tuple[FalseTick, float]]:
        """The run's false ticks (as find_run_false_ticks over `written`)."""
        if not written:
            return []
        self._feed_stored(conn, self.last + timedelta(days=1), self.hi)
        try:
            jumped = self.jumped()
        except Exception as exc:  # noqa: BLE001 - the whole-range read is the exact fallback
            log.warning("false ticks: the scan as the run wrote failed (%s); reading the "
                        "range back", exc)
            return find_run_false_ticks(conn, written)
        if (min(written), max(written)) != (self.first, self.last) or self.scan.unknown:
            return find_run_false_ticks(conn, written)
        return find_run_false_ticks(conn, written, ids=jumped) if jumped else []

    def jumped(self) -> list[int]:
        """The securities with a jump in what was fed (once everything queued is scored)."""
        self._drain()
        return [int(i) for i in self.scan.finish()]

    def close(self) -> None:
        """Stop the scoring thread (what is queued is dropped)."""
        for queued in self._queued:
            queued.cancel()
        self._pool.shutdown(wait=True)

    def _drain(self) -> None:
        """Wait for every queued session to be scored (raising what scoring raised)."""
        queued, self._queued = self._queued, []
        for done in queued:
            done.result()

    def _feed_stored(self, conn: psycopg.Connection[Any], first: date, last: date) -> None:
        from stocksdb.db.queries import read_closes

        if last < first:
            return
        bars = read_closes(conn, list(map(int, self.scan.ids)), first, last)
        days = bars["trade_date"].to_numpy(dtype="datetime64[D]")
        if not len(days):
            return
        order = np.argsort(days, kind="stable")
        days, ids = days[order], bars["security_id"].to_numpy(dtype="int64")[order]
        closes = bars["close"].to_numpy(dtype="float64")[order]
        bounds = np.flatnonzero(np.r_[True, days[1:] != days[:-1], True])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            self._feed(days[a].astype(date), ids[a:b], closes[a:b])

    def _feed(self, day: date, ids: np.ndarray, closes: np.ndarray) -> None:
        if day <= self._fed_to:
            raise ValueError(f"sessions fed out of order: {day} after {self._fed_to}")
        self._fed_to = day
        self._queued = [q for q in self._queued if not q.done() or q.exception() is not None]
        self._queued.append(self._pool.submit(self._score, day, ids, closes))

    def _score(self, day: date, ids: np.ndarray, closes: np.ndarray) -> None:
        while self._splits and self._splits[0][0] <= day:
            _, sid, log_ratio = self._splits.pop(0)
            self._shift[self.scan.positions(np.array([sid], dtype="int64"))] += log_ratio
        pos = self.scan.positions(ids)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(np.where(closes > 0, closes, np.nan))
        self.scan.feed(pos, logs + self._shift[pos])


def record_false_ticks(conn: psycopg.Connection[Any], run_id: int,
                       sessions: Sequence[date], *, scan: RunTickScan | None = None) -> int:
    """Detect (with `scan`, fed by the run, else by reading the range) and store the false
    ticks of a run's range (one transaction); returns how many were stored."""
    if scan is not None:
        found = scan.find(conn, sessions)
    else:
        found = find_run_false_ticks(conn, sessions) if sessions else []
    if not found:
        return 0
    tickers = {(int(sid), day): ticker for sid, day, ticker in conn.execute(
        _TICKERS, ([int(t.symbol) for t, _ in found], [t.ts for t, _ in found]))}
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(_INSERT, [_row(run_id, t, close, tickers.get((int(t.symbol), t.ts)))
                                  for t, close in found])
    for t, _ in found[:5]:
        log.warning("false tick: %s", _detail(t, tickers.get((int(t.symbol), t.ts))))
    return len(found)


def _row(run_id: int, tick: FalseTick, close: float, ticker: str | None) -> tuple[Any, ...]:
    subject = {"security_id": int(tick.symbol), "ticker": ticker,
               "trade_date": tick.ts.isoformat(), "kind": tick.kind, "close": close,
               "adjusted_close": tick.value, "score": round(tick.score, 3),
               "back_on": tick.reverted_at.isoformat() if tick.reverted_at else None}
    return (run_id, FALSE_TICKS_CHECK, GateReason.FALSE_TICK.value, Jsonb(subject),
            _detail(tick, ticker))


def _detail(tick: FalseTick, ticker: str | None) -> str:
    back = (f", back on {tick.reverted_at}" if tick.reverted_at is not None
            else ", not back within the bars read")
    return (f"{ticker or 'security ' + tick.symbol} on {tick.ts}: split-adjusted close "
            f"{tick.value:.6g} jumps with robust z {tick.score:.1f} ({tick.kind}){back}")
