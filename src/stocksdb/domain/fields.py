"""Parsing of the scalar fields vendors send us: dates, booleans, tickers, CIKs, MICs.

Pure functions. `parse_*` return the normalised value or raise ValueError with a message that
names the offending value and what was expected; jobs turn those into rejected rows.
"""

from __future__ import annotations

import re
from datetime import date

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# A ticker's form (also the day files' row check's, in Arrow, and ticker_history's CHECK)
TICKER_FORM = r"^[A-Z0-9][A-Z0-9.\-]{0,15}$"
_TICKER = re.compile(TICKER_FORM)
_CIK = re.compile(r"^[0-9]{1,10}$")
_MIC = re.compile(r"^[A-Z0-9]{4}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


def parse_date(value: str | date, field: str = "date") -> date:
    """An ISO 'YYYY-MM-DD' date."""
    if isinstance(value, date):
        return value
    text = value.strip()
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field} {value!r} is not a date; expected YYYY-MM-DD") from None


def parse_optional_date(value: str | None, field: str = "date") -> date | None:
    """A date, or None for an empty value."""
    if value is None or value.strip() == "":
        return None
    return parse_date(value, field)


def parse_bool(value: str | None, field: str = "active") -> bool:
    """'true'/'false' (also t/f, 1/0, yes/no); empty means true."""
    if value is None or value.strip() == "":
        return True
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"{field} {value!r} is not a boolean; expected true or false")


def parse_ticker(value: str | None) -> str:
    """An exchange symbol, upper-cased: letters, digits, '.' and '-' (e.g. BRK.B), <= 16 chars."""
    text = (value or "").strip().upper()
    if not _TICKER.match(text):
        raise ValueError(f"ticker {value!r} is not a symbol; expected 1-16 of A-Z, 0-9, '.', '-'")
    return text


def parse_cik(value: str | None) -> str | None:
    """A SEC CIK as 10 zero-padded digits; None for an empty value."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if not _CIK.match(text):
        raise ValueError(f"cik {value!r} is not a CIK; expected up to 10 digits")
    return text.zfill(10)


def parse_mic(value: str | None) -> str | None:
    """An ISO 10383 market identifier code (e.g. XNAS); None for an empty value."""
    if value is None or value.strip() == "":
        return None
    text = value.strip().upper()
    if not _MIC.match(text):
        raise ValueError(f"primary_exchange {value!r} is not a MIC; expected 4 letters/digits")
    return text


def parse_currency(value: str | None) -> str | None:
    """An ISO 4217 currency code, upper-cased; None for an empty value."""
    if value is None or value.strip() == "":
        return None
    text = value.strip().upper()
    if not _CURRENCY.match(text):
        raise ValueError(f"currency {value!r} is not a currency code; expected 3 letters")
    return text
