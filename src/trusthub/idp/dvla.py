"""DVLA driving licence numbers (driver numbers) — pure: derive, and check against a person.

The 16 characters: the surname's first five letters (``MAC`` read as ``MC``, padded with 9s);
the decade digit of the birth year; the birth month, plus 50 for a woman (the first digit
becomes 5 or 6); the day; the year digit; the first two initials (9 for none); a digit the DVLA
uses to tell apart people who would share the rest (9, then 8, ...); two check characters the
DVLA does not publish, which are checked for form only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_FORMAT = re.compile(r"^[A-Z9]{5}\d{6}[A-Z9]{2}\d[A-Z0-9]{2}$")


def surname_key(surname: str) -> str:
    letters = "".join(c for c in surname.upper() if "A" <= c <= "Z")
    if letters.startswith("MAC") and len(letters) >= 3:
        letters = "MC" + letters[3:]
    return letters[:5].ljust(5, "9")


def initials(given_names: str) -> str:
    words = [w for w in re.split(r"[\s-]+", given_names.upper()) if w and "A" <= w[0] <= "Z"]
    return "".join(w[0] for w in words[:2]).ljust(2, "9")


def stem(surname: str, given_names: str, birth_date: date, female: bool) -> str:
    """The first 13 characters, which follow from the person alone."""
    month = birth_date.month + (50 if female else 0)
    return (
        surname_key(surname)
        + str(birth_date.year // 10 % 10)
        + f"{month:02d}{birth_date.day:02d}"
        + str(birth_date.year % 10)
        + initials(given_names)
    )


@dataclass(frozen=True)
class LicenceCheck:
    well_formed: bool
    matches_person: bool
    female: bool | None
    """What the month digit says, when it could be read."""


def check(
    number: str, surname: str, given_names: str, birth_date: date, female: bool | None = None
) -> LicenceCheck:
    """Whether ``number`` is a driver number derived from this name, birth date (and sex)."""
    number = number.replace(" ", "").upper()
    if not _FORMAT.match(number):
        return LicenceCheck(False, False, None)
    month_digits = int(number[6:8])
    says_female = month_digits > 50
    if not 1 <= month_digits - (50 if says_female else 0) <= 12:
        return LicenceCheck(False, False, None)
    expected = stem(surname, given_names, birth_date, says_female)
    same_sex = female is None or female == says_female
    same = number[:13] == expected
    if len(given_names.split()) == 1:  # a middle name left out: its initial cannot be checked
        same = number[:12] == expected[:12]
    return LicenceCheck(True, same and same_sex, says_female)
