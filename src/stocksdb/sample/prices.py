"""Raw daily bars of the synthetic market, one session at a time.

In:  per-security state arrays (`PriceState`), a numpy Generator, and the session's split
     ratios and cash dividends per security.
Out: one `DayBars` per session with open/high/low/close (unadjusted, at most 4 decimals),
     volume and transactions for every security, listed or not; the state moves forward.

Prices are a mean-reverting lognormal walk, vectorised over securities: memory is flat in the
number of sessions. On an ex-date the walk starts from the previous close times the split
ratio (split_from / split_to) minus the cash dividend, so raw prices really jump by the ratio
and drop by about the dividend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRICE_RANGE = (5.0, 500.0)     # initial prices are log-uniform in this range
REVERSION = 0.005              # daily pull of log price towards its anchor
GAP_SHARE = 0.25               # open gap volatility as a share of the daily volatility
WICK_SHARE = 0.5               # high/low excursion volatility as a share of it


@dataclass
class PriceState:
    """What the walk remembers between sessions; arrays indexed by security."""

    close: np.ndarray        # last raw close
    anchor: np.ndarray       # log price the walk reverts to; moves with splits
    sigma: np.ndarray        # daily log-return volatility
    volume: np.ndarray       # typical shares traded per session; moves with splits
    trade_size: np.ndarray   # typical shares per transaction
    dividend: np.ndarray     # quarterly cash per share (0 for non-payers); moves with splits


@dataclass(frozen=True)
class DayBars:
    """One session's bar for every security (rows of unlisted ones are simply not written)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray       # int64
    transactions: np.ndarray  # int64


def init_state(
    rng: np.random.Generator, n: int, fixed_prices: dict[int, float], payers: list[int]
) -> PriceState:
    """Draw starting prices, volatilities and volumes; `fixed_prices` override some prices."""
    low, high = np.log(PRICE_RANGE[0]), np.log(PRICE_RANGE[1])
    price = np.exp(rng.uniform(low, high, size=n))
    for security, value in fixed_prices.items():
        price[security] = value
    price = round_prices(price, price)
    dividend = np.zeros(n)
    quarterly_yield = rng.uniform(0.002, 0.008, size=n)
    dividend[payers] = np.maximum(np.round(price[payers] * quarterly_yield[payers], 2), 0.01)
    return PriceState(
        close=price,
        anchor=np.log(price),
        sigma=rng.uniform(0.01, 0.03, size=n),
        volume=np.exp(rng.uniform(np.log(2e4), np.log(2e7), size=n)),
        trade_size=rng.uniform(60.0, 250.0, size=n),
        dividend=dividend,
    )


def apply_splits(state: PriceState, ratio: np.ndarray) -> None:
    """Move the state into post-split shares; `ratio` is split_from / split_to (1 = none)."""
    state.anchor += np.log(ratio)
    state.volume /= ratio
    state.dividend = np.round(state.dividend * ratio, 4)


def simulate_day(
    state: PriceState, rng: np.random.Generator, ratio: np.ndarray, cash: np.ndarray
) -> DayBars:
    """Bars of one session; call apply_splits with the same `ratio` first."""
    n = len(state.close)
    z = rng.standard_normal((6, n))
    base = state.close * ratio - cash
    pull = REVERSION * (state.anchor - np.log(base))
    open_ = round_prices(base * np.exp(GAP_SHARE * state.sigma * z[0]), base)
    close = round_prices(base * np.exp(pull + state.sigma * z[1]), base)
    wick = WICK_SHARE * state.sigma
    high = round_prices(np.maximum(open_, close) * np.exp(wick * np.abs(z[2])), base)
    low = round_prices(np.minimum(open_, close) * np.exp(-wick * np.abs(z[3])), base)
    volume = np.maximum(np.rint(state.volume * np.exp(0.4 * z[4])), 100).astype(np.int64)
    trades = np.rint(volume / state.trade_size * np.exp(0.1 * z[5]))
    state.close = close
    return DayBars(
        open=open_, high=high, low=low, close=close, volume=volume,
        transactions=np.maximum(trades, 1).astype(np.int64),
    )


def round_prices(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Cents for prices of $1 or more (judged on `reference`), else 4 decimals; never 0.

    Dividing an integer by 100 or 10,000 gives the double nearest the decimal, so the
    shortest repr of each value has at most 4 decimals.
    """
    scale = np.where(reference >= 1.0, 100.0, 10_000.0)
    rounded: np.ndarray = np.maximum(np.rint(values * scale), 1.0) / scale
    return rounded
