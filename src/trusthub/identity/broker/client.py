"""The hub as a relying party of one identity provider, on Authlib's OAuth 2 client and joserfc.

Authlib builds the authorization URL (PKCE S256), checks the callback's ``state`` and redeems
the code with ``private_key_jwt``; joserfc verifies the ID token against the provider's published
keys. Nothing here is taken on trust: the discovery document must name the configured issuer,
and the ID token its issuer, the hub as audience, an unexpired time and the nonce we sent.
"""

from __future__ import annotations

import secrets
import ssl
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.oauth2.client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from trusthub.identity.broker.config import IdentityProvider
from trusthub.identity.oidc.clients import PRIVATE_KEY_JWT
from trusthub.identity.oidc.keys import KeyRing
from trusthub.identity.oidc.vtr import Vector

with warnings.catch_warnings():  # Authlib prefers httpx2; the httpx client works the same
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Auth, OAuth2ClientAuth, OAuthError

ID_TOKEN_ALGS = ("ES256", "RS256")
METADATA_TTL = 300.0
HTTP_TIMEOUT = 10.0
CLOCK_LEEWAY = 30
ASSERTION_LIFETIME = 60


class ProviderError(Exception):
    """An identity provider's answer that the hub refuses; ``reason`` is a short code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Discovered:
    """A provider's metadata and keys as fetched, with when they were fetched."""

    metadata: dict[str, Any]
    keys: KeySet
    fetched: float


_cache: dict[str, Discovered] = {}
_lock = threading.Lock()


_tls_context: ssl.SSLContext | None = None
_shared_http: httpx.Client | None = None


def _tls() -> ssl.SSLContext:
    """One TLS context for every call to a provider, built on first use.

    httpx builds a fresh context (the whole CA bundle parsed) for every client it makes: about
    20 ms of CPU, which was most of a complete sign-in's cost at the hub. A context with the
    same verification settings (certifi's CAs, or SSL_CERT_FILE/SSL_CERT_DIR) is safe to share.
    """
    global _tls_context
    with _lock:
        if _tls_context is None:
            _tls_context = httpx.create_ssl_context()
        return _tls_context


def _http(transport: httpx.BaseTransport | None) -> httpx.Client:
    """One client for every back-channel call, so connections to providers are kept alive.

    A client per call cost a new connection and a scan of the environment for proxies each time
    (about a millisecond of CPU); httpx clients may be shared between threads. Tests that route
    the broker to an app in process get a client over their transport.
    """
    global _shared_http
    tls = _tls()
    if transport is not None:
        return httpx.Client(
            transport=transport, timeout=HTTP_TIMEOUT, follow_redirects=False, verify=tls
        )
    with _lock:
        if _shared_http is None:
            _shared_http = httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False, verify=tls)
        return _shared_http


def _done(http: httpx.Client, transport: httpx.BaseTransport | None) -> None:
    """Close a client made for one call; the shared one stays open."""
    if transport is not None:
        http.close()


def _get_json(url: str, transport: httpx.BaseTransport | None) -> dict[str, Any]:
    http = _http(transport)
    try:
        answer = http.get(url)
    except httpx.HTTPError as error:
        raise ProviderError("provider_unreachable") from error
    finally:
        _done(http, transport)
    if answer.status_code != 200:
        raise ProviderError("provider_unreachable")
    try:
        body = answer.json()
    except ValueError as error:
        raise ProviderError("provider_bad_json") from error
    if not isinstance(body, dict):
        raise ProviderError("provider_bad_json")
    return body


def discover(
    idp: IdentityProvider, transport: httpx.BaseTransport | None, refresh: bool = False
) -> Discovered:
    """The provider's discovery document and JWKS, cached for a few minutes."""
    with _lock:
        known = _cache.get(idp.discovery_url)
    if known is not None and not refresh and time.monotonic() - known.fetched < METADATA_TTL:
        return known
    metadata = _get_json(idp.discovery_url, transport)
    if metadata.get("issuer") != idp.issuer:
        raise ProviderError("discovery_issuer_mismatch")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(name), str):
            raise ProviderError("discovery_incomplete")
    try:
        keys = KeySet.import_key_set(_get_json(metadata["jwks_uri"], transport))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise ProviderError("provider_bad_jwks") from error
    found = Discovered(metadata, keys, time.monotonic())
    with _lock:
        _cache[idp.discovery_url] = found
    return found


def forget(idp: IdentityProvider) -> None:
    with _lock:
        _cache.pop(idp.discovery_url, None)


