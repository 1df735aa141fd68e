"""Canonical corporate actions from vendor rows: parse, classify, collapse duplicates.

Pure functions. In: raw split / dividend rows (dicts as the vendor sent them) and a resolver
ticker -> security on a date. Out: canonical events, rejected rows (reason, detail), and
conflicts (two different values for one security, type and ex-date) for the gate to refuse.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from stocksdb.domain.fields import parse_date, parse_optional_date
from stocksdb.domain.reasons import Reason

# A vendor sometimes lists one split twice a few days apart (Polygon's SHOP 10:1 on 2022-06-22
# and 2022-06-29): same security, type and ratio within this many days is one event.
NEAR_DUPLICATE_DAYS = 10


@dataclass(frozen=True)
class Event:
    """One canonical corporate action."""

    security_id: int
    action_type: str               # split, reverse_split, stock_dividend, cash/special_dividend
    ex_date: date
    split_from: float | None = None
    split_to: float | None = None
    cash_amount: float | None = None
    currency: str | None = None
    declared_date: date | None = None
    record_date: date | None = None
    pay_date: date | None = None
    source_event_id: str | None = None
    source_key: str | None = None
    ticker: str | None = None

    @property
    def key(self) -> tuple[int, str, date]:
        return (self.security_id, self.action_type, self.ex_date)

    @property
    def value(self) -> tuple[float | None, ...]:
        return (self.split_from, self.split_to, self.cash_amount)


Resolver = Callable[[str, date], int | None]
Problem = tuple[Reason, str, dict[str, Any]]


class NonFiniteError(ValueError):
    """A vendor number that is NaN or infinite (Python's json reads the NaN/Infinity tokens)."""


def _number(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} {value!r} is not a number") from None
    if math.isnan(number) or math.isinf(number):
        raise NonFiniteError(f"{field} {value!r} is not a finite number")
    return number


def _parse_reason(exc: ValueError) -> Reason:
    if isinstance(exc, NonFiniteError):
        return Reason.NON_FINITE_VALUE
    return Reason.INVALID_DATE if "date" in str(exc) else Reason.UNPARSEABLE_VALUE


def parse_split(raw: dict[str, Any], resolve: Resolver) -> Event | Problem:
    """A split row -> Event, or (reason, detail, raw). Non-positive ratios are kept: the gate
    refuses them with their keys instead of a silent quarantine."""
    try:
        ex = parse_date(str(raw.get("execution_date") or ""), "execution_date")
        sfrom, sto = _number(raw.get("split_from"), "split_from"), \
            _number(raw.get("split_to"), "split_to")
    except ValueError as exc:
        return _parse_reason(exc), str(exc), raw
    if sfrom == sto:
        return Reason.ONE_TO_ONE_SPLIT, (f"split {sfrom:g}:{sto:g} changes nothing (vendors list "
                                         "stock-dividend payouts this way)"), raw
    kind = "stock_dividend" if raw.get("adjustment_type") == "stock_dividend" else \
        "reverse_split" if sfrom > sto else "split"
    return _resolved(raw, resolve, ex, Event(0, kind, ex, split_from=sfrom, split_to=sto,
                                             source_event_id=raw.get("id")))


def parse_dividend(raw: dict[str, Any], resolve: Resolver) -> Event | Problem:
    """A dividend row -> Event (SC = special), or (reason, detail, raw)."""
    try:
        ex = parse_date(str(raw.get("ex_dividend_date") or ""), "ex_dividend_date")
        amount = _number(raw.get("cash_amount"), "cash_amount")
        dates = [parse_optional_date(raw.get(f), f) for f in
                 ("declaration_date", "record_date", "pay_date")]
    except ValueError as exc:
        return _parse_reason(exc), str(exc), raw
    if amount <= 0:
        return Reason.NON_POSITIVE_DIVIDEND, f"cash_amount {amount:g} is not positive", raw
    kind = "special_dividend" if raw.get("dividend_type") == "SC" else "cash_dividend"
    currency = str(raw["currency"]).upper() if raw.get("currency") else None
    return _resolved(raw, resolve, ex, Event(
        0, kind, ex, cash_amount=amount, currency=currency, declared_date=dates[0],
        record_date=dates[1], pay_date=dates[2], source_event_id=raw.get("id")))


def _resolved(raw: dict[str, Any], resolve: Resolver, ex: date, event: Event) -> Event | Problem:
    ticker = str(raw.get("ticker") or "").strip().upper()
    security = resolve(ticker, ex) if ticker else None
    if security is None:
        return Reason.UNKNOWN_TICKER, (f"ticker {ticker!r} names no security on {ex}; the "
                                       "event is dated by the ticker valid then"), raw
    return replace(event, security_id=security, ticker=ticker, source_key=raw.get("source_key"))


def collapse(events: list[Event]) -> tuple[list[Event], list[Problem], list[tuple[Event, Event]]]:
    """Exact and near duplicates collapse into one (the later ex-date is kept); two different
    values for one key are a conflict. Returns (events, duplicates rejected, conflicts)."""
    kept: dict[tuple[int, str, date], Event] = {}
    last: dict[tuple[int, str], Event] = {}   # previous kept event of the same security and type
    dropped: list[Problem] = []
    conflicts: list[tuple[Event, Event]] = []
    for e in sorted(events, key=lambda e: (e.security_id, e.action_type, e.ex_date)):
        twin = kept.get(e.key)
        if twin is not None:
            if twin.value != e.value:
                conflicts.append((twin, e))
            else:
                dropped.append(_dup(e, twin))
            continue
        prev = last.get((e.security_id, e.action_type))
        if prev is not None and _near_twins(prev, e):
            del kept[prev.key]
            dropped.append(_dup(prev, e))
        kept[e.key] = e
        last[(e.security_id, e.action_type)] = e
    return list(kept.values()), dropped, conflicts


def _near_twins(earlier: Event, later: Event) -> bool:
    return (later.action_type in ("split", "reverse_split", "stock_dividend")
            and earlier.value == later.value
            and 0 < (later.ex_date - earlier.ex_date).days <= NEAR_DUPLICATE_DAYS)


def _dup(dropped: Event, kept: Event) -> Problem:
    detail = (f"{dropped.action_type} of {dropped.ticker} on {dropped.ex_date} duplicates the "
              f"one kept on {kept.ex_date} (same security and values)")
    return Reason.DUPLICATE_EVENT, detail, {"source_key": dropped.source_key,
                                            "source_event_id": dropped.source_event_id,
                                            "ticker": dropped.ticker,
                                            "ex_date": str(dropped.ex_date)}
