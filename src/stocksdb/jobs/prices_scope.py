"""The scope of a prices_daily run: its options, the sessions it covers, the symbols it keeps.

In: the run's options, the day files (for the default end), the ticker intervals (for
--symbols), a clock. Out: the sessions to load, in order; or an InputError naming the option.
"Now" is the last completed XNYS session: nothing later is loaded or expected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from stocksdb.domain.sessions import (
    KnownSessions,
    last_completed_session,
    last_sessions,
    sessions_in_range,
)
from stocksdb.domain.tickers import TickerIntervals
from stocksdb.errors import DateOutOfRangeError, InputError
from stocksdb.sources.flatfiles import DEFAULT_MAX_FILE_BYTES, DayFileStore

log = logging.getLogger("stocksdb.jobs.prices")
DEFAULT_MAX_SHRINK = 0.02


@dataclass(frozen=True, kw_only=True)
class PricesOptions:
    """Date range and scope of a prices_daily run."""

    start: date | None = None
    end: date | None = None
    days: int | None = None
    symbols: tuple[str, ...] | None = None
    max_shrink: float = DEFAULT_MAX_SHRINK  # fraction of a date's stored bars a run may delete
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES  # decompressed; a bigger file fails its date
    now: datetime | None = None   # the clock for "the last completed session"; None: now


# Where a run's expected sessions come from: the trading_sessions table around a date (None
# where it does not cover it; db/sessions.py read_known_sessions), else the calendar.
KnownFor = Callable[[date], KnownSessions | None]


def _no_table(_: date) -> KnownSessions | None:
    return None


def resolve_sessions(store: DayFileStore, opts: PricesOptions,
                     known_for: KnownFor = _no_table) -> list[date]:
    """The XNYS sessions a run covers: the stored trading sessions where the table covers
    the range (`known_for(end)`), else the exchange_calendars calendar. Nothing later than
    the last completed session: a later --end is brought back to it (with a note); --days
    counts back from it (or from --end), so a late file is a missing date, not a quiet skip.
    No --end: the latest day file on or after --start, else the last completed session.

    Raises:
        InputError: neither a range nor --days, or --end before --start.
        DateOutOfRangeError: --start after the last completed session.
    """
    last = last_completed_session(opts.now or datetime.now(UTC))
    end = _clamp_end(opts.end, last)
    if opts.days is not None:
        end = end or last
        return last_sessions(opts.days, end, known=known_for(end))
    if opts.start is None:
        raise InputError("prices_daily needs --start (with --end) or --days N")
    if opts.start > last:
        raise DateOutOfRangeError(
            f"parameter `start` is {opts.start}: there are no sessions on or after "
            f"{opts.start} yet (the last completed XNYS session is {last}); pass an earlier "
            "--start")
    if end is None:
        latest = store.latest_date(until=last)
        end = latest if latest is not None and latest >= opts.start else last
    if end < opts.start:
        raise InputError(f"parameter `end` is {end}, before `start` {opts.start}; pass an "
                         "--end on or after --start")
    sessions = sessions_in_range(opts.start, end, known=known_for(end))
    if not sessions:
        log.warning("no XNYS sessions from %s to %s: nothing to load", opts.start, end)
    return sessions


def _clamp_end(end: date | None, last: date) -> date | None:
    """`end`, or the last completed session when `end` is later (saying so)."""
    if end is None or end <= last:
        return end
    log.info("note: --end %s is after the last completed XNYS session; loading up to %s",
             end, last)
    return last


def check_symbols(symbols: tuple[str, ...] | None, intervals: TickerIntervals) -> None:
    """--symbols against every ticker of ticker_history: the unknown ones are named in a
    warning (a typo would otherwise load nothing, silently).

    Raises:
        InputError: no symbol is a known ticker (the run would load nothing).
    """
    if not symbols:
        return
    known = {iv.ticker.upper() for iv in intervals.intervals}
    unknown = [s for s in symbols if s.upper() not in known]
    if len(unknown) == len(symbols):
        raise InputError(f"--symbols names no known ticker: {', '.join(unknown)} "
                         f"{'is' if len(unknown) == 1 else 'are'} in no ticker_history "
                         "interval; check the spelling, or run ticker_history first")
    if unknown:
        log.warning("--symbols: %d unknown ticker(s) skipped (in no ticker_history interval): "
                    "%s", len(unknown), ", ".join(unknown))
