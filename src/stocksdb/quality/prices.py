"""Row checks of one day file: which bars load and which are quarantined, with reasons.

In:  the rows of one day file (pyarrow Table), its session date, the ticker -> security map
     valid on that date. Out: accepted bars keyed by security_id, and rejected rows.
Vectorized over the rows (numpy masks over the Arrow columns; pandas only parses a file read
as text and judges repeated tickers); each row gets at most one
reason, the first that applies in the order: non-finite value (inf, NaN), unparseable value,
out-of-range value, bad ticker, wrong window_start, duplicates, bar sanity, unknown ticker.
Wrong-date rows are removed before duplicates are judged, so a vendor file carrying the
next day's rows (the 2019-08-12 defect) loses only those rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa

from stocksdb.domain.fields import TICKER_FORM
from stocksdb.domain.reasons import Reason

NS_PER_DAY = 86_400_000_000_000
# Bounds no real US-equity bar comes near; beyond them a value is a vendor fault, and a volume
# beyond bigint would otherwise fail the whole date's COPY.
MAX_PRICE = 1e9            # dollars per share (BRK.A trades near 1e6)
MAX_COUNT = 1e15           # shares or trades in one day (the whole market trades ~1e10)
_NON_FINITE_TEXT = ("nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity",
                    "-infinity")
_NUMERIC = ("volume", "open", "close", "high", "low", "window_start")
BAR_COLUMNS = ("security_id", "open", "high", "low", "close", "volume", "transactions")


@dataclass(frozen=True)
class LiveTickers:
    """The tickers valid on a session (normalised, unique) and the security each names."""

    tickers: pa.Array                 # string
    ids: np.ndarray                   # int64, one per ticker
    valid: np.ndarray                 # bool, whether each ticker has a valid form (form_valid)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class DayCheck:
    """Outcome of checking one day file."""

    accepted: pd.DataFrame    # BAR_COLUMNS + ticker, one row per security
    rejected: pd.DataFrame    # original columns (as text) + reason, detail
    # Securities with a rejected row and no accepted one: their stored bar must be kept.
    kept_ids: tuple[int, ...] = ()


@cache
def session_midnight_ns(session: date) -> int:
    """Epoch nanoseconds of 00:00 America/New_York on `session` (Massive's window_start)."""
    ts = pd.Timestamp(session.isoformat(), tz="America/New_York")
    return int(ts.value)


def _tickers(table: pa.Table) -> pa.Array:
    """The ticker column trimmed and upper-cased, in Arrow (a file read as text has no nulls:
    only an empty cell is null, and a ticker column of another type is cast to text first)."""
    import pyarrow.compute as pc

    col = table["ticker"]
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    text = pc.utf8_upper(pc.utf8_trim_whitespace(pc.fill_null(col, "NONE")))
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _to_frame(table: pa.Table, tickers: pa.Array) -> pd.DataFrame:
    frame: pd.DataFrame = table.drop_columns(["ticker"]).to_pandas()
    if "transactions" not in frame.columns:
        frame["transactions"] = np.nan
    for col in (*_NUMERIC, "transactions"):
        if not pd.api.types.is_numeric_dtype(frame[col]):
            text = frame[col].astype(object).where(frame[col].astype(str).str.strip() != "")
            frame[col] = pd.to_numeric(text, errors="coerce")
    frame["ticker"] = tickers.to_numpy(zero_copy_only=False)
    return frame


def _typed(table: pa.Table) -> bool:
    """Whether every numeric column was parsed as a number (every real file): its values are
    then taken from Arrow as they are, with no DataFrame built for them."""
    return all(pa.types.is_integer(table[n].type) or pa.types.is_floating(table[n].type)
               for n in (*_NUMERIC, "transactions") if n in table.column_names)


def _arrow_values(table: pa.Table) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """_values of a typed table, straight from Arrow (a null is NaN, as pandas makes it), and
    window_start as pandas holds it: exact int64 when it has no null, else float64."""
    import pyarrow.compute as pc

    values: dict[str, np.ndarray] = {}
    for name in (*_NUMERIC, "transactions"):
        if name not in table.column_names:
            values[name] = np.full(table.num_rows, np.nan)
            continue
        col = pc.cast(table[name], pa.float64(), safe=False)   # as pandas rounds int64
        if col.null_count:
            col = pc.fill_null(col, np.nan)
        values[name] = np.asarray(col.to_numpy(), dtype=np.float64)
    start = table["window_start"]
    exact = pa.types.is_integer(start.type) and start.null_count == 0
    window = np.asarray(pc.cast(start, pa.int64()).to_numpy(), dtype=np.int64) if exact \
        else values["window_start"]
    return values, window


def _repeats(symbols: pa.Array, pos: np.ndarray, live: np.ndarray) -> bool:
    """Whether a ticker occurs on more than one live row: among the tickers valid that day by
    their position in the day's tickers (`pos`, -1 for any other), among the rest in Python
    (a handful)."""
    known = live & (pos >= 0)
    if np.bincount(pos[known]).max(initial=0) > 1:
        return True
    others = symbols.filter(pa.array(live & (pos < 0))).to_pylist()
    return len(set(others)) < len(others)


def _non_finite(table: pa.Table, values: dict[str, np.ndarray]) -> np.ndarray:
    """Rows holding inf or NaN in a numeric column (read before pandas turns nulls into NaN).
    A float column without nulls (every real file's) is judged on its float64 `values`."""
    import pyarrow.compute as pc

    mask = np.zeros(table.num_rows, dtype=bool)
    for name in (*_NUMERIC, "transactions"):
        if name not in table.column_names:
            continue
        col = table[name]
        if pa.types.is_floating(col.type) and col.null_count == 0:
            mask |= ~np.isfinite(values[name])
            continue
        if pa.types.is_floating(col.type):
            bad = pc.or_(pc.is_nan(col), pc.is_inf(col))
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            bad = pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(col)),
                           value_set=pa.array(_NON_FINITE_TEXT))
        else:
            continue
        mask |= pc.fill_null(bad, False).to_numpy(zero_copy_only=False)
    return mask


