"""UK personal identifiers — NHS number, National Insurance number, postcode — checked without I/O.

Every edge of TrustHub (API, pages, CLI, bulk loaders) normalises through these functions, so the
rules live in exactly one place. Errors say what is wrong but never echo the value itself, because
the value is personal data and error messages end up in logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)

# HMRC NIM39110: letters never used in a NINO prefix, and prefixes never allocated.
NINO_FIRST_LETTER_FORBIDDEN = frozenset("DFIQUV")
NINO_SECOND_LETTER_FORBIDDEN = frozenset("DFIQUVO")
NINO_PREFIXES_NOT_ALLOCATED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
NINO_SUFFIXES = frozenset("ABCD")

_POSTCODE = re.compile(
    r"^(?P<outward>"
    r"[A-PR-UWYZ](?:[0-9][0-9]?|[0-9][ABCDEFGHJKPSTUW])"
    r"|[A-PR-UWYZ][A-HK-Y](?:[0-9][0-9]?|[0-9][ABEHMNPRVWXY])"
    r")(?P<sector>[0-9])(?P<unit>[ABD-HJLNP-UW-Z]{2})$"
)
_PECULIAR_POSTCODES = frozenset({"GIR0AA"})

EARLIEST_BIRTH_DATE = date(1890, 1, 1)


class InvalidIdentifier(ValueError):
    """A value that fails its format rules; the message names the rule, never the value."""


def _compact(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit for nine digits, or None where no valid number can end them."""
    total = sum(int(d) * w for d, w in zip(first_nine, NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def normalise_nhs_number(value: str) -> str:
    """Return the ten digits of a valid NHS number, accepting spaces or hyphens as written."""
    digits = _compact(value)
    if digits and not (digits.isdigit() and digits.isascii()):
        raise InvalidIdentifier("an NHS number has only digits (spaces allowed)")
    if len(digits) != 10:
        raise InvalidIdentifier(f"an NHS number has 10 digits, not {len(digits)}")
    check = nhs_check_digit(digits[:9])
    if check is None or check != int(digits[9]):
        raise InvalidIdentifier("the NHS number's check digit is wrong (modulus 11)")
    return digits


def is_valid_nhs_number(value: str) -> bool:
    try:
        normalise_nhs_number(value)
    except InvalidIdentifier:
        return False
    return True


def format_nhs_number(digits: str) -> str:
    """The 3-3-4 form people read on their letters."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def normalise_nino(value: str) -> str:
    """Return a valid National Insurance number as nine capitals, e.g. ``QQ123456C``."""
    nino = _compact(value)
    if not re.fullmatch(r"[A-Z]{2}[0-9]{6}[A-Z]", nino):
        raise InvalidIdentifier(
            "a National Insurance number is two letters, six digits, one letter"
        )
    first, second, suffix = nino[0], nino[1], nino[8]
    if first in NINO_FIRST_LETTER_FORBIDDEN:
        raise InvalidIdentifier("a National Insurance number cannot start with D, F, I, Q, U or V")
    if second in NINO_SECOND_LETTER_FORBIDDEN:
        raise InvalidIdentifier(
            "the second letter of a National Insurance number cannot be D, F, I, O, Q, U or V"
        )
    if nino[:2] in NINO_PREFIXES_NOT_ALLOCATED:
        raise InvalidIdentifier("that National Insurance number prefix is never allocated")
    if suffix not in NINO_SUFFIXES:
        raise InvalidIdentifier("a National Insurance number ends in A, B, C or D")
    return nino


def is_valid_nino(value: str) -> bool:
    try:
        normalise_nino(value)
    except InvalidIdentifier:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Postcode:
    """A UK postcode and the coarser units that generalisation hierarchies climb through."""

    outward: str
    inward: str
    area: str

    def __str__(self) -> str:
        return f"{self.outward} {self.inward}"

    @property
    def district(self) -> str:
        return self.outward

    @property
    def sector(self) -> str:
        return f"{self.outward} {self.inward[0]}"


def parse_postcode(value: str) -> Postcode:
    """Parse a UK postcode in any spacing or case; raise InvalidIdentifier if it cannot exist."""
    compact = _compact(value)
    if compact in _PECULIAR_POSTCODES:
        return Postcode(outward=compact[:-3], inward=compact[-3:], area=compact[:-3])
    if not 5 <= len(compact) <= 7:
        raise InvalidIdentifier("a UK postcode has 5 to 7 letters and digits, e.g. SW1A 2AA")
    match = _POSTCODE.match(compact)
    if match is None:
        raise InvalidIdentifier("not a UK postcode: expected a form like SW1A 2AA or M1 1AE")
    outward = match["outward"]
    area = outward[:2] if outward[1].isalpha() else outward[:1]
    return Postcode(outward=outward, inward=compact[-3:], area=area)


def normalise_postcode(value: str) -> str:
    return str(parse_postcode(value))


def is_valid_postcode(value: str) -> bool:
    try:
        parse_postcode(value)
    except InvalidIdentifier:
        return False
    return True


def check_birth_date(value: date, *, today: date) -> date:
    """A date of birth must lie between 1890 and today."""
    if value > today:
        raise InvalidIdentifier("a date of birth cannot be in the future")
    if value < EARLIEST_BIRTH_DATE:
        raise InvalidIdentifier("a date of birth before 1890 is not plausible")
    return value
