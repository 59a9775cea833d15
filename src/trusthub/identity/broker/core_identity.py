"""The core identity JWT, as GOV.UK One Login issues it: a separately signed statement of who the
citizen is, for services that must keep proof of it.

It is signed with a key of its own (not the ID token's), published at the core identity JWKS,
and carries the verified names and birth date in ``vc`` with the confidence level in ``vot``.
The hub signs it as the verifier: naming the identity provider would break the privacy split.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet

from trusthub.identity.oidc.keys import KeyRing

LIFETIME = 180
"""Seconds a core identity JWT is valid for; the service checks it when it receives it."""


def credential(given_name: str, family_name: str, birth_date: date, issuer: str) -> dict[str, Any]:
    """The ``vc`` claim: One Login's IdentityCheckCredential shape, with the hub as verifier."""
    return {
        "type": ["VerifiableCredential", "IdentityCheckCredential"],
        "credentialSubject": {
            "name": [
                {
                    "nameParts": [
                        {"type": "GivenName", "value": given_name},
                        {"type": "FamilyName", "value": family_name},
                    ]
                }
            ],
            "birthDate": [{"value": birth_date.isoformat()}],
        },
        "evidence": [{"type": "IdentityCheck", "verifier": issuer}],
    }


def sign(
    keys: KeyRing,
    *,
    issuer: str,
    subject: str,
    audience: str,
    confidence: int,
    trustmark: str,
    vc: dict[str, Any],
    now: int | None = None,
) -> str:
    """Sign the core identity JWT with the hub's core identity key (ES256)."""
    issued = int(time.time()) if now is None else now
    key = keys.signing_key("ES256")
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "nbf": issued,
        "iat": issued,
        "exp": issued + LIFETIME,
        "vot": f"P{confidence}",
        "vtm": trustmark,
        "vc": vc,
    }
    header = {"alg": "ES256", "typ": "JWT", "kid": key.kid}
    return jwt.encode(header, claims, KeySet([key]), algorithms=["ES256"])
