"""Which identity providers the hub brokers, and the hub's own keys for talking to them.

Each provider is configured by its discovery URL and the client id it gave the hub; everything
else (endpoints, keys, issuer) is read from its discovery document. The hub authenticates to
providers with ``private_key_jwt`` and publishes the public half at ``BROKER_JWKS_PATH``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from trusthub.config import Settings
from trusthub.identity.oidc.keys import KeyStore, create_private_file_once, new_jwks
from trusthub.identity.oidc.vtr import Vector, parse_vector

BROKER_JWKS_PATH = "/identity/broker/jwks"
CALLBACK_PATH = "/identity/broker/callback"
CORE_IDENTITY_JWKS_PATH = "/identity/core-identity/jwks"
DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
DEFAULT_REACH = "Cl.Cm.P3"
DEMO_PROVIDERS = (
    ("post-office", "Pillarbox ID (demo)"),
    ("credit-bureau", "Creditwise Identity (demo)"),
    ("bank", "Harbour Bank Verify (demo)"),
)
"""The demo identity providers served under /idp/{slug} in development."""


class BrokerConfigError(RuntimeError):
    """The brokered identity providers or the hub's keys are not configured well enough."""


class IdentityProvider(BaseModel):
    """One identity provider as configured: where to discover it and who the hub is there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str = Field(min_length=1, max_length=100)
    discovery_url: str = Field(min_length=8, max_length=500)
    client_id: str = Field(min_length=1, max_length=200)
    reach: str = DEFAULT_REACH

    @property
    def issuer(self) -> str:
        """The issuer the discovery document must name (OIDC Discovery §4.3)."""
        return self.discovery_url.removesuffix(DISCOVERY_SUFFIX)

    @property
    def reach_vector(self) -> Vector:
        return parse_vector(self.reach)


_LIST = TypeAdapter(tuple[IdentityProvider, ...])


def demo_client_id(slug: str) -> str:
    """The hub's client id at a demo provider: the broker uses it, the seed registers it."""
    return f"trusthub-hub-{slug}"


@dataclass(frozen=True)
class BrokerSetup:
    """The providers and key sources for one configuration; hashable, so cached per setup."""

    providers: tuple[IdentityProvider, ...]
    client_keys: str | Path | None
    core_identity_keys: str | Path | None


@dataclass(frozen=True)
class _Inputs:
    """The settings a broker setup depends on, hashable so the setup is made once per value."""

    providers: str | None
    development: bool
    demo_providers: bool
    base_url: str
    client_keys: str | None
    core_identity_keys: str | None
    keys_dir: Path


def _providers(settings: _Inputs, base_url: str) -> tuple[IdentityProvider, ...]:
    raw = settings.providers
    if raw:
        try:
            return _LIST.validate_python(json.loads(raw))
        except (ValueError, ValidationError) as error:
            raise BrokerConfigError("TRUSTHUB_IDENTITY_PROVIDERS is not a valid list") from error
    if not settings.development or not settings.demo_providers:
        return ()
    return tuple(
        IdentityProvider(
            slug=slug,
            name=name,
            discovery_url=f"{base_url}/idp/{slug}{DISCOVERY_SUFFIX}",
            client_id=demo_client_id(slug),
        )
        for slug, name in DEMO_PROVIDERS
    )


def _keys(configured: str | None, settings: _Inputs, filename: str) -> str | Path | None:
    if configured:
        return configured
    if not settings.development:
        return None
    path = settings.keys_dir / filename
    create_private_file_once(path, json.dumps(new_jwks(("ES256",)), indent=2))
    return path


@lru_cache(maxsize=16)
def _setup(inputs: _Inputs) -> BrokerSetup:
    return BrokerSetup(
        providers=_providers(inputs, inputs.base_url),
        client_keys=_keys(inputs.client_keys, inputs, "broker-keys.jwks.json"),
        core_identity_keys=_keys(inputs.core_identity_keys, inputs, "core-identity.jwks.json"),
    )


def broker_setup(settings: Settings) -> BrokerSetup:
    """The brokered providers and key sources; development keys are generated once (0600)."""
    development = settings.environment == "development"
    return _setup(
        _Inputs(
            providers=settings.identity_providers,
            development=development,
            demo_providers=development if settings.idp_enabled is None else settings.idp_enabled,
            base_url=(settings.identity_issuer or settings.base_url).rstrip("/"),
            client_keys=settings.identity_broker_keys,
            core_identity_keys=settings.identity_core_identity_keys,
            keys_dir=settings.identity_keys_dir,
        )
    )


@lru_cache(maxsize=16)
def _store(source: str | Path) -> KeyStore:
    return KeyStore(source)


def key_store(source: str | Path | None, what: str) -> KeyStore:
    """The keys from ``source``; production refuses to run a broker without them."""
    if source is None:
        raise BrokerConfigError(f"set the {what} keys (a private ES256 JWKS) to broker sign-ins")
    return _store(source)


def find(setup: BrokerSetup, slug: str) -> IdentityProvider | None:
    return next((p for p in setup.providers if p.slug == slug), None)


def reach(setup: BrokerSetup) -> Vector | None:
    """The most any configured provider can assert; None when none is configured."""
    best: Vector | None = None
    for provider in setup.providers:
        vector = provider.reach_vector
        if best is None or (vector.satisfies(best) and not best.satisfies(vector)):
            best = vector
    return best


def public_jwks(store: KeyStore) -> dict[str, Any]:
    return store.keyring().public_jwks()
