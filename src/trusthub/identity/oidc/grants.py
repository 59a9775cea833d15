"""Authlib's grants, extensions and client authentication, configured for the hub.

Each class fills in the storage hooks Authlib leaves open and tightens a default where the hub
is stricter than the RFCs: PKCE with S256 for every client, a nonce and a state on every request,
the redirect URI always given and matched exactly, client assertions short-lived and single-use.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    grants,
)
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import OpenIDCode
from joserfc.jwk import KeySet
from sqlalchemy import insert

from trusthub.identity.oidc import store
from trusthub.identity.oidc.claims import assurance_claims, pairwise_subject
from trusthub.identity.oidc.clients import (
    CLIENT_SECRET_BASIC,
    PRIVATE_KEY_JWT,
    ClientRecord,
    digest,
)
from trusthub.identity.oidc.models import AuthorizationCode
from trusthub.identity.oidc.provider import (
    ACCESS_TOKEN_TTL,
    ASSERTION_LEEWAY,
    ASSERTION_MAX_LIFETIME,
    CODE_TTL,
    ID_TOKEN_TTL,
    Provider,
)
from trusthub.identity.oidc.vtr import Vector, VectorError, at_least, parse_vector, parse_vtr
from trusthub.models_common import utcnow

if TYPE_CHECKING:
    from trusthub.identity.oidc.server import HubServer

AUTH_METHODS = [PRIVATE_KEY_JWT, CLIENT_SECRET_BASIC]


@dataclass(frozen=True)
class AuthenticatedCitizen:
    """The signed-in citizen as one client sees them: its pairwise ``sub``, never the row id."""

    citizen_id: int
    sub: str
    vot: str
    auth_time: datetime

    def get_user_id(self) -> str:
        return self.sub


def citizen_for(
    provider: Provider, client: ClientRecord, citizen_id: int, vot: str, auth_time: datetime
) -> AuthenticatedCitizen:
    sub = pairwise_subject(provider.pairwise_key, client.sector_identifier, citizen_id)
    return AuthenticatedCitizen(citizen_id, sub, vot, auth_time)


class PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    """``private_key_jwt`` (RFC 7523 §2.2): assertions checked against the client's own JWKS."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: HubServer) -> None:
        super().__init__(validate_jti=True, leeway=ASSERTION_LEEWAY)
        self.server = server

    def __call__(self, query_client: Any, request: Any) -> ClientRecord | None:
        client: ClientRecord | None = super().__call__(query_client, request)
        stated = request.form.get("client_id")
        if client is not None and stated is not None and stated != client.client_id:
            raise InvalidClientError(description="client_id does not match the assertion.")
        return client

    def get_audiences(self) -> list[str]:
        """The token endpoint (RFC 7523, OIDC Core §9) or the issuer (RFC 7523bis)."""
        provider = self.server.provider
        return [provider.token_endpoint, provider.issuer]

    def resolve_client_public_key(self, client: ClientRecord) -> KeySet:
        if not client.jwks:
            raise InvalidClientError(description="The client has no registered keys.")
        return client.public_keys

    def verify_claims(self, claims: Any) -> None:
        """Refuse stale, future-dated or open-ended assertions before Authlib records the jti.

        An assertion counts for ASSERTION_MAX_LIFETIME seconds from its ``iat`` whatever its
        ``exp`` says (clients such as Authlib's default to an hour), so a jti needs keeping for
        that long at most.
        """
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float):
            raise InvalidClientError(description="The client assertion has no expiry.")
        if iat is None:
            if exp - now > ASSERTION_MAX_LIFETIME + ASSERTION_LEEWAY:
                limit = ASSERTION_MAX_LIFETIME
                raise InvalidClientError(
                    description=f"Assertions without iat: exp within {limit} s."
                )
        elif not isinstance(iat, int | float) or iat > now + ASSERTION_LEEWAY:
            raise InvalidClientError(description="The client assertion is issued in the future.")
        elif now - iat > ASSERTION_MAX_LIFETIME + ASSERTION_LEEWAY:
            raise InvalidClientError(description="The client assertion is too old.")
        super().verify_claims(claims)

    def validate_jti(self, claims: Any, jti: str) -> bool:
        """Single use: the jti is kept while the assertion counts, and a second use refused."""
        if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
            return False
        return self.remember(claims["sub"], jti, assertion_counts_until(claims))

    def remember(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """Record the jti in the request's database session; False if it was used before."""
        return store.remember_assertion(self.server.db, client_id, jti, expires_at)


def assertion_counts_until(claims: Any) -> datetime:
    """When a used jti may be forgotten: its assertion no longer counts (claims checked)."""
    counts_until = claims["exp"]
    if isinstance(claims.get("iat"), int | float):
        counts_until = min(counts_until, claims["iat"] + ASSERTION_MAX_LIFETIME)
    return datetime.fromtimestamp(counts_until + ASSERTION_LEEWAY, UTC)


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """PKCE (RFC 7636) required of every client, confidential ones too, and only with S256."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send a code_challenge.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class HubOpenIDCode(OpenIDCode):  # type: ignore[misc]
    """ID tokens for the code flow: a nonce required and single-use; signed in the client's alg."""

    def __init__(self, server: HubServer) -> None:
        super().__init__(require_nonce=True)
        self.server = server
        self._nonces: dict[tuple[str, str], bool] = {}

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        """Asked twice per code issued (Authlib validates the request again before answering);
        read once: nothing between the two checks can issue a code."""
        key = (request.payload.client_id, nonce)
        if key not in self._nonces:
            self._nonces[key] = self.nonce_seen(*key)
        return self._nonces[key]

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        return store.nonce_seen(self.server.db, client_id, nonce)

    def resolve_client_private_key(self, client: ClientRecord) -> KeySet:
        return self.server.provider.keyring().signing_set(client.id_token_signed_response_alg)

    def get_client_claims(self, client: ClientRecord) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.server.provider.issuer,
            "aud": client.client_id,
            "exp": now + ID_TOKEN_TTL,
        }

    def generate_user_info(self, user: AuthenticatedCitizen, scope: str) -> dict[str, Any]:
        """Only ``sub`` and the assurance claims go in the ID token; profile ones via UserInfo."""
        return {"sub": user.sub, **assurance_claims(user.vot, self.server.provider.trustmark)}


