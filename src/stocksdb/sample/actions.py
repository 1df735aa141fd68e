"""Splits and cash dividends of the synthetic market.

In:  the `Scenario` (who splits or pays, and when) and, session by session, the price state.
Out: per session, the split ratios and cash amounts the price walk must apply (`DayActions`),
     and at the end the Massive v3 shaped payloads of corporate_actions/splits.json and
     corporate_actions/dividends.json.

Cash amounts are per share as of the ex-date: when a split and a dividend share an ex-date,
the dividend is per post-split share (SPEC section 6). Tickers are those valid on the date.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from stocksdb.sample.prices import PriceState, apply_splits
from stocksdb.sample.scenario import Scenario

# split_from, split_to of the hard-case splits and of the background ones (drawn in turn).
ROLE_SPLITS: dict[str, tuple[int, int]] = {
    "forward_split": (1, 4),
    "reverse_split": (10, 1),
    "split_and_dividend": (1, 2),
}
EXTRA_SPLITS: tuple[tuple[int, int], ...] = ((1, 2), (2, 3), (1, 3), (1, 5))
SPECIAL_DIVIDEND_SHARE = 0.08      # special cash as a share of the previous close
T_PLUS_ONE = date(2024, 5, 28)     # from here on the record date equals the ex-date


@dataclass(frozen=True)
class SplitRecord:
    """A split that took effect on session `day` (index) for `security`."""

    security: int
    day: int
    split_from: int
    split_to: int
    ticker: str


@dataclass(frozen=True)
class DividendRecord:
    """A cash dividend going ex on session `day`; `dividend_type` is 'CD' or 'SC'."""

    security: int
    day: int
    cash_amount: float
    dividend_type: str
    ticker: str


@dataclass(frozen=True)
class ActionSchedule:
    """Corporate actions by session index."""

    splits: dict[int, list[tuple[int, int, int]]]   # day -> [(security, from, to)]
    regular: dict[int, list[int]]                   # day -> quarterly payers going ex
    special: dict[int, list[int]]                   # day -> special dividend payers


@dataclass
class DayActions:
    """What one session's actions do to the walk, and the records they leave."""

    ratio: np.ndarray                       # split_from / split_to per security (1 = none)
    cash: np.ndarray                        # cash dividend per (post-split) share
    splits: list[SplitRecord] = field(default_factory=list)
    dividends: list[DividendRecord] = field(default_factory=list)


def build_schedule(scenario: Scenario) -> ActionSchedule:
    """Place every split and dividend of the scenario on its session."""
    splits: dict[int, list[tuple[int, int, int]]] = {}
    for role, (split_from, split_to) in ROLE_SPLITS.items():
        event = scenario.roles[role]
        splits.setdefault(event.day, []).append((event.security, split_from, split_to))
    for k, event in enumerate(scenario.extra_splits):
        split_from, split_to = EXTRA_SPLITS[k % len(EXTRA_SPLITS)]
        splits.setdefault(event.day, []).append((event.security, split_from, split_to))
    regular: dict[int, list[int]] = {}
    for payer in scenario.payers:
        for day in scenario.payer_days(payer):
            regular.setdefault(day, []).append(payer.security)
    special_event = scenario.roles["special_dividend"]
    return ActionSchedule(splits, regular, {special_event.day: [special_event.security]})


def execute_actions(
    schedule: ActionSchedule, day: int, state: PriceState, tickers: np.ndarray
) -> DayActions:
    """Apply session `day`'s splits to `state` and work out its cash dividends."""
    n = len(state.close)
    actions = DayActions(ratio=np.ones(n), cash=np.zeros(n))
    for security, split_from, split_to in schedule.splits.get(day, ()):
        actions.ratio[security] = split_from / split_to
        ticker = str(tickers[security])
        actions.splits.append(SplitRecord(security, day, split_from, split_to, ticker))
    if actions.splits:
        apply_splits(state, actions.ratio)
    for security in schedule.regular.get(day, ()):
        amount = float(state.dividend[security])
        _pay(actions, DividendRecord(security, day, amount, "CD", str(tickers[security])))
    for security in schedule.special.get(day, ()):
        previous = float(state.close[security] * actions.ratio[security])
        amount = round(previous * SPECIAL_DIVIDEND_SHARE, 2)
        _pay(actions, DividendRecord(security, day, amount, "SC", str(tickers[security])))
    return actions


def _pay(actions: DayActions, record: DividendRecord) -> None:
    actions.cash[record.security] += record.cash_amount
    actions.dividends.append(record)


def splits_payload(
    records: list[SplitRecord], sessions: tuple[date, ...], seed: int
) -> dict[str, object]:
    """The body of a Massive `GET /v3/reference/splits` answer holding every split."""
    results = [
        {
            "id": _event_id("split", r.ticker, sessions[r.day], r.split_from, r.split_to),
            "execution_date": sessions[r.day].isoformat(),
            "split_from": r.split_from,
            "split_to": r.split_to,
            "ticker": r.ticker,
        }
        for r in sorted(records, key=lambda r: (r.day, r.ticker))
    ]
    return {"results": results, "status": "OK", "request_id": _request_id("splits", seed)}


def dividends_payload(
    records: list[DividendRecord], sessions: tuple[date, ...], seed: int
) -> dict[str, object]:
    """The body of a Massive `GET /v3/reference/dividends` answer holding every dividend."""
    results = [_dividend_result(r, sessions[r.day]) for r in
               sorted(records, key=lambda r: (r.day, r.ticker, r.dividend_type))]
    return {"results": results, "status": "OK", "request_id": _request_id("dividends", seed)}


def _dividend_result(record: DividendRecord, ex_date: date) -> dict[str, object]:
    record_date = ex_date if ex_date >= T_PLUS_ONE else _weekday(ex_date + timedelta(1), 1)
    return {
        "id": _event_id("dividend", record.ticker, ex_date, record.dividend_type),
        "cash_amount": record.cash_amount,
        "currency": "USD",
        "declaration_date": _weekday(ex_date - timedelta(days=21), -1).isoformat(),
        "dividend_type": record.dividend_type,
        "ex_dividend_date": ex_date.isoformat(),
        "frequency": 4 if record.dividend_type == "CD" else 0,
        "pay_date": _weekday(record_date + timedelta(days=14), 1).isoformat(),
        "record_date": record_date.isoformat(),
        "ticker": record.ticker,
    }


def _weekday(day: date, step: int) -> date:
    """`day` if it is a weekday, else the nearest weekday in direction `step` (+1 / -1)."""
    while day.weekday() >= 5:
        day += timedelta(days=step)
    return day


def _event_id(*parts: object) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return "E" + digest[:39]


def _request_id(kind: str, seed: int) -> str:
    return hashlib.sha256(f"stocksdb-sample|{kind}|{seed}".encode()).hexdigest()[:32]
