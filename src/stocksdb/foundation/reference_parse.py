"""Parsers of reference data fields: each takes a JSON value and returns the typed value or
raises ValueError saying what was expected (reference_files adds the file, line and field).

Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, time
from typing import Any

from stocksdb.domain.fields import parse_cik, parse_currency, parse_date, parse_mic
from stocksdb.domain.identifiers import is_valid_figi

ASSET_CLASSES = ("equity", "etf", "index", "fx", "future")
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_WEEKMASK = re.compile(r"^[01]{7}$")


def as_text(value: Any) -> str:
    """A non-empty string, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a non-empty string")
    return value.strip()


def as_symbol(value: Any) -> str:
    """An instrument symbol: 1-16 of A-Z, 0-9, '.', '-' (upper case, as written)."""
    text = as_text(value)
    if not _SYMBOL.match(text):
        raise ValueError(f"{value!r} is not a symbol; expected 1-16 of A-Z, 0-9, '.', '-'")
    return text


def as_choice(options: Sequence[str]) -> Callable[[Any], str]:
    """A parser accepting exactly one of `options`."""
    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(f"{value!r} is not one of {', '.join(options)}")
        return str(value)
    return parse


def _text_via(parse: Callable[[str], str | None], value: Any) -> str:
    result = parse(as_text(value))
    assert result is not None   # as_text refused the empty string
    return result


def as_currency(value: Any) -> str:
    """An ISO 4217 code (3 letters)."""
    return _text_via(parse_currency, value)


def as_mic(value: Any) -> str:
    """An ISO 10383 market identifier code (4 letters/digits)."""
    return _text_via(parse_mic, value)


def as_cik(value: Any) -> str:
    """A SEC CIK as a string of up to 10 digits (zero-padded to 10)."""
    return _text_via(parse_cik, value)


def as_figi(value: Any) -> str:
    """A FIGI with a valid check digit."""
    text = as_text(value)
    if not is_valid_figi(text):
        raise ValueError(f"{value!r} is not a FIGI; expected 12 characters starting BBG with "
                         "a valid check digit")
    return text


def as_date(value: Any) -> date:
    """A 'YYYY-MM-DD' string."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date; expected 'YYYY-MM-DD'")
    return parse_date(value, "value")


def as_bool(value: Any) -> bool:
    """A JSON true or false (not a string)."""
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not a boolean; expected true or false")
    return value


def as_positive(value: Any) -> float:
    """A finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{value!r} is not a positive number")
    return float(value)


def as_time(value: Any) -> time:
    """A local time 'HH:MM' (24-hour)."""
    match = _HHMM.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a time; expected 'HH:MM' (24-hour)")
    return time(int(match.group(1)), int(match.group(2)))


def as_timezone(value: Any) -> str:
    """An IANA time zone name (America/New_York)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    text = as_text(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone; e.g. 'America/New_York'") \
            from None
    return text


def as_weekmask(value: Any) -> str:
    """Seven '0'/'1' characters, Monday first ('1111100': Monday to Friday)."""
    if not isinstance(value, str) or not _WEEKMASK.match(value):
        raise ValueError(f"{value!r} is not a weekmask; expected 7 of '0'/'1', Monday first")
    return value


def as_vendor_symbols(value: Any) -> Mapping[str, str]:
    """An object of vendor name -> that vendor's symbol ({"yahoo": "EURUSD=X"})."""
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items()):
        raise ValueError(f"{value!r} is not an object of vendor -> symbol strings")
    return dict(value)
