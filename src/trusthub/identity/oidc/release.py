"""Claims released to relying parties, put on the ledger before the tokens leave the hub.

The token endpoint mints tokens in its transaction; the route then records one ledger entry per
release and only afterwards sends the tokens. If the ledger cannot confirm the entry, the tokens
are revoked unsent and the relying party gets an error: nothing is released off the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from trusthub.identity.oidc.claims import released_claims
from trusthub.identity.oidc.clients import ClientRecord, digest
from trusthub.identity.oidc.models import AccessToken
from trusthub.identity.oidc.vtr import parse_vector
from trusthub.ledger.entry import Outcome
from trusthub.ledger.prepare import Decision
from trusthub.models_common import utcnow

SOURCE = "identity"
VERIFIED_PURPOSE = "identity_verification"
SIGN_IN_PURPOSE = "authentication"


@dataclass(frozen=True)
class Release:
    """One token response's claims for one citizen, and the access token to revoke if needed."""

    citizen_id: int
    client_id: str
    organisation: str
    claims: tuple[str, ...]
    confidence: int
    token_hash: str

    def decision(self) -> Decision:
        purpose = VERIFIED_PURPOSE if self.confidence >= 1 else SIGN_IN_PURPOSE
        return Decision(
            citizen_id=self.citizen_id,
            organisation=self.organisation,
            client=self.client_id,
            purpose=purpose,
            outcome=Outcome.PERMIT,
            fields=self.claims,
            source=SOURCE,
        )


def release_for(
    client: ClientRecord, citizen_id: int, scope: str, vot: str, access_token: str
) -> Release:
    confidence = parse_vector(vot).confidence
    claims = released_claims(set(scope.split()), confidence, client.allowed_claims)
    return Release(
        citizen_id=citizen_id,
        client_id=client.client_id,
        organisation=client.organisation_slug or client.client_id,
        claims=claims,
        confidence=confidence,
        token_hash=digest(access_token),
    )


def revoke(db: Session, releases: list[Release]) -> None:
    """Revoke the access tokens of releases the ledger could not record."""
    hashes = [r.token_hash for r in releases]
    db.execute(
        update(AccessToken)
        .where(AccessToken.token_hash.in_(hashes), AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
