"""Clients as Authlib sees them: a frozen snapshot of one row, checked by exact comparison only."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit

from joserfc.jwk import ECKey, Key, KeySet, RSAKey, import_key
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from trusthub.identity.oidc.keys import RSA_MIN_BITS
from trusthub.identity.oidc.models import ClientKind, OAuthClient
from trusthub.registry.models import Organisation

PRIVATE_KEY_JWT: Final = "private_key_jwt"
CLIENT_SECRET_BASIC: Final = "client_secret_basic"  # noqa: S105 - a method name
AUTH_METHODS = (PRIVATE_KEY_JWT, CLIENT_SECRET_BASIC)
ASSERTION_ALGS = ("ES256", "RS256")
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (code, token, handle): what the database keeps."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ClientRecord:
    """One client, duck-typed to Authlib's ``ClientMixin``."""

    client_id: str
    name: str
    kind: ClientKind
    organisation_slug: str | None
    sector_identifier: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    token_endpoint_auth_method: str
    jwks: dict[str, Any] | None
    client_secret_hash: str | None
    id_token_signed_response_alg: str
    rp_kind: str = "government"
    allowed_claims: tuple[str, ...] | None = None
    minimum_vector: str | None = None
    client_metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def asks_consent(self) -> bool:
        """Services outside government show the citizen what they will get, and ask first."""
        return self.rp_kind == "non_government"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """None: OpenID Connect requires the redirect URI in every authorization request."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The asked scopes this client may have (unknown ones ignored); None if none remain."""
        if not scope:
            return " ".join(self.scopes)
        allowed = [s for s in dict.fromkeys(scope.split()) if s in self.scopes]
        return " ".join(allowed) or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match against the registered URIs, as OpenID Connect requires."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client_secret_hash is None:
            return False
        return hmac.compare_digest(digest(client_secret), self.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@lru_cache(maxsize=1024)
def _keyset(text: str) -> KeySet:
    return KeySet.import_key_set(json.loads(text))


def client_keyset(jwks: dict[str, Any]) -> KeySet:
    """A client's public keys, imported once per distinct JWKS rather than on every assertion."""
    return _keyset(json.dumps(jwks, sort_keys=True, separators=(",", ":")))


_CLIENT = (
    select(
        OAuthClient.client_id,
        OAuthClient.name,
        OAuthClient.kind,
        Organisation.slug,
        OAuthClient.sector_identifier,
        OAuthClient.redirect_uris,
        OAuthClient.post_logout_redirect_uris,
        OAuthClient.grant_types,
        OAuthClient.scope,
        OAuthClient.token_endpoint_auth_method,
        OAuthClient.jwks,
        OAuthClient.client_secret_hash,
        OAuthClient.id_token_signed_response_alg,
        OAuthClient.rp_kind,
        OAuthClient.allowed_claims,
        OAuthClient.minimum_vector,
    )
    .outerjoin(Organisation, Organisation.id == OAuthClient.organisation_id)
    .where(OAuthClient.client_id == bindparam("client_id"), OAuthClient.disabled_at.is_(None))
)
"""Built once: on the token endpoint's hot path the statement is only executed, not rebuilt."""


def load_client(session: Session, client_id: str) -> ClientRecord | None:
    """The enabled client with this id, and its organisation's slug, in one query."""
    if not isinstance(client_id, str) or len(client_id) > 64:
        return None
    row = session.connection().execute(_CLIENT, {"client_id": client_id}).first()
    if row is None:
        return None
    post_logout = tuple(row.post_logout_redirect_uris or ())
    return ClientRecord(
        client_id=row.client_id,
        name=row.name,
        kind=row.kind,
        organisation_slug=row.slug,
        sector_identifier=row.sector_identifier,
        redirect_uris=tuple(row.redirect_uris or ()),
        post_logout_redirect_uris=post_logout,
        grant_types=tuple(row.grant_types),
        scopes=tuple(row.scope.split()),
        token_endpoint_auth_method=row.token_endpoint_auth_method,
        jwks=row.jwks,
        client_secret_hash=row.client_secret_hash,
        id_token_signed_response_alg=row.id_token_signed_response_alg,
        rp_kind=row.rp_kind,
        allowed_claims=None if row.allowed_claims is None else tuple(row.allowed_claims),
        minimum_vector=row.minimum_vector,
        client_metadata={"post_logout_redirect_uris": list(post_logout)},
    )


def check_public_jwks(data: Any) -> dict[str, Any]:
    """A client's JWKS as we keep it: public EC P-256 or RSA (2048+) signing keys, each with a kid.

    Raises ValueError naming the rule broken, so the edge can report it against ``jwks``.
    """
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError("must be a JWKS: an object whose 'keys' lists at least one key")
    keys: list[Key] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError("every key must be a JSON object")
        if any(member in entry for member in PRIVATE_MEMBERS):
            raise ValueError("must hold public keys only; never send a private or secret key")
        try:
            key = import_key(entry)
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError("a key could not be read as a JWK") from error
        if isinstance(key, ECKey):
            if key.curve_name != "P-256":
                raise ValueError("EC keys must be on the P-256 curve (ES256)")
        elif isinstance(key, RSAKey):
            if key.raw_value.key_size < RSA_MIN_BITS:
                raise ValueError(f"RSA keys must have {RSA_MIN_BITS} bits or more")
        else:
            raise ValueError("keys must be EC (P-256) or RSA")
        if entry.get("use", "sig") != "sig" or entry.get("alg", "ES256") not in ASSERTION_ALGS:
            raise ValueError(f"keys must be for signing with {' or '.join(ASSERTION_ALGS)}")
        key.ensure_kid()
        keys.append(key)
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        raise ValueError("key ids (kid) must be unique")
    return KeySet(keys).as_dict(private=False)  # type: ignore[return-value]


def check_redirect_uri(uri: str) -> str:
    """A redirect URI we accept to register: https, or http on the loopback; no fragment."""
    parts = urlsplit(uri)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("must use https (http only on localhost or 127.0.0.1)")
    if not parts.hostname or parts.fragment or "*" in uri:
        raise ValueError("must be an absolute URI with a host, no fragment and no wildcard")
    return uri
