"""False ticks: single bad prints in a price series, found with robust statistics.

In:  a frame with `symbol`, `ts` and a price column (default `close`), any number of symbols;
     rows with a missing or non-positive price are ignored (a log return needs a price > 0).
Out: FalseTick(symbol, ts, value, score, kind, reverted_at) per flagged bar, by symbol and ts.

Per symbol, every log return r is scored against the returns around it: z = (r - median) /
(1.4826 x MAD) over a centred rolling window (the MAD scale is floored at MIN_SCALE, so a flat
series does not turn a 3 % wiggle into a false tick). A false tick is a jump (|z| > threshold)
that comes back: within `max_run` bars a jump the other way (|z| > threshold) brings the price
back at least half-way (REVERT_SHARE). A split, a permanent gap or a lasting re-pricing jumps
once and stays, so it is not flagged. A jump of 100x either way (within UNIT_TOLERANCE) is a
unit mix-up (cents for dollars, pence for pounds): `kind` "unit_100x", flagged even when it does
not come back; other false ticks are "spike". Run it on split-adjusted prices, or a real 1:100
reverse split on raw prices is flagged as a unit mix-up.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

TickKind = Literal["spike", "unit_100x"]
MAD_TO_SIGMA = 1.4826      # MAD x this = the standard deviation of a normal distribution
MIN_SCALE = 0.005          # a daily log-return scale below 0.5 % is raised to 0.5 %
REVERT_SHARE = 0.5         # the way back undoes at least half of the jump
UNIT_TOLERANCE = math.log(1.1)   # |log jump| within log(1.1) of log(100): a 100x unit mix-up
_LOG_100 = math.log(100.0)


@dataclass(frozen=True)
class FalseTick:
    """One flagged bar: its price, the robust z-score of the jump into its run, the kind, and
    the bar where the price came back (None for a 100x jump that did not)."""

    symbol: str
    ts: Any                     # the frame's `ts` value (pd.Timestamp, or a date)
    value: float
    score: float
    kind: TickKind
    reverted_at: Any = None


def detect_false_ticks(frame: pd.DataFrame, window: int = 21, threshold: float = 6.0, *,
                       column: str = "close", max_run: int = 3) -> list[FalseTick]:
    """False ticks of every symbol in `frame` (see the module docstring).

    Raises:
        ValueError: `frame` lacks symbol, ts or `column`, window < 5, threshold <= 0 or
            max_run < 1.
    """
    absent = {"symbol", "ts", column} - set(frame.columns)
    if absent:
        raise ValueError(f"frame lacks column(s) {sorted(absent)}")
    if window < 5 or threshold <= 0 or max_run < 1:
        raise ValueError(f"window {window}, threshold {threshold}, max_run {max_run}: expected "
                         "window >= 5, threshold > 0 and max_run >= 1")
    values = pd.to_numeric(frame[column], errors="coerce")
    usable = frame.assign(_v=values)[values.gt(0) & np.isfinite(values)]
    usable = usable.sort_values(["symbol", "ts"], kind="stable")
    if usable.empty:
        return []
    codes, names = pd.factorize(usable["symbol"].astype(str).to_numpy(), sort=True)
    logs = np.log(usable["_v"].to_numpy(dtype="float64"))
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(codes)])
    # Every symbol's log returns as one row of a matrix, left-aligned, NaN after its last: the
    # robust z of all symbols in one vectorized pass; the per-symbol walk runs only on symbols
    # with a jump.
    returns = np.full((len(starts), max(int(sizes.max()) - 1, 1)), np.nan)
    pos = np.arange(len(codes)) - np.repeat(starts, sizes)
    later = pos > 0
    returns[codes[later], pos[later] - 1] = np.diff(logs)[later[1:]]
    z = compute_robust_z(returns, window)
    jumped = np.flatnonzero((np.abs(np.nan_to_num(z)) > threshold).any(axis=1))
    ts, prices = usable["ts"].to_numpy(dtype=object), usable["_v"].to_numpy(dtype="float64")
    ticks: list[FalseTick] = []
    for g in jumped.tolist():
        first, n = int(starts[g]), int(sizes[g])
        ticks += _symbol_ticks(str(names[g]), list(ts[first:first + n]),
                               prices[first:first + n], z[g, :n - 1], threshold=threshold,
                               max_run=max_run)
    return ticks


_Z_BLOCK = 16_384   # returns scored at once: each copy of their windows is ~2.8 MB


def compute_robust_z(returns: np.ndarray, window: int) -> np.ndarray:
    """(r - rolling median) / max(1.4826 x rolling MAD, MIN_SCALE) over a centred window of
    `window` returns along the last axis (one series, or one series per row, NaN-padded);
    NaN where fewer than max(5, window // 2) returns are in the window. Rows are scored a
    block at a time, so memory stays a few copies of _Z_BLOCK windows however many rows."""
    if returns.ndim == 2 and returns.size > _Z_BLOCK:
        rows = max(1, _Z_BLOCK // max(returns.shape[1], 1))
        out = np.empty(returns.shape)
        for at in range(0, len(returns), rows):
            out[at:at + rows] = _robust_z(returns[at:at + rows], window)
        return out
    return _robust_z(returns, window)


def _robust_z(returns: np.ndarray, window: int) -> np.ndarray:
    half = window // 2
    pad = [(0, 0)] * (returns.ndim - 1) + [(half, window - 1 - half)]
    padded = np.pad(returns, pad, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=-1)
    count = np.sum(~np.isnan(windows), axis=-1)
    center = _nanmedian_last(windows, count)
    mad = _nanmedian_last(np.abs(windows - center[..., None]), count)
    z = (returns - center) / np.maximum(MAD_TO_SIGMA * mad, MIN_SCALE)
    z[count < max(5, window // 2)] = np.nan
    return np.asarray(z)


def _nanmedian_last(rows: np.ndarray, count: np.ndarray, *, in_place: bool = False
                    ) -> np.ndarray:
    """np.nanmedian(rows, axis=-1) for rows holding `count` non-NaN values each, by one sort
    (NaN sorts last): the mean of the two middle values of the first `count`; NaN when count
    is 0. Exact, and much faster than nanmedian's masked-array path. `in_place`: sort `rows`
    itself (a scratch array of the caller's)."""
    if in_place:
        rows.sort(axis=-1)
        ordered = rows
    else:
        ordered = np.sort(rows, axis=-1)
    lo = np.maximum(count - 1, 0) // 2
    hi = np.minimum(count // 2, rows.shape[-1] - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = (np.take_along_axis(ordered, lo[..., None], axis=-1)[..., 0]
               + np.take_along_axis(ordered, hi[..., None], axis=-1)[..., 0]) / 2.0
    out[count == 0] = np.nan
    return np.asarray(out)


def _symbol_ticks(symbol: str, ts: list[Any], values: np.ndarray, z: np.ndarray, *,
                  threshold: float, max_run: int) -> list[FalseTick]:
    """Flagged bars of one symbol, given the robust z of its returns; bar k + 1 is reached by
    return k."""
    if len(values) < 3:
        return []
    r = np.diff(np.log(values))
    jumps = np.abs(np.nan_to_num(z)) > threshold
    ticks: list[FalseTick] = []
    i = 0
    while i < len(r):
        if not jumps[i]:
            i += 1
            continue
        back = _way_back(r, jumps, i, max_run)
        unit = abs(abs(r[i]) - _LOG_100) <= UNIT_TOLERANCE
        kind: TickKind = "unit_100x" if unit else "spike"
        if back is not None:
            ticks += [FalseTick(symbol, ts[k + 1], float(values[k + 1]), float(abs(z[i])),
                                kind, ts[back + 1]) for k in range(i, back)]
            i = back + 1
            continue
        if unit:
            ticks.append(FalseTick(symbol, ts[i + 1], float(values[i + 1]), float(abs(z[i])),
                                   kind))
        i += 1
    return ticks


def _way_back(r: np.ndarray, jumps: np.ndarray, i: int, max_run: int) -> int | None:
    """The return index within `max_run` after jump `i` that jumps the other way and brings
    the price back at least REVERT_SHARE of the jump; None if there is none."""
    for j in range(i + 1, min(i + max_run, len(r) - 1) + 1):
        if jumps[j] and np.sign(r[j]) != np.sign(r[i]):
            net = float(np.sum(r[i:j + 1]))
            return j if abs(net) <= (1 - REVERT_SHARE) * abs(r[i]) else None
    return None


class JumpScan:
    """Which securities have a jump (|robust z| > threshold) anywhere in a series fed one
    session at a time: a filter for detect_false_ticks, which only ever flags bars of a
    symbol with a jump. Memory is one row of `window` returns per security, whatever the
    number of sessions.

    Feed every session's (security, log price) in date order, then call `finish`. For each
    security the scan keeps its last log price and its last `window` log returns (in a ring:
    return k in slot k % window, so a session writes one value per security and moves none);
    return k
    is scored once return k + window - 1 - window // 2 arrives (its centred window is then
    complete), and the last returns of each series at `finish` with their windows cut at the
    series end, exactly as compute_robust_z does on the whole series. A jump counts from
    `margin` x threshold, so the result is a superset of detect_false_ticks' jumped symbols
    even where the two sums of the same log returns round differently.

    With `max_run`, a security counts only when one of its jumps could be flagged: a jump of
    about 100x (a unit mix-up), or a jump with another of a different sign at most `max_run`
    returns before it (a way back). detect_false_ticks flags nothing else.
    """

    def __init__(self, ids: np.ndarray, window: int = 21, threshold: float = 6.0, *,
                 margin: float = 0.98, max_run: int | None = None) -> None:
        self.ids = np.unique(np.asarray(ids, dtype="int64"))
        n = len(self.ids)
        self._last = np.full(n, np.nan)
        self._buf = np.full((n, window), np.nan)
        self._scratch = np.empty((0, window))
        self._returns = np.zeros(n, dtype="int64")     # returns fed per security
        self._jumped = np.zeros(n, dtype=bool)
        self._half = window // 2
        self._min_count = max(5, window // 2)
        self._cut = threshold * margin
        self._max_run = max_run
        # Per security, the index of its last jump down, flat and up (sign -1, 0, +1).
        self._last_jump = np.full((n, 3), -(1 << 40), dtype="int64")
        self.unknown = 0          # ids fed that were not in `ids` (the caller must not trust)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Row of each id (len(self.ids) for an unknown id, counted in `unknown`)."""
        pos = np.searchsorted(self.ids, ids)
        known = pos < len(self.ids)
        known[known] = self.ids[pos[known]] == ids[known]
        self.unknown += int((~known).sum())
        pos[~known] = len(self.ids)
        return pos

    def feed(self, pos: np.ndarray, logs: np.ndarray) -> None:
        """One session: the rows (from `positions`) and log prices of its bars."""
        usable = (pos < len(self.ids)) & np.isfinite(logs)
        pos, logs = pos[usable], logs[usable]
        prev = self._last[pos]
        had = ~np.isnan(prev)
        rows = pos[had]
        self._last[pos] = logs
        if not len(rows):
            return
        buf, width = self._buf, self._buf.shape[1]
        fed = self._returns[rows]
        buf[rows, fed % width] = logs[had] - prev[had]
        fed += 1
        self._returns[rows] = fed
        index = fed - 1 - (width - 1 - self._half)     # the centred return's place
        centred = np.where(index >= 0, buf[rows, index % width], np.nan)
        # A window's median and MAD do not depend on the order of its returns. The windows
        # are gathered into a scratch array kept from session to session (no fresh megabytes
        # for the allocator to map and unmap each time).
        if len(self._scratch) < len(rows):
            self._scratch = np.empty((len(rows), width))
        self._score(rows, np.take(buf, rows, axis=0, out=self._scratch[:len(rows)]), centred,
                    index)

    def finish(self) -> np.ndarray:
        """The ids with a jump: the last returns of every series scored on cut windows."""
        rows, width = np.arange(len(self.ids)), self._buf.shape[1]
        # Each series' last `width` returns in order (NaN before its first)
        ordered = np.take_along_axis(
            self._buf, (self._returns[:, None] - width + np.arange(width)) % width, axis=1)
        ordered[(self._returns[:, None] - width + np.arange(width)) < 0] = np.nan
        for slot in range(self._half + 1, width):
            windows = ordered[:, slot - self._half:]
            self._score(rows, windows.copy(), windows[:, self._half].copy(),
                        self._returns - width + slot)
        return self.ids[self._jumped]

    def _score(self, rows: np.ndarray, windows: np.ndarray, centred: np.ndarray,
               index: np.ndarray) -> None:
        """Score return `centred` of each row, whose window is `windows` (a scratch array,
        sorted in place); `index`: its place in the row's series of returns."""
        count = np.count_nonzero(~np.isnan(windows), axis=-1)
        live = ~np.isnan(centred) & (count >= self._min_count)
        if not live.any():
            return
        if not live.all():
            windows, centred, count = windows[live], centred[live], count[live]
            rows, index = rows[live], index[live]
        center = _nanmedian_last(windows, count, in_place=True)
        np.subtract(windows, center[:, None], out=windows)
        np.abs(windows, out=windows)
        mad = _nanmedian_last(windows, count, in_place=True)
        z = (centred - center) / np.maximum(MAD_TO_SIGMA * mad, MIN_SCALE)
        jump = np.abs(z) > self._cut
        if self._max_run is None:
            self._jumped[rows[jump]] = True
            return
        rows, index, r = rows[jump], index[jump], centred[jump]
        sign = np.sign(r).astype("int64") + 1
        last = self._last_jump[rows]
        other = np.ones_like(last, dtype=bool)
        other[np.arange(len(rows)), sign] = False
        back = ((index[:, None] - last <= self._max_run) & other).any(axis=1)
        unit = np.abs(np.abs(r) - _LOG_100) <= UNIT_TOLERANCE * 1.001
        self._jumped[rows[back | unit]] = True
        self._last_jump[rows, sign] = index
