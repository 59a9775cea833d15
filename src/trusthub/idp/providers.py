"""The three demo identity providers, each an OpenID provider of its own issuer and keys.

The hub's ``Provider`` is built per issuer (``{base_url}/idp/{slug}``) with its own key file,
so endpoints, JWKS and trustmark come from the same code as the hub's; subjects here are the
provider's own public ones, so the pairwise key the class carries is never used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import structlog

from trusthub.config import Settings
from trusthub.identity.oidc.keys import KeyStore, create_private_file_once, new_jwks
from trusthub.identity.oidc.provider import Provider, ProviderConfigError
from trusthub.problems import NotFound

log = structlog.get_logger("trusthub.idp")

IDP_ALGS = ("ES256", "RS256")
"""ES256 signs for the hub; RS256 is there because OIDC Discovery requires it of every provider."""


@dataclass(frozen=True)
class Brand:
    """How one provider presents itself; all are fictional, for the demo world only."""

    slug: str
    name: str
    strapline: str
    colour: str


BRANDS = {
    brand.slug: brand
    for brand in (
        Brand("post-office", "Pillarbox ID", "Prove who you are with your passport", "#b10e1e"),
        Brand(
            "credit-bureau", "Creditwise Identity", "Identity checks from your records", "#1d70b8"
        ),
        Brand("bank", "Harbour Bank Verify", "Use your bank to prove who you are", "#00703c"),
    )
}
"""The providers, by slug: the part of every URL that names them."""


def brand(slug: str) -> Brand:
    if slug not in BRANDS:
        raise NotFound("identity provider")
    return BRANDS[slug]


def enabled(settings: Settings) -> bool:
    if settings.idp_enabled is not None:
        return settings.idp_enabled
    return settings.environment == "development"


def issuer_for(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/idp/{slug}"


def _key_source(keys_dir: Path, slug: str, development: bool) -> Path:
    path = keys_dir / f"{slug}.jwks.json"
    if not path.exists() and not development:
        raise ProviderConfigError(f"put the {slug} identity provider's private JWKS in {path}")
    if path.exists():
        return path
    if create_private_file_once(path, json.dumps(new_jwks(IDP_ALGS), indent=2)):
        log.warning("idp.dev_keys_generated", idp=slug, path=str(path), mode="0600")
    return path


@lru_cache(maxsize=32)
def _provider(issuer: str, key_file: Path) -> Provider:
    unused = hashlib.sha256(b"public subjects: " + issuer.encode()).hexdigest().encode()
    return Provider(
        issuer=issuer, key_store=KeyStore(key_file), pairwise_key=unused, demo_sign_in=False
    )


def provider_for(settings: Settings, slug: str) -> Provider:
    """The provider at ``{base_url}/idp/{slug}``, its keys read (or generated in development)."""
    brand(slug)
    development = settings.environment == "development"
    key_file = _key_source(settings.idp_keys_dir, slug, development)
    return _provider(issuer_for(settings.base_url, slug), key_file)
