"""FIGI and CIK identifiers: form, check digit and parsing.

In:  strings claimed to be OpenFIGI identifiers (composite or share-class FIGIs), SEC CIKs.
Out: `Figi` values that are 12 characters, `BBG` + 8 digits/consonants + a valid check digit,
     CIKs as 10-digit text, or `InvalidIdentifierError` naming the value and what was expected.

Pure functions, no I/O. The check digit is the ISIN-style "modulus 10 double add double" over
the first 11 characters, the same rule as `stocks_research.figi_is_valid` in the schema.
"""

from __future__ import annotations

import re

from stocksdb.errors import InvalidIdentifierError
from stocksdb.types import Figi

# Characters allowed in the 8-character body after the `BBG` prefix: digits and consonants.
FIGI_BODY_ALPHABET = "0123456789BCDFGHJKLMNPQRSTVWXYZ"
FIGI_PREFIX = "BBG"
_FIGI_FORM = re.compile(r"BBG[0-9BCDFGHJKLMNPQRSTVWXYZ]{8}[0-9]")


def _digit_sum(value: int) -> int:
    return sum(int(digit) for digit in str(value))


# Per character: (digit sum of its value, digit sum of twice its value); digits are their
# value, letters A=10 .. Z=35 (ISIN convention).
_CHAR_SUMS = {
    char: (_digit_sum(value), _digit_sum(2 * value))
    for value, char in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
}


def figi_check_digit(body11: str) -> str:
    """Check digit for the first 11 characters of a FIGI, e.g. 'BBG000B9XRY' -> '4'.

    Characters at even 1-based positions are doubled; the decimal digits of every resulting
    value are summed; the check digit is (10 - total % 10) % 10.

    Raises:
        InvalidIdentifierError: if `body11` is not 11 upper-case letters or digits.
    """
    if len(body11) != 11 or not all(c in _CHAR_SUMS for c in body11):
        raise InvalidIdentifierError(
            f"figi body {body11!r} is not 11 upper-case letters or digits; "
            "pass the first 11 characters of a FIGI"
        )
    # Position 1 (1-based) is taken as is, position 2 doubled, and so on.
    total = sum(_CHAR_SUMS[char][position % 2] for position, char in enumerate(body11))
    return str((10 - total % 10) % 10)


def is_valid_figi(value: object) -> bool:
    """True when `value` is a well-formed FIGI string with a correct check digit."""
    if not isinstance(value, str) or _FIGI_FORM.fullmatch(value) is None:
        return False
    return figi_check_digit(value[:11]) == value[11]


def parse_figi(value: object) -> Figi:
    """`value` as a Figi after stripping surrounding blanks and upper-casing.

    Raises:
        InvalidIdentifierError: if the form or the check digit is wrong.
    """
    if not isinstance(value, str):
        raise InvalidIdentifierError(
            f"figi {value!r} is a {type(value).__name__}, expected a 12-character string"
        )
    figi = value.strip().upper()
    if _FIGI_FORM.fullmatch(figi) is None:
        raise InvalidIdentifierError(
            f"figi {value!r} is malformed, expected 12 characters: 'BBG', 8 digits or "
            "consonants (no vowels), then a check digit, e.g. 'BBG000B9XRY4'"
        )
    expected = figi_check_digit(figi[:11])
    if figi[11] != expected:
        raise InvalidIdentifierError(
            f"figi {value!r} has check digit {figi[11]!r}, expected {expected!r}; "
            "the identifier is mistyped or corrupted"
        )
    return Figi(figi)


def format_cik(value: object) -> str:
    """A CIK as 10-digit zero-padded text.

    Raises:
        InvalidIdentifierError: `value` is not 1 to 10 digits."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > 10:
        raise InvalidIdentifierError(f"cik {value!r} is not 1 to 10 digits; expected e.g. "
                                     "320193 or 0000320193")
    return text.zfill(10)
