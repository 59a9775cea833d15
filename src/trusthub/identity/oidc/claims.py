"""Which claims a relying party gets, and the pairwise subject that keeps sectors apart — pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

PROFILE_MIN_CONFIDENCE = 2
"""Names and birth date are released only for an identity proven to GPG 45 medium (P2) or more."""


def pairwise_subject(key: bytes, sector_identifier: str, citizen_id: int) -> str:
    """A ``sub`` per sector (OIDC Core §8.1): services of two sectors cannot correlate a citizen.

    A keyed hash (HMAC-SHA256) of the sector and the citizen, so nobody without the key can link
    two subjects or recover the citizen. The NUL separator keeps the input unambiguous.
    """
    message = sector_identifier.encode() + b"\x00" + str(citizen_id).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Person:
    """What the hub knows of a citizen that a profile claim may carry."""

    given_name: str
    family_name: str
    birth_date: date


def assurance_claims(vot: str, vtm: str) -> dict[str, Any]:
    """The Vectors of Trust claims (RFC 8485 §5) every ID token carries."""
    return {"vot": vot, "vtm": vtm}


def userinfo_claims(
    sub: str, scopes: set[str], confidence: int, person: Person | None
) -> dict[str, Any]:
    """UserInfo for a token: ``sub`` always; profile claims only for a proven identity."""
    claims: dict[str, Any] = {"sub": sub}
    if "profile" in scopes and confidence >= PROFILE_MIN_CONFIDENCE and person is not None:
        claims.update(
            given_name=person.given_name,
            family_name=person.family_name,
            birthdate=person.birth_date.isoformat(),
        )
    return claims


CORE_IDENTITY_CLAIM = "https://vocab.account.gov.uk/v1/coreIdentityJWT"
"""One Login's claim for the separately signed core identity JWT, held in UserInfo."""
ID_TOKEN_CLAIMS = ("sub", "vot", "vtm")
PROFILE_CLAIMS = ("given_name", "family_name", "birthdate")


def released_claims(
    scopes: Collection[str], confidence: int, allowed: Collection[str] | None
) -> tuple[str, ...]:
    """The claims a token releases: ``sub`` and the assurance claims always; names, birth date
    and the core identity JWT only for ``profile`` at P2 or more, and only those allowed."""
    claims = list(ID_TOKEN_CLAIMS)
    if "profile" in scopes and confidence >= PROFILE_MIN_CONFIDENCE:
        claims += [*PROFILE_CLAIMS, CORE_IDENTITY_CLAIM]
    if allowed is not None:
        claims = [c for c in claims if c in ID_TOKEN_CLAIMS or c in allowed]
    return tuple(claims)
