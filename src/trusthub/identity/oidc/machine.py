"""Machine clients' access tokens, checked for the exchange without a database round trip.

A machine client proves itself at the token endpoint with a ``private_key_jwt`` assertion and
gets a short-lived RFC 9068 JWT naming its organisation. The exchange checks that token here,
against the published keys, without a database round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from joserfc.jwk import KeySet

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


def verify_machine_token(provider: Provider, token: str) -> MachineCaller:
    """The caller a machine access token stands for; Problem 401 if anything about it is wrong."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise Problem(401, "Unauthorized", UNAUTHORIZED, kind="invalid-token")
    validator = MachineTokens(provider)
    try:
        claims = validator.authenticate_token(token)
        validator.validate_token(claims, None, None)
    except InvalidTokenError as error:
        raise Problem(401, "Unauthorized", UNAUTHORIZED, kind="invalid-token") from error
    organisation = claims.get("organisation")
    if (
        claims.header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt")
        or claims.get("sub") != claims.get("client_id")
        or not isinstance(organisation, str)
    ):
        raise Problem(401, "Unauthorized", UNAUTHORIZED, kind="invalid-token")
    scopes = frozenset(str(claims.get("scope") or "").split())
    return MachineCaller(str(claims["client_id"]), organisation, scopes)
