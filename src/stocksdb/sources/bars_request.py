"""The arguments of Provider.fetch, checked once the same way for every price vendor.

In:  the symbols, start, end and interval a caller passed to a provider's `fetch`.
Out: the symbols upper-cased, stripped and de-duplicated in order, or an InputError naming the
     parameter and the bound it broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from stocksdb.errors import InputError

SUPPORTED_INTERVALS = ("1d",)


def parse_symbols(symbols: Sequence[str]) -> list[str]:
    """`symbols` upper-cased and stripped, first occurrence kept ('eurusd=x' -> 'EURUSD=X').

    Raises:
        InputError: a symbol is empty, or `symbols` is a bare string (a common slip)."""
    if isinstance(symbols, str):
        raise InputError(f"parameter `symbols` is the string {symbols!r}, expected a sequence "
                         "of symbols; pass [symbol]")
    parsed: list[str] = []
    for symbol in symbols:
        text = symbol.strip().upper()
        if not text:
            raise InputError(f"parameter `symbols` holds an empty symbol ({list(symbols)!r}); "
                             "remove it")
        if text not in parsed:
            parsed.append(text)
    return parsed


def check_window(vendor: str, start: date, end: date, interval: str) -> None:
    """Refuse a window that ends before it starts, or an interval no vendor here serves.

    Raises:
        InputError: naming the parameter and what was expected."""
    if end < start:
        raise InputError(f"parameter `end` is {end}, before `start` {start}; pass an end on or "
                         "after the start")
    if interval not in SUPPORTED_INTERVALS:
        raise InputError(f"parameter `interval` is {interval!r}, which vendor {vendor!r} does "
                         f"not serve here; expected one of {', '.join(SUPPORTED_INTERVALS)}")