_SAVE_CODE = insert(AuthorizationCode)
"""Built once, run on the session's connection (an ORM object per code cost more CPU)."""


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """The authorization code flow with codes stored hashed, short-lived and spent on first use."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    vectors: tuple[Vector, ...] = ()

    @staticmethod
    def validate_authorization_redirect_uri(request: Any, client: ClientRecord) -> str:
        redirect_uri: str | None = request.payload.redirect_uri
        if not redirect_uri:
            raise InvalidRequestError("redirect_uri is required.")
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError("redirect_uri is not registered for this client.")
        return redirect_uri

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        data = self.request.payload.data
        state = self.request.payload.state

        def refuse(error: Any) -> Any:
            error.redirect_uri, error.state = redirect_uri, state
            return error

        if "openid" not in (self.request.scope or "").split():
            raise refuse(InvalidScopeError("The openid scope is required."))
        if not state:
            raise refuse(InvalidRequestError("state is required."))
        try:
            self.vectors = parse_vtr(data.get("vtr"))
            minimum = self.request.client.minimum_vector
            self.vectors = at_least(self.vectors, parse_vector(minimum) if minimum else None)
        except VectorError as error:
            raise refuse(InvalidRequestError(f"vtr: {error}.")) from error
        return redirect_uri

    @staticmethod
    def code_row(code: str, request: Any) -> dict[str, Any]:
        """What every issuer keeps of a code: hashed, with its client, PKCE, nonce and vot."""
        data = request.payload.data
        return {
            "code_hash": digest(code),
            "client_id": request.client.client_id,
            "redirect_uri": request.payload.redirect_uri,
            "scope": request.scope,
            "nonce": data["nonce"],
            "code_challenge": data["code_challenge"],
            "code_challenge_method": data["code_challenge_method"],
            "vot": request.user.vot,
            "auth_time": request.user.auth_time,
            "expires_at": utcnow() + timedelta(seconds=CODE_TTL),
        }

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: AuthenticatedCitizen = request.user
        server: HubServer = self.server
        server.db.connection().execute(
            _SAVE_CODE, {**self.code_row(code, request), "citizen_id": user.citizen_id}
        )

    def query_authorization_code(self, code: str, client: ClientRecord) -> store.IssuedCode | None:
        if not isinstance(code, str) or len(code) > 256:
            return None
        return store.consume_code(self.server.db, code, client.client_id)

    def delete_authorization_code(self, authorization_code: store.IssuedCode) -> None:
        """Nothing to do: the code was spent when it was read."""

    def authenticate_user(self, authorization_code: store.IssuedCode) -> AuthenticatedCitizen:
        code = authorization_code
        return citizen_for(
            self.server.provider, self.request.client, code.citizen_id, code.vot, code.auth_time
        )


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    """Machine clients of organisations: a short-lived JWT access token, no refresh token."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_token_request(self) -> None:
        """On PostgreSQL, this grant's one write (the used jti) skips the WAL flush wait.

        The insert is still atomic and seen at once by every connection; only a server crash
        in the following fraction of a second could forget it, reopening a replay window no
        longer than the assertion's own (5 minutes at most). Keycloak keeps the same record
        in memory only.
        """
        self.server.relax_durability()
        super().validate_token_request()


class AccessTokens(JWTBearerTokenGenerator):  # type: ignore[misc]
    """Access tokens as signed JWTs (RFC 9068, ``typ: at+jwt``), checkable without the database."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(
            issuer=provider.issuer,
            alg="ES256",
            expires_generator=lambda client, grant_type: ACCESS_TOKEN_TTL,
        )
        self.provider = provider

    def get_jwks(self) -> KeySet:
        return self.provider.keyring().signing_set("ES256")

    def get_jti(self, client: ClientRecord, grant_type: str, user: Any, scope: str) -> str:
        return secrets.token_urlsafe(16)

    def get_audiences(self, client: ClientRecord, user: Any, scope: str) -> str:
        return self.provider.userinfo_endpoint if user else self.provider.machine_audience

    def get_auth_time(self, user: AuthenticatedCitizen | None) -> int | None:
        return int(user.auth_time.timestamp()) if user else None

    def get_extra_claims(
        self, client: ClientRecord, grant_type: str, user: Any, scope: str
    ) -> dict[str, Any]:
        if user is None and client.organisation_slug:
            return {"organisation": client.organisation_slug}
        return {}
