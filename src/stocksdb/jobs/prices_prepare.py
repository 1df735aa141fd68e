"""Reading and checking one session's day file for prices_daily (no database work).

In:  a DayFileStore, a session, the ticker intervals. Out: Prepared — the accepted bars encoded
for COPY, the rejected rows, or why the date fails.
A file that is one record batch (every real one) is checked whole. A bigger one is read in
record batches; each batch is checked and folded into the accepted bars (at most one
per listed security) while its rejected rows go to a temporary spool file, so memory stays
bounded whatever the file's size. A file over the size limit fails with `file_too_large`.
"""

from __future__ import annotations

import functools
import pickle
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from stocksdb.domain.reasons import Reason
from stocksdb.domain.tickers import TickerIntervals
from stocksdb.errors import InputFileError, SourceError
from stocksdb.jobs.prices_merge import Payload, encode_bars
from stocksdb.quality.prices import (
    DayCheck,
    LiveTickers,
    check_day,
    combine_checks,
    form_valid,
)
from stocksdb.sources.flatfiles import (
    DEFAULT_MAX_FILE_BYTES,
    DayFile,
    DayFileStore,
    DayRows,
    read_day_file,
)

_LIVE: list[tuple[TickerIntervals, np.ndarray[Any, Any], LiveTickers]] = []   # the last answer


@functools.lru_cache(maxsize=1)     # a run reads one set of intervals (keyed by identity)
def _all_tickers(intervals: TickerIntervals) -> tuple[pa.Array, np.ndarray[Any, Any]]:
    """Every interval's ticker as an Arrow string array, and whether each has a valid form."""
    tickers = pa.array(intervals.ticker_array, type=pa.string())
    return tickers, form_valid(tickers)


def tickers_on(intervals: TickerIntervals, session: date) -> LiveTickers:
    """The tickers valid on `session` and the security each names (reused across sessions
    whose live intervals are the same), taken from the intervals' tickers in Arrow (a day's
    ticker strings are not converted anew, nor their form judged again)."""
    index = intervals.live_index(session)
    last = _LIVE[-1] if _LIVE else None
    if last is not None and last[0] is intervals and np.array_equal(last[1], index):
        return last[2]
    tickers, valid = _all_tickers(intervals)
    live = LiveTickers(tickers.take(pa.array(index)), intervals.id_array[index],
                       valid[index])
    _LIVE[:] = [(intervals, index, live)]
    return live


@dataclass(frozen=True)
class Prepared:
    """A session read and checked, ready to write (or why it cannot be)."""

    session: date
    day: DayFile | None = None
    rows: DayRows | None = None
    check: DayCheck | None = None
    payload: Payload | None = None
    failure: str | None = None
    skipped: int = 0
    universe: int = 0      # securities with a ticker valid on the session
    spool: Path | None = None   # rejected rows of a big file (pickled frames), then check's
    rejected_count: int = 0
    unknown: frozenset[str] = field(default_factory=frozenset)
    rows_read: int = 0     # data rows in the file

    def rejected_frames(self) -> Iterator[pd.DataFrame]:
        """Every rejected row, a frame at a time (the spool is deleted once read)."""
        if self.spool is not None:
            try:
                with self.spool.open("rb") as fh:
                    while True:
                        try:
                            yield pickle.load(fh)  # noqa: S301 - our own temp file
                        except EOFError:
                            break
            finally:
                self.spool.unlink(missing_ok=True)
        if self.check is not None and len(self.check.rejected):
            yield self.check.rejected


def _filter_symbols(table: pa.Table, symbols: tuple[str, ...] | None) -> tuple[pa.Table, int]:
    if not symbols:
        return table, 0
    import pyarrow.compute as pc

    keep = pc.is_in(pc.utf8_upper(pc.utf8_trim_whitespace(table["ticker"])),
                    value_set=pa.array(list(symbols)))
    kept = table.filter(keep)
    return kept, table.num_rows - kept.num_rows


_UNKNOWN_SAMPLE = 10_000   # distinct unknown tickers remembered per file (for the run summary)


def _unknown(rejected: pd.DataFrame) -> set[str]:
    if rejected.empty:
        return set()
    return set(rejected.loc[rejected["reason"] == Reason.UNKNOWN_TICKER.value, "ticker"].tolist())


@dataclass(frozen=True)
class _Checked:
    check: DayCheck
    rejected_count: int
    skipped: int           # rows left out by --symbols
    unknown: frozenset[str]
    rows_read: int
    spool: Path | None = None


def _check_whole(table: pa.Table, session: date, tickers: LiveTickers,
                 symbols: tuple[str, ...] | None) -> _Checked:
    """A file read whole (one batch): checked at once, its rejected rows kept in memory."""
    kept, skipped = _filter_symbols(table, symbols)
    check = check_day(kept, session, tickers)
    return _Checked(check, len(check.rejected), skipped, frozenset(_unknown(check.rejected)),
                    table.num_rows)


def _check_spooled(rows: DayRows, session: date, tickers: LiveTickers,
                   symbols: tuple[str, ...] | None) -> _Checked:
    """A big file, batch by batch: accepted bars folded across batches, rejected rows pickled
    to a temporary spool file as they come."""
    done: DayCheck | None = None
    count = skipped = total = 0
    unknown: set[str] = set()
    with tempfile.NamedTemporaryFile(prefix="stocksdb-rejected-", suffix=".pkl",
                                     delete=False) as fh:
        for batch in rows.batches():
            total += batch.num_rows
            table, n = _filter_symbols(batch, symbols)
            skipped += n
            part = check_day(table, session, tickers)
            done, rejected = (part, part.rejected) if done is None else \
                combine_checks(done, part)
            pickle.dump(rejected, fh, protocol=pickle.HIGHEST_PROTOCOL)
            count += len(rejected)
            if len(unknown) < _UNKNOWN_SAMPLE:
                unknown |= _unknown(rejected)
    assert done is not None
    check = DayCheck(done.accepted, done.rejected.iloc[0:0], done.kept_ids)
    return _Checked(check, count, skipped, frozenset(unknown), total, Path(fh.name))


def prepare_session(store: DayFileStore, session: date, intervals: TickerIntervals,
                    symbols: tuple[str, ...] | None, run_id: int, *,
                    max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Prepared:
    """Locate, read and check one session's file (no database work; runs in a worker)."""
    try:
        day = store.locate(session)
        if day is None:
            return Prepared(session)
        rows = read_day_file(day.path, max_bytes=max_bytes)
    except (SourceError, InputFileError) as exc:
        return Prepared(session, failure=str(exc))
    if rows.table is not None and rows.table.num_rows == 0:   # a big file is never empty
        return Prepared(session, failure=f"day file {day.key!r} has no rows (empty or header "
                                         "only); nothing written, the stored bars are kept")
    tickers = tickers_on(intervals, session)
    done = _check_whole(rows.table, session, tickers, symbols) if rows.table is not None \
        else _check_spooled(rows, session, tickers, symbols)
    payload = encode_bars(done.check.accepted, session, source=store.source, run_id=run_id)
    return Prepared(session, day, rows, done.check, payload, skipped=done.skipped,
                    universe=len(tickers), spool=done.spool, rejected_count=done.rejected_count,
                    unknown=done.unknown, rows_read=done.rows_read)
