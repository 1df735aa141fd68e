"""The session loop: prices, corporate actions and day files, one session at a time.

In:  a `Universe` (with its scenario), a numpy Generator for prices, and the sample root.
Out: one day-aggregate file per session under the root, and a `MarketLog` of the splits and
     dividends that happened (for corporate_actions/*.json) and of the rows written.

Only per-security state arrays live across sessions, so memory is flat in the range length.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stocksdb.sample.actions import (
    DividendRecord,
    SplitRecord,
    build_schedule,
    execute_actions,
)
from stocksdb.sample.flatfiles import (
    TICKER_DTYPE,
    Defect,
    day_file_path,
    format_rows,
    inject_defects,
    select_rows,
    window_start_ns,
    write_gzip,
)
from stocksdb.sample.prices import init_state, simulate_day
from stocksdb.sample.universe import Universe

# Starting prices of the split cases, so that the results look like real ones: a 1->4 split
# of an expensive stock, a 10->1 reverse split of a cheap one.
FIXED_PRICES = {"forward_split": 420.0, "reverse_split": 2.4, "split_and_dividend": 180.0}


@dataclass
class MarketLog:
    """What the session loop produced."""

    splits: list[SplitRecord] = field(default_factory=list)
    dividends: list[DividendRecord] = field(default_factory=list)
    rows: int = 0
    files: int = 0


def write_market(root: Path, universe: Universe, rng: np.random.Generator) -> MarketLog:
    """Simulate every session and write its day file under `root`."""
    scenario = universe.scenario
    fixed = {scenario.roles[role].security: price for role, price in FIXED_PRICES.items()}
    state = init_state(rng, universe.size, fixed, [p.security for p in scenario.payers])
    schedule = build_schedule(scenario)
    tickers = np.array([universe.spans_of(i)[0].ticker for i in range(universe.size)],
                       dtype=TICKER_DTYPE)
    renames = _renames_by_day(universe)
    defects = defects_by_day(universe)
    halted = scenario.roles["halted"]
    log = MarketLog()
    with _BackgroundWriter() as writer:
        for day, session in enumerate(universe.sessions):
            for security, ticker in renames.get(day, ()):
                tickers[security] = ticker
            actions = execute_actions(schedule, day, state, tickers)
            bars = simulate_day(state, rng, actions.ratio, actions.cash)
            listed = (universe.first_day <= day) & (day < universe.end_day)
            if day == halted.day:
                listed[halted.security] = False
            rows = select_rows(bars, np.flatnonzero(listed), tickers, window_start_ns(session))
            rows = inject_defects(rows, defects.get(day, []))
            writer.submit(day_file_path(root, session), format_rows(rows))
            log.rows += len(rows["ticker"])
            log.files += 1
            log.splits += actions.splits
            log.dividends += actions.dividends
    return log


class _BackgroundWriter:
    """Compresses and writes day files on one thread, at most MAX_PENDING files behind."""

    MAX_PENDING = 2

    def __enter__(self) -> _BackgroundWriter:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sample-writer")
        self._pending: deque[Future[None]] = deque()
        return self

    def submit(self, path: Path, data: bytes) -> None:
        """Queue one file; waits (and re-raises its error) when too many are queued."""
        self._pending.append(self._pool.submit(write_gzip, path, data))
        while len(self._pending) > self.MAX_PENDING:
            self._pending.popleft().result()

    def __exit__(self, *exc_info: object) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def defects_by_day(universe: Universe) -> dict[int, list[Defect]]:
    """The deliberate defects of the day files, by session index."""
    roles = universe.scenario.roles
    wrong = roles["wrong_window_start"]
    following = window_start_ns(universe.sessions[wrong.day + 1])
    planned = [
        (roles["duplicate_row"].day, Defect("duplicate_row", roles["duplicate_row"].security)),
        (roles["bad_bar"].day, Defect("bad_bar", roles["bad_bar"].security)),
        (wrong.day, Defect("wrong_window_start", wrong.security, window_start=following)),
    ]
    unknown = zip(universe.scenario.unknown_ticker_days, universe.unknown_tickers, strict=True)
    planned += [(day, Defect("unknown_ticker", ticker=ticker)) for day, ticker in unknown]
    plan: dict[int, list[Defect]] = {}
    for day, defect in planned:
        plan.setdefault(day, []).append(defect)
    return plan


def _renames_by_day(universe: Universe) -> dict[int, list[tuple[int, str]]]:
    """Ticker changes inside the range: session index -> [(security, new ticker)]."""
    index = {session: day for day, session in enumerate(universe.sessions)}
    renames: dict[int, list[tuple[int, str]]] = {}
    for security in range(universe.size):
        for span in universe.spans_of(security)[1:]:
            renames.setdefault(index[span.valid_from], []).append((security, span.ticker))
    return renames
