"""The provider's fixed configuration — issuer, endpoints, keys, lifetimes — made once per setup."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import structlog

from trusthub.config import Settings
from trusthub.identity.broker.config import broker_setup
from trusthub.identity.broker.config import reach as broker_reach
from trusthub.identity.oidc.keys import KeyRing, KeyStore, create_private_file_once, new_jwks
from trusthub.identity.oidc.vtr import Vector, parse_vector

log = structlog.get_logger("trusthub.identity")

CODE_TTL = 60
"""Seconds an authorization code lives: single use and short (RFC 6749 §4.1.2: at most 10 min)."""
ACCESS_TOKEN_TTL = 300
ID_TOKEN_TTL = 300
SESSION_TTL = 3600
"""Seconds a citizen stays signed in at the hub."""
PENDING_TTL = 900
"""Seconds a citizen has to finish signing in before the service's request lapses."""
ASSERTION_MAX_LIFETIME = 300
"""Client assertions valid for longer are refused, which bounds the replay store (RFC 7523 §3)."""
ASSERTION_LEEWAY = 30
PAIRWISE_MIN_LENGTH = 32
DEMO_SIGN_IN_VECTOR = "Cl.P0"
"""All the DEMO sign-in can assert: a one-factor credential and no identity confidence."""


class ProviderConfigError(RuntimeError):
    """The identity provider is not configured well enough to start."""


@dataclass(frozen=True)
class ProviderSetup:
    """The settings that shape a provider; hashable, so one provider is kept per setup."""

    issuer: str
    signing_keys: str | None
    pairwise_key: str | None
    keys_dir: Path
    development: bool
    demo_sign_in: bool
    broker_reach: str | None = None
    core_identity_keys: str | Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ProviderSetup:
        development = settings.environment == "development"
        demo = settings.identity_demo_sign_in
        pairwise = settings.identity_pairwise_key
        broker = broker_setup(settings)
        reach = broker_reach(broker)
        return cls(
            issuer=(settings.identity_issuer or settings.base_url).rstrip("/"),
            signing_keys=settings.identity_signing_keys,
            pairwise_key=pairwise.get_secret_value() if pairwise else None,
            keys_dir=settings.identity_keys_dir,
            development=development,
            demo_sign_in=development and (demo is None or demo),
            broker_reach=reach.text if reach else None,
            core_identity_keys=broker.core_identity_keys,
        )


@dataclass(frozen=True)
class Provider:
    """Everything the protocol code needs that does not change between requests."""

    issuer: str
    key_store: KeyStore
    pairwise_key: bytes
    demo_sign_in: bool
    broker_reach: str | None = None
    core_identity_keys: str | Path | None = None

    def keyring(self) -> KeyRing:
        return self.key_store.keyring()

    def url(self, path: str) -> str:
        return self.issuer + path

    @property
    def authorization_endpoint(self) -> str:
        return self.url("/oauth2/authorize")

    @property
    def token_endpoint(self) -> str:
        return self.url("/oauth2/token")

    @property
    def userinfo_endpoint(self) -> str:
        return self.url("/oauth2/userinfo")

    @property
    def jwks_uri(self) -> str:
        return self.url("/oauth2/jwks")

    @property
    def end_session_endpoint(self) -> str:
        return self.url("/oauth2/logout")

    @property
    def trustmark(self) -> str:
        """The ``vtm`` value: where the meaning of our vectors is published (RFC 8485 §5)."""
        return self.url("/trustmark")

    @property
    def machine_audience(self) -> str:
        """The resource identifier in machine clients' access tokens: the data exchange."""
        return self.url("/exchange")

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def sign_in_reach(self) -> Vector | None:
        """The most the sign-in methods on offer can assert: the brokered providers' reach, or
        the DEMO sign-in's ``Cl.P0`` where that is all there is."""
        if self.broker_reach is not None:
            return parse_vector(self.broker_reach)
        return parse_vector(DEMO_SIGN_IN_VECTOR) if self.demo_sign_in else None


def _signing_source(setup: ProviderSetup) -> str | Path:
    if setup.signing_keys:
        return setup.signing_keys
    if not setup.development:
        raise ProviderConfigError("set TRUSTHUB_IDENTITY_SIGNING_KEYS (a private JWKS) to run")
    path = setup.keys_dir / "signing-keys.jwks.json"
    if create_private_file_once(path, json.dumps(new_jwks(), indent=2)):
        log.warning("identity.dev_keys_generated", kind="signing", path=str(path), mode="0600")
    return path


def _pairwise_key(setup: ProviderSetup) -> bytes:
    if setup.pairwise_key is not None:
        key = setup.pairwise_key
    elif setup.development:
        path = setup.keys_dir / "pairwise.key"
        if create_private_file_once(path, secrets.token_urlsafe(32)):
            log.warning("identity.dev_keys_generated", kind="pairwise", path=str(path), mode="0600")
        key = path.read_text().strip()
    else:
        raise ProviderConfigError("set TRUSTHUB_IDENTITY_PAIRWISE_KEY (32+ characters) to run")
    if len(key) < PAIRWISE_MIN_LENGTH:
        raise ProviderConfigError(f"the pairwise key needs {PAIRWISE_MIN_LENGTH}+ characters")
    return key.encode()


@lru_cache(maxsize=16)
def provider_for(setup: ProviderSetup) -> Provider:
    """The provider for one setup, made once: keys are read or, in development, generated."""
    return Provider(
        issuer=setup.issuer,
        key_store=KeyStore(_signing_source(setup)),
        pairwise_key=_pairwise_key(setup),
        demo_sign_in=setup.demo_sign_in,
        broker_reach=setup.broker_reach,
        core_identity_keys=setup.core_identity_keys,
    )


_SHAPING_FIELDS = tuple(
    name
    for name in Settings.model_fields
    if name.startswith(("identity_", "idp_"))
    or name in ("environment", "public_url", "host", "port")
)
"""The settings ``ProviderSetup.from_settings`` may read (every identity_* and idp_* one)."""
_SETUPS: dict[tuple[object, ...], ProviderSetup] = {}


def get_provider(settings: Settings) -> Provider:
    """The provider for these settings; read from them once per distinct value, not per request
    (parsing the brokered providers' configuration cost more than a grant's database work)."""
    shape = tuple(
        tuple(value) if isinstance(value, list) else value
        for value in (getattr(settings, name) for name in _SHAPING_FIELDS)
    )
    setup = _SETUPS.get(shape)
    if setup is None:
        if len(_SETUPS) >= 64:
            _SETUPS.clear()
        setup = _SETUPS[shape] = ProviderSetup.from_settings(settings)
    return provider_for(setup)


def signing_key_file(settings: Settings) -> Path:
    """The file the signing keys live in, for rotation; inline JSON keys cannot be rotated here."""
    setup = ProviderSetup.from_settings(settings)
    if setup.signing_keys is None:
        if not setup.development:
            raise ProviderConfigError("set TRUSTHUB_IDENTITY_SIGNING_KEYS (a private JWKS) to run")
        return Path(_signing_source(setup))
    if setup.signing_keys.lstrip().startswith("{"):
        raise ProviderConfigError(
            "the signing keys are inline JSON: rotate them where they are set"
        )
    return Path(setup.signing_keys)
