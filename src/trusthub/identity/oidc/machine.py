"""Machine clients' access tokens, checked for the exchange without a database round trip.

A machine client proves itself at the token endpoint with a ``private_key_jwt`` assertion and
gets a short-lived RFC 9068 JWT naming its organisation. The exchange checks that token here,
against the published keys, without a database round trip.

A client sends the same token with every request until it expires, so a token once verified is
trusted again for at most ``TRUST_SECONDS``, never past its ``exp``, and only while the key ring
it was verified against is still the current one: any change to the signing keys (rotation,
retirement) makes every token be checked afresh. Machine tokens have no revocation of their own
(a disabled client's tokens lapse with their five minutes), so nothing else can change a verdict.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from joserfc.jwk import KeySet

from trusthub.identity.oidc.clients import digest
from trusthub.identity.oidc.keys import KeyRing
from trusthub.identity.oidc.provider import Provider
from trusthub.problems import Problem


@dataclass(frozen=True)
class MachineCaller:
    """Who is calling, as a verified machine access token says."""

    client_id: str
    organisation_slug: str
    scopes: frozenset[str]


class MachineTokens(JWTBearerTokenValidator):  # type: ignore[misc]
    """RFC 9068 validation with the exchange as the audience and the provider's public keys."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(issuer=provider.issuer, resource_server=provider.machine_audience)
        self.provider = provider

    def get_jwks(self) -> KeySet:
        return self.provider.keyring().verification_set()


UNAUTHORIZED = "A valid machine access token from this hub's token endpoint is required."


TRUST_SECONDS = 30.0
MAX_TRUSTED = 4096


@dataclass(frozen=True)
class _Verified:
    caller: MachineCaller
    until: float
    ring: KeyRing
    issuer: str


_verified: dict[str, _Verified] = {}
_verified_lock = threading.Lock()


def verify_machine_token(provider: Provider, token: str) -> MachineCaller:
    """The caller a machine access token stands for; Problem 401 if anything about it is wrong."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise Problem(401, "Unauthorized", UNAUTHORIZED, kind="invalid-token")
    key, now, ring = digest(token), time.time(), provider.keyring()
    known = _verified.get(key)
    if known is not None:
        if now < known.until and known.ring is ring and known.issuer == provider.issuer:
            return known.caller
        with _verified_lock:
            _verified.pop(key, None)
    caller, expires = _verify(provider, token)
    with _verified_lock:
        if len(_verified) >= MAX_TRUSTED:
            for stale in [k for k, v in _verified.items() if v.until <= now or v.ring is not ring]:
                del _verified[stale]
            if len(_verified) >= MAX_TRUSTED:
                _verified.clear()
        _verified[key] = _Verified(caller, min(expires, now + TRUST_SECONDS), ring, provider.issuer)
    return caller


def _verify(provider: Provider, token: str) -> tuple[MachineCaller, float]:
    """Authlib's full RFC 9068 check, then the hub's own claims; the caller and its ``exp``."""
    validator = MachineTokens(provider)
    try:
        claims = validator.authenticate_token(token)
        validator.validate_token(claims, None, None)
    except InvalidTokenError as error:
        raise Problem(401, "Unauthorized", UNAUTHORIZED, kind="invalid-token") from error
    organisation = claims.get("organisation")
    expires = claims.get("exp")
    if (
        claims.header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt")
        or claims.get("sub") != claims.get("client_id")
        or not isinstance(organisation, str)
        or not isinstance(expires, int | float)
    ):
        raise Problem(401, "Unauthorized", UNAUTHORIZED, kind="invalid-token")
    scopes = frozenset(str(claims.get("scope") or "").split())
    return MachineCaller(str(claims["client_id"]), organisation, scopes), float(expires)
