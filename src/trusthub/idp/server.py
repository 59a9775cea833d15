"""Authlib's authorization server for one provider and one request, on the hub's building blocks.

The grants, PKCE, client authentication, ID tokens and access tokens are the hub's own classes
(``identity/oidc/grants.py``); only where they touch storage are they pointed at this part's
tables, keyed by the provider's slug.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oidc.core import UserInfo as UserInfoClaims
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from trusthub.identity.oidc import grants as hub
from trusthub.identity.oidc.clients import ClientRecord, digest
from trusthub.identity.oidc.endpoints import CitizenAccess, CitizenTokens, UserInfo
from trusthub.identity.oidc.provider import (
    ASSERTION_LEEWAY,
    ASSERTION_MAX_LIFETIME,
    Provider,
)
from trusthub.identity.oidc.server import HubServer
from trusthub.identity.oidc.vtr import parse_vector
from trusthub.idp import store
from trusthub.idp.claims import Address, Identity, userinfo_claims
from trusthub.idp.clients import load_client
from trusthub.idp.models import IdpAccessToken, IdpAccount, IdpCode
from trusthub.models_common import utcnow


@dataclass(frozen=True)
class Person:
    """The signed-in person as the relying party sees them: the provider's public ``sub``."""

    account_id: int
    sub: str
    vot: str
    auth_time: datetime

    def get_user_id(self) -> str:
        return self.sub


_SUBJECT = select(IdpAccount.subject).where(IdpAccount.id == bindparam("account_id"))
"""Built once: the token and UserInfo endpoints need only the account's public subject here."""
_IDENTITY = select(
    IdpAccount.given_name,
    IdpAccount.family_name,
    IdpAccount.birthdate,
    IdpAccount.addresses,
    IdpAccount.gpg45,
).where(IdpAccount.id == bindparam("account_id"))


_SAVE_CODE = insert(IdpCode)
_SAVE_TOKEN = insert(IdpAccessToken)


def person(db: Session, account_id: int, vot: str, auth_time: datetime) -> Person:
    subject = db.connection().execute(_SUBJECT, {"account_id": account_id}).scalar()
    if subject is None:
        raise InvalidTokenError()
    return Person(account_id, subject, vot, auth_time)


class AssertionAuth(hub.PrivateKeyJWT):
    """``private_key_jwt`` as the hub checks it; used ``jti`` values kept per provider."""

    server: IdpServer

    def validate_jti(self, claims: Any, jti: str) -> bool:
        if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
            return False
        counts_until = claims["exp"]
        if isinstance(claims.get("iat"), int | float):
            counts_until = min(counts_until, claims["iat"] + ASSERTION_MAX_LIFETIME)
        expires_at = datetime.fromtimestamp(counts_until + ASSERTION_LEEWAY, UTC)
        server = self.server
        return store.remember_assertion(server.db, server.idp, claims["sub"], jti, expires_at)


class IdTokens(hub.HubOpenIDCode):
    """The hub's ID tokens (sub, vot, vtm, nonce), with nonces remembered per provider."""

    server: IdpServer

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        return store.nonce_seen(self.server.db, self.server.idp, client_id, nonce)


class CodeGrant(hub.AuthorizationCodeGrant):
    """The hub's code grant (exact redirect URI, state, nonce, vtr), codes kept per provider."""

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: Person = request.user
        server: IdpServer = self.server
        row = {**self.code_row(code, request), "idp": server.idp, "account_id": user.account_id}
        server.db.connection().execute(_SAVE_CODE, row)

    def query_authorization_code(  # type: ignore[override]
        self, code: str, client: ClientRecord
    ) -> store.IssuedCode | None:
        if not isinstance(code, str) or len(code) > 256:
            return None
        server: IdpServer = self.server
        return store.consume_code(server.db, server.idp, code, client.client_id)

    def authenticate_user(self, authorization_code: store.IssuedCode) -> Person:  # type: ignore[override]
        code = authorization_code
        server: IdpServer = self.server
        return person(server.db, code.account_id, code.vot, code.auth_time)


class AccountTokens(CitizenTokens):
    """RFC 9068 access tokens checked by signature, then looked up so revoked ones fail."""

    server: IdpServer

    def validate_token(self, token: CitizenAccess, scopes: Any, request: Any, *_: Any) -> None:
        super(CitizenTokens, self).validate_token(token.claims, scopes, request)
        server = self.server
        live = store.live_token(server.db, server.idp, token.token)
        client = server.query_client(live.client_id) if live else None
        if live is None or client is None:
            raise InvalidTokenError(realm=self.realm, extra_attributes=self.extra_attributes)
        token.client = client
        token.scope = live.scope
        auth_time = datetime.fromtimestamp(int(token.claims.get("auth_time", 0)), UTC)
        token.user = person(server.db, live.account_id, live.vot, auth_time)  # type: ignore[assignment]


class AccountInfo(UserInfo):
    """UserInfo: names, birth date, addresses and GPG 45 scores of a proven identity."""

    server: IdpServer

    def __call__(self, request: Any) -> Any:
        from trusthub.identity.oidc.endpoints import _RequestProtector

        self.resource_protector = _RequestProtector(request, AccountTokens(self.server))
        return super(UserInfo, self).__call__(request)

    def generate_user_info(self, user: Person, scope: str) -> UserInfoClaims:  # type: ignore[override]
        params = {"account_id": user.account_id}
        account = self.server.db.connection().execute(_IDENTITY, params).first()
        confidence = parse_vector(user.vot).confidence
        who = Identity(None, None, None, (), None)
        if account is not None:
            who = Identity(
                account.given_name,
                account.family_name,
                account.birthdate,
                tuple(Address.from_record(a) for a in account.addresses or ()),
                account.gpg45,
            )
        return UserInfoClaims(userinfo_claims(user.sub, set(scope.split()), confidence, who))


class IdpServer(AuthorizationServer):  # type: ignore[misc]
    """One provider's authorization server for one request, bound to its database session."""

    def __init__(self, provider: Provider, idp: str, db: Session) -> None:
        super().__init__(scopes_supported=None)
        self.provider = provider
        self.idp = idp
        self.db = db
        self._clients: dict[str, ClientRecord | None] = {}
        self.register_token_generator("default", hub.AccessTokens(provider))
        self.register_client_auth_method(AssertionAuth.CLIENT_AUTH_METHOD, AssertionAuth(self))
        self.register_grant(CodeGrant, [hub.S256Challenge(), IdTokens(self)])
        self.register_endpoint(AccountInfo(self))

    def query_client(self, client_id: str) -> ClientRecord | None:
        if client_id not in self._clients:
            self._clients[client_id] = load_client(self.db, self.idp, client_id)
        return self._clients[client_id]

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        user: Person = request.user
        self.db.connection().execute(
            _SAVE_TOKEN,
            {
                "idp": self.idp,
                "token_hash": digest(token["access_token"]),
                "client_id": request.client.client_id,
                "account_id": user.account_id,
                "code_id": request.authorization_code.id,
                "scope": token.get("scope", ""),
                "vot": user.vot,
                "expires_at": utcnow() + timedelta(seconds=int(token["expires_in"])),
            },
        )

    create_oauth2_request = HubServer.create_oauth2_request
    create_json_request = HubServer.create_json_request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        response: Response = HubServer.handle_response(self, status, body, headers)
        return response

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's hook; nothing to count here."""
