"""Bringing a provider's bars to raw prices (as traded that day) with the splits it reported.

In:  one symbol's bars of one VendorFrame, its price basis and the splits in its events.
Out: the bars with raw OHLC and volume, or why that is impossible (a sentence). Pure.
A `split_adjusted` close is the raw close divided by every later split's ratio (Yahoo's chart
OHLC), so raw = adjusted x the product of the ratios of splits whose ex-date is after the bar.
A `total_return` series also folds in dividends by a method only its vendor knows (Yahoo:
crsp, Alpha Vantage: exdate_close), so it is not undone here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from stocksdb.foundation.base import PriceBasis, Split

PRICE_COLUMNS = ("open", "high", "low", "close")


def compute_split_multipliers(sessions: Sequence[date] | pd.Series,
                              splits: Sequence[Split]) -> np.ndarray:
    """Per bar date, the product of the ratios of the splits going ex after it (1.0 when
    none): a 4-for-1 split on 2020-08-31 gives 4.0 to 2020-08-28 and 1.0 to 2020-08-31."""
    days = np.array(list(sessions), dtype="datetime64[D]")
    out = np.ones(len(days))
    for s in splits:
        out[days < np.datetime64(s.ex_date, "D")] *= s.ratio
    return out


def compute_raw_bars(bars: pd.DataFrame, sessions: pd.Series, basis: PriceBasis,
                     splits: Sequence[Split] | None) -> pd.DataFrame | str:
    """`bars` (one symbol) with raw OHLC and volume; or why not, when the basis is
    `total_return` or a `split_adjusted` frame reported no events for the symbol (None)."""
    if basis == "raw":
        return bars
    if basis == "total_return":
        return ("its prices are total-return adjusted, which cannot be undone from the events "
                "alone (the dividend method is the vendor's)")
    if splits is None:
        return "its prices are split-adjusted and it reported no events for the symbol"
    factor = compute_split_multipliers(sessions, splits)
    out = bars.copy()
    for name in PRICE_COLUMNS:
        out[name] = out[name].to_numpy() * factor
    out["volume"] = out["volume"].to_numpy() / factor
    return out
