"""FIGI form and check digit (stocksdb.domain.identifiers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stocksdb.domain.identifiers import (
    FIGI_BODY_ALPHABET,
    figi_check_digit,
    is_valid_figi,
    parse_figi,
)
from stocksdb.errors import InvalidIdentifierError

# Real composite FIGIs: Apple, Meta, IBM (OpenFIGI).
KNOWN = ("BBG000B9XRY4", "BBG000MM2P62", "BBG000BLNNH6")
UPPER_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.mark.parametrize("figi", KNOWN)
def test_known_figis_are_valid(figi: str) -> None:
    """Real FIGIs pass: check digit, is_valid_figi and parse_figi agree."""
    assert figi_check_digit(figi[:11]) == figi[11]
    assert is_valid_figi(figi)
    assert parse_figi(figi) == figi


def test_parse_figi_strips_blanks_and_upper_cases() -> None:
    """Surrounding blanks and lower case are normalised away."""
    assert parse_figi("  bbg000b9xry4 ") == "BBG000B9XRY4"


@given(
    figi=st.sampled_from(KNOWN),
    position=st.integers(0, 11),
    digit=st.sampled_from("0123456789"),
)
def test_a_changed_digit_is_always_caught(figi: str, position: int, digit: str) -> None:
    """Replacing any one digit (check digit included) by another makes the FIGI invalid."""
    if not figi[position].isdigit() or figi[position] == digit:
        return
    corrupted = figi[:position] + digit + figi[position + 1 :]
    assert not is_valid_figi(corrupted), corrupted
    with pytest.raises(InvalidIdentifierError):
        parse_figi(corrupted)


@given(figi=st.sampled_from(KNOWN), position=st.integers(0, 11),
       char=st.sampled_from(UPPER_ALNUM))
def test_a_changed_character_breaks_the_form_or_the_check_digit_sum(
    figi: str, position: int, char: str
) -> None:
    """A substitution is caught unless it keeps the position's digit-sum contribution."""
    if char == figi[position]:
        return
    corrupted = figi[:position] + char + figi[position + 1 :]
    same_sum = _contribution(char, position) % 10 == _contribution(figi[position], position) % 10
    assert is_valid_figi(corrupted) == (same_sum and _well_formed(corrupted)), corrupted


def test_a_letter_digit_swap_with_equal_digit_sum_goes_unnoticed() -> None:
    """Known limit of the mod-10 rule: 'B' (11 -> 1+1) and '2' weigh the same at odd places."""
    assert is_valid_figi("BBG00029XRY4")


@given(st.text(alphabet=FIGI_BODY_ALPHABET, min_size=8, max_size=8))
def test_any_body_with_its_check_digit_is_valid(body: str) -> None:
    """'BBG' + 8 digits/consonants + figi_check_digit(...) is always a valid FIGI."""
    stem = "BBG" + body
    assert is_valid_figi(stem + figi_check_digit(stem))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("BBG000B9XRY5", "check digit '5', expected '4'"),
        ("BBG000B9XRA4", "malformed"),       # a vowel
        ("XBG000B9XRY4", "malformed"),       # wrong prefix
        ("BBG000B9XRY", "malformed"),        # too short
        (12345, "expected a 12-character string"),
    ],
)
def test_parse_figi_names_the_value_and_the_expectation(value: object, fragment: str) -> None:
    """Bad values raise InvalidIdentifierError with the value and what was expected."""
    with pytest.raises(InvalidIdentifierError) as info:
        parse_figi(value)
    message = str(info.value)
    assert fragment in message and repr(value) in message, message
    assert message[0].islower(), message


def test_check_digit_refuses_a_body_of_the_wrong_length() -> None:
    """figi_check_digit needs exactly 11 upper-case letters or digits."""
    with pytest.raises(InvalidIdentifierError, match="not 11 upper-case"):
        figi_check_digit("BBG000B9XR")


def _contribution(char: str, position: int) -> int:
    value = int(char) if char.isdigit() else ord(char) - ord("A") + 10
    value *= 2 if position % 2 == 1 else 1
    return sum(int(d) for d in str(value))


def _well_formed(figi: str) -> bool:
    return figi.startswith("BBG") and all(c in FIGI_BODY_ALPHABET for c in figi[3:11]) and (
        figi[11].isdigit()
    )
