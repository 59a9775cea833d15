"""UK identifiers for whole columns at once: NHS numbers, NINOs, postcodes, DVLA driver numbers.

``trusthub.identifiers`` holds the rules for one value at a time; these are their vectorised
twins for generation, and the test suite checks each against the scalar rules.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from trusthub.demo import strings
from trusthub.demo.randomness import date_parts, permute, world_key
from trusthub.demo.vocab import POSTCODE_UNIT_LETTERS
from trusthub.identifiers import (
    NHS_WEIGHTS,
    NINO_FIRST_LETTER_FORBIDDEN,
    NINO_PREFIXES_NOT_ALLOCATED,
    NINO_SECOND_LETTER_FORBIDDEN,
    NINO_SUFFIXES,
)

# NHS numbers: nine-digit bases from 400 000 000-499 999 999 and 600 000 000-799 999 999, the
# ranges England and Wales allocate from, as 30 million eight-digit prefixes times nine usable
# ninth digits (of the ten, at most one makes the check digit 10, which no NHS number uses).
_NHS_PREFIXES = 30_000_000
_NHS_SLOTS = 9
_NHS_PERMUTATION = (15_000, 18_000)  # rows x cols = prefixes x slots = 270 000 000


def nhs_check_digits(first_nine: np.ndarray) -> np.ndarray:
    """Modulus 11 check digit of each nine-digit number; -1 where none exists (remainder 10)."""
    return _check_digits(strings.digit_columns(first_nine, 9))


def _weighted_sum(columns: list[np.ndarray]) -> np.ndarray:
    total = np.zeros(columns[0].shape[0], dtype=np.int32)
    for column, weight in zip(columns, NHS_WEIGHTS, strict=False):
        total += column.astype(np.int32) * np.int32(weight)
    return total


def _check_digits(nine_digits: list[np.ndarray]) -> np.ndarray:
    check = 11 - _weighted_sum(nine_digits) % 11
    check[check == 11] = 0
    check[check == 10] = -1
    return check


def nhs_numbers(index: np.ndarray, seed: int) -> pa.StringArray:
    """A distinct valid ten-digit NHS number for each citizen index."""
    position = permute(index, *_NHS_PERMUTATION, key=world_key(seed, "nhs-number"))
    prefix_number, slot = np.divmod(position.astype(np.uint32), np.uint32(_NHS_SLOTS))
    prefix_number += np.uint32(40_000_000) + np.uint32(10_000_000) * (prefix_number >= 10_000_000)
    columns = strings.digit_columns(prefix_number, 8)
    # The ninth digit d (weight 2) gives check digit 10 when 2d = 1 - partial (mod 11), that is
    # d = 6 (1 - partial) mod 11; skip that digit so every slot 0-8 maps to a valid ninth digit.
    forbidden = (6 * (1 - _weighted_sum(columns))) % 11
    columns.append((slot + (slot >= forbidden)).astype(np.uint8))
    columns.append(_check_digits(columns).astype(np.uint8))
    return strings.fixed_width(strings.ascii_digits(columns))


# National Insurance numbers: every allocatable prefix times 10**6 serial numbers.
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NINO_PREFIXES: tuple[str, ...] = tuple(
    a + b
    for a in _LETTERS
    for b in _LETTERS
    if a not in NINO_FIRST_LETTER_FORBIDDEN
    and b not in NINO_SECOND_LETTER_FORBIDDEN
    and a + b not in NINO_PREFIXES_NOT_ALLOCATED
)
_NINO_PERMUTATION = (18_650, 20_000)  # = 373 prefixes x 10**6 serials
_SUFFIXES = "".join(sorted(NINO_SUFFIXES))


def ninos(index: np.ndarray, seed: int, valid: np.ndarray | None = None) -> pa.StringArray:
    """A distinct valid National Insurance number for each citizen index (null where not valid)."""
    assert len(NINO_PREFIXES) * 1_000_000 == _NINO_PERMUTATION[0] * _NINO_PERMUTATION[1]
    position = permute(index, *_NINO_PERMUTATION, key=world_key(seed, "nino"))
    prefix, serial = np.divmod(position, 1_000_000)
    prefix_bytes = np.frombuffer("".join(NINO_PREFIXES).encode(), dtype=np.uint8).reshape(-1, 2)
    suffix = strings.letters(position % len(_SUFFIXES), _SUFFIXES)
    matrix = np.hstack([prefix_bytes[prefix], strings.digits(serial, 6), suffix[:, None]])
    return strings.fixed_width(matrix, valid)


def postcode_inwards() -> pa.StringArray:
    """Every inward code "1AB" to "9ZZ" (sector 1-9, two unit letters), indexable by number."""
    units = POSTCODE_UNIT_LETTERS
    return strings.vocabulary([f"{s}{a}{b}" for s in "123456789" for a in units for b in units])


# DVLA driver numbers (Great Britain), per the DVLA's published layout:
#  1-5   first five letters of the surname, padded with 9s; a leading "MAC" counts as "MC"
#  6     decade digit of the year of birth
#  7-8   month of birth, plus 50 for women
#  9-10  day of birth
#  11    last digit of the year of birth
#  12-13 initials of the first two forenames, "9" if there is no second forename
#  14    usually 9; counts down to tell apart people whose first 13 characters agree
#  15-16 two check characters (the algorithm is not published; here keyed pseudo-random)
_UPPER_A, _UPPER_Z, _NINE = ord("A"), ord("Z"), ord("9")
DRIVER_CHECK_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def _upper(matrix: np.ndarray) -> np.ndarray:
    lower = (matrix >= ord("a")) & (matrix <= ord("z"))
    return np.where(lower, matrix - 32, matrix).astype(np.uint8)


def surname_keys(surnames: pa.Array) -> np.ndarray:
    """Five capital letters per surname: letters only, MAC read as MC, padded with 9s."""
    matrix, _ = strings.to_matrix(surnames)
    matrix = _upper(matrix)
    is_letter = (matrix >= _UPPER_A) & (matrix <= _UPPER_Z)
    order = np.argsort(~is_letter, axis=1, kind="stable")
    packed = np.take_along_axis(matrix, order, axis=1)
    count = is_letter.sum(axis=1)
    width = max(packed.shape[1], 6)
    packed = np.hstack([packed, np.zeros((packed.shape[0], width - packed.shape[1]), np.uint8)])
    mac = (
        (count >= 3)
        & (packed[:, 0] == ord("M"))
        & (packed[:, 1] == ord("A"))
        & (packed[:, 2] == ord("C"))
    )
    shifted = np.hstack([packed[:, :1], packed[:, 2:], np.zeros((packed.shape[0], 1), np.uint8)])
    packed = np.where(mac[:, None], shifted, packed)
    count = count - mac
    first_five = packed[:, :5]
    result: np.ndarray = np.where(np.arange(5)[None, :] < count[:, None], first_five, _NINE)
    return result.astype(np.uint8)


def initials(names: pa.Array) -> np.ndarray:
    """The capital first letter of each name, or "9" where there is none."""
    matrix, lengths = strings.to_matrix(names)
    if matrix.shape[1] == 0:
        return np.full(len(names), _NINE, dtype=np.uint8)
    result: np.ndarray = np.where(lengths > 0, _upper(matrix[:, :1])[:, 0], _NINE)
    return result.astype(np.uint8)


def driver_number_stems(
    surname_key: np.ndarray,
    birth: np.ndarray,
    female: np.ndarray,
    first_initial: np.ndarray,
    second_initial: np.ndarray,
) -> np.ndarray:
    """The first 13 characters of each driver number, as an ``n x 13`` byte matrix.

    ``surname_key`` comes from surname_keys and the initials from initials, so a caller with
    names as codes into a word list can compute those once per word.
    """
    year, month, day = date_parts(birth)
    month = month + 50 * female.astype(month.dtype)
    return np.hstack(
        [
            surname_key,
            strings.DIGITS[(year // 10) % 10][:, None],
            strings.digits(month, 2),
            strings.digits(day, 2),
            strings.DIGITS[year % 10][:, None],
            first_initial[:, None],
            second_initial[:, None],
        ]
    )


def driver_number_stem_strings(
    surnames: pa.Array,
    birth: np.ndarray,
    female: np.ndarray,
    first_names: pa.Array,
    middle_names: pa.Array,
) -> pa.StringArray:
    """The first 13 characters of each driver number, from names as strings."""
    return strings.fixed_width(
        driver_number_stems(
            surname_keys(surnames), birth, female, initials(first_names), initials(middle_names)
        )
    )


def driver_numbers(stems: np.ndarray, check_codes: np.ndarray) -> pa.StringArray:
    """Full 16-character driver numbers: stem, the count-down digit and two check characters.

    People sharing a stem get 9, 8, 7, ... in order of appearance (within the rows given).
    """
    count = stems.shape[0]
    padded = np.zeros((count, 16), dtype=np.uint8)
    padded[:, : stems.shape[1]] = stems
    words = padded.view(np.uint64)  # two 64-bit words hold the 13 bytes: cheap to sort
    order = np.lexsort((np.arange(count), words[:, 1], words[:, 0]))
    sorted_words = words[order]
    new_group = np.ones(count, dtype=bool)
    new_group[1:] = (sorted_words[1:] != sorted_words[:-1]).any(axis=1)
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(count), 0))
    rank = np.empty(count, dtype=np.int64)
    rank[order] = np.arange(count) - group_start
    tie_digit = strings.DIGITS[np.maximum(9 - rank, 0)]
    alphabet = len(DRIVER_CHECK_ALPHABET)
    check = np.stack(
        [
            strings.letters(check_codes % alphabet, DRIVER_CHECK_ALPHABET),
            strings.letters((check_codes // alphabet) % alphabet, DRIVER_CHECK_ALPHABET),
        ],
        axis=1,
    )
    return strings.fixed_width(np.hstack([stems, tie_digit[:, None], check]))
