"""Day files read and checked in worker processes, for long runs (a hydration of years).

In a worker thread the read-and-check of a session (pandas and pyarrow, ~25 ms) shares the
interpreter lock with the loop that writes, so the two take turns instead of overlapping. Here
two spawned processes prepare sessions (jobs.prices_prepare.prepare_day) while the run writes;
the run's own thread only locates files (S3 downloads into the local cache). Results come back
in session order, at most WINDOW sessions ahead, so memory stays flat in the range length. A
result carries the checked bars, the encoded payload and the rejected rows; not the parsed
table, which the writer does not need.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from typing import Any

from stocksdb.domain.tickers import TickerIntervals
from stocksdb.jobs.prices_prepare import Prepared, locate, prepare_day
from stocksdb.sources.flatfiles import DayFile, DayFileStore

PROCESSES = 2
WINDOW = 4                 # sessions in flight
MIN_SESSIONS = 60          # below this, a worker thread (processes take ~1 s to start)

_STATE: dict[str, Any] = {}


def _init(intervals: TickerIntervals, symbols: tuple[str, ...] | None, run_id: int,
          source: str, max_bytes: int) -> None:
    _STATE.update(intervals=intervals, symbols=symbols, run_id=run_id, source=source,
                  max_bytes=max_bytes)


def _prepare(session: date, day: DayFile | None) -> Prepared:
    s = _STATE
    prep = prepare_day(day, session, s["intervals"], s["symbols"], s["run_id"],
                       source=s["source"], max_bytes=s["max_bytes"])
    if prep.rows is not None and prep.rows.table is not None:
        prep = replace(prep, rows=replace(prep.rows, table=None))
    return prep


def prepared_in_processes(store: DayFileStore, sessions: list[date],
                          intervals: TickerIntervals, symbols: tuple[str, ...] | None,
                          *, run_id: int, max_bytes: int) -> Iterator[Prepared]:
    """Prepared sessions in order (see the module docstring)."""
    context = multiprocessing.get_context("spawn")   # never fork a process holding connections
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prices-locate") as finder, \
            ProcessPoolExecutor(PROCESSES, mp_context=context, initializer=_init,
                                initargs=(intervals, symbols, run_id, store.source,
                                          max_bytes)) as pool:
        found = deque(finder.submit(locate, store, s) for s in sessions[:WINDOW + 1])
        pending: deque[Future[Prepared] | Prepared] = deque()
        ahead = iter(sessions[WINDOW + 1:])

        def submit(session: date) -> None:
            located = found.popleft().result()
            nxt = next(ahead, None)
            if nxt is not None:
                found.append(finder.submit(locate, store, nxt))
            if isinstance(located, str):
                pending.append(Prepared(session, failure=located))
            else:
                pending.append(pool.submit(_prepare, session, located))

        queue = iter(sessions)
        for s in queue:
            submit(s)
            if len(pending) >= WINDOW:
                break
        for s in queue:
            yield _result(pending.popleft())
            submit(s)
        while pending:
            yield _result(pending.popleft())


def _result(item: Future[Prepared] | Prepared) -> Prepared:
    return item if isinstance(item, Prepared) else item.result()
