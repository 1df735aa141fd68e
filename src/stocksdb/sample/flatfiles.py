"""Massive day-aggregate flat files: rows, deliberate defects, gzip CSV bytes.

In:  one session's `DayBars`, which securities have a row, their tickers, the session's
     window_start, and the defects planned for that session.
Out: flatfiles/us_stocks_sip/day_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz with the header
     `ticker,volume,open,close,high,low,window_start,transactions`, rows sorted by ticker.

Files are byte-reproducible: floats are written in their shortest round-trip form (at most 4
decimals, see prices.round_prices) and gzip headers carry mtime 0 and no file name.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from stocksdb.sample.prices import DayBars

DAY_AGGS_DIR = Path("flatfiles", "us_stocks_sip", "day_aggs_v1")
DAY_COLUMNS = ("ticker", "volume", "open", "close", "high", "low", "window_start", "transactions")
NEW_YORK = ZoneInfo("America/New_York")
TICKER_DTYPE = "<U16"      # fixed width sorts much faster than object arrays
GZIP_LEVEL = 6
# The bar written for a ticker that names nothing (values are irrelevant, only plausible).
UNKNOWN_BAR = {"volume": 15_300, "open": 12.5, "close": 12.75, "high": 13.0, "low": 12.25,
               "transactions": 211}

# One day file's rows as columns (DAY_COLUMNS plus `security`, -1 for unknown tickers).
Rows = dict[str, np.ndarray]


@dataclass(frozen=True)
class Defect:
    """A deliberate flaw in one session's file.

    kind: 'duplicate_row' (the security's row appears twice), 'bad_bar' (its high and low
    are swapped, so high < low), 'wrong_window_start' (its window_start is `window_start`,
    the next session's) or 'unknown_ticker' (an extra row for `ticker`).
    """

    kind: str
    security: int = -1
    ticker: str = ""
    window_start: int = 0


def window_start_ns(session: date) -> int:
    """Unix epoch nanoseconds of 00:00 America/New_York on `session`."""
    midnight = datetime(session.year, session.month, session.day, tzinfo=NEW_YORK)
    return int(midnight.timestamp()) * 1_000_000_000


def day_file_path(root: Path, session: date) -> Path:
    """Where the file for `session` lives under the sample root."""
    return root / DAY_AGGS_DIR / f"{session:%Y}" / f"{session:%m}" / f"{session:%Y-%m-%d}.csv.gz"


def select_rows(bars: DayBars, securities: np.ndarray, tickers: np.ndarray, window: int) -> Rows:
    """Rows of `securities` (universe indices, ascending) from the session's bars."""
    return {
        "ticker": tickers[securities],
        "volume": bars.volume[securities],
        "open": bars.open[securities],
        "close": bars.close[securities],
        "high": bars.high[securities],
        "low": bars.low[securities],
        "window_start": np.full(len(securities), window, dtype=np.int64),
        "transactions": bars.transactions[securities],
        "security": securities,
    }


def inject_defects(rows: Rows, defects: list[Defect]) -> Rows:
    """`rows` with the session's deliberate defects applied."""
    for defect in defects:
        if defect.kind == "unknown_ticker":
            rows = _append(rows, _unknown_row(defect.ticker, int(rows["window_start"][0])))
            continue
        at = int(np.flatnonzero(rows["security"] == defect.security)[0])
        if defect.kind == "duplicate_row":
            rows = _append(rows, {name: column[at : at + 1] for name, column in rows.items()})
        elif defect.kind == "bad_bar":
            rows["high"][at], rows["low"][at] = rows["low"][at], rows["high"][at]
        elif defect.kind == "wrong_window_start":
            rows["window_start"][at] = defect.window_start
        else:
            raise ValueError(f"defect kind {defect.kind!r} is unknown")
    return rows


def format_rows(rows: Rows) -> bytes:
    """CSV bytes of `rows` sorted by ticker (stable, so duplicates stay adjacent).

    Arrow writes each float as its shortest round-trip form (at most 4 decimals here, '12'
    for 12.0) several times faster than Python formatting; nothing needs quoting.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    order = np.argsort(rows["ticker"], kind="stable")
    table = pa.table({name: rows[name][order] for name in DAY_COLUMNS})
    body = io.BytesIO()
    body.write((",".join(DAY_COLUMNS) + "\n").encode("ascii"))
    pa_csv.write_csv(table, body, pa_csv.WriteOptions(include_header=False,
                                                      quoting_style="none"))
    return body.getvalue()


def write_gzip(path: Path, data: bytes) -> None:
    """Write `data` gzip-compressed to `path`, with mtime 0 and no name in the header.

    zlib releases the GIL, so a writer thread overlaps this with the next session's work.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))


def _unknown_row(ticker: str, window: int) -> Rows:
    row: Rows = {name: np.array([value]) for name, value in UNKNOWN_BAR.items()}
    row["ticker"] = np.array([ticker], dtype=TICKER_DTYPE)
    row["window_start"] = np.array([window], dtype=np.int64)
    row["security"] = np.array([-1])
    return row


def _append(rows: Rows, extra: Rows) -> Rows:
    return {name: np.concatenate([column, extra[name]]) for name, column in rows.items()}
