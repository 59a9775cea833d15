"""Clients as Authlib sees them: a frozen snapshot of one row, checked by exact comparison only."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Final
from urllib.parse import urlsplit

from joserfc.jwk import ECKey, Key, KeySet, RSAKey, import_key
from sqlalchemy.orm import Session

from trusthub.identity.oidc.driver import read_row
from trusthub.identity.oidc.keys import RSA_MIN_BITS
from trusthub.identity.oidc.models import ClientKind

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

    @cached_property
    def public_keys(self) -> KeySet:
        """The client's JWKS imported once per record (a record lives as long as its row)."""
        return client_keyset(self.jwks or {"keys": []})

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
    "SELECT c.client_id, c.name, c.kind, o.slug, c.sector_identifier,"
    " CAST(c.redirect_uris AS TEXT), CAST(c.post_logout_redirect_uris AS TEXT),"
    " CAST(c.grant_types AS TEXT), c.scope, c.token_endpoint_auth_method, CAST(c.jwks AS TEXT),"
    " c.client_secret_hash, c.id_token_signed_response_alg, c.rp_kind,"
    " CAST(c.allowed_claims AS TEXT), c.minimum_vector"
    " FROM oauth_clients c LEFT JOIN organisations o ON o.id = c.organisation_id"
    " WHERE c.client_id = ? AND c.disabled_at IS NULL"
)
CLIENT_SQL = {"sqlite": _CLIENT, "postgresql": _CLIENT.replace("?", "%s")}
"""The token endpoint's hottest read, in the driver's own SQL: JSON columns come back as text,
so a row unchanged since the last request maps to the record already built from it."""

Row = tuple[str | None, ...]


def _list(text: str | None) -> tuple[str, ...]:
    value = json.loads(text) if text else None
    return tuple(value or ())


@lru_cache(maxsize=1024)
def record_of(row: Row) -> ClientRecord:
    """The record for one row's exact contents: any change to the row (a rotated key, another
    scope) is a different key here, so nothing cached can outlive the row it was read from."""
    (client_id, name, kind, slug, sector, redirects, post_logout_text, grant_types, scope,
     method, jwks, secret_hash, id_token_alg, rp_kind, allowed, minimum) = row  # fmt: skip
    assert client_id and name and kind and sector and scope is not None and method
    post_logout = _list(post_logout_text)
    allowed_claims = json.loads(allowed) if allowed else None
    return ClientRecord(
        client_id=client_id,
        name=name,
        kind=ClientKind(kind),
        organisation_slug=slug,
        sector_identifier=sector,
        redirect_uris=_list(redirects),
        post_logout_redirect_uris=post_logout,
        grant_types=_list(grant_types),
        scopes=tuple(scope.split()),
        token_endpoint_auth_method=method,
        jwks=json.loads(jwks) if jwks else None,
        client_secret_hash=secret_hash,
        id_token_signed_response_alg=id_token_alg or "ES256",
        rp_kind=rp_kind or "government",
        allowed_claims=None if allowed_claims is None else tuple(allowed_claims),
        minimum_vector=minimum,
        client_metadata={"post_logout_redirect_uris": list(post_logout)},
    )


def load_client(session: Session, client_id: str) -> ClientRecord | None:
    """The enabled client with this id, and its organisation's slug, read afresh every time.

    The row is always read, so a disabled client or a rotated key counts from the next request;
    only the work of turning an unchanged row into a record (JSON, keys) is kept.
    """
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        return None
    row = read_row(session, CLIENT_SQL, (client_id,))
    return None if row is None else record_of(row)


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
