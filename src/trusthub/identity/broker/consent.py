"""Citizens' consent to a service outside government receiving a set of claims.

Consent is kept per relying party and exact set of claims: a service that later asks for more
asks again. Withdrawing ends it; the next sign-in to that service shows the screen again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trusthub.identity.broker.models import ClaimConsent
from trusthub.identity.oidc.claims import CORE_IDENTITY_CLAIM
from trusthub.identity.oidc.clients import ClientRecord
from trusthub.identity.oidc.store import as_utc
from trusthub.models_common import utcnow

LABELS = {
    "sub": "An identifier for you, used only by this service",
    "vot": "How sure TrustHub is of who you are",
    "vtm": "Where that level is explained",
    "given_name": "Your first name",
    "family_name": "Your last name",
    "birthdate": "Your date of birth",
    CORE_IDENTITY_CLAIM: "Your proven identity (name and date of birth, signed by TrustHub)",
}


def claims_key(claims: Iterable[str]) -> str:
    return " ".join(sorted(set(claims)))


def labelled(claims: Iterable[str]) -> list[tuple[str, str]]:
    return [(c, LABELS.get(c, c)) for c in claims]


def has_consent(db: Session, citizen_id: int, client_id: str, claims: Iterable[str]) -> bool:
    found = db.scalar(
        select(ClaimConsent.id).where(
            ClaimConsent.citizen_id == citizen_id,
            ClaimConsent.client_id == client_id,
            ClaimConsent.claims == claims_key(claims),
            ClaimConsent.withdrawn_at.is_(None),
        )
    )
    return found is not None


def needed(db: Session, client: ClientRecord, citizen_id: int, claims: Iterable[str]) -> bool:
    """Whether this service must ask the citizen before it gets these claims."""
    return client.asks_consent and not has_consent(db, citizen_id, client.client_id, claims)


def grant(db: Session, citizen_id: int, client_id: str, claims: Iterable[str]) -> None:
    if has_consent(db, citizen_id, client_id, claims):
        return
    db.add(
        ClaimConsent(
            citizen_id=citizen_id,
            client_id=client_id,
            claims=claims_key(claims),
            granted_at=utcnow(),
        )
    )
    db.flush()


def withdraw(db: Session, citizen_id: int, consent_id: int) -> bool:
    """Withdraw one of the citizen's own consents; False if there is no such live consent."""
    done = db.execute(
        update(ClaimConsent)
        .where(
            ClaimConsent.id == consent_id,
            ClaimConsent.citizen_id == citizen_id,
            ClaimConsent.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=utcnow())
        .returning(ClaimConsent.id)
    )
    return done.first() is not None


@dataclass(frozen=True)
class GivenConsent:
    id: int
    client_id: str
    claims: tuple[str, ...]
    granted_at: datetime


def given(db: Session, citizen_id: int) -> list[GivenConsent]:
    rows = db.scalars(
        select(ClaimConsent)
        .where(ClaimConsent.citizen_id == citizen_id, ClaimConsent.withdrawn_at.is_(None))
        .order_by(ClaimConsent.granted_at)
    )
    return [
        GivenConsent(r.id, r.client_id, tuple(r.claims.split()), as_utc(r.granted_at)) for r in rows
    ]
