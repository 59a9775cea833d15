"""Passport machine-readable zones (ICAO Doc 9303, TD3: two lines of 44) — pure.

Check digits weight the characters 7, 3, 1 in turn (digits as themselves, A-Z as 10-35, the
filler ``<`` as 0) and take the sum modulo 10. A TD3 zone has one for the document number, the
birth date, the expiry date, the personal number and a composite over all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

LINE = 44
WEIGHTS = (7, 3, 1)
_CHARSET = re.compile(r"^[A-Z0-9<]{44}$")


class MrzError(ValueError):
    """The zone cannot be read; the message names the rule broken, never the value."""


def char_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == "<":
        return 0
    raise MrzError("only A-Z, 0-9 and < may appear in a zone")


def check_digit(field: str) -> str:
    """The 7-3-1 check digit of ``field``."""
    total = sum(char_value(c) * WEIGHTS[i % 3] for i, c in enumerate(field))
    return str(total % 10)


@dataclass(frozen=True)
class Passport:
    """What a TD3 zone says."""

    document_type: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date
    sex: str
    expiry_date: date
    personal_number: str


def _date(yymmdd: str, *, past: bool, today: date) -> date:
    """YYMMDD in the century that makes sense: births in the past, expiries within 20 years."""
    if not yymmdd.isdigit():
        raise MrzError("dates are six digits, YYMMDD")
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    century = today.year // 100 * 100
    year = century + yy
    if past and year > today.year:
        year -= 100
    if not past and year < today.year - 80:
        year += 100
    try:
        return date(year, month, day)
    except ValueError as error:
        raise MrzError("a date in the zone does not exist") from error


def _names(field: str) -> tuple[str, str]:
    surname, _, given = field.partition("<<")
    return surname.replace("<", " ").strip(), given.replace("<", " ").strip()


def parse_td3(line1: str, line2: str, today: date) -> Passport:
    """Read and check a TD3 zone; raises MrzError if any check digit or field is wrong."""
    line1, line2 = line1.strip().upper(), line2.strip().upper()
    if not _CHARSET.match(line1) or not _CHARSET.match(line2):
        raise MrzError("each line has 44 characters of A-Z, 0-9 and <")
    if line1[0] != "P":
        raise MrzError("a passport zone starts with P")
    number, number_check = line2[0:9], line2[9]
    birth, birth_check = line2[13:19], line2[19]
    expiry, expiry_check = line2[21:27], line2[27]
    personal, personal_check = line2[28:42], line2[42]
    for field, given in (
        (number, number_check),
        (birth, birth_check),
        (expiry, expiry_check),
    ):
        if check_digit(field) != given:
            raise MrzError("a check digit does not match")
    if not (personal.strip("<") == "" and personal_check in "<0") and (
        check_digit(personal) != personal_check
    ):
        raise MrzError("the personal number's check digit does not match")
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    if check_digit(composite) != line2[43]:
        raise MrzError("the composite check digit does not match")
    sex = line2[20]
    if sex not in "MF<":
        raise MrzError("sex is M, F or <")
    surname, given_names = _names(line1[5:])
    if not surname:
        raise MrzError("the zone has no surname")
    return Passport(
        document_type=line1[0:2].replace("<", ""),
        issuing_state=line1[2:5].replace("<", ""),
        surname=surname,
        given_names=given_names,
        document_number=number.replace("<", ""),
        nationality=line2[10:13].replace("<", ""),
        birth_date=_date(birth, past=True, today=today),
        sex=sex,
        expiry_date=_date(expiry, past=False, today=today),
        personal_number=personal.replace("<", ""),
    )


def _field(text: str, width: int) -> str:
    cleaned = re.sub(r"[^A-Z0-9<]", "<", text.upper().replace(" ", "<").replace("-", "<"))
    return cleaned[:width].ljust(width, "<")


def make_td3(
    surname: str,
    given_names: str,
    document_number: str,
    birth_date: date,
    sex: str,
    expiry_date: date,
    *,
    issuing_state: str = "GBR",
    nationality: str = "GBR",
    personal_number: str = "",
) -> tuple[str, str]:
    """Write a TD3 zone with its check digits (for the demo world's passports)."""
    line1 = _field(f"P<{issuing_state}{surname}<<{given_names}", LINE)
    number = _field(document_number, 9)
    birth = birth_date.strftime("%y%m%d")
    expiry = expiry_date.strftime("%y%m%d")
    personal = _field(personal_number, 14)
    personal_check = check_digit(personal) if personal_number else "<"
    body = (
        number + check_digit(number) + _field(nationality, 3) + birth + check_digit(birth)
        + (sex if sex in "MF" else "<") + expiry + check_digit(expiry) + personal + personal_check
    )  # fmt: skip
    composite = body[0:10] + body[13:20] + body[21:43]
    return line1, body + check_digit(composite)