def _out_of_range(v: dict[str, np.ndarray]) -> np.ndarray:
    prices = np.abs(np.vstack([v[n] for n in ("open", "high", "low", "close")])) > MAX_PRICE
    counts = np.abs(np.vstack([v["volume"], v["transactions"]])) > MAX_COUNT
    late = np.abs(v["window_start"]) > 2**62
    return np.asarray(prices.any(axis=0) | counts.any(axis=0) | late)


def _values(f: pd.DataFrame) -> dict[str, np.ndarray]:
    """The numeric columns as float64 arrays (NaN where missing), converted once; comparisons
    with NaN are False, as pandas' are."""
    return {n: f[n].to_numpy(dtype="float64", na_value=np.nan)
            for n in (*_NUMERIC, "transactions")}


class _Reasons:
    """The first reason of each row, as a code per row (0: none yet), in the module's order."""

    def __init__(self, rows: int) -> None:
        self.codes = np.zeros(rows, dtype=np.int16)
        self.names: list[str] = [""]

    def mark(self, mask: np.ndarray | pd.Series, reason: Reason) -> None:
        """Give `reason` to rows in mask that have none yet."""
        hit = np.asarray(mask, dtype=bool) & (self.codes == 0)
        if hit.any():
            if reason.value not in self.names:
                self.names.append(reason.value)
            self.codes[hit] = self.names.index(reason.value)

    def live(self) -> np.ndarray:
        return np.asarray(self.codes == 0)

    def values(self, rows: np.ndarray) -> np.ndarray:
        """The reason codes' names of `rows` (a mask)."""
        return np.asarray(np.array(self.names, dtype=object)[self.codes[rows]])


def _bar_reasons(values: dict[str, np.ndarray], reasons: _Reasons) -> None:
    o, h, lo, c, v, tx = (values[n] for n in ("open", "high", "low", "close", "volume",
                                              "transactions"))
    reasons.mark((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), Reason.NON_POSITIVE_PRICE)
    reasons.mark(h < lo, Reason.HIGH_BELOW_LOW)
    reasons.mark((h < o) | (h < c), Reason.HIGH_BELOW_OPEN_OR_CLOSE)
    reasons.mark((lo > o) | (lo > c), Reason.LOW_ABOVE_OPEN_OR_CLOSE)
    reasons.mark(v < 0, Reason.NEGATIVE_VOLUME)
    with np.errstate(invalid="ignore"):     # inf - inf: such rows already have a reason
        reasons.mark(np.abs(v - np.round(v)) > 1e-6, Reason.NON_INTEGRAL_VOLUME)
        reasons.mark(~np.isnan(tx) & ((tx < 0) | (np.abs(tx - np.round(tx)) > 1e-6)),
                     Reason.UNPARSEABLE_VALUE)


