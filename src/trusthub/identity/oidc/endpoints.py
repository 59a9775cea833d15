"""UserInfo and RP-initiated logout: Authlib's endpoints, given the hub's keys and storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import ResourceProtector
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from authlib.oidc.core import UserInfo as UserInfoClaims
from authlib.oidc.core import UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint
from joserfc.jwk import KeySet
from sqlalchemy import bindparam, select

from trusthub.identity.broker import core_identity
from trusthub.identity.broker.config import key_store
from trusthub.identity.models import Citizen
from trusthub.identity.oidc import sessions, store
from trusthub.identity.oidc.claims import (
    CORE_IDENTITY_CLAIM,
    PROFILE_MIN_CONFIDENCE,
    Person,
    released_claims,
    userinfo_claims,
)
from trusthub.identity.oidc.clients import ClientRecord
from trusthub.identity.oidc.grants import AuthenticatedCitizen, citizen_for
from trusthub.identity.oidc.keys import SIGNING_ALGS, KeyStore
from trusthub.identity.oidc.provider import Provider
from trusthub.identity.oidc.vtr import parse_vector

if TYPE_CHECKING:
    from trusthub.identity.oidc.server import HubServer


@dataclass
class CitizenAccess:
    """A verified access token, with the client and citizen it stands for once found live."""

    claims: Any
    token: str
    client: ClientRecord | None = None
    user: AuthenticatedCitizen | None = None
    scope: str = field(default="")

    def get_client(self) -> ClientRecord | None:
        return self.client

    def get_user(self) -> AuthenticatedCitizen | None:
        return self.user


class CitizenTokens(JWTBearerTokenValidator):  # type: ignore[misc]
    """RFC 9068 validation of citizens' access tokens, then a look-up so revoked ones fail."""

    def __init__(self, server: HubServer) -> None:
        provider = server.provider
        super().__init__(issuer=provider.issuer, resource_server=provider.userinfo_endpoint)
        self.server = server

    def get_jwks(self) -> KeySet:
        return self.server.provider.keyring().verification_set()

    def authenticate_token(self, token_string: str) -> CitizenAccess:
        return CitizenAccess(claims=super().authenticate_token(token_string), token=token_string)

    def validate_token(self, token: CitizenAccess, scopes: Any, request: Any, *_: Any) -> None:
        super().validate_token(token.claims, scopes, request)
        live = store.live_token(self.server.db, token.token)
        client = self.server.query_client(live.client_id) if live else None
        if live is None or client is None:
            raise InvalidTokenError(realm=self.realm, extra_attributes=self.extra_attributes)
        token.client = client
        token.scope = live.scope
        auth_time = datetime.fromtimestamp(int(token.claims.get("auth_time", 0)), UTC)
        token.user = citizen_for(self.server.provider, client, live.citizen_id, live.vot, auth_time)


class _RequestProtector(ResourceProtector):  # type: ignore[misc]
    """Authlib's ResourceProtector, given the request up front (there is no global request)."""

    def __init__(self, request: Any, validator: CitizenTokens) -> None:
        super().__init__()
        self.request = request
        self.token: CitizenAccess | None = None
        self.register_token_validator(validator)

    def acquire_token(self, scopes: str | list[str] | None = None) -> CitizenAccess:
        wanted = [scopes] if isinstance(scopes, str) else scopes
        token: CitizenAccess = self.validate_request(wanted, self.request)
        self.token = token
        return token


_NAMES = select(Citizen.given_name, Citizen.family_name, Citizen.date_of_birth).where(
    Citizen.id == bindparam("citizen_id")
)
"""Built once: UserInfo needs three columns of the citizen, not the whole record."""


class UserInfo(UserInfoEndpoint):  # type: ignore[misc]
    """``sub`` for every valid token; profile claims only for an identity proven to P2 or more."""

    server: HubServer

    def __init__(self, server: HubServer) -> None:
        super().__init__(server=server)

    def __call__(self, request: Any) -> Any:
        self.resource_protector = _RequestProtector(request, CitizenTokens(self.server))
        return super().__call__(request)

    def generate_user_info(self, user: AuthenticatedCitizen, scope: str) -> UserInfoClaims:
        confidence = parse_vector(user.vot).confidence
        scopes = set(scope.split())
        access = self.resource_protector.token
        client = access.client if access is not None else None
        allowed = client.allowed_claims if client is not None else ()
        released = released_claims(scopes, confidence, allowed)
        person = None
        if "profile" in scopes and confidence >= PROFILE_MIN_CONFIDENCE:
            params = {"citizen_id": user.citizen_id}
            citizen = self.server.db.connection().execute(_NAMES, params).first()
            if citizen is not None:
                person = Person(citizen.given_name, citizen.family_name, citizen.date_of_birth)
        claims = userinfo_claims(user.sub, scopes, confidence, person)
        claims = {k: v for k, v in claims.items() if k in released}
        if CORE_IDENTITY_CLAIM in released and person is not None and client is not None:
            claims[CORE_IDENTITY_CLAIM] = self._core_identity(user, client, confidence, person)
        return UserInfoClaims(claims)

    def _core_identity(
        self, user: AuthenticatedCitizen, client: ClientRecord, confidence: int, person: Person
    ) -> str:
        provider = self.server.provider
        keys = core_identity_keys(provider).keyring()
        vc = core_identity.credential(
            person.given_name, person.family_name, person.birth_date, provider.issuer
        )
        return core_identity.sign(
            keys,
            issuer=provider.issuer,
            subject=user.sub,
            audience=client.client_id,
            confidence=confidence,
            trustmark=provider.trustmark,
            vc=vc,
        )

    def get_issuer(self) -> str:
        issuer: str = self.server.provider.issuer
        return issuer

    def resolve_private_key(self) -> KeySet:
        return self.server.provider.keyring().signing_set()

    def get_supported_algorithms(self) -> list[str]:
        return list(SIGNING_ALGS)


def core_identity_keys(provider: Provider) -> KeyStore:
    """The core identity key, distinct from the ID token keys (production must configure it)."""
    return key_store(provider.core_identity_keys, "core identity")


class EndSession(EndSessionEndpoint):  # type: ignore[misc]
    """RP-initiated logout: ends the hub session; redirects only to a registered URI."""

    server: HubServer

    def get_server_jwks(self) -> KeySet:
        return self.server.provider.keyring().verification_set()

    def get_algorithms(self) -> list[str]:
        return list(SIGNING_ALGS)

    def end_session(self, end_session_request: Any) -> None:
        signed_in = self.server.signed_in
        if signed_in is not None:
            sessions.end_session_by_id(self.server.db, signed_in.id)
