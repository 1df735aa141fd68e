"""Validation of a pulled price frame: issues as data, never exceptions.

In:  canonical bars (foundation/base.py BAR_COLUMNS), the requested symbols and window, what
     the vendor said it could not deliver, and today's date.
Out: PricingQualityIssue records, one per (check, symbol) that found something. `no_data` is an
     error; `duplicate_rows`, `missing_rows`, `flat_prices` and `stale_series` are warnings
     (docs/foundation.md). Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal

import pandas as pd

from stocksdb.foundation.base import Calendar
from stocksdb.foundation.calendar import bar_dates, day_kind, expected_dates

Severity = Literal["warning", "error"]
MAX_EXAMPLES = 5
DEFAULT_FLAT_RUN = 5     # this many equal closes in a row make a flat_prices warning


class IssueCode(StrEnum):
    """The stable codes of pricing issues, documented in docs/foundation.md."""

    NO_DATA = "no_data"
    DUPLICATE_ROWS = "duplicate_rows"
    MISSING_ROWS = "missing_rows"
    FLAT_PRICES = "flat_prices"
    STALE_SERIES = "stale_series"


SEVERITY: dict[IssueCode, Severity] = {
    IssueCode.NO_DATA: "error",
    IssueCode.DUPLICATE_ROWS: "warning",
    IssueCode.MISSING_ROWS: "warning",
    IssueCode.FLAT_PRICES: "warning",
    IssueCode.STALE_SERIES: "warning",
}


@dataclass(frozen=True)
class PricingQualityIssue:
    """One finding of one check on one symbol; `examples` are at most MAX_EXAMPLES ISO dates
    (or date ranges) showing where."""

    code: IssueCode
    severity: Severity
    symbol: str
    detail: str
    examples: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The JSON form printed by `stocksdb fetch` and stored in `<key>_issues.json`."""
        return {"code": self.code.value, "severity": self.severity, "symbol": self.symbol,
                "detail": self.detail, "examples": list(self.examples)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PricingQualityIssue:
        """The issue `as_json` wrote (KeyError/ValueError when `data` is not one)."""
        code = IssueCode(data["code"])
        return cls(code, SEVERITY[code], str(data["symbol"]), str(data["detail"]),
                   tuple(str(e) for e in data["examples"]))


def _issue(code: IssueCode, symbol: str, detail: str,
           examples: Sequence[str] = ()) -> PricingQualityIssue:
    return PricingQualityIssue(code, SEVERITY[code], symbol, detail,
                               tuple(examples[:MAX_EXAMPLES]))


def check_duplicate_rows(symbol: str, days: Sequence[date]) -> PricingQualityIssue | None:
    """Warn when several bars share a date; counts the rows beyond the first of each date."""
    series = pd.Series(days)
    extra = series[series.duplicated(keep="first")]
    if extra.empty:
        return None
    dates = sorted(set(extra))
    return _issue(IssueCode.DUPLICATE_ROWS, symbol,
                  f"{len(extra)} extra row(s) on {len(dates)} date(s) that already have a bar",
                  [d.isoformat() for d in dates])


def check_missing_rows(symbol: str, days: Sequence[date],
                       expected: Sequence[date]) -> PricingQualityIssue | None:
    """Warn when expected dates (sessions or weekdays) have no bar."""
    have = set(days)
    gaps = [d for d in expected if d not in have]
    if not gaps:
        return None
    return _issue(IssueCode.MISSING_ROWS, symbol,
                  f"{len(gaps)} of {len(expected)} {day_kind(symbol)}s "
                  f"{expected[0]}..{expected[-1]} have no bar", [d.isoformat() for d in gaps])


def _equal_stretches(values: Sequence[float]) -> list[tuple[int, int]]:
    """(first, last) index of each maximal stretch of equal values (NaN equals nothing)."""
    stretches, first = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[first]:
            stretches.append((first, i - 1))
            first = i
    return stretches


def check_flat_prices(symbol: str, days: Sequence[date], closes: Sequence[float],
                      run: int = DEFAULT_FLAT_RUN) -> PricingQualityIssue | None:
    """Warn on each stretch of at least `run` equal closes in a row (bars in date order)."""
    flat = [(a, b) for a, b in _equal_stretches(closes) if b - a + 1 >= run]
    if not flat:
        return None
    longest = max(b - a + 1 for a, b in flat)
    return _issue(IssueCode.FLAT_PRICES, symbol,
                  f"{len(flat)} stretch(es) of at least {run} equal closes in a row, the "
                  f"longest {longest} bars", [f"{days[a]}..{days[b]}" for a, b in flat])


def check_stale_series(symbol: str, last: date,
                       expected_last: date | None) -> PricingQualityIssue | None:
    """Warn when the last bar is older than the last expected day of the window."""
    if expected_last is None or last >= expected_last:
        return None
    return _issue(IssueCode.STALE_SERIES, symbol,
                  f"last bar is {last}, older than the window's last "
                  f"{day_kind(symbol)} {expected_last}", [last.isoformat()])


def validate_bars(bars: pd.DataFrame, symbols: Sequence[str], start: date, end: date, *,
                  today: date, missing: Mapping[str, str] | None = None,
                  flat_run: int = DEFAULT_FLAT_RUN,
                  calendar: Calendar = "trading") -> list[PricingQualityIssue]:
    """Every issue of `bars` (canonical, sorted by symbol and ts) for `symbols` in the window
    `start`..`end`, symbol by symbol in the order given.

    A bar for `today` (or later) is never expected: it may not be published yet. So expected
    days run from `start` to the earlier of `end` and yesterday. A series on its `own` calendar
    (FRED) is not checked for missing rows or staleness: it has no trading days.
    """
    checked_end = min(end, today - timedelta(days=1))
    days_of = bar_dates(bars["ts"]) if len(bars) else pd.Series([], dtype=object)
    issues: list[PricingQualityIssue] = []
    for symbol in symbols:
        rows = bars["symbol"] == symbol
        if not rows.any():
            why = (missing or {}).get(symbol, "the vendor returned no bars in the window")
            issues.append(_issue(IssueCode.NO_DATA, symbol, why))
            continue
        days = list(days_of[rows])
        expected = expected_dates(symbol, start, checked_end) if calendar == "trading" else []
        found = (check_duplicate_rows(symbol, days),
                 check_missing_rows(symbol, days, expected) if expected else None,
                 check_flat_prices(symbol, days, list(bars.loc[rows, "close"]), flat_run),
                 check_stale_series(symbol, max(days), expected[-1] if expected else None))
        issues += [issue for issue in found if issue is not None]
    return issues