def _duplicate_reasons(f: pd.DataFrame, reasons: _Reasons) -> None:
    live = pd.Series(reasons.live(), index=f.index)
    cols = ["ticker", *_NUMERIC, "transactions"]
    dup_ticker = f["ticker"].where(live).duplicated(keep=False) & live
    if not dup_ticker.any():
        return
    same = f[live].duplicated(subset=cols, keep="first").reindex(f.index, fill_value=False)
    groups = f[dup_ticker].groupby("ticker")[cols[1:]].nunique(dropna=False)
    conflicting = set(groups.index[(groups > 1).any(axis=1)])
    reasons.mark(dup_ticker & f["ticker"].isin(conflicting), Reason.DUPLICATE_TICKER)
    reasons.mark(same, Reason.DUPLICATE_ROW)


def _positions(live: LiveTickers, symbols: pa.Array) -> np.ndarray:
    """Each row's ticker's position among the tickers valid that day (-1: none), by one hash
    lookup in Arrow."""
    import pyarrow.compute as pc

    return np.asarray(pc.index_in(symbols, value_set=live.tickers).fill_null(-1).to_numpy(
        zero_copy_only=False), dtype=np.int64)


def _resolve(live: LiveTickers, pos: np.ndarray) -> np.ndarray:
    """security_id per row as float64 (NaN for a ticker not valid that day)."""
    if not len(live):
        return np.full(len(pos), np.nan)
    ids = live.ids.astype("float64")
    return np.where(pos >= 0, ids[np.maximum(pos, 0)], np.nan)


