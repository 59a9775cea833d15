"""From checked documents and records to GPG 45 scores — pure, values in and out.

Demo scoring, stated once: a UK passport whose zone passes every check digit, is in date and
names the person is strength 4, validity 2; found as issued in the passport register, validity
3. A driver number derived from the person's name and birth date is strength 3, validity 2; on
the DVLA's record, validity 3. Activity counts the years the identity has lived at known
addresses (half a year 1, a year 2, three years 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from trusthub.identity.gpg45 import Evidence
from trusthub.idp.dvla import LicenceCheck
from trusthub.idp.mrz import Passport


@dataclass(frozen=True)
class Claimed:
    """Who the person says they are."""

    given_name: str
    family_name: str
    birthdate: date


def _same_name(document: str, claimed: str) -> bool:
    def norm(text: str) -> list[str]:
        return "".join(c if c.isalpha() else " " for c in text.upper()).split()

    return norm(document) == norm(claimed)


def passport_problem(passport: Passport, claimed: Claimed, today: date) -> str | None:
    """Why this passport cannot count for this person, or None if it can."""
    if passport.issuing_state != "GBR":
        return "Use a UK passport"
    if passport.expiry_date < today:
        return "This passport has expired"
    if passport.birth_date != claimed.birthdate:
        return "The passport's date of birth is not the one you gave"
    if not _same_name(passport.surname, claimed.family_name):
        return "The passport's surname is not the one you gave"
    given = passport.given_names.split()
    if not given or given[0] != claimed.given_name.upper().split()[0]:
        return "The passport's given name is not the one you gave"
    return None


def passport_evidence(on_register: bool) -> Evidence:
    return Evidence(4, 3 if on_register else 2)


def licence_evidence(checked: LicenceCheck, on_record: bool) -> Evidence | None:
    if not checked.matches_person:
        return None
    return Evidence(3, 3 if on_record else 2)


def activity_score(first_seen: date | None, today: date) -> int:
    if first_seen is None:
        return 0
    days = (today - first_seen).days
    return 3 if days >= 3 * 365 else 2 if days >= 365 else 1 if days >= 182 else 0
