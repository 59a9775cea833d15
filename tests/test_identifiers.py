"""UK identifier rules: table tests against known numbers, and properties that hold for all."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.identifiers import (
    NINO_FIRST_LETTER_FORBIDDEN,
    NINO_PREFIXES_NOT_ALLOCATED,
    NINO_SECOND_LETTER_FORBIDDEN,
    InvalidIdentifier,
    check_birth_date,
    format_nhs_number,
    is_valid_nhs_number,
    is_valid_nino,
    is_valid_postcode,
    nhs_check_digit,
    normalise_nhs_number,
    normalise_nino,
    parse_postcode,
)

VALID_NHS_NUMBERS = ["9434765919", "943 476 5919", "4010232137", "9876543210", "450-557-7104"]
INVALID_NHS_NUMBERS = {
    "9434765918": "check digit",
    "9876543211": "check digit",
    "1234567890": "check digit",  # remainder 1: no valid check digit exists
    "943476591": "10 digits",
    "94347659190": "10 digits",
    "94347659l9": "only digits",
    "": "10 digits",
    "٩٤٣٤٧٦٥٩١٩": "only digits",  # Arabic-Indic digits are digits to Python, not to the NHS
}


@pytest.mark.parametrize("value", VALID_NHS_NUMBERS)
def test_nhs_number_known_valid(value: str) -> None:
    assert is_valid_nhs_number(value)
    assert len(normalise_nhs_number(value)) == 10


@pytest.mark.parametrize(("value", "reason"), INVALID_NHS_NUMBERS.items())
def test_nhs_number_known_invalid_says_why(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        normalise_nhs_number(value)


def test_nhs_number_error_never_echoes_the_value() -> None:
    with pytest.raises(InvalidIdentifier) as raised:
        normalise_nhs_number("9434765918")
    assert "9434765918" not in str(raised.value)


def test_format_nhs_number_is_three_three_four() -> None:
    assert format_nhs_number("9434765919") == "943 476 5919"


nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


@given(nine_digits)
def test_nine_digits_have_at_most_one_valid_completion(first_nine: str) -> None:
    valid = [d for d in "0123456789" if is_valid_nhs_number(first_nine + d)]
    expected = nhs_check_digit(first_nine)
    assert valid == ([] if expected is None else [str(expected)])


@given(nine_digits, st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_error_is_caught(first_nine: str, position: int, shift: int) -> None:
    check = nhs_check_digit(first_nine)
    if check is None:
        return
    number = list(first_nine + str(check))
    number[position] = str((int(number[position]) + shift) % 10)
    assert not is_valid_nhs_number("".join(number))


@given(nine_digits, st.integers(0, 8))
def test_adjacent_transpositions_are_caught(first_nine: str, position: int) -> None:
    check = nhs_check_digit(first_nine)
    number = list(first_nine + str(check))
    if check is None or number[position] == number[position + 1]:
        return
    number[position], number[position + 1] = number[position + 1], number[position]
    assert not is_valid_nhs_number("".join(number))


VALID_NINOS = ["AB123456C", "ab 12 34 56 c", "JG103759A", "ZY999999D", "CE000000B"]
INVALID_NINOS = {
    "AB123456E": "ends in A, B, C or D",
    "DA123456A": "cannot start with",
    "QQ123456C": "cannot start with",
    "AO123456A": "second letter",
    "AV123456A": "second letter",
    "BG123456A": "never allocated",
    "TN123456A": "never allocated",
    "ZZ123456A": "never allocated",
    "A1234567C": "two letters, six digits",
    "AB12345C": "two letters, six digits",
    "": "two letters, six digits",
}


@pytest.mark.parametrize("value", VALID_NINOS)
def test_nino_known_valid(value: str) -> None:
    assert is_valid_nino(value)
    assert normalise_nino(value) == value.replace(" ", "").upper()


@pytest.mark.parametrize(("value", "reason"), INVALID_NINOS.items())
def test_nino_known_invalid_says_why(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        normalise_nino(value)


letters = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@given(letters, letters, st.text("0123456789", min_size=6, max_size=6), letters)
def test_nino_accepted_exactly_when_hmrc_rules_allow(
    first: str, second: str, digits: str, suffix: str
) -> None:
    allowed = (
        first not in NINO_FIRST_LETTER_FORBIDDEN
        and second not in NINO_SECOND_LETTER_FORBIDDEN
        and first + second not in NINO_PREFIXES_NOT_ALLOCATED
        and suffix in "ABCD"
    )
    assert is_valid_nino(first + second + digits + suffix) is allowed


POSTCODES = {
    "SW1A 2AA": ("SW1A", "SW", "SW1A 2"),
    "sw1a2aa": ("SW1A", "SW", "SW1A 2"),
    "M1 1AE": ("M1", "M", "M1 1"),
    "B33 8TH": ("B33", "B", "B33 8"),
    "CR2 6XH": ("CR2", "CR", "CR2 6"),
    "DN55 1PT": ("DN55", "DN", "DN55 1"),
    "W1A 0AX": ("W1A", "W", "W1A 0"),
    "EC1A 1BB": ("EC1A", "EC", "EC1A 1"),
    "GIR 0AA": ("GIR", "GIR", "GIR 0"),
}
NOT_POSTCODES = ["QA1 1AA", "SW1A 2CA", "W1M 1AA", "XX1 1AA", "SW1A", "12345", "", "SW1A 2AAA"]


@pytest.mark.parametrize(("value", "parts"), POSTCODES.items())
def test_postcode_parts_for_generalisation(value: str, parts: tuple[str, str, str]) -> None:
    postcode = parse_postcode(value)
    assert (postcode.district, postcode.area, postcode.sector) == parts
    assert str(postcode) == f"{postcode.outward} {postcode.inward}"


@pytest.mark.parametrize("value", NOT_POSTCODES)
def test_not_a_postcode(value: str) -> None:
    assert not is_valid_postcode(value)


@given(st.text(max_size=12))
def test_postcode_parser_never_crashes_and_roundtrips(value: str) -> None:
    if is_valid_postcode(value):
        canonical = str(parse_postcode(value))
        assert str(parse_postcode(canonical)) == canonical


def test_birth_dates_in_the_future_or_before_1890_are_refused() -> None:
    today = date(2026, 11, 24)
    assert check_birth_date(date(1990, 5, 1), today=today) == date(1990, 5, 1)
    with pytest.raises(InvalidIdentifier, match="future"):
        check_birth_date(date(2026, 11, 25), today=today)
    with pytest.raises(InvalidIdentifier, match="1890"):
        check_birth_date(date(1889, 12, 31), today=today)