def form_valid(tickers: pa.Array) -> np.ndarray:
    """Which tickers have the form [A-Z0-9][A-Z0-9.-]{0,15}: one vectorized regex in Arrow
    (a Python call per row took ~5 ms of a 10,000-row session)."""
    import pyarrow.compute as pc

    valid = pc.match_substring_regex(tickers, TICKER_FORM)
    return np.asarray(valid.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _valid_tickers(tickers: pa.Array, live: LiveTickers, pos: np.ndarray) -> np.ndarray:
    """form_valid of each row's ticker: a ticker valid that day (`pos` >= 0) is that
    ticker's judgement, made once for the day's tickers; the regex runs on the others."""
    valid = np.zeros(len(pos), dtype=bool)
    known = pos >= 0
    valid[known] = live.valid[pos[known]]
    if not known.all():
        valid[~known] = form_valid(tickers.filter(pa.array(~known)))
    return valid


@cache
def _empty_rejected(columns: tuple[str, ...]) -> pd.DataFrame:
    """An empty rejected frame of a file's columns, built once (0.2-0.4 ms of every session
    when built anew); callers take a copy."""
    return pd.DataFrame(columns=[*columns, "reason", "_security_id"])


def check_day(table: pa.Table, session: date, tickers: LiveTickers) -> DayCheck:
    """Split a day file's rows into accepted bars and rejected rows with reasons."""
    symbols = _tickers(table)
    # A typed table (every real file) is checked in numpy over its Arrow columns; a file read
    # as text goes through pandas to parse its numbers, and so does a day with a repeated
    # ticker (to judge its copies).
    f = None if _typed(table) else _to_frame(table, symbols)
    values, window = _arrow_values(table) if f is None else \
        (_values(f), f["window_start"].to_numpy())
    reasons = _Reasons(table.num_rows)
    reasons.mark(_non_finite(table, values), Reason.NON_FINITE_VALUE)
    reasons.mark(np.isnan(np.vstack([values[n] for n in _NUMERIC])).any(axis=0),
                 Reason.UNPARSEABLE_VALUE)
    reasons.mark(_out_of_range(values), Reason.VALUE_OUT_OF_RANGE)
    pos = _positions(tickers, symbols)
    reasons.mark(~_valid_tickers(symbols, tickers, pos), Reason.INVALID_TICKER)
    offset = window - session_midnight_ns(session)    # exact in int64 nanoseconds
    reasons.mark(~((offset >= 0) & (offset < NS_PER_DAY)), Reason.WINDOW_START_MISMATCH)
    if _repeats(symbols, pos, reasons.live()):
        _duplicate_reasons(_to_frame(table, symbols) if f is None else f, reasons)
    _bar_reasons(values, reasons)
    ids = _resolve(tickers, pos)
    reasons.mark(np.isnan(ids), Reason.UNKNOWN_TICKER)
    ok = reasons.live()
    trades = values["transactions"][ok]
    absent = np.isnan(trades)      # in range otherwise: int64 holds every accepted count
    accepted = pd.DataFrame({
        "security_id": ids[ok].astype(np.int64),
        "ticker": symbols.filter(pa.array(ok)).to_pandas(),
        **{c: values[c][ok] for c in ("open", "high", "low", "close")},
        "volume": np.round(values["volume"][ok]).astype(np.int64),
        "transactions": pd.arrays.IntegerArray(
            np.where(absent, 0, np.round(trades)).astype(np.int64), absent)}, copy=False)
    bad = ~ok
    if not bad.any():    # the common case: no frame conversions for nothing
        return DayCheck(accepted, _empty_rejected(tuple(table.column_names)).copy(), ())
    rejected = table.filter(pa.array(bad)).to_pandas().astype(str)
    rejected["reason"] = reasons.values(bad)
    touched = ids[bad]
    named = np.unique(touched[~np.isnan(touched)].astype(np.int64))
    kept = named[~np.isin(named, accepted["security_id"].to_numpy())]
    rejected["_security_id"] = touched   # NaN: the ticker names no security
    return DayCheck(accepted, rejected, tuple(int(i) for i in kept))


def combine_checks(done: DayCheck, part: DayCheck) -> tuple[DayCheck, pd.DataFrame]:
    """Fold the check of one more batch of a big file into the checks so far.

    A ticker accepted in an earlier batch and seen again is judged across batches: the same
    values make the new copy a `duplicate_row`; other values make every copy a
    `duplicate_ticker` (the earlier accepted one leaves `accepted`). Returns the folded check
    (whose `rejected` is empty: the caller spools rejected rows batch by batch) and the rows this
    batch rejects, including the ones moved out of `accepted`.
    Within one batch the rules are those of check_day; across batches, copies rejected earlier
    as `duplicate_row` keep that reason.
    """
    prev, new = done.accepted, part.accepted
    seen = new["ticker"].isin(prev["ticker"])
    cols = ["ticker", "open", "high", "low", "close", "volume", "transactions"]
    both = new.loc[seen, cols].merge(prev[cols], on="ticker", suffixes=("", "_prev"))
    same = pd.Series(True, index=both.index)
    for c in cols[1:]:
        same &= (both[c] == both[f"{c}_prev"]) | (both[c].isna() & both[f"{c}_prev"].isna())
    conflicting = set(both.loc[~same, "ticker"])
    moved = prev[prev["ticker"].isin(conflicting)]
    rejected = pd.concat([
        part.rejected,
        _as_rejected(new[seen & ~new["ticker"].isin(conflicting)], Reason.DUPLICATE_ROW),
        _as_rejected(new[seen & new["ticker"].isin(conflicting)], Reason.DUPLICATE_TICKER),
        _as_rejected(moved, Reason.DUPLICATE_TICKER)], ignore_index=True)
    accepted = pd.concat([prev[~prev["ticker"].isin(conflicting)], new[~seen]],
                         ignore_index=True)
    touched = set(done.kept_ids) | set(part.kept_ids) | set(moved["security_id"].tolist())
    kept = tuple(sorted(touched - set(accepted["security_id"].tolist())))
    return DayCheck(accepted, rejected.iloc[0:0], kept), rejected


def _as_rejected(bars: pd.DataFrame, reason: Reason) -> pd.DataFrame:
    """Accepted bars turned back into rejected rows (values as text, like check_day's)."""
    out = bars.loc[:, ["ticker", "volume", "open", "close", "high", "low",
                       "transactions"]].astype(str)
    out["reason"] = reason.value
    out["_security_id"] = bars["security_id"].astype("float64").to_numpy()
    return out