class _RelyingParty(OAuth2Client):  # type: ignore[misc]
    """Authlib's OAuth 2 client with httpx's auth classes, over a client it is given."""

    client_auth_class = OAuth2ClientAuth
    token_auth_class = OAuth2Auth
    oauth_error_class = OAuthError


def _client(
    idp: IdentityProvider, redirect_uri: str, keys: KeyRing | None, http: httpx.Client | None
) -> Any:
    key = keys.signing_key("ES256") if keys is not None else None
    return _RelyingParty(
        http,
        client_id=idp.client_id,
        client_secret=key,
        token_endpoint_auth_method=PRIVATE_KEY_JWT,
        scope="openid profile",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


@dataclass(frozen=True)
class Outbound:
    """Where to send the browser, and what the callback must then match."""

    url: str
    state: str
    nonce: str
    code_verifier: str


def authorization_request(
    idp: IdentityProvider,
    redirect_uri: str,
    asked: Vector,
    transport: httpx.BaseTransport | None,
) -> Outbound:
    """The provider's authorization URL for ``asked``: only the hub's own client, nothing of the
    service the citizen is going to (the privacy split)."""
    found = discover(idp, transport)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    url, _ = _client(idp, redirect_uri, None, None).create_authorization_url(
        found.metadata["authorization_endpoint"],
        state=state,
        code_verifier=verifier,
        nonce=nonce,
        vtr=f'["{asked.text}"]',
    )
    return Outbound(str(url), state, nonce, verifier)


def verify_id_token(
    token: Any, keys: KeySet, issuer: str, client_id: str, nonce: str, now: int | None = None
) -> dict[str, Any]:
    """The ID token's claims, if its signature, issuer, audience, expiry and nonce all hold."""
    if not isinstance(token, str):
        raise ProviderError("no_id_token")
    try:
        decoded = jwt.decode(token, keys, algorithms=list(ID_TOKEN_ALGS))
    except (JoseError, ValueError) as error:
        raise ProviderError("id_token_signature") from error
    registry = JWTClaimsRegistry(
        now=now,
        leeway=CLOCK_LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(decoded.claims)
    except JoseError as error:
        raise ProviderError(f"id_token_{getattr(error, 'claim', None) or 'claims'}") from error
    azp = decoded.claims.get("azp")
    if azp is not None and azp != client_id:
        raise ProviderError("id_token_aud")
    return dict(decoded.claims)


@dataclass(frozen=True)
class Answer:
    """A provider's verified answer: its subject, what it achieved, and what it says of them."""

    subject: str
    vot: Any
    userinfo: dict[str, Any]


def redeem(
    idp: IdentityProvider,
    redirect_uri: str,
    callback_url: str,
    state: str,
    nonce: str,
    code_verifier: str,
    keys: KeyRing,
    transport: httpx.BaseTransport | None,
) -> Answer:
    """Redeem the callback's code (Authlib checks ``state``), verify the ID token, get UserInfo."""
    found = discover(idp, transport)
    token_endpoint = found.metadata["token_endpoint"]
    http = _http(transport)
    try:
        client = _client(idp, redirect_uri, keys, http)
        client.register_client_auth_method(
            PrivateKeyJWT(
                token_endpoint,
                claims={"exp": int(time.time()) + ASSERTION_LIFETIME},
                headers={"kid": keys.signing_key("ES256").kid},
                alg="ES256",
            )
        )
        try:
            token = client.fetch_token(
                token_endpoint,
                authorization_response=callback_url,
                state=state,
                code_verifier=code_verifier,
            )
        except (OAuthError, httpx.HTTPError, ValueError) as error:
            raise ProviderError("token_refused") from error
        raw = token.get("id_token")
        try:
            claims = verify_id_token(raw, found.keys, idp.issuer, idp.client_id, nonce)
        except ProviderError as error:
            if error.reason != "id_token_signature":
                raise
            fresh = discover(idp, transport, refresh=True)  # the provider may have rotated keys
            claims = verify_id_token(raw, fresh.keys, idp.issuer, idp.client_id, nonce)
        userinfo: dict[str, Any] = {}
        endpoint = found.metadata.get("userinfo_endpoint")
        if isinstance(endpoint, str):
            try:
                answer = http.get(endpoint, auth=client.token_auth)
                userinfo = answer.json() if answer.status_code == 200 else {}
            except (httpx.HTTPError, ValueError) as error:
                raise ProviderError("userinfo_failed") from error
            if not isinstance(userinfo, dict) or userinfo.get("sub") != claims["sub"]:
                raise ProviderError("userinfo_sub_mismatch")
    finally:
        _done(http, transport)
    return Answer(str(claims["sub"]), claims.get("vot"), userinfo)
