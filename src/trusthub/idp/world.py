"""What the identity providers check against: the demo world's citizens and holders' records.

In the demo these stand for the sources a real provider asks — HM Passport Office, DVLA, credit
reference agencies, a fraud-prevention service. Reads only; nothing here decides.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trusthub.identity.models import Citizen, CitizenAddress
from trusthub.idp.claims import Address
from trusthub.idp.fraud import identity_key
from trusthub.idp.kbv import Fact
from trusthub.idp.models import IdpFraudMarker
from trusthub.registry.models import Dataset, DatasetRecord

POOL = 200


def find_citizen(db: Session, given_name: str, family_name: str, birth: date) -> Citizen | None:
    """The demo world's citizen with this family name, first given name and birth date."""
    candidates = db.scalars(
        select(Citizen).where(
            func.lower(Citizen.family_name) == family_name.strip().lower(),
            Citizen.date_of_birth == birth,
        )
    ).all()
    first = (given_name.split() or [""])[0].lower()
    for citizen in candidates:
        if (citizen.given_name.split() or [""])[0].lower() == first:
            return citizen
    return None


def addresses(citizen: Citizen) -> list[Address]:
    rows: list[CitizenAddress] = list(citizen.addresses)
    return [Address(a.line1, a.town, a.postcode, a.moved_in, a.moved_out) for a in rows]


def records(db: Session, citizen_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every holder's record of this citizen, by dataset slug."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = db.execute(
        select(Dataset.slug, DatasetRecord.data)
        .join(Dataset, Dataset.id == DatasetRecord.dataset_id)
        .where(DatasetRecord.citizen_id == citizen_id)
    )
    for slug, data in rows:
        found[slug].append(data)
    return found


def _pool(db: Session, slug: str, field: str) -> tuple[str, ...]:
    rows = db.scalars(
        select(DatasetRecord.data)
        .join(Dataset, Dataset.id == DatasetRecord.dataset_id)
        .where(Dataset.slug == slug)
        .limit(POOL)
    )
    return tuple(sorted({str(r.get(field)) for r in rows if r.get(field)}))


def _postcode_pool(db: Session, citizen_id: int) -> tuple[str, ...]:
    rows = db.scalars(
        select(CitizenAddress.postcode).where(CitizenAddress.citizen_id != citizen_id).limit(POOL)
    )
    return tuple(sorted(set(rows)))


def kbv_facts(db: Session, citizen: Citizen) -> list[Fact]:
    """Questions' material: what holders' records say about the citizen, and wrong answers."""
    held = records(db, citizen.id)
    facts: list[Fact] = []
    simple = (
        ("paye-employments", "employer_name", "employer", "Who is your current employer?"),
        ("benefit-claims", "benefit_type", "benefit", "Which benefit do you receive?"),
        ("council-tax", "council_tax_band", "band", "What is your home's council tax band?"),
        ("current-accounts", "product", "bank", "Which kind of current account do you have?"),
    )
    for slug, field, kind, prompt in simple:
        values = [r[field] for r in held.get(slug, []) if r.get(field)]
        if values:
            facts.append(Fact(kind, prompt, str(values[0]), _pool(db, slug, field)))
    licences = [r for r in held.get("driver-licences", []) if r.get("licence_expiry")]
    if licences:
        year = int(str(licences[0]["licence_expiry"])[:4])
        pool = tuple(str(y) for y in range(year - 4, year + 5))
        prompt = "In which year does your driving licence expire?"
        facts.append(Fact("licence", prompt, str(year), pool))
    lived = [a.postcode for a in citizen.addresses]
    if lived:
        prompt = "Which of these postcodes have you lived at?"
        facts.append(Fact("postcode", prompt, lived[0], _postcode_pool(db, citizen.id), False))
    return facts


def record_count(db: Session, citizen_id: int) -> int:
    count = db.scalar(
        select(func.count())
        .select_from(DatasetRecord)
        .where(DatasetRecord.citizen_id == citizen_id)
    )
    return int(count or 0)


def licence_on_record(db: Session, citizen_id: int) -> str | None:
    for data in records(db, citizen_id).get("driver-licences", []):
        number = data.get("driver_number")
        if number:
            return str(number)
    return None


def passport_number(seed: int, nhs_number: str) -> str:
    """The demo world's passport register: each citizen's 9-digit passport number, derived."""
    digest = hashlib.sha256(f"passport\x00{seed}\x00{nhs_number}".encode()).hexdigest()
    return str(int(digest, 16) % 900_000_000 + 100_000_000)


def contra_indicators(db: Session, given_name: str, family_name: str, birth: date) -> list[str]:
    key = identity_key(given_name, family_name, birth)
    return list(db.scalars(select(IdpFraudMarker.code).where(IdpFraudMarker.identity_key == key)))
